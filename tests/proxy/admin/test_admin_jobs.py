"""The memory jobs in the admin API (issue 65, requirement 2;
docs/admin-process.md "Jobs"): GET /admin/jobs lists the stored jobs with their
state (a job held for a credential, a job kept as failed, one running),
user, kind, times and the seqs of their turns, never their words nor a
credential, paged by cursor and filtered by state and user; POST
/admin/jobs/{id}/retry runs a failed one again (the fake upstream gets its
turn once more and the fact is stored); DELETE /admin/jobs/{id} drops one
(its turn never reaches the memory model, its words stay recorded), logged
with who did it. On the backend MPTEST_BACKEND names (tests/proxy/meson.build
runs this file on LMDB and on PostgreSQL, where a second proxy on the same
store lists and acts on the first's jobs)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'conversations'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402
from test_conversations import BACKEND, ConvCase, anthropic_root  # noqa: E402

MESSAGES = '/v1/messages'
FAST = {'mode': 'entity', 'extract_idle_seconds': 0, 'job_retry_backoff_ms': 50,
        'job_retry_backoff_max_ms': 200, 'job_retry_horizon_seconds': 3600}
DAY_MS = 86400 * 1000


def iso_ms(text):
    """The ms since the epoch of an admin API time."""
    import datetime
    d = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
    return int(round(d.timestamp() * 1000))


class JobsCase(ConvCase):
    """A proxy of the test's own with the Anthropic route on and no key for
    the (OpenAI) memory model: an Anthropic turn's job is held, an OpenAI
    turn's runs with its user's credential."""

    def setUp(self):
        super().setUp()
        self.p = self.jobs_proxy()

    def jobs_proxy(self, **memory):
        mem = dict(FAST, **memory)
        return self.own_proxy(memory=mem, sections={'admin': {'token': mh.ADMIN_TOKEN}})

    def adm(self, method, path, p=None):
        return mh.admin_request(p or self.p, method, path)

    def jobs(self, query='', p=None):
        r = self.adm('GET', '/admin/jobs' + ('?' + query if query else ''), p)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('cache-control'), 'no-store')
        return r.json()

    def user_jobs(self, user, state=None, p=None):
        q = 'user=' + mh.qid(user) + ('&state=' + state if state else '')
        return self.jobs(q, p)['jobs']

    def anthropic_turn(self, user, text, p=None):
        h = [('Content-Type', 'application/json'), ('anthropic-version', '2023-06-01'),
             ('X-User-Id', user), ('x-api-key', 'sk-ant-zqx-' + user)]
        body = json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 64,
                           'messages': [{'role': 'user', 'content': text}]}).encode()
        r = (p or self.p).request('POST', MESSAGES, h, body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-memory-error'), 'no_memory_credential', r.headers)

    def held_job(self, user, text, p=None):
        """A job held for a credential: an Anthropic turn's."""
        p = p or self.p
        before = p.metric('memproxy_memory_jobs_held', reason='no_credential')
        self.anthropic_turn(user, text, p)
        p.wait_metric('memproxy_memory_jobs_held', lambda v: v > before, mh.WAIT, reason='no_credential')
        got = mh.wait_for(lambda: self.user_jobs(user, 'held', p), mh.WAIT, 'the held job listed')
        return got[0]

    def failed_job(self, user, text, p=None):
        """A job kept as failed: the memory model's answers could not be used."""
        p = p or self.p
        before = p.metric('memproxy_memory_jobs_failed_total', kind='extract', reason='malformed')
        mh.set_jobmode(self.fake, extract='invalid')
        self.assertOK(send(p, user, text))
        p.wait_metric('memproxy_memory_jobs_failed_total', lambda v: v > before, mh.WAIT,
                      kind='extract', reason='malformed')
        mh.set_jobmode(self.fake, extract='ok')
        got = mh.wait_for(lambda: self.user_jobs(user, 'failed', p), mh.WAIT, 'the failed job listed')
        return got[0]

    def extract_bodies(self, user=None):
        """The extraction calls the fake received (their request bodies)."""
        return [r.get('body') or '' for r in mh.job_requests(self.fake, 'extract')
                if user is None or mh.req_header(r, 'Authorization') == mh.auth_of(user)]

    def archived(self, user, p=None):
        r = mh.admin_memory(p or self.p, user)
        self.assertEqual(r.status, 200, r)
        return r.json()['archive']


class Listing(JobsCase):

    def test_held_and_failed_jobs_listed_with_their_fields(self):
        held_u, failed_u = mh.uid('jh'), mh.uid('jf')
        t0 = int(time.time() * 1000)
        held = self.held_job(held_u, 'My name is Hedda and I live in Bergen.')
        failed = self.failed_job(failed_u, 'My name is Fritz and I live in Graz.')
        t1 = int(time.time() * 1000)
        fields = {'id', 'user', 'tenant', 'kind', 'state', 'turns', 'held', 'failed', 'attempts',
                  'unusable_answers', 'seqs', 'created_at', 'updated_at', 'next_try_at', 'lease_until'}
        for job in (held, failed):
            self.assertEqual(set(job), fields, job)
            self.assertEqual(job['kind'], 'extract')
            self.assertEqual(job['turns'], 1)
            self.assertIsNone(job['tenant'])
            self.assertIsNone(job['lease_until'])
            self.assertTrue(t0 - 1000 <= iso_ms(job['created_at']) <= t1 + 1000, job)
        # held: why, and until when it may wait
        self.assertEqual(held['user'], held_u)
        self.assertEqual(held['state'], 'held')
        self.assertEqual(held['held']['reason'], 'no_credential')
        self.assertEqual(iso_ms(held['held']['expires_at']) - iso_ms(held['created_at']), 7 * DAY_MS)
        self.assertIsNone(held['failed'])
        self.assertEqual((held['attempts'], held['updated_at'], held['next_try_at']), (0, None, None))
        # failed: the error kind, the attempts, since when
        self.assertEqual(failed['user'], failed_u)
        self.assertEqual(failed['state'], 'failed')
        self.assertEqual(failed['failed'], {'reason': 'malformed'})
        self.assertIsNone(failed['held'])
        self.assertEqual((failed['attempts'], failed['unusable_answers']), (3, 3))
        self.assertLessEqual(iso_ms(failed['created_at']), iso_ms(failed['updated_at']))
        self.assertLessEqual(iso_ms(failed['updated_at']), t1 + 1000)
        self.assertIsNone(failed['next_try_at'])
        # the seqs are the turn's: its user message through its reply
        for job, user in ((held, held_u), (failed, failed_u)):
            seqs = [m['seq'] for m in self.archived(user)]
            self.assertEqual((job['seqs']['from'], job['seqs']['through']), (min(seqs), max(seqs)))
        # filters
        self.assertEqual([j['id'] for j in self.user_jobs(held_u, 'held')], [held['id']])
        self.assertEqual(self.user_jobs(held_u, 'failed'), [])
        self.assertEqual(self.user_jobs(held_u, 'pending'), [])
        self.assertEqual(self.user_jobs(held_u, 'leased'), [])
        self.assertEqual([j['id'] for j in self.user_jobs(failed_u, 'all')], [failed['id']])
        ids = [j['id'] for j in self.jobs()['jobs']]
        self.assertIn(held['id'], ids)
        self.assertIn(failed['id'], ids)
        self.assertEqual(ids, sorted(ids, reverse=True), 'newest first')
        self.assertEqual(self.jobs('tenant=' + '0' * 32)['jobs'], [], 'no job of that tenant')
        self.assertEqual(self.jobs('user=nobody-zqx')['jobs'], [])
        # never a word of the turns, nor a credential
        text = bytes(self.adm('GET', '/admin/jobs').body).decode()
        for secret in ('Hedda', 'Bergen', 'Fritz', 'Graz', 'sk-ant-zqx', 'Bearer'):
            self.assertNotIn(secret, text)

    def test_pages_follow_the_cursor_newest_first(self):
        user = mh.uid('jp')
        for i in range(5):
            self.anthropic_turn(user, 'Note number %d.' % i)
        mh.wait_for(lambda: len(self.user_jobs(user)) == 5, mh.WAIT, 'five held jobs')
        every = [j['id'] for j in self.user_jobs(user)]
        seen, cursor, pages = [], None, 0
        while True:
            q = 'user=%s&limit=2' % mh.qid(user) + ('&cursor=' + cursor if cursor else '')
            page = self.jobs(q)
            pages += 1
            self.assertLessEqual(len(page['jobs']), 2)
            seen += [j['id'] for j in page['jobs']]
            cursor = page['next_cursor']
            if cursor is None:
                break
            self.assertRegex(cursor, r'^[1-9][0-9]*$')
        self.assertEqual(pages, 3)
        self.assertEqual(seen, every)
        self.assertEqual(seen, sorted(seen, reverse=True))
        self.assertEqual(len(set(seen)), 5)
        # a page that ends exactly at the last job says so
        self.assertIsNone(self.jobs('user=%s&limit=5' % mh.qid(user))['next_cursor'])

    def test_bad_parameters_and_methods(self):
        cases = (('/admin/jobs?state=running', 'invalid_parameter', 'state'),
                 ('/admin/jobs?state=held&state=failed', 'invalid_parameter', 'query'),
                 ('/admin/jobs?limit=0', 'invalid_parameter', 'limit'),
                 ('/admin/jobs?limit=1001', 'invalid_parameter', 'limit'),
                 ('/admin/jobs?cursor=abc', 'invalid_parameter', 'cursor'),
                 ('/admin/jobs?cursor=0', 'invalid_parameter', 'cursor'),
                 ('/admin/jobs?cursor=a%2Bb', 'invalid_parameter', 'cursor'),
                 ('/admin/jobs?tenant=xyz', 'invalid_parameter', 'tenant'),
                 ('/admin/jobs?user=%zz', 'invalid_user_id', None),
                 ('/admin/jobs?user=%7B%7Bid%7D%7D', 'invalid_user_id', None))
        for path, code, name in cases:
            with self.subTest(path=path):
                r = self.adm('GET', path)
                self.assertOpenAIError(r, 400, code)
                if name is not None:
                    self.assertIn(name, r.json()['error']['message'])
        for method, path in (('DELETE', '/admin/jobs/0'), ('POST', '/admin/jobs/01/retry'),
                             ('DELETE', '/admin/jobs/x')):
            with self.subTest(path=path):
                r = self.adm(method, path)
                self.assertOpenAIError(r, 400, 'invalid_parameter')
                self.assertIn('{id}', r.json()['error']['message'])
        for method, path, allow in (('POST', '/admin/jobs', 'GET'), ('GET', '/admin/jobs/1', 'DELETE'),
                                    ('GET', '/admin/jobs/1/retry', 'POST')):
            with self.subTest(method=method, path=path):
                r = self.adm(method, path)
                self.assertOpenAIError(r, 405, 'method_not_allowed')
                self.assertEqual(r.header('allow'), allow)
        for method, path in (('DELETE', '/admin/jobs/999999'), ('POST', '/admin/jobs/999999/retry')):
            self.assertOpenAIError(self.adm(method, path), 404, 'not_found')
        self.assertOpenAIError(self.adm('GET', '/admin/jobs/'), 404, 'not_found')
        r = harness.request(self.p.admin_port, 'GET', '/admin/jobs', [('Authorization', 'Bearer nope')])
        self.assertOpenAIError(r, 401, 'invalid_admin_token')

    def test_a_running_job_is_leased_and_not_dropped(self):
        user = mh.uid('jr')
        mh.set_jobmode(self.fake, extract='slow')  # each answer after 2 s
        self.assertOK(send(self.p, user, 'My name is Rolf.'))
        job = mh.wait_for(lambda: self.user_jobs(user, 'leased'), mh.WAIT, 'the job running')[0]
        self.assertEqual(job['state'], 'leased')
        r = self.adm('DELETE', '/admin/jobs/%d' % job['id'])
        self.assertOpenAIError(r, 409, 'job_running')
        r = self.adm('POST', '/admin/jobs/%d/retry' % job['id'])
        self.assertOpenAIError(r, 409, 'job_not_failed')
        mh.wait_memory(self.p, user, lambda m: mh.entity_map(m) == {'name': 'Rolf'}, what='the fact')
        mh.wait_for(lambda: self.user_jobs(user) == [], mh.WAIT, 'the job done')


class Acting(JobsCase):

    def test_retry_runs_a_failed_job_again(self):
        user = mh.uid('jt')
        job = self.failed_job(user, 'My name is Tove.')
        calls = len(self.extract_bodies(user))
        self.assertEqual(calls, 3, 'one answer and two more tries')
        held_u = mh.uid('jth')
        held = self.held_job(held_u, 'My name is Harald.')
        # only a failed job runs again
        r = self.adm('POST', '/admin/jobs/%d/retry' % held['id'])
        self.assertOpenAIError(r, 409, 'job_not_failed')
        self.assertIn('held for a credential', r.json()['error']['message'])
        r = self.adm('POST', '/admin/jobs/%d/retry' % job['id'])
        self.assertEqual(r.status, 200, r)
        again = r.json()['job']
        self.assertEqual(again['id'], job['id'])
        self.assertIn(again['state'], ('pending', 'leased'))
        self.assertEqual((again['attempts'], again['failed'], again['updated_at']), (0, None, None))
        # the fake gets the turn once more; the fact is stored; the job is gone
        mh.wait_memory(self.p, user, lambda m: mh.entity_map(m) == {'name': 'Tove'}, what='the fact')
        bodies = self.extract_bodies(user)
        self.assertEqual(len(bodies), calls + 1)
        self.assertIn('Tove', bodies[-1])
        mh.wait_for(lambda: self.user_jobs(user) == [], mh.WAIT, 'the job done')
        self.assertEqual(self.jobs('state=failed&user=' + mh.qid(user))['jobs'], [])
        st = self.adm('GET', '/admin/status').json()
        self.assertEqual(st['queue']['failed_jobs'], 0)
        self.assertOpenAIError(self.adm('POST', '/admin/jobs/%d/retry' % job['id']), 404, 'not_found')
        rid = r.header('x-request-id')
        lines = [o for o in self.p.log_objects() if o.get('msg') == 'memory job run again']
        self.assertEqual([(o['actor'], o['request_id'], o['job']) for o in lines],
                         [('admin', rid, job['id'])])
        self.assertNotIn(user, json.dumps(lines))

    def test_delete_drops_a_held_job_its_words_stay(self):
        user = mh.uid('jd')
        held = self.held_job(user, 'My favourite colour is vermilion.')
        r = self.adm('DELETE', '/admin/jobs/%d' % held['id'])
        self.assertEqual(r.status, 200, r)
        dropped = r.json()['dropped']
        self.assertEqual((dropped['id'], dropped['state'], dropped['user']), (held['id'], 'held', user))
        self.assertEqual(self.user_jobs(user), [])
        self.p.wait_metric('memproxy_memory_jobs_held', lambda v: v == 0, mh.WAIT, reason='no_credential')
        self.assertOpenAIError(self.adm('DELETE', '/admin/jobs/%d' % held['id']), 404, 'not_found')
        # the user's credential comes: the new turn is extracted, the dropped one never
        self.assertOK(send(self.p, user, 'I live in Tromso.'))
        mh.wait_memory(self.p, user, lambda m: mh.entity_map(m).get('city') == 'Tromso', what='the new fact')
        mh.wait_idle(self.p)
        bodies = self.extract_bodies(user)
        self.assertTrue(bodies)
        self.assertFalse([b for b in bodies if 'vermilion' in b], 'the dropped job reached the memory model')
        self.assertNotIn('favourite_colour', mh.entity_map(mh.get_memory(self.p, user)))
        # its words stay recorded
        self.assertIn('My favourite colour is vermilion.', [m['content'] for m in self.archived(user)])
        rid = r.header('x-request-id')
        lines = [o for o in self.p.log_objects() if o.get('msg') == 'memory job dropped']
        self.assertEqual([(o['actor'], o['request_id'], o['job'], o['state']) for o in lines],
                         [('admin', rid, held['id'], 'held')])
        self.assertNotIn(user, json.dumps(lines))
        audit = [o for o in self.p.log_objects() if o.get('request_id') == rid and o.get('msg') == 'admin request']
        self.assertEqual([(o['method'], o['route'], o['status']) for o in audit],
                         [('DELETE', '/admin/jobs/{id}', 200)])

    def test_delete_drops_a_failed_job_no_rerun_sends_it(self):
        user = mh.uid('jx')
        job = self.failed_job(user, 'My name is Xaver.')
        calls = len(self.extract_bodies(user))
        r = self.adm('DELETE', '/admin/jobs/%d' % job['id'])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['dropped']['failed'], {'reason': 'malformed'})
        st = self.adm('GET', '/admin/status').json()
        self.assertEqual(st['queue']['failed_jobs'], 0)
        self.assertEqual(self.adm('POST', '/admin/extract').status, 200)
        time.sleep(1.2)  # a scheduling pass
        self.assertEqual(len(self.extract_bodies(user)), calls, 'a dropped job ran again')
        self.assertEqual(mh.get_memory(self.p, user)['entities'], [])


class Batches(JobsCase):
    """A batch of two turns that failed in one call is one job: listed once,
    run again and dropped whole."""

    def setUp(self):
        ConvCase.setUp(self)
        # a user's two turns go to the memory model in one call, and only then
        self.p = self.jobs_proxy(extract_batch_turns=2, extract_idle_seconds=3600)

    def failed_batch(self, user, texts):
        before = self.p.metric('memproxy_memory_jobs_failed_total', kind='extract', reason='malformed')
        mh.set_jobmode(self.fake, extract='invalid')
        for text in texts:
            self.assertOK(send(self.p, user, text))
        self.p.wait_metric('memproxy_memory_jobs_failed_total', lambda v: v >= before + len(texts), mh.WAIT,
                           kind='extract', reason='malformed')
        mh.set_jobmode(self.fake, extract='ok')
        return mh.wait_for(lambda: self.user_jobs(user, 'failed'), mh.WAIT, 'the failed batch listed')

    def test_a_failed_batch_is_one_job_and_runs_again_whole(self):
        user = mh.uid('jb')
        jobs = self.failed_batch(user, ['My name is Britt.', 'I live in Narvik.'])
        self.assertEqual(len(jobs), 1, jobs)
        job = jobs[0]
        self.assertEqual((job['turns'], job['state'], job['failed']), (2, 'failed', {'reason': 'malformed'}))
        seqs = [m['seq'] for m in self.archived(user)]
        self.assertEqual((job['seqs']['from'], job['seqs']['through']), (min(seqs), max(seqs)))
        self.assertEqual([j['id'] for j in self.user_jobs(user)], [job['id']])
        calls = len(self.extract_bodies(user))
        self.assertEqual(calls, 3, 'one call for both turns, and two more tries')
        self.assertTrue(all('Britt' in b and 'Narvik' in b for b in self.extract_bodies(user)))
        r = self.adm('POST', '/admin/jobs/%d/retry' % job['id'])
        self.assertEqual(r.status, 200, r)
        again = r.json()['job']
        self.assertEqual((again['id'], again['turns'], again['failed']), (job['id'], 2, None))
        # one more call holding both turns; both facts; no job left
        mh.wait_memory(self.p, user, lambda m: mh.entity_map(m) == {'name': 'Britt', 'city': 'Narvik'},
                       what='both facts')
        bodies = self.extract_bodies(user)
        self.assertEqual(len(bodies), calls + 1)
        self.assertTrue('Britt' in bodies[-1] and 'Narvik' in bodies[-1], bodies[-1])
        mh.wait_for(lambda: self.user_jobs(user) == [], mh.WAIT, 'the batch done')
        self.assertEqual(self.adm('GET', '/admin/status').json()['queue']['failed_jobs'], 0)

    def ctl(self, *args):
        from test_ctl import run_ctl
        return run_ctl(['--admin', 'http://127.0.0.1:%d' % self.p.admin_port] + list(args),
                       env={'MEMPROXY_ADMIN_TOKEN': mh.ADMIN_TOKEN})

    def test_ctl_jobs_lists_retries_and_drops(self):
        a, b = mh.uid('jca'), mh.uid('jcb')
        job = self.failed_batch(a, ['My name is Sigrid.', 'I live in Alta.'])[0]
        # list: one row for the batch, its two turns
        r = self.ctl('jobs', 'list', '--user', a)
        self.assertEqual(r.rc, 0, r)
        lines = r.out.splitlines()
        self.assertEqual(lines[0].split(), ['ID', 'USER', 'TENANT', 'KIND', 'STATE', 'WHY', 'ATTEMPTS', 'CREATED',
                                            '(UTC)', 'TURNS'], r)
        self.assertEqual(len(lines), 3, r)
        cells = lines[1].split()
        self.assertEqual(cells[:7] + cells[-1:], [str(job['id']), a, '-', 'extract', 'failed', 'malformed', '3', '2'])
        self.assertEqual(lines[2], '1 job')
        doc = self.ctl('jobs', 'list', '--state', 'failed', '--user', a, '--json').json()
        self.assertEqual(([j['id'] for j in doc['jobs']], doc['jobs'][0]['turns'], doc['next_cursor']),
                         ([job['id']], 2, None))
        # every page: a limit of 1 a page still lists every job
        job_b = self.failed_batch(b, ['My name is Dag.', 'I live in Bodo.'])[0]
        doc = self.ctl('jobs', 'list', '--state', 'failed', '--limit', '1', '--json').json()
        ids = [j['id'] for j in doc['jobs']]
        self.assertIn(job['id'], ids)
        self.assertIn(job_b['id'], ids)
        # retry: the whole batch runs again
        calls = len(self.extract_bodies(a))
        r = self.ctl('jobs', 'retry', str(job['id']))
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r'^job %d \(2 turns\) runs again: (pending|leased)\n$' % job['id'])
        mh.wait_memory(self.p, a, lambda m: mh.entity_map(m) == {'name': 'Sigrid', 'city': 'Alta'},
                       what='both facts')
        self.assertEqual(len(self.extract_bodies(a)), calls + 1)
        # drop: the other batch, both turns, words kept
        r = self.ctl('jobs', 'drop', str(job_b['id']))
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, 'dropped job %d (2 turns), which was failed: its turns stay recorded and never '
                                'reach the memory model\n' % job_b['id'])
        self.assertEqual(self.user_jobs(b), [])
        self.assertEqual(len(self.archived(b)), 4)
        mh.wait_for(lambda: self.user_jobs(a) == [], mh.WAIT, 'the retried batch done')
        r = self.ctl('jobs', 'list', '--user', b)
        self.assertEqual((r.rc, r.out), (0, '0 jobs\n'), r)
        # errors: no such job (4), a job not failed (5), usage (1)
        r = self.ctl('jobs', 'retry', str(job_b['id']))
        self.assertEqual(r.rc, 4, r)
        self.assertEqual(r.err, 'memproxy ctl: job %d: No memory job has this id (it was done, dropped, or went '
                                'with its user). (404 not_found)\n' % job_b['id'])
        held = self.held_job(mh.uid('jch'), 'My name is Ivar.')
        r = self.ctl('jobs', 'retry', str(held['id']))
        self.assertEqual(r.rc, 5, r)
        self.assertIn('409 job_not_failed', r.err)
        for args in (('jobs', 'retry', 'abc'), ('jobs', 'drop', '0'), ('jobs', 'retry'),
                     ('jobs', 'list', '--state', 'running'), ('jobs', 'list', '--limit', '0'),
                     ('jobs', 'list', '--tenant', 'xyz')):
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual((r.rc, r.out), (1, ''), r)
                self.assertTrue(r.err.startswith('memproxy ctl'), r)

    def test_dropping_a_failed_batch_drops_both_turns(self):
        user = mh.uid('jbd')
        job = self.failed_batch(user, ['My name is Dag.', 'I live in Bodo.'])[0]
        r = self.adm('DELETE', '/admin/jobs/%d' % job['id'])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['dropped']['turns'], 2)
        self.assertEqual(self.user_jobs(user), [])
        self.assertEqual(self.adm('GET', '/admin/status').json()['queue']['failed_jobs'], 0)
        # the words stay recorded
        self.assertEqual(len(self.archived(user)), 4)


if BACKEND == 'postgres':  # one store for two proxies
    class AcrossProxies(JobsCase):
        """On PostgreSQL the job table is every proxy's: one lists and acts on
        another's jobs."""

        def test_another_proxy_lists_and_reruns_the_jobs(self):
            other = self.jobs_proxy()
            held_u, failed_u = mh.uid('jah'), mh.uid('jaf')
            held = self.held_job(held_u, 'My name is Ada.')
            failed = self.failed_job(failed_u, 'My name is Bo.')
            got = mh.wait_for(lambda: {j['id']: j['state'] for j in self.jobs(p=other)['jobs']
                                       if j['id'] in (held['id'], failed['id'])}
                              if len(self.jobs(p=other)['jobs']) >= 2 else None, mh.WAIT, 'both listed')
            self.assertEqual(got, {held['id']: 'held', failed['id']: 'failed'})
            r = self.adm('POST', '/admin/jobs/%d/retry' % failed['id'], other)
            self.assertEqual(r.status, 200, r)
            mh.wait_memory(self.p, failed_u, lambda m: mh.entity_map(m) == {'name': 'Bo'}, what='the fact')
            r = self.adm('DELETE', '/admin/jobs/%d' % held['id'], other)
            self.assertEqual(r.status, 200, r)
            mh.wait_for(lambda: self.user_jobs(held_u) == [], mh.WAIT, 'gone for the first proxy too')


if __name__ == '__main__':
    harness.main('proxy_admin_jobs')
