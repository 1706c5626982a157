"""Where a conversation begins (issue 72, requirements 1 and 5;
docs/memory-conversations.md "The first turn"): a chat front end that
resends its conversation, on chat completions, Responses and Messages,
through 4 workers with a new connection every request. A user's first
chat and second chat are two conversations from their first turn: every
message of each is filed under one conversation of its own (the memory
API, which the page shows, and the admin export), and on the OpenAI wires
every turn of a chat reaches the upstream with one prompt_cache_key, the
other chat with another; also when the second chat begins after a pause
longer than conversation_idle_seconds. An app that sets one
prompt_cache_key per user: a new chat gets what the user said in the
other chat (the words are not in its request, so they are memory).

Runs on LMDB and, as proxy_conversation_begins_postgres, on PostgreSQL."""

import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import Client, ConvCase  # noqa: E402
from test_conversation_heads import KeyedClient  # noqa: E402

IDLE = 6  # [memory] conversation_idle_seconds of these proxies: far longer than a turn
# takes on a busy machine, so that no chat is cut by it unless a test pauses
ON = {'prompt_cache_key': 'conversation'}
CHAT_A = ('Hello, I want to plan a garden this spring.', 'Tomatoes and basil, mostly.',
          'How much sun do they need?')
CHAT_B = ('Can you help me write a letter to my landlord?', 'The heating has been broken a week.',
          'Make it polite but firm.')
ORDER = 'ZX-58213'
ADMIN = {'token': mh.ADMIN_TOKEN}


def key_of(sent):
    return json.loads(sent).get('prompt_cache_key')


class Begins(ConvCase):

    def setUp(self):
        super().setUp()
        self.p = self.own_proxy(workers=4, upstream=ON, sections={'admin': ADMIN},
                                memory={'conversation_idle_seconds': IDLE})

    def chat(self, api, user, texts):
        """A new chat of user's on api, one turn per text: each turn's
        prompt_cache_key as it reached the fake."""
        c = Client(self, api, user)
        return [key_of(c.say(t)) for t in texts]

    def conversations(self, user, texts):
        """The conversation each of texts (user messages) and its reply is
        filed under, by the memory API and by the admin export: a set of
        conversation ids per source."""
        mem = mh.wait_memory(self.p, user, lambda m: sum(
            1 for x in m['buffer'] if x['role'] == 'user' and x['content'] in texts) == len(texts),
            what='every turn recorded')
        r = mh.admin_memory(self.p, user)  # what the page shows: the same detail
        self.assertEqual(r.status, 200, r)
        mem = r.json()
        page = {x['conversation'] for x in mem['buffer'] if x['role'] == 'user' and x['content'] in texts}
        by_request = {x['request_id']: x['conversation'] for x in mem['buffer']}
        replies = {x['conversation'] for x in mem['buffer'] if x['role'] == 'assistant' and
                   any(u['content'] in texts and u['request_id'] == x['request_id']
                       for u in mem['buffer'] if u['role'] == 'user')}
        self.assertTrue(replies and replies <= page, 'a reply filed apart from its question: %s %s'
                        % (replies, page))
        r = mh.admin_request(self.p, 'GET', '/admin/users/%s/export' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        exported = set()
        for line in r.body.decode().splitlines():
            item = json.loads(line)
            if item.get('type') == 'message' and item.get('role') == 'user' and \
                    item.get('content') in texts:
                exported.add(item.get('conversation'))
        self.assertTrue(by_request)
        return page, exported

    def two_chats(self, api, pause):
        user = mh.uid('begins')
        keys_a = self.chat(api, user, CHAT_A)
        if pause:
            time.sleep(IDLE + 1)  # longer than the idle timeout
        keys_b = self.chat(api, user, CHAT_B)
        page_a, export_a = self.conversations(user, CHAT_A)
        page_b, export_b = self.conversations(user, CHAT_B)
        self.assertEqual(len(page_a), 1, 'chat A is filed under several conversations: %s' % page_a)
        self.assertEqual(len(page_b), 1, 'chat B is filed under several conversations: %s' % page_b)
        self.assertNotEqual(page_a, page_b, 'two chats filed as one conversation')
        self.assertEqual(export_a, page_a, 'the export files chat A otherwise')
        self.assertEqual(export_b, page_b, 'the export files chat B otherwise')
        if api == 'messages':
            self.assertEqual(keys_a + keys_b, [None] * 6, 'Messages got a prompt_cache_key')
            return
        self.assertEqual(len(set(keys_a)), 1, 'chat A\'s key changed: %s' % keys_a)
        self.assertEqual(len(set(keys_b)), 1, 'chat B\'s key changed: %s' % keys_b)
        self.assertIsNotNone(keys_a[0])
        self.assertNotEqual(keys_a[0], keys_b[0], 'two chats share a key')

    def test_two_chats_are_two_conversations_from_turn_one(self):
        for api in ('chat', 'responses', 'messages'):
            with self.subTest(api=api):
                self.two_chats(api, pause=False)

    def test_after_a_pause_longer_than_the_idle_timeout(self):
        for api in ('chat', 'responses', 'messages'):
            with self.subTest(api=api):
                self.two_chats(api, pause=True)

    def test_a_first_turn_filed_under_the_session_moves_when_resent(self):
        """A one-question chat, then a new chat: two lone messages in a row
        look like a client that sends its newest message alone, so the
        second is filed under the user's session; once the new chat's next
        turn resends it, that first turn (question and reply) moves to the
        chat's conversation, in the buffer and the archive, and the one-question
        chat stays apart."""
        for api in ('chat', 'responses', 'messages'):
            with self.subTest(api=api):
                user = mh.uid('moved')
                one = ('What is the capital of Peru?',)
                self.chat(api, user, one)
                y = Client(self, api, user)
                y.say(CHAT_B[0])
                r = mh.admin_memory(self.p, user)
                rules = {x['content']: x['conversation_rule'] for x in r.json()['buffer']
                         if x['role'] == 'user'}
                self.assertEqual(rules, {one[0]: 'first_turn', CHAT_B[0]: 'session'})
                y.say(CHAT_B[1])
                page_b, export_b = self.conversations(user, CHAT_B[:2])
                page_one, _ = self.conversations(user, one)
                self.assertEqual(len(page_b), 1, 'the resent first turn did not move: %s' % page_b)
                self.assertEqual(export_b, page_b, 'the archive kept the first turn apart')
                self.assertNotEqual(page_b, page_one)
                doc = mh.admin_memory(self.p, user).json()
                rules = {x['conversation_rule'] for x in doc['buffer'] + doc['archive']
                         if x['conversation'] in page_b}
                self.assertEqual(rules, {'leading'}, 'the moved turn keeps the session\'s rule')

    def test_a_newest_only_client_has_a_session(self):
        """A client that sends only its newest message: its first message
        is a first turn like any; from its second every message is the
        user's session."""
        user = mh.uid('newest')
        texts = ('Remind me what a heron eats.', 'And where does it nest?', 'How long does it live?')
        for t in texts:
            Client(self, 'chat', user).say(t)
        doc = mh.admin_memory(self.p, user).json()
        rules = [x['conversation_rule'] for x in doc['buffer'] if x['role'] == 'user']
        self.assertEqual(rules, ['first_turn', 'session', 'session'])

    def test_deleting_a_chat_deletes_that_chat_alone(self):
        user = mh.uid('begdel')
        self.chat('chat', user, CHAT_A)
        self.chat('chat', user, CHAT_B)
        page_a, _ = self.conversations(user, CHAT_A)
        r = mh.admin_request(self.p, 'DELETE', '/admin/users/%s/conversations/%s'
                             % (mh.qid(user), page_a.pop()))
        self.assertIn(r.status, (200, 204), r)
        mem = mh.get_memory(self.p, user)
        said = [x['content'] for x in mem['buffer'] if x['role'] == 'user']
        self.assertFalse(set(CHAT_A) & set(said), 'chat A\'s turns survived its deletion')
        self.assertEqual(set(CHAT_B) & set(said), set(CHAT_B), 'deleting chat A took chat B\'s turns')

    def test_a_per_user_key_app_gets_the_other_chats_words(self):
        """prompt_cache_key set once per user: the new chat's question gets
        the order number the user gave in the other chat, before any
        extraction (the words themselves)."""
        mh.set_jobmode(self.fake, extract='invalid')
        try:
            for api in ('chat', 'responses'):
                with self.subTest(api=api):
                    user = mh.uid('peruser')
                    key = 'app-user-' + uuid.uuid4().hex[:8]
                    one = KeyedClient(self, api, user, key)
                    one.say('My order %s is late, it should have come on Monday.' % ORDER)
                    one.say('Thanks, I will wait two more days.')
                    two = KeyedClient(self, api, user, key)
                    sent = two.say('The late order I told you about in the other chat: '
                                   'what is its number?')
                    self.assertIn(ORDER, sent, 'the new chat did not get the other chat\'s words')
                    self.assertEqual(key_of(sent), key, 'the app\'s own key was not sent as sent')
        finally:
            mh.set_jobmode(self.fake, extract='ok')


if __name__ == '__main__':
    harness.main('proxy_conversation_begins')
