"""Logs: one JSON line per request with the documented fields, and never a
secret, a prompt or a raw user id."""

import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from harness import HTTPConn, chat_body, chunk_encode  # noqa: E402

CHAT = '/v1/chat/completions'
FIELDS = ('time', 'level', 'msg', 'request_id', 'method', 'path', 'status', 'duration_ms', 'upstream_ms',
          'stream', 'bytes_in', 'bytes_out', 'user')

CANARIES = ('sk-canary-123', 'canary-prompt-xyz', 'canary-user', 'canary-answer-header')


class Logs(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 2}

    def request_lines(self, start):
        return [o for o in self.proxy.log_objects(start) if o.get('msg') == 'request']

    def settled(self):
        """The log's length once every data-plane request so far has its
        line (memproxy_requests_total counts them all), so no line of an
        earlier test comes after it."""
        mh.wait_for(lambda: len(self.request_lines(0)) == self.proxy.metric('memproxy_requests_total'),
                    what='a request line for every request counted')
        return self.proxy.log_count()

    def wait_request_lines(self, start, n):
        deadline = harness.wait_deadline(5)
        while time.monotonic() < deadline:
            lines = self.request_lines(start)
            if len(lines) >= n:
                break
            time.sleep(0.02)
        time.sleep(0.1)
        return self.request_lines(start)

    def test_one_line_per_request_with_fields(self):
        start = self.settled()
        body = chat_body(content='count me')
        r1 = self.proxy.request('POST', CHAT, [('Content-Type', 'application/json')], body)
        r2 = self.proxy.chat(stream=True)
        r3 = self.proxy.request('GET', '/not-here')
        r4 = self.proxy.request('GET', '/v1/models')
        self.assertEqual([r1.status, r2.status, r3.status, r4.status], [200, 200, 404, 200])
        lines = self.wait_request_lines(start, 4)
        self.assertEqual(len(lines), 4, lines)
        # memproxy blanks the path of unroutable requests (it never logs what a
        # client put there); routable paths are logged as they are.
        self.assertEqual(sorted(o['path'] for o in lines if o['status'] != 404), [CHAT, CHAT, '/v1/models'], lines)
        nf = [o for o in lines if o['status'] == 404]
        self.assertEqual(len(nf), 1, lines)
        self.assertIn(nf[0]['path'], ('/not-here', ''))
        for o in lines:
            for f in FIELDS:
                self.assertIn(f, o, 'field %s missing in %r' % (f, o))
            self.assertEqual(o['level'], 'info')
            self.assertIsInstance(o['request_id'], str)
            self.assertTrue(o['request_id'])
            self.assertIsInstance(o['duration_ms'], (int, float))
            self.assertGreaterEqual(o['duration_ms'], 0)
            self.assertIsInstance(o['upstream_ms'], (int, float))
            self.assertIsInstance(o['bytes_in'], int)
            self.assertIsInstance(o['bytes_out'], int)
            self.assertIsInstance(o['stream'], bool)
            self.assertIsInstance(o['status'], int)
            self.assertEqual(o['user'], '')
        chats = [o for o in lines if o['method'] == 'POST']
        self.assertEqual(len(chats), 2)
        self.assertEqual(sorted(o['stream'] for o in chats), [False, True])
        for o in chats:
            self.assertEqual(o['path'], CHAT)
            self.assertEqual(o['status'], 200)
        plain = [o for o in chats if not o['stream']][0]
        self.assertGreaterEqual(plain['bytes_in'], len(body))
        self.assertGreaterEqual(plain['bytes_out'], len(r1.body))
        self.assertEqual(nf[0]['method'], 'GET')
        self.assertEqual(nf[0]['stream'], False)
        models = [o for o in lines if o['path'] == '/v1/models'][0]
        self.assertEqual((models['method'], models['status']), ('GET', 200))
        self.assertEqual(len({o['request_id'] for o in lines}), 4)

    def test_user_is_hashed(self):
        start = self.settled()
        self.assertEqual(self.proxy.chat(headers=[('X-User-Id', 'hash-me-user-77')]).status, 200)
        self.assertEqual(self.proxy.chat(headers=[('X-User-Id', 'hash-me-user-77')]).status, 200)
        self.assertEqual(self.proxy.chat(headers=[('X-User-Id', 'other-user-88')]).status, 200)
        lines = self.wait_request_lines(start, 3)
        self.assertEqual(len(lines), 3, lines)
        users = [o['user'] for o in lines]
        for u in users:
            self.assertTrue(u, 'user hash empty although a user id was given')
            self.assertNotIn('hash-me-user', u)
            self.assertNotIn('other-user', u)
        self.assertEqual(users[0], users[1], 'the same user hashes differently')
        self.assertNotEqual(users[0], users[2])

    def test_memory_routes_name_their_user(self):
        # a person's own reads and erasures are tied to them in the request
        # log, by the same hash as their chat requests
        start = self.settled()
        me = [('X-User-Id', 'mem-log-user-31')]
        self.assertEqual(self.proxy.chat(headers=me).status, 200)
        put = me + [('Content-Type', 'application/json')]
        calls = (('GET', '/v1/memory', me, None, 200),
                 ('PUT', '/v1/memory/entities/city', put, b'{"value":"Oslo"}', 200),
                 ('GET', '/v1/memory/settings', me, None, 200),
                 ('GET', '/v1/memory/search?q=Oslo', me, None, 200),
                 ('DELETE', '/v1/memory/entities/city', me, None, 204),
                 ('DELETE', '/v1/memory/entities/city', me, None, 404),
                 ('POST', '/v1/memory/search', me, None, 405),
                 ('DELETE', '/v1/memory', me, None, 204))
        for method, path, headers, body, status in calls:
            r = self.proxy.request(method, path, headers, body)
            self.assertEqual(r.status, status, (method, path, r))
        lines = self.wait_request_lines(start, 1 + len(calls))
        self.assertEqual(len(lines), 1 + len(calls), lines)
        chat = lines[0]['user']
        self.assertTrue(chat)
        for o in lines[1:]:
            self.assertEqual(o['user'], chat, o)
            self.assertNotIn('mem-log-user', json.dumps(o))
        self.assertEqual([o['status'] for o in lines[1:]], [c[4] for c in calls])
        # the key is the user's data: the route is logged, never the key
        self.assertNotIn('city', json.dumps(lines))

    def test_every_line_is_json(self):
        self.proxy.chat()
        self.proxy.request('GET', '/x')
        time.sleep(0.1)
        for ln in self.proxy.log_lines():
            if not ln.strip():
                continue
            try:
                o = json.loads(ln)
            except ValueError:
                self.fail('log line is not JSON: %r' % ln[:300])
            self.assertIsInstance(o, dict)
            for f in ('time', 'level', 'msg'):
                self.assertIn(f, o, ln)


class Secrets(harness.ProxyTestCase):
    """No secret reaches the log, at info and at debug level."""

    @classmethod
    def setUpClass(cls):
        cls.fake = harness.FakeUpstream().start()

    @classmethod
    def tearDownClass(cls):
        problems = cls.fake.stop()
        if problems:
            raise AssertionError('\n'.join(problems))

    def exercise(self, p):
        auth = ('Authorization', 'Bearer sk-canary-123')
        ct = ('Content-Type', 'application/json')
        prompt = 'canary-prompt-xyz'
        statuses = []
        for extra, body, fake in (
                ([('X-User-Id', 'canary-user')], chat_body(content=prompt), ''),
                ([], chat_body(content=prompt, user='canary-user'), ''),
                ([('X-User-Id', 'canary-user')], chat_body(stream=True, content=prompt), 'events=3'),
                ([('X-User-Id', 'canary-user')], chat_body(content=prompt), 'status=500'),
                ([('X-User-Id', 'canary-user')], chat_body(stream=True, content=prompt), 'events=3,reset_after=1'),
                ([('X-User-Id', 'canary-user{{x}}')], chat_body(content=prompt), ''),
                ([('X-User-Id', 'canary-user'), ('X-Memory', 'canary-user')], chat_body(content=prompt), ''),
                ([('X-User-Id', 'canary-user')], chat_body(content=prompt + 'p' * 3000), ''),
                ([('X-User-Id', 'canary-user'), ('X-Canary', 'canary-answer-header')], chat_body(content=prompt),
                 'echo')):
            h = [auth, ct] + extra + ([('X-Fake-Behavior', fake)] if fake else [])
            r = p.request('POST', CHAT, h, body)
            statuses.append(r.status)
        # Chunked body, and a 404 (whose path is logged: no canary in it).
        r = p.request('POST', CHAT, [auth, ct, ('Transfer-Encoding', 'chunked'), ('X-User-Id', 'canary-user')],
                      chunk_encode([chat_body(content=prompt)]))
        statuses.append(r.status)
        r = p.request('GET', '/not-found', [auth, ('X-User-Id', 'canary-user')])
        statuses.append(r.status)
        return statuses

    def check_clean(self, p):
        if not p.stopped:
            self.assertIsNotNone(p.wait_log(lambda o: o.get('msg') == 'request', harness.WAIT))
        text = p.err.text()
        self.assertIn('"msg":"request"', text.replace(' ', ''))
        for c in CANARIES:
            self.assertNotIn(c, text, 'log contains %r' % c)

    def test_no_secrets_in_log_info(self):
        p = self.start_proxy(workers=1, server={'max_body_bytes': 2048})
        statuses = self.exercise(p)
        self.assertEqual(statuses[:3], [200, 200, 200])
        self.assertEqual(statuses[3], 500)
        self.assertEqual(statuses[5], 400)
        self.assertEqual(statuses[6], 400)
        self.assertEqual(statuses[7], 413)
        self.check_clean(p)
        self.assertEqual(p.stop(), [])
        self.check_clean(p)

    def test_no_secrets_in_log_debug(self):
        p = self.start_proxy(workers=1, server={'max_body_bytes': 2048}, log={'level': 'debug'})
        self.exercise(p)
        self.check_clean(p)
        self.assertEqual(p.stop(), [])
        self.check_clean(p)

    def test_no_secrets_in_text_format(self):
        p = self.start_proxy(workers=1, server={'max_body_bytes': 2048})
        # Switch the running proxy to the text format and debug level by SIGHUP.
        p.sections['log'] = {'level': 'debug', 'format': 'text'}
        p.write_config()
        before = p.metric('memproxy_config_reloads_total', result='ok')
        start = p.log_count()
        p.signal(signal.SIGHUP)
        v = p.wait_metric('memproxy_config_reloads_total', lambda x: x > before, 5, result='ok')
        self.assertEqual(v - before, 1, 'the SIGHUP reload to the text format was not applied')
        statuses = self.exercise(p)
        self.assertEqual(statuses[:4], [200, 200, 200, 500])
        n = len(statuses)
        deadline = harness.wait_deadline(5)
        while time.monotonic() < deadline and len(self.text_request_lines(p, start)) < n:
            time.sleep(0.05)
        lines = p.log_lines()[start:]
        # Every line after the reload is text, and each request has its line.
        self.assertEqual([ln for ln in lines if ln.startswith('{')], [], 'JSON lines after the switch to text')
        self.assertIn('configuration reloaded', '\n'.join(lines))
        req = self.text_request_lines(p, start)
        self.assertEqual(len(req), n, 'text request lines: %r' % req)
        for ln in req:
            for f in ('request_id=', 'method=', 'status=', 'duration_ms=', 'user='):
                self.assertIn(' ' + f, ln)
        self.assertEqual(sum(1 for ln in req if ' status=500' in ln), 1, req)
        text = p.err.text()
        for c in CANARIES:
            self.assertNotIn(c, text, 'text log contains %r' % c)
        self.assertEqual(p.stop(), [])

    @staticmethod
    def text_request_lines(p, start):
        return [ln for ln in p.log_lines()[start:]
                if re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info request ', ln)]


if __name__ == '__main__':
    harness.main('proxy_logs')
