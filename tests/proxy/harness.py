"""Integration test harness for memproxy (issue 2).

Starts the fake upstream (tests/fake_upstream) and memproxy as real processes,
talks to them over raw sockets, and checks on teardown that memproxy exits 0 on
SIGTERM without any sanitizer report. Python 3 standard library only.

Binaries come from the environment (set by tests/proxy/meson.build):
  MEMPROXY_BIN       path of the memproxy executable
  FAKE_UPSTREAM_BIN  path of the fake upstream executable
  MEMPROXY_VERSION   the project version (for --version and build_info)
  MEMPROXY_SOURCE_ROOT  the source tree (for conf/memproxy.ini)
  MEMPROXY_TEST_LOG_DIR optional: keep every memproxy's stderr (and the output
                     of runs that are expected to exit) in a file there, for
                     tests/proxy/scan_logs.py
"""

import bisect
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get('MEMPROXY_SOURCE_ROOT', os.path.normpath(os.path.join(HERE, '..', '..')))
# [upstream] client of every memproxy a test starts, unless the test sets one.
UPSTREAM_CLIENT = os.environ.get('MPTEST_UPSTREAM_CLIENT', '')
MEMPROXY_BIN = os.environ.get('MEMPROXY_BIN', os.path.join(SOURCE_ROOT, 'build', 'proxy', 'memproxy'))
FAKE_UPSTREAM_BIN = os.environ.get('FAKE_UPSTREAM_BIN',
                                   os.path.join(SOURCE_ROOT, 'build', 'tests', 'fake_upstream', 'fake_upstream'))
VERSION = os.environ.get('MEMPROXY_VERSION', '')

SANITIZER_MARKERS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer',
                     'UndefinedBehaviorSanitizer')

# MEMPROXY_TEST_LOG_DIR: where memproxy's logs are kept (None: nowhere).
LOG_DIR = os.environ.get('MEMPROXY_TEST_LOG_DIR') or None
_log_seq = [0]
_log_lock = threading.Lock()


def log_file_path(what):
    """A new file name under LOG_DIR for one process's output, or None."""
    if not LOG_DIR:
        return None
    os.makedirs(LOG_DIR, exist_ok=True)
    with _log_lock:
        _log_seq[0] += 1
        n = _log_seq[0]
    script = os.path.splitext(os.path.basename(sys.argv[0] or 'test'))[0]
    return os.path.join(LOG_DIR, '%s-%s-%d-%d.log' % (script, what, os.getpid(), n))


def keep_log(what, data):
    """Writes data (bytes or str) to a new file under LOG_DIR, if set."""
    path = log_file_path(what)
    if path is None:
        return None
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else str(data).encode('utf-8', 'replace'))
    return path


# Start-up and shutdown budgets; an ASan build is several times slower.
START_TIMEOUT = 60.0
STOP_EXTRA = 15.0

# A wait on a state (a metric, a log line, the fake's counts, an exit) ends
# as soon as the state comes and gives up only after WAIT seconds at least,
# whatever shorter timeout a test names: on a machine busy with other work a
# step can take seconds, and no verdict may depend on how fast it came. So a
# wait never shows that something does not happen (issue 73).
WAIT = float(os.environ.get('MEMTEST_WAIT', '30'))


def wait_deadline(timeout):
    """The monotonic time a wait of timeout seconds gives up at: WAIT at least."""
    return time.monotonic() + max(timeout if timeout is not None else 0, WAIT)

_live_processes = []


def _kill_leftovers():
    for p in list(_live_processes):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


import atexit  # noqa: E402

atexit.register(_kill_leftovers)


def preload_env(case, lib_var, log_name, extra=None):
    """The environment for a memproxy with the test preload of the
    environment variable lib_var (tests/proxy/meson.build), and the path of
    its log file log_name in a directory removed after case: (env, path).
    extra(path) adds the preload's own variables."""
    tmp = tempfile.mkdtemp(prefix='mptest-preload-')
    case.addCleanup(shutil.rmtree, tmp, True)
    path = os.path.join(tmp, log_name)
    env = {'LD_PRELOAD': os.environ[lib_var],
           # the preload comes before the sanitizer runtime in the ASan build
           'ASAN_OPTIONS': os.environ.get('ASAN_OPTIONS', '') + ':verify_asan_link_order=0'}
    if extra is not None:
        env.update(extra(path))
    return env, path


def child_env(extra=None):
    """The environment for a memproxy child: ours without any MEMPROXY_*
    variable (memproxy rejects unknown ones), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')}
    if extra:
        env.update(extra)
    return env


def free_port():
    """A port that was free a moment ago (nothing listens on it now)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------
# Raw HTTP/1.1 client
# ---------------------------------------------------------------------------

def _b(x):
    if isinstance(x, bytes):
        return x
    return str(x).encode('utf-8')


def build_request(method, path, headers=(), body=b'', host='127.0.0.1', content_length=None):
    """The exact bytes of a request. headers: list of (name, value), str or bytes.
    Content-Length is added for a non-empty body unless the caller set
    Content-Length or Transfer-Encoding, or passed content_length=False."""
    body = _b(body)
    names = {(_b(k).lower()) for k, _ in headers}
    out = [_b(method) + b' ' + _b(path) + b' HTTP/1.1']
    if host is not None and b'host' not in names:
        out.append(b'Host: ' + _b(host))
    for k, v in headers:
        out.append(_b(k) + b': ' + _b(v))
    if content_length is None:
        content_length = (len(body) > 0 or method in ('POST', 'PUT', 'PATCH')) and \
            b'content-length' not in names and b'transfer-encoding' not in names
    if content_length:
        out.append(b'Content-Length: ' + str(len(body)).encode())
    return b'\r\n'.join(out) + b'\r\n\r\n' + body


def chunk_encode(parts):
    """A chunked body from a list of byte strings (plus the terminating chunk)."""
    out = b''
    for p in parts:
        p = _b(p)
        if p:
            out += b'%x\r\n' % len(p) + p + b'\r\n'
    return out + b'0\r\n\r\n'


def chat_body(stream=False, user=None, content='hi', model='gpt-4o-mini', extra=None):
    obj = {'model': model, 'messages': [{'role': 'user', 'content': content}]}
    if stream:
        obj['stream'] = True
    if user is not None:
        obj['user'] = user
    if extra:
        obj.update(extra)
    return json.dumps(obj).encode()


class Response:
    """A response read off a socket. body is the decoded body (chunk framing
    removed); raw_body the bytes as received after the head."""

    def __init__(self):
        self.status = None
        self.reason = ''
        self.version = ''
        self.headers = []           # [(name, value)] as received
        self.head_raw = b''
        self.body = bytearray()
        self.raw_body = bytearray()
        self.chunked = False
        self.complete = False       # framing finished (final chunk / full length / EOF for close-delimited)
        self.closed = False         # the peer closed (EOF or reset) before or at the end
        self.reset = False          # the peer reset the connection
        self.t_sent = None          # when the request was sent (monotonic)
        self.t_head = None          # when the head was complete
        self.t_end = None           # when the body was complete (or the peer closed)
        self.marks = []             # [(monotonic time, len(body))] after each read

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return self.header(name) is not None

    def json(self):
        return json.loads(bytes(self.body).decode('utf-8'))

    def events(self):
        """SSE events of the body, each with its terminating blank line."""
        return [e for e, _ in self.events_with_times()]

    def events_with_times(self):
        """[(event bytes, monotonic time its last byte arrived)]."""
        body = bytes(self.body)
        out = []
        pos = 0
        ends = [m[1] for m in self.marks]
        while pos < len(body):
            m = re.compile(rb'\r\n\r\n|\n\n|\r\r').search(body, pos)
            if not m:
                break
            end = m.end()
            i = bisect.bisect_left(ends, end)
            t = self.marks[i][0] if i < len(self.marks) else None
            out.append((body[pos:end], t))
            pos = end
        return out

    def data_payloads(self):
        """The data: payloads of the events (joined lines), as bytes."""
        out = []
        for ev in self.events():
            lines = re.split(rb'\r\n|\n|\r', ev)
            data = [ln[5:].lstrip(b' ') if ln.startswith(b'data:') else None for ln in lines]
            data = [d for d in data if d is not None]
            if data:
                out.append(b'\n'.join(data))
        return out

    def __repr__(self):
        return 'Response(status=%r, headers=%r, body=%r%s, complete=%r, closed=%r)' % (
            self.status, self.headers, bytes(self.body[:300]),
            '...' if len(self.body) > 300 else '', self.complete, self.closed)


class HTTPConn:
    """One client TCP connection with a response reader that keeps exact
    bytes and arrival times."""

    def __init__(self, port, host='127.0.0.1', timeout=15.0, rcvbuf=None, mss=None):
        self.port = port
        self.host = host
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if mss:
            # Advertised in the SYN: the peer sends segments of at most mss
            # bytes (on loopback it would use ~64 KiB, and its send buffer
            # would grow to megabytes as fast).
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = bytearray()
        self.pos = 0
        self.received = 0           # bytes read off the socket so far
        self.eof = False
        self.was_reset = False
        self._resp = None
        self._state = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self):
        """Close with RST (SO_LINGER 0)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        except OSError:
            pass
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(_b(data))

    def request(self, method, path, headers=(), body=b'', timeout=None, **kw):
        """Sends a request and reads the whole response."""
        self.send_request(method, path, headers, body, **kw)
        return self.read_response(method=method, timeout=timeout)

    def send_request(self, method, path, headers=(), body=b'', **kw):
        data = build_request(method, path, headers, body, host=kw.pop('host', '127.0.0.1:%d' % self.port), **kw)
        self.t_sent = time.monotonic()
        self.send(data)

    # -- low-level reading -------------------------------------------------

    def _avail(self):
        return len(self.buf) - self.pos

    def _compact(self):
        if self.pos > (1 << 20) or (self.pos and self.pos == len(self.buf)):
            del self.buf[:self.pos]
            self.pos = 0

    def _fill(self, deadline):
        """One recv. Returns False at EOF/reset. Raises socket.timeout at the deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout('deadline passed')
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            self.eof = True
            self.was_reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.received += len(data)
        self._compact()
        self.buf += data
        return True

    # -- response reading --------------------------------------------------

    def read_head(self, method='GET', timeout=None):
        """Reads a response head. Returns a Response (status None if the peer
        closed before a complete head)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        r = Response()
        r.t_sent = getattr(self, 't_sent', None)
        while True:
            idx = self.buf.find(b'\r\n\r\n', self.pos)
            if idx >= 0:
                break
            if not self._fill(deadline):
                r.closed = True
                r.reset = self.was_reset
                r.t_end = time.monotonic()
                r.head_raw = bytes(self.buf[self.pos:])
                return r
        head = bytes(self.buf[self.pos:idx + 4])
        self.pos = idx + 4
        r.head_raw = head
        r.t_head = time.monotonic()
        lines = head[:-4].split(b'\r\n')
        parts = lines[0].decode('latin-1').split(' ', 2)
        r.version = parts[0]
        r.status = int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ''
        for ln in lines[1:]:
            k, _, v = ln.decode('latin-1').partition(':')
            r.headers.append((k, v.strip(' \t')))
        if 100 <= r.status < 200:
            return self.read_head(method, timeout)
        # Body framing.
        te = (r.header('transfer-encoding') or '').lower()
        if method == 'HEAD' or r.status in (204, 304):
            st = {'mode': 'none'}
        elif 'chunked' in te:
            r.chunked = True
            st = {'mode': 'chunked', 'phase': 'size', 'left': 0}
        elif r.header('content-length') is not None:
            st = {'mode': 'length', 'left': int(r.header('content-length'))}
        else:
            st = {'mode': 'close'}
        self._resp = r
        self._state = st
        if st['mode'] == 'none' or (st['mode'] == 'length' and st['left'] == 0):
            r.complete = True
            r.t_end = r.t_head
        self._decode()
        return r

    def _decode(self):
        """Moves what is in the buffer into the current response body."""
        r, st = self._resp, self._state
        if r is None or r.complete:
            return
        mode = st['mode']
        if mode == 'length':
            n = min(st['left'], self._avail())
            if n:
                chunk = self.buf[self.pos:self.pos + n]
                r.body += chunk
                r.raw_body += chunk
                self.pos += n
                st['left'] -= n
            if st['left'] == 0:
                r.complete = True
        elif mode == 'close':
            n = self._avail()
            if n:
                chunk = self.buf[self.pos:]
                r.body += chunk
                r.raw_body += chunk
                self.pos += n
        elif mode == 'chunked':
            while not r.complete:
                if st['phase'] == 'size':
                    idx = self.buf.find(b'\r\n', self.pos)
                    if idx < 0:
                        break
                    line = bytes(self.buf[self.pos:idx])
                    r.raw_body += self.buf[self.pos:idx + 2]
                    self.pos = idx + 2
                    size = int(line.split(b';', 1)[0].strip(), 16)
                    if size == 0:
                        st['phase'] = 'trailer'
                    else:
                        st['phase'] = 'data'
                        st['left'] = size
                elif st['phase'] == 'data':
                    n = min(st['left'], self._avail())
                    if n == 0:
                        break
                    chunk = self.buf[self.pos:self.pos + n]
                    r.body += chunk
                    r.raw_body += chunk
                    self.pos += n
                    st['left'] -= n
                    if st['left'] == 0:
                        st['phase'] = 'crlf'
                elif st['phase'] == 'crlf':
                    if self._avail() < 2:
                        break
                    if bytes(self.buf[self.pos:self.pos + 2]) != b'\r\n':
                        raise AssertionError('bad chunk framing: %r' % bytes(self.buf[self.pos:self.pos + 20]))
                    r.raw_body += b'\r\n'
                    self.pos += 2
                    st['phase'] = 'size'
                elif st['phase'] == 'trailer':
                    idx = self.buf.find(b'\r\n', self.pos)
                    if idx < 0:
                        break
                    line = bytes(self.buf[self.pos:idx])
                    r.raw_body += self.buf[self.pos:idx + 2]
                    self.pos = idx + 2
                    if line == b'':
                        r.complete = True
        now = time.monotonic()
        if not r.marks or r.marks[-1][1] != len(r.body):
            r.marks.append((now, len(r.body)))
        if r.complete:
            r.t_end = now

    def read_more(self, timeout=None, until=None):
        """Reads body bytes until the response is complete, the peer closes,
        until(resp) is true, or the timeout passes (then returns quietly).
        Returns the response."""
        r = self._resp
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while r is not None and not r.complete:
            if until is not None and until(r):
                return r
            try:
                ok = self._fill(deadline)
            except socket.timeout:
                return r
            if not ok:
                r.closed = True
                r.reset = self.was_reset
                if self._state['mode'] == 'close':
                    r.complete = not self.was_reset
                r.t_end = time.monotonic()
                self._decode()
                return r
            self._decode()
        return r

    def read_response(self, method='GET', timeout=None):
        """Reads a whole response; raises socket.timeout if it does not come."""
        t = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + t
        r = self.read_head(method=method, timeout=t)
        if r.status is None:
            return r
        self.read_more(timeout=max(0.001, deadline - time.monotonic()))
        if not r.complete and not r.closed:
            raise socket.timeout('response body not complete after %.1f s: %r' % (t, r))
        self._resp = None
        return r

    def read_until_closed(self, timeout):
        """Returns every byte not yet consumed, buffered or arriving until
        EOF; raises socket.timeout. (_fill may compact the buffer, so the
        bytes are collected as they come, not sliced from an old offset.)"""
        deadline = time.monotonic() + timeout
        out = bytearray(self.buf[self.pos:])
        self.pos = len(self.buf)
        while self._fill(deadline):
            out += self.buf[self.pos:]
            self.pos = len(self.buf)
        return bytes(out)


def tcp_queues():
    """[(local port, remote port, tx_queue, rx_queue)] of every IPv4 TCP
    socket of this network namespace (/proc/net/tcp). tx_queue: bytes
    written and not yet acknowledged by the peer; rx_queue: bytes received
    and not yet read by the owner. So, for a connection between A and B,
    what A wrote = A's tx_queue + B's rx_queue + what B read."""
    out = []
    with open('/proc/net/tcp') as f:
        next(f)
        for line in f:
            fields = line.split()
            lport = int(fields[1].rsplit(':', 1)[1], 16)
            rport = int(fields[2].rsplit(':', 1)[1], 16)
            tx, rx = (int(x, 16) for x in fields[4].split(':'))
            out.append((lport, rport, tx, rx))
    return out


def request(port, method, path, headers=(), body=b'', timeout=15.0, **kw):
    """One request on a fresh connection."""
    with HTTPConn(port, timeout=timeout) as c:
        return c.request(method, path, headers, body, timeout=timeout, **kw)


def split_head_body(raw):
    """Splits a raw HTTP message: (request/status line, [(name, value)], body bytes).
    A chunked body is de-chunked."""
    idx = raw.find(b'\r\n\r\n')
    if idx < 0:
        raise AssertionError('no end of head in %r' % raw[:200])
    lines = raw[:idx].split(b'\r\n')
    headers = []
    for ln in lines[1:]:
        k, _, v = ln.partition(b':')
        headers.append((k.decode('latin-1'), v.strip(b' \t').decode('latin-1')))
    body = raw[idx + 4:]
    if any(k.lower() == 'transfer-encoding' and 'chunked' in v.lower() for k, v in headers):
        out = b''
        pos = 0
        while True:
            e = body.index(b'\r\n', pos)
            size = int(body[pos:e].split(b';')[0], 16)
            pos = e + 2
            if size == 0:
                break
            out += body[pos:pos + size]
            pos += size + 2
        body = out
    return lines[0], headers, body


def headers_get(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


# The label names of every labelled series the README documents. A check
# that names a label outside this list, or a series the proxy does not
# expose, fails instead of reading 0.
METRIC_LABELS = {
    'memproxy_memory_followups_total': ('commit',),
    'memproxy_upstream_input_tokens_total': ('api', 'model'),
    'memproxy_upstream_cached_input_tokens_total': ('api', 'model'),
    'memproxy_upstream_cache_creation_tokens_total': ('api', 'model'),
    'memproxy_upstream_output_tokens_total': ('api', 'model'),
    'memproxy_upstream_replies_total': ('api', 'usage'),
    'memproxy_requests_total': ('status', 'stream'),
    'memproxy_request_duration_seconds_bucket': ('le',),
    'memproxy_memory_injected_tokens_bucket': ('le',),
    'memproxy_upstream_errors_total': ('kind',),
    'memproxy_client_errors_total': ('kind',),
    'memproxy_client_tasks_total': ('kind',),
    'memproxy_inserted_context_total': ('client',),
    'memproxy_client_text_total': ('how',),
    'memproxy_client_text_undone_total': ('what',),
    'memproxy_memory_statements_kept_out_total': ('reason',),
    'memproxy_memory_searches_total': ('result',),
    'memproxy_mcp_requests_total': ('method', 'result'),
    'memproxy_mcp_tool_calls_total': ('tool', 'result'),
    'memproxy_memory_jobs_total': ('kind', 'result'),
    'memproxy_memory_jobs_held': ('reason',),
    'memproxy_memory_jobs_failed_total': ('kind', 'reason'),
    'memproxy_embeddings_calls_total': ('result',),
    'memproxy_embeddings_queries_total': ('result',),
    'memproxy_turns_unrecorded_total': ('reason',),
    'memproxy_config_reloads_total': ('result',),
    'memproxy_build_info': ('version',),
    'memproxy_retention_purged_total': ('item',),
    'memproxy_retention_sweeps_total': ('result',),
    'memproxy_storage_compactions_total': ('result',),
    'memproxy_imports_total': ('result',),
    'memproxy_imports_refused_total': ('format', 'reason'),
    'memproxy_memory_reads_total': ('result',),
    'memproxy_conversation_heads_total': ('result',),
    'memproxy_postgres_read_rounds_total': ('round',),
    **{'memproxy_memory_model_%s_total' % k: ('kind', 'model')
       for k in ('calls', 'input_tokens', 'cached_input_tokens', 'output_tokens')},
}

# Series written only once they are non-zero (one per status seen): a
# missing label set of these reads 0; of any other series it is an error.
_TOKENS = {'api': r'^(chat_completions|responses|messages)$', 'model': r'^[!-~]{1,127}$'}
_MODEL_CALLS = {'kind': r'^(extract|summarize)$', 'model': r'^[!-~]{1,127}$'}
SPARSE_METRICS = {'memproxy_requests_total': {'status': r'^[1-5][0-9][0-9]$', 'stream': r'^(true|false)$'},
                  **{'memproxy_upstream_%s_tokens_total' % k: _TOKENS
                     for k in ('input', 'cached_input', 'cache_creation', 'output')},
                  **{'memproxy_memory_model_%s_total' % k: _MODEL_CALLS
                     for k in ('calls', 'input_tokens', 'cached_input_tokens', 'output_tokens')}}


class MetricSamples(list):
    """[(name, {label: value}, float)], one per sample line, with the
    families the text declares (types: {name: 'counter' | 'gauge' | ...}
    from its # TYPE lines)."""

    def __init__(self, items=(), types=None):
        super().__init__(items)
        self.types = dict(types or {})


def parse_metrics(text):
    """The samples of a Prometheus text page (a MetricSamples)."""
    out = MetricSamples()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('# TYPE '):
            parts = line.split()
            if len(parts) != 4:
                raise AssertionError('bad TYPE line: %r' % line)
            if parts[2] in out.types:
                raise AssertionError('two TYPE lines for %s' % parts[2])
            out.types[parts[2]] = parts[3]
            continue
        if not line or line.startswith('#'):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            raise AssertionError('unparsable metrics line: %r' % line)
        labels = dict(_LABEL_RE.findall(m.group(2) or ''))
        v = m.group(3)
        out.append((m.group(1), labels, float(v.replace('Inf', 'inf'))))
    return out


def _declared(samples, name):
    """True when the page declares name (its own TYPE line, or a histogram's)."""
    types = getattr(samples, 'types', {})
    if name in types:
        return True
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
            return True
    return False


def metric_sum(samples, name, **labels):
    """Sum of the samples of name whose labels include the given ones.

    Fails (AssertionError) rather than reading 0 when the series cannot be
    there: name is neither declared nor sampled, a label name is not one
    the README documents for it, or no sample carries the given labels
    (except for the series in SPARSE_METRICS, written once non-zero, whose
    label values must still have their documented shape)."""
    own = [(lb, v) for n, lb, v in samples if n == name]
    if not own and not _declared(samples, name):
        raise AssertionError('no metric %s on the page (renamed or gone?)' % name)
    allowed = METRIC_LABELS.get(name, ())
    for k, val in labels.items():
        if k not in allowed:
            raise AssertionError('metric %s has no label %r (documented: %r)' % (name, k, allowed))
        shape = SPARSE_METRICS.get(name, {}).get(k)
        if shape is not None and not re.match(shape, str(val)):
            raise AssertionError('metric %s{%s=%r}: not a value that label takes' % (name, k, val))
    hits = [v for lb, v in own if all(lb.get(k) == str(val) for k, val in labels.items())]
    if not hits and name not in SPARSE_METRICS:
        raise AssertionError('no series %s%r on the page; its series: %r' % (name, labels, [lb for lb, _ in own]))
    return float(sum(hits))


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

class _StderrCollector(threading.Thread):
    def __init__(self, stream, log_path=None):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines = []
        self.cond = threading.Condition()
        self.done = False
        self.log_path = log_path    # also append every line, raw, to this file

    def run(self):
        log = open(self.log_path, 'ab') if self.log_path else None
        try:
            for raw in iter(self.stream.readline, b''):
                if log is not None:
                    log.write(raw)
                    log.flush()
                line = raw.decode('utf-8', 'replace').rstrip('\n')
                with self.cond:
                    self.lines.append(line)
                    self.cond.notify_all()
        finally:
            if log is not None:
                log.close()
            with self.cond:
                self.done = True
                self.cond.notify_all()

    def text(self):
        with self.cond:
            return '\n'.join(self.lines)

    def snapshot(self):
        with self.cond:
            return list(self.lines)


def _sanitizer_report(text):
    for marker in SANITIZER_MARKERS:
        i = text.find(marker)
        if i >= 0:
            return text[max(0, i - 200):i + 3000]
    return None


class FakeUpstream:
    def __init__(self):
        self.proc = None
        self.port = None
        self._ctl = None
        self._lock = threading.Lock()

    def start(self):
        if not os.path.exists(FAKE_UPSTREAM_BIN):
            raise AssertionError('fake upstream binary missing: %s' % FAKE_UPSTREAM_BIN)
        self.proc = subprocess.Popen([FAKE_UPSTREAM_BIN, '--host', '127.0.0.1', '--port', '0', '--quiet'],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _live_processes.append(self.proc)
        self.err = _StderrCollector(self.proc.stderr)
        self.err.start()
        line = _readline_timeout(self.proc.stdout, START_TIMEOUT)
        m = re.match(rb'^PORT (\d+)\s*$', line or b'')
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError('fake upstream did not print PORT: %r; stderr: %s' % (line, self.err.text()))
        self.port = int(m.group(1))
        return self

    @property
    def base_url(self):
        return 'http://127.0.0.1:%d/v1' % self.port

    def check_alive(self):
        rc = self.proc.poll()
        if rc is not None:
            raise AssertionError('the fake upstream exited (code %r) in the middle of the test; stderr:\n%s'
                                 % (rc, self.err.text()[-2000:]))

    def _control(self, method, path):
        self.check_alive()
        with self._lock:
            for attempt in range(2):
                try:
                    if self._ctl is None:
                        self._ctl = HTTPConn(self.port, timeout=10)
                    r = self._ctl.request(method, path)
                    if r.status is None:
                        raise ConnectionError('closed')
                    if r.closed:
                        self._ctl.close()
                        self._ctl = None
                    return r
                except (OSError, ConnectionError):
                    if self._ctl:
                        self._ctl.close()
                    self._ctl = None
                    if attempt:
                        raise

    def stats(self):
        r = self._control('GET', '/_fake/stats')
        assert r.status == 200, r
        return r.json()

    def last(self):
        """The last /v1 request the fake received, raw bytes (None if none)."""
        r = self._control('GET', '/_fake/last')
        if r.status == 404:
            return None
        assert r.status == 200, r
        return bytes(r.body)

    def last_parsed(self):
        raw = self.last()
        assert raw is not None, 'the fake received no /v1 request'
        return split_head_body(raw)

    def reset(self):
        r = self._control('POST', '/_fake/reset')
        assert r.status in (200, 204), r

    def direct(self, method, path, headers=(), body=b'', timeout=30):
        """A request straight to the fake (for expected responses)."""
        self.check_alive()
        try:
            return request(self.port, method, path, headers, body, timeout=timeout)
        finally:
            self.check_alive()

    def wait_stats(self, pred, timeout):
        deadline = wait_deadline(timeout)
        st = self.stats()
        while not pred(st) and time.monotonic() < deadline:
            time.sleep(0.02)
            st = self.stats()
        return st

    def stop(self):
        """SIGTERM; returns a list of problems (empty when clean)."""
        problems = []
        if self._ctl:
            self._ctl.close()
            self._ctl = None
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        else:
            problems.append('fake upstream had exited (code %r) before its teardown' % self.proc.returncode)
        try:
            rc = self.proc.wait(STOP_EXTRA)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            problems.append('fake upstream did not exit within %.0f s of SIGTERM' % STOP_EXTRA)
        self.err.join(5)
        if rc != 0:
            problems.append('fake upstream exit code %r' % rc)
        rep = _sanitizer_report(self.err.text())
        if rep:
            problems.append('fake upstream sanitizer report:\n' + rep)
        return problems


def _readline_timeout(stream, timeout):
    result = []

    def rd():
        result.append(stream.readline())
    t = threading.Thread(target=rd, daemon=True)
    t.start()
    t.join(timeout)
    return result[0] if result else None


DEFAULT_SECTIONS = ('server', 'upstream', 'memory', 'storage', 'log')


def make_ini(sections):
    """INI text from {section: {key: value}}; a value of None omits the key."""
    out = []
    for sec, kv in sections.items():
        out.append('[%s]' % sec)
        for k, v in kv.items():
            if v is None:
                continue
            if isinstance(v, bool):
                v = 'true' if v else 'false'
            out.append('%s = %s' % (k, v))
        out.append('')
    return '\n'.join(out)


# The translation tables this build made (tools/xlate/meson.build): a
# deployment's are installed, the tests' are read where they were built.
XLATE_DIR = os.path.join(os.environ.get('MEMPROXY_BUILD_ROOT', ''), 'tools', 'xlate')


class Proxy:
    """memproxy with a generated INI file in its own temp dir."""

    def __init__(self, upstream_url, server=None, upstream=None, memory=None, storage=None, log=None,
                 env=None, workers=2, extra_ini='', sections=None):
        self.tmp = tempfile.TemporaryDirectory(prefix='memproxy-itest-')
        self.dir = self.tmp.name
        self.config_path = os.path.join(self.dir, 'memproxy.ini')
        self.sections = {
            'server': {'listen': '127.0.0.1:0', 'admin_listen': '127.0.0.1:0', 'workers': workers},
            'upstream': {'base_url': upstream_url},
            # each turn's extraction due at once, as one call per turn unless
            # turns wait behind a running call (test_memory_batch.py batches)
            'memory': {'extract_idle_seconds': 0},
            'storage': {'path': os.path.join(self.dir, 'data'), 'sync': 'none'},
            'log': {'level': 'info', 'format': 'json'},
        }
        if os.environ.get('MEMPROXY_BUILD_ROOT'):
            self.sections['memory']['translate_dir'] = XLATE_DIR
        for name, over in (('server', server), ('upstream', upstream), ('memory', memory),
                           ('storage', storage), ('log', log)):
            if over:
                self.sections[name].update(over)
        # The suites send wrong tokens and links from one address on purpose:
        # no back-off of refusals unless a test asks for it (test_page_gate.py)
        self.sections['security'] = {'auth_backoff_ms': 0}
        # sections: more sections or keys, e.g. {'governance': {...}, 'security': {...}}
        for name, over in (sections or {}).items():
            self.sections.setdefault(name, {}).update(over)
        # the suites run again with the native upstream client (tests/proxy/meson.build)
        if UPSTREAM_CLIENT:
            self.sections['upstream'].setdefault('client', UPSTREAM_CLIENT)
        self.extra_ini = extra_ini
        self.env = dict(os.environ)
        for k in list(self.env):
            # memproxy rejects unknown MEMPROXY_* variables, and the test's own
            # (MEMPROXY_BIN, ...) are not configuration: none is inherited.
            if k.startswith('MEMPROXY_'):
                del self.env[k]
        if env:
            self.env.update(env)
        self.proc = None
        self.port = None
        self.admin_port = None
        self.page_port = None
        self.listening = None
        self.stopped = False
        self.signalled = False
        self.write_config()

    def write_config(self, text=None):
        if text is None:
            text = make_ini(self.sections) + self.extra_ini
        with open(self.config_path + '.tmp', 'w') as f:
            f.write(text)
        os.replace(self.config_path + '.tmp', self.config_path)

    def start(self, timeout=START_TIMEOUT, nofile=None):
        """nofile: (soft, hard) RLIMIT_NOFILE memproxy starts with."""
        if not os.path.exists(MEMPROXY_BIN):
            raise AssertionError('memproxy binary missing: %s' % MEMPROXY_BIN)

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        self.proc = subprocess.Popen([MEMPROXY_BIN, '-c', self.config_path], cwd=self.dir, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=limits)
        _live_processes.append(self.proc)
        self.err = _StderrCollector(self.proc.stderr, log_file_path('memproxy'))
        self.err.start()
        line = self.wait_log(lambda o: o.get('msg') == 'listening', timeout)
        if line is None:
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
            raise AssertionError('memproxy did not log "listening" within %.0f s (exit %r); stderr:\n%s'
                                 % (timeout, rc, self.err.text()[-4000:]))
        self.listening = line
        self.port = int(line['listen'].rsplit(':', 1)[1])
        self.admin_port = int(line['admin_listen'].rsplit(':', 1)[1])
        # the memory page's listener, when [page] listen names one
        self.page_port = int(line['page_listen'].rsplit(':', 1)[1]) if 'page_listen' in line else None
        return self

    def run(self, args=(), timeout=START_TIMEOUT):
        """Runs memproxy -c CONFIG ARGS to its end (a command such as
        --rotate-key, or a start that must fail). Returns (exit status,
        stdout, stderr) as text; both outputs are kept under LOG_DIR. If it
        is still running after timeout (it started instead of failing), it
        is killed and the test fails."""
        if not os.path.exists(MEMPROXY_BIN):
            raise AssertionError('memproxy binary missing: %s' % MEMPROXY_BIN)
        proc = subprocess.Popen([MEMPROXY_BIN, '-c', self.config_path] + list(args), cwd=self.dir,
                                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        _live_processes.append(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            keep_log('memproxy-run', err + out)
            raise AssertionError('memproxy %r did not exit within %.0f s; stderr:\n%s'
                                 % (list(args), timeout, err.decode('utf-8', 'replace')[-3000:]))
        keep_log('memproxy-run', err + out)
        out, err = out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
        rep = _sanitizer_report(err)
        if rep:
            raise AssertionError('memproxy %r sanitizer report:\n%s' % (list(args), rep))
        return proc.returncode, out, err

    @property
    def pid(self):
        return self.proc.pid

    # -- logs --------------------------------------------------------------

    def log_lines(self):
        return self.err.snapshot()

    def log_objects(self, start=0):
        out = []
        for ln in self.err.snapshot()[start:]:
            try:
                o = json.loads(ln)
            except ValueError:
                continue
            if isinstance(o, dict):
                out.append(o)
        return out

    def wait_log(self, pred, timeout, start=0, floor=True):
        """Waits for a JSON log line (index >= start) with pred(obj) true; returns it or None.
        floor=False: only a look of timeout seconds (not WAIT), for a line that
        may never come, where the caller goes on either way."""
        deadline = wait_deadline(timeout) if floor else time.monotonic() + timeout
        idx = start
        with self.err.cond:
            while True:
                while idx < len(self.err.lines):
                    ln = self.err.lines[idx]
                    idx += 1
                    try:
                        o = json.loads(ln)
                    except ValueError:
                        continue
                    if isinstance(o, dict) and pred(o):
                        return o
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.err.done and idx >= len(self.err.lines)):
                    return None
                self.err.cond.wait(min(remaining, 0.1))

    def log_count(self):
        return len(self.err.snapshot())

    # -- data and admin plane ---------------------------------------------

    def conn(self, **kw):
        return HTTPConn(self.port, **kw)

    def request(self, method, path, headers=(), body=b'', timeout=15.0, **kw):
        return request(self.port, method, path, headers, body, timeout=timeout, **kw)

    def chat(self, stream=False, headers=(), body=None, timeout=15.0, fake=None, path='/v1/chat/completions'):
        h = list(headers)
        if fake:
            h.append(('X-Fake-Behavior', fake))
        h.append(('Content-Type', 'application/json'))
        return self.request('POST', path, h, chat_body(stream) if body is None else body, timeout=timeout)

    def admin(self, path, method='GET', headers=(), timeout=10.0):
        return request(self.admin_port, method, path, headers, timeout=timeout)

    def metrics_text(self):
        r = self.admin('/metrics')
        assert r.status == 200, r
        return bytes(r.body).decode('utf-8')

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def metric(self, name, **labels):
        return metric_sum(self.metrics(), name, **labels)

    def wait_metric(self, name, pred, timeout=5.0, **labels):
        """Polls until pred(value) holds; returns the last value."""
        deadline = wait_deadline(timeout)
        v = self.metric(name, **labels)
        while not pred(v) and time.monotonic() < deadline:
            time.sleep(0.02)
            v = self.metric(name, **labels)
        return v

    def rss_kb(self):
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        raise AssertionError('no VmRSS')

    # -- shutdown ----------------------------------------------------------

    def signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.signalled = True
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(max(timeout, WAIT))
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=None):
        """SIGTERM (unless already exited); returns a list of problems."""
        problems = []
        if self.proc is None:
            self.tmp.cleanup()
            return problems
        if timeout is None:
            timeout = self.sections['server'].get('drain_timeout_ms', 25000)
            timeout = min(float(timeout) / 1000.0, 30.0) + STOP_EXTRA
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        elif not self.signalled:
            problems.append('memproxy had exited (code %r) on its own before its teardown' % self.proc.returncode)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            problems.append('memproxy did not exit within %.0f s of SIGTERM' % timeout)
        self.err.join(5)
        self.stopped = True
        if rc != 0:
            problems.append('memproxy exit code %r (expected 0)' % rc)
        rep = _sanitizer_report(self.err.text())
        if rep:
            problems.append('memproxy sanitizer report:\n' + rep)
        self.tmp.cleanup()
        return problems

    def sanitizer_problems(self):
        rep = _sanitizer_report(self.err.text())
        return ['memproxy sanitizer report:\n' + rep] if rep else []


# ---------------------------------------------------------------------------
# Test case bases
# ---------------------------------------------------------------------------

class ProxyTestCase(unittest.TestCase):
    """Starts one fake upstream and one memproxy for the whole class
    (configured by the class attribute PROXY_CONFIG: keyword arguments of
    Proxy). Tests that need their own memproxy use self.start_proxy()."""

    PROXY_CONFIG = {}
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeUpstream().start()
        try:
            cls.proxy = Proxy(cls.fake.base_url, **cls.PROXY_CONFIG).start()
        except BaseException:
            cls.fake.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        problems = cls.proxy.stop()
        problems += cls.fake.stop()
        if problems:
            raise AssertionError('teardown: ' + '\n'.join(problems))

    def start_proxy(self, **kw):
        """A memproxy of its own, stopped (and checked) at the end of the test."""
        upstream_url = kw.pop('upstream_url', self.fake.base_url)
        p = Proxy(upstream_url, **kw).start()

        def check():
            if p.stopped:
                return
            problems = p.stop()
            if problems:
                self.fail('teardown: ' + '\n'.join(problems))
        self.addCleanup(check)
        return p

    def stop_checked(self, p, timeout=None):
        problems = p.stop(timeout)
        self.assertEqual(problems, [], 'memproxy shutdown problems')

    # -- assertions ----------------------------------------------------------

    def assertOpenAIError(self, r, status, code):
        """A memproxy-made error: status, OpenAI body shape, JSON content type, x-request-id."""
        self.assertEqual(r.status, status, r)
        ct = r.header('content-type') or ''
        self.assertTrue(ct.lower().startswith('application/json'), 'content-type %r' % ct)
        rid = r.header('x-request-id')
        self.assertTrue(rid, 'no x-request-id: %r' % r.headers)
        try:
            obj = r.json()
        except ValueError:
            self.fail('error body is not JSON: %r' % bytes(r.body))
        self.assertEqual(set(obj.keys()), {'error'}, obj)
        err = obj['error']
        self.assertEqual(set(err.keys()), {'message', 'type', 'param', 'code'}, err)
        self.assertIsInstance(err['message'], str)
        self.assertTrue(err['message'], err)
        self.assertIsInstance(err['type'], str)
        self.assertTrue(err['type'], err)
        self.assertIsNone(err['param'], err)
        self.assertEqual(err['code'], code, err)
        return obj

    def assertDeltaMetric(self, proxy, before, name, expected, timeout=5.0, **labels):
        """Waits until proxy's metric(name, labels) - before reaches expected,
        then checks it is exactly expected."""
        proxy.wait_metric(name, lambda x: x - before >= expected, timeout, **labels)
        time.sleep(0.05)
        v = proxy.metric(name, **labels)
        self.assertEqual(v - before, expected, '%s%r: before %r now %r' % (name, labels, before, v))


# ---------------------------------------------------------------------------
# Expected streams
# ---------------------------------------------------------------------------

_ID_RE = re.compile(rb'chatcmpl-fake(\d+)"')


def fake_n(resp):
    """n of the fake's x-request-id fake-<n>."""
    rid = resp.header('x-request-id') or ''
    m = re.match(r'^fake-(\d+)$', rid)
    if not m:
        raise AssertionError('x-request-id %r is not the fake\'s' % rid)
    return int(m.group(1))


class ExpectedBodies:
    """What the fake sends for given directives, fetched directly from it once;
    bodies of other requests differ only in the request number n."""

    def __init__(self, fake):
        self.fake = fake
        self.cache = {}
        self.lock = threading.Lock()

    def template(self, directives, stream=True, body=None):
        key = (directives, stream, body)
        with self.lock:
            if key not in self.cache:
                r = self.fake.direct('POST', '/v1/chat/completions',
                                     [('X-Fake-Behavior', directives), ('Content-Type', 'application/json')]
                                     if directives else [('Content-Type', 'application/json')],
                                     chat_body(stream) if body is None else body, timeout=120)
                if r.status is None or not r.complete:
                    raise AssertionError('direct request to the fake failed: %r' % r)
                self.cache[key] = (bytes(r.body), fake_n(r), r)
            return self.cache[key]

    def expected(self, directives, n, stream=True, body=None):
        tb, tn, _ = self.template(directives, stream, body)
        return tb.replace(b'chatcmpl-fake%d"' % tn, b'chatcmpl-fake%d"' % n)


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

# Known bugs: test id (module.Class.test) -> why the test fails today.
EXPECTED_FAILURES = {}


def expected_failure(reason):
    """Marks a test that asserts documented behaviour memproxy does not have
    yet. The runner lists it with its reason on every run; once it passes,
    the run fails ("unexpected success") until the mark is removed."""
    def mark(fn):
        EXPECTED_FAILURES[fn.__qualname__] = reason
        return unittest.expectedFailure(fn)
    return mark


ALLOW_SKIPS_VAR = 'MEMPROXY_TEST_ALLOW_SKIPS'


def main(name):
    """Runs the calling module's tests; the last line says how many passed,
    failed, were skipped and are known failures. A skipped test fails the
    run unless MEMPROXY_TEST_ALLOW_SKIPS=1: a test that cannot run where CI
    runs must not vanish unseen."""
    mod = sys.modules['__main__']
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    if len(sys.argv) > 1:
        suite = unittest.TestSuite()
        for n in sys.argv[1:]:
            suite.addTests(unittest.defaultTestLoader.loadTestsFromName(n, mod))
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout)
    t0 = time.monotonic()
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    xfail = len(res.expectedFailures)
    passed = max(0, res.testsRun - failed - skipped - xfail)
    allow_skips = os.environ.get(ALLOW_SKIPS_VAR) == '1'
    for test, why in res.skipped:
        print('SKIPPED %s: %s' % (test.id(), why))
    for test, _ in res.expectedFailures:
        print('EXPECTED FAILURE %s: %s' % (test.id(), _xfail_reason(test)))
    for test in res.unexpectedSuccesses:
        print('UNEXPECTED SUCCESS %s: the known bug (%s) looks fixed: remove @expected_failure'
              % (test.id(), _xfail_reason(test)))
    if skipped and not allow_skips:
        print('%d test(s) skipped: that fails the run (set %s=1 to allow skips)' % (skipped, ALLOW_SKIPS_VAR))
    print('%s: %d passed, %d failed (%d failures, %d errors, %d unexpected successes), %d skipped, '
          '%d expected failures in %.1f s'
          % (name, passed, failed, len(res.failures), len(res.errors), len(res.unexpectedSuccesses), skipped,
             xfail, time.monotonic() - t0))
    sys.stdout.flush()
    sys.exit(0 if res.wasSuccessful() and (allow_skips or not skipped) else 1)


def _xfail_reason(test):
    method = getattr(test, '_testMethodName', '')
    for cls in type(test).__mro__:
        reason = EXPECTED_FAILURES.get('%s.%s' % (cls.__qualname__, method))
        if reason is not None:
            return reason
    return 'no reason recorded'
