"""memproxy --probe URL: the health check the container image runs (it has no
curl). Against the real admin listener (/livez, /readyz, a 404), a closed port,
peers that never answer or answer garbage, and URLs it must refuse. Exit 0 on
a 2xx only, 1 otherwise with exactly one line on stderr."""

import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import MEMPROXY_BIN  # noqa: E402

TIMEOUT_S = 2.0  # proxy/probe.h MP_PROBE_TIMEOUT_MS


def probe(url, timeout=15):
    """(exit status, stdout, stderr, seconds) of memproxy --probe url."""
    t0 = time.monotonic()
    r = subprocess.run([MEMPROXY_BIN, '--probe', url], env=harness.child_env(), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    harness.keep_log('memproxy-probe', r.stderr + r.stdout)
    return r.returncode, r.stdout.decode(), r.stderr.decode(), time.monotonic() - t0


class Peer:
    """A one-shot TCP peer on loopback: records what it is sent (up to the
    blank line) and answers `reply` (None: says nothing, keeps the
    connection open until stopped)."""

    def __init__(self, reply, family=socket.AF_INET, host='127.0.0.1'):
        self.reply = reply
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.received = b''
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            c.settimeout(10)
            try:
                while b'\r\n\r\n' not in self.received:
                    d = c.recv(4096)
                    if not d:
                        break
                    self.received += d
                if self.reply is not None:
                    c.sendall(self.reply)
                else:
                    self.done.wait(10)
            except OSError:
                pass

    def close(self):
        self.done.set()
        self.sock.close()
        self.thread.join(5)


class ProbeAdmin(harness.ProxyTestCase):
    """Against memproxy's own admin listener."""

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.proxy.admin_port, path)

    def test_livez_exits_0_silently(self):
        rc, out, err, _ = probe(self.url('/livez'))
        self.assertEqual((rc, out, err), (0, '', ''))

    def test_readyz_exits_0(self):
        rc, out, err, _ = probe(self.url('/readyz'))
        self.assertEqual((rc, out, err), (0, '', ''))

    def test_localhost_name_resolves(self):
        rc, _, err, _ = probe('http://localhost:%d/livez' % self.proxy.admin_port)
        self.assertEqual(rc, 0, err)

    def test_404_path_exits_1_with_one_line(self):
        rc, out, err, _ = probe(self.url('/no-such-path'))
        self.assertEqual(rc, 1)
        self.assertEqual(out, '')
        self.assertEqual(err.count('\n'), 1, err)
        self.assertIn('answered HTTP 404', err)
        self.assertIn('/no-such-path', err)

    def test_no_path_means_slash(self):
        rc, _, err, _ = probe('http://127.0.0.1:%d' % self.proxy.admin_port)
        self.assertEqual(rc, 1)  # the admin listener has nothing at /
        self.assertIn(':%d/ answered HTTP 404' % self.proxy.admin_port, err)

    def test_data_plane_error_status_exits_1(self):
        # /v1/models forwards to the fake; with X-Fake-Behavior absent it is
        # 200 there, so ask for a path the data plane rejects itself.
        rc, _, err, _ = probe('http://127.0.0.1:%d/livez' % self.proxy.port)
        self.assertEqual(rc, 1)
        self.assertRegex(err, r'answered HTTP [45]\d\d')


class ProbeFailures(unittest.TestCase):
    """Peers that are not a healthy HTTP server."""

    def test_closed_port_exits_1(self):
        port = harness.free_port()
        rc, out, err, secs = probe('http://127.0.0.1:%d/livez' % port)
        self.assertEqual(rc, 1)
        self.assertEqual(err, 'memproxy --probe: cannot connect to 127.0.0.1:%d: Connection refused\n' % port)
        self.assertLess(secs, TIMEOUT_S + 1)

    def test_silent_peer_times_out_in_about_2_s(self):
        peer = Peer(None)
        try:
            rc, _, err, secs = probe('http://127.0.0.1:%d/livez' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 1)
        self.assertIn('no answer from 127.0.0.1:%d in time' % peer.port, err)
        self.assertGreaterEqual(secs, TIMEOUT_S - 0.2)
        self.assertLess(secs, TIMEOUT_S + 3)

    def test_peer_that_closes_exits_1(self):
        peer = Peer(b'')
        try:
            rc, _, err, _ = probe('http://127.0.0.1:%d/livez' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 1)
        self.assertIn('closed the connection before answering', err)

    def test_not_http_exits_1(self):
        peer = Peer(b'SSH-2.0-OpenSSH_9.2\r\n')
        try:
            rc, _, err, _ = probe('http://127.0.0.1:%d/livez' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 1)
        self.assertIn('did not answer with an HTTP/1.x status line', err)

    def test_2xx_other_than_200_and_the_exact_request(self):
        peer = Peer(b'HTTP/1.1 204 No Content\r\n\r\n')
        try:
            rc, _, err, _ = probe('http://127.0.0.1:%d/health/x?full=1' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 0, err)
        head = peer.received.decode()
        lines = head.split('\r\n')
        self.assertEqual(lines[0], 'GET /health/x?full=1 HTTP/1.1')
        self.assertIn('Host: 127.0.0.1:%d' % peer.port, lines)
        self.assertIn('Connection: close', lines)
        self.assertTrue(head.endswith('\r\n\r\n'), head)

    def test_3xx_is_not_followed(self):
        peer = Peer(b'HTTP/1.1 302 Found\r\nLocation: /livez\r\nContent-Length: 0\r\n\r\n')
        try:
            rc, _, err, _ = probe('http://127.0.0.1:%d/old' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 1)
        self.assertIn('answered HTTP 302', err)

    def test_500_exits_1(self):
        peer = Peer(b'HTTP/1.0 500 Oops\r\n\r\n')
        try:
            rc, _, err, _ = probe('http://127.0.0.1:%d/readyz' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 1)
        self.assertIn('answered HTTP 500', err)

    def test_ipv6_literal_in_brackets(self):
        peer = Peer(b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', family=socket.AF_INET6, host='::1')
        try:
            rc, _, err, _ = probe('http://[::1]:%d/livez' % peer.port)
        finally:
            peer.close()
        self.assertEqual(rc, 0, err)
        self.assertIn('Host: [::1]:%d' % peer.port, peer.received.decode().split('\r\n'))


class ProbeBadUrls(unittest.TestCase):
    """URLs it refuses before sending anything: exit 1, one clear line."""

    BAD = {
        'https://127.0.0.1:8081/livez': 'only http://HOST:PORT/PATH is supported',
        'ftp://127.0.0.1/': 'only http://HOST:PORT/PATH is supported',
        '127.0.0.1:8081/livez': 'only http://HOST:PORT/PATH is supported',
        '': 'only http://HOST:PORT/PATH is supported',
        'http://': 'the host must be',
        'http:///livez': 'the host must be',
        'http://::1:8081/livez': 'the host must be',  # IPv6 needs brackets
        'http://[::1/livez': 'an IPv6 address must be written',
        'http://127.0.0.1:0/livez': 'the port must be a number from 1 to 65535',
        'http://127.0.0.1:65536/livez': 'the port must be a number from 1 to 65535',
        'http://127.0.0.1:80a/livez': 'the port must be a number',
        'http://user:pw@127.0.0.1:8081/livez': 'user info',
        'http://127.0.0.1:8081/live z': 'blanks, control bytes',
        'http://127.0.0.1:8081/livez\r\nX-Injected: 1': 'blanks, control bytes',
        'http://127.0.0.1:8081/livez#top': "'#'",
        'http://127.0.0.1:8081?x=1': 'a query must follow a path',
        'http://' + 'a' * 300 + ':8081/': 'the host must be',
        'http://127.0.0.1:8081/' + 'p' * 2100: 'longer than 2048 bytes',
    }

    def test_bad_urls_exit_1_with_a_clear_message(self):
        for url, why in self.BAD.items():
            with self.subTest(url=url[:60]):
                rc, out, err, secs = probe(url)
                self.assertEqual(rc, 1)
                self.assertEqual(out, '')
                self.assertTrue(err.startswith('memproxy --probe: bad URL: '), err)
                self.assertEqual(err.count('\n'), 1, err)
                self.assertIn(why, err)
                self.assertLess(secs, 1.5)

    def test_missing_url_is_a_usage_error(self):
        r = subprocess.run([MEMPROXY_BIN, '--probe'], env=harness.child_env(), capture_output=True, timeout=15)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"unknown argument '--probe'", r.stderr)

    def test_help_lists_probe(self):
        r = subprocess.run([MEMPROXY_BIN, '--help'], env=harness.child_env(), capture_output=True, timeout=15)
        self.assertEqual(r.returncode, 0)
        self.assertIn(b'[--probe URL]', r.stdout)
        self.assertRegex(r.stdout.decode(), r'\n  --probe URL +GET an http://HOST:PORT/PATH URL')


if __name__ == '__main__':
    harness.main('proxy_probe')
