"""Signals: graceful drain on SIGTERM/SIGINT, configuration reload on SIGHUP."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import HTTPConn, chat_body, fake_n  # noqa: E402

CHAT = '/v1/chat/completions'


def sh(directives):
    return [('Content-Type', 'application/json'), ('X-Fake-Behavior', directives)]


class Signals(harness.ProxyTestCase):
    """Each test runs its own memproxy; the class shares the fake upstream."""

    @classmethod
    def setUpClass(cls):
        cls.fake = harness.FakeUpstream().start()
        cls.exp = harness.ExpectedBodies(cls.fake)

    @classmethod
    def tearDownClass(cls):
        problems = cls.fake.stop()
        if problems:
            raise AssertionError('\n'.join(problems))

    def open_streams(self, p, n, directives):
        conns, resps = [], []
        for _ in range(n):
            c = HTTPConn(p.port, timeout=30)
            c.send_request('POST', CHAT, sh(directives), chat_body(stream=True))
            conns.append(c)
        for c in conns:
            r = c.read_head(timeout=10)
            self.assertEqual(r.status, 200, r)
            c.read_more(timeout=10, until=lambda x: len(x.events()) >= 1)
            self.assertGreaterEqual(len(r.events()), 1)
            resps.append(r)
        return conns, resps

    def finish_streams(self, conns, timeout):
        results = [None] * len(conns)

        def run(i):
            try:
                results[i] = conns[i].read_more(timeout=timeout)
            except Exception as e:
                results[i] = e
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(conns))]
        for t in threads:
            t.start()
        return threads, results

    def test_sigterm_drains_in_flight_streams(self):
        # the streams last 5 s, the drain may take 60: the checks below poll
        # for the draining state (up to harness.WAIT) while the streams run,
        # and the exit comes when they end, long before the drain's deadline
        p = self.start_proxy(workers=2, server={'drain_timeout_ms': 60000})
        d = 'events=10,event_delay_ms=500'
        self.exp.template(d)
        conns, resps = self.open_streams(p, 5, d)
        threads, results = self.finish_streams(conns, 30)
        t_sig = time.monotonic()
        p.signal(signal.SIGTERM)
        # /readyz turns 503 while draining.
        ready = None
        while time.monotonic() - t_sig < harness.WAIT:
            try:
                r = p.admin('/readyz', timeout=harness.WAIT)
            except OSError:
                break
            ready = r
            if r.status == 503:
                break
            time.sleep(0.02)
        self.assertIsNotNone(ready, 'the admin plane stopped answering at once')
        self.assertEqual(ready.status, 503, ready)
        self.assertEqual(bytes(ready.body), b'draining\n')
        # New connections are refused (the listener is closed).
        refused = False
        deadline = time.monotonic() + harness.WAIT
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection(('127.0.0.1', p.port), timeout=harness.WAIT)
                s.close()
                time.sleep(0.05)
            except ConnectionRefusedError:
                refused = True
                break
        self.assertTrue(refused, 'the data-plane listener still accepts connections %d s after SIGTERM'
                        % harness.WAIT)
        for t in threads:
            t.join(40)
        for i, r in enumerate(results):
            with self.subTest(stream=i):
                self.assertIsInstance(r, harness.Response, r)
                self.assertTrue(r.complete, 'stream %d cut by the drain: %r' % (i, r))
                self.assertEqual(bytes(r.body), self.exp.expected(d, fake_n(r)))
                self.assertEqual(bytes(r.body).count(b'data: [DONE]'), 1)
        rc = p.wait_exit(10)  # harness.WAIT at least, still half the drain's 60 s
        self.assertEqual(rc, 0, 'exit code after drain (None: still running, waiting for the drain timeout)')
        for c in conns:
            c.close()
        self.assertIsNotNone(p.wait_log(lambda o: o.get('msg') == 'stopped', 5), 'no "stopped" log line')
        self.assertEqual(p.stop(), [])

    def test_sigterm_idle_exits_promptly(self):
        # a drain of 10 minutes: an exit within the wait (harness.WAIT) did
        # not wait for the idle connection
        p = self.start_proxy(workers=2, server={'drain_timeout_ms': 600000})
        with HTTPConn(p.port) as idle:
            self.assertEqual(idle.request('GET', '/v1/models').status, 200)
            p.signal(signal.SIGTERM)
            rc = p.wait_exit(5)
            self.assertEqual(rc, 0, 'an idle keep-alive connection held up the exit (None: still running)')
            self.assertEqual(idle.read_until_closed(2), b'', 'an idle connection got bytes when closed')
        self.assertEqual(p.stop(), [])

    def test_sigint_drains_too(self):
        p = self.start_proxy(workers=1, server={'drain_timeout_ms': 60000})
        d = 'events=4,event_delay_ms=150'
        self.exp.template(d)
        conns, _ = self.open_streams(p, 1, d)
        threads, results = self.finish_streams(conns, 20)
        p.signal(signal.SIGINT)
        for t in threads:
            t.join(25)
        r = results[0]
        self.assertIsInstance(r, harness.Response, r)
        self.assertTrue(r.complete, r)
        self.assertEqual(bytes(r.body), self.exp.expected(d, fake_n(r)))
        self.assertEqual(p.wait_exit(10), 0)
        conns[0].close()
        self.assertEqual(p.stop(), [])

    def test_drain_timeout_exceeded_still_exits_0(self):
        p = self.start_proxy(workers=1, server={'drain_timeout_ms': 1000})
        conns, resps = self.open_streams(p, 1, 'events=5,stall_after=1')
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        rc = p.wait_exit(10)  # the stream never ends: only the drain timeout ends the process
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, 'exit code after drain timeout (None: still running)')
        self.assertGreaterEqual(took, 0.8, 'exited after %.2f s, before drain_timeout_ms=1000' % took)
        r = conns[0].read_more(timeout=harness.WAIT)
        self.assertTrue(r.closed, 'stalled stream still open after exit')
        self.assertNotIn(b'[DONE]', bytes(r.body))
        conns[0].close()
        self.assertEqual(p.stop(), [])

    def test_second_sigterm_stops_at_once(self):
        # docs/operations.md: a second SIGTERM stops at once, whatever drain_timeout_ms
        # and the streams in flight: they are cut, never given a fake end. The
        # drain may take 10 minutes: an exit within the wait was not the drain's.
        p = self.start_proxy(workers=1, server={'drain_timeout_ms': 600000})
        conns, resps = self.open_streams(p, 1, 'events=5,stall_after=1')
        self.addCleanup(conns[0].close)
        nlines = p.log_count()
        p.signal(signal.SIGTERM)
        self.assertIsNotNone(p.wait_log(lambda o: o.get('msg') == 'draining', 5, start=nlines),
                             'no "draining" line after the first SIGTERM')
        time.sleep(0.3)
        self.assertIsNone(p.proc.poll(), 'memproxy exited on the first SIGTERM with a stream in flight')
        p.signal(signal.SIGTERM)
        rc = p.wait_exit(10)
        self.assertIsNotNone(rc, 'memproxy still running %d s after the second SIGTERM' % harness.WAIT)
        self.assertEqual(rc, 0, 'exit code after the second SIGTERM')
        self.assertIsNotNone(p.wait_log(lambda o: o.get('level') == 'warn' and 'second' in o.get('msg', ''), 2,
                                        start=nlines), 'no warning for the second stop signal')
        r = conns[0].read_more(timeout=harness.WAIT)
        self.assertTrue(r.closed, 'the stalled stream is still open after the exit')
        self.assertFalse(r.complete, r)
        self.assertNotIn(b'[DONE]', bytes(r.body))
        self.assertEqual(p.stop(), [])

    # -- SIGHUP ------------------------------------------------------------

    def hup_and_wait(self, p, result):
        before = p.metric('memproxy_config_reloads_total', result=result)
        p.signal(signal.SIGHUP)
        v = p.wait_metric('memproxy_config_reloads_total', lambda x: x > before, 5, result=result)
        self.assertEqual(v - before, 1, 'config_reloads_total{result="%s"}' % result)

    def body_of_size(self, n):
        b = chat_body(content='')
        b = chat_body(content='x' * (n - len(b)))
        self.assertEqual(len(b), n)
        return b

    def test_sighup_valid_applies_without_dropping_stream(self):
        p = self.start_proxy(workers=2, server={'max_body_bytes': 100000})
        self.assertEqual(p.request('POST', CHAT, sh(''), self.body_of_size(2000)).status, 200)
        d = 'events=8,event_delay_ms=150'
        self.exp.template(d)
        conns, _ = self.open_streams(p, 1, d)
        threads, results = self.finish_streams(conns, 20)
        ok_before = p.metric('memproxy_config_reloads_total', result='ok')
        p.sections['server']['max_body_bytes'] = 1000
        p.write_config()
        self.hup_and_wait(p, 'ok')
        self.assertEqual(p.metric('memproxy_config_reloads_total', result='ok') - ok_before, 1)
        r = p.request('POST', CHAT, sh(''), self.body_of_size(2000))
        self.assertOpenAIError(r, 413, 'body_too_large')
        r = p.request('POST', CHAT, sh(''), self.body_of_size(500))
        self.assertEqual(r.status, 200, r)
        for t in threads:
            t.join(25)
        r = results[0]
        self.assertIsInstance(r, harness.Response, r)
        self.assertTrue(r.complete, 'in-flight stream dropped by SIGHUP: %r' % r)
        self.assertEqual(bytes(r.body), self.exp.expected(d, fake_n(r)))
        conns[0].close()
        # Listeners unchanged: the same ports still serve.
        self.assertEqual(p.admin('/readyz').status, 200)

    def test_sighup_keep_alive_connection_survives(self):
        p = self.start_proxy(workers=1)
        with HTTPConn(p.port) as c:
            self.assertEqual(c.request('GET', '/v1/models').status, 200)
            p.sections['server']['max_body_bytes'] = 5000
            p.write_config()
            self.hup_and_wait(p, 'ok')
            r = c.request('GET', '/v1/models')
            self.assertEqual(r.status, 200, r)

    def test_sighup_sync_change_warns(self):
        # [storage] sync is read when the store opens: a reload that changes
        # only it says so instead of keeping the old value silently.
        p = self.start_proxy(workers=1)
        nlines = p.log_count()
        p.sections['storage']['sync'] = 'meta'  # the harness runs with none
        p.write_config()
        self.hup_and_wait(p, 'ok')
        warn = p.wait_log(lambda o: o.get('level') == 'warn' and 'sync' in o.get('msg', ''), 3, start=nlines)
        self.assertIsNotNone(warn, 'no warning that a sync change needs a restart')

    def test_sighup_restart_only_keys_kept_with_warning(self):
        # docs/operations.md: listen addresses, worker count and storage need a restart:
        # a reload keeps the running values and warns; the rest of the file
        # applies.
        p = self.start_proxy(workers=1, server={'max_body_bytes': 100000})
        port, admin_port = p.port, p.admin_port
        other_port, other_admin = harness.free_port(), harness.free_port()
        other_store = os.path.join(p.dir, 'other-data')
        nlines = p.log_count()
        p.sections['server'].update({'listen': '127.0.0.1:%d' % other_port,
                                     'admin_listen': '127.0.0.1:%d' % other_admin,
                                     'workers': 3, 'max_body_bytes': 1000})
        p.sections['storage']['path'] = other_store
        p.write_config()
        self.hup_and_wait(p, 'ok')
        warn = p.wait_log(lambda o: o.get('level') == 'warn' and 'restart' in o.get('msg', ''), 3, start=nlines)
        self.assertIsNotNone(warn, 'no warning that the change needs a restart; log:\n'
                             + '\n'.join(p.log_lines()[nlines:]))
        # The rest applied ...
        self.assertOpenAIError(p.request('POST', CHAT, sh(''), self.body_of_size(2000)), 413, 'body_too_large')
        # ... the listeners and the store did not move.
        self.assertEqual(p.request('POST', CHAT, sh(''), self.body_of_size(500)).status, 200)
        self.assertEqual(harness.request(admin_port, 'GET', '/readyz').status, 200)
        for q in (other_port, other_admin):
            with self.assertRaises(ConnectionRefusedError, msg='memproxy listens on %d after a reload' % q):
                socket.create_connection(('127.0.0.1', q), timeout=2).close()
        self.assertFalse(os.path.exists(other_store), 'the reload opened the new storage path')
        self.assertEqual((p.port, p.admin_port), (port, admin_port))

    def test_sighup_rereads_environment(self):
        # docs/operations.md: SIGHUP re-reads the file and the environment; the
        # environment still wins over the (new) file.
        p = self.start_proxy(workers=1, server={'max_body_bytes': 100000}, memory={'mode': 'off'},
                             env={'MEMPROXY_SERVER_MAX_BODY_BYTES': '1500'})
        self.assertOpenAIError(p.request('POST', CHAT, sh(''), self.body_of_size(2000)), 413, 'body_too_large')
        p.sections['server']['max_body_bytes'] = 50000
        p.sections['memory']['mode'] = 'buffer'
        p.write_config()
        self.hup_and_wait(p, 'ok')
        r = p.request('POST', CHAT, sh('') + [('X-User-Id', 'env-reread-user')], self.body_of_size(1000))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('x-memory-mode'), 'buffer', 'the new file was not applied')
        r = p.request('POST', CHAT, sh(''), self.body_of_size(2000))
        self.assertOpenAIError(r, 413, 'body_too_large')

    def test_sighup_invalid_keeps_old_config(self):
        p = self.start_proxy(workers=2, server={'max_body_bytes': 100000})
        err_before = p.metric('memproxy_config_reloads_total', result='error')
        ok_before = p.metric('memproxy_config_reloads_total', result='ok')
        nlines = p.log_count()
        # A file that would lower the limit but also holds an error: nothing of it may apply.
        p.sections['server']['max_body_bytes'] = 1000
        p.sections['memory']['mode'] = 'forgetful'
        p.write_config()
        self.hup_and_wait(p, 'error')
        self.assertEqual(p.metric('memproxy_config_reloads_total', result='error') - err_before, 1)
        self.assertEqual(p.metric('memproxy_config_reloads_total', result='ok'), ok_before)
        line = p.wait_log(lambda o: o.get('level') == 'error', 3, start=nlines)
        self.assertIsNotNone(line, 'no error log line for a bad reload; log:\n' + '\n'.join(p.log_lines()[nlines:]))
        r = p.request('POST', CHAT, sh(''), self.body_of_size(2000))
        self.assertEqual(r.status, 200, 'the invalid file was (partly) applied: %r' % r)
        self.assertEqual(p.admin('/readyz').status, 200)

    def test_sighup_recall_keys_reloadable(self):
        # docs/operations.md: the [memory] recall keys (retrieval, archive,
        # max_facts_per_user, the four shares) change by SIGHUP without a
        # restart; shares that do not sum to 100 make the whole reload fail.
        p = self.start_proxy(workers=1, server={'max_body_bytes': 100000})
        nlines = p.log_count()
        p.sections['memory'].update({'retrieval': 'recent', 'archive': 'false', 'max_facts_per_user': 7,
                                     'share_profile': 25, 'share_past': 25, 'share_summary': 25,
                                     'share_buffer': 25})
        p.sections['server']['max_body_bytes'] = 1000
        p.write_config()
        self.hup_and_wait(p, 'ok')
        self.assertOpenAIError(p.request('POST', CHAT, sh(''), self.body_of_size(2000)), 413, 'body_too_large')
        restart = [l for l in p.log_lines()[nlines:] if 'restart' in l]
        self.assertEqual(restart, [], 'a recall key was taken for a restart-only one')
        nlines = p.log_count()
        p.sections['memory']['share_buffer'] = 24
        p.sections['server']['max_body_bytes'] = 100000
        p.write_config()
        self.hup_and_wait(p, 'error')
        line = p.wait_log(lambda o: o.get('level') == 'error' and 'share_buffer' in o.get('error', ''), 3,
                          start=nlines)
        self.assertIsNotNone(line, 'no error naming the shares; log:\n' + '\n'.join(p.log_lines()[nlines:]))
        self.assertOpenAIError(p.request('POST', CHAT, sh(''), self.body_of_size(2000)), 413, 'body_too_large')
        p.sections['memory']['retrieval'] = 'fuzzy'
        p.sections['memory']['share_buffer'] = 25
        p.write_config()
        self.hup_and_wait(p, 'error')
        self.assertOpenAIError(p.request('POST', CHAT, sh(''), self.body_of_size(2000)), 413, 'body_too_large')


if __name__ == '__main__':
    harness.main('proxy_signals')
