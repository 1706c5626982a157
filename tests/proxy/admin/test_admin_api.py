"""The admin API on the admin listener (docs/admin-api.md):
bearer-token access, the users listing and its cursor, a user's memory with
provenance, export as JSON lines, the change history, fact edits with
If-Match, erasure, compaction and retention on demand, tenants, and what
must never reach the log."""

import json
import os
import re
import errno
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, send  # noqa: E402

ISO = r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$'
TOKEN = 'zqxsecret-adm-5f1e2d3c4b5a69788796a5b4c3d2e1f0'  # scan_logs.py looks for it
ADMIN = {'admin': {'token': TOKEN}}

ENTITY_ADMIN_KEYS = {'key', 'value', 'confidence', 'observed_at', 'recorded_at', 'source', 'trust',
                     'source_role', 'model', 'request_id', 'pii', 'revision', 'source_seqs'}
MESSAGE_ADMIN_KEYS = {'seq', 'role', 'content', 'at', 'recorded_at', 'request_id', 'model', 'pii', 'source_role', 'trust',
                      'confidence', 'conversation', 'conversation_rule', 'reply_ref', 'lang'}
SUMMARY_ADMIN_KEYS = {'text', 'updated_at', 'observed_at', 'recorded_at', 'request_id', 'model', 'pii',
                      'source_role', 'trust'}
HISTORY_EVENTS = {'added', 'superseded', 'corrected', 'deleted', 'expired', 'summarized', 'kept', 'filtered'}
HISTORY_ACTORS = {'extractor', 'summarizer', 'user', 'admin', 'retention'}


def q(s):
    """A path segment, percent-encoded."""
    return urllib.parse.quote(s, safe='')


class AdminCase(mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'sections': ADMIN,
                    'memory': {'mode': 'hybrid', 'buffer_messages': 2, 'summarize_at': 2,
                               'summary_model': 'sum-model-a', 'extraction_model': 'ext-model-a'}}

    def adm(self, method, path, body=b'', headers=(), auth='default', proxy=None):
        """An admin request, with the right token unless auth says otherwise
        (None: no Authorization at all)."""
        p = proxy or self.proxy
        h = []
        if auth == 'default':
            h.append(('Authorization', 'Bearer ' + TOKEN))
        elif auth is not None:
            h.append(('Authorization', auth))
        if body:
            h.append(('Content-Type', 'application/json'))
        h.extend(headers)
        return harness.request(p.admin_port, method, path, h, body)

    def put(self, user, key, value, if_match=None, proxy=None, tenant=None):
        h = [('If-Match', if_match)] if if_match is not None else []
        path = '/admin/users/%s/entities/%s' % (q(user), q(key))
        if tenant:
            path += '?tenant=' + tenant
        return self.adm('PUT', path, json.dumps({'value': value}).encode(), h, proxy=proxy)

    def memory(self, user, proxy=None, tenant=None):
        path = '/admin/users/%s/memory' % q(user)
        if tenant:
            path += '?tenant=' + tenant
        return self.adm('GET', path, proxy=proxy)

    def mem_ok(self, user, proxy=None):
        r = self.memory(user, proxy)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def history(self, user, proxy=None):
        r = self.adm('GET', '/admin/users/%s/history' % q(user), proxy=proxy)
        self.assertEqual(r.status, 200, r)
        return r.json()['history']

    def turn_id(self, sent, proxy=None):
        """memproxy's id of a chat turn: the access log line that carries the
        upstream's x-request-id (what the client saw) names it."""
        p = proxy or self.proxy
        up = sent.header('x-request-id')
        line = p.wait_log(lambda o: o.get('msg') == 'request' and o.get('upstream_request_id') == up, 5)
        self.assertIsNotNone(line, 'no access log line for upstream id %r' % up)
        self.assertRegex(line['request_id'], r'^req_[0-9a-f]{20}$')
        return line['request_id']


class NoToken(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 1}

    def test_admin_api_is_404_without_a_token(self):
        self.assertEqual(self.proxy.admin('/livez').status, 200)
        for method, path in (('GET', '/admin/users'), ('GET', '/admin/users/u1/memory'),
                             ('POST', '/admin/compact'), ('DELETE', '/admin/users'), ('GET', '/admin/nope')):
            for auth in ((), [('Authorization', 'Bearer x')], [('Authorization', 'Bearer ')]):
                with self.subTest(method=method, path=path, auth=auth):
                    r = harness.request(self.proxy.admin_port, method, path, auth)
                    self.assertOpenAIError(r, 404, 'not_found')
                    self.assertIsNone(r.header('www-authenticate'))


class Access(AdminCase):
    def assert401(self, r):
        self.assertOpenAIError(r, 401, 'invalid_admin_token')
        self.assertEqual(r.header('www-authenticate'), 'Bearer')

    def test_no_authorization_401(self):
        self.assert401(self.adm('GET', '/admin/users', auth=None))

    def test_wrong_token_same_length_401(self):
        wrong = TOKEN[:-1] + ('0' if TOKEN[-1] != '0' else '1')
        self.assertEqual(len(wrong), len(TOKEN))
        self.assert401(self.adm('GET', '/admin/users', auth='Bearer ' + wrong))

    def test_wrong_token_other_length_401(self):
        for wrong in (TOKEN[:-1], TOKEN + 'x', TOKEN[:1], TOKEN * 2, 'x'):
            with self.subTest(length=len(wrong)):
                self.assert401(self.adm('GET', '/admin/users', auth='Bearer ' + wrong))

    def test_malformed_authorization_401(self):
        for auth in ('Basic ' + TOKEN, TOKEN, 'Bearer', 'Bearer ', 'Bearer' + TOKEN,
                     'Token ' + TOKEN, 'Bearer ' + TOKEN + ' extra'):
            with self.subTest(auth=auth[:20]):
                self.assert401(self.adm('GET', '/admin/users', auth=auth))

    def test_two_authorization_fields_401(self):
        r = self.adm('GET', '/admin/users', headers=[('Authorization', 'Bearer ' + TOKEN)])
        self.assert401(r)

    def test_right_token_any_scheme_case_200(self):
        for scheme in ('Bearer', 'bearer', 'BEARER'):
            with self.subTest(scheme=scheme):
                r = self.adm('GET', '/admin/users', auth=scheme + ' ' + TOKEN)
                self.assertEqual(r.status, 200, r)
                self.assertIn('users', r.json())
        r = self.adm('GET', '/admin/users', auth='Bearer    ' + TOKEN)
        self.assertEqual(r.status, 200, r)

    def test_refusals_are_counted(self):
        before = self.proxy.metric('memproxy_client_errors_total', kind='unauthorized')
        self.assert401(self.adm('GET', '/admin/users', auth='Bearer wrong'))
        self.assert401(self.adm('GET', '/admin/users', auth=None))
        self.assertDeltaMetric(self.proxy, before, 'memproxy_client_errors_total', 2, kind='unauthorized')
        user = mh.uid('count')
        self.assertEqual(self.put(user, 'k', 'v').status, 200)
        before = self.proxy.metric('memproxy_client_errors_total', kind='precondition')
        self.assertEqual(self.put(user, 'k', 'w').status, 428)
        self.assertEqual(self.put(user, 'k', 'w', if_match='"999"').status, 412)
        self.assertDeltaMetric(self.proxy, before, 'memproxy_client_errors_total', 2, kind='precondition')

    def test_token_checked_before_the_route(self):
        # Unauthenticated clients learn nothing about routes or methods.
        self.assert401(self.adm('GET', '/admin/nope', auth=None))
        self.assert401(self.adm('DELETE', '/admin/users', auth=None))
        self.assert401(self.adm('GET', '/admin/users?tenant=zz', auth=None))
        self.assertOpenAIError(self.adm('GET', '/admin/nope'), 404, 'not_found')

    def test_unauthorized_request_changes_nothing(self):
        user = mh.uid('noauth')
        self.assertEqual(self.put(user, 'city', 'Oslo').status, 200)
        r = self.adm('DELETE', '/admin/users/%s/memory' % q(user), auth='Bearer nope')
        self.assert401(r)
        r = self.adm('PUT', '/admin/users/%s/entities/city' % q(user), b'{"value":"Rome"}',
                     [('If-Match', '*')], auth='Basic ' + TOKEN)
        self.assert401(r)
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'city': 'Oslo'})


class Requests(AdminCase):
    def test_unknown_admin_paths_404(self):
        for path in ('/admin/', '/admin/user', '/admin/users/', '/admin/users/u/memory/x',
                     '/admin/Users', '/admin/users/u', '/admin/compact/now'):
            with self.subTest(path=path):
                self.assertOpenAIError(self.adm('GET', path), 404, 'not_found')

    def test_wrong_method_405_with_allow(self):
        cases = (('DELETE', '/admin/users', 'GET'), ('POST', '/admin/users', 'GET'),
                 ('PUT', '/admin/users/u1/memory', 'GET, DELETE'),
                 ('POST', '/admin/users/u1/export', 'GET'), ('DELETE', '/admin/users/u1/history', 'GET'),
                 ('GET', '/admin/users/u1/entities/city', 'PUT, DELETE'),
                 ('GET', '/admin/compact', 'POST'), ('PATCH', '/admin/sweep', 'POST'))
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                r = self.adm(method, path)
                self.assertOpenAIError(r, 405, 'method_not_allowed')
                self.assertEqual(r.header('allow'), allow)

    def test_bad_parameters_400(self):
        cases = (('GET', '/admin/users?tenant=xyz', 'invalid_parameter'),
                 ('GET', '/admin/users?tenant=' + 'g' * 32, 'invalid_parameter'),
                 ('GET', '/admin/users?tenant=' + 'a' * 31, 'invalid_parameter'),
                 ('GET', '/admin/users/u1/memory?tenant=' + 'a' * 33, 'invalid_parameter'),
                 ('GET', '/admin/users?limit=0', 'invalid_parameter'),
                 ('GET', '/admin/users?limit=1001', 'invalid_parameter'),
                 ('GET', '/admin/users?limit=01', 'invalid_parameter'),
                 ('GET', '/admin/users?cursor=a%2Bb', 'invalid_parameter'),
                 ('GET', '/admin/users?cursor=A', 'invalid_parameter'),
                 ('GET', '/admin/users?limit=1&limit=2', 'invalid_parameter'),
                 ('GET', '/admin/users/%zz/memory', 'invalid_user_id'),
                 ('GET', '/admin/users/%7B%7Bid%7D%7D/memory', 'invalid_user_id'),
                 ('GET', '/admin/users/%01x/export', 'invalid_user_id'),
                 ('PUT', '/admin/users/u1/entities/%20%20', 'invalid_key'),
                 ('DELETE', '/admin/users/u1/entities/' + 'k' * 65, 'invalid_key'))
        for method, path, code in cases:
            with self.subTest(method=method, path=path):
                body = b'{"value":"x"}' if method == 'PUT' else b''
                self.assertOpenAIError(self.adm(method, path, body), 400, code)

    def test_put_invalid_value_400(self):
        user = mh.uid('badval')
        path = '/admin/users/%s/entities/k' % q(user)
        for raw in (b'', b'not json', b'[]', b'{}', b'{"value":""}', b'{"value":"   "}', b'{"value":42}',
                    b'{"value":null}', b'{"value":"a","value":"b"}', json.dumps({'value': 'x' * 513}).encode(),
                    json.dumps({'value': 'a\u0001b'}).encode(), json.dumps({'value': 'a\u0085b'}).encode(),
                    json.dumps({'value': 'a\nb'}).encode(), b'{"value":"a\\u0000b"}'):
            with self.subTest(body=raw[:40]):
                self.assertOpenAIError(self.adm('PUT', path, raw), 400, 'invalid_value')
        self.assertOpenAIError(self.memory(user), 404, 'not_found')
        # Trimmed first: 512 bytes between blanks is fine, and stored trimmed.
        r = self.adm('PUT', path, json.dumps({'value': '  ' + 'é' * 256 + '\t\n'}).encode())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['value'], 'é' * 256)

    def test_bad_if_match_400(self):
        user = mh.uid('badifm')
        self.assertEqual(self.put(user, 'k', 'v').status, 200)
        for ifm in ('W/"1"', '"1", "2"', 'abc', '"0"', '0', '""', '"-1"', '99999999999'):
            with self.subTest(if_match=ifm):
                self.assertOpenAIError(self.put(user, 'k', 'w', if_match=ifm), 400, 'invalid_parameter')
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'k': 'v'})

    def test_responses_carry_request_id_and_no_store(self):
        r = self.adm('GET', '/admin/users')
        self.assertRegex(r.header('x-request-id') or '', r'^req_[0-9a-f]{20}$')
        self.assertEqual(r.header('cache-control'), 'no-store')
        r = self.adm('GET', '/admin/users', auth=None)
        self.assertRegex(r.header('x-request-id') or '', r'^req_[0-9a-f]{20}$')


class Users(AdminCase):
    def all_pages(self, limit, extra=''):
        seen, cursor, pages = [], None, 0
        while True:
            path = '/admin/users?limit=%d%s' % (limit, extra)
            if cursor is not None:
                path += '&cursor=' + cursor
            r = self.adm('GET', path)
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            self.assertEqual(set(doc.keys()), {'users', 'next_cursor'}, doc)
            self.assertLessEqual(len(doc['users']), limit)
            seen.extend(doc['users'])
            pages += 1
            self.assertLess(pages, 10000, 'the listing does not end')
            cursor = doc['next_cursor']
            if cursor is None:
                return seen
            self.assertRegex(cursor, r'^[A-Za-z0-9_-]+$')

    def test_listing_pages_cover_every_user_once(self):
        mine = ['%s-%d' % (mh.uid('page'), i) for i in range(5)]
        for i, u in enumerate(mine):
            for k in range(i + 1):
                self.assertEqual(self.put(u, 'k%d' % k, 'v').status, 200)
        whole = self.all_pages(1000)
        names = [u['user'] for u in whole]
        self.assertEqual(len(names), len(set(names)), 'a user listed twice: %r' % names)
        for u in mine:
            self.assertIn(u, names)
        one = self.all_pages(1)
        self.assertEqual([u['user'] for u in one], names, 'limit=1 pages differ from one big page')
        two = self.all_pages(2)
        self.assertEqual([u['user'] for u in two], names)
        by_name = {u['user']: u for u in whole}
        for i, u in enumerate(mine):
            info = by_name[u]
            self.assertEqual(set(info.keys()),
                             {'user', 'tenant', 'facts', 'messages', 'archived', 'summary', 'updated_at'})
            self.assertEqual(info['archived'], 0, info)
            self.assertEqual((info['tenant'], info['facts'], info['messages'], info['summary']),
                             (None, i + 1, 0, False), info)
            self.assertRegex(info['updated_at'], ISO)

    def test_listing_counts_messages_and_summary(self):
        user = mh.uid('cnt')
        self.assertOK(send(self.proxy, user, 'My name is Ida. I live in Ghent.'))
        mh.wait_for(lambda: self.memory(user).status == 200 and
                    len(self.mem_ok(user)['entities']) == 2 and
                    self.mem_ok(user)['summary']['text'] is not None, what='facts and summary')
        info = [u for u in self.all_pages(1000) if u['user'] == user]
        self.assertEqual(len(info), 1)
        self.assertEqual((info[0]['facts'], info[0]['messages'], info[0]['summary']), (2, 1, True), info)

    def test_default_limit_is_100(self):
        r = self.adm('GET', '/admin/users')
        self.assertEqual(r.status, 200)
        before = len(r.json()['users'])
        for i in range(101 - before if before < 101 else 0):
            self.assertEqual(self.put('%s-%d' % (mh.uid('lim'), i), 'k', 'v').status, 200)
        doc = self.adm('GET', '/admin/users').json()
        self.assertEqual(len(doc['users']), 100)
        self.assertIsNotNone(doc['next_cursor'])

    def test_bad_cursor_400(self):
        # Well-formed base64url that no listing wrote: a cursor longer than any key.
        self.assertOpenAIError(self.adm('GET', '/admin/users?cursor=' + 'A' * 1000), 400, 'invalid_parameter')


class Memory(AdminCase):
    def full_user(self):
        user = mh.uid('prov')
        s = send(self.proxy, user, 'My name is Gus. I live in Graz.', model='chat-model-a')
        self.assertOK(s)
        mh.wait_for(lambda: self.memory(user).status == 200 and len(self.mem_ok(user)['entities']) == 2 and
                    self.mem_ok(user)['summary']['text'] is not None and
                    len(self.mem_ok(user)['buffer']) == 1, what='facts, summary, buffer')
        return user, s

    def test_memory_has_full_provenance(self):
        user, s = self.full_user()
        rid = self.turn_id(s)
        r = self.memory(user)
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header('content-type') or '').startswith('application/json'))
        doc = r.json()
        self.assertEqual(set(doc.keys()),
                         {'user', 'tenant', 'summary', 'buffer', 'entities', 'entities_next_cursor', 'archive',
                          'archive_next_cursor'})
        self.assertEqual((doc['user'], doc['tenant']), (user, None))
        # the whole turn stays in the archive after the fold took it from the buffer
        self.assertEqual([(m['role'], m['request_id']) for m in doc['archive']],
                         [('user', rid), ('assistant', rid)])
        self.assertEqual(doc['archive'][1], doc['buffer'][0])
        self.assertIsNone(doc['archive_next_cursor'])
        self.assertEqual(mh.entity_map(doc), {'name': 'Gus', 'city': 'Graz'})
        for e in doc['entities']:
            self.assertEqual(set(e.keys()), ENTITY_ADMIN_KEYS, e)
            self.assertEqual((e['confidence'], e['trust'], e['source_role'], e['model'], e['request_id'],
                              e['source'], e['pii']), (0.9, 'stated', 'user', 'ext-model-a', rid, rid, False), e)
            self.assertRegex(e['observed_at'], ISO)
            self.assertRegex(e['recorded_at'], ISO)
            self.assertGreaterEqual(e['recorded_at'], e['observed_at'])
            self.assertIsInstance(e['revision'], int)
            self.assertGreaterEqual(e['revision'], 1)
        self.assertEqual(len(doc['buffer']), 1)
        m = doc['buffer'][0]
        self.assertEqual(set(m.keys()), MESSAGE_ADMIN_KEYS, m)
        self.assertEqual((m['role'], m['content'], m['request_id'], m['model'], m['pii'], m['source_role'],
                          m['trust'], m['confidence']),
                         ('assistant', REPLY, rid, 'chat-model-a', False, 'assistant', 'inferred', 1.0))
        self.assertRegex(m['at'], ISO)
        self.assertRegex(m['recorded_at'], ISO)
        self.assertRegex(m['conversation'], r'^[0-9a-f]{16}$')  # test_memory_conversations.py
        self.assertEqual(m['conversation_rule'], 'first_turn')  # a lone message: a chat's first turn
        self.assertEqual(m['lang'], 'en')  # identified when recorded (test_import.py: given)
        sm = doc['summary']
        self.assertEqual(set(sm.keys()), SUMMARY_ADMIN_KEYS, sm)
        # hybrid: the extraction call folds the summary (issue 33), so its model wrote it
        self.assertEqual((sm['request_id'], sm['model'], sm['pii'], sm['source_role'], sm['trust']),
                         (rid, 'ext-model-a', False, 'assistant', 'inferred'))
        self.assertEqual(sm['recorded_at'], sm['updated_at'])
        self.assertIn('My name is Gus', sm['text'])
        self.assertRegex(sm['updated_at'], ISO)
        self.assertRegex(sm['observed_at'], ISO)

    def test_unknown_user_404(self):
        self.assertOpenAIError(self.memory(mh.uid('ghost')), 404, 'not_found')
        for sub in ('export', 'history'):
            self.assertOpenAIError(self.adm('GET', '/admin/users/%s/%s' % (mh.uid('ghost'), sub)), 404, 'not_found')

    def test_export_is_json_lines_with_provenance(self):
        user, s = self.full_user()
        rid = self.turn_id(s)
        mem = self.mem_ok(user)
        r = self.adm('GET', '/admin/users/%s/export' % q(user))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('content-type'), 'application/x-ndjson')
        body = bytes(r.body).decode('utf-8')
        self.assertTrue(body.endswith('\n'))
        lines = [json.loads(ln) for ln in body[:-1].split('\n')]
        for ln in lines:
            self.assertIsInstance(ln, dict)
            self.assertEqual((ln['user'], ln['tenant']), (user, None), ln)
        types = [ln['type'] for ln in lines]
        self.assertEqual(types, sorted(types, key=['fact', 'message', 'summary', 'history'].index), types)
        facts = [ln for ln in lines if ln['type'] == 'fact']
        strip = lambda ln: {k: v for k, v in ln.items() if k not in ('type', 'user', 'tenant')}  # noqa: E731
        self.assertEqual([strip(f) for f in facts], mem['entities'])
        msgs = [strip(ln) for ln in lines if ln['type'] == 'message']
        self.assertEqual(msgs, mem['archive'])  # the archive holds the buffer's messages too
        self.assertEqual(len(msgs), 2)
        self.assertIsNone(r.header('x-next-cursor'))
        summ = [strip(ln) for ln in lines if ln['type'] == 'summary']
        self.assertEqual(summ, [mem['summary']])
        hist = [strip(ln) for ln in lines if ln['type'] == 'history']
        self.assertEqual(hist, self.history(user))
        added = [h for h in hist if h['event'] == 'added']
        self.assertEqual(sorted(h['key'] for h in added), ['city', 'name'])
        for h in added:
            self.assertEqual((h['actor'], h['item'], h['request_id'], h['model'], h['trust'], h['source_role'],
                              h['confidence']),
                             ('extractor', 'fact', rid, 'ext-model-a', 'stated', 'user', 0.9))
            self.assertRegex(h['observed_at'], ISO)
            self.assertRegex(h['recorded_at'], ISO)
            self.assertNotIn('value', h)
        self.assertIn('summarized', [h['event'] for h in hist])

    def test_history_shape_and_order(self):
        user = mh.uid('hist')
        self.assertEqual(self.put(user, 'city', 'Lyon').status, 200)
        rev = self.put(user, 'city', 'Nice', if_match='*').json()['revision']
        self.assertEqual(self.adm('DELETE', '/admin/users/%s/entities/city' % q(user)).status, 204)
        h = self.history(user)
        self.assertEqual([(x['event'], x['actor'], x['item'], x.get('key')) for x in h],
                         [('corrected', 'admin', 'fact', 'city'), ('superseded', 'admin', 'fact', 'city'),
                          ('corrected', 'admin', 'fact', 'city'), ('deleted', 'admin', 'fact', 'city')])
        self.assertEqual([x['seq'] for x in h], sorted(x['seq'] for x in h))
        self.assertEqual(len({x['seq'] for x in h}), 4)
        self.assertEqual(h[2]['revision'], rev)
        for x in h:
            self.assertRegex(x['at'], ISO)
            self.assertIn(x['event'], HISTORY_EVENTS)
            self.assertIn(x['actor'], HISTORY_ACTORS)
            # the delete erased every value, the superseded one included
            self.assertNotIn('value', x)
        self.assertNotIn('Lyon', json.dumps(h))

    def test_history_keeps_superseded_value(self):
        user = mh.uid('histval')
        self.assertEqual(self.put(user, 'tea', 'green').status, 200)
        self.assertEqual(self.put(user, 'tea', 'black', if_match='*').status, 200)
        sup = [x for x in self.history(user) if x['event'] == 'superseded']
        self.assertEqual(len(sup), 1)
        self.assertEqual((sup[0]['key'], sup[0]['value']), ('tea', 'green'))

    def test_percent_encoded_user_id_is_the_same_user(self):
        user = 'ü/' + mh.uid('a b')
        r = self.put(user, 'city', 'Turku')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'city': 'Turku'})
        self.assertEqual(self.mem_ok(user)['user'], user)


class Entities(AdminCase):
    def test_put_new_key_without_if_match(self):
        user = mh.uid('new')
        r = self.put(user, 'Favorite Color', 'teal')
        self.assertEqual(r.status, 200, r)
        e = r.json()
        self.assertEqual(set(e.keys()), ENTITY_ADMIN_KEYS)
        self.assertEqual((e['key'], e['value'], e['confidence'], e['trust'], e['source_role'], e['model'],
                          e['pii']), ('favorite_color', 'teal', 1.0, 'admin', 'user', None, False))
        self.assertEqual(e['request_id'], r.header('x-request-id'))
        self.assertEqual(e['source'], r.header('x-request-id'))
        self.assertEqual(r.header('etag'), '"%d"' % e['revision'])
        self.assertRegex(e['observed_at'], ISO)
        mem = self.mem_ok(user)
        self.assertEqual(mem['entities'], [e])
        # and it is what the user sees and what is injected
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'favorite_color': 'teal'})
        s = send(self.proxy, user, 'What colour?')
        self.assertEqual(self.injection(s).block.fact_dict(), {'favorite_color': 'teal'})

    def test_put_pii_is_flagged(self):
        r = self.put(mh.uid('pii'), 'email', 'ada@example.com')
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json()['pii'], True)

    def test_put_existing_without_if_match_428(self):
        user = mh.uid('exist')
        self.assertEqual(self.put(user, 'city', 'Bern').status, 200)
        r = self.put(user, 'city', 'Basel')
        self.assertOpenAIError(r, 428, 'precondition_required')
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'city': 'Bern'})

    def test_put_over_extracted_value_needs_if_match(self):
        user = mh.uid('extr')
        self.assertOK(send(self.proxy, user, 'I live in Graz.'))
        mh.wait_for(lambda: self.memory(user).status == 200 and
                    mh.entity_map(self.mem_ok(user)).get('city') == 'Graz', what='city: Graz')
        self.assertOpenAIError(self.put(user, 'city', 'Linz'), 428, 'precondition_required')
        rev = self.mem_ok(user)['entities'][0]['revision']
        r = self.put(user, 'city', 'Linz', if_match='"%d"' % rev)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['trust'], 'admin')

    def test_stale_if_match_412_value_unchanged(self):
        user = mh.uid('stale')
        r1 = self.put(user, 'city', 'Riga')
        rev1 = r1.json()['revision']
        r2 = self.put(user, 'city', 'Tartu', if_match='"%d"' % rev1)
        self.assertEqual(r2.status, 200, r2)
        # a second writer still holding rev1 loses
        r3 = self.put(user, 'city', 'Vilnius', if_match='"%d"' % rev1)
        self.assertOpenAIError(r3, 412, 'precondition_failed')
        self.assertIsNone(r3.header('etag'))
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'city': 'Tartu'})
        self.assertOpenAIError(self.put(user, 'city', 'Kaunas', if_match='%d' % (rev1 + 1000)), 412,
                               'precondition_failed')
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'city': 'Tartu'})

    def test_right_if_match_200_revision_grows(self):
        user = mh.uid('right')
        e = self.put(user, 'lang', 'C').json()
        revs = [e['revision']]
        for value, form in (('Rust', '"%d"'), ('Go', '%d'), ('Zig', '*')):
            ifm = form % revs[-1] if '%' in form else form
            r = self.put(user, 'lang', value, if_match=ifm)
            self.assertEqual(r.status, 200, r)
            e = r.json()
            self.assertEqual(e['value'], value)
            self.assertGreater(e['revision'], revs[-1])
            self.assertEqual(r.header('etag'), '"%d"' % e['revision'])
            revs.append(e['revision'])
        self.assertEqual(self.mem_ok(user)['entities'][0]['revision'], revs[-1])

    def test_if_match_star_needs_a_value(self):
        user = mh.uid('star')
        self.assertOpenAIError(self.put(user, 'city', 'Pula', if_match='*'), 412, 'precondition_failed')
        self.assertOpenAIError(self.memory(user), 404, 'not_found')
        self.assertEqual(self.put(user, 'other', 'x').status, 200)
        self.assertOpenAIError(self.put(user, 'city', 'Pula', if_match='*'), 412, 'precondition_failed')
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'other': 'x'})

    def test_same_value_keeps_revision(self):
        user = mh.uid('same')
        e = self.put(user, 'k', 'v').json()
        r = self.put(user, 'k', 'v', if_match='"%d"' % e['revision'])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['revision'], e['revision'])

    def test_admin_value_outranks_user_correction(self):
        user = mh.uid('rank')
        self.assertEqual(self.put(user, 'city', 'Porto').status, 200)
        r = self.proxy.request('PUT', '/v1/memory/entities/city',
                               [('X-User-Id', user), ('Content-Type', 'application/json')], b'{"value":"Braga"}')
        self.assertOpenAIError(r, 409, 'outranked')
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'city': 'Porto'})
        e = self.mem_ok(user)['entities'][0]
        self.assertEqual((e['value'], e['trust']), ('Porto', 'admin'))

    def test_admin_overrides_user_correction(self):
        user = mh.uid('over')
        r = self.proxy.request('PUT', '/v1/memory/entities/city',
                               [('X-User-Id', user), ('Content-Type', 'application/json')], b'{"value":"Braga"}')
        self.assertEqual(r.status, 200, r)
        rev = r.json()['revision']
        r = self.put(user, 'city', 'Porto', if_match='"%d"' % rev)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, user)), {'city': 'Porto'})

    def test_delete_entity_gone_and_in_history(self):
        user = mh.uid('del')
        self.assertEqual(self.put(user, 'city', 'Cork').status, 200)
        self.assertEqual(self.put(user, 'name', 'Cian').status, 200)
        r = self.adm('DELETE', '/admin/users/%s/entities/city' % q(user))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(bytes(r.body), b'')
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'name': 'Cian'})
        last = self.history(user)[-1]
        self.assertEqual((last['event'], last['actor'], last['item'], last['key']), ('deleted', 'admin', 'fact', 'city'))
        # a fact nothing is kept of: an answer about the fact, never "No such route"
        r = self.adm('DELETE', '/admin/users/%s/entities/City' % q(user))
        self.assertOpenAIError(r, 404, 'fact_not_found')
        self.assertEqual(r.json()['error']['message'], "No fact with key 'city' is kept for this user.")
        self.assertOpenAIError(self.adm('DELETE', '/admin/users/%s/entities/x' % q(mh.uid('g'))), 404,
                               'fact_not_found')
        s = send(self.proxy, user, 'Where?', x_memory='read')
        self.assertEqual(self.injection(s).block.fact_dict(), {'name': 'Cian'})

    def test_delete_entity_if_match(self):
        user = mh.uid('delifm')
        rev = self.put(user, 'city', 'Gdansk').json()['revision']
        path = '/admin/users/%s/entities/city' % q(user)
        self.assertOpenAIError(self.adm('DELETE', path, headers=[('If-Match', '"%d"' % (rev + 1))]), 412,
                               'precondition_failed')
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'city': 'Gdansk'})
        self.assertEqual(self.adm('DELETE', path, headers=[('If-Match', '"%d"' % rev)]).status, 204)
        self.assertEqual(self.mem_ok(user)['entities'], [])
        # any If-Match on a key without a value is false (RFC 9110 13.1.1)
        self.assertOpenAIError(self.adm('DELETE', path, headers=[('If-Match', '*')]), 412, 'precondition_failed')
        self.assertOpenAIError(self.adm('DELETE', path, headers=[('If-Match', '"%d"' % rev)]), 412,
                               'precondition_failed')

    def test_delete_user_then_404(self):
        user = mh.uid('gone')
        self.assertOK(send(self.proxy, user, 'My name is Olga.'))
        mh.wait_for(lambda: self.memory(user).status == 200 and self.mem_ok(user)['entities'], what='a fact')
        r = self.adm('DELETE', '/admin/users/%s/memory' % q(user))
        self.assertEqual(r.status, 204, r)
        for sub in ('memory', 'export', 'history'):
            self.assertOpenAIError(self.adm('GET', '/admin/users/%s/%s' % (q(user), sub)), 404, 'not_found')
        self.assertNotIn(user, [u['user'] for u in self.adm('GET', '/admin/users?limit=1000').json()['users']])
        self.assertEqual(mh.get_memory(self.proxy, user)['entities'], [])
        # idempotent
        self.assertEqual(self.adm('DELETE', '/admin/users/%s/memory' % q(user)).status, 204)
        self.assertEqual(self.adm('DELETE', '/admin/users/%s/memory' % q(mh.uid('never'))).status, 204)


class FactCap(AdminCase):
    PROXY_CONFIG = {'workers': 1, 'sections': ADMIN, 'memory': {'mode': 'hybrid'}}

    def test_the_cap_is_max_facts_per_user_not_256(self):
        # docs/admin-api.md: a new fact past [memory] max_facts_per_user (100000 by
        # default) is 409 memory_full; a 257th is an ordinary fact
        user = mh.uid('cap')
        for i in range(257):
            r = self.put(user, 'k%d' % i, 'v%d' % i)
            self.assertEqual(r.status, 200, (i, r))
        self.assertEqual(len(self.mem_ok(user)['entities']), 257)
        # with a cap of 3: the fourth new key is refused, nothing of it kept
        p = self.start_proxy(workers=1, sections=ADMIN, memory={'mode': 'hybrid', 'max_facts_per_user': 3})
        for i in range(3):
            self.assertEqual(self.put(user, 'k%d' % i, 'v', proxy=p).status, 200)
        self.assertOpenAIError(self.put(user, 'k3', 'v', proxy=p), 409, 'memory_full')
        self.assertEqual(sorted(e['key'] for e in self.mem_ok(user, proxy=p)['entities']), ['k0', 'k1', 'k2'])


class Maintenance(AdminCase):
    def test_compact_then_keeps_serving(self):
        user = mh.uid('cmp')
        for i in range(20):
            self.assertEqual(self.put(user, 'k%d' % i, 'value %d ' % i + 'x' * 400).status, 200)
        self.assertEqual(self.adm('DELETE', '/admin/users/%s/memory' % q(user)).status, 204)
        before = self.proxy.metric('memproxy_storage_compactions_total', result='ok')
        r = self.adm('POST', '/admin/compact')
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(set(doc.keys()), {'compacted', 'used_bytes_before', 'used_bytes_after'})
        self.assertIs(doc['compacted'], True)
        self.assertGreater(doc['used_bytes_before'], 0)
        self.assertGreater(doc['used_bytes_after'], 0)
        self.assertLessEqual(doc['used_bytes_after'], doc['used_bytes_before'])
        self.assertEqual(self.proxy.metric('memproxy_storage_compactions_total', result='ok'), before + 1)
        # memory still works, on both planes
        other = mh.uid('after')
        self.assertEqual(self.put(other, 'city', 'Split').status, 200)
        self.assertEqual(mh.entity_map(mh.get_memory(self.proxy, other)), {'city': 'Split'})
        self.assertOK(send(self.proxy, other, 'My name is Ivo.'))
        mh.wait_for(lambda: mh.entity_map(self.mem_ok(other)) == {'city': 'Split', 'name': 'Ivo'}, what='name: Ivo')

    def tmpfs(self, kib):
        """A fresh tmpfs of kib KiB, unmounted at the end of the test (after
        the memproxy started on it later has stopped); skips when this
        machine cannot mount one (not root)."""
        d = tempfile.mkdtemp(prefix='memproxy-fulldisk-')
        self.addCleanup(os.rmdir, d)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dk,mode=0700' % kib, 'tmpfs', d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest('cannot mount a tmpfs (needs root): %s' % r.stderr.strip())
        self.addCleanup(subprocess.run, ['umount', d], check=True)
        return d

    @staticmethod
    def fill(path):
        """Writes path until the filesystem is full; returns the bytes written."""
        n = 0
        with open(path, 'wb', buffering=0) as f:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        n += f.write(b'\0' * size)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
        return n

    def test_compact_on_a_full_disk_answers_500_and_keeps_serving(self):
        # The rewrite's new environment used to map its lock file on the
        # full filesystem: the first write to that page killed memproxy
        # with SIGBUS. Now a 500 says why, nothing is left behind, and the
        # store serves on; with room again, compaction works.
        mnt = self.tmpfs(1024)
        data = os.path.join(mnt, 'data')
        p = self.start_proxy(memory={'mode': 'buffer'}, storage={'path': data}, sections=ADMIN)
        user = mh.uid('full')
        for i in range(10):
            self.assertEqual(self.put(user, 'k%d' % i, 'v%d ' % i + 'z' * 300, proxy=p).status, 200)
        files = sorted(os.listdir(data))
        filler = os.path.join(mnt, 'filler')
        self.fill(filler)
        failed = p.metric('memproxy_storage_compactions_total', result='error')
        start = p.log_count()
        r = self.adm('POST', '/admin/compact', proxy=p)
        if r.status is None:
            self.fail('no answer: memproxy exited with %r' % p.wait_exit(5))
        self.assertOpenAIError(r, 500, 'internal_error')
        msg = r.json()['error']['message']
        self.assertRegex(msg, r'^Storage compaction failed: .*(space|No space left)', msg)
        self.assertEqual(p.metric('memproxy_storage_compactions_total', result='error'), failed + 1)
        self.assertEqual(sorted(os.listdir(data)), files, 'the rewrite left files behind')
        self.assertEqual(len(self.mem_ok(user, p)['entities']), 10)
        self.assertIsNotNone(p.wait_log(lambda o: o.get('route') == '/admin/compact' and o.get('status') == 500,
                                        5, start))
        os.unlink(filler)
        r = self.adm('POST', '/admin/compact', proxy=p)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.mem_ok(user, p)['entities']), 10)
        self.assertEqual(self.put(user, 'after', 'yes', proxy=p).status, 200)

    def test_start_on_a_full_disk_exits_with_the_reason(self):
        # A new store on a full filesystem: LMDB's lock file used to be
        # mapped with no blocks behind it (SIGBUS at start); now memproxy
        # says why and exits 2 (could not start, docs/cli.md).
        mnt = self.tmpfs(256)
        self.fill(os.path.join(mnt, 'filler'))
        p = harness.Proxy(self.fake.base_url, storage={'path': os.path.join(mnt, 'data')}, sections=ADMIN)
        try:
            rc, out, err = p.run()
        finally:
            p.tmp.cleanup()
        self.assertEqual(rc, 2, 'exit status; stderr:\n%s' % err[-3000:])
        self.assertRegex(err, r'No space left on device', 'the error does not say why')

    def test_sweep_returns_counts(self):
        r = self.adm('POST', '/admin/sweep')
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(set(doc.keys()), {'purged'})
        self.assertEqual(set(doc['purged'].keys()), {'facts', 'messages', 'summaries', 'history', 'idem'})
        for v in doc['purged'].values():
            self.assertIsInstance(v, int)
        self.assertEqual(doc['purged']['facts'], 0)

    def test_sweep_purges_what_expired(self):
        # Written "400 days ago" by one process, swept on demand by the next
        # once retention is switched on by a reload.
        data = self.storage_dir()
        user = mh.uid('old')
        old = self.start_proxy(memory={'mode': 'buffer'}, storage={'path': data}, sections=ADMIN,
                               env={'MEMPROXY_TEST_CLOCK_OFFSET_MS': str(-400 * 86400 * 1000)})
        self.assertEqual(self.put(user, 'a', '1', proxy=old).status, 200)
        self.assertEqual(self.put(user, 'b', '2', proxy=old).status, 200)
        self.assertOK(send(old, user, 'hello there'))
        mh.wait_for(lambda: len(self.mem_ok(user, old)['buffer']) == 2, what='the turn recorded')
        self.stop_checked(old)
        keep = {'retention_days': 0, 'pii_retention_days': 0}
        p = self.start_proxy(memory={'mode': 'buffer'}, storage={'path': data},
                             sections={'admin': {'token': TOKEN}, 'governance': keep})
        self.assertEqual(len(self.mem_ok(user, p)['entities']), 2, 'swept at start without a limit')
        p.sections['governance'] = {'retention_days': 365, 'pii_retention_days': 0}
        p.write_config()
        n0 = p.metric('memproxy_config_reloads_total', result='ok')
        p.signal(signal.SIGHUP)
        p.wait_metric('memproxy_config_reloads_total', lambda x: x > n0, 5, result='ok')
        r = self.adm('POST', '/admin/sweep', proxy=p)
        self.assertEqual(r.status, 200, r)
        purged = r.json()['purged']
        self.assertEqual((purged['facts'], purged['messages'], purged['summaries']), (2, 2, 0), purged)
        self.assertGreaterEqual(purged['history'], 2, purged)
        r = self.memory(user, proxy=p)
        if r.status == 200:
            self.assertEqual((r.json()['entities'], r.json()['buffer']), ([], []))
        again = self.adm('POST', '/admin/sweep', proxy=p).json()['purged']
        self.assertEqual((again['facts'], again['messages']), (0, 0))

    def test_client_gone_while_compacting(self):
        # The answer arrives after the client left: it is logged, nothing
        # leaks or is used after free (the ASan run checks at teardown), and
        # the compaction itself completes.
        user = mh.uid('bulk')
        for i in range(30):
            self.assertEqual(self.put(user, 'k%d' % i, 'y' * 500).status, 200)
        start = self.proxy.log_count()
        before = self.proxy.metric('memproxy_storage_compactions_total', result='ok')
        gone = None
        gone_line = lambda o: o.get('msg') == 'admin request' and o.get('client_gone') is True  # noqa: E731
        for attempt in range(8):
            c = harness.HTTPConn(self.proxy.admin_port)
            c.send(harness.build_request('POST', '/admin/compact', [('Authorization', 'Bearer ' + TOKEN)]))
            time.sleep(0.002 * attempt)
            c.abort()
            # a look, not a verdict: a line that comes later is found by the
            # next look, or by the wait after the last try
            gone = self.proxy.wait_log(gone_line, 1.0, start, floor=False)
            if gone is not None:
                break
        if gone is None:
            gone = self.proxy.wait_log(gone_line, harness.WAIT, start)
        self.assertIsNotNone(gone, 'no compaction outlived its client in 8 tries')
        self.assertEqual((gone['route'], gone['status']), ('/admin/compact', 200))
        done = lambda: [o for o in self.proxy.log_objects(start)  # noqa: E731
                        if o.get('msg') == 'admin request' and o.get('route') == '/admin/compact']
        mh.wait_for(lambda: self.proxy.metric('memproxy_storage_compactions_total', result='ok') - before ==
                    len(done()), what='every compaction that started to be answered')
        self.assertEqual(self.adm('GET', '/admin/users?limit=1').status, 200)
        self.assertEqual(self.proxy.admin('/livez').status, 200)


class Tenants(AdminCase):
    PROXY_CONFIG = {'workers': 2, 'sections': {'admin': {'token': TOKEN}, 'security': {'tenant_from': 'api_key'}},
                    'memory': {'mode': 'hybrid'}}

    def user_put(self, user, key, value, api_key):
        return self.proxy.request('PUT', '/v1/memory/entities/' + key,
                                  [('X-User-Id', user), ('Authorization', 'Bearer ' + api_key),
                                   ('Content-Type', 'application/json')], json.dumps({'value': value}).encode())

    def test_tenants_listed_and_addressed(self):
        user = mh.uid('ten')
        self.assertEqual(self.user_put(user, 'city', 'Accra', 'sk-tenant-one').status, 200)
        self.assertEqual(self.user_put(user, 'city', 'Lagos', 'sk-tenant-two').status, 200)
        users = [u for u in self.adm('GET', '/admin/users?limit=1000').json()['users'] if u['user'] == user]
        self.assertEqual(len(users), 2, users)
        tenants = [u['tenant'] for u in users]
        for t in tenants:
            self.assertRegex(t, r'^[0-9a-f]{32}$')
        self.assertNotEqual(tenants[0], tenants[1])
        cities = {}
        for t in tenants:
            listed = self.adm('GET', '/admin/users?limit=1000&tenant=' + t).json()['users']
            self.assertEqual([(u['user'], u['tenant']) for u in listed], [(user, t)])
            doc = self.memory(user, tenant=t).json()
            self.assertEqual((doc['user'], doc['tenant']), (user, t))
            cities[t] = mh.entity_map(doc)['city']
            # upper-case hex names the same tenant
            self.assertEqual(self.memory(user, tenant=t.upper()).status, 200)
        self.assertEqual(sorted(cities.values()), ['Accra', 'Lagos'])
        # no tenant parameter: the namespace without a tenant, where nobody wrote
        self.assertOpenAIError(self.memory(user), 404, 'not_found')
        # an admin change in one tenant leaves the other alone
        t1 = [t for t, c in cities.items() if c == 'Accra'][0]
        t2 = [t for t, c in cities.items() if c == 'Lagos'][0]
        r = self.put(user, 'city', 'Kumasi', if_match='*', tenant=t1)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.entity_map(self.memory(user, tenant=t2).json()), {'city': 'Lagos'})
        r = self.proxy.request('GET', '/v1/memory', [('X-User-Id', user), ('Authorization', 'Bearer sk-tenant-one')])
        self.assertEqual(mh.entity_map(r.json()), {'city': 'Kumasi'})
        self.assertEqual(r.json()['user'], user)
        self.assertEqual(self.adm('DELETE', '/admin/users/%s/memory?tenant=%s' % (q(user), t2)).status, 204)
        self.assertOpenAIError(self.memory(user, tenant=t2), 404, 'not_found')
        self.assertEqual(self.memory(user, tenant=t1).status, 200)

    def test_unknown_tenant_404(self):
        user = mh.uid('tx')
        self.assertEqual(self.user_put(user, 'city', 'Dakar', 'sk-tenant-three').status, 200)
        self.assertOpenAIError(self.memory(user, tenant='0' * 32), 404, 'not_found')
        self.assertEqual(self.adm('GET', '/admin/users?tenant=' + '0' * 32).json(),
                         {'users': [], 'next_cursor': None})


class TenantParamWithoutTenants(AdminCase):
    def test_tenant_param_names_an_empty_namespace(self):
        user = mh.uid('nt')
        self.assertEqual(self.put(user, 'city', 'Quito').status, 200)
        self.assertEqual(self.memory(user).status, 200)
        self.assertOpenAIError(self.memory(user, tenant='ab' * 16), 404, 'not_found')
        self.assertEqual(self.put(user, 'city', 'Cuenca', if_match='*', tenant='ab' * 16).status, 412)
        self.assertEqual(mh.entity_map(self.mem_ok(user)), {'city': 'Quito'})


class Secrets(AdminCase):
    PROXY_CONFIG = {'workers': 1}

    def test_token_and_user_ids_never_logged(self):
        token = 'tok-' + mh.uid('SECRET').replace('-', '') + '7f3a9c1e5b0d2846'
        wrong = 'tok-' + mh.uid('WRONG').replace('-', '')
        user = 'person-' + mh.uid('LOGCANARY')
        p = self.start_proxy(sections={'admin': {'token': token}},
                             log={'level': 'debug', 'format': 'json'})
        a = [('Authorization', 'Bearer ' + token)]
        calls = [('PUT', '/admin/users/%s/entities/city' % user, b'{"value":"Perth"}', a),
                 ('GET', '/admin/users/%s/memory' % user, b'', a),
                 ('GET', '/admin/users/%s/export' % user, b'', a),
                 ('GET', '/admin/users/%s/history' % user, b'', a),
                 ('GET', '/admin/users', b'', a),
                 ('GET', '/admin/users/%s/memory' % user, b'', [('Authorization', 'Bearer ' + wrong)]),
                 ('GET', '/admin/users/%s/nope' % user, b'', a),
                 ('GET', '/admin/users/%s/memory?tenant=zz' % user, b'', a),
                 ('DELETE', '/admin/users/%s/entities/city' % user, b'', a),
                 ('DELETE', '/admin/users/%s/memory' % user, b'', a),
                 ('POST', '/admin/compact', b'', a), ('POST', '/admin/sweep', b'', a)]
        statuses = [harness.request(p.admin_port, m, path, h, body).status for m, path, body, h in calls]
        self.assertEqual(statuses, [200, 200, 200, 200, 200, 401, 404, 400, 204, 204, 200, 200])
        lines = p.wait_log(lambda o: o.get('msg') == 'admin request' and o.get('route') == '/admin/sweep', 5)
        self.assertIsNotNone(lines, 'no audit line for the sweep')
        self.stop_checked(p)
        text = p.err.text()
        for secret in (token, wrong, user, 'LOGCANARY', 'Perth'):
            self.assertNotIn(secret, text)
        audit = [json.loads(ln) for ln in text.splitlines()
                 if ln.startswith('{') and json.loads(ln).get('msg') == 'admin request']
        self.assertEqual([o['status'] for o in audit], statuses)
        self.assertEqual(audit[0]['route'], '/admin/users/{id}/entities/{key}')
        self.assertRegex(audit[0]['user'], r'^[0-9a-f]{16}$')
        self.assertEqual(audit[6]['route'], '')


if __name__ == '__main__':
    harness.main('proxy_admin_api')
