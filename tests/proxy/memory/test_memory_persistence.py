"""Durability (issue 3, requirements 1, 4 and 11): memory survives a
restart; after SIGTERM or kill -9 with memory jobs pending, a new memproxy on
the same storage runs them to completion.

Credentials: a job's Authorization is [upstream] api_key when set, else the
Authorization of the user's latest request, which memproxy keeps in process
memory only (never on disk). So after a restart without api_key a pending job
waits for the user's next request to bring credentials again; with api_key it
resumes by itself. Both are tested."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, send  # noqa: E402


class Persistence(mh.MemCase):

    def proxy_on(self, storage, mode='hybrid', api_key=None, server=None, **memory):
        mem = {'mode': mode}
        mem.update(memory)
        kw = {'memory': mem, 'storage': {'path': storage, 'sync': 'full'}}
        if api_key:
            kw['upstream'] = {'api_key': api_key}
        if server:
            kw['server'] = server
        return self.start_proxy(**kw)

    def test_restart_keeps_memory(self):
        storage = self.storage_dir()
        user = mh.uid('persist')
        p = self.proxy_on(storage, summarize_at=2, buffer_messages=2)
        self.assertOK(send(p, user, 'My name is Pia. I live in Turku.'))
        mem1 = mh.wait_memory(p, user, lambda m: m['summary']['text'] is not None and len(m['entities']) == 2 and
                              len(m['buffer']) == 1, what='summary, facts and buffer')
        self.stop_checked(p)
        p2 = self.proxy_on(storage, summarize_at=2, buffer_messages=2)
        mem2 = mh.get_memory(p2, user)
        self.assertEqual(mem2, mem1, 'memory changed across a restart')
        s = send(p2, user, 'Who am I?')
        self.assertOK(s)
        inj = self.injection(s)
        self.assertEqual(inj.block.fact_dict(), {'name': 'Pia', 'city': 'Turku'})
        self.assertEqual(inj.block.summary, mem1['summary']['text'])
        self.assertEqual(inj.recent(), [('assistant', REPLY)])

    def stalled_turn(self, p, user, text, kind='extract'):
        """A recorded turn whose memory job the fake holds (stall)."""
        n0 = mh.last_n(self.fake)
        self.assertOK(send(p, user, text))
        mh.wait_for(lambda: mh.job_requests(self.fake, kind, after=n0), what='the stalled %s request' % kind)
        mem = mh.get_memory(p, user)
        self.assertEqual(mh.buffer_pairs(mem)[-2:], [('user', text), ('assistant', REPLY)],
                         'the turn was not committed before its job ran')
        self.assertEqual(mem['entities'], [])
        self.assertGreaterEqual(p.metric('memproxy_memory_queue_depth'), 1)
        return n0

    def test_kill9_pending_job_resumes_with_the_users_next_request(self):
        storage = self.storage_dir()
        user = mh.uid('k9')
        mh.set_jobmode(self.fake, extract='stall')
        p = self.proxy_on(storage, mode='entity')
        self.stalled_turn(p, user, 'My name is Kim.')
        self.kill9(p)
        mh.set_jobmode(self.fake, extract='ok')
        n1 = mh.last_n(self.fake)
        p2 = self.proxy_on(storage, mode='entity')
        mem = mh.get_memory(p2, user)
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'My name is Kim.'), ('assistant', REPLY)],
                         'the turn recorded before kill -9 is gone')
        # Without api_key the job has no credentials until the user comes
        # back: it is held for one (not queue depth: docs/memory-jobs.md, "Held jobs").
        self.assertEqual(p2.wait_metric('memproxy_memory_jobs_held', lambda v: v >= 1, reason='no_credential'), 1,
                         'the pending job was not reloaded')
        time.sleep(1.5)
        self.assertEqual(mh.job_requests(self.fake, after=n1), [],
                         'a job ran after a restart without credentials (api_key unset, no new request)')
        self.assertEqual(mh.get_memory(p2, user)['entities'], [])
        s = send(p2, user, 'Hello again.')
        self.assertOK(s)
        mem = mh.wait_memory(p2, user, lambda m: mh.entity_map(m).get('name') == 'Kim',
                             what='the job pending since kill -9')
        reqs = [r for r in mh.job_requests(self.fake, 'extract', after=n1)
                if 'My name is Kim.' in r['body']]
        self.assertEqual(len(reqs), 1, 'the pending extraction ran %d times after the restart' % len(reqs))
        self.assertEqual(mh.req_header(reqs[0], 'Authorization'), mh.auth_of(user))
        self.assertEqual(mh.entity_map(mem), {'name': 'Kim'})

    def test_kill9_pending_jobs_resume_by_themselves_with_api_key(self):
        storage = self.storage_dir()
        user = mh.uid('k9key')
        mh.set_jobmode(self.fake, extract='stall', summarize='stall')
        p = self.proxy_on(storage, api_key='sk-proxy-k9', summarize_at=2, buffer_messages=2)
        self.stalled_turn(p, user, 'My name is Kit. I live in Kiel.')
        self.kill9(p)
        mh.set_jobmode(self.fake, extract='ok', summarize='ok')
        n1 = mh.last_n(self.fake)
        p2 = self.proxy_on(storage, api_key='sk-proxy-k9', summarize_at=2, buffer_messages=2)
        # No request: the extraction, which folds the summary too in hybrid
        # mode (one call), runs to completion.
        # (the buffer is trimmed right after the fold commits: wait for both)
        mem = mh.wait_memory(p2, user, lambda m: len(m['entities']) == 2 and m['summary']['text'] is not None
                             and len(m['buffer']) == 1,
                             what='the extraction and summary pending since kill -9, the buffer trimmed')
        self.assertEqual(mh.entity_map(mem), {'name': 'Kit', 'city': 'Kiel'})
        self.assertEqual(mh.buffer_pairs(mem), [('assistant', REPLY)])
        self.assertIn('My name is Kit', mem['summary']['text'])
        reqs = mh.job_requests(self.fake, after=n1)
        self.assertEqual([mh.job_kind(r) for r in reqs], ['extract'], reqs)
        for r in reqs:
            self.assertEqual(mh.req_header(r, 'Authorization'), 'Bearer sk-proxy-k9')
        mh.wait_idle(p2)

    def test_sigterm_with_a_running_job_persists_it(self):
        storage = self.storage_dir()
        user = mh.uid('term')
        mh.set_jobmode(self.fake, extract='stall')
        # a drain of 10 minutes: a shutdown that waited for the stalled job
        # would outlast the stop's own wait (45 s), and stop_checked says so
        p = self.proxy_on(storage, mode='entity', api_key='sk-proxy-term', server={'drain_timeout_ms': 600000})
        self.stalled_turn(p, user, 'My name is Tea.')
        self.stop_checked(p)
        mh.set_jobmode(self.fake, extract='ok')
        p2 = self.proxy_on(storage, mode='entity', api_key='sk-proxy-term')
        mem = mh.wait_memory(p2, user, lambda m: mh.entity_map(m) == {'name': 'Tea'},
                             what='the job pending at SIGTERM')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'My name is Tea.'), ('assistant', REPLY)])


if __name__ == '__main__':
    harness.main('proxy_memory_persistence')
