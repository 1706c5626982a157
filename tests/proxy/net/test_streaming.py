"""Streaming: SSE relayed event by event, byte for byte, with back-pressure,
cancellation and mid-stream failures."""

import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from harness import HTTPConn, chat_body, fake_n  # noqa: E402

CHAT = '/v1/chat/completions'
SSE_EVENT_CAP = 16 << 20     # docs/http-api.md: one SSE event is capped at 16 MiB
HIGH_WATER = 256 * 1024      # docs/http-api.md: the upstream is paused once this much waits for the client
LOW_WATER = 64 * 1024        # ... and resumed under this
# What memproxy holds besides its output buffer: what curl had read but not
# delivered when it was paused (at most its receive buffer, CURLOPT_BUFFERSIZE
# 64 KiB in proxy/net/upstream.c), a partial SSE event, and the difference
# between its response head and the fake's (bounds below add 16 KiB for
# those). A pause threshold of 512 KiB would still show.
HELD_SLACK = 64 * 1024


def stream_headers(directives):
    h = [('Content-Type', 'application/json')]
    if directives:
        h.append(('X-Fake-Behavior', directives))
    return h


class StreamCase(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.exp = harness.ExpectedBodies(cls.fake)

    def stream(self, directives, proxy=None, timeout=30):
        p = proxy or self.proxy
        return p.request('POST', CHAT, stream_headers(directives), chat_body(stream=True), timeout=timeout)

    def assertStreamExact(self, r, directives):
        """r is complete and its body is exactly what the fake sends."""
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, 'stream not terminated properly: %r' % r)
        want = self.exp.expected(directives, fake_n(r))
        got = bytes(r.body)
        if got != want:
            i = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
            self.fail('stream differs at byte %d (got %d bytes, want %d): got %r want %r'
                      % (i, len(got), len(want), got[max(0, i - 40):i + 40], want[max(0, i - 40):i + 40]))

    def error_event(self, payload):
        obj = json.loads(payload.decode('utf-8'))
        self.assertEqual(set(obj.keys()), {'error'}, obj)
        err = obj['error']
        self.assertEqual(set(err.keys()), {'message', 'type', 'param', 'code'}, err)
        self.assertEqual(err['type'], 'upstream_error', err)
        self.assertIsNone(err['param'])
        self.assertTrue(err['message'])
        return err


class Streaming(StreamCase):

    def test_events_arrive_one_by_one(self):
        # the fake sends an event every 500 ms: relayed one by one, two
        # arrive together only if this test is kept off the CPU for half of
        # that; held back, they arrive at once
        d = 'events=5,event_delay_ms=500'
        r = self.stream(d)
        self.assertStreamExact(r, d)
        evs = r.events_with_times()
        self.assertEqual(len(evs), 7, evs)
        times = [t for _, t in evs]
        for i in range(1, 5):
            self.assertGreaterEqual(times[i] - times[i - 1], 0.25, 'events %d and %d arrived together' % (i - 1, i))

    def test_stream_response_headers(self):
        r = self.stream('events=2')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('content-type'), 'text/event-stream')
        self.assertIn('chunked', (r.header('transfer-encoding') or '').lower())
        self.assertIsNone(r.header('content-length'))
        self.assertEqual((r.header('x-accel-buffering') or '').lower(), 'no')
        self.assertRegex(r.header('x-request-id') or '', r'^fake-\d+$')
        self.assertEqual(r.header('x-fake-custom'), 'kept')
        self.assertEqual(r.header('openai-version'), '2020-10-01')

    def test_done_exactly_once(self):
        r = self.stream('events=3')
        self.assertStreamExact(r, 'events=3')
        self.assertEqual(bytes(r.body).count(b'[DONE]'), 1)
        self.assertEqual(r.data_payloads()[-1], b'[DONE]')

    def test_split_every_k(self):
        base = 'events=1'
        tb, _, _ = self.exp.template(base)
        longest = max(len(e) for e in harness.Response.events(_as_resp(tb)))
        self.assertGreater(longest, 100)

        def one(k):
            d = base + ',split=%d' % k
            r = self.stream(d, timeout=30)
            return k, r

        failures = []
        with ThreadPoolExecutor(max_workers=8) as ex:
            for k, r in ex.map(one, range(1, longest + 1)):
                try:
                    self.assertStreamExact(r, base)
                    self.assertEqual(bytes(r.body).count(b'data: [DONE]'), 1)
                except AssertionError as e:
                    failures.append('split=%d: %s' % (k, str(e)[:300]))
        self.assertEqual(failures, [], '%d of %d splits broken' % (len(failures), longest))

    def test_crlf(self):
        r = self.stream('events=3,crlf')
        self.assertStreamExact(r, 'events=3,crlf')
        self.assertIn(b'\r\n\r\n', bytes(r.body))
        self.assertEqual(r.data_payloads()[-1], b'[DONE]')
        self.assertEqual(bytes(r.body).count(b'[DONE]'), 1)

    def test_crlf_split_inside_line_ends(self):
        tb, _, _ = self.exp.template('events=1,crlf')
        first = harness.Response.events(_as_resp(tb))[0]
        L = len(first)
        for k in sorted({1, 5, 6, L - 4, L - 3, L - 2, L - 1, L}):
            with self.subTest(split=k):
                r = self.stream('events=1,crlf,split=%d' % k)
                self.assertStreamExact(r, 'events=1,crlf')

    def test_no_done(self):
        r = self.stream('events=2,no_done')
        self.assertStreamExact(r, 'events=2,no_done')
        self.assertNotIn(b'[DONE]', bytes(r.body))
        self.assertNotIn(b'"error"', bytes(r.body))

    def test_drip_short_stream(self):
        d = 'events=0,drip_ms=20'
        r = self.stream(d, timeout=120)
        self.assertStreamExact(r, d)
        evs = r.events_with_times()
        self.assertEqual(evs[-1][0], b'data: [DONE]\n\n')
        # [DONE] is 14 bytes dripped 20 ms apart after the finish event: the
        # finish event must have been relayed before [DONE] was complete
        # (13 gaps, 260 ms; a relay that buffered would show none; this test
        # kept off the CPU for 110 ms of them would show too few).
        self.assertGreaterEqual(evs[-1][1] - evs[-2][1], 0.15, 'events were buffered, not relayed as they came')

    def test_events_zero(self):
        r = self.stream('events=0')
        self.assertStreamExact(r, 'events=0')

    def test_many_events(self):
        r = self.stream('events=3000', timeout=60)
        self.assertStreamExact(r, 'events=3000')

    def test_100_concurrent_streams(self):
        d = 'events=20,event_delay_ms=10'
        self.exp.template(d)
        barrier = threading.Barrier(100)
        results = [None] * 100

        def run(i):
            try:
                barrier.wait(30)
                results[i] = self.stream(d, timeout=60)
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=run, args=(i,)) for i in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        bad = []
        ns = set()
        for i, r in enumerate(results):
            if isinstance(r, Exception) or r is None:
                bad.append('stream %d: %r' % (i, r))
                continue
            try:
                self.assertStreamExact(r, d)
                ns.add(fake_n(r))
            except AssertionError as e:
                bad.append('stream %d: %s' % (i, str(e)[:200]))
        self.assertEqual(bad, [], '%d of 100 concurrent streams broken' % len(bad))
        self.assertEqual(len(ns), 100)
        v = self.proxy.wait_metric('memproxy_open_connections', lambda x: x == 0, 5)
        self.assertEqual(v, 0)

    def test_upstream_reset_mid_stream(self):
        before = self.proxy.metric('memproxy_upstream_errors_total', kind='reset')
        d = 'events=5,event_delay_ms=100,reset_after=2'
        r = self.stream(d)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, 'no terminating chunk after the error event: %r' % r)
        self.assertFalse(r.closed and not r.complete)
        evs = r.events()
        want = harness.Response.events(_as_resp(self.exp.expected('events=5', fake_n(r))))
        self.assertGreaterEqual(len(evs), 2, evs)
        relayed, last = evs[:-1], evs[-1]
        self.assertGreaterEqual(len(relayed), 1, 'the first event (sent 100 ms before the reset) was lost')
        self.assertLessEqual(len(relayed), 2)
        self.assertEqual(relayed, want[:len(relayed)])
        self.assertTrue(last.startswith(b'data: ') and last.endswith(b'\n\n'), last)
        err = self.error_event(last[6:-2])
        self.assertEqual(err['code'], 'upstream_reset')
        self.assertNotIn(b'[DONE]', bytes(r.body))
        self.assertDeltaMetric(self.proxy, before, 'memproxy_upstream_errors_total', 1, kind='reset')

    def test_upstream_reset_before_any_event(self):
        d = 'events=5,reset_after=0'
        r = self.stream(d)
        if r.status == 200:
            self.assertTrue(r.complete, r)
            evs = r.events()
            self.assertEqual(len(evs), 1, evs)
            self.assertEqual(self.error_event(evs[0][6:-2])['code'], 'upstream_reset')
        else:
            self.assertOpenAIError(r, 502, 'upstream_unreachable')

    def assertCutAfter(self, directives, n_bytes, chunked):
        """docs/http-api.md: an answer that is not a stream, cut by the upstream after
        its head, reaches the client as its head and the body bytes that
        came, then the connection ends: a truncated body, never a fake end."""
        before = self.proxy.metric('memproxy_upstream_errors_total', kind='reset')
        r = self.proxy.request('POST', CHAT, stream_headers(directives), chat_body())
        self.assertEqual(r.status, 200, r)
        # (the pad, last in the body, differs with the length of the request number)
        full = self.exp.expected('body_bytes=2000', fake_n(r), stream=False)
        if chunked:
            self.assertIn('chunked', (r.header('transfer-encoding') or '').lower(), r)
        else:
            self.assertEqual(r.header('content-length'), '2000', r)
        self.assertFalse(r.complete, 'a cut upstream body was delivered as complete: %r' % r)
        self.assertTrue(r.closed, r)
        self.assertEqual(bytes(r.body), full[:n_bytes], 'not the body bytes sent before the reset')
        self.assertDeltaMetric(self.proxy, before, 'memproxy_upstream_errors_total', 1, kind='reset')

    def test_upstream_reset_non_stream_body_cut(self):
        # The fake sends the head and 100 body bytes, waits 200 ms (so they
        # are relayed before memproxy learns of the failure), then resets.
        self.assertCutAfter('body_bytes=2000,reset_after=100,end_delay_ms=200', 100, chunked=False)

    def test_upstream_reset_chunked_body_cut(self):
        # 150 raw bytes of chunks of 100: '64\r\n' + 100 + '\r\n' + '64\r\n' + 40.
        self.assertCutAfter('body_bytes=2000,chunked,reset_after=150,end_delay_ms=200', 140, chunked=True)

    def test_upstream_reset_non_stream_bytes_before_reset_relayed(self):
        # The head, 100 body bytes and the reset arrive together: memproxy has
        # the head and the bytes when it learns of the reset. Ten tries, so a
        # pass is not luck.
        for i in range(10):
            with self.subTest(attempt=i):
                self.assertCutAfter('body_bytes=2000,reset_after=100', 100, chunked=False)

    def test_upstream_reset_close_delimited_body_is_a_reset(self):
        # An HTTP/1.0 client gets a chunked upstream answer close-delimited:
        # a plain close would look like the end of the body, so a cut is a
        # reset, never a FIN.
        with harness.HTTPConn(self.proxy.port) as c:
            body = chat_body()
            c.send(b'POST ' + CHAT.encode() + b' HTTP/1.0\r\nContent-Type: application/json\r\n'
                   b'X-Fake-Behavior: body_bytes=2000,chunked,reset_after=150,end_delay_ms=200\r\n'
                   b'Content-Length: %d\r\n\r\n' % len(body) + body)
            r = c.read_head('POST', timeout=10)
            self.assertEqual(r.status, 200, r)
            self.assertIsNone(r.header('content-length'))
            c.read_more(timeout=10)
            self.assertTrue(r.closed, r)
            self.assertTrue(r.reset, 'a cut close-delimited body ended with a plain close: %r' % r)
            self.assertFalse(r.complete, r)

    # -- an upstream stream that ends inside an event -----------------------
    # docs/http-api.md (Upstream failures): a close-delimited upstream stream
    # (no Content-Length, no chunks: its close is its end) that closes cleanly
    # inside an event is a broken stream: the whole events before it are
    # relayed, the partial one never, then the API's error event and the
    # proper end of the client's framing (the last chunk; to an HTTP/1.0
    # client, a plain close after the error event, not a reset).

    def cut_mid_event(self, proxy, path, headers, body, http10):
        with HTTPConn(proxy.port) as c:
            if not http10:
                return c.request('POST', path, headers, body, timeout=10)
            req = harness.build_request('POST', path, headers, body)
            c.send(req.replace(b' HTTP/1.1\r\n', b' HTTP/1.0\r\n', 1))
            r = c.read_head('POST', timeout=10)
            c.read_more(timeout=10)
            return r

    def assertEndsWithErrorEvent(self, r, http10, anthropic=False):
        """r: whole events, then one error event (code upstream_reset), then
        its framing's end; returns the events before the error event."""
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, 'the reply did not end properly: %r' % r)
        self.assertFalse(r.reset, r)
        if http10:
            self.assertIsNone(r.header('transfer-encoding'), r)
            self.assertTrue(r.closed, r)
        else:
            self.assertIn('chunked', (r.header('transfer-encoding') or '').lower(), r)
        evs = r.events()
        self.assertEqual(b''.join(evs), bytes(r.body), 'bytes besides whole events: a partial event relayed')
        last = evs[-1]
        head = b'event: error\ndata: ' if anthropic else b'data: '
        self.assertTrue(last.startswith(head) and last.endswith(b'\n\n'), last)
        doc = json.loads(last[len(head):-2])
        if anthropic:
            self.assertEqual(doc['type'], 'error', doc)
            self.assertEqual(doc['error']['code'], 'upstream_reset', doc)
        else:
            self.assertEqual(self.error_event(last[6:-2])['code'], 'upstream_reset')
        return evs[:-1]

    def test_close_delimited_upstream_cut_mid_event_ends_with_error_event(self):
        # 3 content events: the upstream closes halfway through the third.
        d = 'events=3,close_after=2,inside'
        for http10 in (False, True):
            with self.subTest(http10=http10):
                before = self.proxy.metric('memproxy_upstream_errors_total', kind='reset')
                r = self.cut_mid_event(self.proxy, CHAT, stream_headers(d), chat_body(stream=True), http10)
                relayed = self.assertEndsWithErrorEvent(r, http10)
                want = harness.Response.events(_as_resp(self.exp.expected('events=3', fake_n(r))))
                self.assertEqual(relayed, want[:2])
                self.assertNotIn(b'[DONE]', bytes(r.body))
                self.assertDeltaMetric(self.proxy, before, 'memproxy_upstream_errors_total', 1, kind='reset')

    def test_close_delimited_upstream_whole_stream_relayed_as_is(self):
        # The close after the last event is the stream's proper end.
        for http10 in (False, True):
            with self.subTest(http10=http10):
                r = self.cut_mid_event(self.proxy, CHAT, stream_headers('events=3,close_after=99'),
                                       chat_body(stream=True), http10)
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.complete and not r.reset, r)
                self.assertEqual(bytes(r.body), self.exp.expected('events=3', fake_n(r)))

    def test_close_delimited_anthropic_stream_cut_mid_event_ends_with_anthropic_error_event(self):
        root = self.fake.base_url[:-len('/v1')]
        p = self.start_proxy(workers=1, sections={'anthropic': {'base_url': root}})
        body = json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'stream': True,
                           'messages': [{'role': 'user', 'content': 'hi'}]}).encode()
        # a Messages stream has 3 events before its first delta: cut inside the second delta
        h = [('Content-Type', 'application/json'), ('x-api-key', 'sk-ant-x'),
             ('anthropic-version', '2023-06-01'), ('X-Fake-Behavior', 'events=3,close_after=4,inside')]
        for http10 in (False, True):
            with self.subTest(http10=http10):
                r = self.cut_mid_event(p, '/v1/messages', h, body, http10)
                relayed = self.assertEndsWithErrorEvent(r, http10, anthropic=True)
                self.assertEqual(len(relayed), 4, relayed)
                self.assertTrue(relayed[3].startswith(b'event: content_block_delta\n'), relayed[3])
                self.assertIn(b'"text":"tok0 "', relayed[3])

    def test_sse_event_under_the_cap_relayed(self):
        # docs/http-api.md: one SSE event is capped at 16 MiB; one just under the cap
        # (20 KiB of room for the 16 KiB reads that complete it) is relayed whole.
        d = 'events=2,event_bytes=%d' % (SSE_EVENT_CAP - 20 * 1024)
        r = self.stream(d, timeout=60)
        self.assertStreamExact(r, d)
        self.assertEqual([len(e) for e in r.events()[:2]], [SSE_EVENT_CAP - 20 * 1024] * 2)

    def test_sse_event_over_the_cap_cut_with_error_event(self):
        # docs/http-api.md: one SSE event is capped at 16 MiB. An event past the cap is
        # never relayed (nor buffered on): the stream ends with the error
        # event, no [DONE], and the failure is counted.
        before = self.proxy.metric('memproxy_upstream_errors_total')
        d = 'events=2,event_bytes=%d' % (SSE_EVENT_CAP + 4096)
        r = self.stream(d, timeout=60)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, 'no terminating chunk after the error event: %r' % r)
        self.assertLess(len(r.body), 4096, 'part of the oversized event was relayed')
        evs = r.events()
        self.assertEqual(len(evs), 1, [e[:80] for e in evs])
        self.assertTrue(evs[0].startswith(b'data: ') and evs[0].endswith(b'\n\n'), evs[0])
        self.assertEqual(self.error_event(evs[0][6:-2])['code'], 'upstream_reset')
        self.assertNotIn(b'[DONE]', bytes(r.body))
        self.assertDeltaMetric(self.proxy, before, 'memproxy_upstream_errors_total', 1)

    def test_client_disconnect_cancels_upstream(self):
        before_disc = self.proxy.metric('memproxy_client_disconnects_total')
        st0 = self.fake.stats()
        c = HTTPConn(self.proxy.port)
        c.send_request('POST', CHAT, stream_headers('events=1000,event_delay_ms=50'), chat_body(stream=True))
        r = c.read_head()
        self.assertEqual(r.status, 200, r)
        c.read_more(timeout=harness.WAIT, until=lambda x: len(x.events()) >= 1)
        self.assertGreaterEqual(len(r.events()), 1)
        st1 = self.fake.stats()
        self.assertEqual(st1['aborted'], st0['aborted'])
        c.close()
        # the stream would run 50 s: cut before its end (aborted), it was cancelled
        st2 = self.fake.wait_stats(lambda s: s['aborted'] > st1['aborted']
                                   and s['open_connections'] < st1['open_connections'], 3.0)
        self.assertGreater(st2['aborted'], st1['aborted'], 'upstream not cancelled: %r -> %r' % (st1, st2))
        self.assertLess(st2['open_connections'], st1['open_connections'], '%r -> %r' % (st1, st2))
        self.assertDeltaMetric(self.proxy, before_disc, 'memproxy_client_disconnects_total', 1)

    def test_200_client_disconnects(self):
        before_disc = self.proxy.metric('memproxy_client_disconnects_total')
        st0 = self.fake.stats()
        errors = []

        def worker(n):
            for _ in range(n):
                try:
                    c = HTTPConn(self.proxy.port, timeout=20)
                    c.send_request('POST', CHAT, stream_headers('events=100,event_delay_ms=20'),
                                   chat_body(stream=True))
                    r = c.read_head()
                    if r.status != 200:
                        errors.append(repr(r))
                    else:
                        c.read_more(timeout=10, until=lambda x: len(x.events()) >= 1)
                        if not r.events():
                            errors.append('no first event: %r' % r)
                    c.close()
                except Exception as e:
                    errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(10,)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        v = self.proxy.wait_metric('memproxy_open_connections', lambda x: x == 0, 5)
        self.assertEqual(v, 0, 'memproxy_open_connections after 200 disconnects')
        st = self.fake.wait_stats(lambda s: s['aborted'] - st0['aborted'] >= 200
                                  and s['open_connections'] <= st0['open_connections'] + 2, 5)
        self.assertEqual(st['aborted'] - st0['aborted'], 200, 'upstream streams cancelled: %r -> %r' % (st0, st))
        self.assertLessEqual(st['open_connections'], st0['open_connections'] + 2, '%r -> %r' % (st0, st))
        self.assertDeltaMetric(self.proxy, before_disc, 'memproxy_client_disconnects_total', 200)


class StreamIdleTimeout(StreamCase):
    # 2 s: long enough that a loaded machine does not leave an upstream
    # that is streaming quiet that long (the client's send timeout is the
    # same setting, and a client that reads nothing must meet that one)
    PROXY_CONFIG = {'workers': 1, 'upstream': {'idle_timeout_ms': 2000}}

    def test_stall_after_gives_timeout_event(self):
        before = self.proxy.metric('memproxy_upstream_errors_total', kind='timeout')
        st0 = self.fake.stats()
        t0 = time.monotonic()
        r = self.stream('events=5,stall_after=2', timeout=harness.WAIT)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.complete, 'no terminating chunk after the error event: %r' % r)
        evs = r.events_with_times()
        self.assertEqual(len(evs), 3, r.events())
        want = harness.Response.events(_as_resp(self.exp.expected('events=5', fake_n(r))))
        self.assertEqual([e for e, _ in evs[:2]], want[:2])
        last, t_last = evs[2]
        self.assertTrue(last.startswith(b'data: ') and last.endswith(b'\n\n'), last)
        self.assertEqual(self.error_event(last[6:-2])['code'], 'upstream_timeout')
        # never sooner than the silence began (after the request was sent);
        # no ceiling: the stall is endless, the default timeout (120 s) is
        # past the wait, so the error event came from the 2 s one
        gap = t_last - t0
        self.assertGreaterEqual(gap, 1.95, 'timeout after %.2f s of silence (idle_timeout_ms=2000)' % gap)
        self.assertNotIn(b'[DONE]', bytes(r.body))
        self.assertDeltaMetric(self.proxy, before, 'memproxy_upstream_errors_total', 1, kind='timeout')
        st = self.fake.wait_stats(lambda s: s['aborted'] > st0['aborted'], 2)
        self.assertGreater(st['aborted'], st0['aborted'], 'the stalled upstream connection was not closed')

    def test_client_reading_nothing_disconnected(self):
        # docs/http-api.md: a client that reads nothing for idle_timeout_ms (2 s here)
        # is disconnected, and its upstream transfer cancelled. The stream
        # fills the socket buffers and memproxy's output bound at once, so
        # the upstream is paused (its own idle clock stopped) long before
        # either clock runs out; then nothing moves.
        before = self.proxy.metric('memproxy_client_disconnects_total')
        st0 = self.fake.stats()
        c = HTTPConn(self.proxy.port, rcvbuf=4096, timeout=15)
        self.addCleanup(c.close)
        t0 = time.monotonic()
        c.send_request('POST', CHAT, stream_headers('events=100000'), chat_body(stream=True))
        # 100,000 events outlast the wait; the default idle timeout (120 s) too
        st = self.fake.wait_stats(lambda x: x['aborted'] > st0['aborted'], harness.WAIT)
        took = time.monotonic() - t0
        self.assertGreater(st['aborted'], st0['aborted'], 'a client that read nothing for %d s was kept'
                           % harness.WAIT)
        self.assertGreaterEqual(took, 1.95, 'disconnected after %.2f s, idle_timeout_ms=2000' % took)
        self.assertDeltaMetric(self.proxy, before, 'memproxy_client_disconnects_total', 1)
        # What the client finds: the start of the stream, then the end of the
        # connection before the end of the stream.
        r = c.read_head(timeout=harness.WAIT)
        self.assertEqual(r.status, 200, r)
        c.read_more(timeout=20)
        self.assertTrue(r.closed, 'the connection of a client that read nothing is still open')
        self.assertFalse(r.complete, r)
        self.assertNotIn(b'[DONE]', bytes(r.body[-100:]))

    def test_slow_events_within_idle_timeout_complete(self):
        d = 'events=4,event_delay_ms=300'
        r = self.stream(d)
        self.assertStreamExact(r, d)
        self.assertGreaterEqual(r.t_end - r.t_sent, 1.2)


class Flow:
    """The bytes of streams on their way fake -> memproxy -> clients, counted
    on the wire: what the fake wrote (its bytes_sent), the TCP queues of
    both connections (/proc/net/tcp) and what the clients read. What
    memproxy read from the upstream minus what it wrote to the clients is
    what it holds itself (its output buffers, curl's paused chunk, partial
    SSE events), whatever the kernel buffers hold."""

    def __init__(self, case, conns):
        self.case = case
        self.fake = case.fake
        self.proxy_port = case.proxy.port
        self.pids = (case.proxy.pid, case.fake.proc.pid)
        self.conns = conns
        self.client_ports = {c.sock.getsockname()[1] for c in conns}
        # Bytes the fake still sends on an earlier, cancelled stream would
        # count here: start once it has gone quiet.
        self.sent0 = self.fake.stats()['bytes_sent']
        deadline = time.monotonic() + harness.WAIT
        while True:
            time.sleep(0.1)
            now = self.fake.stats()['bytes_sent']
            if now == self.sent0 and self.asleep():
                break
            case.assertLess(time.monotonic(), deadline, 'the fake upstream never stopped sending')
            self.sent0 = now

    def sample(self, client_read):
        sent = self.fake.stats()['bytes_sent'] - self.sent0
        read_up, written = sent, client_read
        for lport, rport, tx, rx in harness.tcp_queues():
            if lport == self.fake.port:
                read_up -= tx           # written by the fake, not yet acknowledged
            elif rport == self.fake.port:
                read_up -= rx           # arrived at memproxy, not read by it
            elif lport == self.proxy_port and rport in self.client_ports:
                written += tx           # written by memproxy, not yet acknowledged
            elif rport == self.proxy_port and lport in self.client_ports:
                written += rx           # arrived at the client, not read
        return read_up, written

    def asleep(self):
        """Every thread of memproxy and of the fake blocked (state S): none
        is running or waiting for a CPU, so none has work left. Only this
        tells rest from a pause of a busy machine's scheduler."""
        for pid in self.pids:
            try:
                tids = os.listdir('/proc/%d/task' % pid)
            except OSError:
                return False
            for tid in tids:
                try:
                    with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                        state = f.read().rsplit(')', 1)[1].split()[0]
                except OSError:
                    continue  # the thread has exited
                if state != 'S':
                    return False
        return True

    def stable(self, client_read, timeout=harness.WAIT):
        """(read from the upstream, written to the clients) once both stay
        put for 50 ms with memproxy and the fake asleep on both sides of it:
        memproxy has paused and can write no more."""
        deadline = time.monotonic() + timeout
        last = self.sample(client_read)
        asleep = self.asleep()
        while True:
            time.sleep(0.05)
            cur = self.sample(client_read)
            now_asleep = self.asleep()
            if cur == last and asleep and now_asleep:
                return cur
            asleep = now_asleep
            if time.monotonic() > deadline:
                self.case.fail('the stream never came to rest: %r -> %r' % (last, cur))
            last = cur


def recv_exactly(sock, n):
    got = 0
    while got < n:
        data = sock.recv(n - got)
        if not data:
            raise AssertionError('the connection closed after %d of %d bytes' % (got, n))
        got += len(data)
    return got


class SlowReader(StreamCase):
    """Back-pressure: a client that stops reading must not make memproxy buffer the stream."""

    PROXY_CONFIG = {'workers': 2,
                    'env': {'ASAN_OPTIONS': (os.environ.get('ASAN_OPTIONS', '') + ':quarantine_size_mb=4'
                                             ':thread_local_quarantine_size_kb=64').lstrip(':')}}

    def test_slow_reader_memory_bounded(self):
        d = 'events=100000'
        nclients = 3
        self.exp.template(d)
        # Warm up (threads, upstream connections, allocator).
        self.assertStreamExact(self.stream('events=2000'), 'events=2000')
        time.sleep(0.2)
        base = self.proxy.rss_kb()
        conns = []
        for _ in range(nclients):
            c = HTTPConn(self.proxy.port, rcvbuf=16384, timeout=60)
            self.addCleanup(c.close)
            conns.append(c)
        flow = Flow(self, conns)
        for c in conns:
            c.send_request('POST', CHAT, stream_headers(d), chat_body(stream=True))
        resps = [c.read_head(timeout=10) for c in conns]
        for r in resps:
            self.assertEqual(r.status, 200, r)
        peak = base
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            peak = max(peak, self.proxy.rss_kb())
            time.sleep(0.05)
        read_up, written = flow.stable(sum(c.received for c in conns))
        peak = max(peak, self.proxy.rss_kb())
        held = read_up - written
        grown_mb = (peak - base) / 1024.0
        one_mb = len(self.exp.template(d)[0]) / 1e6
        results = [None] * nclients

        def finish(i):
            results[i] = conns[i].read_more(timeout=120)
        threads = [threading.Thread(target=finish, args=(i,)) for i in range(nclients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(150)
        sys.stderr.write('[slow reader: RSS %d kB -> peak %d kB (+%.1f MB), memproxy holds %d bytes, '
                         'for %.0f MB unread] ' % (base, peak, grown_mb, held, nclients * one_mb))
        # Each client leaves ~17 MB unread: memproxy holds at most its
        # pause threshold (256 KiB) and a little per client, and its memory
        # grows by a fraction of what one client leaves unread.
        self.assertLessEqual(held, nclients * (HIGH_WATER + HELD_SLACK + 16 * 1024),
                             'memproxy holds %d bytes for %d clients that do not read' % (held, nclients))
        # (ASan's shadow memory and quarantine add a few MB of their own.)
        limit_mb = 10.0 if self.sanitized() else 4.0
        self.assertLess(grown_mb, limit_mb, 'RSS grew by %.1f MB while %d clients (%.0f MB of stream) did not read'
                        % (grown_mb, nclients, nclients * one_mb))
        for r in results:
            self.assertIsNotNone(r)
            self.assertStreamExact(r, d)

    def sanitized(self):
        with open('/proc/%d/maps' % self.proxy.pid) as f:
            return 'libasan' in f.read()

    def test_pause_and_resume_thresholds(self):
        # docs/http-api.md: the upstream transfer is paused once 256 KiB wait for the
        # client, resumed under 64 KiB. The client advertises a tiny window
        # and segment size, so the kernel's send buffer on memproxy's side
        # stays small and memproxy's own buffer is what fills.
        c = HTTPConn(self.proxy.port, rcvbuf=2048, mss=536, timeout=30)
        self.addCleanup(c.close)
        flow = Flow(self, [c])
        c.send_request('POST', CHAT, stream_headers('events=100000'), chat_body(stream=True))
        got = 0
        read_up, written = flow.stable(got)
        held = read_up - written
        self.assertGreater(read_up, HIGH_WATER)
        self.assertLessEqual(held, HIGH_WATER + HELD_SLACK + 16 * 1024,
                             'memproxy read on until it held %d bytes for a client that reads nothing' % held)
        self.assertGreaterEqual(held, HIGH_WATER - 64 * 1024,
                                'memproxy paused the upstream with only %d bytes waiting' % held)
        # The client reads 8 KiB at a time. Whenever the upstream transfer
        # resumes, memproxy's output buffer (what it holds, less HELD_SLACK)
        # must have fallen under 64 KiB, so it must have written at least
        # held - 64 KiB - HELD_SLACK since the last look.
        checked = resumes = 0
        trace = []
        for _ in range(600):
            got += recv_exactly(c.sock, 8192)
            up2, w2 = flow.stable(got)
            held_before, wrote = read_up - written, w2 - written
            trace.append((held_before, wrote, up2 - read_up))
            if up2 > read_up:
                resumes += 1
                self.assertGreater(wrote, held_before - LOW_WATER - HELD_SLACK,
                                   'upstream resumed with more than 64 KiB waiting: (held before, wrote, '
                                   'read) per step: %r' % trace[-20:])
            elif wrote > 0 and held_before - wrote >= LOW_WATER + HELD_SLACK:
                checked += 1      # wrote, still over 64 KiB waiting: stays paused
            self.assertLessEqual(up2 - w2, HIGH_WATER + HELD_SLACK + 16 * 1024,
                                 'memproxy holds %d bytes after a resume' % (up2 - w2))
            read_up, written = up2, w2
            if resumes >= 2 and checked >= 1:
                break
        self.assertGreaterEqual(resumes, 2, 'the upstream transfer was not resumed twice: %r' % trace[-20:])
        self.assertGreaterEqual(checked, 1, 'no step wrote to the client with over 64 KiB left waiting, so '
                                'the resume threshold went unchecked: %r' % trace[-20:])
        aborted = self.fake.stats()['aborted']
        c.close()
        st = self.fake.wait_stats(lambda x: x['aborted'] > aborted, 5)
        self.assertGreater(st['aborted'], aborted, 'the stream of a client that left was not cancelled')


def _as_resp(body):
    r = harness.Response()
    r.body = bytearray(body)
    r.marks = [(0.0, len(body))]
    return r


class EventsGoOutInTheirPass(StreamCase):
    """A stream's event goes to its client as soon as it is read, before the
    same loop pass reads the next stream's upstream (under thousands of
    streams a pass is milliseconds, and an event that waited for the pass's
    end waited that long). Two streams' next events wait in their upstream
    sockets while memproxy is stopped (SIGSTOP), so the one pass after
    SIGCONT reads both; tests/proxy/sendcount.c, preloaded in its order
    mode, logs the upstream reads and the client writes as they happen."""

    DIRECTIVES = 'events=6,event_delay_ms=300'

    def test_event_written_before_the_next_streams_read(self):
        env, log = harness.preload_env(self, 'MPTEST_SENDCOUNT_LIB', 'order',
                                       lambda path: {'MPTEST_SENDCOUNT_FILE': path,
                                                     'MPTEST_SENDCOUNT_PORT': str(self.fake.port),
                                                     'MPTEST_SENDCOUNT_ORDER': '1'})
        # the native client's read hook (docs/http-api.md: with curl, the
        # events wait for the pass's end), in the curl runs of this suite too
        p = self.start_proxy(workers=1, memory={'mode': 'off'}, upstream={'client': 'native'}, env=env)
        conns = [HTTPConn(p.port) for _ in range(2)]
        for c in conns:
            self.addCleanup(c.close)
            c.send_request('POST', CHAT, stream_headers(self.DIRECTIVES), chat_body(stream=True))
        for c in conns:  # both streams open, their first event relayed
            self.assertEqual(c.read_head().status, 200)
            c.read_more(timeout=harness.WAIT, until=lambda x: len(x.events()) >= 1)
        os.kill(p.pid, signal.SIGSTOP)
        try:
            mark = os.path.getsize(log)
            # each stream's next event waits in its upstream socket: two of
            # memproxy's connections to the fake hold unread bytes
            mh.wait_for(lambda: len([rx for _, rport, _, rx in harness.tcp_queues()
                                     if rport == self.fake.port and rx > 0]) >= 2,
                        what="both streams' next events in memproxy's upstream sockets")
        finally:
            os.kill(p.pid, signal.SIGCONT)
        for c in conns:
            self.assertStreamExact(c.read_more(timeout=10), self.DIRECTIVES)
        with open(log) as f:
            f.seek(mark)
            calls = [(call.split('-', 1)[0], call.rsplit('@', 1)[1], int(n))
                     for call, n in (line.split() for line in f) if '@' in call and int(n) > 0]
        reads = [i for i, (who, _, _) in enumerate(calls) if who == 'upstream']
        self.assertTrue(reads, calls)
        first_fd = calls[reads[0]][1]
        other = next((i for i in reads if calls[i][1] != first_fd), None)
        self.assertIsNotNone(other, 'one stream read only: %r' % calls)
        between = [c for c in calls[reads[0]:other] if c[0] == 'client']
        self.assertTrue(between, 'the first stream\'s event waited for the next stream\'s read: %r' % calls[:8])


if __name__ == '__main__':
    harness.main('proxy_streaming')
