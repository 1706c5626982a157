"""loopwatch.so (streams.sh --loopwatch) records what a loop did: a process
whose loop makes 152 known passes between epoll_wait() calls (140 that do
nothing, 10 that spin 6 ms of their thread's CPU time, one that spins 40 ms
of it, then one that sleeps 200 ms) must show 152 passes of one ready event
each under the name the thread was given and its id, buckets that hold
every pass and agree with the longest passes kept (the 32 longest, in time
order), the spinning pass on CPU more than any other and the sleeping pass
off it with a voluntary switch; without LOOPWATCH_DIR it writes nothing.

No verdict here depends on how fast or busy the machine is: a busy machine
makes a pass longer, never shorter, and never gives a pass less CPU time
than it spun (both are read from the clocks loopwatch reads), so every
check is either what was counted, an ordering within one run, or a lower
bound that load can only raise."""

import os
import subprocess
import sys
import tempfile
import time
import unittest

SPIN_US = 40000
SLEEP_US = 200000
LOOP = r'''
import os, select, socket, time
try:
    import ctypes
    ctypes.CDLL(None).prctl(15, b"watched-loop", 0, 0, 0)  # PR_SET_NAME
except Exception:
    pass
a, b = socket.socketpair()
ep = select.epoll()
ep.register(a.fileno(), select.EPOLLIN)
b.send(b"x")  # one ready event every wait (level-triggered)
def work(ms):
    # spins for ms of this thread's CPU time: a busy machine makes the pass
    # longer but never gives it less CPU than this
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass
ep.poll(0)
for i in range(140):   # passes that do nothing: too short for a busy
    ep.poll(0)         # machine to push many of them past the 40 ms pass
for i in range(10):
    work(6)
    ep.poll(0)
work(%d)
ep.poll(0)
time.sleep(%f)         # the last pass: it blocks
ep.poll(0)
''' % (SPIN_US // 1000, SLEEP_US / 1e6)
PASSES = 152


def run(env_extra, cwd=None):
    env = dict(os.environ)
    env.pop('LOOPWATCH_DIR', None)
    env.update(env_extra)
    subprocess.run([sys.executable, '-c', LOOP], env=env, cwd=cwd, check=True, timeout=300)


def upper(us):
    """The pass_us bucket loopwatch puts a pass of us microseconds in: the
    first power of two above it."""
    u = 1
    while u <= us:
        u *= 2
    return u


class Loopwatch(unittest.TestCase):
    def setUp(self):
        so = os.environ.get('LOOPWATCH_SO') or (sys.argv[1] if len(sys.argv) > 1 else '')
        # meson gives it absolute; made so anyway, as the loop runs elsewhere
        self.so = os.path.abspath(so) if so else so
        self.assertTrue(os.path.isabs(self.so))
        self.assertTrue(os.path.exists(self.so), 'loopwatch.so not found: %r' % self.so)

    def record(self):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.monotonic()
            run({'LD_PRELOAD': self.so, 'LOOPWATCH_DIR': d}, cwd=d)
            t1 = time.monotonic()
            files = os.listdir(d)
            self.assertEqual(len(files), 1, files)
            self.assertTrue(files[0].startswith('loopwatch-') and files[0].endswith('.txt'))
            pid = int(files[0][len('loopwatch-'):-len('.txt')])
            with open(os.path.join(d, files[0])) as f:
                lines = f.read().splitlines()
        return t0, t1, pid, lines

    def test_passes_are_counted_and_the_longest_kept(self):
        t0, t1, pid, lines = self.record()
        threads = [l.split() for l in lines if l.startswith('thread ')]
        self.assertEqual(len(threads), 1, lines)
        th = threads[0]
        self.assertEqual(th[1], 'watched-loop')
        self.assertEqual(int(th[3]), PASSES)          # 153 waits, a pass between two
        self.assertEqual(int(th[5]), PASSES)          # one ready event each
        work_us = int(th[7])
        self.assertEqual(int(th[th.index('tid') + 1]), pid)  # the main thread's id is the process's

        events = {int(l.split()[1]): int(l.split()[2]) for l in lines if l.startswith('events ')}
        self.assertEqual(events, {2: PASSES})         # every wait returned 1 (< 2) event
        buckets = {int(l.split()[1]): int(l.split()[2]) for l in lines if l.startswith('pass_us ')}
        self.assertEqual(sum(buckets.values()), PASSES, buckets)

        # long START_S US EVENTS CPU_US NIVCSW NVCSW, the 32 longest in time order
        longs = [l.split() for l in lines if l.startswith('long ')]
        self.assertEqual(len(longs), 32, lines)
        starts = [float(x[1]) for x in longs]
        self.assertEqual(starts, sorted(starts))
        self.assertTrue(t0 <= starts[0] and starts[-1] <= t1, (t0, starts, t1))  # CLOCK_MONOTONIC
        us = [int(x[2]) for x in longs]
        cpu = [int(x[4]) for x in longs]
        for x in longs:
            self.assertEqual(int(x[3]), 1, x)
            # a pass's CPU time is read inside its wall time (1 ms: the clocks' slew)
            self.assertLessEqual(int(x[4]), int(x[2]) + 1000, x)

        # the buckets agree with the passes kept: each kept pass is in its
        # bucket, and every pass of a bucket above the shortest kept was kept
        kept = {}
        for u in us:
            kept[upper(u)] = kept.get(upper(u), 0) + 1
        for up, n in kept.items():
            self.assertGreaterEqual(buckets.get(up, 0), n, (up, buckets, us))
        for up, n in buckets.items():
            if up // 2 > min(us):
                self.assertEqual(kept.get(up, 0), n, (up, buckets, us))

        # over4 PASSES WALL_US CPU_US PREEMPTED BLOCKED: the passes of 4,096 us
        # or more are those of the buckets from 8,192 up; at least the 12 that
        # spun or slept 6 ms or more
        over = [l.split() for l in lines if l.startswith('over4 ')]
        self.assertEqual(len(over), 1, lines)
        over = [int(v) for v in over[0][1:]]
        self.assertEqual(over[0], sum(n for up, n in buckets.items() if up >= 8192), (over, buckets))
        self.assertGreaterEqual(over[0], 12, over)
        over_kept = [u for u in us if u >= 4096]
        self.assertGreaterEqual(over[1], sum(over_kept), (over, us))
        if over[0] == len(over_kept):                 # all of them kept: the same sum, to rounding
            self.assertLessEqual(over[1], sum(over_kept) + over[0], (over, us))
        self.assertGreaterEqual(work_us, over[1])
        self.assertLessEqual(over[2], over[1] + over[0] * 1000, over)
        self.assertGreaterEqual(over[4], 1, over)     # the sleeping pass blocked

        # the spinning pass ran longer on the CPU than any other pass of the
        # run (a 6 ms pass may wait longer than it on a busy machine, never
        # spin longer); it is kept unless 32 passes took longer still
        spin = max(range(len(longs)), key=lambda i: cpu[i])
        if cpu[spin] < SPIN_US:
            self.assertGreaterEqual(min(us), SPIN_US, longs)
            return
        self.assertLess(sorted(cpu)[-2], cpu[spin], cpu)
        # the one pass after it is the sleeping one: off the CPU for all of
        # its sleep, and it blocked (a voluntary switch)
        after = longs[spin + 1:]
        if not after:
            self.assertGreaterEqual(min(us), SLEEP_US, longs)
            return
        self.assertEqual(len(after), 1, longs)
        slept = after[0]
        self.assertGreaterEqual(int(slept[2]) - int(slept[4]), SLEEP_US - 1000, slept)
        self.assertGreaterEqual(int(slept[6]), 1, slept)
        self.assertLess(int(slept[4]), cpu[spin], (slept, longs[spin]))

    def test_nothing_is_written_without_a_directory(self):
        with tempfile.TemporaryDirectory() as d:
            run({'LD_PRELOAD': self.so}, cwd=d)
            self.assertEqual(os.listdir(d), [])


if __name__ == '__main__':
    unittest.main(argv=sys.argv[:1], verbosity=1)
