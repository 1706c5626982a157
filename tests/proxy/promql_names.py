"""What a PromQL expression reads, checked against what memproxy exports
(the observability kit's test, test_observability.py). Not a PromQL parser:
a scanner that is enough to find in an expression the metric names (any
identifier that is not a function, an aggregation or a keyword), their
label matchers and the labels of by/without/on/ignoring/group_* clauses,
and to tell which of them memproxy's /metrics page does not have. Python 3
standard library only."""

import re

# PromQL's functions, aggregations and keywords (Prometheus 2.x), and the
# Grafana template function label_values.
FUNCTIONS = {
    'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min',
    'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor',
    'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_stddev',
    'histogram_stdvar', 'histogram_sum', 'holt_winters', 'hour', 'idelta', 'increase', 'irate',
    'label_join', 'label_replace', 'ln', 'log2', 'log10', 'minute', 'month', 'predict_linear', 'rate',
    'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'time', 'timestamp', 'vector',
    'year', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time',
    'quantile_over_time', 'stddev_over_time', 'stdvar_over_time', 'last_over_time',
    'present_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'cos', 'cosh', 'sin',
    'sinh', 'tan', 'tanh', 'deg', 'rad', 'pi',
}
AGGREGATIONS = {'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
                'bottomk', 'topk', 'quantile'}
GROUPING = {'by', 'without', 'on', 'ignoring', 'group_left', 'group_right'}
KEYWORDS = {'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan'}
GRAFANA = {'label_values'}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {'instance', 'job'}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_IDENT = re.compile(r'[A-Za-z_:][A-Za-z0-9_:]*')
_NUMBER = re.compile(r'(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)')
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*(?:,|$)')
_PLAIN = re.compile(r'^[A-Za-z0-9_+-]+$')   # a regex alternative that is a plain value


class Exported:
    """What a /metrics page offers: the series names a query can select
    (a histogram family as its _bucket, _sum and _count), each with the
    label names and values its samples carry."""

    def __init__(self, text):
        self.types = {}
        self.labels = {}   # series name -> {label: set of values}
        for line in text.splitlines():
            if line.startswith('# TYPE '):
                _, _, name, kind = line.split()
                self.types[name] = kind
                names = [name + s for s in ('_bucket', '_sum', '_count')] if kind == 'histogram' else [name]
                for n in names:
                    self.labels.setdefault(n, {})
                continue
            if not line or line.startswith('#'):
                continue
            m = re.match(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s', line)
            if m is None:
                raise AssertionError('unparsable metrics line %r' % line)
            seen = self.labels.setdefault(m.group(1), {})
            for k, v in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ''):
                seen.setdefault(k, set()).add(v)

    def series(self, name):
        return name in self.labels

    def label_names(self, name):
        return set(self.labels.get(name, {}))

    def label_values(self, name, label):
        return self.labels.get(name, {}).get(label, set())

    def family_of(self, name):
        for s in ('_bucket', '_sum', '_count'):
            if name.endswith(s) and self.types.get(name[:-len(s)]) == 'histogram':
                return name[:-len(s)]
        return name


class Analysis:
    """What one expression reads. problems: what is wrong with it (empty
    when every name, label and plain label value is one memproxy exports)."""

    def __init__(self, expr):
        self.expr = expr
        self.metrics = set()
        self.grouping = set()      # labels of by/without/on/ignoring/group_* clauses
        self.matchers = []         # (metric, label, op, value)
        self.functions = set()
        self.problems = []


def _tokens(expr):
    """(kind, text) tokens: str, ident, num, braces (the inside of {}), range
    (the inside of []), op (one character)."""
    out = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c.isspace():
            i += 1
            continue
        m = _STRING.match(expr, i)
        if m:
            out.append(('str', m.group(0)))
            i = m.end()
            continue
        if c in '{[':
            close = '}' if c == '{' else ']'
            j = i + 1
            while j < len(expr) and expr[j] != close:
                s = _STRING.match(expr, j)
                j = s.end() if s else j + 1
            if j >= len(expr):
                raise ValueError('unclosed %r in %r' % (c, expr))
            out.append(('braces' if c == '{' else 'range', expr[i + 1:j]))
            i = j + 1
            continue
        m = _IDENT.match(expr, i)
        if m:
            out.append(('ident', m.group(0)))
            i = m.end()
            continue
        m = _NUMBER.match(expr, i)
        if m and m.end() > i:
            out.append(('num', m.group(0)))
            i = m.end()
            continue
        out.append(('op', c))
        i += 1
    return out


def _check_matchers(a, exported, metric, inside):
    pos = 0
    inside = inside.strip()
    while pos < len(inside):
        m = _MATCHER.match(inside, pos)
        if m is None:
            a.problems.append('%s{%s}: unparsable label matchers' % (metric, inside))
            return
        pos = m.end()
        label, op, value = m.group(1), m.group(2), m.group(3)[1:-1]
        a.matchers.append((metric, label, op, value))
        if label in TARGET_LABELS:
            continue
        if label not in exported.label_names(metric):
            a.problems.append('%s has no label %r (it has %s)'
                              % (metric, label, sorted(exported.label_names(metric)) or 'none'))
            continue
        if '$' in value:           # a Grafana variable
            continue
        have = exported.label_values(metric, label)
        alternatives = value.split('|') if op in ('=~', '!~') else [value]
        for alt in alternatives:
            if (op in ('=', '!=') or _PLAIN.match(alt)) and alt not in have:
                a.problems.append('%s{%s%s"%s"}: no series has %s="%s" (values: %s)'
                                  % (metric, label, op, value, label, alt, sorted(have)))


def analyse(expr, exported):
    """The Analysis of expr (PromQL, or a Grafana label_values(metric, label)
    query) against exported (an Exported)."""
    a = Analysis(expr)
    try:
        toks = _tokens(expr)
    except ValueError as e:
        a.problems.append(str(e))
        return a
    depth = 0
    for i, (kind, text) in enumerate(toks):
        if kind == 'op' and text == '(':
            depth += 1
        elif kind == 'op' and text == ')':
            depth -= 1
            if depth < 0:
                a.problems.append('unbalanced ) in %r' % expr)
                return a
    if depth != 0:
        a.problems.append('unbalanced ( in %r' % expr)
        return a
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else (None, None)
        if kind == 'braces':
            a.problems.append('label matchers without a metric name: {%s}' % text)
        if kind != 'ident':
            i += 1
            continue
        if text in GROUPING:
            if nxt != ('op', '('):
                if text not in ('group_left', 'group_right'):   # their list is optional
                    a.problems.append('%s without a label list' % text)
                i += 1
                continue
            j = i + 2
            while j < len(toks) and toks[j] != ('op', ')'):
                if toks[j][0] == 'ident':
                    a.grouping.add(toks[j][1])
                elif toks[j] != ('op', ','):
                    a.problems.append('%s (...): unexpected %r' % (text, toks[j][1]))
                j += 1
            i = j + 1
            continue
        if text in FUNCTIONS or text in AGGREGATIONS or text in GRAFANA:
            if nxt != ('op', '(') and not (text in AGGREGATIONS and nxt[0] == 'ident' and nxt[1] in GROUPING):
                a.problems.append('%s is a function: it needs (...)' % text)
            a.functions.add(text)
            if text == 'label_values':
                i = _label_values(a, exported, toks, i)
                continue
            i += 1
            continue
        if text in KEYWORDS:
            i += 1
            continue
        if nxt == ('op', '('):
            a.problems.append('unknown function %r' % text)
            i += 1
            continue
        # a metric name
        a.metrics.add(text)
        if not exported.series(text):
            if exported.types.get(text) == 'histogram':
                a.problems.append('%s is a histogram: select its _bucket, _sum or _count' % text)
            else:
                a.problems.append('memproxy exports no metric %r' % text)
        elif nxt[0] == 'braces':
            _check_matchers(a, exported, text, nxt[1])
        i += 2 if nxt[0] == 'braces' else 1
    _check_grouping(a, exported)
    return a


def _label_values(a, exported, toks, i):
    """label_values(metric, label) or label_values(label): returns the index
    after its closing parenthesis."""
    j = i + 2
    args = []
    while j < len(toks) and toks[j] != ('op', ')'):
        if toks[j][0] in ('ident', 'braces'):
            args.append(toks[j])
        j += 1
    idents = [t for k, t in args if k == 'ident']
    if len(idents) == 2:
        metric, label = idents
        a.metrics.add(metric)
        if not exported.series(metric):
            a.problems.append('memproxy exports no metric %r' % metric)
        elif label not in exported.label_names(metric) | TARGET_LABELS:
            a.problems.append('%s has no label %r' % (metric, label))
    else:
        a.problems.append('label_values needs (metric, label): %r' % a.expr)
    return j + 1


def _check_grouping(a, exported):
    known = set(TARGET_LABELS)
    for m in a.metrics:
        known |= exported.label_names(m)
    for label in sorted(a.grouping - known):
        a.problems.append('grouping by %r, a label none of %s has' % (label, sorted(a.metrics)))
