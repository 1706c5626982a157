"""The native upstream client's keep-alive pool (issue 15, requirement 6):
[upstream] client = native against a scripted upstream of this file that
records every connection and request. A connection the upstream closes while
it waits in the pool is dropped when the close arrives, so the next request
goes out on a new connection and succeeds (no poll before a reuse: nothing
is tried on the dead one). A request the upstream read and then dropped
without an answer is not sent again: a POST must not run twice; the client
gets 502. Connections are reused while the upstream keeps them, and the
request leaves with its body in one piece, Content-Length and Host set.
Requirement 2: a request on a pooled connection costs no poll(2) or
select(2) (counted by a preload, pollcount.c); libcurl, the control, polls
on every reuse. Requirement 3: a 64 KiB body leaves in one sendmsg(2) with
its head (logged by a preload, sendcount.c); libcurl, the control, takes
several writes. A new connection's request leaves in the same sendmsg(2)
right after connect(2) (a connect to this host completes inside it), and
one whose connect is still under way waits for it in the output."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402

ANSWER = json.dumps({'id': 'chatcmpl-n', 'object': 'chat.completion', 'created': 1, 'model': 'm',
                     'choices': [{'index': 0, 'finish_reason': 'stop',
                                  'message': {'role': 'assistant', 'content': 'ok'}}]}).encode()


class ScriptedUpstream:
    """One thread per connection. For each request it reads the head and the
    Content-Length body, records them, and acts by the connection's order of
    arrival and its request count: plan(conn_index, request_index) returns
    'answer', 'answer_then_close_later' (answer, then close the idle
    connection after a moment), or 'drop' (close without answering)."""

    def __init__(self, plan, backlog=64, accepting=True):
        self.plan = plan
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.requests = []  # (conn_index, request_index, head, body)
        self.conns = 0
        self.lock = threading.Lock()
        self.stop = False
        if accepting:
            self.start_accepting()

    def start_accepting(self):
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                idx = self.conns
                self.conns += 1
            threading.Thread(target=self.serve, args=(c, idx), daemon=True).start()

    def read_request(self, c, buf):
        while b'\r\n\r\n' not in buf:
            data = c.recv(65536)
            if not data:
                return None, buf
            buf += data
        head, _, rest = buf.partition(b'\r\n\r\n')
        length = 0
        for line in head.split(b'\r\n')[1:]:
            name, _, value = line.partition(b':')
            if name.strip().lower() == b'content-length':
                length = int(value.strip())
        while len(rest) < length:
            data = c.recv(65536)
            if not data:
                return None, b''
            rest += data
        return (head.decode('latin-1'), rest[:length]), rest[length:]

    def serve(self, c, idx):
        buf = b''
        n = 0
        try:
            while True:
                req, buf = self.read_request(c, buf)
                if req is None:
                    return
                with self.lock:
                    self.requests.append((idx, n, req[0], req[1]))
                what = self.plan(idx, n)
                n += 1
                if what == 'drop':
                    return
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                          b'Content-Length: %d\r\n\r\n' % len(ANSWER) + ANSWER)
                if what == 'answer_then_close_later':
                    time.sleep(0.2)
                    return
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()


def proxy_ends_open(port, states=('01', '08')):
    """The connections to 127.0.0.1:port whose client end is in one of the
    /proc/net/tcp states given (by default still open: ESTABLISHED and
    CLOSE_WAIT; '02' is SYN_SENT)."""
    ends = []
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[2].rsplit(':', 1)[1], 16) == port and fields[3] in states:
                ends.append(fields[1])
    return ends


class NativePool(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 1, 'upstream': {'client': 'native'}}

    def proxy_to(self, up):
        return self.start_proxy(workers=1, upstream_url='http://127.0.0.1:%d/v1' % up.port,
                                upstream={'client': 'native'})

    def test_a_connection_kept_alive_carries_the_next_requests(self):
        up = ScriptedUpstream(lambda conn, req: 'answer')
        self.addCleanup(up.close)
        p = self.proxy_to(up)
        for i in range(5):
            r = p.chat(body=harness.chat_body(content='hello %d' % i))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()['id'], 'chatcmpl-n')
        self.assertEqual(up.conns, 1)
        self.assertEqual([n for _, n, _, _ in up.requests], [0, 1, 2, 3, 4])
        head, body = up.requests[4][2], up.requests[4][3]
        self.assertTrue(head.startswith('POST /v1/chat/completions HTTP/1.1\r\n'), head)
        self.assertIn('\r\nHost: 127.0.0.1:%d\r\n' % up.port, head)
        self.assertIn('\r\nContent-Length: %d' % len(body), head)
        self.assertEqual(json.loads(body)['messages'][-1]['content'], 'hello 4')

    def test_an_idle_connection_the_upstream_closed_is_not_reused(self):
        up = ScriptedUpstream(lambda conn, req: 'answer_then_close_later')
        self.addCleanup(up.close)
        p = self.proxy_to(up)
        self.assertEqual(p.chat().status, 200)
        # the upstream closed the idle connection 0.2 s after its answer, and
        # memproxy closed its end: none of its connections to it is open
        mh.wait_for(lambda: not proxy_ends_open(up.port), what="memproxy's end of the closed connection closed")
        r = p.chat()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(up.conns, 2, 'the second request did not get a new connection')
        # one request per connection: nothing was written to the closed one
        self.assertEqual(sorted((c, n) for c, n, _, _ in up.requests), [(0, 0), (1, 0)])
        self.assertEqual(p.metric('memproxy_upstream_errors_total'), 0)

    def test_a_request_waits_for_a_connect_still_under_way(self):
        # as to a remote upstream: the connect has not completed when the
        # request is ready (here the upstream's accept queue is full, so its
        # SYN waits for a retransmission); the request goes out once it has
        up = ScriptedUpstream(lambda conn, req: 'answer', backlog=0, accepting=False)
        self.addCleanup(up.close)
        filler = socket.create_connection(('127.0.0.1', up.port))  # fills the queue
        self.addCleanup(filler.close)
        p = self.proxy_to(up)
        body = harness.chat_body(content='after the handshake')
        answers = []
        t = threading.Thread(target=lambda: answers.append(p.chat(body=body, timeout=30)))
        t.start()
        mh.wait_for(lambda: proxy_ends_open(up.port, ('02',)), what="memproxy's connect under way")
        up.start_accepting()  # the filler first: its connection ends when it closes
        filler.close()
        t.join(60)
        self.assertEqual(len(answers), 1, 'no answer')
        self.assertEqual(answers[0].status, 200, answers[0])
        self.assertEqual([b for _, _, _, b in up.requests], [body])

    def test_a_request_the_upstream_read_and_dropped_is_not_sent_again(self):
        # the first connection answers once, then drops its second request unanswered
        up = ScriptedUpstream(lambda conn, req: 'drop' if (conn, req) == (0, 1) else 'answer')
        self.addCleanup(up.close)
        p = self.proxy_to(up)
        self.assertEqual(p.chat().status, 200)
        r = p.chat(body=harness.chat_body(content='only once'))
        self.assertOpenAIError(r, 502, 'upstream_unreachable')
        sent = [b for _, _, _, b in up.requests if b'only once' in b]
        self.assertEqual(len(sent), 1, 'the dropped request was sent again')
        self.assertEqual(p.metric('memproxy_upstream_errors_total', kind='reset'), 1)
        self.assertEqual(p.chat().status, 200)  # and the next one is served on a new connection
        self.assertEqual(up.conns, 2)


def proxy_with_preload(case, client, lib_var, log_name, preload_env):
    """A scripted upstream that answers every request, and a proxy (one
    worker, memory off: no memory-model calls) in front of it with the
    preload of the environment variable lib_var, configured by
    preload_env(upstream, log path): (upstream, proxy, log path)."""
    up = ScriptedUpstream(lambda conn, req: 'answer')
    case.addCleanup(up.close)
    env, path = harness.preload_env(case, lib_var, log_name, lambda path: preload_env(up, path))
    p = case.start_proxy(workers=1, upstream_url='http://127.0.0.1:%d/v1' % up.port,
                         upstream={'client': client}, memory={'mode': 'off'}, env=env)
    return up, p, path


class PollsPerRequest(harness.ProxyTestCase):
    """The calls to poll(2), ppoll(2), select(2) and pselect(2) memproxy makes
    while it serves requests on one kept-alive upstream connection, counted by
    tests/proxy/pollcount.c preloaded into it (memory off: no memory-model
    calls)."""

    REQUESTS = 20

    def polls_for(self, client):
        up, p, count_file = proxy_with_preload(self, client, 'MPTEST_POLLCOUNT_LIB', 'polls',
                                               lambda up, path: {'MPTEST_POLLCOUNT_FILE': path})

        def polls():
            with open(count_file) as f:
                return int(f.read())

        self.assertEqual(p.chat().status, 200)  # the connection is made and pooled
        before = polls()
        for i in range(self.REQUESTS):
            r = p.chat(body=harness.chat_body(content='hello %d' % i))
            self.assertEqual(r.status, 200, r)
        after = polls()
        self.assertEqual(up.conns, 1, 'every request should reuse the first connection')
        return after - before

    def test_native_reuses_a_pooled_connection_without_a_poll(self):
        self.assertEqual(self.polls_for('native'), 0)

    def test_curl_polls_on_each_reuse_the_control(self):
        # the count sees what the native client avoids: libcurl checks a
        # reused connection with poll(2) on every request
        self.assertGreaterEqual(self.polls_for('curl'), self.REQUESTS)


class BigBodyInOneWrite(harness.ProxyTestCase):
    """Requirement 3: a request body of 64 KiB and more leaves in the same
    write as the head when the socket allows. tests/proxy/sendcount.c,
    preloaded, logs every
    write to the upstream's sockets and gives them a send buffer that holds
    the whole request (so "the socket allows" on any machine)."""

    def writes_for(self, client, content):
        up, p, log = proxy_with_preload(self, client, 'MPTEST_SENDCOUNT_LIB', 'sends',
                                        lambda up, path: {'MPTEST_SENDCOUNT_FILE': path,
                                                          'MPTEST_SENDCOUNT_PORT': str(up.port),
                                                          'MPTEST_SENDCOUNT_SNDBUF': str(1 << 20)})

        def writes():
            with open(log) as f:
                return [(call, int(n)) for call, n in (line.split() for line in f)]

        self.assertEqual(p.chat().status, 200)  # the connection is made and pooled
        before = len(writes())
        body = harness.chat_body(content=content)
        r = p.chat(body=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(up.conns, 1, 'the request should reuse the pooled connection')
        head, got = up.requests[-1][2], up.requests[-1][3]
        self.assertEqual(got, body, 'the upstream did not get the client\'s body')
        return writes()[before:], len(head) + 4 + len(body)

    def test_native_sends_head_and_a_big_body_in_one_write(self):
        for size in (64 * 1024, 300 * 1024):
            sends, total = self.writes_for('native', 'x' * size)
            self.assertEqual(sends, [('sendmsg', total)], 'a %d-byte body took these writes' % size)

    def test_a_small_body_too(self):
        sends, total = self.writes_for('native', 'hello')
        self.assertEqual(sends, [('sendmsg', total)])

    def test_an_answer_is_read_without_an_ioctl(self):
        # libevent's bufferevent asks FIONREAD before every read; a plain
        # connection reads on its own: read(2) alone, on the new connection
        # and on the reused one
        up, p, log = proxy_with_preload(self, 'native', 'MPTEST_SENDCOUNT_LIB', 'sends',
                                        lambda up, path: {'MPTEST_SENDCOUNT_FILE': path,
                                                          'MPTEST_SENDCOUNT_PORT': str(up.port),
                                                          'MPTEST_SENDCOUNT_ORDER': '1'})
        for i in range(3):
            self.assertEqual(p.chat(body=harness.chat_body(content='n %d' % i)).status, 200)
        self.assertEqual(up.conns, 1)
        with open(log) as f:
            calls = [line.split()[0].split('@')[0] for line in f if line.startswith('upstream-')]
        self.assertNotIn('upstream-ioctl', calls)
        self.assertGreaterEqual(calls.count('upstream-read'), 3, calls)

    def test_a_new_connections_request_leaves_at_the_connect(self):
        # the first request opens the connection: a connect to this host
        # completes inside connect(2), and the request is written right
        # after it, whole, rather than by the bufferevent (writev) once the
        # socket reports writable a loop pass later
        up, p, log = proxy_with_preload(self, 'native', 'MPTEST_SENDCOUNT_LIB', 'sends',
                                        lambda up, path: {'MPTEST_SENDCOUNT_FILE': path,
                                                          'MPTEST_SENDCOUNT_PORT': str(up.port),
                                                          'MPTEST_SENDCOUNT_SNDBUF': str(1 << 20)})
        body = harness.chat_body(content='x' * (64 * 1024))
        self.assertEqual(p.chat(body=body).status, 200)
        self.assertEqual(up.conns, 1)
        head = up.requests[0][2]
        with open(log) as f:
            sends = [(call, int(n)) for call, n in (line.split() for line in f)]
        self.assertEqual(sends, [('sendmsg', len(head) + 4 + len(body))])

    def test_curl_writes_a_big_body_apart_the_control(self):
        # the log sees what the native client avoids: libcurl sends the head,
        # then the body in pieces of its upload buffer
        sends, total = self.writes_for('curl', 'x' * (64 * 1024))
        self.assertGreater(len(sends), 1, sends)
        self.assertEqual(sum(n for _, n in sends), total)


if __name__ == '__main__':
    harness.main('proxy_upstream_native')
