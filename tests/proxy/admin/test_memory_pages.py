"""Pages of a large user's memory (docs/admin-api.md, "Pages"): the memory's
facts (entities_cursor, entities_limit), the history (cursor, limit) and the
export (X-Next-Cursor) are bounded per answer; following the cursors gives
every item exactly once, on the admin API, the memory page's /api/ and
GET /v1/memory alike; a bad cursor is 400 naming it; and serving a user of
many facts leaves the process's peak RSS (VmHWM) bounded."""

import json
import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'page'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
import pagehelpers as ph  # noqa: E402
from memhelpers import fact, message  # noqa: E402

ADMIN = {'admin': {'token': mh.ADMIN_TOKEN}}
AT = '2024-03-01T10:00:00Z'


def facts(n, prefix='k'):
    # keys of several lengths, so that the store's byte order is not the
    # order of the numbers
    return [fact('%s%d' % (prefix, i), 'value number %d' % i, AT) for i in range(n)]


def messages(n):
    return [message('user' if i % 2 == 0 else 'assistant', 'message number %d' % i, AT)
            for i in range(n)]


def raw_get(port, path, http10=False, slow=False, headers=()):
    """GET path over a raw socket: (head text, the body as sent, de-chunked
    body). slow: a reader that takes 4 KiB at a time with a pause, through
    a small receive buffer, so the proxy's output backs up."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if slow:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(60)
    s.connect(('127.0.0.1', port))
    lines = ['GET %s HTTP/%s' % (path, '1.0' if http10 else '1.1'), 'Host: x',
             'Authorization: Bearer ' + mh.ADMIN_TOKEN, 'Connection: close'] + list(headers)
    s.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode())
    data = bytearray()
    while True:
        b = s.recv(4096 if slow else 1 << 20)
        if not b:
            break
        data += b
        if slow:
            time.sleep(0.0005)
    s.close()
    head, _, raw = bytes(data).partition(b'\r\n\r\n')
    head = head.decode('latin-1')
    if 'transfer-encoding: chunked' not in head.lower():
        return head, raw, raw
    body, rest = bytearray(), raw
    while True:
        size, _, rest = rest.partition(b'\r\n')
        n = int(size, 16)
        if n == 0:
            assert rest == b'\r\n', rest[:40]
            return head, raw, bytes(body)
        body += rest[:n]
        assert rest[n:n + 2] == b'\r\n'
        rest = rest[n + 2:]


def head_field(head, name):
    for line in head.split('\r\n')[1:]:
        k, _, v = line.partition(':')
        if k.strip().lower() == name:
            return v.strip()
    return None


def vm_hwm_kb(p):
    with open('/proc/%d/status' % p.pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise AssertionError('no VmHWM')


class Pages(mh.MemCase):
    # a large user: more facts than one import may hold by default (import_max_facts)
    PROXY_CONFIG = {'workers': 2, 'sections': ADMIN, 'memory': {'mode': 'hybrid', 'import_max_facts': 100000}}

    def adm(self, path, proxy=None):
        return mh.admin_request(proxy or self.proxy, 'GET', path)

    def import_ok(self, user, items, proxy=None):
        r = mh.import_lines(proxy or self.proxy, user, items)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def follow(self, path, param, page_of, proxy=None):
        """[page, ...] from path, following the next page's cursor as the
        query parameter param; page_of(r) is (the page's items, the next
        cursor or None)."""
        pages, cursor = [], None
        while True:
            r = self.adm(path + ('' if cursor is None else '&%s=%s' % (param, cursor)), proxy)
            self.assertEqual(r.status, 200, r)
            items, cursor = page_of(r)
            pages.append(items)
            if cursor is None:
                return pages
            self.assertLess(len(pages), 10000, 'the cursor does not end')

    def memory_facts(self, user, query, proxy=None):
        """Every fact through the memory's entities cursor: [page, ...]."""
        return self.follow('/admin/users/%s/memory?limit=1%s' % (mh.qid(user), query), 'entities_cursor',
                           lambda r: (r.json()['entities'], r.json()['entities_next_cursor']), proxy)

    def history_pages(self, user, query='', proxy=None):
        return self.follow('/admin/users/%s/history?x=1%s' % (mh.qid(user), query), 'cursor',
                           lambda r: (r.json()['history'], r.json()['history_next_cursor']), proxy)

    def export_pages(self, user, query='', proxy=None):
        """[[line dict, ...] per page] following X-Next-Cursor."""
        def page_of(r):
            text = bytes(r.body).decode()
            self.assertTrue(text == '' or text.endswith('\n'), text[-100:])
            return [json.loads(x) for x in text.splitlines()], r.header('x-next-cursor')
        return self.follow('/admin/users/%s/export?x=1%s' % (mh.qid(user), query), 'cursor', page_of, proxy)

    # -- facts ---------------------------------------------------------------

    def test_facts_paged_every_fact_once(self):
        user = mh.uid('pages-facts')
        self.import_ok(user, facts(3000))
        first = self.adm('/admin/users/%s/memory' % mh.qid(user)).json()
        self.assertEqual(len(first['entities']), 1000, 'the default page of facts')
        self.assertIsNotNone(first['entities_next_cursor'])
        self.assertIn('archive_next_cursor', first)
        pages = self.memory_facts(user, '&entities_limit=700')
        self.assertEqual([len(p) for p in pages], [700, 700, 700, 700, 200])
        keys = [e['key'] for p in pages for e in p]
        self.assertEqual(len(keys), len(set(keys)), 'a fact on two pages')
        self.assertEqual(set(keys), {'k%d' % i for i in range(3000)})
        self.assertEqual(keys, sorted(keys, key=lambda k: k.encode()), 'pages out of key order')
        values = {e['key']: e['value'] for p in pages for e in p}
        self.assertEqual(values['k2999'], 'value number 2999')

    def test_fact_added_between_pages_moves_nothing(self):
        user = mh.uid('pages-moving')
        self.import_ok(user, facts(30))
        r = self.adm('/admin/users/%s/memory?entities_limit=10' % mh.qid(user)).json()
        seen = [e['key'] for e in r['entities']]
        # a key sorting before the cursor, and one after it
        self.import_ok(user, [fact('a0', 'new', AT), fact('zz9', 'new too', AT)])
        cursor = r['entities_next_cursor']
        while cursor is not None:
            r = self.adm('/admin/users/%s/memory?entities_limit=10&entities_cursor=%s'
                         % (mh.qid(user), cursor)).json()
            seen += [e['key'] for e in r['entities']]
            cursor = r['entities_next_cursor']
        self.assertEqual(len(seen), len(set(seen)))
        self.assertTrue({'k%d' % i for i in range(30)} <= set(seen), 'a fact was skipped')
        self.assertIn('zz9', seen)

    def test_user_api_and_page_api_page_facts(self):
        user = mh.uid('pages-v1')
        self.import_ok(user, facts(1500))
        keys, cursor = [], None
        while True:
            q = '?entities_limit=400' + ('&entities_cursor=' + cursor if cursor else '')
            r = self.proxy.request('GET', '/v1/memory' + q, [('X-User-Id', user)])
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            keys += [e['key'] for e in doc['entities']]
            cursor = doc['entities_next_cursor']
            if cursor is None:
                break
        self.assertEqual(sorted(keys), sorted('k%d' % i for i in range(1500)))
        self.assertEqual(len(keys), 1500)
        first = self.proxy.request('GET', '/v1/memory', [('X-User-Id', user)]).json()
        self.assertEqual(len(first['entities']), 1000)
        r = self.proxy.request('GET', '/v1/memory?entities_cursor=%21', [('X-User-Id', user)])
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        self.assertIn('entities_cursor', r.json()['error']['message'])
        r = self.proxy.request('GET', '/v1/memory?entities_cursor=AAAAA', [('X-User-Id', user)])
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        r = self.proxy.request('GET', '/v1/memory?entities_limit=1001', [('X-User-Id', user)])
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        self.assertIn('entities_limit', r.json()['error']['message'])

    # -- history -------------------------------------------------------------

    def test_history_paged_every_entry_once(self):
        user = mh.uid('pages-hist')
        self.import_ok(user, facts(2500))
        pages = self.history_pages(user, '&limit=1000')
        self.assertGreaterEqual(len(pages), 3)
        self.assertTrue(all(len(p) <= 1000 for p in pages))
        seqs = [h['seq'] for p in pages for h in p]
        self.assertEqual(len(seqs), len(set(seqs)), 'an entry on two pages')
        self.assertEqual(seqs, sorted(seqs), 'oldest first')
        added = {h['key'] for p in pages for h in p if h['item'] == 'fact' and h['event'] == 'added'}
        self.assertEqual(added, {'k%d' % i for i in range(2500)})
        whole = self.adm('/admin/users/%s/history' % mh.qid(user)).json()
        self.assertEqual(len(whole['history']), 1000, 'the default page of history')
        self.assertEqual(whole['history'], pages[0])

    # -- export --------------------------------------------------------------

    def test_export_followed_gives_every_item_once(self):
        user = mh.uid('pages-export')
        self.import_ok(user, facts(2200) + messages(1300))
        r = mh.admin_request(self.proxy, 'PUT', '/admin/users/%s/settings' % mh.qid(user),
                             json.dumps({'mode': 'read'}).encode(), 'application/json')
        self.assertEqual(r.status, 200, r)
        pages = self.export_pages(user, '&limit=500')
        self.assertTrue(all(sum(1 for x in p if x['type'] not in ('settings', 'summary')) <= 500
                            for p in pages), [len(p) for p in pages])
        lines = [x for p in pages for x in p]
        types = [x['type'] for x in lines]
        self.assertEqual(types[0], 'settings')
        self.assertEqual(types.count('settings'), 1)
        facts_seen = [x['key'] for x in lines if x['type'] == 'fact']
        self.assertEqual(len(facts_seen), 2200)
        self.assertEqual(set(facts_seen), {'k%d' % i for i in range(2200)})
        contents = [x['content'] for x in lines if x['type'] == 'message']
        self.assertEqual(contents, ['message number %d' % i for i in range(1300)])
        hist = [x['seq'] for x in lines if x['type'] == 'history']
        self.assertEqual(len(hist), len(set(hist)))
        self.assertEqual(hist, [h['seq'] for p in self.history_pages(user) for h in p])
        # the parts in the order of the unpaged export
        order = {'settings': 0, 'fact': 1, 'message': 2, 'summary': 3, 'history': 4}
        self.assertEqual(types, sorted(types, key=order.get))
        # the pages concatenated import back as the same memory
        other = mh.uid('pages-export-back')
        back = '\n'.join(json.dumps(x) for x in lines if x['type'] in ('fact', 'message'))
        self.import_ok(other, back.encode() + b'\n')
        again = [x['key'] for p in self.export_pages(other) for x in p if x['type'] == 'fact']
        self.assertEqual(sorted(again), sorted(facts_seen))

    def test_export_default_page_and_old_archive_cursor(self):
        user = mh.uid('pages-export-old')
        self.import_ok(user, facts(5) + messages(30))
        pages = self.export_pages(user)
        self.assertEqual(len(pages), 1, 'a small user exports in one page')
        # an archive cursor as an export wrote before (the seq of a message)
        seqs = [x['seq'] for x in pages[0] if x['type'] == 'message']
        r = self.adm('/admin/users/%s/export?cursor=%d' % (mh.qid(user), seqs[9]))
        self.assertEqual(r.status, 200, r)
        got = [json.loads(x) for x in bytes(r.body).decode().splitlines()]
        self.assertEqual([x['seq'] for x in got if x['type'] == 'message'], seqs[10:])
        self.assertNotIn('fact', [x['type'] for x in got])

    def test_export_page_of_long_messages_stops_past_4_mib(self):
        user = mh.uid('pages-long')
        long = [message('user', ('%04d ' % i) + 'word ' * 3000, AT) for i in range(400)]  # 15 kB each
        self.import_ok(user, long)
        r = self.adm('/admin/users/%s/export' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(r.header('x-next-cursor'), 'six MB of messages in one page')
        self.assertLess(len(r.body), 4 * 1024 * 1024 + 100 * 20 * 1024)
        got = [x['content'][:4] for p in self.export_pages(user) for x in p if x['type'] == 'message']
        self.assertEqual(got, ['%04d' % i for i in range(400)])

    def test_bad_cursors_400_naming_them(self):
        user = mh.uid('pages-bad')
        self.import_ok(user, facts(3))
        for path, param in (('memory?cursor=abc', 'cursor'),
                            ('memory?entities_cursor=%2A', 'entities_cursor'),
                            ('memory?entities_cursor=A', 'entities_cursor'),
                            ('memory?entities_limit=0', 'entities_limit'),
                            ('history?cursor=x1', 'cursor'),
                            ('history?cursor=01', 'cursor'),
                            ('history?limit=1001', 'limit'),
                            ('export?cursor=zz', 'cursor'),
                            ('export?cursor=f', 'cursor'),
                            ('export?cursor=h0', 'cursor'),
                            ('export?cursor=bb', 'cursor')):
            r = self.adm('/admin/users/%s/%s' % (mh.qid(user), path))
            self.assertOpenAIError(r, 400, 'invalid_parameter')
            self.assertIn(param, r.json()['error']['message'], path)

    # -- the export, streamed --------------------------------------------------

    def raw_export_pages(self, port, user, query='', **kw):
        """[[line, ...] per page] through raw_get, following X-Next-Cursor;
        every page's head checked as streamed."""
        pages, cursor = [], None
        while True:
            head, raw, body = raw_get(port, '/admin/users/%s/export?x=1%s%s' % (
                mh.qid(user), query, '' if cursor is None else '&cursor=' + cursor), **kw)
            self.assertTrue(head.startswith('HTTP/1.1 200'), head)
            self.assertIsNone(head_field(head, 'content-length'), head)
            if kw.get('http10'):
                self.assertIsNone(head_field(head, 'transfer-encoding'), head)
                self.assertEqual(head_field(head, 'connection'), 'close')
            else:
                self.assertEqual(head_field(head, 'transfer-encoding'), 'chunked', head)
            text = body.decode()
            self.assertTrue(text == '' or text.endswith('\n'), text[-100:])
            pages.append([json.loads(x) for x in text.splitlines()])
            cursor = head_field(head, 'x-next-cursor')
            if cursor is None:
                return pages
            self.assertLess(len(pages), 1000, 'the cursor does not end')

    def test_export_arrives_chunked_every_item_once(self):
        user = mh.uid('pages-chunked')
        self.import_ok(user, facts(1200) + messages(900))
        for kw in ({}, {'http10': True}):
            pages = self.raw_export_pages(self.proxy.admin_port, user, '&limit=700', **kw)
            self.assertGreaterEqual(len(pages), 3, kw)
            lines = [x for p in pages for x in p]
            keys = [x['key'] for x in lines if x['type'] == 'fact']
            self.assertEqual(sorted(keys), sorted('k%d' % i for i in range(1200)))
            self.assertEqual(len(keys), 1200)
            contents = [x['content'] for x in lines if x['type'] == 'message']
            self.assertEqual(contents, ['message number %d' % i for i in range(900)])
            hist = [x['seq'] for x in lines if x['type'] == 'history']
            self.assertEqual(len(hist), len(set(hist)))
            # the same pages as the harness's client reads
            self.assertEqual(pages, self.export_pages(user, '&limit=700'))

    def test_export_client_leaving_mid_page_leaves_the_proxy_healthy(self):
        user = mh.uid('pages-leave')
        long = [message('user', ('%04d ' % i) + 'word ' * 800, AT) for i in range(2000)]  # 4 kB each
        self.import_ok(user, long)
        for _ in range(20):
            s = socket.create_connection(('127.0.0.1', self.proxy.admin_port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(('GET /admin/users/%s/export HTTP/1.1\r\nHost: x\r\n'
                       'Authorization: Bearer %s\r\n\r\n' % (mh.qid(user), mh.ADMIN_TOKEN)).encode())
            self.assertIn(b'chunked', s.recv(2048))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
            s.close()  # a reset: the proxy's writes fail mid-page
        r = self.adm('/admin/users/%s/export?limit=10' % mh.qid(user))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len([x for x in bytes(r.body).decode().splitlines()]), 10)
        got = [x['content'][:4] for p in self.export_pages(user) for x in p if x['type'] == 'message']
        self.assertEqual(got, ['%04d' % i for i in range(2000)])
        self.assertEqual(self.adm('/livez').status, 200)

    def test_slow_reader_gets_everything_in_bounded_memory(self):
        # 3,000 messages of 3 kB (9 MB, three pages) read through slow
        # clients from a fresh memproxy on the same store: its peak RSS
        # (VmHWM) grows by what one page's stream holds, not by a page
        # (built whole, a 3.3 MB page grew it by 8 MB: its text and the
        # output buffer's copy)
        storage = self.storage_dir()
        kw = {'memory': {'mode': 'hybrid', 'import_max_messages': 100000,
                         'max_messages_per_user': 1000000}, 'sections': ADMIN,
              'storage': {'path': storage, 'sync': 'none'},
              'env': {'ASAN_OPTIONS': (os.environ.get('ASAN_OPTIONS', '') + ':quarantine_size_mb=4'
                                       ':thread_local_quarantine_size_kb=64').lstrip(':')}}
        p = self.start_proxy(**kw)
        user = mh.uid('pages-slow')
        for part in range(2):
            self.import_ok(user, [message('user', ('%05d ' % (part * 1500 + i)) + 'word ' * 600, AT)
                                  for i in range(1500)], proxy=p)
        self.stop_checked(p)
        p = self.start_proxy(**kw)
        # the store's mapped pages read in once, in small pages (they count
        # in RSS too)
        cursor = ''
        while cursor is not None:
            r = self.adm('/admin/users/%s/memory?entities_limit=1&limit=50%s' % (mh.qid(user), cursor), p)
            self.assertEqual(r.status, 200, r)
            c = r.json()['archive_next_cursor']
            cursor = None if c is None else '&cursor=' + c
        self.adm('/admin/users/%s/history' % mh.qid(user), p)
        base = vm_hwm_kb(p.proc)
        got = []
        for pg in self.raw_export_pages(p.admin_port, user, slow=True):
            got += [int(x['content'][:5]) for x in pg if x['type'] == 'message']
        self.assertEqual(got, list(range(3000)))
        grown = vm_hwm_kb(p.proc) - base
        if os.environ.get('MPTEST_SHOW_RSS'):
            print('export: VmHWM %d kB, grew %d kB' % (vm_hwm_kb(p.proc), grown), file=sys.stderr)
        self.assertLess(grown, 6 * 1024, 'peak RSS grew %d kB streaming the export' % grown)

    def test_memory_archive_page_stops_at_its_byte_bound(self):
        user = mh.uid('pages-mem-long')
        long = [message('user', ('%04d ' % i) + 'word ' * 3000, AT) for i in range(400)]  # 15 kB each
        self.import_ok(user, long)
        got, cursor, sizes = [], None, []
        while True:
            r = self.adm('/admin/users/%s/memory?limit=1000&entities_limit=1%s'
                         % (mh.qid(user), '' if cursor is None else '&cursor=' + cursor))
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            text = sum(len(m['content']) for m in doc['archive'])
            sizes.append(len(doc['archive']))
            self.assertLess(text, 4 * 1024 * 1024 + 16 * 1024, 'past the byte bound')
            got += [m['content'][:4] for m in doc['archive']]
            cursor = doc['archive_next_cursor']
            if cursor is None:
                break
        self.assertGreaterEqual(len(sizes), 2, 'six MB of messages in one memory page')
        self.assertEqual(got, ['%04d' % i for i in range(400)])
        # the user's own GET /v1/memory pages the same way
        r = self.proxy.request('GET', '/v1/memory?limit=1000', [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json()['archive']), sizes[0])

    # -- memory --------------------------------------------------------------

    def test_peak_rss_bounded_serving_a_large_user(self):
        # 20,000 facts, then a fresh memproxy on the same store (so its
        # VmHWM is its own): every page of the memory, history and export
        # read; unpaged, the memory answer alone built a JSON tree of
        # hundreds of MB.
        storage = self.storage_dir()
        kw = {'memory': {'mode': 'hybrid', 'import_max_facts': 100000}, 'sections': ADMIN,
              'storage': {'path': storage, 'sync': 'none'},
              # in the ASan build: freed memory back in use soon, as in the plain one
              'env': {'ASAN_OPTIONS': (os.environ.get('ASAN_OPTIONS', '') + ':quarantine_size_mb=4'
                                       ':thread_local_quarantine_size_kb=64').lstrip(':')}}
        p = self.start_proxy(**kw)
        user = mh.uid('pages-big')
        items = [fact('fact_key_%06d' % i, 'a value of some length, number %d, %s' % (i, 'x' * 60), AT)
                 for i in range(20000)]
        self.import_ok(user, items, proxy=p)
        self.stop_checked(p)
        p = self.start_proxy(**kw)
        self.adm('/admin/users/%s/memory?limit=1&entities_limit=1' % mh.qid(user), p)
        base = vm_hwm_kb(p.proc)
        sizes = []
        for path in ('memory', 'history', 'export'):
            r = self.adm('/admin/users/%s/%s' % (mh.qid(user), path), p)
            self.assertEqual(r.status, 200, r)
            sizes.append(len(r.body))
        self.assertTrue(all(s < 2 * 1024 * 1024 for s in sizes), sizes)
        n = sum(len(x) for x in self.memory_facts(user, '&entities_limit=1000', p))
        self.assertEqual(n, 20000)
        n = sum(1 for pg in self.export_pages(user, '', p) for x in pg if x['type'] == 'fact')
        self.assertEqual(n, 20000)
        grown = vm_hwm_kb(p.proc) - base
        self.assertLess(grown, 48 * 1024, 'peak RSS grew %d kB serving the pages' % grown)


class PageApi(mh.MemCase):
    """The memory page's /api/ (the admin routes of the link's user): the
    same pages and cursors."""
    PROXY_CONFIG = {'workers': 1, 'memory': {'import_max_facts': 100000}, 'sections': {
        'admin': {'token': mh.ADMIN_TOKEN},
        'page': {'listen': '127.0.0.1:0', 'link_key': ph.LINK_KEY}}}

    def follow(self, link, path, param, items, nxt):
        out, cursor = [], None
        while True:
            r = ph.api(self.proxy, 'GET', path + ('' if cursor is None else '&%s=%s' % (param, cursor)), link)
            self.assertEqual(r.status, 200, r)
            out += items(r)
            cursor = nxt(r)
            if cursor is None:
                return out
            self.assertLess(len(out), 100000)

    def test_page_api_pages_facts_history_and_export(self):
        user = mh.uid('pages-page')
        r = mh.import_lines(self.proxy, user, facts(1300) + messages(40))
        self.assertEqual(r.status, 200, r)
        link = ph.token(user)
        first = ph.api(self.proxy, 'GET', 'memory', link).json()
        self.assertEqual(len(first['entities']), 1000)
        keys = self.follow(link, 'memory?limit=1', 'entities_cursor', lambda r: [e['key'] for e in r.json()['entities']],
                           lambda r: r.json()['entities_next_cursor'])
        self.assertEqual(sorted(keys), sorted('k%d' % i for i in range(1300)))
        self.assertEqual(len(keys), 1300)
        seqs = self.follow(link, 'history?limit=500', 'cursor', lambda r: [h['seq'] for h in r.json()['history']],
                           lambda r: r.json()['history_next_cursor'])
        self.assertEqual(len(seqs), len(set(seqs)))
        self.assertGreaterEqual(len(seqs), 1300)
        lines = self.follow(link, 'export?limit=400', 'cursor',
                            lambda r: [json.loads(x) for x in bytes(r.body).decode().splitlines()],
                            lambda r: r.header('x-next-cursor'))
        self.assertEqual(sorted(x['key'] for x in lines if x['type'] == 'fact'), sorted(keys))
        self.assertEqual(sum(1 for x in lines if x['type'] == 'message'), 40)
        self.assertEqual([x['seq'] for x in lines if x['type'] == 'history'], seqs)
        r = ph.api(self.proxy, 'GET', 'history?cursor=nope', link)
        self.assertOpenAIError(r, 400, 'invalid_parameter')
        self.assertIn('cursor', r.json()['error']['message'])


if __name__ == '__main__':
    harness.main('proxy_memory_pages')
