"""memproxy ctl, the ops command line (docs/ctl.md), run as a real process
against a real memproxy and the fake upstream: status and reload (through
the admin API's GET /admin/status and POST /admin/reload, and SIGHUP by
pid), users list/show/forget/export/import/settings, compact, config check,
where the URL and the token come from, --json, and the errors with their
exit codes (unreachable, refused token, disabled admin API, not found,
usage)."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, send  # noqa: E402

TOKEN = 'zqxsecret-ctl-4e5d6c7b8a9f0e1d2c3b4a59'  # scan_logs.py looks for zqxsecret
ISO = r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$'
STATUS_KEYS = {'version', 'commit', 'mode', 'retrieval', 'uptime_seconds', 'started_at', 'ready', 'held_jobs',
               'not_ready', 'degraded', 'workers', 'queue', 'store', 'connections', 'embeddings'}
STORE_KEYS = {'backend', 'used_bytes', 'map_bytes', 'map_max_bytes', 'readers', 'readers_max'}
INVALID_CONFIG = ('memproxy ctl: memproxy answered 422 invalid_config: The configuration is not '
                  'valid; the running configuration is kept (the errors are in memproxy\'s log).\n')
DISABLED = 'memproxy ctl: the admin API is disabled: [admin] token is not set on the server\n'
REFUSED = 'memproxy ctl: the admin token was refused (401 invalid_admin_token)\n'


class Run:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return 'ctl exit %r\n--- stdout:\n%s\n--- stderr:\n%s' % (self.rc, self.out[-3000:], self.err[-3000:])

    def json(self):
        return json.loads(self.out)

    def lines(self):
        return [json.loads(x) for x in self.out.splitlines()]


def run_ctl(args, env=None, stdin=None, timeout=120):
    """memproxy ctl ARGS as a process: its exit status and outputs. The
    environment has no MEMPROXY_* variable but those of env."""
    proc = subprocess.run([harness.MEMPROXY_BIN, 'ctl'] + list(args), input=stdin if stdin is not None else b'',
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=harness.child_env(env),
                          timeout=timeout)
    out, err = proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')
    harness.keep_log('ctl', proc.stderr + proc.stdout)
    rep = harness._sanitizer_report(err)
    if rep:
        raise AssertionError('memproxy ctl %r: sanitizer report:\n%s' % (args, rep))
    if TOKEN in out or TOKEN in err:
        raise AssertionError('memproxy ctl %r printed the admin token' % (args,))
    return Run(proc.returncode, out, err)


def token_file(directory, token):
    path = os.path.join(directory, 'token')
    with open(path, 'w') as f:
        f.write(token + '\n')
    return path


def columns(line):
    """The cells of a line of aligned columns (two blanks or more apart)."""
    return re.split(r'\s{2,}', line.strip())


def human_time(iso):
    return iso[:10] + ' ' + iso[11:19]


class CtlCase(mh.MemCase):
    """One memproxy with an admin token; ctl reaches it with --admin and
    reads the token from its configuration file (-c)."""

    PROXY_CONFIG = {'workers': 2, 'sections': {'admin': {'token': TOKEN}},
                    'memory': {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 2,
                               'summary_model': 'sum-model-c', 'extraction_model': 'ext-model-c',
                               'import_max_facts': 100000}}

    def url(self, proxy=None):
        return 'http://127.0.0.1:%d' % (proxy or self.proxy).admin_port

    def ctl(self, *args, proxy=None, stdin=None, env=None):
        p = proxy or self.proxy
        return run_ctl(['--admin', self.url(p), '-c', p.config_path] + list(args), env=env, stdin=stdin)

    def ok(self, *args, **kw):
        r = self.ctl(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        return r

    def admin(self, method, path, body=b'', ctype=None, proxy=None):
        h = [('Authorization', 'Bearer ' + TOKEN)]
        if ctype:
            h.append(('Content-Type', ctype))
        return harness.request((proxy or self.proxy).admin_port, method, path, h, body)

    def memory(self, user):
        return self.admin('GET', '/admin/users/%s/memory' % mh.qid(user))

    def taught(self, prefix, text='My name is Gus. I live in Graz.'):
        """A user whose memory holds two facts, a summary and a buffered
        message; returns (user, memproxy's id of the teaching turn)."""
        user = mh.uid(prefix)
        s = send(self.proxy, user, text, model='chat-model-c')
        self.assertOK(s)

        def done():
            r = self.memory(user)
            if r.status != 200:
                return False
            m = r.json()
            return len(m['entities']) == 2 and m['summary']['text'] is not None and len(m['buffer']) == 1
        mh.wait_for(done, what='facts, summary and buffer of %s' % user)
        mh.wait_idle(self.proxy)
        up = s.header('x-request-id')
        line = self.proxy.wait_log(lambda o: o.get('msg') == 'request' and o.get('upstream_request_id') == up, 5)
        self.assertIsNotNone(line)
        return user, line['request_id']


class Status(CtlCase):
    def test_status_for_people(self):
        r = self.ok('status')
        self.assertEqual(r.err, '')
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r'^memproxy %s \(commit [0-9a-f]{12}|unknown\)$' % re.escape(harness.VERSION))
        rows = dict(columns(x) for x in lines[1:])
        self.assertEqual(list(rows), ['ready', 'degraded', 'mode', 'uptime', 'workers', 'queue', 'store'])
        self.assertEqual(rows['ready'], 'yes')
        self.assertEqual(rows['degraded'], 'no')
        self.assertEqual(rows['mode'], 'hybrid (retrieval relevant)')
        self.assertRegex(rows['uptime'], r'^\d+(s|m \d\ds|h \d\dm), since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$')
        self.assertEqual(rows['workers'], '2')
        self.assertRegex(rows['queue'], r'^\d+ of 10000$')
        self.assertRegex(rows['store'], r'^lmdb, \d+\.\d [KMG]iB in use, map 1\.0 GiB \(up to \d+\.\d [GT]iB\), '
                                        r'readers \d+ of \d+$')

    def test_status_json_has_every_field(self):
        doc = self.ok('status', '--json').json()
        self.assertEqual(set(doc), STATUS_KEYS)
        self.assertEqual(doc['version'], harness.VERSION)
        self.assertRegex(doc['commit'], r'^([0-9a-f]{12}|unknown)$')
        self.assertEqual((doc['mode'], doc['retrieval'], doc['workers']), ('hybrid', 'relevant', 2))
        self.assertEqual((doc['ready'], doc['not_ready'], doc['degraded']), (True, None, None))
        self.assertRegex(doc['started_at'], ISO)
        self.assertIsInstance(doc['uptime_seconds'], int)
        self.assertGreaterEqual(doc['uptime_seconds'], 0)
        self.assertEqual(set(doc['queue']), {'depth', 'max', 'failed_jobs'})
        self.assertEqual(doc['embeddings'], {'enabled': False, 'pending': None, 'vectors': 0,
                                             'vector_bytes': 0})
        self.assertEqual(doc['queue']['max'], 10000)
        self.assertEqual(set(doc['store']), STORE_KEYS)
        self.assertEqual(doc['store']['backend'], 'lmdb')
        self.assertEqual(doc['store']['map_bytes'], 1024 * 1024 * 1024)
        metrics = self.proxy.metrics()
        self.assertEqual(doc['store']['map_max_bytes'],
                         harness.metric_sum(metrics, 'memproxy_storage_map_max_bytes'))
        self.assertEqual(doc['store']['readers_max'], harness.metric_sum(metrics, 'memproxy_storage_readers_max'))
        self.assertGreater(doc['store']['used_bytes'], 0)

    def test_status_route_on_the_admin_api(self):
        r = self.admin('GET', '/admin/status')
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header('content-type') or '').startswith('application/json'))
        self.assertEqual(r.header('cache-control'), 'no-store')
        self.assertEqual(set(r.json()), STATUS_KEYS)
        rid = r.header('x-request-id')
        line = self.proxy.wait_log(lambda o: o.get('msg') == 'admin request' and o.get('request_id') == rid, 5)
        self.assertEqual((line['route'], line['method'], line['status']), ('/admin/status', 'GET', 200))
        # authorized before the route, like every admin route
        r = harness.request(self.proxy.admin_port, 'GET', '/admin/status', [])
        self.assertOpenAIError(r, 401, 'invalid_admin_token')
        r = harness.request(self.proxy.admin_port, 'POST', '/admin/reload', [('Authorization', 'Bearer nope')])
        self.assertOpenAIError(r, 401, 'invalid_admin_token')
        r = self.admin('POST', '/admin/status')
        self.assertOpenAIError(r, 405, 'method_not_allowed')
        self.assertEqual(r.header('allow'), 'GET')
        r = self.admin('GET', '/admin/reload')
        self.assertOpenAIError(r, 405, 'method_not_allowed')
        self.assertEqual(r.header('allow'), 'POST')


class Reload(CtlCase):
    def test_reload_applies_an_edit_and_keeps_the_old_on_a_broken_one(self):
        p = self.start_proxy(workers=1, memory={'mode': 'hybrid'}, sections={'admin': {'token': TOKEN}})
        self.assertEqual(self.ok('status', '--json', proxy=p).json()['mode'], 'hybrid')
        p.sections['memory'].update({'mode': 'entity', 'retrieval': 'recent'})
        p.write_config()
        before = p.metric('memproxy_config_reloads_total', result='ok')
        r = self.ok('reload', proxy=p)
        self.assertEqual(r.out, 'configuration reloaded: the new values are in force\n')
        # synchronous: the new values are in force when ctl returns
        self.assertEqual(p.metric('memproxy_config_reloads_total', result='ok'), before + 1)
        doc = self.ok('status', '--json', proxy=p).json()
        self.assertEqual((doc['mode'], doc['retrieval']), ('entity', 'recent'))
        rows = dict(columns(x) for x in self.ok('status', proxy=p).out.splitlines()[1:])
        self.assertEqual(rows['mode'], 'entity (retrieval recent)')
        self.assertEqual(self.ok('reload', '--json', proxy=p).json(), {'result': 'applied'})

        # a broken edit: 422, exit 5, the running configuration kept, the error logged with its line
        p.sections['memory'].update({'mode': 'summary', 'summary_max_words': 'lots'})
        p.write_config()
        with open(p.config_path) as f:
            bad_line = [i + 1 for i, x in enumerate(f.read().splitlines()) if x.startswith('summary_max_words')][0]
        # ctl reading the same file stops before asking (exit 1, the errors as config check prints them)
        r = self.ctl('reload', proxy=p)
        self.assertEqual((r.rc, r.out), (1, ''), r)
        self.assertIn('%s:%d: [memory] summary_max_words' % (p.config_path, bad_line), r.err)
        # with the token from elsewhere, memproxy itself refuses it
        nlog = p.log_count()
        err_before = p.metric('memproxy_config_reloads_total', result='error')
        r = run_ctl(['--admin', self.url(p), 'reload'], env={'MEMPROXY_ADMIN_TOKEN': TOKEN})
        self.assertEqual((r.rc, r.out, r.err), (5, '', INVALID_CONFIG), r)
        self.assertEqual(p.metric('memproxy_config_reloads_total', result='error'), err_before + 1)
        line = p.wait_log(lambda o: o.get('msg') == 'configuration error', 5, start=nlog)
        self.assertIsNotNone(line)
        self.assertEqual((line['source'], line['line']), (p.config_path, bad_line))
        r = run_ctl(['--admin', self.url(p), 'status', '--json'], env={'MEMPROXY_ADMIN_TOKEN': TOKEN})
        self.assertEqual((r.json()['mode'], r.json()['retrieval']), ('entity', 'recent'))
        r = self.admin('POST', '/admin/reload', proxy=p)
        self.assertOpenAIError(r, 422, 'invalid_config')
        self.assertNotIn('lots', bytes(r.body).decode())

    def test_reload_by_pid_sends_sighup(self):
        p = self.start_proxy(workers=1, memory={'mode': 'hybrid'}, sections={'admin': {'token': TOKEN}})
        p.sections['memory']['mode'] = 'buffer'
        p.write_config()
        before = p.metric('memproxy_config_reloads_total', result='ok')
        r = run_ctl(['reload', '--pid', str(p.pid)])  # needs neither the admin API nor a token
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out, 'sent SIGHUP to process %d: memproxy reloads its configuration (the outcome '
                                'is in its log and in memproxy_config_reloads_total)\n' % p.pid)
        p.wait_metric('memproxy_config_reloads_total', lambda v: v > before, 10, result='ok')
        self.assertEqual(self.ok('status', '--json', proxy=p).json()['mode'], 'buffer')
        r = run_ctl(['reload', '--pid', str(p.pid), '--json'])
        self.assertEqual((r.rc, r.json()), (0, {'signal': 'SIGHUP', 'pid': p.pid}), r)
        r = run_ctl(['reload', '--pid', '2147483646'])
        self.assertEqual(r.rc, 4, r)
        self.assertEqual(r.err, 'memproxy ctl: cannot signal process 2147483646: No such process\n')
        for bad in ('0', '-5', 'abc', '99999999999'):
            r = run_ctl(['reload', '--pid', bad])
            self.assertEqual(r.rc, 1, r)

    def test_reload_by_pid_signals_only_memproxy(self):
        # a process that is not memproxy is refused (exit 3) and left alone
        sleeper = subprocess.Popen(['sleep', '100'])
        self.addCleanup(sleeper.wait)
        self.addCleanup(sleeper.kill)
        for args in (['reload', '--pid', str(sleeper.pid)], ['reload', '--pid', str(sleeper.pid), '--json']):
            r = run_ctl(args)
            self.assertEqual((r.rc, r.out), (3, ''), r)
            self.assertRegex(r.err, r'^memproxy ctl reload: process %d is not memproxy \(it runs \S*/sleep\): '
                                    r'not signalled\n$' % sleeper.pid)
        self.assertIsNone(sleeper.poll(), 'the process was signalled')
        # a process whose executable cannot be read (the kernel's own, pid 2): refused too
        if os.path.exists('/proc/2') and not os.path.exists('/proc/2/exe'):
            r = run_ctl(['reload', '--pid', '2'])
            self.assertEqual(r.rc, 3, r)
            self.assertIn('cannot tell whether process 2 is memproxy', r.err)


class Users(CtlCase):
    def test_list_shows_taught_users_across_pages(self):
        u1, _ = self.taught('lst')
        u2, _ = self.taught('lst')
        r = self.ok('users', 'list')
        lines = r.out.splitlines()
        self.assertEqual(columns(lines[0]), ['USER', 'TENANT', 'FACTS', 'MESSAGES', 'ARCHIVED', 'SUMMARY',
                                             'UPDATED (UTC)'])
        rows = {columns(x)[0]: columns(x) for x in lines[1:-1]}
        for u in (u1, u2):
            self.assertEqual(rows[u][1:6], ['-', '2', '1', '2', 'yes'], rows[u])
            self.assertRegex(rows[u][6], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
        self.assertEqual(lines[-1], '%d users' % (len(lines) - 2))
        # pages of one user each: every page is followed
        paged = self.ok('users', 'list', '--limit', '1', '--json').json()
        self.assertEqual(set(paged), {'users', 'next_cursor'})
        self.assertIsNone(paged['next_cursor'])
        names = [x['user'] for x in paged['users']]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(len(names), len(lines) - 2)
        self.assertTrue({u1, u2} <= set(names))
        self.assertEqual(self.admin('GET', '/admin/users?limit=1000').json()['users'], paged['users'])

    def test_show_prints_facts_with_provenance(self):
        user, rid = self.taught('shw')
        mem = self.memory(user).json()
        r = self.ok('users', 'show', user)
        self.assertEqual(r.err, '')
        out = r.out.splitlines()
        self.assertEqual(out[0], 'user ' + user)
        head = out.index('Facts (2)')
        self.assertEqual(columns(out[head + 1]), ['KEY', 'VALUE', 'CONFIDENCE', 'TRUST', 'FROM', 'MODEL', 'SOURCE',
                                                  'OBSERVED (UTC)', 'PII'])
        facts = {columns(x)[0]: columns(x) for x in out[head + 2:head + 4]}
        city = [e for e in mem['entities'] if e['key'] == 'city'][0]
        self.assertEqual(facts['city'], ['city', 'Graz', '0.90', 'stated', 'user', 'ext-model-c', rid,
                                         human_time(city['observed_at']), 'no'])
        self.assertEqual(facts['name'][:7], ['name', 'Gus', '0.90', 'stated', 'user', 'ext-model-c', rid])
        s = out.index([x for x in out if x.startswith('Summary')][0])
        # hybrid: the extraction call folds the summary (issue 33), so its model wrote it
        self.assertEqual(out[s], 'Summary (updated %s UTC, model ext-model-c, source %s)'
                         % (human_time(mem['summary']['updated_at']), rid))
        self.assertIn('My name is Gus', out[s + 1])
        b = out.index('Recent messages (1)')
        self.assertEqual(columns(out[b + 2]), [human_time(mem['buffer'][0]['at']), 'assistant', rid, REPLY])
        a = out.index('Archive, oldest first (2)')
        self.assertEqual(columns(out[a + 2])[1:], ['user', rid, 'My name is Gus. I live in Graz.'])
        self.assertEqual(columns(out[a + 3])[1:], ['assistant', rid, REPLY])
        doc = self.ok('users', 'show', user, '--json').json()
        self.assertEqual(doc['entities'], mem['entities'])
        self.assertEqual(doc['archive'], mem['archive'])
        self.assertEqual(self.ok('users', 'show', user, '--archive', '1', '--json').json()['archive'],
                         mem['archive'][:1])
        self.assertIn('(more archived messages follow', self.ok('users', 'show', user, '--archive', '1').out)

    def test_show_export_and_forget_follow_the_pages(self):
        # 2,500 facts: three pages of the memory's facts, several of the
        # export; show prints them all, export writes them all, forget
        # counts them all.
        user = mh.uid('many')
        body = ''.join(json.dumps({'type': 'fact', 'key': 'key_%04d' % i, 'value': 'v%d' % i,
                                   'at': '2024-01-01T00:00:00Z'}) + '\n' for i in range(2500))
        r = self.admin('POST', '/admin/users/%s/import' % mh.qid(user), body.encode(), 'application/x-ndjson')
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(self.memory(user).json()['entities_next_cursor'])
        doc = self.ok('users', 'show', user, '--json').json()
        self.assertEqual(sorted(e['key'] for e in doc['entities']), ['key_%04d' % i for i in range(2500)])
        out = self.ok('users', 'show', user).out
        self.assertIn('Facts (2500)', out)
        self.assertIn('key_2499', out)
        lines = [json.loads(x) for x in self.ok('users', 'export', user).out.splitlines()]
        self.assertEqual(sorted(x['key'] for x in lines if x['type'] == 'fact'),
                         ['key_%04d' % i for i in range(2500)])
        self.assertEqual(self.ok('users', 'forget', user, '--json').json()['facts'], 2500)

    def test_unknown_user_is_not_found(self):
        ghost = mh.uid('ghost')
        for args in (('users', 'show', ghost), ('users', 'export', ghost)):
            r = self.ctl(*args)
            self.assertEqual((r.rc, r.out), (4, ''), r)
            self.assertEqual(r.err, "memproxy ctl: user '%s': Nothing is stored for this user. (404 not_found)\n"
                             % ghost)

    def test_export_forget_import_round_trip(self):
        user, _ = self.taught('rnd')
        before = self.memory(user).json()
        r = self.ok('users', 'export', user)
        lines = r.lines()
        self.assertEqual(r.err, 'memproxy ctl: exported %d lines of 1 user\n' % len(lines))
        self.assertEqual({x['user'] for x in lines}, {user})
        self.assertEqual(sorted(x['value'] for x in lines if x['type'] == 'fact'), ['Graz', 'Gus'])
        self.assertEqual(r.out.encode(), bytes(self.admin('GET', '/admin/users/%s/export' % mh.qid(user)).body))

        r = self.ok('users', 'forget', user)
        self.assertEqual(r.out, "forgot user '%s': erased 2 facts, the summary, every message, the history and "
                                "pending work (memproxy ctl compact scrubs the freed pages from the store's "
                                "files)\n" % user)
        r = self.ctl('users', 'show', user)
        self.assertEqual(r.rc, 4, r)
        self.assertEqual(self.memory(user).status, 404)
        r = self.ok('users', 'forget', user, '--json')
        self.assertEqual(r.json(), {'user': user, 'tenant': None, 'forgotten': True, 'had_memory': False,
                                    'facts': 0})

        n_msgs = sum(1 for x in lines if x['type'] == 'message')
        skipped = sum(1 for x in lines if x['type'] in ('summary', 'history'))
        r = self.ok('users', 'import', user, stdin=r_bytes(lines))
        self.assertEqual(r.out, "imported %d messages, 2 facts and 0 settings into user '%s' (%d lines skipped)\n"
                                "  skipped: %d export_line\n" % (n_msgs, user, skipped, skipped))
        # the same export again adds nothing (ids derived from what each line is)
        r = self.ok('users', 'import', user, stdin=r_bytes(lines))
        self.assertTrue(r.out.startswith("imported 0 messages, 0 facts"), r)
        after = self.memory(user).json()
        self.assertEqual(mh.entity_map(after), {'name': 'Gus', 'city': 'Graz'})
        self.assertEqual([(m['role'], m['content']) for m in after['archive']],
                         [(m['role'], m['content']) for m in before['archive']])
        shown = self.ok('users', 'show', user).out
        self.assertRegex(shown, r'\n  city +Graz +0\.90 +stated ')

    def test_export_all_covers_every_user_and_imports_back(self):
        u1, _ = self.taught('all')
        u2, _ = self.taught('all', text='My name is Ada. I live in Oslo.')
        listed = {x['user'] for x in self.ok('users', 'list', '--json').json()['users']}
        r = self.ok('users', 'export', '--all')
        lines = r.lines()
        self.assertTrue(all('user' in x and 'tenant' in x for x in lines))
        self.assertEqual({x['user'] for x in lines}, listed)
        self.assertRegex(r.err, r'^memproxy ctl: exported %d lines of %d users\n$' % (len(lines), len(listed)))
        for u, city in ((u1, 'Graz'), (u2, 'Oslo')):
            mine = [x for x in lines if x['user'] == u]
            one = self.ok('users', 'export', u).lines()
            self.assertEqual(mine, one)
            self.assertIn(city, [x.get('value') for x in mine if x['type'] == 'fact'])
        ours = [x for x in lines if x['user'] in (u1, u2)]
        for u in (u1, u2):
            self.ok('users', 'forget', u)
        r = self.ok('users', 'import', '--all', stdin=r_bytes(ours))
        self.assertIn("into user '%s'" % u1, r.out)
        self.assertIn("into user '%s'" % u2, r.out)
        self.assertTrue(r.out.endswith('2 users imported\n'), r)
        self.assertEqual(mh.entity_map(self.memory(u1).json())['city'], 'Graz')
        self.assertEqual(mh.entity_map(self.memory(u2).json())['city'], 'Oslo')
        # --json: the server's counts, per user
        for u in (u1, u2):
            self.ok('users', 'forget', u)
        doc = self.ok('users', 'import', '--all', '--json', stdin=r_bytes(ours)).json()
        self.assertEqual(sorted(x['user'] for x in doc['users']), sorted([u1, u2]))  # the store's order
        self.assertEqual(doc['facts'], 4)
        # a line that names no user
        r = self.ctl('users', 'import', '--all', stdin=b'{"type":"fact","key":"k","value":"v"}\n')
        self.assertEqual(r.rc, 1, r)
        self.assertIn('line 1 is not a JSON object with a "user"', r.err)

    def test_ids_are_percent_encoded(self):
        user = mh.uid('enc') + '/\u00fc x+%?#&.'
        body = json.dumps({'type': 'fact', 'key': 'pet', 'value': 'Rex', 'at': '2024-01-02T03:04:05Z'}) + '\n'
        r = self.ok('users', 'import', user, stdin=body.encode())
        self.assertEqual(r.out, "imported 0 messages, 1 fact and 0 settings into user '%s' (0 lines skipped)\n"
                         % user)
        self.assertEqual(mh.entity_map(self.memory(user).json()), {'pet': 'Rex'})
        self.assertEqual(self.ok('users', 'show', user, '--json').json()['user'], user)
        for odd in ('.', '..'):
            self.ok('users', 'import', odd, stdin=body.encode())
            self.assertEqual(self.ok('users', 'show', odd, '--json').json()['user'], odd)
            self.ok('users', 'forget', odd)

    def test_settings_show_and_set(self):
        user = mh.uid('set')
        r = self.ok('users', 'settings', user)
        self.assertEqual(r.out, "user '%s': memory mode auto (the default)\n" % user)
        r = self.ok('users', 'settings', user, 'off')
        self.assertRegex(r.out, r"^user '%s': memory mode set to off, since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$"
                         % re.escape(user))
        doc = self.ok('users', 'settings', user, '--json').json()
        self.assertEqual((doc['user'], doc['mode']), (user, 'off'))
        self.assertEqual(self.admin('GET', '/admin/users/%s/settings' % user).json()['mode'], 'off')
        self.assertEqual(self.ok('users', 'settings', user, 'auto', '--json').json()['mode'], 'auto')
        r = self.ctl('users', 'settings', user, 'sometimes')
        self.assertEqual((r.rc, r.err), (1, 'memproxy ctl users settings: the mode is off, read or auto\n'), r)

    def test_search_text_and_json(self):
        user = mh.uid('srch')
        lines = (b'{"type":"fact","key":"notes_app","value":"Obsidian for notes","at":"2024-03-01T10:00:00Z"}\n'
                 b'{"type":"fact","key":"city","value":"Graz","at":"2024-03-01T10:00:00Z"}\n'
                 b'{"type":"message","role":"user","content":"I moved my notes to Obsidian.",'
                 b'"at":"2024-01-02T10:00:00Z"}\n')
        self.ok('users', 'import', user, stdin=lines)
        r = self.ok('users', 'search', user, 'Where do I keep my notes?')
        out = r.out.splitlines()
        self.assertEqual(out[1], 'Results, best first (3)', r.out)
        self.assertEqual(out[2].split(), ['SCORE', 'ID', 'KIND', 'TIME', '(UTC)', 'TEXT'])
        self.assertRegex(out[3], r'^  \d+\.\d{3}\s+fact:notes_app\s+fact\s+2024-03-01 10:00:00\s+Obsidian for notes$')
        self.assertIn('message:', r.out)
        doc = self.ok('users', 'search', user, 'notes', '--json', '--limit', '1', '--types', 'facts').json()
        self.assertEqual([x['id'] for x in doc['results']], ['fact:notes_app'])
        self.assertIn('request_id', doc['results'][0]['provenance'])
        self.assertIsNotNone(doc['next_cursor'])
        r = self.ok('users', 'search', user, 'notes', '--limit', '1')
        self.assertIn('(more results follow: --limit shows more)', r.out)
        for args, msg in ((('users', 'search', user), 'memproxy ctl users search: give the query'),
                          (('users', 'search', user, ''), 'memproxy ctl users search: give the query'),
                          (('users', 'search', user, 'x' * 1025), 'memproxy ctl users search: give the query'),
                          (('users', 'search', user, 'x', '--limit', '0'), 'memproxy ctl users search: --limit'),
                          (('users', 'search', user, 'x', '--types', 'all'), 'memproxy ctl users search: --types')):
            r = self.ctl(*args)
            self.assertEqual(r.rc, 1, r)
            self.assertTrue(r.err.startswith(msg), r)
        r = self.ok('users', 'search', mh.uid('none'), 'anything')
        self.assertIn('Results, best first (0)\n  (none)', r.out)

    def test_explain_text_and_json(self):
        user = mh.uid('expl')
        lines = (b'{"type":"fact","key":"pet","value":"a grey cat named Miso","at":"2024-03-01T10:00:00Z"}\n'
                 b'{"type":"message","role":"user","content":"My cat Miso hates the vacuum.",'
                 b'"at":"2024-01-05T10:00:00Z"}\n')
        self.ok('users', 'import', user, stdin=lines)
        r = self.ok('users', 'explain', user, 'What is the name of my cat?')
        out = r.out
        self.assertTrue(out.startswith('question: What is the name of my cat?\nretrieval relevant, mode hybrid, '
                                       "the user's setting auto\ninjected: about "), out)
        # a lone question: a conversation's first turn, whose head is built now
        self.assertRegex(out, r'\nconversation: first_turn, head new \([0-9]+ tokens\)\n')
        self.assertIn('\nProfile (1)\n', out)
        self.assertRegex(out, r'\n  yes\s+matched\s+fact:pet\s+\d+\.\d{3}\s+cat,name\s+a grey cat named Miso\n')
        self.assertIn('\nPast conversation (1)\n', out)
        self.assertIn('\nBuffer (0)\n  (none)\n', out)
        for api in ('chat', 'responses', 'messages'):
            doc = self.ok('users', 'explain', user, 'What is the name of my cat?', '--api', api, '--json').json()
            self.assertEqual(doc['api'], api)
            self.assertEqual(doc['sections']['profile']['items'][0]['id'], 'fact:pet')
        r = self.ctl('users', 'explain', user, 'x', '--api', 'soap')
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(r.err.startswith('memproxy ctl users explain: --api'), r)
        r = self.ctl('users', 'explain', user)
        self.assertEqual(r.rc, 1, r)
        r = self.ok('users', 'explain', mh.uid('none'), 'anything')
        self.assertIn('injected: nothing (nothing_stored)', r.out)

    def test_compact(self):
        r = self.ok('compact')
        self.assertRegex(r.out, r'^compacted the store: \d+\.\d [KMG]iB in use before, \d+\.\d [KMG]iB after\n$')
        doc = self.ok('compact', '--json').json()
        self.assertEqual(set(doc), {'compacted', 'used_bytes_before', 'used_bytes_after'})
        self.assertIs(doc['compacted'], True)

    def test_tenants_are_checked_and_passed(self):
        tenant = '0123456789abcdef0123456789abcdef'
        user = mh.uid('ten')
        body = b'{"type":"fact","key":"pet","value":"Rex","at":"2024-01-02T03:04:05Z"}\n'
        self.ok('users', 'import', user, '--tenant', tenant, stdin=body)
        self.assertEqual(self.ctl('users', 'show', user).rc, 4)   # not in the tenant of none
        doc = self.ok('users', 'show', user, '--tenant', tenant.upper(), '--json').json()
        self.assertEqual((doc['user'], doc['tenant']), (user, tenant))
        listed = self.ok('users', 'list', '--tenant', tenant, '--json').json()['users']
        self.assertEqual([x['user'] for x in listed], [user])
        for bad in ('xyz', tenant[:-1], tenant + '0', tenant[:-1] + 'g'):
            r = self.ctl('users', 'show', user, '--tenant', bad)
            self.assertEqual(r.rc, 1, r)
            self.assertIn('--tenant takes a tenant', r.err)


def r_bytes(lines):
    return ''.join(json.dumps(x, ensure_ascii=False) + '\n' for x in lines).encode('utf-8')


class ConfigCheck(CtlCase):
    def test_good_and_bad_files(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, 'good.ini')
            with open(good, 'w') as f:
                f.write('[server]\nlisten = 127.0.0.1:9000\n[memory]\nmode = entity\n')
            r = run_ctl(['config', 'check', good])
            self.assertEqual((r.rc, r.out, r.err), (0, 'configuration ok\n', ''), r)
            bad = os.path.join(d, 'bad.ini')
            with open(bad, 'w') as f:
                f.write('[server]\nworkers = 2\nlisten = nowhere\n[memory]\nmode = entity\nbogus = 1\n')
            r = run_ctl(['config', 'check', bad])
            self.assertEqual((r.rc, r.out), (1, ''), r)
            errs = r.err.splitlines()
            self.assertEqual(len(errs), 2, r)
            self.assertTrue(errs[0].startswith(bad + ':3: '), r)
            self.assertTrue(errs[1].startswith(bad + ':6: '), r)
            doc = run_ctl(['config', 'check', bad, '--json']).json()
            self.assertEqual((doc['file'], doc['valid'], doc['more_errors']), (bad, False, 0))
            self.assertEqual([(e['source'], e['line']) for e in doc['errors']], [(bad, 3), (bad, 6)])
            self.assertEqual(run_ctl(['config', 'check', good, '--json']).json(),
                             {'file': good, 'valid': True, 'errors': [], 'more_errors': 0})
            # a rule between two keys: the file, and the line of its first key
            rule = os.path.join(d, 'rule.ini')
            with open(rule, 'w') as f:
                f.write('[memory]\nbuffer_messages = 30\nsummarize_at = 20\n')
            r = run_ctl(['config', 'check', rule])
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(len(r.err.splitlines()), 1, r)
            self.assertTrue(r.err.startswith(rule + ':3: [memory] summarize_at (20) must be >= '), r)
            doc = run_ctl(['config', 'check', rule, '--json']).json()
            self.assertEqual([(e['source'], e['line']) for e in doc['errors']], [(rule, 3)])
            self.assertEqual(rule + ':3: ' + doc['errors'][0]['message'], r.err.rstrip('\n'))
            # the environment applies, as for memproxy
            r = run_ctl(['config', 'check', good], env={'MEMPROXY_SERVER_WORKERS': 'many'})
            self.assertEqual(r.rc, 1, r)
            self.assertTrue(r.err.startswith('environment: '), r)
            r = run_ctl(['config', 'check', os.path.join(d, 'missing.ini')])
            self.assertEqual(r.rc, 1, r)
            self.assertIn('missing.ini: cannot open', r.err)
            self.assertEqual(run_ctl(['config', 'check']).rc, 1)


class Access(CtlCase):
    def test_wrong_token_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            path = token_file(d, 'zqxsecret-wrong-token-0123')
            for args in (('status',), ('users', 'show', 'someone'), ('compact',)):
                r = run_ctl(['--admin', self.url(), '--token-file', path] + list(args))
                self.assertEqual((r.rc, r.out, r.err), (3, '', REFUSED), r)
                self.assertNotIn('zqxsecret-wrong', r.err)

    def test_token_from_a_file_or_the_environment(self):
        with tempfile.TemporaryDirectory() as d:
            r = run_ctl(['--admin', self.url(), '--token-file', token_file(d, TOKEN), 'status', '--json'])
            self.assertEqual(r.rc, 0, r)
        r = run_ctl(['--admin', self.url(), 'status', '--json'], env={'MEMPROXY_ADMIN_TOKEN': TOKEN})
        self.assertEqual(r.rc, 0, r)
        r = run_ctl(['--admin', self.url(), 'status'])
        self.assertEqual(r.rc, 1, r)
        self.assertIn('no admin token', r.err)
        r = run_ctl(['--admin', self.url(), 'status'], env={'MEMPROXY_ADMIN_TOKNE': TOKEN})
        self.assertEqual(r.rc, 1, r)
        self.assertIn('the configuration is not valid', r.err)

    def test_url_from_admin_listen_with_a_wildcard_host(self):
        port = harness.free_port()
        p = self.start_proxy(workers=1, server={'admin_listen': '0.0.0.0:%d' % port},
                             sections={'admin': {'token': TOKEN}})
        r = run_ctl(['-c', p.config_path, 'status', '--json'])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()['workers'], 1)
        r = run_ctl(['status', '--json'], env={'MEMPROXY_SERVER_ADMIN_LISTEN': '0.0.0.0:%d' % port,
                                               'MEMPROXY_ADMIN_TOKEN': TOKEN})
        self.assertEqual(r.rc, 0, r)
        r = run_ctl(['-c', self.proxy.config_path, 'status'])   # admin_listen port 0: nobody knows it
        self.assertEqual(r.rc, 1, r)
        self.assertIn('give the admin API\'s address with --admin URL', r.err)

    def test_disabled_admin_api(self):
        p = self.start_proxy(workers=1)
        with tempfile.TemporaryDirectory() as d:
            path = token_file(d, TOKEN)
            for args in (('status',), ('users', 'show', 'someone'), ('users', 'list'), ('reload',)):
                r = run_ctl(['--admin', self.url(p), '--token-file', path] + list(args))
                self.assertEqual((r.rc, r.out, r.err), (3, '', DISABLED), r)

    def test_unreachable(self):
        port = harness.free_port()
        r = run_ctl(['--admin', 'http://127.0.0.1:%d' % port, 'status'], env={'MEMPROXY_ADMIN_TOKEN': TOKEN})
        self.assertEqual((r.rc, r.out), (2, ''), r)
        self.assertEqual(r.err, 'memproxy ctl: cannot reach the admin API at http://127.0.0.1:%d: '
                                'connection refused\n' % port)

    def test_usage_errors(self):
        cases = [(('frobnicate',), "memproxy ctl: unknown command 'frobnicate'"),
                 (('users', 'frob'), "memproxy ctl: unknown command 'users frob'"),
                 ((), 'memproxy ctl: no command given'),
                 (('users', 'show'), 'memproxy ctl users show: missing argument (see memproxy ctl users show --help)'),
                 (('users', 'show', 'a', 'b'), "memproxy ctl users show: unexpected argument 'b'"),
                 (('users', 'list', '--limit', '0'), 'memproxy ctl users list: --limit takes 1 to 1000'),
                 (('users', 'list', '--bogus'), "memproxy ctl users list: unknown option '--bogus'"),
                 (('users', 'export'), 'memproxy ctl users export: name one USER, or --all'),
                 (('users', 'export', 'a', '--all'), 'memproxy ctl users export: name one USER, or --all'),
                 (('users', 'show', 'bad\x01id'), 'memproxy ctl: a user id is 1 to 256 bytes'),
                 (('--admin', 'ftp://x', 'status'), 'memproxy ctl: --admin takes a URL'),
                 (('status', 'now'), "memproxy ctl status: unexpected argument 'now'")]
        for args, msg in cases:
            with self.subTest(args=args):
                r = run_ctl(list(args), env={'MEMPROXY_ADMIN_TOKEN': TOKEN})
                self.assertEqual((r.rc, r.out), (1, ''), r)
                self.assertTrue(r.err.startswith(msg), r)

    def test_help(self):
        r = run_ctl(['--help'])
        self.assertEqual((r.rc, r.err), (0, ''), r)
        for words in ('status', 'users list', 'users show USER', 'users forget USER', 'users export USER',
                      'users import USER', 'users settings USER', 'users revoke-links USER',
                      'users search USER QUERY',
                      'users explain USER QUESTION', 'users link USER', 'compact',
                      'reload [--pid PID]', 'jobs list', 'jobs retry ID', 'jobs drop ID',
                      'config check FILE', 'Exit codes'):
            self.assertIn(words, r.out)
        r = run_ctl(['users', 'show', '--help'])
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.out.startswith('usage: memproxy ctl users show USER [--tenant T] [--archive N]\n'), r)
        r = run_ctl(['users', '--help'])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.count('usage: memproxy ctl users '), 10, r)
        proc = subprocess.run([harness.MEMPROXY_BIN, '--help'], stdout=subprocess.PIPE, env=harness.child_env())
        self.assertIn(b'memproxy ctl', proc.stdout)


if __name__ == '__main__':
    harness.main('test_ctl')
