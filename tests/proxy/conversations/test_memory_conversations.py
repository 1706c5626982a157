"""Recorded turns know their conversation (docs/memory-conversations.md, "Conversations"
and "Recording"; issue 50, requirement 2): each recorded message keeps the
digest of its request's conversation (core/wire/convid.h's rule), the same
for every turn of one chat and different for two chats of one user, whether
the memory read ran or not and on either worker; the admin memory and export
show it, and an import takes it back."""

import hashlib
import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, asst_msg, message, send, user_msg  # noqa: E402

CHAT_ID = 'X-OpenWebUI-Chat-Id'


def digest(user, name):
    """conv as docs/memory-conversations.md says: the first 16 hex digits of SHA-256 of
    the user's key, a NUL and the identity's name."""
    return hashlib.sha256(user.encode() + b'\0' + name).hexdigest()[:16]


def chat_digest(user, chat):
    return digest(user, b'1\0x-openwebui-chat-id\0' + chat.encode())


class Conversations(mh.MemCase):
    # Buffer mode (no jobs), nothing leaves the buffer; the archive holds
    # every message as well.
    PROXY_CONFIG = {'workers': 2,
                    'sections': {'admin': {'token': mh.ADMIN_TOKEN}},
                    'memory': {'mode': 'buffer', 'buffer_messages': 100, 'summarize_at': 200}}

    def admin_doc(self, user):
        r = mh.admin_memory(self.proxy, user)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def turns(self, messages):
        """{request_id: (conversation, rule, [user texts])} of the messages,
        each turn's two (or more) messages checked to agree."""
        out = {}
        for m in messages:
            conv, rule = m['conversation'], m['conversation_rule']
            have = out.setdefault(m['request_id'], (conv, rule, []))
            self.assertEqual(have[:2], (conv, rule), 'one turn, two conversations: %r' % m)
            if m['role'] == 'user':
                have[2].append(m['content'])
        return out

    def by_text(self, messages):
        """{user text: (conversation, rule)}, every turn having an assistant message."""
        out = {}
        for conv, rule, texts in self.turns(messages).values():
            for t in texts:
                out[t] = (conv, rule)
        roles = [m['role'] for m in messages]
        self.assertEqual(roles.count('assistant'), len(self.turns(messages)))
        return out

    def chat(self, user, chat, texts, proxy=None, **kw):
        """One turn of chat (None: no id) resending texts' conversation."""
        msgs = []
        for t in texts[:-1]:
            msgs += [user_msg(t), asst_msg(REPLY)]
        msgs.append(user_msg(texts[-1]))
        extra = [(CHAT_ID, chat)] if chat is not None else []
        s = send(proxy or self.proxy, user, msgs, extra_headers=extra, **kw)
        self.assertOK(s)
        return s

    def test_two_chats_of_one_user_record_two_conversations(self):
        u = mh.uid('conv')
        a, b = 'chat-a-' + u, 'chat-b-' + u
        self.chat(u, a, ['a1 kayak'])  # nothing stored yet: found when recorded
        self.chat(u, b, ['b1 canoe'])
        self.chat(u, a, ['a1 kayak', 'a2 paddle'])
        self.chat(u, b, ['b1 canoe', 'b2 lake'])
        self.chat(u, a, ['a1 kayak', 'a2 paddle', 'a3 record only'], x_memory='write')
        self.chat(u, None, ['a lone message'])
        mh.wait_idle(self.proxy)
        doc = self.admin_doc(u)
        self.assertEqual(len(doc['buffer']), 12)
        for where in ('buffer', 'archive'):
            got = self.by_text(doc[where])
            da, db = got['a1 kayak'][0], got['b1 canoe'][0]
            self.assertEqual(da, chat_digest(u, a), where)
            self.assertEqual(db, chat_digest(u, b), where)
            self.assertNotEqual(da, db)
            for t in ('a1 kayak', 'a2 paddle', 'a3 record only'):
                self.assertEqual(got[t], (da, 'client'), (where, t))
            for t in ('b1 canoe', 'b2 lake'):
                self.assertEqual(got[t], (db, 'client'), (where, t))
            # a lone message, its client not shown to send its newest message
            # alone: the first turn of a conversation of its own (keyed by
            # its leading messages), not the user's session nor a chat's
            lone, rule = got['a lone message']
            self.assertEqual(rule, 'first_turn', where)
            self.assertNotIn(lone, (digest(u, b'4\0\0'), da, db), where)
        # the user's own view shows no conversation
        r = self.proxy.request('GET', '/v1/memory', [('X-User-Id', u)])
        self.assertEqual(r.status, 200, r)
        for m in r.json()['buffer']:
            self.assertNotIn('conversation', m)
        # the export's message lines carry it
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/export' % mh.qid(u))
        self.assertEqual(r.status, 200, r)
        lines = [json.loads(ln) for ln in bytes(r.body).splitlines()]
        msgs = [ln for ln in lines if ln['type'] == 'message']
        self.assertEqual(len(msgs), 12)
        self.assertEqual(self.by_text(msgs), self.by_text(doc['archive']))

    def test_one_chat_has_one_conversation_on_either_worker(self):
        """Every request on a connection of its own, until both workers
        used the chat's head: it is made once (the store keeps it for every
        worker: memproxy_conversation_heads_total{result="new"} counts 1)
        and reused on the other worker."""
        u = mh.uid('workers')
        c = 'chat-w-' + u
        before = self.proxy.metric('memproxy_conversation_heads_total', result='new')
        reused = self.proxy.metric('memproxy_conversation_heads_total', result='reused')
        texts = []
        for i in range(12):
            texts.append('turn %d about kayaks' % i)
            self.chat(u, c, texts)
        made = self.proxy.metric('memproxy_conversation_heads_total', result='new') - before
        self.assertEqual(made, 1, 'a worker built the chat\'s head again')
        self.assertGreaterEqual(
            self.proxy.metric('memproxy_conversation_heads_total', result='reused') - reused, 10)
        mh.wait_idle(self.proxy)
        got = self.by_text(self.admin_doc(u)['buffer'])
        self.assertEqual(len(got), len(texts))
        self.assertEqual(set(got.values()), {(chat_digest(u, c), 'client')})

    def test_a_parked_turn_keeps_its_conversation(self):
        """A drain parks the queued turns on disk (proxy/memory/park.c); the
        next start records them in their conversations."""
        data = self.storage_dir()
        memory = {'mode': 'buffer', 'buffer_messages': 100, 'summarize_at': 200, 'durable_ack': 'false'}
        admin = {'admin': {'token': mh.ADMIN_TOKEN}}
        p = self.start_proxy(workers=2, server={'drain_timeout_ms': 300}, memory=memory,
                             storage={'path': data}, sections=admin,
                             env={'MEMPROXY_TEST_COMMIT_DELAY_MS': '5000'})  # no commit ends before the drain
        u = mh.uid('park')
        c = 'chat-p-' + u
        conn = p.conn()
        self.chat(u, c, ['p1 kayak'], proxy=p, conn=conn)
        self.chat(u, None, ['p2 alone'], proxy=p, conn=conn)
        self.chat(u, c, ['p1 kayak', 'p3 paddle'], proxy=p, conn=conn)
        conn.close()
        p.signal(signal.SIGTERM)
        self.assertEqual(p.wait_exit(10), 0)
        self.assertEqual(p.stop(), [])
        parked = [o['turns'] for o in p.log_objects()
                  if o.get('msg') == 'drain deadline: queued turns parked for the next start']
        self.assertEqual(sum(parked), 3, p.log_lines()[-10:])
        q = self.start_proxy(workers=2, memory=memory, storage={'path': data}, sections=admin)
        self.assertIsNotNone(q.wait_log(lambda o: o.get('msg') == 'parked turns recorded', 5))
        r = mh.admin_memory(q, u)
        self.assertEqual(r.status, 200, r)
        got = self.by_text(r.json()['buffer'])
        alone = got.pop('p2 alone')
        self.assertEqual(alone[1], 'first_turn')
        self.assertNotIn(alone[0], (digest(u, b'4\0\0'), chat_digest(u, c)))
        self.assertEqual(got, {'p1 kayak': (chat_digest(u, c), 'client'),
                               'p3 paddle': (chat_digest(u, c), 'client')})

    def test_an_import_takes_the_export_s_conversation(self):
        u, v = mh.uid('src'), mh.uid('dst')
        self.chat(u, 'chat-x-' + u, ['x1 kayak'])
        self.chat(u, 'chat-y-' + u, ['y1 canoe'])
        mh.wait_idle(self.proxy)
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/export' % mh.qid(u))
        self.assertEqual(r.status, 200, r)
        r = mh.import_lines(self.proxy, v, bytes(r.body))
        self.assertEqual(r.status, 200, r)
        want = self.by_text(self.admin_doc(u)['archive'])
        got = {m['content']: (m['conversation'], m['conversation_rule'])
               for m in self.admin_doc(v)['archive'] if m['role'] == 'user'}
        self.assertEqual(got, want)
        # an import line without one has none; a bad one refuses the import
        at = '2024-01-01T00:00:00Z'
        r = mh.import_lines(self.proxy, v, [message('user', 'no conversation', at)])
        self.assertEqual(r.status, 200, r)
        plain = [m for m in self.admin_doc(v)['archive'] if m['content'] == 'no conversation']
        self.assertEqual([(m['conversation'], m['conversation_rule']) for m in plain], [(None, None)])
        for bad, field in (({'conversation': 'xyz'}, 'conversation'),
                           ({'conversation': '0123456789abcdeg'}, 'conversation'),
                           ({'conversation': 12}, 'conversation'),
                           ({'conversation_rule': 'client'}, 'conversation_rule'),
                           ({'conversation': '0123456789abcdef', 'conversation_rule': 'other'},
                            'conversation_rule')):
            with self.subTest(bad=bad):
                r = mh.import_lines(self.proxy, v, [message('user', 'bad', at, **bad)])
                obj = self.assertOpenAIError(r, 400, 'invalid_import_line')
                self.assertIn('field `%s`' % field, obj['error']['message'])


if __name__ == '__main__':
    harness.main('proxy_memory_conversations')
