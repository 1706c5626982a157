"""The PostgreSQL backend through real memproxy processes (issue 14):
[storage] backend = postgres on a throwaway cluster of its own
(scripts/pg-cluster.sh), several proxies sharing one memory, the schema
made by memproxy --migrate or at start, and the connection string never in
an error or a log line."""

import atexit
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402
from memhelpers import send  # noqa: E402

CLUSTER = os.path.join(harness.SOURCE_ROOT, 'scripts', 'pg-cluster.sh')


def user_part(user):
    """A clear store's part column of the user, as a bytea literal: the
    user id's length (u16be), then the id."""
    return '\\x%04x%s' % (len(user), user.encode().hex())


class Cluster:
    """A PostgreSQL server of this test class, torn down at the end."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='memproxy-pgtest-')
        self.url = subprocess.run([CLUSTER, 'start', self.dir], check=True, capture_output=True,
                                  text=True).stdout.strip()

    def stop(self):
        subprocess.run([CLUSTER, 'stop', self.dir], check=False)

    def sql_in(self, db, query):
        url = self.url.rsplit('/', 1)[0] + '/' + db
        out = subprocess.run(['psql', '-At', url, '-c', query], check=True, capture_output=True,
                             text=True)
        return out.stdout.strip()

    def sql(self, query):
        out = subprocess.run(['psql', '-At', self.url, '-c', query], check=True, capture_output=True,
                             text=True)
        return out.stdout.strip()


class Database:
    """A database of its own, empty, on the process's one shared cluster
    (started by the first, stopped at exit): a test class's store without
    a server of its own, whose initdb and start cost seconds a class."""

    _cluster = None
    _made = 0

    def __init__(self):
        if Database._cluster is None:
            Database._cluster = Cluster()
            atexit.register(Database._cluster.stop)
        Database._made += 1
        self.name = 'class%d' % Database._made
        Database._cluster.sql('CREATE DATABASE ' + self.name)
        self.url = Database._cluster.url.rsplit('/', 1)[0] + '/' + self.name

    def sql(self, query):
        return Database._cluster.sql_in(self.name, query)

    def stop(self):
        """Nothing: the cluster goes at exit, with every class's database."""


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

    def rounds(self, p):
        return {k: p.metric('memproxy_postgres_read_rounds_total', round=k)
                for k in ('user', 'transaction', 'fetch')}

    def pg_proxy(self, sections=None, **storage):
        """A proxy on the class's database. It has [upstream] api_key, as
        proxies sharing a store need (docs/scaling.md): the database holds
        jobs of earlier tests' users, which a proxy without it would keep
        waiting on their users' credentials (its queue never empties). Its
        job lease is 15 s, not 150 (nor so short that a job slowed by a busy
        machine outlives it and runs twice): an earlier test's proxy stopped while
        its jobs were still running (a test waits for the memory it checks,
        not for every job) leaves them leased, and until a lease ends every
        proxy on the database counts that job as pending, so a later test
        waiting for an empty queue (mh.wait_idle) would wait it out."""
        st = {'backend': 'postgres', 'postgres_url': self.pg.url}
        st.update(storage)
        return self.start_proxy(workers=2, storage=st,
                                memory={'mode': 'hybrid', 'job_lease_seconds': 15},
                                upstream={'api_key': 'sk-zqxsecret-pgshared-11'}, sections=sections)


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

    def test_one_chat_is_one_conversation_through_every_proxy(self):
        """The turns of one Open WebUI chat, sent through two proxies on
        one database (each on connections of its own, so through either
        worker), are recorded in one conversation, another chat's in
        another (docs/memory-conversations.md, "Conversations")."""
        admin = {'admin': {'token': mh.ADMIN_TOKEN}}
        a, b = self.pg_proxy(sections=admin), self.pg_proxy(sections=admin)
        user = mh.uid('pgconv')
        chats = {'chat-1-' + user: [], 'chat-2-' + user: []}
        for i in range(4):
            for n, (chat, said) in enumerate(chats.items()):
                said.append('%s turn %d' % (chat, i))
                msgs = []
                for t in said[:-1]:
                    msgs += [mh.user_msg(t), mh.asst_msg(mh.REPLY)]
                self.assertOK(send((a, b)[(i + n) % 2], user, msgs + [mh.user_msg(said[-1])],
                                   extra_headers=[('X-OpenWebUI-Chat-Id', chat)]))
        r = mh.admin_memory(b, user, '?limit=1000')
        self.assertEqual(r.status, 200, r)
        got = {}
        for m in r.json()['archive']:
            got.setdefault(m['request_id'], set()).add((m['conversation'], m['conversation_rule']))
            if m['role'] == 'user':
                got.setdefault(m['content'].split(' turn ')[0], set()).add(m['conversation'])
        for chat in chats:
            want = hashlib.sha256(user.encode() + b'\0' + b'1\0x-openwebui-chat-id\0' +
                                  chat.encode()).hexdigest()[:16]
            self.assertEqual(got[chat], {want}, chat)
        self.assertEqual(sum(1 for k, v in got.items() if k.startswith('req') and len(v) == 1), 8)

    def test_a_dead_proxys_job_is_taken_over(self):
        """kill -9 A while its extraction job is in flight: B takes the job
        over once A's lease ends, and it runs once more, not twice."""
        up = {'api_key': 'sk-zqxsecret-pgjobs-77'}
        mem = {'mode': 'hybrid', 'job_lease_seconds': 3}
        st = {'backend': 'postgres', 'postgres_url': self.pg.url}
        a = self.start_proxy(workers=1, storage=st, memory=mem, upstream=up)
        b = self.start_proxy(workers=1, storage=st, memory=mem, upstream=up)
        user = mh.uid('pgkill')
        mh.set_jobmode(self.fake, extract='stall', summarize='stall')
        n0 = mh.last_n(self.fake)
        self.assertOK(send(a, user, 'My name is Kai. I live in Kiel.'))
        mh.wait_for(lambda: mh.job_requests(self.fake, 'extract', after=n0), what="A's stalled extraction")
        self.kill9(a)
        mh.set_jobmode(self.fake, extract='ok', summarize='ok')
        n1 = mh.last_n(self.fake)
        mem_b = mh.wait_memory(b, user, lambda m: mh.entity_map(m).get('city') == 'Kiel', timeout=30,
                               what='the fact, extracted by B after A died')
        self.assertEqual(len(mem_b['buffer']), 2)
        time.sleep(1)
        self.assertEqual(len(mh.job_requests(self.fake, 'extract', after=n1)), 1,
                         'the job ran more than once after the takeover')

    def test_concurrent_turns_through_both_lose_nothing(self):
        a, b = self.pg_proxy(), self.pg_proxy()
        user = mh.uid('pgconc')
        texts = ['turn number %d about llamas' % i for i in range(12)]
        results = []

        def one(i):
            results.append(send(a if i % 2 else b, user, texts[i]).status)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * len(texts))
        mem = mh.wait_memory(a, user, lambda m: sum(1 for x in m['archive'] if x['role'] == 'user') >= 12,
                             what='every turn in the archive')
        said = sorted(x['content'] for x in mem['archive'] if x['role'] == 'user')
        self.assertEqual(said, sorted(texts), 'a turn was lost or recorded twice')

    def test_batches_of_several_proxies_extract_each_turn_once(self):
        """Issue 33: both proxies take the user's pending turns in batches
        (claimed in one transaction); no turn goes into two batches."""
        up = {'api_key': 'sk-zqxsecret-pgbatch-33'}
        mem = {'mode': 'hybrid', 'job_lease_seconds': 15, 'extract_batch_turns': 3,
               'extract_idle_seconds': 0}
        st = {'backend': 'postgres', 'postgres_url': self.pg.url}
        a = self.start_proxy(workers=2, storage=st, memory=mem, upstream=up)
        b = self.start_proxy(workers=2, storage=st, memory=mem, upstream=up)
        user = mh.uid('pgbatch')
        texts = ['My favorite thing%d is item%d.' % (i, i) for i in range(12)]
        n0 = mh.last_n(self.fake)
        results = []

        def one(i):
            results.append(send(a if i % 2 else b, user, texts[i]).status)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(texts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * len(texts))
        # Two proxies racing on one user's batches under load can each lose a
        # fold or a claim and retry with backoff (1, 2, 4 ... s): slack for that
        mh.wait_memory(a, user, lambda m: len(m['entities']) == len(texts), timeout=120,
                       what='a fact from every turn')
        sent = []
        for req in mh.job_requests(self.fake, 'extract', after=n0):
            text = mh.body_json(req)['messages'][-1]['content']
            sent += [ln[len('user: '):] for ln in text.split('\n') if ln.startswith('user: ')]
        self.assertEqual(sorted(x for x in sent if x in texts), sorted(texts),
                         'a turn was extracted twice, or never')

    def two_knowing_aarhus(self, prefix):
        """Proxies A and B on the database, and a user who told A that they
        live in Aarhus, the fact extracted and A's queue empty."""
        a, b = self.pg_proxy(), self.pg_proxy()
        user = mh.uid(prefix)
        self.assertOK(send(a, user, 'My name is Ada. I live in Aarhus.'))
        mh.wait_memory(a, user, lambda m: mh.entity_map(m).get('city') == 'Aarhus', what='fact')
        mh.wait_idle(a)
        return a, b, user

    def test_erasure_through_one_is_seen_by_the_other(self):
        # A's readers keep the snapshots they built (storage/pg/store_pg_rcache.h):
        # the user erased through B, A's very next read injects nothing of it
        a, b, user = self.two_knowing_aarhus('pgdel')
        for _ in range(6):  # every loop of A's and its connections built and kept it
            s = send(a, user, 'Where do I live?', x_memory='read')
            self.assertOK(s)
            self.assertIn('Aarhus', json.dumps(self.injection(s).elements))
        r = b.request('DELETE', '/v1/memory', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        for _ in range(6):
            s = send(a, user, 'Where do I live?', x_memory='read')
            self.assertOK(s)
            self.assertIsNone(s.header('x-memory-error'))
            self.assertNotIn(b'Aarhus', mh.upstream_body(self.fake, s))
        mem = mh.get_memory(a, user)
        self.assertEqual((mem['buffer'], mem['entities'], mem['summary']['text']), ([], [], None))

    def test_a_fact_erased_through_one_is_not_injected_by_the_other(self):
        # A's workers keep the facts they read (docs/operations.md, "The
        # recent users' facts"); B erases one: A's next reads must see it gone
        a, b, user = self.two_knowing_aarhus('pgkept')
        for _ in range(4):  # on both of A's workers, most likely: each keeps its own
            s = send(a, user, 'Where do I live?')
            self.assertOK(s)
            self.assertIn('city: Aarhus', json.dumps(self.injection(s).elements))
        mh.wait_idle(a)
        r = b.request('DELETE', '/v1/memory/entities/city', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        for _ in range(4):
            s = send(a, user, 'Where do I live?')
            self.assertOK(s)
            self.assertNotIn('city: Aarhus', json.dumps(self.injection(s).elements))


    def test_a_fact_changed_through_one_is_read_at_once_through_another(self):
        # B's readers keep the snapshots they built, checked against the
        # row's version by each read's own statement (storage/pg/store_pg_rcache.h):
        # A's change must show in B's very next read, not in a later one
        a, b, user = self.two_knowing_aarhus('pgrcache')
        h = [('X-User-Id', user), ('Content-Type', 'application/json')]

        def city_through_b():
            s = send(b, user, 'Where do I live?', x_memory='read')
            self.assertOK(s)
            self.assertIsNone(s.header('x-memory-error'))
            return re.findall(r'city: (\w+)', json.dumps(self.injection(s).elements))
        for _ in range(6):  # every loop of B's and its connections built and kept it
            self.assertEqual(city_through_b(), ['Aarhus'])
        before = self.rounds(b)
        for city in ('Odense', 'Vejle', 'Aalborg'):
            r = a.request('PUT', '/v1/memory/entities/city', h, json.dumps({'value': city}).encode())
            self.assertEqual(r.status // 100, 2, r)
            for _ in range(3):
                self.assertEqual(city_through_b(), [city])
        # each read was its one statement: a snapshot found unchanged was in B's cache
        after = self.rounds(b)
        self.assertEqual(after['user'] - before['user'], 9)
        self.assertEqual(after['transaction'], before['transaction'])


TOKEN = 'zqxsecret-adm-copystore-5a4b3c2d1e'


class CopyStore(PgCase):
    """memproxy ctl copy-store: LMDB to PostgreSQL and back, the exports
    before and after equal."""

    def ctl(self, *args, check=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')}
        r = subprocess.run([harness.MEMPROXY_BIN, 'ctl'] + list(args), env=env, capture_output=True,
                           text=True, timeout=120)
        if check:
            self.assertEqual(r.returncode, 0, 'ctl %s: %s' % (' '.join(args), r.stderr))
        return r

    def export_all(self, p):
        token = os.path.join(self.tmpdir, 'token')
        with open(token, 'w') as f:
            f.write(TOKEN + '\n')
        out = self.ctl('--admin', 'http://127.0.0.1:%d' % p.admin_port, '--token-file', token, 'users',
                       'export', '--all').stdout
        return [json.loads(line) for line in out.splitlines()]

    def ini(self, name, storage):
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            f.write('[storage]\n' + ''.join('%s = %s\n' % kv for kv in storage.items()))
        return path

    def proxy_on(self, storage):
        return self.start_proxy(workers=1, storage=storage, memory={'mode': 'hybrid'},
                                sections={'admin': {'token': TOKEN}})

    def test_lmdb_to_postgres_and_back(self):
        self.tmpdir = tempfile.mkdtemp(prefix='memproxy-copy-')
        self.addCleanup(subprocess.run, ['rm', '-rf', self.tmpdir])
        lmdb = {'path': os.path.join(self.tmpdir, 'lmdb-a')}
        a = self.proxy_on(lmdb)
        users = [mh.uid('copy'), mh.uid('copy')]
        self.assertOK(send(a, users[0], 'My name is Ola. I live in Oslo.'))
        self.assertOK(send(a, users[1], 'My name is Bo. I live in Bergen.'))
        for u in users:
            mh.wait_memory(a, u, lambda m: len(m['entities']) > 0, what='facts')
        r = a.request('PUT', '/v1/memory/settings', [('X-User-Id', users[1])], b'{"mode":"read"}')
        self.assertEqual(r.status, 200, r)
        mh.wait_idle(a)
        before = self.export_all(a)
        self.assertEqual({x['user'] for x in before}, set(users))
        self.assertIn('settings', {x['type'] for x in before})
        self.stop_checked(a)

        self.pg.sql('CREATE DATABASE copy1')
        pg = {'backend': 'postgres', 'postgres_url': self.pg.url.rsplit('/', 1)[0] + '/copy1'}
        r = self.ctl('copy-store', '--from', self.ini('a.ini', lmdb), '--to', self.ini('pg.ini', pg))
        self.assertRegex(r.stdout, r'^copied \d+ records \(2 users\) from ')
        b = self.proxy_on(pg)
        self.assertEqual(self.export_all(b), before, 'the export changed on the way to PostgreSQL')
        self.stop_checked(b)

        back = {'path': os.path.join(self.tmpdir, 'lmdb-c')}
        self.ctl('copy-store', '--from', self.ini('pg.ini', pg), '--to', self.ini('c.ini', back))
        c = self.proxy_on(back)
        self.assertEqual(self.export_all(c), before, 'the export changed on the way back to LMDB')
        s = send(c, users[0], 'Where do I live?')
        self.assertIn('Oslo', json.dumps(self.injection(s).elements))
        self.stop_checked(c)

        # a destination that holds memory is refused, and keeps it
        r = self.ctl('copy-store', '--from', self.ini('a.ini', lmdb), '--to', self.ini('c.ini', back),
                     check=False)
        self.assertEqual(r.returncode, 5, r.stderr)
        self.assertIn('not empty', r.stderr)
        r = self.ctl('copy-store', '--from', self.ini('a.ini', lmdb), check=False)
        self.assertEqual(r.returncode, 1, r.stderr)


class NonBlocking(PgCase):
    """The request path never waits on the database: with the memory table
    locked, a worker whose memory read is stuck still answers its other
    requests at once; the stuck read gives up at postgres_read_timeout_ms
    and its request goes upstream without memory; memory comes back when
    the lock goes. The connections stay within workers x postgres_pool."""

    def test_a_stuck_read_blocks_no_other_request(self):
        # workers x postgres_pool = 3: the memory worker's, the admin plane's and the loop's one
        st = {'backend': 'postgres', 'postgres_url': self.pg.url, 'postgres_pool': 3,
              'postgres_read_timeout_ms': 5000}
        p = self.start_proxy(workers=1, storage=st, memory={'mode': 'hybrid'})
        user = mh.uid('nb')
        self.assertOK(send(p, user, 'My name is Nia. I live in Nantes.'))
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('city') == 'Nantes', what='the fact')
        mh.wait_idle(p)
        lock = subprocess.Popen(['psql', '-Atq', self.pg.url], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            lock.stdin.write('BEGIN; LOCK TABLE mp_kv IN ACCESS EXCLUSIVE MODE; SELECT 1;\n')
            lock.stdin.flush()
            self.assertEqual(lock.stdout.readline().strip(), '1')  # the lock is held
            stuck = {}

            def read_memory():
                t0 = time.monotonic()
                # X-Memory: read: nothing to record, whose commit would wait on the lock
                stuck['sent'] = send(p, user, 'Where do I live?', x_memory='read')
                stuck['seconds'] = time.monotonic() - t0
            t = threading.Thread(target=read_memory)
            t.start()
            # its read is waiting on the lock now (it gives up only after 5 s)
            mh.wait_for(lambda: self.pg.sql("SELECT count(*) FROM pg_stat_activity "
                                            "WHERE wait_event_type = 'Lock'") != '0',
                        what='the memory read waiting on the lock')
            other = send(p, mh.uid('nb-other'), 'hello', x_memory='off')
            # answered while the read was still stuck: it did not wait on it
            other_before_stuck = 'sent' not in stuck
            t.join(harness.WAIT)
        finally:
            lock.stdin.write('ROLLBACK;\n')
            lock.stdin.close()
            lock.wait(10)
        self.assertOK(other)
        self.assertTrue(other_before_stuck, 'a request of the same worker waited on the stuck read')
        self.assertIn('sent', stuck, 'the stuck read never gave up (postgres_read_timeout_ms=5000)')
        s = stuck['sent']
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(s.header('x-memory-error'), 'storage_unavailable')
        self.assertGreaterEqual(stuck['seconds'], 4.9)
        s = send(p, user, 'Where do I live?')
        self.assertOK(s)
        self.assertIsNone(s.header('x-memory-error'))
        self.assertIn('Nantes', json.dumps(self.injection(s).elements))

    def test_connections_stay_within_the_pool(self):
        st = {'backend': 'postgres', 'postgres_url': self.pg.url, 'postgres_pool': 2}
        p = self.start_proxy(workers=2, storage=st, memory={'mode': 'hybrid'})
        users = [mh.uid('pool') for _ in range(4)]
        for u in users:
            self.assertOK(send(p, u, 'My name is Pat. I live in Perth.'))
        results = []

        def one(i):
            results.append(send(p, users[i % 4], 'Where do I live? %d' % i).status)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * 40)
        opened = int(self.pg.sql("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE application_name = 'memproxy'"))
        # workers x postgres_pool = 4: one for each worker's loop (it keeps its own), one
        # each for the memory worker and the admin plane
        self.assertGreaterEqual(opened, 2)
        self.assertLessEqual(opened, 2 * 2)

    def test_a_budget_without_a_connection_per_loop_is_refused(self):
        with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as f:
            f.write('[server]\nworkers = 1\n[storage]\nbackend = postgres\n'
                    'postgres_url = %s\npostgres_pool = 2\n' % self.pg.url)
        self.addCleanup(os.unlink, f.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')}
        r = subprocess.run([harness.MEMPROXY_BIN, '--check-config', '-c', f.name],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('postgres_pool (2) x [server] workers (1) must be at least workers + 2',
                      r.stdout + r.stderr)
        self.assertNotIn(self.pg.url, r.stdout + r.stderr)
        # workers auto: the same rule at start, once the count is known (pool 1 never leaves
        # a loop a connection)
        with open(f.name, 'w') as g:
            g.write('[storage]\nbackend = postgres\npostgres_url = %s\npostgres_pool = 1\n'
                    % self.pg.url)
        r = subprocess.run([harness.MEMPROXY_BIN, '-c', f.name], capture_output=True, text=True,
                           timeout=30, env=env)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('postgres_pool (1) x workers (', r.stderr)
        self.assertIn('auto) must be at least workers + 2', r.stderr)
        self.assertNotIn(self.pg.url, r.stdout + r.stderr)


class BigUser(PgCase):
    """A user of more records than one statement brings (4,096, postings
    aside) is read in rounds of one read-only transaction: the same
    injection as LMDB gives for the same memory; a small user's read is
    one statement."""

    def test_a_big_user_is_read_in_rounds_and_injected_as_on_lmdb(self):
        cfg = dict(memory={'mode': 'hybrid'},
                   sections={'admin': {'token': mh.ADMIN_TOKEN},
                             'governance': {'retention_days': 0, 'pii_retention_days': 0}})
        pg = self.start_proxy(workers=1, storage={'backend': 'postgres', 'postgres_url': self.pg.url},
                              **cfg)
        lm = self.start_proxy(workers=1, **cfg)
        user, small = mh.uid('pgbig'), mh.uid('pgsmall')
        base = 1700000000000
        lines = [mh.message('user' if i % 2 == 0 else 'assistant',
                            'note %d of the harbour log: tide %d, wind %d knots' % (i, i % 13, i % 29),
                            mh.iso_ms(base + i * 60000)) for i in range(1500)]
        lines.append(mh.message('user', 'my kayak is named zqxpaddle', mh.iso_ms(base + 1500 * 60000)))
        for p in (pg, lm):
            r = mh.import_lines(p, user, lines)
            self.assertEqual(r.status, 200, r)
            r = mh.import_lines(p, small, lines[-3:])
            self.assertEqual(r.status, 200, r)
        before = self.rounds(pg)
        s_pg = send(pg, user, 'What is my kayak named?', x_memory='read')
        s_lm = send(lm, user, 'What is my kayak named?', x_memory='read')
        for s in (s_pg, s_lm):
            self.assertOK(s)
            self.assertIsNone(s.header('x-memory-error'))
        self.assertIn('zqxpaddle', json.dumps(self.injection(s_pg).elements))
        self.assertEqual(self.injection(s_pg).elements, self.injection(s_lm).elements)
        after = self.rounds(pg)
        self.assertEqual(after['transaction'] - before['transaction'], 1)  # rounds of its own
        self.assertGreaterEqual(after['fetch'] - before['fetch'], 1)
        # a small user: one statement, no transaction
        s = send(pg, small, 'What is my kayak named?', x_memory='read')
        self.assertIn('zqxpaddle', json.dumps(self.injection(s).elements))
        last = self.rounds(pg)
        self.assertEqual(last['user'] - after['user'], 1)
        self.assertEqual(last['transaction'], after['transaction'])
        self.assertEqual(last['fetch'], after['fetch'])
        # the big user has no snapshot to read (an empty one says so); the small one has
        self.assertEqual(self.snapshot_len(user), 0)
        self.assertGreater(self.snapshot_len(small), 0)

    def test_relevance_ceiling_as_on_lmdb(self):
        """Issue 34: scoring stops at [memory] relevance_max_postings on
        PostgreSQL as on LMDB, with the same injection and the same count."""
        # head_share 0: one scoring call per kind (a lone question is a first
        # turn, whose head would be scored apart from its tail)
        cfg = dict(memory={'mode': 'hybrid', 'relevance_max_postings': 200, 'head_share': 0},
                   sections={'admin': {'token': mh.ADMIN_TOKEN},
                             'governance': {'retention_days': 0, 'pii_retention_days': 0}})
        pg = self.start_proxy(workers=1, storage={'backend': 'postgres', 'postgres_url': self.pg.url},
                              **cfg)
        lm = self.start_proxy(workers=1, **cfg)
        user = mh.uid('pgceil')
        base = 1700000000000
        lines = [mh.message('user' if i % 2 == 0 else 'assistant',
                            'note %d: the deploy function threw an error again' % i,
                            mh.iso_ms(base + i * 60000)) for i in range(300)]
        lines.append(mh.message('user', 'the deploy function threw an error in zqxtown',
                                mh.iso_ms(base + 300 * 60000)))
        got = []
        for p in (pg, lm):
            self.assertEqual(mh.import_lines(p, user, lines).status, 200)
            s = send(p, user, 'Why did the deploy function throw an error in zqxtown?', x_memory='read')
            self.assertOK(s)
            self.assertIsNone(s.header('x-memory-error'))
            got.append((self.injection(s).elements, p.metric('memproxy_relevance_capped_total'),
                        p.metric('memproxy_relevance_postings_total')))
        self.assertIn('zqxtown', json.dumps(got[0][0]))
        self.assertEqual(got[0], got[1])
        self.assertEqual(got[0][1], 1)
        self.assertLessEqual(got[0][2], 200)

    def test_search_mcp_and_explain_of_a_big_user_as_on_lmdb(self):
        """Issue 36: the search, the MCP search tool and explain read a big
        user in rounds (the read runs again over more records) and answer
        as LMDB does for the same memory."""
        cfg = dict(memory={'mode': 'hybrid'},
                   sections={'admin': {'token': mh.ADMIN_TOKEN}, 'mcp': {'enabled': 'true'},
                             'governance': {'retention_days': 0, 'pii_retention_days': 0}})
        pg = self.start_proxy(workers=1, storage={'backend': 'postgres', 'postgres_url': self.pg.url},
                              **cfg)
        lm = self.start_proxy(workers=1, **cfg)
        user = mh.uid('pgsearch')
        base = 1700000000000
        lines = [mh.message('user' if i % 2 == 0 else 'assistant',
                            'note %d of the harbour log: tide %d, wind %d knots' % (i, i % 13, i % 29),
                            mh.iso_ms(base + i * 60000)) for i in range(1500)]
        lines.append(mh.message('user', 'my kayak is named zqxpaddle', mh.iso_ms(base + 1500 * 60000)))
        lines.append(mh.fact('boat', 'a red kayak', mh.iso_ms(base)))
        answers = []
        for p in (pg, lm):
            r = mh.import_lines(p, user, lines)
            self.assertEqual(r.status, 200, r)
            before = p.metric('memproxy_postgres_read_rounds_total', round='fetch') if p is pg else 0
            r = p.request('GET', '/v1/memory/search?q=What+is+my+kayak+named%3F&limit=5', [('X-User-Id', user)])
            self.assertEqual(r.status, 200, r)
            found = r.json()
            body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                               'params': {'name': 'search_memory',
                                          'arguments': {'query': 'What is my kayak named?', 'limit': 5}}})
            r = p.request('POST', '/mcp', [('X-User-Id', user), ('Content-Type', 'application/json')],
                          body.encode())
            self.assertEqual(r.status, 200, r)
            tool = r.json()['result']
            r = mh.admin_request(p, 'POST', '/admin/users/%s/explain' % mh.qid(user),
                                 json.dumps({'model': 'x', 'messages': [
                                     {'role': 'user', 'content': 'What is my kayak named?'}]}).encode(),
                                 'application/json')
            self.assertEqual(r.status, 200, r)
            answers.append((found, tool['structuredContent'], tool['content'], r.json()['sections']))
            if p is pg:
                self.assertGreaterEqual(p.metric('memproxy_postgres_read_rounds_total', round='fetch') - before, 2)
        # the same items and scores; a fact's provenance names the import
        # request that stated it, which each proxy numbered itself
        self.assertEqual(*[re.sub(r'req_[0-9a-f]+', 'req_', json.dumps(a)) for a in answers])
        self.assertIn('zqxpaddle', answers[0][0]['results'][0]['text'] + answers[0][0]['results'][1]['text'])

    def snapshot_len(self, user):
        """The length of the user's snapshot in mp_usnap (its part: the
        user id's length, u16be, then the id), or None without one."""
        out = self.pg.sql("SELECT length(v) FROM mp_usnap WHERE part = '%s'" % user_part(user))
        return int(out) if out else None

    def snapshot_format_and_rows_bytes(self, user):
        """The snapshot's format byte, and the bytes its rows take in
        format 1 (each row: its key and value and 10 bytes of lengths)."""
        part = user_part(user)
        fmt = self.pg.sql("SELECT get_byte(v, 0) FROM mp_usnap WHERE part = '%s'" % part)
        rows = self.pg.sql("SELECT sum(10 + length(k) + length(v)) FROM mp_kv WHERE part = '%s' "
                           "AND t IN (1, 5, 9, 11, 12, 14)" % part)
        return int(fmt), int(rows)

    def test_a_users_snapshot_answers_as_its_rows_and_follows_every_write(self):
        cfg = dict(memory={'mode': 'hybrid'}, sections={'admin': {'token': mh.ADMIN_TOKEN}})
        pg = self.start_proxy(workers=1, storage={'backend': 'postgres', 'postgres_url': self.pg.url},
                              **cfg)
        lm = self.start_proxy(workers=1, **cfg)
        user = mh.uid('pgsnap')
        base = 1700000000000
        lines = [mh.message('user', 'my kayak is named zqxpaddle', mh.iso_ms(base)),
                 mh.message('assistant', 'a fine name for a kayak', mh.iso_ms(base + 1000))]
        for p in (pg, lm):
            r = mh.import_lines(p, user, lines)
            self.assertEqual(r.status, 200, r)
        self.assertGreater(self.snapshot_len(user), 0)
        # packed by memproxy in LZ4 (the keys repeat the user id): fewer bytes than its rows
        fmt, rows_bytes = self.snapshot_format_and_rows_bytes(user)
        self.assertEqual(fmt, 2)
        self.assertLess(self.snapshot_len(user), 1 + rows_bytes)
        question = 'What is my kayak named?'

        def injected(p):
            s = send(p, user, question, x_memory='read')
            self.assertOK(s)
            self.assertIsNone(s.header('x-memory-error'))
            return self.injection(s).elements
        want = injected(lm)
        self.assertIn('zqxpaddle', json.dumps(want))
        before = self.rounds(pg)
        self.assertEqual(injected(pg), want)  # from the snapshot
        # without a snapshot (a table emptied by hand) the rows answer, alike, in one statement
        self.pg.sql('TRUNCATE mp_usnap')
        self.assertEqual(injected(pg), want)
        after = self.rounds(pg)
        self.assertEqual(after['user'] - before['user'], 2)
        self.assertEqual(after['transaction'], before['transaction'])
        self.assertEqual(after['fetch'], before['fetch'])
        # a write makes it again, with what the write added
        more = [mh.message('user', 'my tent is named zqxcanvas', mh.iso_ms(base + 2000))]
        for p in (pg, lm):
            r = mh.import_lines(p, user, more)
            self.assertEqual(r.status, 200, r)
        self.assertGreater(self.snapshot_len(user), 0)
        question = 'What are my kayak and my tent named?'
        want = injected(lm)
        self.assertIn('zqxcanvas', json.dumps(want))
        self.assertEqual(injected(pg), want)
        # and a write over a snapshot replaces it
        more = [mh.message('user', 'my bike is named zqxpedal', mh.iso_ms(base + 3000))]
        for p in (pg, lm):
            r = mh.import_lines(p, user, more)
            self.assertEqual(r.status, 200, r)
        question = 'What are my kayak, my tent and my bike named?'
        want = injected(lm)
        self.assertIn('zqxpedal', json.dumps(want))
        self.assertEqual(injected(pg), want)
        # past MP_PG_USNAP_BYTES_MAX (64 KiB) of rows the snapshot is empty, and the rows answer
        long = ['harbour log entry %d: ' % i + 'the tide and the wind were noted at length. ' * 8
                for i in range(200)]
        more = [mh.message('user', text, mh.iso_ms(base + 4000 + i * 1000)) for i, text in enumerate(long)]
        for p in (pg, lm):
            r = mh.import_lines(p, user, more)
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.snapshot_len(user), 0)
        want = injected(lm)
        self.assertIn('zqxpedal', json.dumps(want))
        self.assertEqual(injected(pg), want)
        # erasing the user takes the snapshot with it
        r = pg.request('DELETE', '/v1/memory', [('X-User-Id', user)])
        self.assertEqual(r.status, 204, r)
        self.assertIsNone(self.snapshot_len(user))
        s = send(pg, user, question, x_memory='read')
        self.assertOK(s)
        self.assertTransparent(s)


class Outage(PgCase):
    """PostgreSQL down, then back: chat keeps answering without memory, the
    turns of the outage wait in the bounded queue and are recorded when the
    database returns, /readyz says why meanwhile, and that held turns are
    still draining once it is back."""

    def test_turns_of_an_outage_are_recorded_when_the_database_returns(self):
        p = self.pg_proxy()
        user = mh.uid('outage')
        self.assertOK(send(p, user, 'My name is Una. I live in Ulm.'))
        mh.wait_memory(p, user, lambda m: mh.entity_map(m).get('city') == 'Ulm', what='the first fact')
        mh.wait_idle(p)
        subprocess.run([CLUSTER, 'down', self.pg.dir], check=True)
        try:
            said = []
            for i in range(6):
                text = 'outage turn %d about otters' % i
                s = send(p, user, text)
                self.assertEqual(s.status, 200, s.resp)  # chat goes on
                # nothing read; the turn held (writes fail once one was tried)
                self.assertIn(s.header('x-memory-error'),
                              ('storage_unavailable', 'storage_unavailable, storage_error'))
                said.append(text)
            r = harness.request(p.admin_port, 'GET', '/readyz')
            self.assertEqual(r.status, 503, r)
            self.assertRegex(bytes(r.body), rb'^storage unavailable\nheld_turns: [1-6]\n$')
            self.assertGreaterEqual(p.metric('memproxy_memory_queue_depth'), 6)  # held, not dropped
            self.assertEqual(p.metric('memproxy_memory_jobs_total', kind='record', result='dropped'), 0)
            # tried again 250, 500, 1000 and 2000 ms apart: after ~4 s the next
            # try is 4 s away, long after the database is back
            mh.wait_for(lambda: mh.jobs_metric(p, 'record', 'retry') >= 6 * 6, 10, 'six tries of the held turns')
        finally:
            subprocess.run([CLUSTER, 'up', self.pg.dir], check=True)
        # the request path's connections are open again
        deadline = harness.wait_deadline(5)
        while p.request('GET', '/v1/memory', [('X-User-Id', user)]).status != 200:
            self.assertLess(time.monotonic(), deadline, 'memory reads did not come back')
            time.sleep(0.1)
        # the held turns wait for their next try: until they are in, /readyz
        # says how many are still held, and never ready
        self.assertOK(send(p, user, 'back again'))
        while True:
            r = harness.request(p.admin_port, 'GET', '/readyz')
            if r.status == 200 and bytes(r.body) == b'ready\n':
                break
            self.assertRegex(bytes(r.body), rb'^(storage unavailable|degraded: (held_turns|storage_error))\n'
                                            rb'held_turns: [1-7]\n$')
            self.assertLess(time.monotonic(), deadline + 30, 'the held turns never drained')
            time.sleep(0.05)
        archive = [x['content'] for x in mh.get_memory(p, user)['archive']]
        self.assertEqual(sum('otters' in a for a in archive), 6, '/readyz said ready with turns still held')
        mem = mh.wait_memory(p, user, lambda m: sum('otters' in x['content'] for x in m['archive']) == 6,
                             timeout=30, what='the outage turns, recorded once the database is back')
        self.assertEqual(sorted(x['content'] for x in mem['archive'] if 'otters' in x['content']), said)
        mh.wait_idle(p)
        self.assertEqual(harness.request(p.admin_port, 'GET', '/readyz').status, 200)
        self.assertTrue(p.wait_log(lambda o: 'held turns recorded' in o.get('msg', ''), 5))


class Governance(PgCase):
    """Sealed before it reaches PostgreSQL: a canary fact and user id are in
    no table (pg_dump); erasing the user leaves no row of it, and after
    VACUUM FULL (POST /admin/compact) no file under the data directory holds
    the canary."""

    CANARY = 'zqxcanary-pg-fact-31415'
    CANARY_USER = 'zqxcanary-pg-user-27182'

    def dump(self, db_url):
        """The database's rows as pg_dump writes them (bytea in hex)."""
        return subprocess.run(['pg_dump', '--data-only', '--inserts', db_url], check=True,
                              capture_output=True, text=True).stdout

    @staticmethod
    def holds(dump, text):
        return text in dump or text.encode().hex() in dump

    def data_files_hold(self, needle):
        found = subprocess.run(['grep', '-rla', needle, os.path.join(self.pg.dir, 'data')],
                               capture_output=True, text=True).stdout
        return found.strip()

    def teach(self, p):
        r = p.request('PUT', '/v1/memory/entities/secret_word', [('X-User-Id', self.CANARY_USER),
                      ('Content-Type', 'application/json')], json.dumps({'value': self.CANARY}).encode())
        self.assertEqual(r.status, 200, r)
        self.assertOK(send(p, self.CANARY_USER, 'Remember ' + self.CANARY + ' for me.'))
        mh.wait_idle(p)

    def test_sealed_store_keeps_the_canary_off_the_server(self):
        base = self.pg.url.rsplit('/', 1)[0]
        keydir = tempfile.mkdtemp(prefix='memproxy-pgkey-')
        self.addCleanup(shutil.rmtree, keydir, True)
        keyf = os.path.join(keydir, 'key')
        with open(keyf, 'w') as f:
            f.write('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n')
        os.chmod(keyf, 0o600)
        self.pg.sql('CREATE DATABASE sealed1')
        st = {'backend': 'postgres', 'postgres_url': base + '/sealed1', 'encryption_key_file': keyf}
        p = self.start_proxy(workers=1, storage=st, sections={'admin': {'token': TOKEN}})
        self.teach(p)
        dump = self.dump(base + '/sealed1')
        self.assertGreater(dump.count('INSERT INTO'), 10)
        self.assertFalse(self.holds(dump, self.CANARY), 'the canary fact is in a table')
        self.assertFalse(self.holds(dump, self.CANARY_USER), 'the canary user id is in a table')
        self.assertFalse(self.holds(dump, 'zqxcanary'), 'part of a canary is in a table')
        # erasure: no row of the user's is left (their part: the hashed id)
        users_rows = "SELECT count(*) FROM mp_kv WHERE length(part) > 0"
        snapshots = "SELECT count(*) FROM mp_usnap"
        self.assertGreater(int(self.pg.sql_in('sealed1', users_rows)), 5)
        self.assertEqual(self.pg.sql_in('sealed1', snapshots), '1')
        r = p.request('DELETE', '/v1/memory', [('X-User-Id', self.CANARY_USER)])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.pg.sql_in('sealed1', users_rows), '0')
        self.assertEqual(self.pg.sql_in('sealed1', snapshots), '0', 'the snapshot outlived the user')
        r = harness.request(p.admin_port, 'POST', '/admin/compact', [('Authorization', 'Bearer ' + TOKEN)])
        self.assertEqual(r.status, 200, r)
        self.stop_checked(p)
        self.pg.sql('CHECKPOINT')
        for text in (self.CANARY, self.CANARY_USER):
            self.assertEqual(self.data_files_hold(text), '', 'these files hold %s' % text)
        # the same memory in clear is in the dump: the scans can see it
        self.pg.sql('CREATE DATABASE clear1')
        p = self.start_proxy(workers=1, storage={'backend': 'postgres', 'postgres_url': base + '/clear1'})
        self.teach(p)
        self.stop_checked(p)
        dump = self.dump(base + '/clear1')
        self.assertTrue(self.holds(dump, self.CANARY) and self.holds(dump, self.CANARY_USER))
        self.pg.sql('CHECKPOINT')
        self.assertNotEqual(self.data_files_hold(self.CANARY), '')


class PageLinks(PgCase):
    """A user's revoked links are refused by every proxy on the database
    (docs/memory-page.md, "Signing out"), and erasure through one voids
    them for the memory written after it through another."""

    def page_proxy(self):
        return self.pg_proxy(sections={'admin': {'token': mh.ADMIN_TOKEN},
                                       'page': {'listen': '127.0.0.1:0', 'link_key': ph.LINK_KEY}})

    def city(self, p, link):
        r = ph.api(p, 'GET', 'memory', link)
        return r.status, (r.json()['entities'][0]['value'] if r.status == 200 and r.json()['entities'] else None)

    def test_revoked_through_one_proxy_refused_by_another(self):
        a, b = self.page_proxy(), self.page_proxy()
        user = mh.uid('pglink')
        self.assertEqual(mh.import_lines(a, user, [mh.fact('city', 'Oslo', '2024-03-01T10:00:00Z')]).status, 200)
        leaked = ph.old_token(user)
        self.assertEqual(self.city(b, leaked), (200, 'Oslo'))
        r = mh.admin_request(a, 'POST', '/admin/users/%s/revoke-links' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        for p in (a, b):
            self.assertOpenAIError(ph.api(p, 'GET', 'memory', leaked), 403, 'revoked_page_link')
        self.assertEqual(self.city(b, ph.token(user)), (200, 'Oslo'))

    def test_erasure_through_one_voids_links_for_new_memory_through_another(self):
        a, b = self.page_proxy(), self.page_proxy()
        user = mh.uid('pgerase')
        self.assertEqual(mh.import_lines(a, user, [mh.fact('city', 'Oslo', '2024-03-01T10:00:00Z')]).status, 200)
        leaked = ph.old_token(user)
        r = mh.admin_request(b, 'DELETE', '/admin/users/%s/memory' % mh.qid(user))
        self.assertIn(r.status, (200, 204), r)
        self.assertEqual(mh.import_lines(a, user, [mh.fact('city', 'Lima', '2024-03-02T10:00:00Z')]).status, 200)
        r = ph.api(a, 'GET', 'memory', leaked)
        self.assertOpenAIError(r, 403, 'revoked_page_link')
        self.assertNotIn(b'Lima', bytes(r.body))
        self.assertEqual(self.city(b, ph.token(user)), (200, 'Lima'))


class Schema(PgCase):

    def test_migrate_is_idempotent_and_start_without_it_is_refused(self):
        env = dict(os.environ, MEMPROXY_STORAGE_BACKEND='postgres', MEMPROXY_STORAGE_POSTGRES_URL=self.pg.url)
        env = {k: v for k, v in env.items() if not k.startswith('MEMPROXY_') or k.startswith('MEMPROXY_STORAGE')}
        self.pg.sql('DROP TABLE IF EXISTS mp_kv, mp_usnap, mp_schema')
        r = subprocess.run([harness.MEMPROXY_BIN, '--migrate'], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('from version 0 to 3', r.stdout)
        r = subprocess.run([harness.MEMPROXY_BIN, '--migrate'], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('already at version 3', r.stdout)
        self.assertEqual(self.pg.sql('SELECT version FROM mp_schema'), '3')
        self.assertEqual(self.pg.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'mp_kv_part'"), '1')
        # a schema of version 1 (no part index, no snapshots) is upgraded in place, rows kept
        self.pg.sql('DROP INDEX mp_kv_part')
        self.pg.sql('DROP TABLE mp_usnap')
        self.pg.sql('UPDATE mp_schema SET version = 1')
        self.pg.sql("INSERT INTO mp_kv VALUES (0, 'x', '', 'kept')")
        r = subprocess.run([harness.MEMPROXY_BIN, '--migrate'], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('from version 1 to 3', r.stdout)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'mp_kv_part'"), '1')
        self.assertEqual(self.pg.sql("SELECT to_regclass('mp_usnap') IS NOT NULL"), 't')
        self.assertEqual(self.pg.sql("SELECT count(*) FROM mp_kv WHERE k = 'x'"), '1')
        self.pg.sql('DROP TABLE mp_kv, mp_usnap, mp_schema')
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
