#!/usr/bin/env python3
"""Prompt caching across OpenAI's machines: does a prompt_cache_key help an
app whose users share one system prompt? (tests/bench/cache.sh --routing
runs this.) The LoCoMo and BEAM chats, each one user of one app, resend
their conversation (the full-history client of cache.sh), interleaved on
a virtual clock at an app-wide rate, to the fake upstream with its routing
on (docs/fake-upstream-wires.md "Routing": M machines with a cache each, a route
of model + first 256 tokens + prompt_cache_key over R requests a minute
overflowing to the others, prompts idle 5 minutes dropped), once through
memproxy (hybrid mode) and once straight to the fake, each with no key, a
key per user and a key per conversation (a keyed hash, set in the body as
memproxy would set it: memproxy passes a client's key through), and,
through memproxy only, strategy memproxy: the client sends none and
memproxy sets its own per conversation ([upstream] prompt_cache_key =
conversation; docs/memory.md "prompt_cache_key"). Reports
billed input and cached share per rate and strategy. Reported, not
asserted. See tests/bench/README.md "Routing: prompt_cache_key across
machines". Python 3 standard library only.

Exit: 0 valid run; 1 setup error; 2 invalid run.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (cache.sh's processes, clients and drain)
import replay  # noqa: E402

rb = bench.rb
STRATEGIES = ('none', 'user', 'conversation', 'memproxy')
SIDES = ('memproxy', 'direct')


def say(msg):
    print('routing: %s' % msg, file=sys.stderr, flush=True)


def die(msg):
    say(msg)
    sys.exit(1)


def parse_args(argv):
    p = argparse.ArgumentParser(prog='tests/bench/cache.sh --routing',
                                description='prompt_cache_key and OpenAI\'s routing, through memproxy and direct.')
    p.add_argument('--build', default=os.path.join(bench.ROOT, 'build'),
                   help='meson build directory with proxy/memproxy and tests/fake_upstream/fake_upstream')
    p.add_argument('--locomo', help='LoCoMo directory (default $MEMPROXY_LOCOMO_DIR, else data/locomo-dev)')
    p.add_argument('--beam', help='BEAM directory (default $MEMPROXY_BEAM_DIR, else data/beam-dev)')
    p.add_argument('--convs', help='LoCoMo conversations, comma-separated (default: all)')
    p.add_argument('--beam-convs', help='BEAM chat ids, comma-separated (default: all; none: skip)')
    p.add_argument('--sessions', type=int, help='only the first N sessions of each LoCoMo conversation')
    p.add_argument('--beam-sessions', type=int, default=40,
                   help='only the first N days of each BEAM chat (default 40: through memproxy each day\'s '
                        'first request costs 5 s of waiting)')
    p.add_argument('--rates', default='5,30,120,600', help='app-wide requests a minute (default 5,30,120,600)')
    p.add_argument('--strategies', default=','.join(STRATEGIES),
                   help='prompt_cache_key strategies: none, user, conversation, memproxy (memproxy '
                        'sets its own; through memproxy only) (default all four)')
    p.add_argument('--sides', default=','.join(SIDES), help='memproxy, direct (default both)')
    p.add_argument('--machines', type=int, default=8, help='the fake\'s machines (default 8)')
    p.add_argument('--route-rate', type=int, default=15, help='a route\'s requests a minute at home (default 15)')
    p.add_argument('--idle-ms', type=int, default=300000, help='a cached prompt unused this long goes (default 5 min)')
    p.add_argument('--system-tokens', type=int,
                   help='a system prompt of this many tokens (default: cache.sh\'s, about 600)')
    p.add_argument('--seed', type=int, default=0, help='the interleaving\'s seed (default 0)')
    p.add_argument('--budget', type=int, help='[memory] context_budget_tokens (default: memproxy\'s)')
    p.add_argument('--workers', type=int, default=4, help='[server] workers of memproxy (default 4)')
    p.add_argument('--connection', choices=('new', 'keep'), default='new',
                   help='a new TCP connection per request through memproxy (default), or one kept')
    p.add_argument('--parallel', type=int, default=0, help='cells run at once (default 0: all)')
    p.add_argument('--out', default=os.path.join(bench.ROOT, '.bench', 'routing-rows.tsv'),
                   help='per-request rows')
    p.add_argument('--keep-tmp', action='store_true', help='keep configurations, stores and logs')
    a = p.parse_args(argv)
    try:
        a.rates = [int(r) for r in a.rates.split(',')]
    except ValueError:
        p.error('--rates: whole numbers, comma-separated')
    a.strategies = a.strategies.split(',')
    a.sides = a.sides.split(',')
    if any(r <= 0 for r in a.rates) or not set(a.strategies) <= set(STRATEGIES) or \
            not set(a.sides) <= set(SIDES) or not 1 <= a.machines <= 64 or a.route_rate < 0 or \
            a.idle_ms < 0 or a.workers <= 0 or a.parallel < 0:
        p.error('a value out of range')
    a.locomo = bench.data_dir(a.locomo, 'MEMPROXY_LOCOMO_DIR', 'data/locomo-dev')
    a.beam = bench.data_dir(a.beam, 'MEMPROXY_BEAM_DIR', 'data/beam-dev')
    a.build = os.path.abspath(a.build)
    a.convs = a.convs.split(',') if a.convs else None
    a.beam_convs = (a.beam_convs or 'all').split(',')
    if a.beam_convs == ['none']:
        a.beam_convs = []
    # what cache.sh's Env reads
    a.memory, a.no_idle = [], True
    return a


# --- the app's requests ------------------------------------------------------------------------


def app_requests(a, chats):
    """[(chat, session, messages, reply)] of every chat's full-history
    requests, interleaved as many users send them (replay.interleave)."""
    per = []
    for c in chats:
        reqs = replay.full_history(c)
        if a.system_tokens is not None:
            sys_msg = {'role': 'system', 'content': replay.system_prompt(a.system_tokens)}
            reqs = [(s, [sys_msg] + m[1:]) for s, m in reqs]
        per.append([(c, s, m, r) for (s, m), r in zip(reqs, replay.replies(c))])
    return [per[u][i] for u, i in replay.interleave([len(p) for p in per], a.seed)]


# --- one cell ----------------------------------------------------------------------------------


class FakeOnly:
    """A fake upstream alone (the direct side)."""

    def __init__(self, a, tmp, name):
        d = tempfile.mkdtemp(prefix=name + '-', dir=tmp)
        self.procs = rb.Procs(types.SimpleNamespace(memproxy=a.memproxy, fake=a.fake, postgres=None), d,
                              'hybrid', 0, 'default')

    def __enter__(self):
        try:
            self.procs._start_fake()
        except BaseException:
            self.procs.stop()
            raise
        self.fake = rb.Client(self.procs.fake_port)
        return self

    def __exit__(self, *exc):
        self.fake.close()
        self.procs.stop()


def set_routing(a, fake):
    st, _, body = fake.request('POST', '/_fake/routing?machines=%d&rate=%d&idle_ms=%d' % (
        a.machines, a.route_rate, a.idle_ms))
    if st != 200:
        raise rb.RunError('POST /_fake/routing answered %d: %s (a fake upstream without routing?)'
                          % (st, body[:200]))


def routing_stats(fake):
    st, _, body = fake.request('GET', '/_fake/routing')
    if st != 200:
        raise rb.RunError('GET /_fake/routing answered %d' % st)
    return json.loads(body)


def post(client, body, headers):
    """(prompt, cached) of one chat completion."""
    h = {'Content-Type': 'application/json', 'Authorization': 'Bearer sk-bench'}
    h.update(headers)
    st, hdr, ans = client.request('POST', '/v1/chat/completions', json.dumps(body).encode(), h)
    if st != 200:
        raise rb.RunError('a chat request answered %d: %s' % (st, ans[:200]))
    if 'x-memory-error' in hdr:
        raise rb.RunError('a chat request answered X-Memory-Error: %s' % hdr['x-memory-error'])
    return replay.usage_of(ans)


def run_cell(a, tmp, reqs, side, rate, strategy):
    """One replay of the app's requests at rate, with strategy's keys, on
    side; {'rows': [(prompt, cached)], 'stats': the fake's routing counts,
    'jobs': the memory jobs' billed input (memproxy)}."""
    name = '%s-%d-%s' % (side, rate, strategy)
    through = side == 'memproxy'
    ours = ['prompt_cache_key = conversation'] if strategy == 'memproxy' else []
    with (bench.Env(a, tmp, name, ours) if through else FakeOnly(a, tmp, name)) as env:
        bench.reset_fake(env.fake)
        set_routing(a, env.fake)
        rows, own = [], 0.0
        for i, (chat, s, msgs, reply) in enumerate(reqs):
            body = {'model': bench.MODEL, 'max_tokens': 64, 'messages': msgs}
            key = None if strategy == 'memproxy' else replay.strategy_key(strategy, chat, s)
            if key is not None:
                body['prompt_cache_key'] = key
            headers = {'X-Fake-Now-Ms': str(replay.send_ms(i, rate))}
            if through:
                if reply is not None:
                    bench.set_reply(env.fake, reply)
                headers['X-User-Id'] = chat.user
            rows.append(post(env.mp if through else env.fake, body, headers))
            own += replay.billed(*rows[-1])
            if through:
                bench.drain(env.admin)
        stats = routing_stats(env.fake)
        sums = bench.cache_sums(env.fake)
    jobs = replay.billed(sums['input_tokens'], sums['cached_tokens']) - own if through else 0.0
    return {'rows': rows, 'stats': stats, 'jobs': jobs}


# --- report ------------------------------------------------------------------------------------


def report(a, chats, reqs, res, secs):
    users = len(chats)
    out = ['# prompt_cache_key and OpenAI\'s routing (tests/bench/cache.sh --routing)', '',
           'Binary: %s (%s); workers: %d; %s; hybrid mode, budget %s. Fake upstream: %d machines, a route '
           'over %d requests a minute overflows, prompts idle %d s dropped. %d users (%s), %d requests '
           '(LoCoMo%s, BEAM days 1-%s), interleaved (seed %d), evenly spaced at each rate; system prompt '
           '%d tokens. Billed input = uncached + %.1f x cached, per request; memory jobs not in it. %.0f s.' % (
               a.memproxy, bench.version(a.memproxy), a.workers,
               'a new connection per request' if a.connection == 'new' else 'one keep-alive connection',
               'default' if a.budget is None else a.budget, a.machines, a.route_rate, a.idle_ms // 1000,
               users, ', '.join('%s %s' % (c.dataset, c.id) for c in chats), len(reqs),
               ' sessions 1-%d' % a.sessions if a.sessions else ' whole', a.beam_sessions, a.seed,
               len(reqs[0][2][0]['content']) // 4 if reqs else 0, replay.CACHED_PRICE, secs), '']
    head = ['rate/min', 'per user/min', 'key']
    for side in a.sides:
        head += ['%s billed/request' % side, 'vs no key', 'cached share', 'overflow']
    if 'memproxy' in a.sides and 'direct' in a.sides:
        head.append('memproxy/direct')
    out += ['| %s |' % ' | '.join(head), '|%s' % ('---|' * len(head))]
    for rate in a.rates:
        for strategy in a.strategies:
            cells = [str(rate), '%.1f' % (rate / users), strategy]
            billed = {}
            for side in a.sides:
                r = res.get((side, rate, strategy))
                base = res.get((side, rate, 'none'))
                if r is None:
                    cells += ['n/a' if (side, strategy) == ('direct', 'memproxy') else 'failed'] * 4
                    continue
                n, _, share, bill = bench.fold(r['rows'])
                billed[side] = bill
                b0 = bench.fold(base['rows'])[3] if base is not None else None
                st = r['stats']
                cells += ['%.0f' % bill, '%.2fx' % (bill / b0) if b0 else 'n/a', '%.1f%%' % (100 * share),
                          '%.1f%%' % (100 * st['overflow'] / max(1, st['home'] + st['overflow']))]
            if 'memproxy' in a.sides and 'direct' in a.sides:
                cells.append('%.2fx' % (billed['memproxy'] / billed['direct'])
                             if billed.get('direct') and 'memproxy' in billed else 'n/a')
            out.append('| %s |' % ' | '.join(cells))
    if 'memproxy' in a.sides:
        out += ['', 'Memory jobs\' billed input per chat request through memproxy (not above): ' + '; '.join(
            '%d/min %s %.0f' % (rate, s, res[('memproxy', rate, s)]['jobs'] / max(1, len(reqs)))
            for rate in a.rates for s in a.strategies if ('memproxy', rate, s) in res) + '.']
    out += ['', 'Overflow: the share of the routed requests (chat requests and, through memproxy, memory jobs) '
            'sent past their route\'s home machine.']
    return '\n'.join(out) + '\n'


def rows_text(a, reqs, res):
    out = ['side\trate\tkey\treq\tdataset\tconv\tsession\tsent_ms\tprompt\tcached\tbilled']
    for (side, rate, strategy), r in sorted(res.items()):
        for i, ((chat, s, _, _), (p, c)) in enumerate(zip(reqs, r['rows'])):
            out.append('%s\t%d\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%.1f' % (
                side, rate, strategy, i + 1, chat.dataset, chat.id, s + 1, replay.send_ms(i, rate), p, c,
                replay.billed(p, c)))
    return '\n'.join(out) + '\n'


def main(argv):
    a = parse_args(argv)
    rb.find_binaries(a, die)
    chats = bench.load_chats(a)
    reqs = app_requests(a, chats)
    cells = [(side, rate, s) for side in a.sides for rate in a.rates for s in a.strategies
             if (side, s) != ('direct', 'memproxy')]  # only memproxy sets memproxy's key
    tmp = tempfile.mkdtemp(prefix='memproxy-routing-')
    res, failures, t0 = {}, [], time.monotonic()
    say('%d users, %d requests, %d cells' % (len(chats), len(reqs), len(cells)))

    def run(cell):
        t1 = time.monotonic()
        try:
            res[cell] = run_cell(a, tmp, reqs, *cell)
            say('%s %d/min %s: %.1f s' % (cell + (time.monotonic() - t1,)))
        except (rb.RunError, OSError, ValueError, KeyError) as e:
            failures.append('%s %d/min %s: %s' % (cell + (e,)))
            say('FAILED: ' + failures[-1])

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.parallel or len(cells)) as pool:
            list(pool.map(run, cells))
    finally:
        if a.keep_tmp:
            say('temporary files kept in %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, 'w') as f:
        f.write(rows_text(a, reqs, res))
    text = report(a, chats, reqs, res, time.monotonic() - t0)
    for f in failures:
        text += '\nFAILED: %s\n' % f
    sys.stdout.write(text)
    say('per-request rows in %s' % a.out)
    return 2 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
