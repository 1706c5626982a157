#!/usr/bin/env python3
"""Prompt-cache benchmark (issue 32 requirement 7): replays LoCoMo and BEAM
chats as a full-history client, once straight to the fake upstream and once
through memproxy (hybrid mode), and compares prompt tokens, cached share
and billed input per request; also the seed's comparison (a client that
resends its lifetime history, direct, against one that sends only its
newest message through memproxy, memory jobs included) and how often a
LoCoMo question asked as the newest turn of a later session gets its
evidence injected; and the same replay as a front end that opens a new
chat per session (X-OpenWebUI-Chat-Id), with that evidence split by how
many sessions back it lies (issue 50 requirement 10). Reported, not asserted: exits 0 on a valid run.
See tests/bench/README.md "Prompt caching". Python 3 standard library only.

Exit: 0 valid run; 1 setup error (missing binary or data, bad option);
2 invalid run (memproxy or the fake upstream failed).
"""

import argparse
import concurrent.futures
import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import replay  # noqa: E402  (also puts tests/bench/recall on the path)
import locomo  # noqa: E402


def _recall_bench():
    """tests/bench/recall/bench.py (processes, HTTP), under another name
    than this file's."""
    spec = importlib.util.spec_from_file_location('recall_bench', os.path.join(HERE, '..', 'recall', 'bench.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rb = _recall_bench()

ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
MODEL = 'gpt-4o-mini'
BEAM_FILE = 'beam-500k-dev.json'


def say(msg):
    print('cache: %s' % msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog='tests/bench/cache.sh',
                                description='Prompt caching through memproxy against direct (issue 32).')
    p.add_argument('--build', default=os.path.join(ROOT, 'build'),
                   help='meson build directory with proxy/memproxy and tests/fake_upstream/fake_upstream')
    p.add_argument('--locomo', help='LoCoMo directory (default $MEMPROXY_LOCOMO_DIR, else data/locomo-dev)')
    p.add_argument('--beam', help='BEAM directory holding %s (default $MEMPROXY_BEAM_DIR, else data/beam-dev)'
                   % BEAM_FILE)
    p.add_argument('--convs', help='LoCoMo conversations, comma-separated (default: all; --short: 30)')
    p.add_argument('--beam-convs', help='BEAM chat ids, comma-separated (default: all; --short: 1; none: skip)')
    p.add_argument('--sessions', type=int, help='replay only the first N sessions of each LoCoMo conversation')
    p.add_argument('--beam-sessions', type=int, help='replay only the first N sessions (days) of each BEAM chat')
    p.add_argument('--budget', type=int, help='[memory] context_budget_tokens (default: not written)')
    p.add_argument('--workers', type=int, default=4,
                   help='[server] workers of memproxy (default 4: as a deployment runs it; 1: the old setting)')
    p.add_argument('--connection', choices=('new', 'keep'), default='new',
                   help='new (default): every request through memproxy on a new TCP connection, as a '
                        'deployment\'s front end opens them (with SO_REUSEPORT it lands on any worker); '
                        'keep: one keep-alive connection for the whole replay')
    p.add_argument('--memory', action='append', default=[], metavar='KEY=VALUE',
                   help='one more [memory] setting (repeatable), e.g. head_share=50')
    p.add_argument('--no-seed', action='store_true', help='skip the lifetime/newest-only comparison')
    p.add_argument('--no-chats', action='store_true',
                   help='skip the replay as a front end that opens a new chat per session (X-OpenWebUI-Chat-Id)')
    p.add_argument('--no-idle', action='store_true',
                   help='sessions follow each other with no pause: extraction batches go by extract_batch_turns '
                        'only, the last made due at the end of the replay (default: the user is idle between '
                        'sessions, so each session\'s pending batch goes at its end)')
    p.add_argument('--lifetime-window', type=int, default=100000,
                   help='over this many tokens the lifetime client drops its oldest sessions down to half (default '
                        '100000: a 128k context; the fake caches no body over 512 KiB); 0: never')
    p.add_argument('--parallel', type=int, default=0,
                   help='replays run at once, each in a memproxy and fake upstream of its own (default 0: '
                        'all: a chat\'s three replays and every chat\'s; the rows do not depend on it)')
    p.add_argument('--short', action='store_true',
                   help='CI slice: LoCoMo 30 sessions 1-10, BEAM chat 1 days 1-100')
    p.add_argument('--out', default=os.path.join(ROOT, '.bench', 'cache-rows.tsv'), help='per-request rows')
    p.add_argument('--keep-tmp', action='store_true', help='keep configs, stores and logs')
    a = p.parse_args(argv)
    for name in ('sessions', 'beam_sessions'):
        if getattr(a, name) is not None and getattr(a, name) <= 0:
            p.error('--%s: a whole number above 0' % name.replace('_', '-'))
    if a.parallel < 0:
        p.error('--parallel: 0 or more')
    if a.workers <= 0:
        p.error('--workers: a whole number above 0')
    if a.lifetime_window < 0 or (a.budget is not None and a.budget < 0):
        p.error('--lifetime-window and --budget: 0 or more')
    for kv in a.memory:
        if '=' not in kv or not kv.split('=', 1)[0].strip() or '\n' in kv:
            p.error('--memory %r: KEY=VALUE' % kv)
    a.locomo = data_dir(a.locomo, 'MEMPROXY_LOCOMO_DIR', 'data/locomo-dev')
    a.beam = data_dir(a.beam, 'MEMPROXY_BEAM_DIR', 'data/beam-dev')
    a.build = os.path.abspath(a.build)
    a.convs = (a.convs or ('30' if a.short else '')).split(',') if (a.convs or a.short) else None
    a.beam_convs = (a.beam_convs or ('1' if a.short else 'all')).split(',')
    if a.beam_convs == ['none']:
        a.beam_convs = []
    if a.short:
        a.sessions = a.sessions or 10
        a.beam_sessions = a.beam_sessions or 100
    return a


def data_dir(given, env, default):
    d = given or os.environ.get(env) or os.path.join(ROOT, default)
    return os.path.abspath(d)


def load_chats(a):
    chats = []
    if not os.path.isdir(a.locomo):
        die('no LoCoMo directory %s (--locomo or MEMPROXY_LOCOMO_DIR)' % a.locomo)
    ids = a.convs or sorted(f[:-5] for f in os.listdir(a.locomo) if f[:-5].isdigit() and f.endswith('.json'))
    for c in ids:
        path = os.path.join(a.locomo, c + '.json')
        if not os.path.isfile(path):
            die('no conversation %s in %s' % (c, a.locomo))
        chats.append(replay.load_locomo(path, c).head(a.sessions))
    if a.beam_convs:
        path = os.path.join(a.beam, BEAM_FILE)
        if not os.path.isfile(path):
            die('no %s (--beam or MEMPROXY_BEAM_DIR; --beam-convs none to skip)' % path)
        found = replay.load_beam(path, None if a.beam_convs == ['all'] else set(a.beam_convs))
        if a.beam_convs != ['all'] and len(found) != len(a.beam_convs):
            die('BEAM chats %s not all in %s' % (','.join(a.beam_convs), path))
        chats += [c.head(a.beam_sessions) for c in found]
    return chats


def die(msg):
    say(msg)
    sys.exit(1)


# --- one replay ---------------------------------------------------------------------------


def post_chat(client, messages, headers=None):
    """(prompt, cached, response headers) of one chat completion."""
    body = json.dumps({'model': MODEL, 'max_tokens': 64, 'messages': messages}).encode()
    h = {'Content-Type': 'application/json', 'Authorization': 'Bearer sk-bench'}
    h.update(headers or {})
    st, hdr, ans = client.request('POST', '/v1/chat/completions', body, h)
    if st != 200:
        raise rb.RunError('a chat request answered %d: %s' % (st, ans[:200]))
    if 'x-memory-error' in hdr:
        raise rb.RunError('a chat request answered X-Memory-Error: %s' % hdr['x-memory-error'])
    prompt, cached = replay.usage_of(ans)
    return prompt, cached, hdr


def cache_sums(fake):
    st, _, body = fake.request('GET', '/_fake/cache')
    if st != 200:
        raise rb.RunError('GET /_fake/cache answered %d' % st)
    return json.loads(body)


def set_reply(fake, text):
    """The fake's next chat answer says text (POST /_fake/reply)."""
    if fake.request('POST', '/_fake/reply', text.encode('utf-8'), {'Content-Type': 'text/plain'})[0] != 200:
        raise rb.RunError('POST /_fake/reply failed')


def reset_fake(fake):
    if fake.request('POST', '/_fake/reset')[0] != 200:
        raise rb.RunError('POST /_fake/reset failed')


def replay_direct(fake, reqs):
    """[(prompt, cached)] of reqs sent straight to the fake (caches reset first)."""
    reset_fake(fake)
    return [post_chat(fake, msgs)[:2] for _, msgs in reqs]


def replay_memproxy(env, chat, reqs, ask=None):
    """[(prompt, cached, injected tokens)] of reqs ((session, messages), or
    (session, messages, chat id): sent with X-OpenWebUI-Chat-Id) sent
    through memproxy as chat.user, the fake upstream answering each with its real reply
    (replay.replies: memproxy records what the client resends); after each request the memory queue is drained (a user
    takes a while to write the next message; and so the run does not
    depend on how fast the jobs are) but for the extraction batches not
    due yet; after each session's last one the pending batches are made
    due (the user is idle until the next session: POST /admin/extract) and
    drained, and ask(session) asks the evidence questions. Returns the rows
    and the memory jobs' billed input (the fake's sums less the chat
    requests' own); env.jobs gets the memory-model calls by kind and
    env.job_prompt their prompt tokens."""
    reset_fake(env.fake)
    rows, own, own_prompt = [], 0.0, 0
    hdrs = {'X-User-Id': chat.user}
    answers = replay.replies(chat)
    for i, (s, msgs, *cid) in enumerate(reqs):
        if answers[i] is not None:
            set_reply(env.fake, answers[i])
        prompt, cached, hdr = post_chat(env.mp, msgs, dict(hdrs, **chat_header(cid)))
        own += replay.billed(prompt, cached)
        own_prompt += prompt
        rows.append((prompt, cached, int(hdr.get('x-memory-injected-tokens', 0))))
        drain(env.admin)
        if i + 1 == len(reqs) or (reqs[i + 1][0] != s and not env.busy):
            extract_now(env)
            if ask is not None:
                spent, asked = ask(s)
                own += spent
                own_prompt += asked
    sums = cache_sums(env.fake)
    total = replay.billed(sums['input_tokens'], sums['cached_tokens'])
    st, _, kinds = env.fake.request('GET', '/_fake/jobs')
    if st != 200:
        raise rb.RunError('GET /_fake/jobs answered %d' % st)
    kinds = json.loads(kinds)
    env.jobs = [env.jobs[0] + kinds['extract'], env.jobs[1] + kinds['summarize']]
    env.job_prompt += sums['input_tokens'] - own_prompt
    return rows, total - own


def extract_now(env):
    """The user is idle: the pending extraction batches are due now
    (POST /admin/extract; a memproxy without batches answers 404: nothing
    waits there), then drained."""
    auth = {'Authorization': 'Bearer %s' % env.procs.token}
    st, _, body = env.admin.request('POST', '/admin/extract', b'', auth)
    if st not in (200, 404):
        raise rb.RunError('POST /admin/extract answered %d: %s' % (st, body[:200]))
    drain(env.admin)


def drain(admin, secs=120):
    """Waits until memproxy_memory_queue_depth is 0 but for the extraction
    jobs held for their batch (memproxy_memory_jobs_held{reason="batch"};
    polled every 5 ms, then less often, up to every 50 ms, as the wait grows:
    many pairs wait at once with --parallel); RunError after secs."""
    end = time.monotonic() + secs
    pause = 0.005
    while True:
        st, _, body = admin.request('GET', '/metrics')
        depth, held = None, 0
        for ln in body.decode('utf-8', 'replace').splitlines():
            if ln.startswith('memproxy_memory_queue_depth '):
                depth = float(ln.split()[1])
            elif ln.startswith('memproxy_memory_jobs_held{reason="batch"} '):
                held = float(ln.split()[1])
        if st == 200 and depth == held:
            return
        if time.monotonic() > end:
            raise rb.RunError('the memory queue still holds %s items after %d s' % (depth, secs))
        time.sleep(pause)
        pause = min(pause * 1.25, 0.05)


def chat_header(cid):
    """The front end's chat id header of [chat id], none of []."""
    return {'X-OpenWebUI-Chat-Id': cid[0]} if cid else {}


# --- evidence ------------------------------------------------------------------------------


def asker(env, chat, ev, dist, chats=False):
    """ask(session) for replay_memproxy: asks each question slotted in
    that session as its newest turn (X-Memory: read, nothing recorded; with
    chats, in that session's chat: its X-OpenWebUI-Chat-Id), counts in ev
    the evidence turns whose text memproxy inserted, by category and
    speaker, and in dist by distance (replay.tally_distance); returns the
    billed input of those requests."""
    slots = replay.question_slots(chat)

    def ask(s):
        spent, asked = 0.0, 0
        for q in slots.get(s, []):
            msgs = [replay.system_message()] + [replay.plain(m) for m in chat.sessions[s]]
            msgs.append({'role': 'user', 'content': q['q']})
            hdrs = dict({'X-User-Id': chat.user, 'X-Memory': 'read'},
                        **chat_header([replay.chat_id(chat, s)] if chats else []))
            prompt, cached, _ = post_chat(env.mp, msgs, hdrs)
            spent += replay.billed(prompt, cached)
            asked += prompt
            body, _ = rb.upstream_body(env.fake, q['q'])
            found = found_ids(chat, q['ev'], replay.inserted_parts(msgs, body.get('messages') or []))
            replay.tally_distance(dist, chat, s, q['ev'], found)
            for e in q['ev']:
                side = 'user' if chat.role_of[e] == 'user' else 'assistant'
                c = ev.setdefault((q['cat'], side), [0, 0])
                c[0] += e in found
                c[1] += 1
        return spent, asked
    return ask


def found_ids(chat, ids, parts):
    items = [{'content': chat.texts[e]} for e in ids]
    hit = locomo.Matcher(items).found(parts)
    return {ids[i] for i in hit}


# --- one chat ----------------------------------------------------------------------------


START_LOCK = threading.Lock()

# The replay's wall time is not the user's: a lone turn's extraction waits
# 5 s (docs/memory-whose-words.md, side requests), so a replay takes hours, and
# memproxy's clock would end batches and heads where the run's speed says.
# The bench says when the user is idle (POST /admin/extract), so no batch
# goes by the clock, and a head lasts the replay (unless --memory sets them).
CLOCK_SETTINGS = ('extract_idle_seconds = 3600', 'head_max_age_seconds = 604800')


def clock_settings(memory):
    """CLOCK_SETTINGS less those a --memory setting gives."""
    given = {kv.split('=', 1)[0].strip() for kv in memory}
    return [kv for kv in CLOCK_SETTINGS if kv.split('=', 1)[0].strip() not in given]


class Env:
    """A fake upstream and a fresh memproxy (hybrid mode) in front of it."""

    def __init__(self, a, tmp, name, upstream=()):
        d = tempfile.mkdtemp(prefix=name + '-', dir=tmp)
        self.upstream_settings = list(upstream)  # lines after [upstream]'s own
        opts = types.SimpleNamespace(memproxy=a.memproxy, fake=a.fake, archive='omit', postgres=None)
        self.procs = rb.Procs(opts, d, 'hybrid', 1500 if a.budget is None else a.budget, 'default')
        self.budget_written = a.budget is not None
        self.memory_settings = a.memory
        self.workers, self.connection = a.workers, a.connection
        self.procs.config = self._config
        self.mp = self.admin = self.fake = None
        self.jobs = [0, 0]  # extractions, summaries (the fake's count)
        self.job_prompt = 0  # the memory-model calls' prompt tokens (the fake's sums)
        self.busy = a.no_idle

    def _config(self):
        """The recall bench's configuration, with --workers workers, without the budget unless
        --budget gave one, with the --memory settings after [memory]'s own and the upstream
        settings after [upstream]'s."""
        out = []
        lines = rb.Procs.config(self.procs).split('\n')
        if self.upstream_settings and '[upstream]' not in lines:
            raise rb.RunError('the recall bench\'s configuration has no [upstream] section')
        for ln in lines:
            if ln.startswith('context_budget_tokens') and not self.budget_written:
                continue
            if ln.startswith('workers ='):
                ln = 'workers = %d' % self.workers
            out.append(ln)
            if ln == '[upstream]':
                out += self.upstream_settings
            if ln.startswith('context_budget_tokens') or (ln.startswith('mode =') and not self.budget_written):
                out += self.memory_settings + clock_settings(self.memory_settings)
        return '\n'.join(out) + '\n'

    def __enter__(self):
        try:
            with START_LOCK:  # the free ports chosen and bound by one pair at a time
                self.procs.start()
        except BaseException:
            self.procs.stop()
            raise
        self.mp = (FreshClient if self.connection == 'new' else rb.Client)(self.procs.port)
        self.admin = rb.Client(self.procs.admin_port)
        self.fake = rb.Client(self.procs.fake_port)
        return self

    def __exit__(self, *exc):
        for c in (self.mp, self.admin, self.fake):
            if c is not None:
                c.close()
        why = self.procs.stop()
        if why and exc[0] is None:
            raise rb.RunError(why)


class FreshClient:
    """rb.Client's request on a new TCP connection each time, closed once
    the answer is read (--connection new): as a deployment's front end
    opens connections now and then, and with SO_REUSEPORT each lands on
    any of memproxy's workers."""

    def __init__(self, port):
        self.port = port
        self.opened = 0

    def request(self, method, path, body=None, headers=None):
        """(status, {lower-case header: value}, body bytes)."""
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        self.opened += 1
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def close(self):
        pass


def run_full(a, tmp, chat):
    """Steps 1 and 2 of one chat in a fresh pair: the full-history client
    direct and through memproxy, the evidence questions asked."""
    reqs = replay.full_history(chat)
    ev, dist = {}, {}
    with Env(a, tmp, '%s-%s-full' % (chat.dataset, chat.id)) as env:
        direct = replay_direct(env.fake, reqs)
        ask = asker(env, chat, ev, dist) if chat.questions else None
        through, jobs = replay_memproxy(env, chat, reqs, ask)
        return dict(direct=direct, through=through, jobs=jobs, kinds=env.jobs, job_prompt=env.job_prompt,
                    ev=ev, dist=dist)


def run_chats(a, tmp, chat):
    """Step 4 of one chat in a fresh pair: the same requests, each session
    a chat of its own (X-OpenWebUI-Chat-Id)."""
    out = {'chats_dist': {}}
    with Env(a, tmp, '%s-%s-chats' % (chat.dataset, chat.id)) as env:
        ask = asker(env, chat, {}, out['chats_dist'], chats=True) if chat.questions else None
        out['chats'], out['chats_jobs'] = replay_memproxy(env, chat, replay.session_chats(chat), ask)
        out['chats_job_prompt'] = env.job_prompt
    return out


def run_seed(a, tmp, chat):
    """Step 3 of one chat in a fresh pair: the lifetime history direct,
    the newest message only through memproxy."""
    out = {}
    with Env(a, tmp, '%s-%s-seed' % (chat.dataset, chat.id)) as env:
        life = replay.lifetime_history(chat, a.lifetime_window or None)
        out['life'] = replay_direct(env.fake, life)
        out['newest'], out['newest_jobs'] = replay_memproxy(env, chat, replay.newest_only(chat))
        out['newest_kinds'] = env.jobs
    return out


def tasks_of(a, chat):
    """The replays of one chat, each in a fresh memproxy and fake upstream
    of its own, so that they may run at once (--parallel)."""
    return [run_full] + ([] if a.no_chats else [run_chats]) + ([] if a.no_seed else [run_seed])


def chat_rows(chat, out):
    """The per-request rows of one chat whose replays filled out."""
    reqs = replay.full_history(chat)
    chats = out.get('chats') or [None] * len(reqs)
    return [(chat.dataset, chat.id, s, i, d, t, c)
            for i, ((s, _), d, t, c) in enumerate(zip(reqs, out['direct'], out['through'], chats))]


# --- report ------------------------------------------------------------------------------


def fold(pairs):
    """(requests, mean prompt, cached share, mean billed) of [(prompt, cached, ...)]."""
    n = len(pairs)
    prompt = sum(p[0] for p in pairs)
    cached = sum(p[1] for p in pairs)
    cost = sum(replay.billed(p[0], p[1]) for p in pairs)
    return n, prompt / n if n else 0.0, cached / prompt if prompt else 0.0, cost / n if n else 0.0


def rows_text(rows):
    out = ['dataset\tconv\tsession\treq\tdirect_prompt\tdirect_cached\tdirect_share\tdirect_billed\t'
           'mp_prompt\tmp_cached\tmp_share\tmp_billed\tmp_injected\tbilled_ratio\t'
           'chats_prompt\tchats_cached\tchats_share\tchats_billed\tchats_injected\tchats_ratio']
    for ds, cid, s, i, d, t, c in rows:
        db = replay.billed(d[0], d[1])
        out.append('%s\t%s\t%d\t%d\t%d\t%d\t%.2f\t%.1f\t%s\t%s' % (
            ds, cid, s + 1, i + 1, d[0], d[1], d[1] / d[0] if d[0] else 0, db, row_cells(t, db),
            row_cells(c, db) if c is not None else '\t'.join(['n/a'] * 6)))
    return '\n'.join(out) + '\n'


def row_cells(t, db):
    """One replay's cells of a request through memproxy (prompt, cached,
    share, billed, injected, ratio to direct's billed db)."""
    tb = replay.billed(t[0], t[1])
    return '%d\t%d\t%.2f\t%.1f\t%d\t%s' % (t[0], t[1], t[1] / t[0] if t[0] else 0, tb, t[2],
                                         '%.2f' % (tb / db) if db else 'n/a')


def report(a, chats, res, secs):
    out = ['# Prompt caching through memproxy (tests/bench/cache.sh%s)' % (' --short' if a.short else ''), '',
           'Binary: %s (%s); workers: %d; %s; budget: %s; cached input billed at %.1f; %s. %.0f s.' % (
               a.memproxy, version(a.memproxy), a.workers, 'a new connection per request' if a.connection == 'new' else
               'one keep-alive connection', 'default' if a.budget is None else a.budget, replay.CACHED_PRICE,
               'no pause between sessions (--no-idle)' if a.no_idle else
               'the user idle between sessions (pending extraction batches go at each session\'s end)',
               secs), '']
    out += ['| dataset | chats | client | requests | mean prompt | cached share | billed input/request '
            '| injected/request | memory jobs/request | memory calls/request | memory prompt/request | ratio '
            '| all input ratio |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    verdicts, seed, kinds = [], [], []
    for ds in ('locomo', 'beam'):
        mine = [c for c in chats if c.dataset == ds and c.id in res.get(ds, {})]
        if not mine:
            continue
        r = [res[ds][c.id] for c in mine]
        d = fold([x for v in r for x in v['direct']])
        t = fold([x for v in r for x in v['through']])
        inj = sum(x[2] for v in r for x in v['through']) / t[0] if t[0] else 0
        jobs = sum(v['jobs'] for v in r) / t[0] if t[0] else 0
        kinds.append('%s: %d extractions, %d summaries' % (
            ds, sum(v['kinds'][0] for v in r), sum(v['kinds'][1] for v in r)))
        ids = ','.join(c.id for c in mine)
        calls = sum(sum(v['kinds']) for v in r) / t[0] if t[0] else 0
        jprompt = sum(v['job_prompt'] for v in r) / t[0] if t[0] else 0
        out.append('| %s | %s | direct | %d | %.0f | %.1f%% | %.0f | | | | | | |' % (
            ds, ids, d[0], d[1], 100 * d[2], d[3]))
        out.append('| %s | %s | memproxy | %d | %.0f | %.1f%% | %.0f | %.0f | %.0f | %.2f | %.0f | %s | %s |' % (
            ds, ids, t[0], t[1], 100 * t[2], t[3], inj, jobs, calls, jprompt,
            '%.2fx' % (t[3] / d[3]) if d[3] else 'n/a', '%.2fx' % ((t[3] + jobs) / d[3]) if d[3] else 'n/a'))
        verdicts += goal_lines(ds, d, t, jobs)
        verdicts += ['- %s: memory-model calls per chat request %.2f (goal <= 0.25): %s' % (
                         ds, calls, 'met' if calls <= 0.25 else 'missed'),
                     '- %s: memory-model prompt tokens per chat request %.0f (goal <= 150): %s' % (
                         ds, jprompt, 'met' if jprompt <= 150 else 'missed')]
        if not a.no_seed:
            life = fold([x for v in r for x in v['life']])
            new = fold([x for v in r for x in v['newest']])
            njobs = sum(v['newest_jobs'] for v in r) / new[0] if new[0] else 0
            ncalls = sum(sum(v['newest_kinds']) for v in r) / new[0] if new[0] else 0
            seed.append('| %s | %.0f | %.1f%% | %.0f | %.0f + %.0f = %.0f | %.2f | %s |' % (
                ds, life[1], 100 * life[2], life[3], new[3], njobs, new[3] + njobs, ncalls,
                '%.2fx' % ((new[3] + njobs) / life[3]) if life[3] else 'n/a'))
            verdicts.append('- %s: seed comparison %s (goal <= 0.6x): %s' % (
                ds, '%.2fx' % ((new[3] + njobs) / life[3]) if life[3] else 'n/a',
                'met' if life[3] and (new[3] + njobs) / life[3] <= 0.6 else 'missed'))
    out += ['', 'Memory jobs of the full-history replay through memproxy (the fake\'s count): '
            + '; '.join(kinds) + '.']
    out += ['', 'Goals (reported, not asserted):', ''] + verdicts
    if seed:
        out += ['', 'Seed comparison: lifetime history direct (every earlier session resent, cached) against '
                'newest message only through memproxy (billed input per request: the chat request + the '
                'memory jobs\' share).', '',
                '| dataset | lifetime: mean prompt | cached share | billed/request | newest-only via memproxy: '
                'chat + jobs = billed/request | memory calls/request | ratio |',
                '|---|---|---|---|---|---|---|'] + seed
    out += evidence_lines(res.get('locomo', {}))
    if not a.no_chats:
        out += chats_lines(a, chats, res)
    return '\n'.join(out) + '\n'


def version(binary):
    """What binary --version prints (its commit), or '?'."""
    try:
        return subprocess.run([binary, '--version'], capture_output=True, text=True,
                              timeout=10).stdout.strip() or '?'
    except (OSError, subprocess.SubprocessError):
        return '?'


def goal_lines(ds, d, t, jobs):
    """The cost goals of direct's fold d against memproxy's t, whose memory
    jobs billed jobs per chat request (issue 72 requirement 4)."""
    share = t[2] / d[2] if d[2] else None
    ratio = t[3] / d[3] if d[3] else None
    whole = (t[3] + jobs) / d[3] if d[3] else None
    return ['- %s: cached share through memproxy %s of direct (goal >= 0.90): %s' % (
                ds, '%.2f' % share if share is not None else 'n/a',
                'met' if share is not None and share >= 0.9 else 'missed'),
            '- %s: billed input %s direct (goal <= 2.0x): %s' % (
                ds, '%.2fx' % ratio if ratio is not None else 'n/a',
                'met' if ratio is not None and ratio <= 2.0 else 'missed'),
            '- %s: all input billed, memory-model calls included, %s direct (goal <= 2.5x): %s' % (
                ds, '%.2fx' % whole if whole is not None else 'n/a',
                'met' if whole is not None and whole <= 2.5 else 'missed')]


def evidence_lines(res):
    ev = {}
    for v in res.values():
        for k, c in v['ev'].items():
            e = ev.setdefault(k, [0, 0])
            e[0] += c[0]
            e[1] += c[1]
    if not ev:
        return []
    out = ['', 'Evidence injected when a LoCoMo question is asked as the newest turn of the session after its '
           'evidence (evidence turns found in what memproxy inserted / evidence turns; user: said by speaker_a; '
           'assistant: speaker_b\'s replies, which the fake upstream answered, so memproxy recorded them).', '',
           '| category | user turns | assistant turns | all |', '|---|---|---|---|']
    cats = sorted({k[0] for k in ev}) + ['all']
    for cat in cats:
        cells = []
        for side in ('user', 'assistant', None):
            h = sum(c[0] for k, c in ev.items() if (cat == 'all' or k[0] == cat) and side in (None, k[1]))
            n = sum(c[1] for k, c in ev.items() if (cat == 'all' or k[0] == cat) and side in (None, k[1]))
            cells.append('%s (%d/%d)' % (rb.pct(h, n), h, n))
        name = locomo.CATEGORIES.get(cat, cat)
        out.append('| %s | %s |' % (name, ' | '.join(cells)))
    return out


def chats_lines(a, chats, res):
    """Per dataset: the full-history client above against a front end
    that opens a new chat per session, side by side: billed input, cached
    share, injected tokens, and the evidence found by how many sessions
    back it lies (replay.tally_distance)."""
    out = ['', 'A new chat per session (X-OpenWebUI-Chat-Id, as Open WebUI sends) against the full-history '
           'client above (no chat id: memproxy keys each session by its first messages); the same requests, '
           'direct\'s too. Evidence: turns found in what memproxy inserted / turns, by how many sessions '
           'before the question\'s they lie; questions: those with evidence in the previous session (in the '
           'previous two) whose every such turn was found.']
    budget = 'default' if a.budget is None else str(a.budget)
    for ds in ('locomo', 'beam'):
        r = [res[ds][c.id] for c in chats if c.dataset == ds and c.id in res.get(ds, {})]
        if not r:
            continue
        d = fold([x for v in r for x in v['direct']])
        modes = [(fold([x for v in r for x in v[k]]), sum(v[j] for v in r), [v[e] for v in r])
                 for k, j, e in (('through', 'jobs', 'dist'), ('chats', 'chats_jobs', 'chats_dist'))]
        jprompt = [sum(v[k] for v in r) for k in ('job_prompt', 'chats_job_prompt')]
        ids = ','.join(c.id for c in chats if c.dataset == ds and c.id in res[ds])
        out += ['', '| %s %s, budget %s | full-history client | new chat per session |' % (ds, ids, budget),
                '|---|---|---|',
                '| requests | %d | %d |' % (modes[0][0][0], modes[1][0][0]),
                '| billed input/request (direct %.0f) | %s |' % (d[3], ' | '.join(
                    '%.0f (%s)' % (t[3], '%.2fx' % (t[3] / d[3]) if d[3] else 'n/a') for t, _, _ in modes)),
                '| cached share (direct %.1f%%) | %s |' % (100 * d[2], ' | '.join(
                    '%.1f%%' % (100 * t[2]) for t, _, _ in modes)),
                '| memory jobs\' billed input/request | %s |' % ' | '.join(
                    '%.0f' % (j / t[0] if t[0] else 0) for t, j, _ in modes),
                '| memory-model prompt tokens/request | %s |' % ' | '.join(
                    '%.0f' % (p / t[0] if t[0] else 0) for (t, _, _), p in zip(modes, jprompt)),
                '| all input billed/request, memory jobs included | %s |' % ' | '.join(
                    '%.0f (%s)' % (t[3] + j / t[0], '%.2fx' % ((t[3] + j / t[0]) / d[3]) if d[3] else 'n/a')
                    if t[0] else 'n/a' for t, j, _ in modes)]
        names = [('same', 'evidence in the same session'), ('1', 'evidence 1 session back'),
                 ('2', 'evidence 2 sessions back'), ('older', 'evidence older'), ('all', 'evidence, all'),
                 ('q1', 'questions, previous session'), ('q2', 'questions, previous two sessions')]
        for key, name in names:
            out.append('| %s | %s |' % (name, ' | '.join(distance_cell(dists, key) for _, _, dists in modes)))
    return out


def distance_cell(dists, key):
    """'pct (found/n)' of key summed over the chats' distance tallies ('all':
    every distance), 'n/a' when no question was asked."""
    keys = replay.DISTANCES if key == 'all' else (key,)
    h = sum(t.get(k, [0, 0])[0] for t in dists for k in keys)
    n = sum(t.get(k, [0, 0])[1] for t in dists for k in keys)
    if not any(dists):
        return 'n/a'
    return '%s (%d/%d)' % (rb.pct(h, n), h, n)


def main(argv):
    a = parse_args(argv)
    rb.find_binaries(a, die)
    chats = load_chats(a)
    res, rows, failures = {}, [], []
    tmp = tempfile.mkdtemp(prefix='memproxy-cache-')
    t0 = time.monotonic()
    jobs = [(c, t) for c in chats for t in tasks_of(a, c)]
    outs, errs = {}, {}

    def run(job):
        c, task = job
        t1 = time.monotonic()
        say('%s %s: %s, %d sessions' % (c.dataset, c.id, task.__name__[4:], len(c.sessions)))
        try:
            outs[job] = task(a, tmp, c)
            say('%s %s: %s %.1f s' % (c.dataset, c.id, task.__name__[4:], time.monotonic() - t1))
        except (rb.RunError, OSError, ValueError, KeyError) as e:
            errs[job] = '%s %s (%s): %s' % (c.dataset, c.id, task.__name__[4:], e)
            say('FAILED: ' + errs[job])

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.parallel or len(jobs)) as pool:
            list(pool.map(run, jobs))
    finally:
        if a.keep_tmp:
            say('temporary files kept in %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for c in chats:
        mine = [j for j in jobs if j[0] is c]
        bad = [errs[j] for j in mine if j in errs]
        if bad:
            failures += bad
            continue
        out = {}
        for j in mine:
            out.update(outs[j])
        rows += chat_rows(c, out)
        res.setdefault(c.dataset, {})[c.id] = out
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, 'w') as f:
        f.write(rows_text(rows))
    text = report(a, chats, res, time.monotonic() - t0)
    for f in failures:
        text += '\nFAILED: %s\n' % f
    sys.stdout.write(text)
    say('per-request rows in %s' % a.out)
    return 2 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
