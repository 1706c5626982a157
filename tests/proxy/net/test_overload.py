"""Overload that favours clients who finish (issue 12): at max_connections a
new connection displaces the one that has waited longest for its next head
(a slowloris, a silent connection, an idle keep-alive), so clients that send
whole requests keep being served; a request in progress keeps its place,
and when every connection has one the refusal stays 503."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

SLOW = 1500
HEAD = (b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
        b'X-Padding: ' + b'a' * 200 + b'\r\n\r\n')


class Slowloris(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 2, 'server': {'client_timeout_ms': 60000, 'max_connections': 1024}}

    def test_1500_one_byte_per_second_connections_do_not_lock_out_a_normal_client(self):
        port = self.proxy.port
        stop = threading.Event()
        socks = [None] * SLOW
        sent = [0] * SLOW
        reconnects = [0]

        def connect(i):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(('127.0.0.1', port))
            except BlockingIOError:
                pass
            socks[i] = s
            sent[i] = 0

        def attacker():
            for i in range(SLOW):
                connect(i)
            while not stop.is_set():
                t0 = time.monotonic()
                for i in range(SLOW):
                    try:
                        socks[i].send(HEAD[sent[i]:sent[i] + 1])
                        sent[i] = (sent[i] + 1) % (len(HEAD) - 4)  # never completes the head
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:  # displaced (or not yet connected): come back
                        socks[i].close()
                        connect(i)
                        reconnects[0] += 1
                stop.wait(max(0.0, 1.0 - (time.monotonic() - t0)))
            for s in socks:
                if s is not None:
                    s.close()
        th = threading.Thread(target=attacker)
        th.start()
        try:
            open_max = self.proxy.wait_metric('memproxy_open_connections', lambda x: x >= 1024, 15)
            self.assertGreaterEqual(open_max, 1024, 'the attack never filled max_connections')
            statuses = []
            for i in range(20):
                r = self.proxy.chat(timeout=harness.WAIT)
                statuses.append(r.status)
                time.sleep(0.1)
        finally:
            stop.set()
            th.join(30)
        self.assertEqual(statuses, [200] * 20, 'a client with whole requests was locked out')
        displaced = self.proxy.metric('memproxy_client_errors_total', kind='displaced')
        self.assertGreater(displaced, 0, 'nothing was displaced: the limit was never reached')
        self.assertLessEqual(self.proxy.metric('memproxy_open_connections'), 1024 + 2)


class Displacement(harness.ProxyTestCase):
    """At max_connections (3, one worker) the newcomer takes the place of
    the connection that has waited longest for its next head; one with a
    request in progress keeps its place."""

    PROXY_CONFIG = {'workers': 1, 'server': {'max_connections': 3}}

    def served(self, n):
        conns = [harness.HTTPConn(self.proxy.port) for _ in range(n)]
        self.addCleanup(lambda: [c.close() for c in conns])
        for c in conns:
            self.assertEqual(c.request('GET', '/v1/models').status, 200)
        return conns

    def displaced(self):
        return self.proxy.metric('memproxy_client_errors_total', kind='displaced')

    def test_longest_waiting_connection_is_displaced_first(self):
        self.proxy.wait_metric('memproxy_open_connections', lambda x: x == 0, 3)
        slow = harness.HTTPConn(self.proxy.port)  # waits longest: a head dribbling in
        self.addCleanup(slow.close)
        slow.send(b'GET /v1/mod')
        # accepted (and waiting) before the others connect
        self.assertEqual(self.proxy.wait_metric('memproxy_open_connections', lambda x: x == 1, 3), 1)
        idle = self.served(2)  # idle keep-alive, waiting less long
        before = self.displaced()
        with harness.HTTPConn(self.proxy.port) as c4:
            self.assertEqual(c4.request('GET', '/v1/models', timeout=5).status, 200)
        self.assertEqual(slow.read_until_closed(5), b'', 'the slowest head was not closed')
        self.assertEqual(self.displaced() - before, 1)
        self.assertEqual(idle[0].request('GET', '/v1/models').status, 200, 'an idle one went too')

    def test_request_in_progress_is_never_displaced(self):
        self.proxy.wait_metric('memproxy_open_connections', lambda x: x == 0, 3)
        busy = []
        requests0 = self.fake.stats()['requests']
        for _ in range(3):  # every slot holds a request the upstream is slow (10 s) to answer
            c = harness.HTTPConn(self.proxy.port)
            self.addCleanup(c.close)
            c.send_request('POST', '/v1/chat/completions',
                           [('Content-Type', 'application/json'), ('X-Fake-Behavior', 'delay_ms=10000')],
                           harness.chat_body())
            busy.append(c)
        self.proxy.wait_metric('memproxy_open_connections', lambda x: x == 3, 3)
        # in progress: the three requests reached the upstream
        st = self.fake.wait_stats(lambda x: x['requests'] - requests0 >= 3, harness.WAIT)
        self.assertEqual(st['requests'] - requests0, 3, st)
        before = self.displaced()
        with harness.HTTPConn(self.proxy.port) as c4:
            r = c4.request('GET', '/v1/models', timeout=harness.WAIT)
            self.assertOpenAIError(r, 503, 'overloaded')
        self.assertEqual(self.displaced() - before, 0)
        for c in busy:
            self.assertEqual(c.read_response('POST', timeout=harness.WAIT).status, 200)


if __name__ == '__main__':
    harness.main('proxy_overload')
