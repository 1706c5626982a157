#!/usr/bin/env python3
"""memproxy's peak resident memory (VmHWM) in two runs that push it, and
where the bytes are at the peak: the kill -9 durability run
(tests/proxy/memory/test_durability.py's KillNine: 2 workers, durable_ack,
commits slowed to 20 ms, 20 rounds of 4 clients x 5 recorded turns, each
round ended by SIGKILL and a fresh memproxy on the same store) and a 1 MiB
body flood (2 workers, memory mode buffer, the default durable_ack and
queue bounds: --clients connections each sending recorded 1 MiB chat
bodies back to back for --seconds).

For each run: the highest VmHWM of its memproxy processes, and for that
process (sampled at its peak VmRSS) Rss by mapping: the main heap, the
other threads' malloc arenas (anonymous 64 MiB-reserved regions), thread
stacks and other anonymous memory, the LMDB map (data.mdb: file pages the
store touched, not heap), the libraries. A benchmark, not a test: it
asserts nothing; the goal (issue 73: <= 200 MiB) is printed beside.

Usage: tests/bench/peakrss.py [--build DIR] [--runs kill9,flood]
[--rounds N] [--clients N] [--seconds S] [--out FILE]
(MEMPROXY_BIN overrides the build's memproxy: an older one gives the
"before"; the environment's MALLOC_ARENA_MAX, when set, reaches memproxy)."""

import argparse
import os
import random
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
GOAL_MIB = 200


def status_kb(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


ARENA_ALIGN = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit: a thread arena's heaps are aligned to it


def kind_of(name, lo):
    """What a mapping named name (the path, [heap], or '' when anonymous)
    starting at address lo holds."""
    if name == '[heap]':
        return 'main heap (brk)'
    if name.endswith('data.mdb'):
        return 'LMDB map (data.mdb)'
    if name.startswith('[stack'):
        return 'stacks'
    if name.startswith('/'):
        return 'libraries and other files'
    if name == '' and lo % ARENA_ALIGN == 0:
        return 'thread malloc arenas'
    if name == '':
        return 'other anonymous (large malloc chunks, thread stacks)'
    return name


def where(pid):
    """Rss (KB) by kind of mapping, from /proc/PID/smaps."""
    kinds = {}
    k = ''
    with open('/proc/%d/smaps' % pid) as f:
        for line in f:
            parts = line.split()
            if '-' in parts[0] and not parts[0].endswith(':'):
                lo = int(parts[0].split('-')[0], 16)
                k = kind_of(parts[5] if len(parts) >= 6 else '', lo)
            elif parts[0] == 'Rss:':
                kinds[k] = kinds.get(k, 0) + int(parts[1])
    return kinds


class Watch:
    """Samples a process's VmRSS; keeps the mapping breakdown at the peak."""

    def __init__(self):
        self.peak_rss, self.hwm, self.kinds, self.pid = 0, 0, {}, None

    def sample(self, pid):
        try:
            rss = status_kb(pid, 'VmRSS')
            if rss > self.peak_rss:
                self.peak_rss, self.kinds, self.pid = rss, where(pid), pid
            self.hwm = max(self.hwm, status_kb(pid, 'VmHWM'))
        except OSError:
            pass


def sampler(watch, proc, stop):
    while not stop.is_set():
        watch.sample(proc.pid)
        time.sleep(0.02)


def kill9_run(h, mh, fake, rounds, watch):
    """KillNine.run_rounds(durable=True, delay_ms=20, rounds) with sampling."""
    clients, turns = 4, 5
    data = os.path.join(h.tempfile.mkdtemp(prefix='memproxy-peakrss-'), 'data')
    memory = {'mode': 'buffer', 'buffer_messages': 1000, 'summarize_at': 1000, 'durable_ack': 'true'}
    env = {'MEMPROXY_TEST_COMMIT_DELAY_MS': '20'}
    if 'MALLOC_ARENA_MAX' in os.environ:
        env['MALLOC_ARENA_MAX'] = os.environ['MALLOC_ARENA_MAX']
    rng = random.Random(12)
    answered = 0
    for rnd in range(rounds):
        p = h.Proxy(fake.base_url, workers=2, memory=memory, storage={'path': data}, env=env).start()
        stop = threading.Event()
        th = threading.Thread(target=sampler, args=(watch, p.proc, stop))
        th.start()

        def client(c):
            nonlocal answered
            user = mh.uid('k9r%dc%d' % (rnd, c))
            conn = p.conn()
            try:
                for t in range(turns):
                    s = mh.send(p, user, 'round %d client %d turn %d' % (rnd, c, t),
                                stream=(t % 2 == 1), conn=conn)
                    answered += s.status == 200
            finally:
                conn.close()
        ths = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        time.sleep(rng.uniform(0, 0.030))
        watch.sample(p.proc.pid)
        stop.set()
        th.join()
        p.signalled = True
        p.proc.kill()
        p.proc.wait(10)
        p.err.join(5)
        p.stopped = True
        p.tmp.cleanup()
    return '%d rounds, %d turns answered' % (rounds, answered)


def flood_run(h, mh, fake, clients, seconds, watch):
    env = {}
    if 'MALLOC_ARENA_MAX' in os.environ:
        env['MALLOC_ARENA_MAX'] = os.environ['MALLOC_ARENA_MAX']
    p = h.Proxy(fake.base_url, workers=2, memory={'mode': 'buffer'}, env=env).start()
    body, kpos = mh.build_chat([mh.user_msg('x' * (1 << 20))])  # built once: Python is slow at it
    stop = threading.Event()
    th = threading.Thread(target=sampler, args=(watch, p.proc, stop))
    th.start()
    end = time.monotonic() + seconds
    counts = {'ok': 0, 'other': 0, 'queue_full': 0}
    qmax = [0]

    def client(c):
        conn = p.conn(timeout=120)
        try:
            while time.monotonic() < end:
                s = mh.send(p, mh.uid('flood%d' % c), None, conn=conn, timeout=120, body=body, k=kpos)
                k = 'ok' if s.status == 200 else 'other'
                counts[k] += 1
                counts['queue_full'] += s.header('x-memory-error') == 'queue_full'
        finally:
            conn.close()
    ths = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in ths:
        t.start()
    while any(t.is_alive() for t in ths):
        qmax[0] = max(qmax[0], p.metric('memproxy_memory_queue_bytes'))
        time.sleep(0.1)
    for t in ths:
        t.join()
    watch.sample(p.proc.pid)
    stop.set()
    th.join()
    problems = p.stop()
    return ('%d clients x %.0f s: %d answered 200, %d other, %d refused queue_full; queue peak %.1f MiB%s'
            % (clients, seconds, counts['ok'], counts['other'], counts['queue_full'], qmax[0] / 1048576.0,
               '; shutdown problems: %s' % problems if problems else ''))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--runs', default='kill9,flood')
    ap.add_argument('--rounds', type=int, default=20)
    ap.add_argument('--clients', type=int, default=32)
    ap.add_argument('--seconds', type=float, default=10.0)
    ap.add_argument('--out', default=os.path.join(ROOT, '.bench', 'peakrss.md'))
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    os.environ.setdefault('MEMPROXY_BIN', os.path.join(a.build, 'proxy', 'memproxy'))
    os.environ.setdefault('FAKE_UPSTREAM_BIN', os.path.join(a.build, 'tests', 'fake_upstream', 'fake_upstream'))
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'proxy'))
    import harness as h  # noqa: E402
    import memhelpers as mh  # noqa: E402
    fake = h.FakeUpstream().start()
    lines = ['# memproxy peak RSS', '',
             '%s, memproxy %s%s.' % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), h.MEMPROXY_BIN,
                                     ', MALLOC_ARENA_MAX=%s' % os.environ['MALLOC_ARENA_MAX']
                                     if 'MALLOC_ARENA_MAX' in os.environ else ''),
             '', '| run | what ran | peak VmHWM MiB | goal | where the bytes were at the peak (Rss MiB) |',
             '|---|---|---:|---:|---|']
    try:
        for run in a.runs.split(','):
            w = Watch()
            if run == 'kill9':
                what = kill9_run(h, mh, fake, a.rounds, w)
            elif run == 'flood':
                what = flood_run(h, mh, fake, a.clients, a.seconds, w)
            else:
                sys.exit('unknown run %r (kill9, flood)' % run)
            parts = ', '.join('%s %.1f' % (k, v / 1024.0)
                              for k, v in sorted(w.kinds.items(), key=lambda kv: -kv[1]) if v >= 512)
            lines.append('| %s | %s | %.1f | <= %d | %s |' % (run, what, w.hwm / 1024.0, GOAL_MIB, parts))
            print(lines[-1], flush=True)
    finally:
        fake.stop()
    text = '\n'.join(lines) + '\n'
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
