"""Admin plane: health, readiness, Prometheus metrics."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
from harness import HTTPConn, chat_body, metric_sum, request  # noqa: E402

SERIES = {
    'memproxy_requests_total': 'counter',
    'memproxy_request_duration_seconds': 'histogram',
    'memproxy_upstream_errors_total': 'counter',
    'memproxy_client_errors_total': 'counter',
    'memproxy_client_disconnects_total': 'counter',
    'memproxy_open_connections': 'gauge',
    'memproxy_memory_jobs_total': 'counter',
    'memproxy_memory_queue_depth': 'gauge',
    'memproxy_config_reloads_total': 'counter',
    'memproxy_build_info': 'gauge',
    'memproxy_memory_injected_tokens': 'histogram',
    'memproxy_memory_errors_total': 'counter',
    'memproxy_storage_map_bytes': 'gauge',
    'memproxy_storage_used_bytes': 'gauge',
    'memproxy_storage_readers': 'gauge',
    'memproxy_retention_purged_total': 'counter',
    'memproxy_retention_sweeps_total': 'counter',
    'memproxy_storage_compactions_total': 'counter',
    'memproxy_memory_queue_bytes': 'gauge',
    'memproxy_memory_queue_full_total': 'counter',
    'memproxy_memory_parked_total': 'counter',
    'memproxy_storage_writable': 'gauge',
    'memproxy_memory_reads_total': 'counter',
    'memproxy_memory_queue_max': 'gauge',
    'memproxy_memory_queue_max_bytes': 'gauge',
}


class Admin(harness.ProxyTestCase):
    PROXY_CONFIG = {'workers': 2}

    def test_livez(self):
        r = self.proxy.admin('/livez')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(bytes(r.body), b'ok\n')

    def test_readyz(self):
        r = self.proxy.admin('/readyz')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(bytes(r.body), b'ready\n')

    def test_unknown_admin_path_404(self):
        r = self.proxy.admin('/nope')
        self.assertEqual(r.status, 404, r)
        r = self.proxy.admin('/v1/chat/completions')
        self.assertEqual(r.status, 404, r)

    def test_known_path_wrong_method_405(self):
        # as docs/operations.md says: 405 with Allow for a known path, 404 for others
        for method, path in (('POST', '/livez'), ('DELETE', '/readyz'), ('PUT', '/metrics'),
                             ('POST', '/livez?x=1')):
            with self.subTest(method=method, path=path):
                r = request(self.proxy.admin_port, method, path, [], b'')
                self.assertOpenAIError(r, 405, 'method_not_allowed')
                self.assertEqual(r.header('allow'), 'GET, HEAD')
        self.assertOpenAIError(request(self.proxy.admin_port, 'POST', '/nope', [], b''), 404, 'not_found')
        # the operator's page is served only with an admin token (none here)
        self.assertOpenAIError(self.proxy.admin('/page/'), 404, 'not_found')
        # the listener still serves after them
        self.assertEqual(self.proxy.admin('/livez').status, 200)

    def test_admin_api_absent_without_token(self):
        r = self.proxy.admin('/admin/users', headers=[('Authorization', 'Bearer anything')])
        self.assertEqual(r.status, 404, r)

    def test_admin_endpoints_not_on_data_plane(self):
        for path in ('/metrics', '/livez', '/readyz'):
            with self.subTest(path=path):
                self.assertOpenAIError(self.proxy.request('GET', path), 404, 'not_found')

    def test_admin_keep_alive(self):
        with HTTPConn(self.proxy.admin_port) as c:
            for path in ('/livez', '/readyz', '/metrics', '/livez'):
                r = c.request('GET', path)
                self.assertEqual(r.status, 200, r)

    def test_head_gets_the_head_without_content(self):
        # A body after a HEAD response would be read as the next response.
        with HTTPConn(self.proxy.admin_port) as c:
            r = c.request('HEAD', '/livez')
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header('content-length'), '3')
            self.assertEqual(bytes(r.body), b'')
            r = c.request('HEAD', '/nope')
            self.assertEqual(r.status, 404, r)
            self.assertEqual(bytes(r.body), b'')
            r = c.request('GET', '/readyz')
            self.assertEqual(r.status, 200, r)
            self.assertEqual(bytes(r.body), b'ready\n')

    def test_metrics_format_and_series(self):
        r = self.proxy.admin('/metrics')
        self.assertEqual(r.status, 200, r)
        ct = r.header('content-type') or ''
        self.assertTrue(ct.startswith('text/plain; version=0.0.4'), ct)
        text = bytes(r.body).decode('utf-8')
        self.assertTrue(text.endswith('\n'))
        samples = harness.parse_metrics(text)
        names = {n for n, _, _ in samples}
        for name, kind in SERIES.items():
            with self.subTest(series=name):
                types = [ln.split()[3] for ln in text.splitlines() if ln.startswith('# TYPE %s ' % name)]
                self.assertEqual(types, [kind], 'the TYPE line of %s' % name)
                helps = [ln for ln in text.splitlines() if ln.startswith('# HELP %s ' % name)]
                self.assertEqual(len(helps), 1, 'the HELP line of %s' % name)
                if kind == 'histogram':
                    for suffix in ('_bucket', '_sum', '_count'):
                        self.assertIn(name + suffix, names)
                elif name != 'memproxy_requests_total':   # written once a status is seen
                    self.assertIn(name, names, 'no sample of %s' % name)
        # Every sample belongs to a declared family and carries exactly the
        # documented labels.
        for n, lb, _ in samples:
            base = n
            for suffix in ('_bucket', '_sum', '_count'):
                if n.endswith(suffix) and samples.types.get(n[:-len(suffix)]) == 'histogram':
                    base = n[:-len(suffix)]
            self.assertIn(base, samples.types, 'sample %s without a TYPE line' % n)
            self.assertEqual(sorted(lb), sorted(harness.METRIC_LABELS.get(n, ())), 'labels of %s: %r' % (n, lb))
        build = [(lb, v) for n, lb, v in samples if n == 'memproxy_build_info']
        self.assertEqual(len(build), 1, build)
        self.assertEqual(build[0][0].get('version'), harness.VERSION)
        self.assertEqual(build[0][1], 1.0)
        self.assertEqual(metric_sum(samples, 'memproxy_memory_queue_depth'), 0.0)
        self.assertEqual(metric_sum(samples, 'memproxy_memory_queue_bytes'), 0.0)
        self.assertEqual(metric_sum(samples, 'memproxy_storage_writable'), 1.0)

    def test_histogram_consistent(self):
        for _ in range(3):
            self.proxy.chat()
        samples = self.proxy.metrics()
        buckets = sorted(((float(lb['le']), v) for n, lb, v in samples
                          if n == 'memproxy_request_duration_seconds_bucket' and 'le' in lb),
                         key=lambda x: x[0])
        self.assertGreaterEqual(len(buckets), 3)
        self.assertEqual(buckets[-1][0], float('inf'))
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), 'bucket counts not cumulative')
        count = metric_sum(samples, 'memproxy_request_duration_seconds_count')
        self.assertEqual(buckets[-1][1], count)
        self.assertGreaterEqual(count, 3)
        self.assertGreater(metric_sum(samples, 'memproxy_request_duration_seconds_sum'), 0.0)

    def test_request_counter_exact(self):
        m0 = self.proxy.metrics()
        ok0 = metric_sum(m0, 'memproxy_requests_total', status='200', stream='false')
        st0 = metric_sum(m0, 'memproxy_requests_total', status='200', stream='true')
        nf0 = metric_sum(m0, 'memproxy_requests_total', status='404')
        up0 = metric_sum(m0, 'memproxy_requests_total', status='429')
        all0 = metric_sum(m0, 'memproxy_requests_total')
        cnt0 = metric_sum(m0, 'memproxy_request_duration_seconds_count')
        for _ in range(4):
            self.assertEqual(self.proxy.chat().status, 200)
        for _ in range(3):
            self.assertEqual(self.proxy.chat(stream=True, body=chat_body(stream=True)).status, 200)
        for _ in range(2):
            self.assertEqual(self.proxy.request('GET', '/nope').status, 404)
        self.assertEqual(self.proxy.chat(fake='status=429').status, 429)
        self.proxy.wait_metric('memproxy_requests_total', lambda v: v - all0 >= 10, 5)
        self.proxy.wait_metric('memproxy_request_duration_seconds_count', lambda v: v - cnt0 >= 10, 5)
        time.sleep(0.05)
        m1 = self.proxy.metrics()
        self.assertEqual(metric_sum(m1, 'memproxy_requests_total', status='200', stream='false') - ok0, 4)
        self.assertEqual(metric_sum(m1, 'memproxy_requests_total', status='200', stream='true') - st0, 3)
        self.assertEqual(metric_sum(m1, 'memproxy_requests_total', status='404') - nf0, 2)
        self.assertEqual(metric_sum(m1, 'memproxy_requests_total', status='429') - up0, 1)
        self.assertEqual(metric_sum(m1, 'memproxy_requests_total') - all0, 10)
        self.assertEqual(metric_sum(m1, 'memproxy_request_duration_seconds_count') - cnt0, 10)

    def test_admin_requests_not_counted(self):
        all0 = self.proxy.metric('memproxy_requests_total')
        for _ in range(5):
            self.proxy.admin('/livez')
        self.assertEqual(self.proxy.metric('memproxy_requests_total'), all0)

    def test_open_connections_gauge(self):
        self.assertEqual(self.proxy.wait_metric('memproxy_open_connections', lambda v: v == 0, 3), 0)
        conns = [HTTPConn(self.proxy.port) for _ in range(3)]
        try:
            for c in conns:
                self.assertEqual(c.request('GET', '/v1/models').status, 200)
            self.assertEqual(self.proxy.wait_metric('memproxy_open_connections', lambda v: v == 3, 3), 3)
        finally:
            for c in conns:
                c.close()
        self.assertEqual(self.proxy.wait_metric('memproxy_open_connections', lambda v: v == 0, 3), 0)

    def test_no_user_ids_in_metrics(self):
        for uid in ('metrics-secret-user-1', 'metrics-secret-user-2'):
            self.proxy.chat(headers=[('X-User-Id', uid)])
            self.proxy.chat(body=chat_body(user=uid + '-body'))
        text = self.proxy.metrics_text()
        self.assertNotIn('metrics-secret-user', text)


if __name__ == '__main__':
    harness.main('proxy_admin')
