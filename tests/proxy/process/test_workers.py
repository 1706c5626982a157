"""Workers: several event-loop threads serve many connections correctly.
(Which worker served a connection is not observable from outside.)"""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import HTTPConn, chat_body, fake_n  # noqa: E402

CHAT = '/v1/chat/completions'


class Workers(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.exp = harness.ExpectedBodies(cls.fake)

    def test_listening_line_reports_workers(self):
        self.assertEqual(self.proxy.listening.get('workers'), 2, self.proxy.listening)
        self.assertEqual(self.proxy.listening.get('level'), 'info')
        self.assertIn('time', self.proxy.listening)

    def test_threads_are_named_for_top(self):
        names = []
        for tid in os.listdir('/proc/%d/task' % self.proxy.pid):
            with open('/proc/%d/task/%s/comm' % (self.proxy.pid, tid)) as f:
                names.append(f.read().strip())
        for want in ('mp-worker-0', 'mp-worker-1', 'mp-memory'):
            self.assertEqual(names.count(want), 1, names)

    def test_200_requests_over_many_connections(self):
        """50 connections, 4 requests each (mixed JSON, stream, echo), 10 at a time."""
        self.exp.template('events=3')
        before = self.fake.stats()['requests']
        errors = []
        done = []
        lock = threading.Lock()

        def client(ci):
            try:
                with HTTPConn(self.proxy.port, timeout=30) as c:
                    for j in range(4):
                        k = (ci + j) % 3
                        if k == 0:
                            payload = b'{"conn":%d,"req":%d}' % (ci, j)
                            r = c.request('POST', '/v1/embeddings', [('Content-Type', 'application/json'),
                                                                     ('X-Fake-Behavior', 'echo')], payload)
                            ok = r.status == 200 and bytes(r.body) == payload
                        elif k == 1:
                            r = c.request('POST', CHAT, [('Content-Type', 'application/json'),
                                                         ('X-Fake-Behavior', 'events=3')], chat_body(stream=True))
                            ok = r.status == 200 and r.complete and \
                                bytes(r.body) == self.exp.expected('events=3', fake_n(r))
                        else:
                            r = c.request('POST', CHAT, [('Content-Type', 'application/json')], chat_body())
                            ok = r.status == 200 and r.json()['object'] == 'chat.completion'
                        with lock:
                            (done if ok else errors).append((ci, j, None if ok else repr(r)[:300]))
            except Exception as e:
                with lock:
                    errors.append((ci, -1, repr(e)))

        sem = threading.Semaphore(10)

        def limited(ci):
            with sem:
                client(ci)
        threads = [threading.Thread(target=limited, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(done), 200)
        self.assertEqual(self.fake.stats()['requests'] - before, 200)
        self.assertEqual(self.proxy.wait_metric('memproxy_open_connections', lambda v: v == 0, 5), 0)

    def test_workers_zero_means_one_per_cpu(self):
        p = self.start_proxy(workers=0)
        ncpu = os.cpu_count()
        try:
            aff = len(os.sched_getaffinity(0))
        except AttributeError:
            aff = ncpu
        self.assertIn(p.listening.get('workers'), {ncpu, aff}, p.listening)
        self.assertEqual(p.chat().status, 200)

    def test_single_worker(self):
        p = self.start_proxy(workers=1)
        self.assertEqual(p.listening.get('workers'), 1)
        conns = [HTTPConn(p.port) for _ in range(20)]
        try:
            for c in conns:
                c.send_request('POST', CHAT, [('Content-Type', 'application/json')], chat_body())
            for c in conns:
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
        finally:
            for c in conns:
                c.close()


if __name__ == '__main__':
    harness.main('proxy_workers')
