"""Configuration: --check-config, file:line errors, environment overrides,
--version, start-up failures (exit 2)."""

import os
import socket
import subprocess
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import MEMPROXY_BIN, SOURCE_ROOT, chat_body  # noqa: E402


def run_memproxy(args, env_extra=None, timeout=20, cwd=None):
    env = harness.child_env(env_extra)
    return subprocess.run([MEMPROXY_BIN] + args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout, cwd=cwd or tempfile.gettempdir())


VALID = """[server]
listen = 127.0.0.1:0
admin_listen = 127.0.0.1:0
workers = 1

[upstream]
base_url = http://127.0.0.1:9/v1

[memory]
mode = hybrid
"""


class CheckConfig(harness.ProxyTestCase):
    """--check-config: exit 0 on a valid file, 1 with FILE:LINE on a bad one."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='memproxy-cfg-')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def check(self, text, name):
        path = self.write(name, text)
        return path, run_memproxy(['-c', path, '--check-config'])

    def assert_bad(self, text, line, name):
        path, r = self.check(text, name)
        err = r.stderr.decode('utf-8', 'replace')
        self.assertEqual(r.returncode, 1, 'exit code; stderr: %s' % err)
        self.assertIn('%s:%d' % (path, line), err, 'stderr does not name FILE:LINE')
        self.assert_no_sanitizer(r)
        return err

    def assert_no_sanitizer(self, r):
        text = r.stderr.decode('utf-8', 'replace')
        for m in harness.SANITIZER_MARKERS:
            self.assertNotIn(m, text)

    def test_shipped_config_is_valid(self):
        path = os.path.join(SOURCE_ROOT, 'conf', 'memproxy.ini')
        r = run_memproxy(['-c', path, '--check-config'])
        self.assertEqual(r.returncode, 0, r.stderr.decode('utf-8', 'replace'))
        self.assert_no_sanitizer(r)

    def test_shipped_config_comments_match_the_docs(self):
        # each key's comment in conf/memproxy.ini holds its own range (the one
        # docs/configuration.md gives it), never another key's text
        rows = {}
        with open(os.path.join(SOURCE_ROOT, 'docs', 'configuration.md'), encoding='utf-8') as f:
            for line in f:
                m = re.match(r'^\| `(\w+)` \| [^|]* \| [^|]* \| ([^|]*) \|', line)
                if m:
                    rows.setdefault(m.group(1), []).append(m.group(2))
        comments, key = {}, None
        with open(os.path.join(SOURCE_ROOT, 'conf', 'memproxy.ini'), encoding='utf-8') as f:
            for line in f:
                m = re.match(r'^(\w+)\s*=[^;]*(;.*)?$', line)
                if m:
                    key = m.group(1)
                    comments[key] = comments.get(key, '') + (m.group(2) or '')
                elif line.startswith(' ') and line.strip().startswith(';') and key:
                    comments[key] += line.strip()
        self.assertIn('job_lease_seconds', comments)
        for key, text in comments.items():
            self.assertIn(key, rows, 'conf/memproxy.ini has %s, which docs/configuration.md lacks' % key)
            for lo, hi in re.findall(r'\((\d+)\.\.(\d+)', text):
                self.assertTrue([r for r in rows[key] if '%s..%s' % (lo, hi) in r],
                                '%s: the comment says %s..%s, docs/configuration.md %s' % (key, lo, hi, rows[key]))
        self.assertNotIn('idempotency', comments['job_lease_seconds'])
        self.assertIn('(2..3600)', comments['job_lease_seconds'])

    def test_valid_generated_config(self):
        _, r = self.check(VALID, 'valid.ini')
        self.assertEqual(r.returncode, 0, r.stderr.decode('utf-8', 'replace'))

    def test_unknown_key(self):
        err = self.assert_bad(VALID.replace('workers = 1', 'workers = 1\nbogus_key = 1'), 5, 'unknown_key.ini')
        self.assertIn('bogus_key', err)

    def test_bad_value(self):
        self.assert_bad(VALID.replace('workers = 1', 'workers = many'), 4, 'bad_value.ini')

    def test_negative_size(self):
        self.assert_bad(VALID.replace('workers = 1', 'workers = 1\nmax_body_bytes = -1'), 5, 'negative.ini')

    def test_bad_url(self):
        self.assert_bad(VALID.replace('http://127.0.0.1:9/v1', 'ftp//nowhere'), 7, 'bad_url.ini')

    def test_bad_url_scheme(self):
        self.assert_bad(VALID.replace('http://127.0.0.1:9/v1', 'gopher://127.0.0.1/v1'), 7, 'bad_scheme.ini')

    def test_unknown_mode(self):
        self.assert_bad(VALID.replace('mode = hybrid', 'mode = forgetful'), 10, 'bad_mode.ini')

    def test_overlong_line(self):
        # Line 2 is a 5000-byte comment: over the 4096-byte line limit.
        text = VALID.replace('[server]\n', '[server]\n;' + 'x' * 5000 + '\n')
        self.assert_bad(text, 2, 'long_line.ini')

    def test_several_errors_each_with_its_line(self):
        text = VALID.replace('workers = 1', 'workers = -3').replace('mode = hybrid', 'mode = nope')
        err = self.assert_bad(text, 4, 'two_errors.ini')
        self.assertIn('%s:%d' % (os.path.join(self.tmp.name, 'two_errors.ini'), 10), err)

    def test_bad_retrieval(self):
        err = self.assert_bad(VALID.replace('mode = hybrid', 'mode = hybrid\nretrieval = fuzzy'), 11,
                              'bad_retrieval.ini')
        self.assertIn('relevant|recent', err)

    def test_bad_prompt_cache_key(self):
        text = VALID.replace('base_url = http://127.0.0.1:9/v1',
                             'base_url = http://127.0.0.1:9/v1\nprompt_cache_key = user')
        err = self.assert_bad(text, 8, 'bad_cache_key.ini')
        self.assertIn('[upstream] prompt_cache_key: expected one of auto|conversation|off', err)
        for value in ('auto', 'conversation', 'off'):
            _, r = self.check(text.replace('= user', '= ' + value), 'cache_key.ini')
            self.assertEqual(r.returncode, 0, r.stderr.decode('utf-8', 'replace'))

    def test_recall_keys_valid(self):
        text = VALID.replace('mode = hybrid', 'mode = hybrid\nretrieval = recent\narchive = false\n'
                             'max_facts_per_user = 10\nshare_profile = 100\nshare_past = 0\n'
                             'share_summary = 0\nshare_buffer = 0')
        _, r = self.check(text, 'recall_keys.ini')
        self.assertEqual(r.returncode, 0, r.stderr.decode('utf-8', 'replace'))

    def test_shares_not_summing_to_100(self):
        _, r = self.check(VALID.replace('mode = hybrid', 'mode = hybrid\nshare_past = 20'), 'shares.ini')
        err = r.stderr.decode('utf-8', 'replace')
        self.assertEqual(r.returncode, 1, 'exit code; stderr: %s' % err)
        self.assertIn('must be 100, got 40 + 20 + 15 + 15', err)
        # a rule whose first key the file leaves at its default: FILE: message
        path = os.path.join(self.tmp.name, 'shares.ini')
        self.assertEqual(err.splitlines(), [path + ': [memory] share_profile + share_past + share_summary + '
                                            'share_buffer must be 100, got 40 + 20 + 15 + 15'], err)
        self.assert_no_sanitizer(r)

    def test_every_error_names_file_and_line(self):
        # docs/cli.md: each error as FILE:LINE: message, LINE the one that sets
        # the key the message is about, for rules between keys and files the
        # configuration names too
        cases = (
            # a rule between two keys: the first key's line
            (VALID.replace('mode = hybrid', 'mode = hybrid\nbuffer_messages = 30\nsummarize_at = 20'), 12,
             '[memory] summarize_at (20) must be >= buffer_messages (30)'),
            # a file the configuration names that cannot be read
            (VALID.replace('base_url = http://127.0.0.1:9/v1', 'base_url = http://127.0.0.1:9/v1\n'
                           'ca_file = /nonexistent/ca.pem'), 8, '[upstream] ca_file cannot be read'),
            # a pattern file that cannot be read: the key's line
            (VALID.replace('mode = hybrid', 'mode = hybrid\ntask_patterns = /nonexistent/tasks.conf'), 11,
             '[memory] task_patterns: /nonexistent/tasks.conf: cannot open'),
            # a language without a dictionary: the line, and a doc that exists
            (VALID.replace('mode = hybrid', 'mode = hybrid\ntranslate_languages = zh'), 11,
             '[memory] translate_languages: no dictionary for "zh" (docs/memory-languages.md'),
            # two listeners on one port
            (VALID.replace('admin_listen = 127.0.0.1:0', 'admin_listen = 127.0.0.1:9999')
             .replace('listen = 127.0.0.1:0\n', 'listen = 127.0.0.1:9999\n', 1), 2,
             '[server] listen and admin_listen must differ'),
        )
        for i, (text, line, message) in enumerate(cases):
            with self.subTest(message=message):
                path, r = self.check(text, 'located%d.ini' % i)
                err = r.stderr.decode('utf-8', 'replace')
                self.assertEqual(r.returncode, 1, err)
                self.assertTrue(err.startswith('%s:%d: %s' % (path, line, message)), err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assert_no_sanitizer(r)
        self.assertTrue(os.path.exists(os.path.join(SOURCE_ROOT, 'docs', 'memory-languages.md')))
        # a key the environment sets: environment: message
        path = self.write('env_rule.ini', VALID)
        r = run_memproxy(['-c', path, '--check-config'], {'MEMPROXY_MEMORY_SUMMARIZE_AT': '5'})
        err = r.stderr.decode('utf-8', 'replace')
        self.assertEqual(r.returncode, 1, err)
        self.assertTrue(err.startswith('environment: [memory] summarize_at (5) must be >='), err)
        # without a file, a rule between keys is the environment's
        r = run_memproxy(['--check-config'], {'MEMPROXY_MEMORY_SHARE_PAST': '20'})
        err = r.stderr.decode('utf-8', 'replace')
        self.assertEqual(r.returncode, 1, err)
        self.assertTrue(err.startswith('environment: [memory] share_profile + '), err)

    def test_translate_languages_without_a_dictionary(self):
        # Chinese has no FreeDict table: naming it is an error, as is a code
        # that is no language; a language with one passes
        for value, ok in (('zh', False), ('de,xx', False), ('de,fr', True), ('none', True)):
            _, r = self.check(VALID.replace('mode = hybrid', 'mode = hybrid\ntranslate_languages = ' + value),
                              'translate.ini')
            err = r.stderr.decode('utf-8', 'replace')
            self.assertEqual(r.returncode, 0 if ok else 1, '%s: %s' % (value, err))
            if not ok:
                self.assertIn('translate_languages', err)
            self.assert_no_sanitizer(r)

    def test_env_share_error_fails_check(self):
        path = self.write('env_share.ini', VALID)
        r = run_memproxy(['-c', path, '--check-config'], {'MEMPROXY_MEMORY_SHARE_SUMMARY': '16'})
        self.assertEqual(r.returncode, 1, r.stderr.decode('utf-8', 'replace'))
        self.assertIn('share_summary', r.stderr.decode('utf-8', 'replace'))

    def test_check_config_opens_no_socket(self):
        # The listen port is taken: --check-config must still say valid.
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        port = s.getsockname()[1]
        try:
            _, r = self.check(VALID.replace('listen = 127.0.0.1:0\nadmin', 'listen = 127.0.0.1:%d\nadmin' % port),
                              'busy.ini')
            self.assertEqual(r.returncode, 0, r.stderr.decode('utf-8', 'replace'))
        finally:
            s.close()

    def test_check_config_opens_no_database(self):
        blocker = self.write('regular_file', 'x')
        text = VALID + '\n[storage]\npath = %s\n' % os.path.join(blocker, 'data')
        _, r = self.check(text, 'nodb.ini')
        self.assertEqual(r.returncode, 0, r.stderr.decode('utf-8', 'replace'))
        self.assertFalse(os.path.isdir(os.path.join(blocker, 'data')))

    def test_env_error_fails_check(self):
        path = self.write('env_bad.ini', VALID)
        r = run_memproxy(['-c', path, '--check-config'], {'MEMPROXY_SERVER_WORKERS': 'lots'})
        self.assertEqual(r.returncode, 1, r.stderr.decode('utf-8', 'replace'))
        self.assertIn('MEMPROXY_SERVER_WORKERS', r.stderr.decode('utf-8', 'replace'))

    def test_env_typo_fails_check(self):
        path = self.write('env_typo.ini', VALID)
        r = run_memproxy(['-c', path, '--check-config'], {'MEMPROXY_SERVER_MAX_BODY_BYTE': '10'})
        self.assertEqual(r.returncode, 1, r.stderr.decode('utf-8', 'replace'))

    def test_bad_config_at_start_exits_1(self):
        path = self.write('start_bad.ini', VALID.replace('mode = hybrid', 'mode = forgetful'))
        r = run_memproxy(['-c', path], timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr.decode('utf-8', 'replace'))
        self.assertIn('%s:10' % path, r.stderr.decode('utf-8', 'replace'))


class Version(harness.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        pass

    def test_version(self):
        r = run_memproxy(['--version'])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = (r.stdout + r.stderr).decode('utf-8', 'replace')
        self.assertTrue(harness.VERSION, 'MEMPROXY_VERSION not set by meson')
        m = re.match(r'memproxy (\S+) \(commit ([0-9a-f]{12}|unknown)\)\n$', out)
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(1), harness.VERSION)
        root = os.environ.get('MEMPROXY_SOURCE_ROOT', '')
        head = subprocess.run(['git', '-C', root, 'rev-parse', '--short=12', 'HEAD'],
                              capture_output=True, text=True) if root and shutil.which('git') else None
        if head is not None and head.returncode == 0:
            self.assertEqual(m.group(2), head.stdout.strip(), 'not the commit of the checkout')

    def test_help(self):
        r = run_memproxy(['--help'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('--check-config', (r.stdout + r.stderr).decode('utf-8', 'replace'))

    def test_unknown_option(self):
        r = run_memproxy(['--no-such-option'])
        # docs/cli.md: 1 is a bad configuration (here, a bad command line);
        # a crash (negative: killed by a signal) or a start failure (2) is not.
        self.assertEqual(r.returncode, 1, r.stderr.decode('utf-8', 'replace'))
        self.assertIn("unknown argument '--no-such-option'", r.stderr.decode('utf-8', 'replace'))


class Startup(harness.ProxyTestCase):
    """Environment overrides and start-up failures. Uses the fake upstream."""

    PROXY_CONFIG = None

    @classmethod
    def setUpClass(cls):
        cls.fake = harness.FakeUpstream().start()

    @classmethod
    def tearDownClass(cls):
        problems = cls.fake.stop()
        if problems:
            raise AssertionError('\n'.join(problems))

    def test_env_overrides_file(self):
        p = self.start_proxy(server={'max_body_bytes': 1000000},
                             env={'MEMPROXY_SERVER_MAX_BODY_BYTES': '300'})
        small = chat_body(content='a' * 50)
        self.assertLess(len(small), 300)
        r = p.chat(body=small)
        self.assertEqual(r.status, 200, r)
        big = chat_body(content='a' * 400)
        r = p.chat(body=big)
        self.assertOpenAIError(r, 413, 'body_too_large')

    def test_env_only_without_file(self):
        # No -c: built-in defaults + environment.
        tmp = tempfile.TemporaryDirectory(prefix='memproxy-env-')
        self.addCleanup(tmp.cleanup)
        p = harness.Proxy(self.fake.base_url)
        p.config_path = os.path.join(tmp.name, 'unused')
        env = dict(p.env)
        env.update({'MEMPROXY_SERVER_LISTEN': '127.0.0.1:0', 'MEMPROXY_SERVER_ADMIN_LISTEN': '127.0.0.1:0',
                    'MEMPROXY_SERVER_WORKERS': '1', 'MEMPROXY_UPSTREAM_BASE_URL': self.fake.base_url,
                    'MEMPROXY_STORAGE_PATH': os.path.join(tmp.name, 'data'),
                    'MEMPROXY_SERVER_MAX_BODY_BYTES': '300'})
        proc = subprocess.Popen([MEMPROXY_BIN], env=env, cwd=tmp.name, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        harness._live_processes.append(proc)
        p.proc = proc
        p.err = harness._StderrCollector(proc.stderr)
        p.err.start()
        line = p.wait_log(lambda o: o.get('msg') == 'listening', harness.START_TIMEOUT)
        if line is None:
            proc.kill()
            proc.wait()
            self.fail('no listening line; stderr:\n' + p.err.text())
        p.port = int(line['listen'].rsplit(':', 1)[1])
        p.admin_port = int(line['admin_listen'].rsplit(':', 1)[1])
        self.assertEqual(line.get('workers'), 1, line)
        r = p.chat()
        self.assertEqual(r.status, 200, r)
        r = p.chat(body=chat_body(content='a' * 400))
        self.assertOpenAIError(r, 413, 'body_too_large')
        self.assertEqual(p.stop(), [])

    def run_expect_exit(self, sections, expected, timeout=20):
        tmp = tempfile.TemporaryDirectory(prefix='memproxy-exit-')
        self.addCleanup(tmp.cleanup)
        path = os.path.join(tmp.name, 'm.ini')
        base = {'server': {'listen': '127.0.0.1:0', 'admin_listen': '127.0.0.1:0', 'workers': 1},
                'upstream': {'base_url': self.fake.base_url},
                'storage': {'path': os.path.join(tmp.name, 'data')}}
        for k, v in sections.items():
            base[k].update(v)
        with open(path, 'w') as f:
            f.write(harness.make_ini(base))
        r = run_memproxy(['-c', path], timeout=timeout, cwd=tmp.name)
        err = r.stderr.decode('utf-8', 'replace')
        self.assertEqual(r.returncode, expected, err)
        for m in harness.SANITIZER_MARKERS:
            self.assertNotIn(m, err)
        return tmp.name, err

    def test_listen_port_in_use_exits_2(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        self.addCleanup(s.close)
        self.run_expect_exit({'server': {'listen': '127.0.0.1:%d' % s.getsockname()[1]}}, 2)

    def test_admin_port_in_use_exits_2(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        self.addCleanup(s.close)
        self.run_expect_exit({'server': {'admin_listen': '127.0.0.1:%d' % s.getsockname()[1]}}, 2)

    def test_storage_path_under_regular_file_exits_2(self):
        tmp = tempfile.TemporaryDirectory(prefix='memproxy-blk-')
        self.addCleanup(tmp.cleanup)
        blocker = os.path.join(tmp.name, 'file')
        with open(blocker, 'w') as f:
            f.write('not a directory')
        self.run_expect_exit({'storage': {'path': os.path.join(blocker, 'data')}}, 2)


if __name__ == '__main__':
    harness.main('proxy_config')
