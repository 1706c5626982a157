"""Anthropic's Messages API (issue 9): /v1/messages and below go to
[anthropic] base_url with the client's x-api-key and anthropic-* headers as
they are (or [anthropic] api_key replacing x-api-key), answer 404 in
Anthropic's error shape while it is unset, and every error memproxy makes
on them (refusals, an unreachable upstream, an upstream that breaks a
stream) takes Anthropic's shape; count_tokens passes through."""

import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

MESSAGES = '/v1/messages'
VERSION = '2023-06-01'


def anthropic_root(fake):
    """The fake's root URL ([anthropic] base_url takes the host: the client's
    whole path is appended)."""
    return fake.base_url[:-len('/v1')]


def body(text='hi', stream=False, **extra):
    d = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': [{'role': 'user', 'content': text}]}
    if stream:
        d['stream'] = True
    d.update(extra)
    return json.dumps(d).encode()


def headers(key='sk-ant-client', tag=None, user=None, extra=()):
    h = [('Content-Type', 'application/json'), ('x-api-key', key), ('anthropic-version', VERSION),
         ('anthropic-beta', 'prompt-caching-2024-07-31')]
    if tag is not None:
        h.append(('X-Test-Req', tag))
    if user is not None:
        h.append(('X-User-Id', user))
    return h + list(extra)


class AnthropicCase(harness.ProxyTestCase):
    def assertAnthropicError(self, r, status, code, etype):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header('content-type') or '').startswith('application/json'))
        self.assertTrue(r.header('x-request-id'))
        doc = r.json()
        self.assertEqual(doc['type'], 'error', doc)
        self.assertEqual(doc['error']['type'], etype, doc)
        self.assertEqual(doc['error']['code'], code, doc)
        self.assertIsInstance(doc['error']['message'], str)
        self.assertNotIn('param', doc['error'])

    def fake_req(self, tag):
        return mh.upstream_of(self.fake, mh.Sent(tag, b'', None, None))


class Off(AnthropicCase):
    """[anthropic] base_url unset (the default)."""

    def test_routes_answer_404_in_anthropic_shape(self):
        before = self.fake.stats()['requests']
        for method, path in (('POST', MESSAGES), ('POST', MESSAGES + '/count_tokens'),
                             ('GET', MESSAGES + '/batches?limit=1')):
            with self.subTest(path=path):
                r = self.proxy.request(method, path, headers(), body() if method == 'POST' else b'')
                self.assertAnthropicError(r, 404, 'not_found', 'not_found_error')
        self.assertEqual(self.fake.stats()['requests'], before)
        # an OpenAI route keeps OpenAI's shape
        r = self.proxy.request('GET', '/nope', headers(), b'')
        self.assertOpenAIError(r, 404, 'not_found')


class On(AnthropicCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

    def own(self, **anthropic):
        return self.start_proxy(sections={'anthropic': dict({'base_url': anthropic_root(self.fake)},
                                                            **anthropic)})

    def test_forwarded_with_the_clients_headers(self):
        p = self.own()
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES + '?beta=true', headers(tag=tag), body())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['type'], 'message')
        self.assertEqual(r.json()['content'][0]['text'], mh.REPLY)
        req = self.fake_req(tag)
        self.assertEqual(req['path'], MESSAGES + '?beta=true')  # the query passes too
        self.assertEqual(mh.req_header(req, 'x-api-key'), 'sk-ant-client')
        self.assertEqual(mh.req_header(req, 'anthropic-version'), VERSION)
        self.assertEqual(mh.req_header(req, 'anthropic-beta'), 'prompt-caching-2024-07-31')
        self.assertIsNone(mh.req_header(req, 'authorization'))

    def test_api_key_replaces_the_clients(self):
        p = self.own(api_key='sk-ant-configured')
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES, headers(tag=tag), body())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(mh.req_header(self.fake_req(tag), 'x-api-key'), 'sk-ant-configured')

    def test_stream_and_count_tokens_pass_through(self):
        p = self.own()
        r = p.request('POST', MESSAGES, headers(), body(stream=True))
        self.assertEqual(r.status, 200, r)
        types = [json.loads(d)['type'] for d in r.data_payloads()]
        self.assertEqual(types[0], 'message_start')
        self.assertEqual(types[-1], 'message_stop')
        tag = uuid.uuid4().hex
        r = p.request('POST', MESSAGES + '/count_tokens', headers(tag=tag), body())
        self.assertEqual(r.status, 200, r)
        self.assertGreater(r.json()['input_tokens'], 0)
        self.assertEqual(self.fake_req(tag)['path'], MESSAGES + '/count_tokens')

    def test_upstream_errors_pass_through_and_proxy_errors_take_anthropics_shape(self):
        p = self.own()
        r = p.request('POST', MESSAGES, headers(extra=[('X-Fake-Behavior', 'status=529')]), body())
        self.assertEqual(r.status, 529, r)
        self.assertEqual(r.json()['error']['type'], 'overloaded_error')  # the upstream's own body
        # an unreachable upstream
        dead = self.start_proxy(sections={'anthropic': {'base_url': 'http://127.0.0.1:%d' % harness.free_port()}})
        r = dead.request('POST', MESSAGES, headers(), body())
        self.assertAnthropicError(r, 502, 'upstream_unreachable', 'api_error')
        # a path memproxy refuses before routing it
        r = p.request('POST', MESSAGES + '/%2e%2e/x', headers(), body())
        self.assertAnthropicError(r, 400, 'bad_request', 'invalid_request_error')

    def test_a_stream_the_upstream_breaks_ends_with_anthropics_error_event(self):
        p = self.own()
        r = p.request('POST', MESSAGES, headers(extra=[('X-Fake-Behavior', 'reset_after=4')]),
                      body(stream=True))
        self.assertEqual(r.status, 200, r)
        evs = r.events()
        last = evs[-1].decode() if isinstance(evs[-1], bytes) else evs[-1]
        self.assertTrue(last.startswith('event: error\n'), last)
        data = json.loads(last.split('data: ', 1)[1])
        self.assertEqual(data['type'], 'error')
        self.assertEqual(data['error']['code'], 'upstream_reset')


if __name__ == '__main__':
    harness.main('proxy_anthropic')
