"""The bounds of an import (docs/admin-import-export.md "Bounds of an import"; issue
70, requirement 1): imports fill at most [memory] import_queue_share of
the memory queue (429 queue_full with Retry-After past it, counted), so
another user's chat turn is still recorded; per-import and per-user limits
of messages, facts and memory-model tokens a day refuse with their name
and numbers (409 import_limit, 409 memory_full, 429 import_quota); the
file is read on the memory worker, so the admin loop answers /readyz
while a file is being read; a ZIP's conversations.json inflates to at most
32 MiB, so a 255 KB ZIP bomb costs the process no more than that (VmHWM
read from /proc before and after). The day's tokens are kept in the
store: a restart keeps them, and proxies sharing one PostgreSQL store
share them."""

import io
import json
import os
import sys
import threading
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402
from test_import_formats import chatgpt_export  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'process'))
from test_postgres import Database  # noqa: E402

SECTIONS = {'admin': {'token': mh.ADMIN_TOKEN},
            'governance': {'retention_days': 0, 'pii_retention_days': 0}}
UP = {'api_key': 'sk-import-bounds'}
# extraction jobs wait for a batch of 64 or an hour, so the queue keeps them
WAITING = {'mode': 'entity', 'extract_batch_turns': 64, 'extract_idle_seconds': 3600}
TURN = 'I keep %d beehives behind the shed in %s and sell the honey at the market.'


def turns(n, tag):
    return [('%s-%d' % (tag, i), [('user', TURN % (i, tag), 1700000000 + 100 * i),
                                  ('assistant', 'Bees are wonderful.', 1700000001 + 100 * i)])
            for i in range(n)]


def memory_text(n, tag):
    return ''.join('Has a hobby number %d called %s\n' % (i, tag) for i in range(n)).encode()


def vm_hwm_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM in /proc/%d/status' % pid)


class BoundsCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS, 'upstream': UP,
                    'memory': dict(WAITING, queue_max=20, import_queue_share=50)}

    def imp(self, user, body, fmt, proxy=None, query=''):
        path = '/admin/users/%s/import?format=%s%s' % (mh.qid(user), fmt, query)
        return mh.admin_request(proxy or self.proxy, 'POST', path, body, 'application/octet-stream',
                                timeout=120)

    def refused(self, fmt, reason, proxy=None):
        return (proxy or self.proxy).metric('memproxy_imports_refused_total', format=fmt, reason=reason) or 0

    def assertStoresNothing(self, user, proxy=None):
        self.assertOpenAIError(mh.admin_memory(proxy or self.proxy, user), 404, 'not_found')


class QueueShare(BoundsCase):
    def test_imports_fill_their_share_then_429_and_a_chat_turn_is_recorded(self):
        a, b, c = mh.uid('qa'), mh.uid('qb'), mh.uid('qc')
        before = self.refused('chatgpt', 'queue_full')
        # 8 jobs: within the 10 items imports may fill (50% of 20)
        r = self.imp(a, chatgpt_export(turns(8, 'a')), 'chatgpt')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['extraction']['turns'], 8)
        depth = self.proxy.metric('memproxy_memory_queue_depth')
        self.assertGreaterEqual(depth, 8)
        # 8 more would pass the share: refused whole, with Retry-After, counted
        r = self.imp(b, chatgpt_export(turns(8, 'b')), 'chatgpt')
        self.assertOpenAIError(r, 429, 'queue_full')
        self.assertEqual(r.header('Retry-After'), '60', r.body)
        msg = r.json()['error']['message']
        self.assertIn('import_queue_share, 50% of queue_max', msg)
        self.assertIn("this import's 8 would pass the 10 imports may fill", msg)
        self.assertEqual(self.refused('chatgpt', 'queue_full'), before + 1)
        self.assertStoresNothing(b)
        # the dry run says the same before anything is sent
        r = self.imp(b, chatgpt_export(turns(8, 'b')), 'chatgpt', query='&dry_run=true')
        self.assertOpenAIError(r, 429, 'queue_full')
        # the queue never went past the share
        self.assertLessEqual(self.proxy.metric('memproxy_memory_queue_depth'), 10)
        # without extraction the import is one item: it fits
        r = self.imp(b, chatgpt_export(turns(8, 'b')), 'chatgpt', query='&extract_max_tokens=0')
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['messages'], r.json()['extraction']['turns']), (16, 0))
        # another user's chat turn is recorded: the headroom is the chat's,
        # whatever imports hold
        sent = mh.send(self.proxy, c, 'My sister lives in Lisbon.')
        self.assertEqual(sent.status, 200)
        self.assertIsNone(sent.header('X-Memory-Error'))
        mem = mh.wait_memory(self.proxy, c, lambda m: m['buffer'], what='the turn recorded')
        self.assertIn(('user', 'My sister lives in Lisbon.'), mh.buffer_pairs(mem))

    def test_file_bytes_past_the_share_of_queue_max_bytes(self):
        p = self.start_proxy(sections=SECTIONS, upstream=UP,
                             memory=dict(WAITING, queue_max_bytes=65536, import_queue_share=50))
        user = mh.uid('qbytes')
        body = memory_text(900, 'x' * 20)  # over 32 KiB: half of 64 KiB
        self.assertGreater(len(body), 32768)
        r = self.imp(user, body, 'memory-text', proxy=p)
        self.assertOpenAIError(r, 429, 'queue_full')
        self.assertEqual(r.header('Retry-After'), '60')
        self.assertIn('import_queue_share, 50% of queue_max_bytes', r.json()['error']['message'])
        self.assertEqual(self.refused('memory-text', 'queue_full', proxy=p), 1)
        self.assertStoresNothing(user, proxy=p)
        r = self.imp(user, memory_text(10, 'y'), 'memory-text', proxy=p)
        self.assertEqual(r.status, 200, r)


class PageUpload(BoundsCase):
    """The page's /api/import calls the same import: a person's link is
    bounded by the same share, and another person's turn still goes in."""

    PROXY_CONFIG = {'workers': 1, 'upstream': UP,
                    'memory': dict(WAITING, queue_max=20, import_queue_share=50),
                    'sections': dict(SECTIONS, security={'user_signature_key': ph.SIGN_KEY},
                                     page={'listen': '127.0.0.1:0', 'link_key': ph.LINK_KEY})}

    def upload(self, user, body):
        return ph.api(self.proxy, 'POST', 'import?format=chatgpt', ph.token(user), body,
                      [('Content-Type', 'application/json')])

    def test_page_uploads_bounded_and_a_chat_turn_recorded(self):
        a, b, c = mh.uid('pa'), mh.uid('pb'), mh.uid('pc')
        self.assertEqual(self.upload(a, chatgpt_export(turns(8, 'pa'))).status, 200)
        r = self.upload(b, chatgpt_export(turns(8, 'pb')))
        self.assertOpenAIError(r, 429, 'queue_full')
        self.assertEqual(r.header('Retry-After'), '60')
        self.assertEqual(self.refused('chatgpt', 'queue_full'), 1)
        self.assertStoresNothing(b)
        sent = mh.send(self.proxy, c, 'My brother lives in Porto.',
                       extra_headers=[('X-User-Signature', ph.signature(c))])
        self.assertEqual(sent.status, 200)
        self.assertIsNone(sent.header('X-Memory-Error'))
        mh.wait_for(lambda: b'My brother lives in Porto.' in bytes(mh.admin_memory(self.proxy, c).body),
                    what='the turn recorded')


class Limits(BoundsCase):
    PROXY_CONFIG = {'workers': 1, 'sections': SECTIONS, 'upstream': UP,
                    'memory': dict(WAITING, import_max_messages=6, import_max_facts=3,
                                   max_messages_per_user=10, max_facts_per_user=5)}

    def test_messages_and_facts_per_import(self):
        user = mh.uid('perimp')
        before = self.refused('chatgpt', 'limit')
        r = self.imp(user, chatgpt_export(turns(4, 'p')), 'chatgpt')  # 8 messages
        self.assertOpenAIError(r, 409, 'import_limit')
        self.assertEqual(r.json()['error']['message'],
                         'The file holds more than 6 messages, the most one import may hold '
                         '(import_max_messages). Nothing was imported; import it in parts, or ask '
                         'the operator to raise the limit.')
        self.assertIsNone(r.header('Retry-After'))
        self.assertEqual(self.refused('chatgpt', 'limit'), before + 1)
        r = self.imp(user, memory_text(4, 'p'), 'memory-text')
        self.assertOpenAIError(r, 409, 'import_limit')
        self.assertIn('more than 3 facts', r.json()['error']['message'])
        self.assertIn('import_max_facts', r.json()['error']['message'])
        self.assertStoresNothing(user)

    def test_a_conversation_of_empty_nodes_is_read_only_so_far(self):
        user = mh.uid('nodes')
        mapping = {'n%d' % i: {} for i in range(30)}  # 4 x 6 entries at most
        body = json.dumps([{'id': 'c', 'mapping': mapping, 'current_node': None}]).encode()
        r = self.imp(user, body, 'chatgpt')
        self.assertOpenAIError(r, 409, 'import_limit')
        self.assertIn('more than 24 entries', r.json()['error']['message'])
        body = json.dumps([{'uuid': 'c', 'chat_messages': [{} for _ in range(30)]}]).encode()
        r = self.imp(user, body, 'claude')
        self.assertOpenAIError(r, 409, 'import_limit')
        self.assertStoresNothing(user)

    def test_messages_and_facts_of_a_user_in_all(self):
        user = mh.uid('inall')
        self.assertEqual(self.imp(user, chatgpt_export(turns(3, 'u')), 'chatgpt').status, 200)
        r = self.imp(user, chatgpt_export(turns(3, 'v')), 'chatgpt')
        self.assertOpenAIError(r, 409, 'import_limit')
        self.assertEqual(r.json()['error']['message'],
                         "The user keeps 6 messages, and this import's 6 would pass the 10 one user "
                         'may keep (max_messages_per_user). Nothing was imported.')
        self.assertEqual(len([i for i in self.export(user) if i['type'] == 'message']), 6)
        self.assertEqual(self.imp(user, memory_text(3, 'f'), 'memory-text').status, 200)
        r = self.imp(user, memory_text(3, 'g'), 'memory-text')
        self.assertOpenAIError(r, 409, 'memory_full')
        self.assertEqual(r.json()['error']['message'],
                         "The user has 3 facts, and this import's 3 would pass the 5 one user may "
                         'keep (max_facts_per_user). Nothing was imported.')
        self.assertEqual(len([i for i in self.export(user) if i['type'] == 'fact']), 3)

    def export(self, user):
        r = mh.admin_request(self.proxy, 'GET', '/admin/users/%s/export?limit=1000' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        return [json.loads(ln) for ln in r.body.splitlines()]


class DayTokens(BoundsCase):
    def test_tokens_of_the_day_per_user(self):
        user, other = mh.uid('day'), mh.uid('dayother')
        dry = self.imp(user, chatgpt_export(turns(2, 'd0')), 'chatgpt', query='&dry_run=true')
        self.assertEqual(dry.status, 200, dry)
        cost = dry.json()['extraction']['tokens']
        limit = cost + cost // 2
        p = self.start_proxy(sections=SECTIONS, upstream=UP,
                             memory=dict(WAITING, max_model_tokens_per_user_day=limit))
        self.assertEqual(self.imp(user, chatgpt_export(turns(2, 'd1')), 'chatgpt', proxy=p).status, 200)
        r = self.imp(user, chatgpt_export(turns(2, 'd2')), 'chatgpt', proxy=p)
        self.assertOpenAIError(r, 429, 'import_quota')
        wait = int(r.header('Retry-After'))
        self.assertTrue(0 < wait <= 86400, wait)
        left = limit - cost
        self.assertEqual(r.json()['error']['message'],
                         'This import would send about {:,} tokens to the memory model, and {:,} of '
                         "the user's {:,} a day are left today (max_model_tokens_per_user_day; days "
                         'are UTC). Nothing was imported; try again tomorrow, or import with '
                         'extract_max_tokens={:,}.'.format(cost, left, limit, left))
        self.assertEqual(self.refused('chatgpt', 'quota', proxy=p), 1)
        # what the refusal suggests imports; another user has a day of their own
        r = self.imp(user, chatgpt_export(turns(2, 'd2')), 'chatgpt', proxy=p,
                     query='&extract_max_tokens=%d' % left)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.imp(other, chatgpt_export(turns(2, 'd3')), 'chatgpt', proxy=p).status, 200)

    def day_cost(self, user):
        dry = self.imp(user, chatgpt_export(turns(2, 'c0')), 'chatgpt', query='&dry_run=true')
        self.assertEqual(dry.status, 200, dry)
        return dry.json()['extraction']['tokens']

    def assertQuota(self, r, cost, left, limit):
        self.assertOpenAIError(r, 429, 'import_quota')
        self.assertIn('about {:,} tokens to the memory model, and {:,} of the user\'s {:,} a day are '
                      'left today'.format(cost, left, limit), r.json()['error']['message'])

    def test_the_day_outlives_a_restart(self):
        user = mh.uid('dayrestart')
        cost = self.day_cost(user)
        limit = cost + cost // 2
        storage = {'path': self.storage_dir(), 'sync': 'full'}
        memory = dict(WAITING, max_model_tokens_per_user_day=limit)
        p = self.start_proxy(sections=SECTIONS, upstream=UP, storage=storage, memory=memory)
        self.assertEqual(self.imp(user, chatgpt_export(turns(2, 'r1')), 'chatgpt', proxy=p).status, 200)
        self.stop_checked(p)
        # a new process on the same store: the day's spend is the store's
        p = self.start_proxy(sections=SECTIONS, upstream=UP, storage=storage, memory=memory)
        r = self.imp(user, chatgpt_export(turns(2, 'r2')), 'chatgpt', proxy=p)
        self.assertQuota(r, cost, limit - cost, limit)
        self.assertEqual(self.refused('chatgpt', 'quota', proxy=p), 1)
        # erasing the user does not give the day back
        self.assertEqual(mh.admin_request(p, 'DELETE', '/admin/users/%s/memory' % mh.qid(user)).status, 204)
        self.assertStoresNothing(user, proxy=p)
        r = self.imp(user, chatgpt_export(turns(2, 'r3')), 'chatgpt', proxy=p)
        self.assertQuota(r, cost, limit - cost, limit)
        self.assertStoresNothing(user, proxy=p)

    def test_proxies_on_one_postgres_share_the_day(self):
        user = mh.uid('daypg')
        cost = self.day_cost(user)
        limit = cost + cost // 2
        db = Database()
        storage = {'backend': 'postgres', 'postgres_url': db.url}
        memory = dict(WAITING, max_model_tokens_per_user_day=limit)
        a = self.start_proxy(sections=SECTIONS, upstream=UP, storage=storage, memory=memory)
        b = self.start_proxy(sections=SECTIONS, upstream=UP, storage=storage, memory=memory)
        self.assertEqual(self.imp(user, chatgpt_export(turns(2, 'p1')), 'chatgpt', proxy=a).status, 200)
        # the other proxy reads the day the first one spent
        r = self.imp(user, chatgpt_export(turns(2, 'p2')), 'chatgpt', proxy=b)
        self.assertQuota(r, cost, limit - cost, limit)
        self.assertEqual(self.refused('chatgpt', 'quota', proxy=b), 1)
        self.assertEqual(mh.admin_memory(b, user).status, 200)
        # one record in the store's spend table (24): the day and its tokens,
        # under a keyed hash of the user id, which it does not hold
        day = int(time.time()) // 86400
        rows = db.sql("SELECT encode(k, 'hex'), encode(v, 'hex') FROM mp_kv WHERE t = 25").split('\n')
        self.assertEqual(len(rows), 1, rows)
        key, value = rows[0].split('|')
        self.assertNotIn(user.encode().hex(), key)
        value = bytes.fromhex(value)[-16:]
        self.assertIn(int.from_bytes(value[:8], 'little'), (day, day + 1))
        self.assertEqual(int.from_bytes(value[8:], 'little'), cost)


class OffTheLoop(BoundsCase):
    def test_readyz_answers_while_the_worker_reads_a_file(self):
        p = self.start_proxy(sections=SECTIONS, upstream=UP, memory=WAITING,
                             env={'MEMPROXY_TEST_IMPORT_READ_DELAY_MS': '3000'})
        user = mh.uid('loop')
        events = []
        done = threading.Event()

        def upload():
            r = self.imp(user, chatgpt_export(turns(50, 'big')), 'chatgpt', proxy=p)
            events.append(('import', r.status))
            done.set()
        t = threading.Thread(target=upload)
        t.start()
        # the file is with the worker once its bytes count in the queue
        p.wait_metric('memproxy_memory_queue_bytes', lambda v: (v or 0) > 0, timeout=30)
        r = harness.request(p.admin_port, 'GET', '/readyz')
        events.append(('readyz', r.status))
        t.join(60)
        self.assertTrue(done.is_set())
        # the loop answered while the worker read: /readyz came first
        self.assertEqual(events, [('readyz', 200), ('import', 200)])


class ZipPeak(BoundsCase):
    # a ZIP's conversations.json inflates to at most 32 MiB; the peak of
    # such an import stays under the bound docs/admin-api.md states for it
    BOUND_KIB = 48 * 1024

    def bomb(self, inflated):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            with z.open('conversations.json', 'w', force_zip64=True) as f:
                f.write(b'[')
                chunk = b' ' * (1 << 20)
                for _ in range(inflated >> 20):
                    f.write(chunk)
                f.write(b']')
        return buf.getvalue()

    # ASan keeps freed blocks in quarantine (held small here), and its
    # realloc copies: the old block and the new one live at once
    ASAN_ENV = {'ASAN_OPTIONS': (os.environ.get('ASAN_OPTIONS', '') + ':quarantine_size_mb=4'
                                 ':thread_local_quarantine_size_kb=64').lstrip(':')}

    def test_a_255_kb_zip_bomb_costs_at_most_its_bound(self):
        p = self.start_proxy(sections=SECTIONS, upstream=UP, memory=WAITING, env=self.ASAN_ENV)
        with open('/proc/%d/maps' % p.proc.pid) as f:
            bound = self.BOUND_KIB * (2 if 'libasan' in f.read() else 1)
        user = mh.uid('bomb')
        body = self.bomb(250 << 20)
        self.assertLess(len(body), 300 * 1024)
        # warm: a small import first, so the bound measures the bomb alone
        self.assertEqual(self.imp(user, chatgpt_export(turns(1, 'w')), 'chatgpt', proxy=p).status, 200)
        before = vm_hwm_kib(p.proc.pid)
        r = self.imp(user, body, 'chatgpt', proxy=p)
        after = vm_hwm_kib(p.proc.pid)
        self.assertOpenAIError(r, 400, 'invalid_import_line')
        self.assertIn('conversations.json inflates past 32 MiB', r.json()['error']['message'])
        sys.stderr.write('ZIP of %d bytes: VmHWM %d KiB before, %d KiB after (+%d KiB)\n'
                         % (len(body), before, after, after - before))
        self.assertLess(after - before, bound)


class ConfigBounds(BoundsCase):
    def test_bounds_checked_with_file_and_line(self):
        for key, value in (('import_queue_share', 95), ('import_queue_share', 0),
                           ('import_max_messages', 0), ('import_max_facts', 0),
                           ('max_messages_per_user', 0)):
            p = harness.Proxy(self.fake.base_url, memory={key: value})
            try:
                rc, out, err = p.run(['--check-config'])
            finally:
                p.tmp.cleanup()
            self.assertNotEqual(rc, 0, (key, value))
            self.assertRegex(err, r'memproxy\.ini:\d+: ', (key, value))
            self.assertIn(key, err)


if __name__ == '__main__':
    harness.main('proxy_import_bounds')
