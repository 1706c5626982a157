"""The observability kit (issue 10, requirement 6): the Grafana dashboard
conf/grafana/memproxy.json, the Prometheus rules conf/prometheus/alerts.yaml
and conf/prometheus/prometheus.yml (which loads them) read only metrics,
labels and label values that a running memproxy exports (its /metrics page
after a little traffic), the dashboard has a panel for each topic and the
rules have the four alerts; and the metrics added for them:
memproxy_memory_reads_total{result} (the memory hit rate) and the queue
limits memproxy_memory_queue_max and memproxy_memory_queue_max_bytes.
Python 3 standard library and python3-yaml (promtool where installed)."""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness  # noqa: E402
import memhelpers as mh  # noqa: E402
from promql_names import AGGREGATIONS, TARGET_LABELS, Exported, analyse  # noqa: E402

try:
    import yaml
except ImportError:          # scripts/install-deps.sh --test installs python3-yaml
    yaml = None

DASHBOARD = os.path.join(harness.SOURCE_ROOT, 'conf', 'grafana', 'memproxy.json')
ALERTS = os.path.join(harness.SOURCE_ROOT, 'conf', 'prometheus', 'alerts.yaml')

# The alerts the kit promises, and series each must read.
ALERT_NEEDS = {
    'MemproxyUpstreamErrorRate': {'memproxy_upstream_errors_total', 'memproxy_requests_total'},
    'MemproxyMemoryQueueNearFull': {'memproxy_memory_queue_depth', 'memproxy_memory_queue_max'},
    'MemproxyStoreNearMapCap': {'memproxy_storage_used_bytes', 'memproxy_storage_map_max_bytes'},
    'MemproxyMemoryJobsFailing': {'memproxy_memory_jobs_total'},
}


def _has(a, metric, grouping=(), matcher=None):
    """a reads metric, groups by every label of grouping, and (matcher:
    (label, value)) selects it with a matcher whose value names value."""
    if metric not in a.metrics or not set(grouping) <= a.grouping:
        return False
    if matcher is None:
        return True
    label, value = matcher
    return any(m == metric and lb == label and value in re.split(r'\|', v) for m, lb, _, v in a.matchers)


def _quantiles(exprs, bucket):
    return {float(q) for e in exprs for q in re.findall(r'histogram_quantile\(\s*([0-9.]+)\s*,', e)
            if bucket in e}


# Topic: what a panel about it reads (its targets' analyses and expressions).
TOPICS = {
    'request rate by status': lambda an, ex: any(_has(a, 'memproxy_requests_total', ['status']) and 'rate' in a.functions
                                                 for a in an),
    'latency percentiles p50 p95 p99': lambda an, ex: {0.5, 0.95, 0.99} <= _quantiles(
        ex, 'memproxy_request_duration_seconds_bucket'),
    'upstream errors by kind': lambda an, ex: any(_has(a, 'memproxy_upstream_errors_total', ['kind']) for a in an),
    'memory hit rate': lambda an, ex: any(_has(a, 'memproxy_memory_reads_total', (), ('result', 'hit'))
                                          and '/' in a.expr for a in an),
    'injected tokens': lambda an, ex: any(m.startswith('memproxy_memory_injected_tokens_') for a in an for m in a.metrics),
    'queue depth against queue_max': lambda an, ex: any(_has(a, 'memproxy_memory_queue_depth') for a in an) and any(
        _has(a, 'memproxy_memory_queue_max') for a in an),
    'job outcomes by kind and result': lambda an, ex: any(_has(a, 'memproxy_memory_jobs_total', ['kind', 'result'])
                                                          for a in an),
    'store usage against its cap': lambda an, ex: any(_has(a, 'memproxy_storage_used_bytes') for a in an) and any(
        _has(a, 'memproxy_storage_map_max_bytes') for a in an),
}


def dashboard_panels(dash):
    """Every panel, rows' nested panels included."""
    out = []
    for p in dash.get('panels', []):
        out.append(p)
        out.extend(p.get('panels', []))
    return out


def dashboard_problems(dash, exported):
    """What is wrong with a dashboard (a list of sentences)."""
    problems = []
    if not isinstance(dash.get('schemaVersion'), int) or not 36 <= dash['schemaVersion'] <= 41:
        problems.append('schemaVersion %r: not one Grafana 10/11 reads as is' % dash.get('schemaVersion'))
    variables = {v.get('name'): v for v in dash.get('templating', {}).get('list', [])}
    ds = variables.get('DS_PROMETHEUS')
    if ds is None or ds.get('type') != 'datasource' or ds.get('query') != 'prometheus':
        problems.append('no datasource variable DS_PROMETHEUS of type prometheus')
    # no data source named by uid: every reference is the variable
    for path, ref in _datasource_refs(dash):
        uid = ref.get('uid') if isinstance(ref, dict) else ref
        if isinstance(ref, dict) and ref.get('type') == 'grafana':
            continue           # the built-in annotations
        if uid not in ('${DS_PROMETHEUS}', '$DS_PROMETHEUS'):
            problems.append('%s: data source %r is not ${DS_PROMETHEUS}' % (path, ref))
    for name, v in variables.items():
        if v.get('type') == 'query':
            q = v.get('query')
            q = q.get('query') if isinstance(q, dict) else q
            for p in analyse(q or '', exported).problems:
                problems.append('variable %s: %s' % (name, p))
    ids = []
    for p in dashboard_panels(dash):
        ids.append(p.get('id'))
        title = p.get('title') or '(untitled)'
        if not p.get('title'):
            problems.append('a panel without a title')
        if 'gridPos' not in p:
            problems.append('panel %r has no gridPos' % title)
        if p.get('type') != 'row' and not p.get('targets'):
            problems.append('panel %r has no query' % title)
        for t in p.get('targets', []):
            for prob in analyse(t.get('expr', ''), exported).problems:
                problems.append('panel %r, query %s: %s' % (title, t.get('refId'), prob))
    if len(ids) != len(set(ids)):
        problems.append('panel ids are not unique: %r' % ids)
    for topic, covered in TOPICS.items():
        if not any(covered([analyse(t.get('expr', ''), exported) for t in p.get('targets', [])],
                           [t.get('expr', '') for t in p.get('targets', [])])
                   for p in dashboard_panels(dash)):
            problems.append('no panel for %s' % topic)
    return problems


def _datasource_refs(node, path='dashboard'):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == 'datasource':
                yield path, v
            else:
                yield from _datasource_refs(v, '%s.%s' % (path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _datasource_refs(v, '%s[%d]' % (path, i))


_DURATION = re.compile(r'^([0-9]+(ms|s|m|h|d|w|y))+$')
RULE_KEYS = {'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'}


def alerts_problems(rules_doc, exported):
    """What is wrong with a Prometheus rules document (a list of sentences)."""
    problems = []
    if not isinstance(rules_doc, dict) or set(rules_doc) != {'groups'} or not isinstance(rules_doc['groups'], list):
        return ['not a rules file: a mapping with only "groups", a list']
    seen = {}
    for g in rules_doc['groups']:
        if not isinstance(g, dict) or not isinstance(g.get('name'), str) or not isinstance(g.get('rules'), list):
            problems.append('a group without a name or rules: %r' % (g,))
            continue
        for r in g['rules']:
            name = r.get('alert') if isinstance(r, dict) else None
            if not isinstance(name, str):
                problems.append('group %s: a rule that is not an alert: %r' % (g['name'], r))
                continue
            if name in seen:
                problems.append('alert %s twice' % name)
            if set(r) - RULE_KEYS:
                problems.append('alert %s: unknown keys %s' % (name, sorted(set(r) - RULE_KEYS)))
            if not _DURATION.match(str(r.get('for', ''))):
                problems.append('alert %s: for %r is not a duration' % (name, r.get('for')))
            labels = r.get('labels') or {}
            if labels.get('severity') not in ('critical', 'warning', 'info'):
                problems.append('alert %s: severity %r' % (name, labels.get('severity')))
            notes = r.get('annotations') or {}
            for k in ('summary', 'description'):
                if not isinstance(notes.get(k), str) or not notes[k].strip():
                    problems.append('alert %s: no annotation %s' % (name, k))
            a = analyse(str(r.get('expr', '')), exported)
            seen[name] = a
            problems += ['alert %s: %s' % (name, p) for p in a.problems]
            if not a.metrics:
                problems.append('alert %s: its expr reads no metric' % name)
            for text in notes.values():
                if str(text).count('{{') != str(text).count('}}'):
                    problems.append('alert %s: unbalanced {{ }} in %r' % (name, text))
                for label in re.findall(r'\$labels\.([A-Za-z_][A-Za-z0-9_]*)', str(text)):
                    if label not in kept_labels(a, exported):
                        problems.append('alert %s: annotation reads $labels.%s, which its expr drops'
                                        % (name, label))
    for name, needs in ALERT_NEEDS.items():
        if name not in seen:
            problems.append('no alert %s' % name)
        elif not needs <= seen[name].metrics:
            problems.append('alert %s reads %s, not %s' % (name, sorted(seen[name].metrics), sorted(needs)))
    return problems


def kept_labels(a, exported):
    """The labels an alert's series may carry: those it groups by when it
    aggregates, else those of the series it reads."""
    if a.functions & AGGREGATIONS:
        return a.grouping
    return set().union(TARGET_LABELS, *[exported.label_names(m) for m in a.metrics])


def load_dashboard():
    with open(DASHBOARD, encoding='utf-8') as f:
        return json.load(f)


def load_alerts():
    with open(ALERTS, encoding='utf-8') as f:
        return yaml.safe_load(f)


class Kit(harness.ProxyTestCase):
    """One memproxy, a little traffic so the labelled series are there,
    then the dashboard and the alerts against its /metrics page."""

    PROXY_CONFIG = {'workers': 2}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        p = cls.proxy
        user = mh.uid('kit')
        r = p.request('PUT', '/v1/memory/entities/name', [('X-User-Id', user), ('Content-Type', 'application/json')],
                      b'{"value":"Kit"}')
        assert r.status == 200, r
        mh.send(p, user, 'hello', x_memory='read')                  # a hit
        mh.send(p, mh.uid('kit-new'), 'hello', x_memory='read')     # a miss
        mh.send(p, user, 'an error status', fake='status=503', x_memory='off')
        mh.send(p, None, 'a reset', fake='reset_before_headers')   # an upstream error
        mh.send(p, user, 'a stream', stream=True)
        cls.text = p.metrics_text()
        cls.exported = Exported(cls.text)

    def test_traffic_made_the_labelled_series(self):
        for name, label in (('memproxy_requests_total', 'status'), ('memproxy_upstream_errors_total', 'kind'),
                            ('memproxy_memory_jobs_total', 'result'), ('memproxy_memory_reads_total', 'result')):
            self.assertTrue(self.exported.label_values(name, label), '%s has no %s series' % (name, label))
        self.assertIn('503', self.exported.label_values('memproxy_requests_total', 'status'))

    def test_dashboard_reads_only_exported_metrics_and_covers_every_topic(self):
        self.assertEqual(dashboard_problems(load_dashboard(), self.exported), [])

    def test_dashboard_is_importable_json(self):
        dash = load_dashboard()
        self.assertIsNone(dash.get('id'), 'an exported dashboard carries no database id')
        self.assertTrue(dash.get('uid') and dash.get('title'))
        with open(DASHBOARD, encoding='utf-8') as f:
            text = f.read()
        # no data source uid from someone's Grafana, nor a hard-coded name
        for ref in re.findall(r'"uid":\s*"([^"]*)"', text):
            self.assertTrue(ref.startswith('$') or ref in ('-- Grafana --', dash['uid']),
                            'hard-coded uid %r' % ref)

    def test_alerts_read_only_exported_metrics_and_has_the_four_alerts(self):
        self.assertIsNotNone(yaml, 'python3-yaml is missing (scripts/install-deps.sh --test)')
        self.assertEqual(alerts_problems(load_alerts(), self.exported), [])

    def test_prometheus_config_scrapes_the_admin_listener_and_loads_the_rules(self):
        self.assertIsNotNone(yaml, 'python3-yaml is missing (scripts/install-deps.sh --test)')
        here = os.path.dirname(ALERTS)
        with open(os.path.join(here, 'prometheus.yml'), encoding='utf-8') as f:
            conf = yaml.safe_load(f)
        for rules in conf['rule_files']:
            self.assertTrue(os.path.exists(os.path.join(here, rules)), rules)
        self.assertIn('alerts.yaml', conf['rule_files'])
        with open(os.path.join(harness.SOURCE_ROOT, 'conf', 'memproxy.ini'), encoding='utf-8') as f:
            admin = re.search(r'^admin_listen\s*=\s*(\S+)', f.read(), re.M).group(1)
        jobs = {j['job_name']: j for j in conf['scrape_configs']}
        self.assertEqual(jobs['memproxy'].get('metrics_path', '/metrics'), '/metrics')
        self.assertEqual([t for sc in jobs['memproxy']['static_configs'] for t in sc['targets']], [admin])

    def test_alerts_pass_promtool_where_it_is_installed(self):
        # promtool (Debian: prometheus; or PROMTOOL=path) is not a CI
        # dependency: the checks above run everywhere, this one where it is.
        # tests/proxy/admin/alerts_test.yaml fires each alert on synthetic series.
        promtool = os.environ.get('PROMTOOL') or shutil.which('promtool')
        if promtool is None:
            return
        here = os.path.dirname(ALERTS)
        for args in (['check', 'rules', ALERTS], ['check', 'config', os.path.join(here, 'prometheus.yml')],
                     ['test', 'rules', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'alerts_test.yaml')]):
            r = subprocess.run([promtool] + args, capture_output=True, text=True, timeout=60, cwd=here)
            self.assertEqual(r.returncode, 0, '%s: %s%s' % (' '.join(args), r.stdout, r.stderr))

    # The checks themselves can fail: each mistake below is reported.

    def assertReported(self, expr, fragment):
        problems = analyse(expr, self.exported).problems
        self.assertTrue(any(fragment in p for p in problems), '%r: %r not among %r' % (expr, fragment, problems))

    def test_self_check_names(self):
        self.assertReported('sum(rate(memproxy_request_total[5m]))', "no metric 'memproxy_request_total'")
        self.assertReported('rate(memprxy_requests_total[5m])', "no metric 'memprxy_requests_total'")
        self.assertReported('memproxy_request_duration_seconds', 'is a histogram')
        self.assertReported('histogram_quantil(0.9, memproxy_request_duration_seconds_bucket)', 'unknown function')
        self.assertReported('label_values(memproxy_buildinfo, instance)', "no metric 'memproxy_buildinfo'")

    def test_self_check_labels_and_values(self):
        self.assertReported('sum by (knid) (rate(memproxy_upstream_errors_total[5m]))', "grouping by 'knid'")
        self.assertReported('memproxy_memory_jobs_total{reslt="failed"}', "no label 'reslt'")
        self.assertReported('memproxy_memory_jobs_total{result="fail"}', 'result="fail"')
        self.assertReported('memproxy_memory_jobs_total{result=~"ok|faild"}', 'result="faild"')
        self.assertReported('memproxy_memory_reads_total{result="hit" kind="x"}', 'unparsable')
        self.assertReported('sum(rate(memproxy_requests_total[5m])', 'unbalanced')

    def test_self_check_a_valid_expression_passes(self):
        a = analyse('sum by (kind) (rate(memproxy_upstream_errors_total{kind="reset",instance=~"$instance"}'
                    '[$__rate_interval])) / on (instance) group_left memproxy_open_connections > 0', self.exported)
        self.assertEqual(a.problems, [])
        self.assertEqual(a.metrics, {'memproxy_upstream_errors_total', 'memproxy_open_connections'})

    def test_self_check_dashboard_topics_and_datasource(self):
        dash = load_dashboard()
        hit = [p for p in dash['panels']
               if any('memproxy_memory_reads_total{result="hit"' in t['expr'] for t in p.get('targets', []))]
        self.assertTrue(hit)
        dash['panels'] = [p for p in dash['panels'] if p not in hit]
        dash['panels'][1]['datasource'] = {'type': 'prometheus', 'uid': 'P1809F7CD0C75ACF3'}
        problems = dashboard_problems(dash, self.exported)
        self.assertIn('no panel for memory hit rate', problems)
        self.assertTrue(any('P1809F7CD0C75ACF3' in p for p in problems), problems)

    def test_self_check_alerts(self):
        self.assertIsNotNone(yaml, 'python3-yaml is missing (scripts/install-deps.sh --test)')
        doc = load_alerts()
        rules = doc['groups'][0]['rules']
        doc['groups'][0]['rules'] = [r for r in rules if r['alert'] != 'MemproxyStoreNearMapCap']
        doc['groups'][0]['rules'][0] = dict(doc['groups'][0]['rules'][0], expr='sum(memproxy_upstream_error_total) > 0',
                                            **{'for': '5 minutes'})
        problems = alerts_problems(doc, self.exported)
        self.assertIn('no alert MemproxyStoreNearMapCap', problems)
        self.assertTrue(any("no metric 'memproxy_upstream_error_total'" in p for p in problems), problems)
        self.assertTrue(any('is not a duration' in p for p in problems), problems)
        self.assertTrue(any('$labels.instance' in p for p in problems), problems)


class MemoryReads(mh.MemCase):
    """memproxy_memory_reads_total{result}: one count per chat request that
    reads memory (a user id, a mode and X-Memory that allow reading): hit
    when memory was injected, miss when there was none to inject, error
    when the read failed; requests that read nothing count nothing."""

    PROXY_CONFIG = {'workers': 2, 'memory': {'mode': 'hybrid'}}

    def reads(self, p):
        return {r: p.metric('memproxy_memory_reads_total', result=r) for r in ('hit', 'miss', 'error')}

    def assertReads(self, p, before, **delta):
        want = {r: delta.get(r, 0) for r in ('hit', 'miss', 'error')}
        now = self.reads(p)
        self.assertEqual({r: now[r] - before[r] for r in want}, want)

    def seeded(self, p):
        user = mh.uid('reads')
        r = p.request('PUT', '/v1/memory/entities/name', [('X-User-Id', user), ('Content-Type', 'application/json')],
                      b'{"value":"Rea"}')
        self.assertEqual(r.status, 200, r)
        return user

    def test_hit_and_miss(self):
        p = self.proxy
        user = self.seeded(p)
        before, tokens = self.reads(p), p.metric('memproxy_memory_injected_tokens_count')
        s = mh.send(p, mh.uid('nobody'), 'who am I?', x_memory='read')
        self.assertOK(s)
        self.assertTransparent(s)
        self.assertReads(p, before, miss=1)
        s = mh.send(p, user, 'who am I?', x_memory='read')
        self.assertOK(s)
        self.injection(s)
        self.assertReads(p, before, miss=1, hit=1)
        self.assertEqual(p.metric('memproxy_memory_injected_tokens_count') - tokens, 1)
        s = mh.send(p, user, 'and now?', x_memory='read', stream=True)
        self.assertOK(s)
        self.assertReads(p, before, miss=1, hit=2)

    def test_requests_that_read_no_memory_count_nothing(self):
        p = self.proxy
        user = self.seeded(p)
        before = self.reads(p)
        self.assertOK(mh.send(p, None, 'no user'))
        self.assertOK(mh.send(p, user, 'memory off', x_memory='off'))
        self.assertOK(mh.send(p, user, 'write only', x_memory='write'))
        s = mh.send(p, user, None, body=b'{"model":"m","messages":"not a list"}', x_memory='read')
        self.assertEqual(s.header('x-memory-error'), 'invalid_json', s.resp.headers)
        r = p.request('GET', '/v1/models', [('X-User-Id', user)])
        self.assertEqual(r.status, 200, r)
        mh.wait_idle(p)
        self.assertReads(p, before)

    def test_a_failed_read_is_an_error(self):
        # the store cannot be opened any more (as in test_durability's
        # StorageUnavailable: a compaction whose swap fails)
        data = self.storage_dir()
        token = 'admintoken-reads-6c1e9a4f2b7d0358'
        p = self.start_proxy(workers=1, memory={'mode': 'buffer'}, storage={'path': data},
                             sections={'admin': {'token': token}})
        user = self.seeded(p)
        os.rename(os.path.join(data, 'data.mdb'), os.path.join(data, 'moved.mdb'))
        os.mkdir(os.path.join(data, 'data.mdb'))
        r = p.admin('/admin/compact', method='POST', headers=[('Authorization', 'Bearer ' + token)], timeout=30)
        self.assertEqual(r.status, 500, r)
        before = self.reads(p)
        s = mh.send(p, user, 'after', x_memory='read')
        self.assertEqual(s.status, 200, s.resp)
        self.assertEqual(s.header('x-memory-error'), 'storage_unavailable')
        self.assertReads(p, before, error=1)


class QueueLimits(harness.ProxyTestCase):
    """memproxy_memory_queue_max and memproxy_memory_queue_max_bytes are
    [memory] queue_max and queue_max_bytes, and follow a SIGHUP reload; the
    store's cap memproxy_storage_map_max_bytes is 64 x map_size_mb."""

    PROXY_CONFIG = {'workers': 1, 'memory': {'queue_max': 1234, 'queue_max_bytes': 131072},
                    'storage': {'map_size_mb': 2}}

    def test_limits_exported(self):
        p = self.proxy
        self.assertEqual(p.metric('memproxy_memory_queue_max'), 1234)
        self.assertEqual(p.metric('memproxy_memory_queue_max_bytes'), 131072)
        self.assertEqual(p.metric('memproxy_storage_map_max_bytes'), 64 * 2 * 1024 * 1024)
        self.assertLessEqual(p.metric('memproxy_storage_used_bytes'), p.metric('memproxy_storage_map_bytes'))

    def test_limits_follow_a_reload(self):
        import signal
        p = self.start_proxy(workers=1, memory={'queue_max': 10})
        self.assertEqual(p.metric('memproxy_memory_queue_max'), 10)
        p.sections['memory'].update({'queue_max': 20, 'queue_max_bytes': 65536})
        p.write_config()
        before = p.metric('memproxy_config_reloads_total', result='ok')
        p.signal(signal.SIGHUP)
        p.wait_metric('memproxy_config_reloads_total', lambda x: x > before, 5, result='ok')
        self.assertEqual(p.wait_metric('memproxy_memory_queue_max', lambda x: x == 20), 20)
        self.assertEqual(p.wait_metric('memproxy_memory_queue_max_bytes', lambda x: x == 65536), 65536)



def _sse_data(raw):
    """The JSON objects of an SSE body's data lines ([DONE] left out)."""
    out = []
    for line in bytes(raw).decode().splitlines():
        if line.startswith('data: ') and line != 'data: [DONE]':
            out.append(json.loads(line[6:]))
    return out


class UpstreamUsage(harness.ProxyTestCase):
    """Issue 32, requirement 6: memproxy reads the upstream's usage on the
    three chat APIs, JSON and streams, for requests that read and record no
    memory too, and its memproxy_upstream_*_tokens_total{api,model} are the
    sums of what the fake reported; a full-history client sees the cached
    share rise; the model label is bounded."""

    SYSTEM = 'You answer in one line. ' * 200  # ~1,200 tokens: past the cache's minimum
    BP = {'type': 'ephemeral'}

    def setUp(self):
        self.p = self.start_proxy(workers=1, sections={'anthropic': {
            'base_url': self.fake.base_url[:-len('/v1')]}})
        harness.request(self.fake.port, 'POST', '/_fake/cache')

    def send(self, api, body, stream, user=None):
        """One request (for user: its turn recorded); returns the usage the
        client saw, as memproxy counts it (input, cached, creation, output)."""
        h = [('Content-Type', 'application/json')] + ([('X-User-Id', user)] if user else [])
        path = {'chat_completions': '/v1/chat/completions', 'responses': '/v1/responses',
                'messages': '/v1/messages'}[api]
        if api == 'messages':
            h += [('x-api-key', 'sk-ant-test'), ('anthropic-version', '2023-06-01')]
        if stream:
            body = dict(body, stream=True)
            if api == 'chat_completions':
                body['stream_options'] = {'include_usage': True}
        r = self.p.request('POST', path, h, json.dumps(body).encode())
        self.assertEqual(r.status, 200, r)
        if user is not None:  # memory keeps the reply to record it: its copy is read
            self.assertEqual((r.header('X-Memory-Mode'), r.header('X-Memory-Error')), ('buffer', None))
        if not stream:
            u = json.loads(bytes(r.body))['usage']
        elif api == 'chat_completions':
            u = [d for d in _sse_data(r.body) if d.get('usage')][-1]['usage']
        elif api == 'responses':
            u = [d for d in _sse_data(r.body) if d['type'] == 'response.completed'][0]['response']['usage']
        else:
            evs = _sse_data(r.body)
            u = dict([d for d in evs if d['type'] == 'message_start'][0]['message']['usage'],
                     **[d for d in evs if d['type'] == 'message_delta'][0]['usage'])
        if api == 'chat_completions':
            return (u['prompt_tokens'], u['prompt_tokens_details']['cached_tokens'], 0,
                    u['completion_tokens'])
        if api == 'responses':
            return (u['input_tokens'], u['input_tokens_details']['cached_tokens'], 0,
                    u['output_tokens'])
        read, made = u['cache_read_input_tokens'], u['cache_creation_input_tokens']
        return (u['input_tokens'] + read + made, read, made, u['output_tokens'])

    def conversation(self, api, model, turns):
        """A full-history client: each turn resends the whole conversation."""
        if api == 'messages':
            body = {'model': model, 'max_tokens': 16,
                    'system': [{'type': 'text', 'text': self.SYSTEM, 'cache_control': self.BP}]}
        elif api == 'responses':
            body = {'model': model, 'instructions': self.SYSTEM}
        else:
            body = {'model': model}
        history = [] if api != 'chat_completions' else [{'role': 'system', 'content': self.SYSTEM}]
        for i in range(turns):
            q = 'question %d: %s' % (i, 'why ' * 150)
            if api == 'messages':
                for m in history:
                    m['content'][0].pop('cache_control', None)
                history.append({'role': 'user', 'content': [
                    {'type': 'text', 'text': q, 'cache_control': self.BP}]})
            else:
                history.append({'role': 'user', 'content': q})
            key = 'input' if api == 'responses' else 'messages'
            yield dict(body, **{key: history})
            text = [{'type': 'text', 'text': 'answer %d' % i}] if api == 'messages' else 'answer %d' % i
            history.append({'role': 'assistant', 'content': text})

    def metrics(self, api, model):
        return tuple(self.p.metric('memproxy_upstream_%s_tokens_total' % k, api=api, model=model)
                     for k in ('input', 'cached_input', 'cache_creation', 'output'))

    def test_full_history_client_cached_share_rises_and_metrics_are_the_sums(self):
        for api in ('chat_completions', 'responses', 'messages'):
            for stream in (False, True):
                model = '%s-%s' % (api, 'stream' if stream else 'json')
                got = [self.send(api, b, stream) for b in self.conversation(api, model, 3)]
                cached = [g[1] for g in got]
                self.assertEqual(cached[0], 0, (api, stream, got))
                self.assertGreater(cached[1], 0, (api, stream, got))
                self.assertGreater(cached[2], cached[1], (api, stream, got))
                if api == 'messages':
                    self.assertGreater(got[0][2], 0, got)  # the first turn writes
                want = tuple(sum(g[k] for g in got) for k in range(4))
                self.assertEqual(self.metrics(api, model), want, (api, stream))
                self.assertEqual(self.p.metric('memproxy_upstream_replies_total', api=api,
                                               usage='reported'), 3 * (1 + stream))

    def test_a_recorded_json_turns_usage_is_read_from_memorys_copy(self):
        self.p.stop()
        self.p = self.start_proxy(workers=1, memory={'mode': 'buffer'}, sections={'anthropic': {
            'base_url': self.fake.base_url[:-len('/v1')]}})
        for api in ('chat_completions', 'responses', 'messages'):
            model = api + '-recorded'
            got = [self.send(api, b, False, user='u-' + api) for b in self.conversation(api, model, 2)]
            self.assertGreater(got[1][1], 0, got)
            self.assertEqual(self.metrics(api, model), tuple(sum(g[k] for g in got) for k in range(4)))

    def test_replies_without_usage_and_the_model_label_bound(self):
        msgs = [{'role': 'user', 'content': 'hi'}]
        # a chat stream without include_usage carries none
        r = self.p.request('POST', '/v1/chat/completions', [('Content-Type', 'application/json')],
                           json.dumps({'model': 'm', 'messages': msgs, 'stream': True}).encode())
        self.assertEqual(r.status, 200)
        self.assertEqual(self.p.metric('memproxy_upstream_replies_total', api='chat_completions',
                                       usage='missing'), 1)
        for i in range(70):
            self.send('chat_completions', {'model': 'model-%02d' % i, 'messages': msgs}, False)
        labels = {lb['model'] for name, lb, _ in self.p.metrics()
                  if name == 'memproxy_upstream_input_tokens_total'}
        self.assertEqual(len(labels), 65, sorted(labels))
        self.assertIn('other', labels)
        self.assertNotIn('model-69', labels)
        per = self.metrics('chat_completions', 'model-00')[0]
        self.assertEqual(self.metrics('chat_completions', 'other')[0], 6 * per)


if __name__ == '__main__':
    harness.main('observability')
