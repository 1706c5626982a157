"""One head per conversation, wherever its turns land (issue 64,
requirements 1 and 3; docs/memory-conversations.md "Conversations"). The store keeps a
conversation's head and tail with the user, so a turn served by another
worker, by memproxy started again, or by another proxy on the same
PostgreSQL store sends the bytes the last turn sent: the bytes before the
tail on turn N+1 are turn N's up to its tail (the provider's cached
prefix). Every request opens a connection of its own (a new connection
lands on any worker). A client id several chats share (a prompt_cache_key
set per user) names none of them, and reaches the upstream as sent.

Runs on LMDB and, as proxy_conversation_heads_postgres, on PostgreSQL
(MPTEST_BACKEND; two proxies on one store only there)."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import (ASK, BACKEND, FACTS, NEEDLE, STATEMENT, Client, ConvCase,  # noqa: E402
                                before_question)

QUESTIONS = ('Which staging cluster do we deploy to?', 'And the vector store?',
             'Which port does the health check use?', 'Anything else about deploy notes?',
             'Remind me of the staging cluster name once more.')
# (api, how the client names its chat: None, its leading messages)
CLIENTS = (('chat', None), ('chat', 'X-OpenWebUI-Chat-Id'), ('messages', None),
           ('messages', 'x-claude-code-session-id'), ('responses', None))


def first_difference(a, b):
    return next((i for i in range(min(len(a), len(b))) if a[i:i + 1] != b[i:i + 1]),
                min(len(a), len(b)))


class KeyedClient(Client):
    """A Client that also sends a prompt_cache_key in its body (chat
    completions and Responses), as an app that sets one per user does."""

    def __init__(self, case, api, user, key):
        super().__init__(case, api, user)
        self.key = key

    def body(self, text):
        d = json.loads(super().body(text))
        d['prompt_cache_key'] = self.key
        return json.dumps(d)


class HeadCase(ConvCase):

    def seed(self, p, user):
        """Facts about the questions' words and a summary: every turn's
        head has memory to hold."""
        for key, value in FACTS[:6]:
            r = p.request('PUT', '/v1/memory/entities/' + key, [
                ('X-User-Id', user), ('Content-Type', 'application/json')],
                json.dumps({'value': value}).encode())
            self.assertIn(r.status, (200, 201), r)
        self.assertEqual(mh.send(p, user, 'I am moving the team to Rust.').status, 200)
        mh.wait_memory(p, user, lambda m: 'Rust' in (m['summary']['text'] or ''), what='a summary')

    def heads(self, proxies, result):
        return sum(p.metric('memproxy_conversation_heads_total', result=result) for p in proxies)

    def converse(self, client, proxies, turns=len(QUESTIONS), restart=None):
        """turns of client's chat, turn i through proxies[i % len]: each
        turn's upstream body begins with the last one's up to its tail, and
        holds memory (the head). restart(i), when given, runs before turn i
        and gives the proxies to go on with."""
        before = None
        for i in range(turns):
            if restart is not None:
                proxies = restart(i) or proxies
            self.p = proxies[i % len(proxies)]
            sent = client.say(QUESTIONS[i]).encode()
            self.assertIn(b'staging cluster', sent, 'turn %d: no memory' % i)
            if before is not None and not sent.startswith(before):
                n = first_difference(sent, before)
                self.fail('turn %d does not begin with turn %d, from byte %d: %r, was %r'
                          % (i, i - 1, n, sent[n - 60:n + 200], before[n - 60:n + 200]))
            before = before_question(client.api, sent)
        return before

    def recorded_conversations(self, p, user, texts):
        """The conversation digests the store keeps for the user's messages
        whose text is one of texts."""
        r = mh.admin_memory(p, user, '?limit=1000')
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        return {m['conversation'] for m in doc['buffer'] + doc.get('archive', [])
                if m['role'] == 'user' and m['content'] in texts}

    def client(self, api, named, user):
        c = Client(self, api, user, None)
        if named is not None:  # the header names the chat; the client still resends it
            c.chat_id = 'chat-' + uuid.uuid4().hex
        return c


class ManyWorkers(HeadCase):
    """Four workers, a new connection every turn, on every API, with and
    without the client's chat id: one head, made once, the same bytes on
    every worker; the store records every turn in one conversation."""

    def test_one_head_on_four_workers(self):
        p = self.own_proxy(workers=4, memory={'buffer_messages': 2, 'summarize_at': 2},
                           sections={'admin': {'token': mh.ADMIN_TOKEN}})
        for api, named in CLIENTS:
            with self.subTest(api=api, named=named):
                user = mh.uid('heads4')
                self.seed(p, user)
                made, reused = self.heads([p], 'new'), self.heads([p], 'reused')
                rebuilt = self.heads([p], 'rebuilt')
                c = self.client(api, named, user)
                self.converse(c, [p])
                # made once: new, or rebuilt (a chat without an id begins as
                # its user's session, whose head follows the summary)
                self.assertLessEqual(self.heads([p], 'new') - made +
                                     self.heads([p], 'rebuilt') - rebuilt, 1,
                                     'a worker built the head again')
                self.assertGreaterEqual(self.heads([p], 'reused') - reused, len(QUESTIONS) - 1)
                mh.wait_idle(p)
                # a chat without an id is known from its second turn on (its
                # first was a lone message: the user's session's)
                convs = self.recorded_conversations(p, user, set(QUESTIONS[named is None:]))
                self.assertEqual(len(convs), 1, 'the turns went to several conversations: %s'
                                 % convs)


class Restarted(HeadCase):
    """memproxy stopped and started again on its store between turns: the
    next turn sends the bytes the last one did."""

    def test_one_head_after_a_restart(self):
        storage = None if self.pg is not None else {'path': self.storage_dir()}
        memory = {'buffer_messages': 2, 'summarize_at': 2}
        kw = {'storage': storage} if storage else {}
        state = {'p': self.own_proxy(workers=2, memory=memory, **kw)}

        def restart(i):
            if i in (2, 4):
                self.stop_checked(state['p'])
                state['p'] = self.own_proxy(workers=2, memory=memory, **kw)
            return [state['p']]

        for api, named in CLIENTS:
            with self.subTest(api=api, named=named):
                user = mh.uid('restart')
                self.seed(state['p'], user)
                c = self.client(api, named, user)
                self.converse(c, [state['p']], restart=restart)
                self.assertEqual(state['p'].metric('memproxy_conversation_heads_total',
                                                   result='new'), 0,
                                 'the restarted proxy built the head again')


class TwoProxiesOneStore(HeadCase):
    """Two proxies on one PostgreSQL store, turns alternating between them:
    one head, the same bytes through either (run on PostgreSQL only: the
    class goes on LMDB)."""

    def test_one_head_through_two_proxies(self):
        kw = {'memory': {'buffer_messages': 2, 'summarize_at': 2},
              'upstream': {'api_key': 'sk-zqxsecret-pgshared-11'}}
        a, b = self.own_proxy(workers=2, **kw), self.own_proxy(workers=2, **kw)
        for api, named in CLIENTS:
            with self.subTest(api=api, named=named):
                user = mh.uid('twoprox')
                self.seed(a, user)
                made, reused = self.heads([a, b], 'new'), self.heads([a, b], 'reused')
                self.converse(self.client(api, named, user), [a, b])
                self.assertLessEqual(self.heads([a, b], 'new') - made, 1,
                                     'a proxy built the head again')
                self.assertGreaterEqual(self.heads([a, b], 'reused') - reused, len(QUESTIONS) - 1)


if BACKEND != 'postgres':
    del TwoProxiesOneStore  # proxies share a PostgreSQL store only


class SharedCacheKey(HeadCase):
    """An app that sets one prompt_cache_key per user for all of its
    chats: once the key is seen with two beginnings it names no
    conversation, so a new chat gets what the user said in another, each
    chat keeps its own head, the turns are recorded in their own
    conversations, and the key reaches the upstream as sent."""

    def setUp(self):
        super().setUp()
        mh.set_jobmode(self.fake, extract='invalid')  # no fact: the words themselves

    def tearDown(self):
        mh.set_jobmode(self.fake, extract='ok')
        super().tearDown()

    def test_a_key_per_user_merges_no_chats(self):
        self.p = p = self.own_proxy(workers=4, sections={'admin': {'token': mh.ADMIN_TOKEN}})
        for api in ('chat', 'responses'):
            with self.subTest(api=api):
                user = mh.uid('sharedkey')
                key = 'app-user-' + user
                a, b, c = (KeyedClient(self, api, user, key) for _ in range(3))
                sent = a.say('Hello, new project today.')
                self.assertEqual(json.loads(sent)['prompt_cache_key'], key)
                a.say(STATEMENT)
                mh.wait_memory(p, user, lambda m: NEEDLE in json.dumps(m['buffer']),
                               what='the statement recorded')
                sent = b.say(ASK)  # a new chat: the key's second beginning
                self.assertEqual(json.loads(sent)['prompt_cache_key'], key)
                self.assertEqual(sent.count(NEEDLE), 1,
                                 'the new chat did not get the other chat\'s statement once')
                b_before = before_question(api, sent.encode())
                sent = b.say('Thanks. And which vector store?')
                self.assertTrue(sent.encode().startswith(b_before),
                                'the second chat lost its head')
                c.say('Hi! Can you help me plan my week?')  # a third chat
                sent = c.say(ASK)
                self.assertEqual(sent.count(NEEDLE), 1, 'the third chat')
                sent = a.say('Thanks. ' + ASK)  # its own chat: resent once, never injected
                self.assertEqual(sent.count(NEEDLE), 1, 'a chat got its own turn back')
                self.assertEqual(json.loads(sent)['prompt_cache_key'], key)
                mh.wait_idle(p)
                a_conv = self.recorded_conversations(p, user, {STATEMENT})
                b_conv = self.recorded_conversations(p, user, {'Thanks. And which vector store?'})
                self.assertEqual(len(a_conv), 1)
                self.assertEqual(len(b_conv), 1)
                self.assertNotEqual(a_conv, b_conv, 'two chats recorded as one conversation')


class NewestInTheHead(HeadCase):
    """What the user said last in another chat is in a new chat's head
    (docs/memory-conversations.md: the head's past line takes the user's
    newest messages first), whatever the new chat's first question: on
    chat completions, four workers, a new connection per request. The head
    is the same bytes on the next turn (the provider's cached prefix), and
    the words go in once, not again in the tail."""

    WEDDING = 'My sister Ines is getting married in Porto on the fourteenth of June.'

    def setUp(self):
        super().setUp()
        mh.set_jobmode(self.fake, extract='invalid')  # no fact, no summary: the words themselves

    def tearDown(self):
        mh.set_jobmode(self.fake, extract='ok')
        super().tearDown()

    def test_a_new_chats_head_holds_the_other_chats_newest_words(self):
        self.p = p = self.own_proxy(workers=4)
        user = mh.uid('newest')
        a = Client(self, 'chat', user, 'chat-a-' + user)
        a.say('Hello, a few plans to sort out today.')
        a.say(self.WEDDING)
        mh.wait_memory(p, user, lambda m: 'Porto' in json.dumps(m['buffer']),
                       what='the statement recorded')
        b = Client(self, 'chat', user, 'chat-b-' + user)
        sent = b.say('Good morning!')  # a greeting: no word of the statement
        msgs = json.loads(sent)['messages']
        self.assertEqual(msgs[0]['content'], 'You are a helpful assistant.')  # the client's
        head = msgs[1]['content']
        self.assertTrue(msgs[1]['role'] == 'system' and head.startswith(mh.INTRO), msgs)
        self.assertIn(self.WEDDING, head, 'the head lacks what the user said last elsewhere')
        self.assertEqual(sent.count('Porto'), 1, sent)
        sent = b.say('What should I pack for the trip?')
        msgs = json.loads(sent)['messages']
        self.assertEqual(msgs[1]['content'], head, 'the head changed on the next turn')
        self.assertEqual(sent.count('Porto'), 1, 'the words went in twice: %s' % sent)


if __name__ == '__main__':
    harness.main('proxy_conversation_heads')
