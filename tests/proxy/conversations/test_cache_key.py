"""The prompt_cache_key memproxy sets per conversation (issue 64,
requirement 3; docs/memory.md "prompt_cache_key"): with [upstream]
prompt_cache_key = conversation, an OpenAI request (chat completions,
Responses) that carries none reaches the upstream with 32 lower-case hex
digits, an HMAC keyed from the store's secret of the user and the
conversation: the same on 4 workers with a new connection every turn,
after a restart, and (PostgreSQL) through two proxies on one store;
another chat or another user gets another. A client's own key goes as
sent, Anthropic's Messages never gets one, and off (or auto, with an
upstream that is not api.openai.com: the tests' fake) adds none: the
bodies stay byte for byte.

Runs on LMDB and, as proxy_cache_key_postgres, on PostgreSQL
(MPTEST_BACKEND; two proxies on one store only there)."""

import hashlib
import json
import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from test_conversations import BACKEND, Client, ConvCase  # noqa: E402
from test_conversation_heads import KeyedClient  # noqa: E402

HEX32 = re.compile(r'[0-9a-f]{32}')
QUESTIONS = ('Which staging cluster do we deploy to?', 'And the vector store?',
             'Which port does the health check use?', 'Anything else about deploy notes?')
ON = {'prompt_cache_key': 'conversation'}


def key_of(sent):
    return json.loads(sent).get('prompt_cache_key')


class NewestOnly(Client):
    """A client that sends only its newest message, no earlier turn."""

    def body(self, text):
        kept, self.turns = self.turns, []
        try:
            return super().body(text)
        finally:
            self.turns = kept


class KeyCase(ConvCase):

    def keys(self, client, proxies, questions=QUESTIONS, restart=None):
        """The key each turn of client's chat reached the fake with, turn i
        through proxies[i % len] (restart(i), when given, runs first and
        gives the proxies to go on with)."""
        out = []
        for i, q in enumerate(questions):
            if restart is not None:
                proxies = restart(i) or proxies
            self.p = proxies[i % len(proxies)]
            out.append(key_of(client.say(q)))
        return out

    def assert_one_key(self, keys, what):
        """Every turn keyed, with one key: a resending client's chat from
        its first turn (a lone message, keyed by its leading messages as
        the next turns, which resend it, are), and a chat named by its
        client."""
        self.assertTrue(all(k is not None and HEX32.fullmatch(k) for k in keys),
                        '%s: not 32 hex digits on every turn: %s' % (what, keys))
        same = keys
        self.assertEqual(len(set(same)), 1, '%s: the key changed: %s' % (what, keys))
        return keys[-1]

    def assert_not_user_hash(self, key, user):
        for h in (hashlib.sha256, hashlib.sha1, hashlib.md5):
            for data in (user, '\0' + user, user + '\0'):
                digest = h(data.encode()).hexdigest()
                self.assertNotIn(key, digest, 'the key is a plain hash of the user id')
        self.assertNotIn(user, key)


class ManyWorkers(KeyCase):
    """Four workers, a new connection every turn, for a user with and
    without memory stored: one key per conversation, on both OpenAI
    wires; another chat and another user get others; the key is keyed."""

    def test_one_key_per_conversation_on_four_workers(self):
        p = self.own_proxy(workers=4, upstream=ON)
        for api in ('chat', 'responses'):
            with self.subTest(api=api):
                user, other = mh.uid('ckey'), mh.uid('ckey')
                first = self.assert_one_key(self.keys(Client(self, api, user), [p]), 'chat 1')
                mh.wait_idle(p)  # the user now has memory: the next chats are read
                second = self.assert_one_key(
                    self.keys(Client(self, api, user), [p], ('Hi, plan my week?',) + QUESTIONS[1:]),
                    'chat 2')
                self.assertNotEqual(first, second, 'two chats of one user share a key')
                theirs = self.assert_one_key(self.keys(Client(self, api, other), [p]), 'user 2')
                self.assertNotIn(theirs, (first, second), 'two users share a key')
                self.assert_not_user_hash(first, user)
                self.assert_not_user_hash(second, user)

    def test_a_client_key_goes_as_sent(self):
        p = self.own_proxy(workers=2, upstream=ON)
        for api in ('chat', 'responses'):
            with self.subTest(api=api):
                user = mh.uid('ckown')
                c = KeyedClient(self, api, user, 'app-key-' + uuid.uuid4().hex[:8])
                for k in self.keys(c, [p]):
                    self.assertEqual(k, c.key)

    def test_a_chat_id_keys_from_its_first_turn(self):
        p = self.own_proxy(workers=4, upstream=ON)
        user = mh.uid('ckid')
        c = Client(self, 'chat', user)
        c.chat_id = 'chat-' + uuid.uuid4().hex  # the X-OpenWebUI-Chat-Id header
        self.assert_one_key(self.keys(c, [p]), 'a named chat')

    def test_a_newest_only_client_keeps_one_key(self):
        """A client that sends only its newest message: its first request
        is a lone message like any chat's first turn (its own key); from its
        second, which shows the client sends its newest message alone, every
        request is the user's session and keeps the session's key (one
        machine, where the session's head is cached), on 4 workers with a
        new connection each; another user has another."""
        p = self.own_proxy(workers=4, upstream=ON)
        for api in ('chat', 'responses'):
            with self.subTest(api=api):
                user, other = mh.uid('cknew'), mh.uid('cknew')
                mine = self.keys(NewestOnly(self, api, user), [p])
                self.assertTrue(all(k is not None and HEX32.fullmatch(k) for k in mine), mine)
                self.assertEqual(len(set(mine[1:])), 1, 'a newest-only client got a key per request: %s' % mine)
                theirs = self.keys(NewestOnly(self, api, other), [p])
                self.assertEqual(len(set(theirs[1:])), 1, theirs)
                self.assertNotEqual(mine[1], theirs[1], 'two users share a key')
                self.assert_not_user_hash(mine[0], user)

    def test_messages_gets_none(self):
        p = self.own_proxy(workers=2, upstream=ON)
        self.p = p
        c = Client(self, 'messages', mh.uid('ckant'))
        for q in QUESTIONS[:3]:
            sent = c.say(q)
            self.assertNotIn('prompt_cache_key', sent)


class Off(KeyCase):
    """off, and auto with an upstream that is not api.openai.com (the
    fake): no key, and the bodies are byte for byte those of a proxy
    without the setting."""

    def test_off_and_auto_add_none(self):
        for setting in ('off', 'auto', None):
            with self.subTest(setting=setting):
                kw = {'upstream': {'prompt_cache_key': setting}} if setting else {}
                self.p = self.own_proxy(workers=2, **kw)
                for api in ('chat', 'responses'):
                    c = Client(self, api, mh.uid('ckoff'))
                    for q in QUESTIONS[:3]:
                        self.assertNotIn('prompt_cache_key', c.say(q))
                self.stop_checked(self.p)


class Restarted(KeyCase):
    """memproxy stopped and started again on its store between turns: the
    same key (the store keeps the secret it is derived from)."""

    def test_one_key_after_a_restart(self):
        storage = None if self.pg is not None else {'path': self.storage_dir()}
        kw = {'storage': storage} if storage else {}
        state = {'p': self.own_proxy(workers=2, upstream=ON, **kw)}

        def restart(i):
            if i in (1, 3):
                self.stop_checked(state['p'])
                state['p'] = self.own_proxy(workers=2, upstream=ON, **kw)
            return [state['p']]

        for api in ('chat', 'responses'):
            with self.subTest(api=api):
                c = Client(self, api, mh.uid('ckrestart'))
                self.assert_one_key(self.keys(c, [state['p']], restart=restart), 'restarted')


class TwoProxiesOneStore(KeyCase):
    """Two proxies on one PostgreSQL store, turns alternating: one key
    (run on PostgreSQL only: the class goes on LMDB)."""

    def test_one_key_through_two_proxies(self):
        kw = {'upstream': dict(ON, api_key='sk-zqxsecret-pgshared-12')}
        a, b = self.own_proxy(workers=2, **kw), self.own_proxy(workers=2, **kw)
        for api in ('chat', 'responses'):
            with self.subTest(api=api):
                c = Client(self, api, mh.uid('cktwo'))
                self.assert_one_key(self.keys(c, [a, b]), 'two proxies')


if BACKEND != 'postgres':
    del TwoProxiesOneStore  # proxies share a PostgreSQL store only


if __name__ == '__main__':
    harness.main('proxy_cache_key')
