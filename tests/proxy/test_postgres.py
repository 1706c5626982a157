"""The PostgreSQL backend through real memproxy processes (issue 14):
[storage] backend = postgres on a throwaway cluster of its own
(scripts/pg-cluster.sh), several proxies sharing one memory, the schema
made by memproxy --migrate or at start, and the connection string never in
an error or a log line."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import send  # noqa: E402

CLUSTER = os.path.join(harness.SOURCE_ROOT, 'scripts', 'pg-cluster.sh')


class Cluster:
    """A PostgreSQL server of this test class, torn down at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='memproxy-pgtest-')
        self.url = subprocess.run([CLUSTER, 'start', self.dir], check=True, capture_output=True,
                                  text=True).stdout.strip()

    def stop(self):
        subprocess.run([CLUSTER, 'stop', self.dir], check=False)

    def sql(self, query):
        out = subprocess.run(['psql', '-At', self.url, '-c', query], check=True, capture_output=True,
                             text=True)
        return out.stdout.strip()


class PgCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 1}  # the class's LMDB proxy goes unused: tests start their own

    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.pg.stop()

    def pg_proxy(self, **storage):
        st = {'backend': 'postgres', 'postgres_url': self.pg.url}
        st.update(storage)
        return self.start_proxy(workers=2, storage=st, memory={'mode': 'hybrid'})


class SharedMemory(PgCase):

    def test_taught_through_one_recalled_through_another(self):
        a, b = self.pg_proxy(), self.pg_proxy()
        user = mh.uid('pg')
        self.assertOK(send(a, user, 'My name is Ivo. I live in Izmir.'))
        mem = mh.wait_memory(b, user, lambda m: mh.entity_map(m).get('city') == 'Izmir',
                             what='the fact taught through A, read through B')
        self.assertEqual(len(mem['buffer']), 2)
        s = send(b, user, 'Where do I live?')
        self.assertOK(s)
        self.assertIn('Izmir', json.dumps(self.injection(s).elements))
        # a turn through B is in the memory A reads
        mh.wait_memory(a, user, lambda m: 'Where do I live' in json.dumps(m['buffer']),
                       what='the turn through B, read through A')

    def test_erasure_through_one_is_seen_by_the_other(self):
        a, b = self.pg_proxy(), self.pg_proxy()
        user = mh.uid('pgdel')
        self.assertOK(send(a, user, 'My name is Ada. I live in Aarhus.'))
        mh.wait_memory(a, user, lambda m: mh.entity_map(m).get('city') == 'Aarhus', what='fact')
        mh.wait_idle(a)
        r = b.request('DELETE', '/v1/memory', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        mem = mh.get_memory(a, user)
        self.assertEqual((mem['buffer'], mem['entities'], mem['summary']['text']), ([], [], None))


class Schema(PgCase):

    def test_migrate_is_idempotent_and_start_without_it_is_refused(self):
        env = dict(os.environ, MEMPROXY_STORAGE_BACKEND='postgres', MEMPROXY_STORAGE_POSTGRES_URL=self.pg.url)
        env = {k: v for k, v in env.items() if not k.startswith('MEMPROXY_') or k.startswith('MEMPROXY_STORAGE')}
        self.pg.sql('DROP TABLE IF EXISTS mp_kv, mp_schema')
        r = subprocess.run([harness.MEMPROXY_BIN, '--migrate'], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('from version 0 to 1', r.stdout)
        r = subprocess.run([harness.MEMPROXY_BIN, '--migrate'], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('already at version 1', r.stdout)
        self.assertEqual(self.pg.sql('SELECT version FROM mp_schema'), '1')
        self.pg.sql('DROP TABLE mp_kv, mp_schema')
        env['MEMPROXY_STORAGE_MIGRATE'] = 'false'
        env['MEMPROXY_SERVER_LISTEN'] = '127.0.0.1:0'
        env['MEMPROXY_SERVER_ADMIN_LISTEN'] = '127.0.0.1:0'
        r = subprocess.run([harness.MEMPROXY_BIN], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('run memproxy --migrate', r.stderr)

    def test_connection_string_never_echoed(self):
        secret_url = 'postgresql://memproxy:zqxsecret-pgpass-41@127.0.0.1:1/memproxy'
        env = {k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')}
        env.update(MEMPROXY_STORAGE_BACKEND='postgres', MEMPROXY_STORAGE_POSTGRES_URL=secret_url,
                   MEMPROXY_SERVER_LISTEN='127.0.0.1:0', MEMPROXY_SERVER_ADMIN_LISTEN='127.0.0.1:0')
        for args in ([], ['--migrate']):
            r = subprocess.run([harness.MEMPROXY_BIN] + args, env=env, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn('connection refused', r.stderr)
            self.assertNotIn('zqxsecret', r.stderr + r.stdout)
            self.assertNotIn('127.0.0.1:1', r.stderr + r.stdout)
        env['MEMPROXY_STORAGE_POSTGRES_URL'] = 'host=127.0.0.1 port=1 password=zqxsecret-pgpass-42 \x01'
        r = subprocess.run([harness.MEMPROXY_BIN, '--check-config'], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn('value not shown', r.stderr)
        self.assertNotIn('zqxsecret', r.stderr)


if __name__ == '__main__':
    harness.main('proxy_postgres')
