"""memproxy in a tree of its own, as the container image lays it out
(Dockerfile): the binary and the libraries ldd lists for it, with or without
libcurl's and libpq's, which memproxy loads only when it needs them
(test_ondemand.py). --check-config names a library that is not there, with
the package that has it. Plain build only (tests/proxy/meson.build): a
sanitized binary reads its options and its leaks from /proc, which the tree
has not."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402


def ldd(path):
    """The shared libraries ldd resolves for path, the loader included."""
    out = subprocess.run(['ldd', path], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == '=>' and parts[2].startswith('/'):
            libs.append(parts[2])
        elif parts and parts[0].startswith('/'):
            libs.append(parts[0])
    return libs


def system_library(soname):
    """Where the dynamic loader's cache has soname."""
    out = subprocess.run(['ldconfig', '-p'], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(soname + ' ') and '=>' in line:
            return line.split('=>')[1].strip()
    raise AssertionError('%s is not in the loader cache' % soname)


@unittest.skipUnless(os.geteuid() == 0, 'chroot needs root')
class MissingLibraries(unittest.TestCase):
    """memproxy in a tree of its own (as the container image lays it out,
    Dockerfile): the binary and the libraries ldd lists, with or without
    libcurl's and libpq's. A library that is not there is named, with the
    package that has it, before anything starts."""

    def tree(self, extra=()):
        root = tempfile.mkdtemp(prefix='memproxy-tree-')
        self.addCleanup(shutil.rmtree, root, True)
        binary = os.path.join(root, 'memproxy')
        shutil.copy(harness.MEMPROXY_BIN, binary)
        for lib in set(ldd(harness.MEMPROXY_BIN)) | set(l for e in extra for l in ldd(e) + [e]):
            dest = root + lib
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy(os.path.realpath(lib), dest)
        return root

    @staticmethod
    def in_tree(root, args, env):
        """The command line and environment of /memproxy ARGS inside the
        tree root, with only env set."""
        chroot = shutil.which('chroot', path='/usr/sbin:/sbin:/usr/bin:/bin')
        e = {'PATH': '/usr/bin:/bin'}
        e.update(env)
        return [chroot, root, '/memproxy'] + list(args), e

    def run_in(self, root, args, env=()):
        """/memproxy ARGS inside the tree root, to its end."""
        cmd, e = self.in_tree(root, args, env)
        return subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=60)

    def check(self, root, env=()):
        return self.run_in(root, ['--check-config'], env)

    def start_in(self, root, env):
        """memproxy started inside the tree root (its stderr collected);
        returns the process once its data plane answers."""
        cmd, e = self.in_tree(root, [], env)
        proc = subprocess.Popen(cmd, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        err = harness._StderrCollector(proc.stderr)
        err.start()
        self.addCleanup(lambda: (proc.terminate(), proc.wait(10)))
        port = int(env['MEMPROXY_SERVER_LISTEN'].rsplit(':', 1)[1])
        deadline = time.time() + harness.WAIT
        while time.time() < deadline:
            self.assertIsNone(proc.poll(), err.text())
            try:
                harness.request(port, 'GET', '/', timeout=1)
                return proc, err
            except OSError:
                time.sleep(0.1)
        self.fail('memproxy did not answer in its tree: ' + err.text())

    def test_without_libcurl_check_config_names_it(self):
        r = self.check(self.tree())
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('memproxy: cannot load libcurl.so.4 (install the libcurl4 package)', r.stderr)
        self.assertNotIn('configuration ok', r.stdout)

    def test_without_libcurl_ctl_names_it(self):
        r = self.run_in(self.tree(), ['ctl', '--admin', 'http://127.0.0.1:9', 'status'],
                        {'MEMPROXY_ADMIN_TOKEN': 'zqx-tree-token-0123456789-8d3f1b6a'})
        self.assertEqual(r.returncode, 5, r.stdout + r.stderr)  # MP_CTL_FAILED
        self.assertIn('memproxy ctl: cannot load libcurl.so.4 (install the libcurl4 package)', r.stderr)

    def test_without_libcurl_ctl_checks_a_file(self):
        """The ctl commands that work on files need no libcurl."""
        root = self.tree()
        with open(os.path.join(root, 'memproxy.ini'), 'w') as f:
            f.write('[memory]\nmode = buffer\n')
        r = self.run_in(root, ['ctl', 'config', 'check', '/memproxy.ini'])
        self.assertEqual((r.returncode, r.stdout), (0, 'configuration ok\n'), r.stderr)

    def test_with_libcurl_lmdb_is_ok_and_postgres_names_libpq(self):
        root = self.tree(extra=[system_library('libcurl.so.4')])
        r = self.check(root)
        self.assertEqual((r.returncode, r.stdout), (0, 'configuration ok\n'), r.stderr)
        r = self.check(root, {'MEMPROXY_STORAGE_BACKEND': 'postgres',
                              'MEMPROXY_STORAGE_POSTGRES_URL': 'postgresql://memproxy@db.invalid/memproxy'})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('memproxy: cannot load libpq.so.5 (install the libpq5 package)', r.stderr)
        # started all the same: the store's first connection says it, and nothing starts
        r = self.run_in(root, [], {'MEMPROXY_STORAGE_BACKEND': 'postgres',
                                   'MEMPROXY_STORAGE_POSTGRES_URL': 'postgresql://memproxy@db.invalid/m',
                                   'MEMPROXY_SERVER_LISTEN': '127.0.0.1:0',
                                   'MEMPROXY_SERVER_ADMIN_LISTEN': '127.0.0.1:0'})
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # cannot start
        self.assertIn('cannot load libpq.so.5 (install the libpq5 package)', r.stdout + r.stderr)
        self.assertNotIn('"listening"', r.stdout + r.stderr)

    def test_with_libcurl_and_libpq_postgres_is_ok(self):
        """Every function pq_lib.c names is in the libpq the tree has."""
        root = self.tree(extra=[system_library('libcurl.so.4'), system_library('libpq.so.5')])
        r = self.check(root, {'MEMPROXY_STORAGE_BACKEND': 'postgres',
                              'MEMPROXY_STORAGE_POSTGRES_URL': 'postgresql://memproxy@db.invalid/memproxy'})
        self.assertEqual((r.returncode, r.stdout), (0, 'configuration ok\n'), r.stderr)

    def test_a_running_proxy_without_libcurl_relays_and_keeps_the_turns(self):
        """A host without libcurl (a slim image built by hand) that started
        memproxy anyway: answers are relayed and turns recorded; the memory
        model's calls fail, counted as tries to retry (the jobs stay in the
        store until a start with libcurl, or their attempts run out and they
        are kept for a re-run), with one error line that names the library,
        and the turns stay in the buffer for the next request."""
        fake = harness.FakeUpstream().start()
        self.addCleanup(lambda: (fake.proc.kill(), fake.proc.wait()))
        port, admin = harness.free_port(), harness.free_port()
        proc, err = self.start_in(self.tree(), {
            'MEMPROXY_SERVER_LISTEN': '127.0.0.1:%d' % port,
            'MEMPROXY_SERVER_ADMIN_LISTEN': '127.0.0.1:%d' % admin,
            'MEMPROXY_SERVER_WORKERS': '1',
            'MEMPROXY_UPSTREAM_BASE_URL': fake.base_url,
            'MEMPROXY_MEMORY_MODE': 'hybrid',
            'MEMPROXY_MEMORY_EXTRACT_BATCH_TURNS': '1',
            'MEMPROXY_STORAGE_PATH': '/store'})
        facts = ('My sister Ana lives in Porto.', 'I keep bees on my roof.', 'I ride a green bicycle.')
        for text in facts:
            r = harness.request(port, 'POST', '/v1/chat/completions',
                                headers=[('Content-Type', 'application/json'),
                                         ('Authorization', 'Bearer sk-tree-0123456789'),
                                         ('X-User-Id', 'tree-user')],
                                body=harness.chat_body(content=text))
            self.assertEqual(r.status, 200, r.body)
        retried = 0
        deadline = time.time() + harness.WAIT
        while time.time() < deadline and retried == 0:
            m = harness.parse_metrics(harness.request(admin, 'GET', '/metrics').body.decode())
            retried = harness.metric_sum(m, 'memproxy_memory_jobs_total', result='retry')
            time.sleep(0.2)
        self.assertGreater(retried, 0, err.text())
        self.assertEqual(harness.metric_sum(m, 'memproxy_memory_jobs_total', kind='extract', result='ok'), 0)
        self.assertEqual(err.text().count('cannot load libcurl.so.4 (install the libcurl4 package)'), 1,
                         err.text())
        # the three turns reached the upstream as the client sent them ...
        self.assertEqual(fake.stats()['requests'], len(facts), fake.stats())
        # ... and wait in the buffer: the next request carries them
        r = harness.request(port, 'POST', '/v1/chat/completions',
                            headers=[('Content-Type', 'application/json'),
                                     ('Authorization', 'Bearer sk-tree-0123456789'),
                                     ('X-User-Id', 'tree-user')],
                            body=harness.chat_body(content="Where does my sister live?"))
        self.assertEqual(r.status, 200, r.body)
        sent = json.loads(harness.split_head_body(fake.last())[2])
        self.assertIn('Porto', json.dumps(sent['messages']))


if __name__ == '__main__':
    harness.main('proxy_ondemand_tree')
