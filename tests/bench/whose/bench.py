#!/usr/bin/env python3
"""User turns lost to recognition (issue 63, requirement 4): replays every
development set (LoCoMo, BEAM, ml-dev in 13 languages) through one
memproxy (hybrid mode, the fake upstream as the chat and the memory
model) as three clients, a full-history client (a session per
conversation, session-id header, ~300-token system prompt), a stateless
app (the newest message alone under one system prompt) and a structured
app (the stateless app's requests under a JSON schema), each its own
user; then compares every user turn sent with the user messages
memproxy stored (the admin API's archive and buffer): recorded verbatim,
changed (a part cut), dropped. Also the client-text metrics of each
replay. Reported, not asserted. See tests/bench/README.md "Whose words".
Builds nothing. Python 3 standard library only.

Exit: 0 valid run; 1 setup error (missing binary or data, bad option);
2 invalid run (memproxy or the fake upstream failed, a request refused).
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'proxy'))
import turns as T  # noqa: E402
import harness  # noqa: E402  (a new connection per request: harness.request)


def _recall_bench():
    """tests/bench/recall/bench.py (processes, admin client), under another
    name than this file's."""
    spec = importlib.util.spec_from_file_location('recall_bench', os.path.join(HERE, '..', 'recall', 'bench.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rb = _recall_bench()

ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
BEAM_FILE = 'beam-500k-dev.json'
SETS = ('locomo', 'beam', 'ml')
DEFAULT_BEAM_SESSIONS = 0  # all: the whole run takes about 2 minutes on 2 CPUs
SHORT = dict(convs='30', sessions=4, beam_convs='1,7', beam_sessions=12, langs='en,zh,ar,hi', ml_messages=20)


def say(msg):
    print('whose: %s' % msg, file=sys.stderr, flush=True)


def die(msg):
    say(msg)
    sys.exit(1)


# --- command line -------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(prog='tests/bench/whose.sh',
                                description='User turns memproxy\'s recognition of client text drops (issue 63).')
    p.add_argument('--build', default=os.path.join(ROOT, 'build'),
                   help='meson build directory with proxy/memproxy and tests/fake_upstream/fake_upstream')
    p.add_argument('--locomo', help='LoCoMo directory (default $MEMPROXY_LOCOMO_DIR, else data/locomo-dev)')
    p.add_argument('--beam', help='BEAM directory holding %s (default $MEMPROXY_BEAM_DIR, else data/beam-dev)'
                   % BEAM_FILE)
    p.add_argument('--ml', help='ml-dev\'s needles-dev.json (default $MEMPROXY_ML_DEV, else '
                                'data/ml-dev/needles-dev.json)')
    p.add_argument('--sets', default=','.join(SETS),
                   help='comma-separated subset of locomo,beam,ml (default: all; a set whose default data is '
                        'missing is skipped with a note, a set whose data was named must be there)')
    p.add_argument('--convs', help='LoCoMo conversations, comma-separated (default: all)')
    p.add_argument('--sessions', type=int, help='the first N sessions of each LoCoMo conversation (default: all)')
    p.add_argument('--beam-convs', help='BEAM chat ids, comma-separated (default: all)')
    p.add_argument('--beam-sessions', type=int, default=None,
                   help='the first N sessions (days) of each BEAM chat (default: all; 0: all)')
    p.add_argument('--langs', help='ml-dev languages, comma-separated (default: all 13)')
    p.add_argument('--ml-messages', type=int, help='the first N messages of each ml-dev language (default: all)')
    p.add_argument('--ml-session', type=int, default=10,
                   help='ml-dev messages per session of the full-history client (default 10)')
    p.add_argument('--workers', type=int, default=3, help='memproxy [server] workers (default 3)')
    p.add_argument('--short', action='store_true',
                   help='CI slice: LoCoMo 30 sessions 1-%d, BEAM chats %s days 1-%d, ml-dev %s first %d messages'
                        % (SHORT['sessions'], SHORT['beam_convs'], SHORT['beam_sessions'], SHORT['langs'],
                           SHORT['ml_messages']))
    p.add_argument('--out', default=os.path.join(ROOT, '.bench', 'whose.md'), help='the report, also on stdout')
    p.add_argument('--keep-tmp', action='store_true', help='keep the configuration, store and logs')
    a = p.parse_args(argv)
    for name in ('sessions', 'ml_messages', 'ml_session', 'workers'):
        v = getattr(a, name)
        if v is not None and v <= 0:
            p.error('--%s: a whole number above 0' % name.replace('_', '-'))
    if a.beam_sessions is not None and a.beam_sessions < 0:
        p.error('--beam-sessions: 0 or more')
    a.sets = [s for s in a.sets.split(',') if s]
    if not a.sets or any(s not in SETS for s in a.sets):
        p.error('--sets: a subset of %s' % ','.join(SETS))
    if a.short:
        for k, v in SHORT.items():
            if getattr(a, k) is None:
                setattr(a, k, v)
    if a.beam_sessions is None:
        a.beam_sessions = DEFAULT_BEAM_SESSIONS
    a.build = os.path.abspath(a.build)
    a.required = {'locomo': bool(a.locomo or os.environ.get('MEMPROXY_LOCOMO_DIR')),
                  'beam': bool(a.beam or os.environ.get('MEMPROXY_BEAM_DIR')),
                  'ml': bool(a.ml or os.environ.get('MEMPROXY_ML_DEV'))}
    a.locomo = os.path.abspath(a.locomo or os.environ.get('MEMPROXY_LOCOMO_DIR')
                               or os.path.join(ROOT, 'data', 'locomo-dev'))
    a.beam = os.path.abspath(a.beam or os.environ.get('MEMPROXY_BEAM_DIR') or os.path.join(ROOT, 'data', 'beam-dev'))
    a.ml = os.path.abspath(a.ml or os.environ.get('MEMPROXY_ML_DEV')
                           or os.path.join(ROOT, 'data', 'ml-dev', 'needles-dev.json'))
    return a


def load_chats(a):
    """(chats, notes): the chats of every set asked for; a set whose default
    data is missing is skipped with a note, one whose data was named is a
    setup error."""
    chats, notes = [], []

    def missing(name, path):
        if a.required[name]:
            die('no %s data at %s' % (name, path))
        notes.append('%s NOT RUN: no data at %s' % (name, path))

    if 'locomo' in a.sets:
        if not os.path.isdir(a.locomo):
            missing('locomo', a.locomo)
        else:
            ids = a.convs.split(',') if a.convs else sorted(
                f[:-5] for f in os.listdir(a.locomo) if f.endswith('.json') and f[:-5].isdigit())
            for c in ids:
                path = os.path.join(a.locomo, c + '.json')
                if not os.path.isfile(path):
                    die('no conversation %s in %s' % (c, a.locomo))
                chats.append(T.load_locomo(path, c, a.sessions))
    if 'beam' in a.sets:
        path = os.path.join(a.beam, BEAM_FILE)
        if not os.path.isfile(path):
            missing('beam', path)
        else:
            ids = set(a.beam_convs.split(',')) if a.beam_convs else None
            found = T.load_beam(path, ids, a.beam_sessions or None)
            if ids is not None and len(found) != len(ids):
                die('BEAM chats %s not all in %s' % (a.beam_convs, path))
            chats += found
    if 'ml' in a.sets:
        if not os.path.isfile(a.ml):
            missing('ml', a.ml)
        else:
            langs = set(a.langs.split(',')) if a.langs else None
            found = T.load_ml(a.ml, langs, a.ml_session, a.ml_messages)
            if langs is not None and len(found) != len(langs):
                die('ml-dev languages %s not all in %s' % (a.langs, a.ml))
            chats += found
    if not chats:
        die('no data for any set (%s)' % '; '.join(notes))
    return chats, notes


# --- the processes ------------------------------------------------------------------------


def config(procs, workers):
    """One memproxy: several workers, hybrid mode, each turn's extraction
    due at once, everything else memproxy's default; the admin API."""
    lines = ['[server]', 'listen = 127.0.0.1:%d' % procs.port, 'admin_listen = 127.0.0.1:%d' % procs.admin_port,
             'workers = %d' % workers,
             '[upstream]', 'base_url = http://127.0.0.1:%d/v1' % procs.fake_port, 'api_key = sk-bench',
             '[memory]', 'mode = hybrid', 'extract_idle_seconds = 0',
             '[storage]', 'path = %s' % os.path.join(procs.dir, 'store'), 'sync = none',
             '[admin]', 'token = %s' % procs.token, '[log]', 'level = warn']
    return '\n'.join(lines) + '\n'


def start(a, tmp):
    opts = types.SimpleNamespace(memproxy=a.memproxy, fake=a.fake, archive='omit', postgres=None)
    procs = rb.Procs(opts, tmp, 'hybrid', 0, 'default')
    procs.config = lambda: config(procs, a.workers)
    try:
        procs.start()
    except BaseException:
        procs.stop()
        raise
    return procs


# --- one replay ---------------------------------------------------------------------------


def send(procs, user, turn, body, headers, reply):
    """One chat request on a new connection, after telling the fake its
    answer; fills turn.rid and turn.error."""
    if reply is not None:
        st, _ = rb.request(procs.fake_port, 'POST', '/_fake/reply', reply.encode('utf-8'),
                           {'Content-Type': 'text/plain'})
        if st != 200:
            raise rb.RunError('POST /_fake/reply answered %d' % st)
    h = [('Content-Type', 'application/json'), ('Authorization', 'Bearer sk-bench'), ('X-User-Id', user)]
    h += list(headers.items())
    r = harness.request(procs.port, 'POST', '/v1/chat/completions', h, body, timeout=60)
    if r.status != 200:
        raise rb.RunError('%s %s turn %s answered %r: %s' % (turn.set, turn.conv, turn.tid, r.status,
                                                              bytes(r.body[:200])))
    turn.rid = r.header('x-memproxy-request-id')
    turn.error = r.header('x-memory-error')


def wait_idle(procs, secs=300):
    """Until memproxy_memory_queue_depth is 0 (turns recorded, jobs run)."""
    if rb.wait_queue_empty(rb.Client(procs.admin_port), secs) != 0:
        raise rb.RunError('the memory queue is not empty after %d s' % secs)


def metrics(procs):
    st, body = rb.request(procs.admin_port, 'GET', '/metrics')
    if st != 200:
        raise rb.RunError('GET /metrics answered %d' % st)
    return T.parse_metrics(body.decode('utf-8', 'replace'))


def stored(procs, user):
    """The user's stored user messages: the archive's pages (limit 1000,
    following archive_next_cursor) and the buffer."""
    pages, buffer, cursor = [], [], None
    auth = {'Authorization': 'Bearer ' + procs.token}
    while True:
        q = '?limit=1000' + ('' if cursor is None else '&cursor=' + urllib.parse.quote(cursor))
        st, body = rb.request(procs.admin_port, 'GET', '/admin/users/%s/memory%s' % (
            urllib.parse.quote(user, safe=''), q), None, auth, timeout=60)
        if st == 404:
            break
        if st != 200:
            raise rb.RunError('GET memory of %s answered %d: %s' % (user, st, body[:200]))
        doc = json.loads(body)
        if cursor is None:
            buffer = doc.get('buffer') or []
        pages.append(doc.get('archive') or [])
        cursor = doc.get('archive_next_cursor')
        if cursor is None:
            break
    return T.stored_user_messages(pages, buffer)


def replay_set(procs, chats, shape):
    """Every chat of one set replayed by one client shape, then memory
    idle: [Turn] compared with what was stored, and the metrics' change."""
    before = metrics(procs)
    out = []
    for chat in chats:
        user = T.user_id(chat, shape)
        mine = []
        for turn, body, headers, reply in T.requests(chat, shape):
            send(procs, user, turn, body, headers, reply)
            mine.append(turn)
        out.append((user, mine))
    wait_idle(procs)
    turns = []
    for user, mine in out:
        turns += T.compare(mine, stored(procs, user))
    return turns, T.metrics_delta(before, metrics(procs))


# --- the report ---------------------------------------------------------------------------


def pooled(counts, groups, shape):
    c = dict.fromkeys(('turns', 'verbatim', 'changed', 'dropped', 'unrecorded', 'repeats'), 0)
    for g in groups:
        for k, v in counts.get((g, shape), {}).items():
            c[k] += v
    return c


def row(label, shape, c):
    return '| %s | %s | %d | %d | %d | %d | %d | %d |' % (
        label, T.SHAPE_NAMES[shape], c['turns'], c['verbatim'], c['dropped'], c['changed'], c['unrecorded'],
        c['repeats'])


def set_label(a, ds, chats):
    ids = ','.join(c.id for c in chats if c.dataset == ds)
    if ds == 'locomo':
        return 'LoCoMo %s%s' % (ids, '' if a.sessions is None else ', sessions 1-%d' % a.sessions)
    if ds == 'beam':
        return 'BEAM %s%s' % (ids, ', days 1-%d' % a.beam_sessions if a.beam_sessions else '')
    return 'ml-dev %d languages%s' % (len([c for c in chats if c.dataset == 'ml']),
                                      '' if a.ml_messages is None else ', messages 1-%d' % a.ml_messages)


def report(a, chats, turns, deltas, notes, secs):
    counts = T.tally(turns)
    sets = [ds for ds in SETS if any(c.dataset == ds for c in chats)]
    out = ['# Whose words: user turns lost to recognition (tests/bench/whose.sh%s)' % (' --short' if a.short else ''),
           '', 'Binary: %s; %d workers, hybrid mode, extract_idle_seconds 0, the rest default; ml-dev in sessions '
           'of %d messages for the full-history client. %.0f s.' % (a.memproxy, a.workers, a.ml_session, secs), '']
    out += ['%s.' % n for n in notes] + ([''] if notes else [])
    head = ['| set | client | user turns | recorded verbatim | dropped | changed | not recorded (X-Memory-Error) '
            '| byte-identical repeats sent |', '|---|---|---:|---:|---:|---:|---:|---:|']
    out += head
    for ds in sets:
        groups = sorted({T.group_of(c) for c in chats if c.dataset == ds})
        for shape in T.SHAPES:
            out.append(row(set_label(a, ds, chats), shape, pooled(counts, groups, shape)))
    for shape in T.SHAPES:
        out.append(row('all', shape, pooled(counts, sorted({g for g, _ in counts}), shape)))
    langs = sorted(g for g, _ in counts if g.startswith('ml-dev '))
    if langs:
        out += ['', 'ml-dev per language:', ''] + head
        for g in sorted(set(langs)):
            for shape in T.SHAPES:
                out.append(row(g, shape, pooled(counts, [g], shape)))
    out += ['', 'Metrics counted during each replay (until memory was idle after it); absent: the binary has no '
            'such series.', '',
            '| set | client | %s |' % ' | '.join(n.replace('memproxy_', '') for n in T.METRICS),
            '|---|---|%s' % ('---|' * len(T.METRICS))]
    for ds in sets:
        for shape in T.SHAPES:
            d = deltas.get((ds, shape), {})
            out.append('| %s | %s | %s |' % (ds, T.SHAPE_NAMES[shape], ' | '.join(
                T.metric_cell(d, n) for n in T.METRICS)))
    lost = [t for t in turns if t.status in ('dropped', 'changed', 'unrecorded')]
    if lost:
        out += ['', 'Turns not recorded verbatim. Repeat of: an earlier turn of the same user whose request body '
                'was byte-identical. Left out: what the stored text lacks. Likely rule: a guess from the client '
                'side (turns.likely_rule); the metrics above say which rules fired.', '',
                '| set | conv | client | turn | status | likely rule | repeat of | sent (first 120 chars) '
                '| left out (first 120) |', '|---|---|---|---|---|---|---|---|---|']
        for t in lost:
            cut = T.left_out(t.text, t.stored) if t.stored is not None else ''
            others = [x.text for x in turns if (x.set, x.conv, x.shape) == (t.set, t.conv, t.shape) and x is not t]
            out.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
                t.group, t.conv, T.SHAPE_NAMES[t.shape], t.tid, t.status + (' (%s)' % t.error if t.error else ''),
                T.likely_rule(t, cut, others), t.repeat_of or '', cell(t.text), cell(cut)))
    return '\n'.join(out) + '\n'


def cell(text):
    """Up to 120 characters of text for a Markdown cell."""
    s = ' '.join(text.split())
    return (s[:120] + ('...' if len(s) > 120 else '')).replace('|', '\\|')


# --- main ---------------------------------------------------------------------------------


def main(argv):
    a = parse_args(argv)
    rb.find_binaries(a, die)
    chats, notes = load_chats(a)
    tmp = tempfile.mkdtemp(prefix='memproxy-whose-')
    t0 = time.monotonic()
    turns, deltas, failure = [], {}, None
    procs = None
    try:
        procs = start(a, tmp)
        for ds in SETS:
            mine = [c for c in chats if c.dataset == ds]
            if not mine:
                continue
            for shape in T.SHAPES:
                t1 = time.monotonic()
                got, deltas[(ds, shape)] = replay_set(procs, mine, shape)
                turns += got
                say('%s, %s: %d turns, %.1f s' % (ds, T.SHAPE_NAMES[shape], len(got), time.monotonic() - t1))
    except (rb.RunError, OSError, ValueError, KeyError) as e:
        failure = str(e) or type(e).__name__
        say('FAILED: %s' % failure)
    finally:
        if procs is not None:
            why = procs.stop()
            if why and failure is None:
                failure = why
        if a.keep_tmp:
            say('temporary files kept in %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    text = report(a, chats, turns, deltas, notes, time.monotonic() - t0)
    if failure is not None:
        text += '\nINVALID RUN: %s\n' % failure
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, 'w', encoding='utf-8') as f:
        f.write(text)
    sys.stdout.write(text)
    return 2 if failure is not None else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
