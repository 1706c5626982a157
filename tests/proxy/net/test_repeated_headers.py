"""Repeated control headers narrow (issue 63, requirement 6;
docs/http-api.md "Repeated headers"): several X-Memory values, on several
lines or in one comma-separated list, give the narrowest; the user id,
X-User-Signature and the API key that names a tenant must repeat one value
byte for byte, else 400 conflicting_headers before anything is forwarded
or recorded; a task hint or a temporary-chat id on any line counts; a field
listed by any Connection line stays home."""

import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from memhelpers import REPLY, send  # noqa: E402

KIND = 'conflicting_headers'


def xm(*values):
    """One X-Memory line per value."""
    return [('X-Memory', v) for v in values]


class XMemory(mh.SeededUser, mh.MemCase):
    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}}
    SEED_PREFIX = 'rep'

    def assertNeither(self, headers):
        """Sent with these X-Memory lines: nothing injected, nothing recorded."""
        user = self.seeded_user()
        text = 'I live in %s.' % mh.uid('city')
        with self.proxy.conn() as c:
            s = send(self.proxy, user, text, conn=c, extra_headers=headers)
            self.assertOK(s)
            self.assertEqual(s.mode(), 'off', s.resp.headers)
            self.assertTransparent(s)
            mem = self.barrier(c, user)
        self.assertNotIn(text, [m['content'] for m in mem['buffer']], '%r recorded' % (headers,))

    def test_auto_and_off_in_either_order_neither(self):
        for headers in (xm('auto', 'off'), xm('off', 'auto'), xm('AUTO', 'auto', 'Off')):
            with self.subTest(headers=headers):
                self.assertNeither(headers)

    def test_read_and_write_neither(self):
        for headers in (xm('read', 'write'), xm('write', 'read')):
            with self.subTest(headers=headers):
                self.assertNeither(headers)

    def test_comma_list_is_several_values(self):
        for headers in (xm('auto, off'), xm('read,write'), xm(' , auto,, off ,')):
            with self.subTest(headers=headers):
                self.assertNeither(headers)

    def test_read_in_a_list_with_auto_reads_only(self):
        user = self.seeded_user()
        for i, headers in enumerate((xm('auto, read'), xm('read', 'auto'))):
            with self.subTest(headers=headers), self.proxy.conn() as c:
                text = 'I live in Oslo %d.' % i
                s = send(self.proxy, user, text, conn=c, extra_headers=headers)
                self.assertOK(s)
                self.assertEqual(self.injection(s).block.fact_dict(), {'name': 'Xena'})
                mem = self.barrier(c, user)
                self.assertNotIn(text, [m['content'] for m in mem['buffer']], 'read recorded')

    def test_invalid_value_on_any_line_400(self):
        user = self.seeded_user()
        n0 = mh.last_n(self.fake)
        for headers in (xm('off', 'sometimes'), xm('auto', 'read, on'), xm('off', ''), xm(',')):
            with self.subTest(headers=headers):
                s = send(self.proxy, user, 'I live in Bern.', extra_headers=headers)
                self.assertOpenAIError(s.resp, 400, 'invalid_memory_header')
        self.assertEqual([r for r in mh.fake_requests(self.fake) if r['n'] > n0 and mh.job_kind(r) is None],
                         [], 'a request with a bad X-Memory line reached the upstream')


def anthropic_root(fake):
    return fake.base_url[:-len('/v1')]


class UserIds(mh.MemCase):
    """Two user id lines: the same value is that user, different values are
    refused on every route that reads them, in the route's error shape."""

    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'buffer'}}

    @classmethod
    def setUpClass(cls):
        cls.PROXY_CONFIG = dict(cls.PROXY_CONFIG)
        cls.fake = harness.FakeUpstream().start()
        cls.PROXY_CONFIG['sections'] = {'anthropic': {'base_url': anthropic_root(cls.fake)}}
        try:
            cls.proxy = harness.Proxy(cls.fake.base_url, **cls.PROXY_CONFIG).start()
        except BaseException:
            cls.fake.stop()
            raise

    def post(self, path, users, body, extra=()):
        tag = uuid.uuid4().hex
        h = [('Content-Type', 'application/json'), ('Authorization', 'Bearer sk-test'),
             ('x-api-key', 'sk-ant-test'), ('anthropic-version', '2023-06-01'), ('X-Test-Req', tag)]
        h += [('X-User-Id', u) for u in users] + list(extra)
        return mh.Sent(tag, body, None, self.proxy.request('POST', path, h, body, timeout=30.0))

    def bodies(self, text):
        chat = json.dumps({'model': 'gpt-4o-mini', 'messages': [mh.user_msg(text)]}).encode()
        resp = json.dumps({'model': 'gpt-4o-mini', 'input': text}).encode()
        msgs = json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 64,
                           'messages': [mh.user_msg(text)]}).encode()
        return (('/v1/chat/completions', chat), ('/v1/responses', resp), ('/v1/messages', msgs))

    def assertAnthropicError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header('content-type') or '').startswith('application/json'))
        self.assertTrue(r.header('x-request-id'))
        doc = r.json()
        self.assertEqual(doc['type'], 'error', doc)
        self.assertEqual(doc['error']['type'], 'invalid_request_error', doc)
        self.assertEqual(doc['error']['code'], code, doc)

    def assertNotForwarded(self, sents):
        time.sleep(0.2)
        tags = {s.tag for s in sents}
        got = [r for r in mh.fake_requests(self.fake) if mh.req_header(r, 'X-Test-Req') in tags]
        self.assertEqual(got, [], 'a request with conflicting user ids reached the upstream')

    def test_user_ids_must_agree_on_every_chat_route(self):
        a, b = mh.uid('alice'), mh.uid('bob')
        for path, body in self.bodies('My name is Alice.'):
            with self.subTest(path=path, same=True):
                s = self.post(path, (a, a), body)
                self.assertEqual(s.status, 200, s.resp)
                self.assertEqual(s.header('x-memory-mode'), 'buffer', s.resp.headers)
        mh.wait_memory(self.proxy, a, lambda m: len(m['buffer']) == 6, what='three turns of alice')
        before = self.proxy.metric('memproxy_client_errors_total', kind=KIND)
        sents = []
        for path, body in self.bodies('My name is Mallory.'):
            with self.subTest(path=path):
                s = self.post(path, (a, b), body)
                sents.append(s)
                if path == '/v1/messages':
                    self.assertAnthropicError(s.resp, 400, KIND)
                else:
                    self.assertOpenAIError(s.resp, 400, KIND)
                self.assertNotIn(b, s.resp.json()['error']['message'])
        self.assertNotForwarded(sents)
        self.assertDeltaMetric(self.proxy, before, 'memproxy_client_errors_total', 3, kind=KIND)
        mh.wait_idle(self.proxy)
        self.assertEqual(len(mh.get_memory(self.proxy, a)['buffer']), 6, 'recorded for alice')
        self.assertEqual(mh.get_memory(self.proxy, b)['buffer'], [], 'recorded for bob')
        # X-Memory: off touches no memory: the user id is not looked at
        s = self.post('/v1/chat/completions', (a, b), self.bodies('hi')[0][1], extra=xm('off'))
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(s.header('x-memory-mode'), 'off')

    def test_user_id_lines_differing_by_case_or_blank_in_the_middle_400(self):
        a = mh.uid('carol')
        for other in (a.upper(), a[:3] + ' ' + a[3:]):
            with self.subTest(other=other):
                s = self.post('/v1/chat/completions', (a, other), self.bodies('hi')[0][1])
                self.assertOpenAIError(s.resp, 400, KIND)

    def test_memory_routes_refuse_different_user_ids(self):
        a, b = mh.uid('dave'), mh.uid('erin')
        r = self.proxy.request('GET', '/v1/memory', [('X-User-Id', a), ('X-User-Id', b)])
        self.assertOpenAIError(r, 400, KIND)
        r = self.proxy.request('DELETE', '/v1/memory', [('X-User-Id', a), ('x-user-id', b)])
        self.assertOpenAIError(r, 400, KIND)
        r = self.proxy.request('GET', '/v1/memory', [('X-User-Id', a), ('X-User-Id', a)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['user'], a)


class Credentials(mh.MemCase):
    """The signature and the tenant's API key: one value each."""

    SIG_KEY = 'zqxsecret-repeated-sig-2b9e7c4a1f6d'
    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'buffer'},
                    'sections': {'security': {'user_signature_key': SIG_KEY, 'tenant_from': 'api_key'}}}

    def sig(self, user):
        import hashlib
        import hmac
        return hmac.new(self.SIG_KEY.encode(), user.encode(), hashlib.sha256).hexdigest()

    def test_signatures_must_agree(self):
        user = mh.uid('sig')
        good, bad = self.sig(user), self.sig(user + 'x')
        auth = [('Authorization', 'Bearer zqxsecret-a')]
        for lines in ((good, bad), (good, good.upper())):
            with self.subTest(lines=lines):
                h = [('X-User-Id', user)] + [('X-User-Signature', v) for v in lines] + auth
                self.assertOpenAIError(self.proxy.request('GET', '/v1/memory', h), 400, KIND)
        h = [('X-User-Id', user), ('X-User-Signature', good), ('X-User-Signature', good)] + auth
        self.assertEqual(self.proxy.request('GET', '/v1/memory', h).status, 200)

    def test_api_keys_naming_a_tenant_must_agree(self):
        user = mh.uid('ten')
        base = [('X-User-Id', user), ('X-User-Signature', self.sig(user))]
        for name, v1, v2 in (('Authorization', 'Bearer zqxsecret-a', 'Bearer zqxsecret-b'),
                             ('x-api-key', 'zqxsecret-a', 'zqxsecret-b')):
            with self.subTest(header=name):
                h = base + [(name, v1), (name, v2)]
                self.assertOpenAIError(self.proxy.request('GET', '/v1/memory', h), 400, KIND)
                h = base + [(name, v1), (name, v1)]
                self.assertEqual(self.proxy.request('GET', '/v1/memory', h).status, 200)
        before = mh.last_n(self.fake)
        s = send(self.proxy, user, 'hi', auth=None,
                 extra_headers=[('X-User-Signature', self.sig(user)),
                                ('Authorization', 'Bearer zqxsecret-a'),
                                ('Authorization', 'Bearer zqxsecret-b')])
        self.assertOpenAIError(s.resp, 400, KIND)
        time.sleep(0.2)
        self.assertEqual([r for r in mh.fake_requests(self.fake) if r['n'] > before], [])


class Hints(mh.MemCase):
    """A hint on any line counts: a task hint makes a task, a temporary-chat
    id makes a temporary chat; a Connection line's fields stay home."""

    PROXY_CONFIG = {'workers': 1, 'memory': {'mode': 'buffer'}}

    def test_task_hint_on_a_later_line(self):
        for extra, kind in (([('X-Memory-Task', ''), ('X-Memory-Task', 'title')], 'title'),
                            ([('x-claude-code-request-class', 'main'),
                              ('x-claude-code-request-class', 'compaction')], 'compaction')):
            with self.subTest(extra=extra):
                s = send(self.proxy, mh.uid('task'), 'What is the weather like?', extra_headers=extra)
                self.assertOK(s)
                self.assertEqual(s.mode(), 'off', s.resp.headers)
                self.assertEqual(s.header('x-memory-skipped'), 'client_task:' + kind, s.resp.headers)
                self.assertEqual(mh.upstream_body(self.fake, s), s.body)

    def test_temporary_chat_id_on_any_line(self):
        user = mh.uid('tmp')
        with self.proxy.conn() as c:
            s = send(self.proxy, user, 'A secret of mine.', conn=c,
                     extra_headers=[('X-OpenWebUI-Chat-Id', '3f1c0b9e-7d7e-4c2b-9a55-1f0f2a6c8e11'),
                                    ('X-OpenWebUI-Chat-Id', 'local:pZ2bJ4y0aF1kLqAAAAB')])
            self.assertOK(s)
            self.assertEqual(s.header('x-memory-skipped'), 'temporary_chat', s.resp.headers)
            self.assertOK(send(self.proxy, user, 'barrier', conn=c))
        mem = mh.wait_memory(self.proxy, user, lambda m: len(m['buffer']) >= 2, what='the barrier')
        self.assertEqual(mh.buffer_pairs(mem), [('user', 'barrier'), ('assistant', REPLY)])

    def test_field_listed_by_a_second_connection_line_stays_home(self):
        s = send(self.proxy, None, 'hi', extra_headers=[('Connection', 'keep-alive'),
                                                        ('Connection', 'X-Hop-A, x-hop-b'),
                                                        ('X-Hop-A', '1'), ('X-Hop-B', '2'),
                                                        ('X-End-To-End', '3')])
        self.assertOK(s)
        got = mh.upstream_of(self.fake, s)
        self.assertIsNone(mh.req_header(got, 'X-Hop-A'), got.get('headers'))
        self.assertIsNone(mh.req_header(got, 'X-Hop-B'), got.get('headers'))
        self.assertEqual(mh.req_header(got, 'X-End-To-End'), '3')


if __name__ == '__main__':
    harness.main('proxy_repeated_headers')
