"""What reaches the store's disk (issue 73): a memory read commits nothing
(X-Memory: read, a user in read mode, a client task), a conversation's
head is written once when it changes, and turns that reach the memory
worker while a commit is in flight share the next one.

Commits are counted by memproxy_storage_commits_total (one write
transaction each: with sync = full, one flush). The group-commit case
slows each commit with MEMPROXY_TEST_COMMIT_DELAY_MS, so that turns sent
together wait behind the first one whatever the machine's speed.
"""

import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

FACTS = 50
PADDING = 'lorem ipsum dolor sit amet ' * 36  # about 1 KB, as the benchmark's body
OWUI_TITLE = ('### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat '
              'history.\n### Guidelines:\n- The title should clearly represent the main theme or '
              'subject of the conversation.\n### Output:\nJSON format: { "title": "your concise '
              'title here" }\n### Chat History:\n<chat_history>\nUSER: I keep bees\n'
              'ASSISTANT: Nice\n</chat_history>')


def commits(proxy):
    return proxy.metric('memproxy_storage_commits_total')


def profile_user(case, user):
    """user with FACTS facts set through the user API, the memory worker idle."""
    for i in range(FACTS):
        body = json.dumps({'value': 'value number %d of the profile' % i}).encode()
        r = case.proxy.request('PUT', '/v1/memory/entities/fact_%d' % i,
                               [('X-User-Id', user), ('Content-Type', 'application/json')], body)
        case.assertEqual(r.status, 200, r)
    mh.wait_idle(case.proxy)
    return user


def conv_records(proxy, user):
    """The user's records of the convs table of the running memproxy's LMDB
    store (clear), as mdb_dump reads them beside it: {(kind, conversation
    key): stored bytes}, kind 0 a head record, 2 a tail record
    (storage/ops/store_conv.c)."""
    path = proxy.sections['storage']['path']
    out = subprocess.run(['mdb_dump', '-s', 'convs', path], capture_output=True, text=True,
                         check=True).stdout.split('\n')
    body = out[out.index('HEADER=END') + 1:]
    tag, recs = user.encode().hex(), {}
    for k, v in zip(body[0::2], body[1::2]):
        if not k.startswith(' '):
            break  # DATA=END
        key = bytes.fromhex(k.strip())
        if tag in key.hex() and len(key) > 33:
            recs[(key[-33], key[-32:])] = bytes.fromhex(v.strip())
    return recs


class ReadsCommitNothing(mh.MemCase):
    """A user whose profile was set through the user API, read again and
    again: memory is injected every time and the store is never written
    after the conversation's head."""

    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}, 'storage': {'sync': 'full'}}

    def profile_user(self):
        return profile_user(self, mh.uid('rd'))

    def test_repeated_reads_write_once_then_never(self):
        user = self.profile_user()
        msgs = [{'role': 'system', 'content': 'You are a helpful assistant.'},
                {'role': 'user', 'content': PADDING}]
        first = send(self.proxy, user, msgs, x_memory='read')
        self.assertOK(first)
        inj = self.injection(first)  # the profile reached the upstream
        mh.wait_idle(self.proxy)
        after_first = commits(self.proxy)
        self.assertIsNotNone(after_first)
        sent = []
        for _ in range(3):  # new connections: either worker
            s = send(self.proxy, user, msgs, x_memory='read')
            self.assertOK(s)
            sent.append(s)
        mh.wait_idle(self.proxy)
        self.assertEqual(commits(self.proxy), after_first,
                         'a memory read wrote to the store (the head was kept already)')
        for s in sent:  # the same memory, from the head the first read kept
            self.assertEqual(mh.upstream_body(self.fake, s), mh.upstream_body(self.fake, first))
            self.assertEqual(s.tokens(), inj.cost())
        self.assertEqual(mh.get_memory(self.proxy, user)['buffer'], [], 'a read recorded a turn')

    def test_a_new_question_in_read_mode_writes_nothing(self):
        """A conversation whose head is kept asks new questions with X-Memory:
        read: each one gets its tail, and the store is not written."""
        user = self.profile_user()
        history = [{'role': 'system', 'content': 'You are a helpful assistant.'},
                   {'role': 'user', 'content': 'What do you know about value number 3?'}]
        self.assertOK(send(self.proxy, user, history, x_memory='read'))
        mh.wait_idle(self.proxy)
        before = commits(self.proxy)
        for i, q in enumerate(['And value number 7?', 'What about value number 11?']):
            history = history + [{'role': 'assistant', 'content': 'Noted %d.' % i},
                                 {'role': 'user', 'content': q}]
            s = send(self.proxy, user, history, x_memory='read')
            self.assertOK(s)
            self.injection(s)
        mh.wait_idle(self.proxy)
        self.assertEqual(commits(self.proxy), before, 'a read with a new question wrote')

    def test_a_user_in_read_mode_and_a_client_task_write_nothing(self):
        user = self.profile_user()
        r = self.proxy.request('PUT', '/v1/memory/settings',
                               [('X-User-Id', user), ('Content-Type', 'application/json')],
                               b'{"mode":"read"}')
        self.assertEqual(r.status, 200, r)
        msgs = [{'role': 'user', 'content': 'Tell me about value number 5.'}]
        self.assertOK(send(self.proxy, user, msgs))
        mh.wait_idle(self.proxy)
        before = commits(self.proxy)
        for _ in range(2):
            s = send(self.proxy, user, msgs)
            self.assertOK(s)
            self.injection(s)
        task = send(self.proxy, user, [{'role': 'user', 'content': OWUI_TITLE}])
        self.assertOK(task)
        mh.wait_idle(self.proxy)
        self.assertEqual(commits(self.proxy), before, 'a read-mode user or a client task wrote')
        self.assertEqual(mh.get_memory(self.proxy, user)['buffer'], [])


class HeadsWrittenOnce(mh.MemCase):
    """A conversation's turns under its kept head write the tail of their
    question alone: the head record stays the bytes it was (its random
    stamp would change with a write), the tail record changes."""

    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}}

    def test_a_turn_under_a_kept_head_writes_no_head_record(self):
        user = profile_user(self, mh.uid('hw'))
        history = [{'role': 'system', 'content': 'You are a helpful assistant.'}]
        snaps, reused = [], []
        for i, q in enumerate(['Tell me about value number 3.', 'And value number 7?',
                               'What about value number 11?', 'And value number 19?']):
            history = history + [{'role': 'user', 'content': q}]
            s = send(self.proxy, user, history)
            self.assertOK(s)
            self.injection(s)
            mh.wait_idle(self.proxy)
            history = history + [{'role': 'assistant', 'content': mh.REPLY}]
            snaps.append(conv_records(self.proxy, user))
            reused.append(self.proxy.metric('memproxy_conversation_heads_total',
                                            result='reused') or 0)
        # the third and fourth turns reuse the head the second one kept
        # (the first's, taken over under the conversation's own key)
        self.assertEqual(reused[3] - reused[1], 2)
        heads = {k: v for k, v in snaps[1].items() if k[0] == 0}
        for later in snaps[2:]:
            for k, v in heads.items():
                self.assertEqual(later.get(k), v, 'a turn under a kept head wrote its head record')
        tails = [{k: v for k, v in snap.items() if k[0] == 2} for snap in snaps[1:]]
        self.assertTrue(all(tails), 'no tail record')
        for a, b in zip(tails, tails[1:]):
            self.assertNotEqual(a, b, 'the new question\'s tail was not written')


class GroupCommit(mh.MemCase):
    """Turns that arrive while a commit is in flight share the next commit;
    every one is recorded, each reply still ends only once its turn is
    durable, and the buffer trims they call for ride with a later commit
    (memproxy_memory_followups_total), each applied once."""

    CLIENTS = 12
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'buffer', 'buffer_messages': 2},
                    'storage': {'sync': 'full'},
                    'env': {'MEMPROXY_TEST_COMMIT_DELAY_MS': '1000'}}

    def wave(self, users, text):
        results = [None] * len(users)

        def one(i):
            results[i] = send(self.proxy, users[i], text % i)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(users))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for i, s in enumerate(results):
            self.assertIsNotNone(s, 'client %d got no answer' % i)
            self.assertOK(s)
            # durable_ack: the reply is complete, so its turn is in the store
            buf = [m['content'] for m in mh.get_memory(self.proxy, users[i])['buffer']]
            self.assertIn(text % i, buf)

    def followups(self):
        return sum(self.proxy.metric('memproxy_memory_followups_total', commit=c) or 0
                   for c in ('with_turns', 'alone'))

    def test_turns_sent_together_share_commits_and_all_are_kept(self):
        users = [mh.uid('gc') for _ in range(self.CLIENTS)]
        self.wave(users, 'first turn %d')  # each buffer full: 2 messages
        mh.wait_idle(self.proxy)
        before, follows = commits(self.proxy), self.followups()
        self.wave(users, 'group commit turn %d')
        mh.wait_idle(self.proxy)
        used = commits(self.proxy) - before
        # each commit waits 1 s: the first takes whoever came first, the
        # next everyone who arrived meanwhile, with the trims planned after
        # the first
        self.assertLess(used, self.CLIENTS, 'each turn took a commit of its own')
        self.assertGreater(used, 0)
        # one trim per user's new turn, applied once, with turns or alone
        self.assertEqual(self.followups() - follows, self.CLIENTS)
        for i, u in enumerate(users):
            buf = [m['content'] for m in mh.get_memory(self.proxy, u)['buffer']]
            self.assertEqual(buf, ['group commit turn %d' % i, mh.REPLY])

    def test_reads_of_new_conversations_share_commits_and_keep_their_heads(self):
        users = [mh.uid('gr') for _ in range(self.CLIENTS)]
        self.wave(users, 'something to remember %d')  # memory to build heads from
        mh.wait_idle(self.proxy)
        before, reused = commits(self.proxy), self.heads('reused')
        firsts = [None] * self.CLIENTS

        def read(i):
            firsts[i] = send(self.proxy, users[i], 'a new chat %d' % i, x_memory='read')

        threads = [threading.Thread(target=read, args=(i,)) for i in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        used = commits(self.proxy) - before
        self.assertLess(used, self.CLIENTS, 'each read\'s new head took a commit of its own')
        self.assertGreater(used, 0, 'the new heads were not written')
        # each reply waited for its head: the chat's next turn, on a new
        # connection (either worker), finds it kept
        for i, first in enumerate(firsts):
            self.assertOK(first)
            self.injection(first)
            nxt = send(self.proxy, users[i], [{'role': 'user', 'content': 'a new chat %d' % i},
                                              {'role': 'assistant', 'content': mh.REPLY},
                                              {'role': 'user', 'content': 'and then?'}],
                       x_memory='read')
            self.assertOK(nxt)
        self.assertEqual(self.heads('reused') - reused, self.CLIENTS)

    def heads(self, result):
        return self.proxy.metric('memproxy_conversation_heads_total', result=result)


if __name__ == '__main__':
    harness.main(__name__)
