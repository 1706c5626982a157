"""Capacity follows the machine (issue 15, requirement 4): at start memproxy
raises its soft open-file limit to the hard one, and [server]
max_connections = 0 (the default, auto) becomes (limit - 256) / 2 (with
PostgreSQL, less the database connections): what the limit can carry at
two descriptors per proxied request. /admin/status shows both; an explicit
max_connections is kept; a reload recomputes auto."""

import os
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402


def fd_table_size(pid):
    """The kernel's descriptor table size for pid (FDSize: slots allocated,
    open or not)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('FDSize:'):
                return int(line.split()[1])
    raise AssertionError('no FDSize in /proc/%d/status' % pid)


def soft_nofile(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                return int(line.split()[3])
    raise AssertionError('no open-file limit in /proc/%d/limits' % pid)


class Capacity(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 1}

    def status(self, p):
        r = p.admin('/admin/status', headers=[('Authorization', 'Bearer ' + TOKEN)])
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_the_soft_limit_is_raised_to_the_hard_one_and_sizes_max_connections(self):
        p = Proxy(self.fake.base_url, workers=1, sections={'admin': {'token': TOKEN}})
        p.start(nofile=(512, 4096))
        self.addCleanup(p.stop)
        self.assertEqual(soft_nofile(p.proc.pid), 4096)
        self.assertEqual(p.listening['open_files_limit'], 4096)
        self.assertEqual(p.listening['max_connections'], (4096 - 256) // 2)
        st = self.status(p)
        self.assertEqual(st['connections']['open_files_limit'], 4096)
        self.assertEqual(st['connections']['max'], 1920)
        self.assertGreaterEqual(st['connections']['open'], 0)

    def test_a_soft_limit_already_at_the_hard_one_is_kept(self):
        p = Proxy(self.fake.base_url, workers=1, sections={'admin': {'token': TOKEN}})
        p.start(nofile=(300, 300))
        self.addCleanup(p.stop)
        self.assertEqual(soft_nofile(p.proc.pid), 300)
        self.assertEqual(self.status(p)['connections']['max'], (300 - 256) // 2)

    def test_auto_limit_refuses_past_it_as_an_explicit_one_does(self):
        # a hard limit of 266 leaves (266 - 256) / 2 = 5 connections
        p = Proxy(self.fake.base_url, workers=1,
                  server={'client_timeout_ms': 60000},
                  sections={'admin': {'token': TOKEN}})
        p.start(nofile=(266, 266))
        self.addCleanup(p.stop)
        self.assertEqual(self.status(p)['connections']['max'], 5)
        socks = []
        try:
            for _ in range(5):  # five requests in progress: each holds its place
                s = socket.create_connection(('127.0.0.1', p.port))
                s.sendall(b'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'
                          b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{')
                socks.append(s)
            # each head read: memproxy's end of every one holds no unread byte
            ports = {s.getsockname()[1] for s in socks}
            mh.wait_for(lambda: sorted(rx for lport, rport, _, rx in harness.tcp_queues()
                                       if lport == p.port and rport in ports) == [0] * 5,
                        what='the five heads read')
            r = p.chat(timeout=harness.WAIT)
            self.assertOpenAIError(r, 503, 'overloaded')
        finally:
            for s in socks:
                s.close()

    def test_an_explicit_max_connections_is_kept_and_a_reload_recomputes_auto(self):
        p = Proxy(self.fake.base_url, workers=1, server={'max_connections': 10},
                  sections={'admin': {'token': TOKEN}})
        p.start(nofile=(1024, 2048))
        self.addCleanup(p.stop)
        self.assertEqual(self.status(p)['connections']['max'], 10)
        del p.sections['server']['max_connections']
        p.write_config()
        os.kill(p.proc.pid, signal.SIGHUP)
        self.assertIsNotNone(p.wait_log(lambda o: o.get('msg') == 'configuration reloaded', 10))
        self.assertEqual(self.status(p)['connections']['max'], (2048 - 256) // 2)

    def test_the_descriptor_table_is_sized_at_start_for_max_connections(self):
        # A worker that grows the table while it serves waits an RCU grace
        # period (10-30 ms) with all its streams; sized at start it never does.
        p = Proxy(self.fake.base_url, workers=1, sections={'admin': {'token': TOKEN}})
        p.start(nofile=(512, 4096))
        self.addCleanup(p.stop)
        self.assertEqual(p.listening['descriptors_reserved'], 4096)  # 2 x 1920 + 256
        self.assertGreaterEqual(fd_table_size(p.proc.pid), 4096)

    def test_the_reservation_follows_max_connections_and_grows_on_reload(self):
        p = Proxy(self.fake.base_url, workers=1, server={'max_connections': 500},
                  sections={'admin': {'token': TOKEN}})
        p.start(nofile=(1024, 16384))
        self.addCleanup(p.stop)
        self.assertEqual(p.listening['descriptors_reserved'], 2 * 500 + 256)
        before = fd_table_size(p.proc.pid)
        self.assertGreaterEqual(before, 1256)
        self.assertLess(before, 4096)  # sized for 500, not for the limit
        p.sections['server']['max_connections'] = 3000
        p.write_config()
        os.kill(p.proc.pid, signal.SIGHUP)
        self.assertIsNotNone(p.wait_log(lambda o: o.get('msg') == 'configuration reloaded', 10))
        self.assertGreaterEqual(fd_table_size(p.proc.pid), 2 * 3000 + 256)


TOKEN = 'zqxsecret-capacity-0a1b2c3d4e5f6a7b8c'
Proxy = harness.Proxy

if __name__ == '__main__':
    harness.main('proxy_capacity')
