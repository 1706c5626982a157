"""Isolation (issue 3, requirement 9): 50 users in parallel, each with a
unique canary fact, with upstream faults and client disconnects mixed in:
no canary ever reaches another user's request, memory or memory job."""

import os
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import CHAT, REPLY, send, user_msg  # noqa: E402

USERS = 50


class Isolation(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}, 'server': {'max_connections': 512}}

    def setUp(self):
        super().setUp()
        run = uuid.uuid4().hex[:6]
        self.users = ['iso-%s-%02d' % (run, i) for i in range(USERS)]
        self.canaries = ['canary%s%02d' % (uuid.uuid4().hex[:10], i) for i in range(USERS)]
        self.seen = {}          # fake request n -> entry
        self.lock = threading.Lock()

    def collect(self):
        """Keeps every /_fake/requests entry seen so far (the fake keeps the last 200)."""
        for r in mh.fake_requests(self.fake):
            self.seen[r['n']] = r

    def text(self, i):
        return 'My name is %s.' % self.canaries[i]

    def fault_then_turn(self, i):
        """A failed attempt (by kind i % 5), then the good turn, same body."""
        user = self.users[i]
        body, k = mh.build_chat([user_msg(self.text(i))], stream=(i % 5) in (1, 2))
        kind = i % 5
        if kind == 0:
            s = send(self.proxy, user, None, body=body, k=k, fake='status=500')
            assert s.status == 500, s.resp
        elif kind == 1:
            s = send(self.proxy, user, None, body=body, k=k, fake='events=4,reset_after=2')
            assert s.status == 200 and b'[DONE]' not in bytes(s.resp.body), s.resp
        elif kind == 2:
            c = self.proxy.conn(timeout=15)
            c.send_request('POST', CHAT, mh.chat_headers(user, fake='events=6,event_delay_ms=150'), body)
            r = c.read_head()
            assert r.status == 200, r
            c.read_more(timeout=10, until=lambda x: b'tok0' in bytes(x.body))
            c.abort()
        elif kind == 3:
            s = send(self.proxy, user, None, body=body, k=k, fake='status=429')
            assert s.status == 429, s.resp
        if kind in (1, 2):
            body, k = mh.build_chat([user_msg(self.text(i))])
        s = send(self.proxy, user, None, body=body, k=k)
        assert s.status == 200 and s.resp.complete, s.resp
        return s

    def next_turn(self, i):
        s = send(self.proxy, self.users[i], 'What is my name?')
        assert s.status == 200 and s.resp.complete, s.resp
        return s

    def others(self, i, text):
        return [j for j, c in enumerate(self.canaries) if j != i and c in text]

    def test_fifty_users_no_canary_crosses(self):
        with ThreadPoolExecutor(max_workers=USERS) as ex:
            list(ex.map(self.fault_then_turn, range(USERS)))
        self.collect()
        # Each user's memory: exactly its own turn (the failed attempts recorded
        # nothing) and its own canary as its name.
        for i, user in enumerate(self.users):
            mem = mh.wait_memory(self.proxy, user, lambda m, i=i: mh.entity_map(m).get('name') == self.canaries[i],
                                 what='the canary fact of user %d' % i)
            self.assertEqual(mh.buffer_pairs(mem), [('user', self.text(i)), ('assistant', REPLY)],
                             'user %d: the buffer is not exactly the one good turn' % i)
        mh.wait_idle(self.proxy)
        self.collect()
        with ThreadPoolExecutor(max_workers=USERS) as ex:
            sent = list(ex.map(self.next_turn, range(USERS)))
        self.collect()
        for i, s in enumerate(sent):
            up = mh.upstream_body(self.fake, s).decode('utf-8')
            self.assertIn(self.canaries[i], up, 'user %d did not get its own memory' % i)
            self.assertEqual(self.others(i, up), [], 'user %d\'s request carries other users\' canaries' % i)
            inj = self.injection(s)
            self.assertEqual(inj.block.fact_dict(), {'name': self.canaries[i]})
            self.assertEqual(inj.recent(), [('user', self.text(i)), ('assistant', REPLY)])
        for i, user in enumerate(self.users):
            raw = self.proxy.request('GET', '/v1/memory', [('X-User-Id', user)])
            self.assertEqual(raw.status, 200)
            text = bytes(raw.body).decode('utf-8')
            self.assertIn(self.canaries[i], text)
            self.assertEqual(self.others(i, text), [], 'GET /v1/memory of user %d shows other canaries' % i)
        # Every request the fake saw: a client request or a job of user i
        # (known by its Authorization) holds no canary but user i's.
        mh.wait_idle(self.proxy)
        self.collect()
        auths = {mh.auth_of(u): i for i, u in enumerate(self.users)}
        jobs_checked = 0
        for n, r in sorted(self.seen.items()):
            auth = mh.req_header(r, 'Authorization')
            if auth not in auths:
                continue
            i = auths[auth]
            self.assertEqual(self.others(i, r.get('body') or ''), [],
                             'request %d (%s) with user %d\'s credentials carries other canaries'
                             % (n, mh.job_kind(r) or 'client', i))
            if mh.job_kind(r) is not None and self.canaries[i] in r['body']:
                jobs_checked += 1
        self.assertGreaterEqual(jobs_checked, USERS, 'fewer canary-bearing job requests seen than users')
        extracts = [r for r in self.seen.values() if mh.job_kind(r) == 'extract' and
                    any(c in r['body'] for c in self.canaries)]
        for r in extracts:
            self.assertIn(mh.req_header(r, 'Authorization'), auths, 'an extraction job with no user\'s credentials')


if __name__ == '__main__':
    harness.main('proxy_memory_isolation')
