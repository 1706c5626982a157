"""Memory jobs held for a credential (issue 51, requirement 5): with no
memory key and the Anthropic route on, an Anthropic turn's extraction job
waits for a credential the OpenAI memory model may use. Such jobs never take
the queue ([memory] queue_max) from turns that can be served, are bounded on
their own (held_jobs_per_user, held_jobs_max: the oldest leave first, counted
and logged), expire after held_jobs_ttl_seconds (counted and logged), show on
/readyz (degraded: held_jobs) and /admin/status, and keep their bound across
a restart. The turns themselves stay recorded whatever becomes of their
jobs: only the extraction is skipped."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'process'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import test_postgres  # noqa: E402
from memhelpers import send  # noqa: E402

MESSAGES = '/v1/messages'
DROPPED = ('held memory jobs dropped: no credential came for them; their turns stay recorded, '
           'unextracted')


def messages_body(text):
    return json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 64,
                       'messages': [{'role': 'user', 'content': text}]}).encode()


def buffer_words(mem):
    """The user's messages in the buffer of GET /v1/memory."""
    return [m['content'] for m in mem['buffer'] if m['role'] == 'user']


class HeldJobs(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'entity'}}

    def held_proxy(self, storage=None, **memory):
        """A proxy with the Anthropic route on and no key for the (OpenAI)
        memory model: Anthropic turns' jobs are held."""
        mem = {'mode': 'entity', 'queue_max': 4}
        mem.update(memory)
        kw = {'memory': mem, 'workers': 1,
              'sections': {'anthropic': {'base_url': self.fake.base_url[:-len('/v1')]},
                           'admin': {'token': mh.ADMIN_TOKEN}}}
        if storage is not None:
            kw['storage'] = {'path': storage}
        return self.start_proxy(**kw)

    def anthropic_turn(self, p, user, text):
        h = [('Content-Type', 'application/json'), ('anthropic-version', '2023-06-01'),
             ('X-User-Id', user), ('x-api-key', 'sk-ant-' + user)]
        r = p.request('POST', MESSAGES, h, messages_body(text))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-memory-error'), 'no_memory_credential', r.headers)
        return r

    def openai_turn(self, p, user, text):
        """A turn the memory model can serve (its credential goes with its
        job), sent once the queue's own work is done: whatever is held, it
        is recorded and its job runs."""
        mh.wait_idle(p)  # jobs held for a credential are not queue depth
        s = send(p, user, text)
        self.assertOK(s)
        self.assertIsNone(s.resp.header('x-memory-error'), 'a servable turn was refused')
        return s

    def held(self, p, n, timeout=5):
        v = p.wait_metric('memproxy_memory_jobs_held', lambda v: v == n, timeout=timeout,
                          reason='no_credential')
        self.assertEqual(v, n, 'jobs held for a credential')
        return v

    def jobs_of(self, text):
        """The memory-model calls whose transcript holds text."""
        return [r for r in mh.fake_requests(self.fake)
                if mh.job_kind(r) is not None and text in (r.get('body') or '')]

    def user_texts(self, p, user):
        """The user's words memproxy keeps: the buffer and the archive."""
        mem = mh.get_memory(p, user)
        return (buffer_words(mem),
                [m['content'] for m in mem['archive'] if m['role'] == 'user'])

    def assertRecorded(self, p, user, texts):
        """The user's words are archived, whatever became of their jobs."""
        archive = self.user_texts(p, user)[1]
        for t in texts:
            self.assertIn(t, archive, 'the turn is not archived')

    def readyz(self, p):
        r = p.admin('/readyz')
        return r.status, bytes(r.body).decode()

    def status(self, p):
        r = mh.admin_request(p, 'GET', '/admin/status')
        self.assertEqual(r.status, 200, r)
        return r.json()

    def dropped_lines(self, p, field, total):
        """The lines that said held jobs were dropped, once their field sums
        to total: a pass counts its drops in the metrics
        before it logs them, so a test that saw the metrics can read the
        log before the line is in it."""
        def lines():
            got = [o for o in p.log_objects() if o.get('msg') == DROPPED]
            return got if sum(o[field] for o in got) >= total else None
        return mh.wait_for(lines, timeout=5, what='%s %d in the drop lines' % (field, total))

    def test_held_jobs_never_take_the_queue_from_servable_turns(self):
        p = self.held_proxy(held_jobs_max=100, held_jobs_per_user=100)
        self.assertEqual(self.readyz(p), (200, 'ready\n'))
        anth = [mh.uid('ha%d' % i) for i in range(4)]
        texts = {}
        for k in range(3):  # 12 held jobs, three times queue_max
            for i, u in enumerate(anth):
                t = 'My name is Anth%d%s.' % (i, 'abc'[k])
                texts.setdefault(u, []).append(t)
                self.anthropic_turn(p, u, t)
        self.held(p, 12)
        # two users on the OpenAI routes: recorded, never queue_full, and
        # their extraction runs with their own credential
        oai = [mh.uid('ho%d' % i) for i in range(2)]
        for i, u in enumerate(oai):
            self.openai_turn(p, u, 'My name is Oscar%d.' % i)
            self.openai_turn(p, u, 'I live in Oslo%d.' % i)
        for i, u in enumerate(oai):
            mh.wait_memory(p, u, lambda m, i=i: mh.entity_map(m) == {'name': 'Oscar%d' % i,
                                                                     'city': 'Oslo%d' % i},
                           what='the OpenAI user\'s extraction')
            jobs = self.jobs_of('My name is Oscar%d.' % i) + self.jobs_of('I live in Oslo%d.' % i)
            self.assertTrue(jobs)
            for j in jobs:
                self.assertEqual(j['path'], '/v1/chat/completions')
                self.assertEqual(mh.req_header(j, 'Authorization'), mh.auth_of(u))
        self.assertEqual(p.metric('memproxy_memory_queue_full_total'), 0)
        self.assertEqual(mh.jobs_metric(p, 'record', 'dropped'), 0)
        mh.wait_idle(p)  # the held jobs are not queue depth
        self.held(p, 12)
        for u in anth:
            self.assertRecorded(p, u, texts[u])
            self.assertEqual(mh.get_memory(p, u)['entities'], [])
        for t in sum(texts.values(), []):
            self.assertEqual(self.jobs_of(t), [], 'a held job went out without a credential')
        # visible: /readyz stays in service but says so, /admin/status counts
        self.assertEqual(self.readyz(p), (200, 'degraded: held_jobs\nheld_jobs: 12\n'))
        st = self.status(p)
        self.assertEqual(st['degraded'], 'held_jobs')
        self.assertTrue(st['ready'])
        held = st['held_jobs']
        self.assertEqual((held['count'], held['max'], held['per_user_max'], held['ttl_seconds']),
                         (12, 100, 100, 604800))
        self.assertIsInstance(held['oldest_seconds'], int)
        self.assertGreaterEqual(held['oldest_seconds'], 0)
        self.assertLess(held['oldest_seconds'], 120)
        self.assertEqual(st['queue']['depth'], 0)
        self.assertGreaterEqual(p.metric('memproxy_memory_jobs_held_oldest_seconds'), 0)
        # a credential for one of them: its held jobs run, and leave the count
        u = anth[0]
        self.openai_turn(p, u, 'I live in Bergen.')
        mh.wait_memory(p, u, lambda m: mh.entity_map(m).get('city') == 'Bergen',
                       what='the held jobs once a credential came')
        self.held(p, 9)
        self.assertTrue(self.jobs_of(texts[u][0]), 'the held job never ran')

    def test_the_held_bound_drops_the_oldest_counted_and_logged(self):
        p = self.held_proxy(held_jobs_max=3, held_jobs_per_user=2)
        a, b = mh.uid('hba'), mh.uid('hbb')
        a_texts = ['My name is Ann.', 'I live in Oslo.', 'My favorite color is teal.']
        for t in a_texts:
            self.anthropic_turn(p, a, t)
        self.held(p, 2)  # a's oldest left: over its user's bound
        for t in ('My name is Bo.', 'I live in Rome.'):
            self.anthropic_turn(p, b, t)
        self.held(p, 3)  # then the oldest of all: a's second
        self.assertEqual(mh.jobs_metric(p, 'extract', 'evicted'), 2)
        self.assertEqual(mh.jobs_metric(p, 'extract', 'expired'), 0)
        lines = self.dropped_lines(p, 'over_total_bound', 1)
        self.assertEqual(sum(o['over_user_bound'] for o in lines), 1, lines)
        self.assertEqual(sum(o['over_total_bound'] for o in lines), 1, lines)
        self.assertEqual(sum(o['expired'] for o in lines), 0, lines)
        for o in lines:  # no user id, no words
            self.assertNotIn(a, json.dumps(o))
            self.assertNotIn('Oslo', json.dumps(o))
        # every turn is still recorded; only the extraction is skipped
        self.assertRecorded(p, a, a_texts)
        # a's credential comes: only its job still held runs
        self.openai_turn(p, a, 'I use Neovim and I am building a sailing app.')
        mem = mh.wait_memory(p, a, lambda m: 'favorite_color' in mh.entity_map(m) and 'tools' in mh.entity_map(m),
                             what='a\'s kept job and its new turn')
        mh.wait_idle(p)
        mem = mh.get_memory(p, a)
        self.assertNotIn('name', mh.entity_map(mem), 'an evicted job ran')
        self.assertNotIn('city', mh.entity_map(mem), 'an evicted job ran')
        self.assertEqual(self.jobs_of(a_texts[0]) + self.jobs_of(a_texts[1]), [])
        self.held(p, 2)
        self.assertRecorded(p, a, a_texts)

    def test_held_jobs_expire_after_their_ttl(self):
        # a ttl of 10 s: the checks of the jobs still held come well within
        # it however slowly the turns go; the expiry is then waited for
        p = self.held_proxy(held_jobs_ttl_seconds=10)
        u = mh.uid('hx')
        texts = ['My name is Eve.', 'I live in Lima.']
        t0 = time.monotonic()
        for t in texts:
            self.anthropic_turn(p, u, t)
        self.held(p, 2)
        self.assertEqual(self.readyz(p), (200, 'degraded: held_jobs\nheld_jobs: 2\n'))
        self.held(p, 0, timeout=10 + harness.WAIT)
        self.assertGreaterEqual(time.monotonic() - t0, 9.5, 'expired before its ttl')
        self.assertEqual(mh.jobs_metric(p, 'extract', 'expired'), 2)
        self.assertEqual(mh.jobs_metric(p, 'extract', 'evicted'), 0)
        self.assertEqual(sum(o['expired'] for o in self.dropped_lines(p, 'expired', 2)), 2)
        self.assertEqual(self.readyz(p), (200, 'ready\n'))
        self.assertEqual(self.status(p)['held_jobs']['count'], 0)
        self.assertIsNone(self.status(p)['held_jobs']['oldest_seconds'])
        self.assertRecorded(p, u, texts)
        # the jobs are gone for good: a credential now runs only the new turn
        self.openai_turn(p, u, 'My favorite color is teal.')
        mh.wait_memory(p, u, lambda m: mh.entity_map(m) == {'favorite_color': 'teal'},
                       what='the new turn alone')
        self.assertEqual(self.jobs_of(texts[0]) + self.jobs_of(texts[1]), [])
        self.assertRecorded(p, u, texts)

    def test_the_buffer_is_trimmed_past_dropped_jobs(self):
        """Pending extractions keep their turns in the buffer; held ones are
        bounded, so the buffer is too, and once they expire it is trimmed
        to buffer_messages again."""
        # a ttl of 10 s: turns 5 to 7 come within it however slowly they go
        p = self.held_proxy(buffer_messages=2, held_jobs_per_user=2, held_jobs_ttl_seconds=10)
        u = mh.uid('ht')
        texts = ['I like tea number %d.' % i for i in range(8)]
        for t in texts[:6]:
            self.anthropic_turn(p, u, t)
        self.held(p, 2)
        self.anthropic_turn(p, u, texts[6])
        # the held jobs of turns 5 and 6 (and 7's own) keep their turns:
        # no more (unbounded, all seven turns would stay); the trim follows
        # the commit, so wait for it
        mh.wait_memory(p, u, lambda m: len(buffer_words(m)) <= 3, what='the buffer trimmed')
        self.assertEqual(self.user_texts(p, u)[0], texts[4:7])
        self.held(p, 0, timeout=10 + harness.WAIT)
        self.assertEqual(mh.jobs_metric(p, 'extract', 'expired'), 2)
        self.anthropic_turn(p, u, texts[7])
        mh.wait_memory(p, u, lambda m: buffer_words(m) == texts[7:], what='the buffer trimmed')
        self.assertRecorded(p, u, texts)

    def test_restart_keeps_the_bound(self):
        storage = self.storage_dir()
        p = self.held_proxy(storage, held_jobs_max=5, held_jobs_per_user=10)
        users = [mh.uid('hr%d' % i) for i in range(7)]
        for i, u in enumerate(users):
            self.anthropic_turn(p, u, 'My name is Rae%d.' % i)
        self.held(p, 5)  # more than queue_max (4)
        self.assertEqual(mh.jobs_metric(p, 'extract', 'evicted'), 2)
        self.stop_checked(p)
        # the stored held jobs come back held (no credential survives a
        # restart), within their bound, and still leave the queue alone
        p = self.held_proxy(storage, held_jobs_max=5, held_jobs_per_user=10)
        self.held(p, 5)
        self.assertEqual(mh.jobs_metric(p, 'extract', 'evicted'), 0)
        self.assertEqual(self.readyz(p), (200, 'degraded: held_jobs\nheld_jobs: 5\n'))
        for i in range(3):
            u = mh.uid('hn%d' % i)
            self.openai_turn(p, u, 'My name is New%d.' % i)
            mh.wait_memory(p, u, lambda m, i=i: mh.entity_map(m) == {'name': 'New%d' % i},
                           what='a servable turn\'s extraction after the restart')
        self.assertEqual(p.metric('memproxy_memory_queue_full_total'), 0)
        self.stop_checked(p)
        # a lower bound at the next start applies to what is stored
        p = self.held_proxy(storage, held_jobs_max=1, held_jobs_per_user=10)
        self.held(p, 1)
        self.assertEqual(mh.jobs_metric(p, 'extract', 'evicted'), 4)
        for i, u in enumerate(users):
            self.assertRecorded(p, u, ['My name is Rae%d.' % i])
        # the one kept is the newest, and runs once its user's credential comes
        self.openai_turn(p, users[6], 'I live in Riga.')
        mh.wait_memory(p, users[6], lambda m: mh.entity_map(m) == {'name': 'Rae6', 'city': 'Riga'},
                       what='the kept job after the restarts')
        self.held(p, 0)
        for i in range(2, 6):
            self.assertEqual(self.jobs_of('My name is Rae%d.' % i), [])


class HeldAcrossProxies(test_postgres.PgCase):
    """Proxies sharing a PostgreSQL store each index every stored job; a
    job held in one (no credential for it there) that another ran leaves
    the first's count, and is neither counted nor dropped there."""

    def test_a_job_another_proxy_ran_leaves_the_held_count(self):
        kw = {'workers': 1, 'storage': {'backend': 'postgres', 'postgres_url': self.pg.url},
              'memory': {'mode': 'entity', 'job_lease_seconds': 5},
              'sections': {'anthropic': {'base_url': self.fake.base_url[:-len('/v1')]}}}
        a, b = self.start_proxy(**kw), self.start_proxy(**kw)
        u = mh.uid('hs')
        h = [('Content-Type', 'application/json'), ('anthropic-version', '2023-06-01'),
             ('X-User-Id', u), ('x-api-key', 'sk-ant-' + u)]
        r = a.request('POST', MESSAGES, h, messages_body('My name is Sol.'))
        self.assertEqual(r.status, 200, r)
        for p in (a, b):  # b reads it within its rescan (5 s)
            self.assertEqual(p.wait_metric('memproxy_memory_jobs_held', lambda v: v == 1, timeout=8,
                                           reason='no_credential'), 1)
        self.assertEqual(bytes(b.admin('/readyz').body), b'degraded: held_jobs\nheld_jobs: 1\n')
        # the user's credential reaches a: a runs the job
        self.assertOK(send(a, u, 'I live in Split.'))
        mh.wait_memory(a, u, lambda m: mh.entity_map(m) == {'name': 'Sol', 'city': 'Split'},
                       what='the held job run through a')
        self.assertEqual(b.wait_metric('memproxy_memory_jobs_held', lambda v: v == 0, timeout=8,
                                       reason='no_credential'), 0, 'b still counts a job a ran')
        self.assertEqual(bytes(b.admin('/readyz').body), b'ready\n')
        for p in (a, b):
            self.assertEqual(mh.jobs_metric(p, 'extract', 'evicted'), 0)
            self.assertEqual(mh.jobs_metric(p, 'extract', 'expired'), 0)


if __name__ == '__main__':
    harness.main('proxy_held_jobs')
