"""Forwarding: what the upstream receives and what comes back, byte for byte."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import HTTPConn, chat_body, chunk_encode, fake_n, headers_get  # noqa: E402

UPSTREAM_HEADERS = ('x-request-id', 'openai-processing-ms', 'openai-version', 'x-ratelimit-remaining-requests',
                    'x-fake-custom', 'retry-after', 'retry-after-ms', 'x-should-retry', 'content-type')


class Forwarding(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 2}

    def last(self):
        line, headers, body = self.fake.last_parsed()
        return line.decode('latin-1'), headers, body

    # -- request side ------------------------------------------------------

    def test_method_path_query_body_byte_for_byte(self):
        body = ('{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"h\\u00e9llo \u00fcber '
                '\\"quoted\\" \\n tab\\t"}],\n "temperature":0.70, "z":[1,2,3] ,"a":{}}').encode('utf-8')
        path = '/v1/chat/completions?api-version=2024-02-01&x=%20y&empty='
        r = self.proxy.request('POST', path, [('Content-Type', 'application/json')], body)
        self.assertEqual(r.status, 200, r)
        line, headers, got = self.last()
        self.assertEqual(line, 'POST %s HTTP/1.1' % path)
        self.assertEqual(got, body)
        cl = headers_get(headers, 'content-length')
        if cl:
            self.assertEqual(cl, [str(len(body))])

    def test_other_methods_and_paths(self):
        for method, path, body in (('GET', '/v1/models', b''),
                                   ('GET', '/v1/models/gpt-4o?x=1', b''),
                                   ('DELETE', '/v1/files/file-abc123', b''),
                                   ('PUT', '/v1/some/thing', b'{"k":"v"}'),
                                   ('PATCH', '/v1/some/thing', b'{"k":"w"}')):
            with self.subTest(method=method, path=path):
                r = self.proxy.request(method, path, [('Content-Type', 'application/json')] if body else [], body)
                self.assertEqual(r.status, 200, r)
                line, _, got = self.last()
                self.assertEqual(line, '%s %s HTTP/1.1' % (method, path))
                self.assertEqual(got, body)

    def test_chunked_request_body_forwarded(self):
        payload = chat_body(content='chunked ' * 50)
        parts = [payload[:7], payload[7:100], payload[100:]]
        r = self.proxy.request('POST', '/v1/chat/completions',
                               [('Content-Type', 'application/json'), ('Transfer-Encoding', 'chunked')],
                               chunk_encode(parts))
        self.assertEqual(r.status, 200, r)
        _, _, got = self.last()
        self.assertEqual(got, payload)

    def test_binary_body_roundtrip_via_echo(self):
        payload = bytes(range(256)) * 40 + b'\r\n\r\n0\r\n\r\n'
        r = self.proxy.request('POST', '/v1/files', [('Content-Type', 'application/octet-stream'),
                                                      ('X-Fake-Behavior', 'echo')], payload)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(bytes(r.body), payload)
        self.assertEqual(r.header('content-type'), 'application/octet-stream')
        _, _, got = self.last()
        self.assertEqual(got, payload)

    def test_end_to_end_headers_passed(self):
        r = self.proxy.request('POST', '/v1/chat/completions',
                               [('Content-Type', 'application/json; charset=utf-8'),
                                ('X-Custom', 'value-123  with spaces'),
                                ('OpenAI-Organization', 'org-test'),
                                ('Accept', 'application/json')], chat_body())
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.last()
        self.assertEqual(headers_get(headers, 'x-custom'), ['value-123  with spaces'])
        self.assertEqual(headers_get(headers, 'content-type'), ['application/json; charset=utf-8'])
        self.assertEqual(headers_get(headers, 'openai-organization'), ['org-test'])
        self.assertEqual(headers_get(headers, 'accept'), ['application/json'])

    def test_hop_by_hop_headers_removed(self):
        r = self.proxy.request('POST', '/v1/chat/completions',
                               [('Content-Type', 'application/json'),
                                ('Connection', 'keep-alive, X-Foo,  x-bar'),
                                ('Keep-Alive', 'timeout=5, max=100'),
                                ('X-Foo', 'connection-listed'),
                                ('X-Bar', 'also-listed'),
                                ('X-Custom', 'end-to-end')], chat_body())
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.last()
        names = [k.lower() for k, _ in headers]
        self.assertNotIn('keep-alive', names, headers)
        self.assertNotIn('x-foo', names, headers)
        self.assertNotIn('x-bar', names, headers)
        self.assertEqual(headers_get(headers, 'x-custom'), ['end-to-end'])
        for v in headers_get(headers, 'connection'):
            self.assertNotIn('x-foo', v.lower())

    def test_host_rewritten_to_upstream(self):
        r = self.proxy.request('GET', '/v1/models', [('Host', 'client.example:1234')])
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.last()
        self.assertEqual(headers_get(headers, 'host'), ['127.0.0.1:%d' % self.fake.port])

    def test_authorization_forwarded_without_api_key(self):
        r = self.proxy.chat(headers=[('Authorization', 'Bearer sk-client-abc')])
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.last()
        self.assertEqual(headers_get(headers, 'authorization'), ['Bearer sk-client-abc'])

    def test_authorization_replaced_with_api_key(self):
        p = self.start_proxy(upstream={'api_key': 'sk-proxy-key-xyz'})
        r = p.chat(headers=[('Authorization', 'Bearer sk-client-abc')])
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.last()
        self.assertEqual(headers_get(headers, 'authorization'), ['Bearer sk-proxy-key-xyz'])
        # Also when the client sends none.
        r = p.request('GET', '/v1/models')
        self.assertEqual(r.status, 200, r)
        _, headers, _ = self.last()
        self.assertEqual(headers_get(headers, 'authorization'), ['Bearer sk-proxy-key-xyz'])

    # -- memproxy's own headers stay home (issue 31, requirement 5) --------

    MEMORY_HEADERS = [('X-User-Id', 'fw-user-1'), ('X-Memory', 'read'),
                      ('X-User-Signature', 'ab' * 32), ('X-Memory-Task', 'title')]

    def own_headers_sent(self, p):
        """A chat request with memproxy's own headers and a body whose
        "user" differs from the header's: what the upstream got."""
        body = b'{"model":"gpt-4o-mini", "user" : "body-user-\\u00e9 x","messages":[{"role":"user","content":"hi"}]}'
        h = [('Content-Type', 'application/json'), ('X-Custom', 'kept')] + self.MEMORY_HEADERS
        r = p.request('POST', '/v1/chat/completions', h, body)
        self.assertEqual(r.status, 200, r)
        _, headers, got = self.last()
        self.assertEqual(got, body)  # nothing stored to read, nothing recorded: the body as sent, "user" too
        self.assertEqual(headers_get(headers, 'x-custom'), ['kept'])
        return headers

    def test_memory_headers_removed_before_forwarding(self):
        headers = self.own_headers_sent(self.proxy)
        for name, _ in self.MEMORY_HEADERS:
            self.assertEqual(headers_get(headers, name), [], name)

    def test_memory_headers_forwarded_when_configured(self):
        p = self.start_proxy(upstream={'forward_memory_headers': True})
        headers = self.own_headers_sent(p)
        for name, value in self.MEMORY_HEADERS:
            self.assertEqual(headers_get(headers, name), [value], name)

    def test_the_configured_user_header_is_the_one_removed(self):
        p = self.start_proxy(memory={'user_header': 'X-Team-Member'})
        r = p.request('POST', '/v1/chat/completions',
                      [('Content-Type', 'application/json'), ('x-team-member', 'tm-1'),
                       ('X-User-Id', 'just-a-header'), ('X-Memory', 'read')], chat_body())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-memory-mode'), 'hybrid')  # the header named the user
        _, headers, _ = self.last()
        self.assertEqual(headers_get(headers, 'x-team-member'), [])
        self.assertEqual(headers_get(headers, 'x-user-id'), ['just-a-header'])

    # -- response side -----------------------------------------------------

    def compare_with_direct(self, directives, stream=False, path='/v1/chat/completions'):
        """A proxied request then the same request straight to the fake: same
        status, body and upstream headers, except the request number."""
        h = [('Content-Type', 'application/json'), ('X-Fake-Behavior', directives)]
        via = self.proxy.request('POST', path, h, chat_body(stream))
        direct = self.fake.direct('POST', path, h, chat_body(stream))
        self.assertTrue(via.complete, via)
        n_via, n_direct = fake_n(via), fake_n(direct)
        self.assertEqual(n_direct, n_via + 1, 'the proxy sent exactly one upstream request')
        self.assertEqual((via.status, via.reason), (direct.status, direct.reason))  # the status line
        expected = bytes(direct.body).replace(b'fake%d"' % n_direct, b'fake%d"' % n_via)
        self.assertEqual(bytes(via.body), expected)
        for name in UPSTREAM_HEADERS:
            want = direct.header_all(name)
            if name == 'x-request-id':
                want = ['fake-%d' % n_via]
            self.assertEqual(via.header_all(name), want, name)
        return via, direct

    def test_upstream_429_passed_unchanged(self):
        via, _ = self.compare_with_direct('status=429')
        self.assertEqual(via.status, 429)
        self.assertEqual(via.header('retry-after'), '1')
        self.assertEqual(via.header('retry-after-ms'), '1000')
        self.assertEqual(via.header('x-should-retry'), 'true')
        self.assertEqual(via.header('x-fake-custom'), 'kept')
        self.assertEqual(via.json()['error']['code'], 'fake_429')

    def test_upstream_500_passed_unchanged(self):
        via, _ = self.compare_with_direct('status=500')
        self.assertEqual(via.status, 500)
        self.assertEqual(via.json()['error']['code'], 'fake_500')

    def test_upstream_503_passed_unchanged(self):
        via, _ = self.compare_with_direct('status=503')
        self.assertEqual(via.status, 503)
        self.assertEqual(via.header('retry-after-ms'), '1000')

    def test_upstream_200_headers_and_body(self):
        via, _ = self.compare_with_direct('')
        self.assertEqual(via.status, 200)
        self.assertEqual(via.header('openai-version'), '2020-10-01')
        self.assertEqual(via.header('x-ratelimit-remaining-requests'), '99')
        self.assertEqual(via.json()['choices'][0]['message']['content'], 'Hello from fake upstream')

    def test_upstream_chunked_json_response(self):
        via, _ = self.compare_with_direct('chunked,body_bytes=5000')
        self.assertEqual(len(via.body), 5000)

    def test_large_upstream_response(self):
        via, _ = self.compare_with_direct('body_bytes=3000000')
        self.assertEqual(len(via.body), 3000000)

    def test_stream_passed_unchanged(self):
        via, _ = self.compare_with_direct('events=4', stream=True)
        self.assertEqual(via.header('content-type'), 'text/event-stream')

    def test_embeddings_and_models_forwarded(self):
        via, _ = self.compare_with_direct('', path='/v1/completions')
        self.assertEqual(via.status, 200)
        r = self.proxy.request('POST', '/v1/embeddings', [('Content-Type', 'application/json')],
                               b'{"model":"text-embedding-3-small","input":"abc"}')
        self.assertEqual(r.status, 200, r)
        line, _, got = self.fake.last_parsed()
        self.assertEqual(line, b'POST /v1/embeddings HTTP/1.1')
        self.assertEqual(got, b'{"model":"text-embedding-3-small","input":"abc"}')
        r = self.proxy.request('GET', '/v1/models')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-fake-custom'), 'kept')
        line, _, _ = self.fake.last_parsed()
        self.assertEqual(line, b'GET /v1/models HTTP/1.1')

    # -- connections -------------------------------------------------------

    def test_keep_alive_several_requests_one_socket(self):
        before = self.fake.stats()['requests']
        with HTTPConn(self.proxy.port) as c:
            for i in range(6):
                stream = (i % 2 == 1)
                body = chat_body(stream=stream, content='turn %d' % i)
                r = c.request('POST', '/v1/chat/completions', [('Content-Type', 'application/json')], body)
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.complete, r)
                self.assertFalse(r.closed, 'connection closed after request %d' % i)
                _, _, got = self.fake.last_parsed()
                self.assertEqual(got, body)
                if stream:
                    self.assertEqual(r.data_payloads()[-1], b'[DONE]')
            r = c.request('GET', '/v1/models')
            self.assertEqual(r.status, 200)
        self.assertEqual(self.fake.stats()['requests'] - before, 7)

    def test_pipelined_requests(self):
        with HTTPConn(self.proxy.port) as c:
            data = b''
            for i in range(3):
                data += harness.build_request('POST', '/v1/embeddings', [('X-Fake-Behavior', 'echo'),
                                                                         ('Content-Type', 'text/plain')],
                                              b'pipelined-%d' % i, host='x')
            c.send(data)
            for i in range(3):
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(bytes(r.body), b'pipelined-%d' % i)

    def test_upstream_connections_reused(self):
        before = self.fake.stats()['connections']
        for i in range(20):
            r = self.proxy.chat()
            self.assertEqual(r.status, 200, r)
        new = self.fake.stats()['connections'] - before
        self.assertLessEqual(new, 3, '%d upstream connections for 20 sequential requests' % new)

    def test_outside_v1_is_404(self):
        before = self.fake.stats()['requests']
        for method, path in (('GET', '/'), ('GET', '/healthz'), ('GET', '/v2/models'),
                             ('POST', '/chat/completions'), ('GET', '/_fake/stats'), ('GET', '/metrics'),
                             ('GET', '/v1x/models')):
            with self.subTest(path=path):
                r = self.proxy.request(method, path, [('Content-Type', 'application/json')],
                                       chat_body() if method == 'POST' else b'')
                self.assertOpenAIError(r, 404, 'not_found')
        self.assertEqual(self.fake.stats()['requests'], before, 'a 404 path reached the upstream')

    def test_404_keeps_connection_usable(self):
        with HTTPConn(self.proxy.port) as c:
            r = c.request('GET', '/nope')
            self.assertOpenAIError(r, 404, 'not_found')
            r = c.request('GET', '/v1/models')
            self.assertEqual(r.status, 200, r)

    def test_request_ids_unique_for_proxy_errors(self):
        ids = set()
        for _ in range(5):
            r = self.proxy.request('GET', '/nope')
            ids.add(r.header('x-request-id'))
        self.assertEqual(len(ids), 5, ids)


if __name__ == '__main__':
    harness.main('proxy_forwarding')
