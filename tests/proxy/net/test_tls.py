"""HTTPS upstreams: certificates are verified (system store, or [upstream]
ca_file), and a failed verification is a 502 counted as kind="tls"."""

import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402

BODY = b'{"id":"tls-ok","object":"chat.completion","choices":[]}'


def make_cert(directory, name, san):
    key = os.path.join(directory, name + '.key')
    crt = os.path.join(directory, name + '.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', crt, '-days', '1', '-subj', '/CN=memproxy-test',
                    '-addext', 'subjectAltName=' + san],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return crt, key


class TLSUpstream(threading.Thread):
    """A minimal HTTPS server: answers every request with BODY."""

    def __init__(self, crt, key):
        super().__init__(daemon=True)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handshakes_ok = 0

    def run(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(raw,), daemon=True).start()

    def serve(self, raw):
        try:
            with self.ctx.wrap_socket(raw, server_side=True) as s:
                self.handshakes_ok += 1
                data = b''
                while True:
                    while b'\r\n\r\n' not in data:
                        chunk = s.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, rest = data.split(b'\r\n\r\n', 1)
                    length = 0
                    for line in head.split(b'\r\n')[1:]:
                        k, _, v = line.partition(b':')
                        if k.strip().lower() == b'content-length':
                            length = int(v)
                    while len(rest) < length:
                        rest += s.recv(65536)
                    data = rest[length:]
                    s.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                              b'x-request-id: tls-1\r\nContent-Length: %d\r\n\r\n%s'
                              % (len(BODY), BODY))
        except (ssl.SSLError, OSError):
            return

    def stop(self):
        self.sock.close()


class TLS(harness.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.TemporaryDirectory(prefix='memproxy-tls-')
        cls.crt, cls.key = make_cert(cls.dir.name, 'good', 'IP:127.0.0.1,DNS:localhost')
        cls.other_crt, cls.other_key = make_cert(cls.dir.name, 'other', 'DNS:other.example')
        cls.good = TLSUpstream(cls.crt, cls.key)
        cls.other = TLSUpstream(cls.other_crt, cls.other_key)
        cls.good.start()
        cls.other.start()

    @classmethod
    def tearDownClass(cls):
        cls.good.stop()
        cls.other.stop()
        cls.dir.cleanup()
        super().tearDownClass()

    def tls_errors(self, p):
        return p.metric('memproxy_upstream_errors_total', kind='tls')

    def test_untrusted_certificate_refused_with_502(self):
        p = self.start_proxy(upstream_url='https://127.0.0.1:%d/v1' % self.good.port)
        before = self.tls_errors(p)
        handshakes = self.good.handshakes_ok
        r = p.chat()
        self.assertOpenAIError(r, 502, 'upstream_unreachable')
        self.assertEqual(self.tls_errors(p) - before, 1)
        self.assertEqual(self.good.handshakes_ok, handshakes,
                         'memproxy completed a handshake it should refuse')

    def test_ca_file_trusts_a_private_ca(self):
        p = self.start_proxy(upstream_url='https://127.0.0.1:%d/v1' % self.good.port,
                             upstream={'ca_file': self.crt})
        for _ in range(3):
            r = p.chat()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(bytes(r.body), BODY)
            self.assertEqual(r.header('x-request-id'), 'tls-1')
        self.assertEqual(self.tls_errors(p), 0)

    def test_host_name_mismatch_refused(self):
        p = self.start_proxy(upstream_url='https://127.0.0.1:%d/v1' % self.other.port,
                             upstream={'ca_file': self.other_crt})
        r = p.chat()
        self.assertOpenAIError(r, 502, 'upstream_unreachable')
        self.assertEqual(self.tls_errors(p), 1)

    def test_unreadable_ca_file_is_a_config_error(self):
        p = harness.Proxy(self.fake.base_url, upstream={'ca_file': '/nonexistent/ca.pem'})
        out = subprocess.run([harness.MEMPROXY_BIN, '-c', p.config_path, '--check-config'],
                             env=p.env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 1, out)
        self.assertIn('ca_file cannot be read', out.stderr)


if __name__ == '__main__':
    harness.main('proxy_tls')
