"""Overload that favours clients who finish (issue 12): at max_connections a
new connection displaces the one that has waited longest for its next head
(a slowloris, a silent connection, an idle keep-alive), so clients that send
whole requests keep being served; a request in progress keeps its place,
and when every connection has one the refusal stays 503."""

import os
import signal
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


class AcceptBurst(harness.ProxyTestCase):
    """Connections that arrive while the worker is busy (a burst of new
    clients): each one's request is already in its socket when it is
    accepted, and is read in the same loop pass as the accept, not one pass
    later. The worker is stopped (SIGSTOP) while the clients connect and
    send, so every request is waiting in the kernel when it resumes; the
    preload tests/proxy/passlog.c logs accepts, loop passes and reads in
    order. One pass accepts every connection waiting (up to 512)."""

    CONNS = 24
    MANY = 100

    def start_logged(self):
        env, path = harness.preload_env(self, 'MPTEST_PASSLOG_LIB', 'passes',
                                        lambda path: {'MPTEST_PASSLOG_FILE': path})
        return self.start_proxy(workers=1, memory={'mode': 'off'}, env=env), path

    def stop(self, p):
        """SIGSTOP, and wait until every thread of p is stopped."""
        p.proc.send_signal(signal.SIGSTOP)
        task = '/proc/%d/task' % p.proc.pid

        def stopped():
            for t in os.listdir(task):
                with open(os.path.join(task, t, 'stat')) as f:
                    if f.read().rsplit(')', 1)[1].split()[0] != 'T':
                        return False
            return True
        deadline = time.monotonic() + 10
        while not stopped() and time.monotonic() < deadline:
            time.sleep(0.01)

    def waiting(self, p, nbytes, conns):
        """The client ports of conns whose request (nbytes) waits whole in
        the stopped proxy's socket: all of them, or what there is after 10 s
        (the kernel may hold a few bytes back a while; those are left out)."""
        ports = {c.sock.getsockname()[1] for c in conns}
        deadline = time.monotonic() + 10
        while True:
            full = {rport for lport, rport, _, rx in harness.tcp_queues()
                    if lport == p.port and rport in ports and rx == nbytes}
            if len(full) == len(ports) or time.monotonic() > deadline:
                return full
            time.sleep(0.02)

    def test_a_request_waiting_at_accept_is_read_in_the_accepting_pass(self):
        p, path = self.start_logged()
        self.assertEqual(p.chat().status, 200)
        body = harness.chat_body(content='burst')
        raw = harness.build_request('POST', '/v1/chat/completions',
                                    [('Content-Type', 'application/json')], body)
        before = self.fake.stats()['requests']
        self.stop(p)
        conns = []
        try:
            for _ in range(self.CONNS):
                c = harness.HTTPConn(p.port)
                self.addCleanup(c.close)
                c.send(raw)
                conns.append(c)
            full = self.waiting(p, len(raw), conns)
        finally:
            p.proc.send_signal(signal.SIGCONT)
        self.assertGreaterEqual(len(full), self.CONNS // 2, 'the requests did not reach the sockets')
        for c in conns:
            self.assertEqual(c.read_response('POST', timeout=10).status, 200)
        self.assertEqual(self.fake.stats()['requests'] - before, self.CONNS)
        with open(path) as f:
            lines = [line.split() for line in f]
        accepts = [(i, w[1], w[2]) for i, w in enumerate(lines) if w[0] == 'accept' and int(w[3]) in full]
        self.assertEqual(len(accepts), len(full))
        late = []
        for i, tid, fd in accepts:
            for w in lines[i + 1:]:
                if w[0] == 'pass' and w[1] == tid:
                    late.append(fd)  # the loop went back to epoll_wait first
                    break
                if w[0] == 'read' and w[1] == tid and w[2] == fd:
                    break
        self.assertEqual(late, [], '%d of %d waiting requests were read a pass after their accept'
                         % (len(late), len(full)))

    def test_one_pass_accepts_every_waiting_connection(self):
        # more connections than the listener took per wake-up before (64):
        # all of them are accepted in the pass that finds them waiting
        p, path = self.start_logged()
        self.assertEqual(p.chat().status, 200)
        raw = harness.build_request('POST', '/v1/chat/completions',
                                    [('Content-Type', 'application/json')], harness.chat_body(content='many'))
        self.stop(p)
        conns = []
        try:
            for _ in range(self.MANY):
                c = harness.HTTPConn(p.port)
                self.addCleanup(c.close)
                c.send(raw)
                conns.append(c)
        finally:
            p.proc.send_signal(signal.SIGCONT)
        for c in conns:
            self.assertEqual(c.read_response('POST', timeout=10).status, 200)
        ports = {str(c.sock.getsockname()[1]) for c in conns}
        with open(path) as f:
            lines = [line.split() for line in f]
        at = [i for i, w in enumerate(lines) if w[0] == 'accept' and w[3] in ports]
        self.assertEqual(len(at), self.MANY)
        tid = lines[at[0]][1]
        passes = [w for w in lines[at[0]:at[-1]] if w[0] == 'pass' and w[1] == tid]
        self.assertEqual(len(passes), 0, 'the waiting connections took %d passes more to accept'
                         % len(passes))

    def test_a_connection_closed_or_pipelining_before_accept(self):
        p, _ = self.start_logged()
        raw = harness.build_request('POST', '/v1/chat/completions',
                                    [('Content-Type', 'application/json')], harness.chat_body(content='two'))
        before = self.fake.stats()['requests']
        self.stop(p)
        try:
            gone = socket.create_connection(('127.0.0.1', p.port))
            gone.close()  # EOF is all the first read finds
            two = harness.HTTPConn(p.port)
            self.addCleanup(two.close)
            two.send(raw + raw)  # two requests waiting at the accept
        finally:
            p.proc.send_signal(signal.SIGCONT)
        for _ in range(2):
            self.assertEqual(two.read_response('POST', timeout=10).status, 200)
        self.assertEqual(self.fake.stats()['requests'] - before, 2)
        two.close()
        p.wait_metric('memproxy_open_connections', lambda x: x == 0, 10)
        self.assertEqual(p.metric('memproxy_open_connections'), 0)
        self.assertEqual(p.chat().status, 200)

if __name__ == '__main__':
    harness.main('proxy_overload')
