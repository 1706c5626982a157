"""loopwatch.so (streams.sh --loopwatch) measures what it says: a process
whose loop makes 150 passes of about 6 ms between epoll_wait() calls, and
one pass of about 40 ms, then one that sleeps 500 ms, must show every pass
at 4 ms or more (the pass_us buckets from 8192 up), the 40 ms pass among
its longest with its start time and its events, and the thread by the name
the process gave it and its id; the spinning pass on CPU, the sleeping one
off it with a voluntary switch; without LOOPWATCH_DIR it writes nothing."""

import os
import select
import subprocess
import sys
import tempfile
import time
import unittest

LOOP = r'''
import os, select, socket, threading, time
threading.current_thread().name = "x"
try:
    import ctypes
    ctypes.CDLL(None).prctl(15, b"watched-loop", 0, 0, 0)  # PR_SET_NAME
except Exception:
    pass
a, b = socket.socketpair()
ep = select.epoll()
ep.register(a.fileno(), select.EPOLLIN)
b.send(b"x")  # one ready event every pass (level-triggered)
def work(ms):
    # spins for ms of this thread's CPU time, so a busy machine makes a
    # pass longer but never gives it less CPU than the checks expect
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass
for i in range(150):
    ep.poll(0)
    work(6)
ep.poll(0)
work(40)
ep.poll(0)
time.sleep(0.5)  # longer than any 6 ms pass on a busy machine: kept among the longest
ep.poll(0)
'''


def run(env_extra, cwd=None):
    env = dict(os.environ)
    env.pop('LOOPWATCH_DIR', None)
    env.update(env_extra)
    subprocess.run([sys.executable, '-c', LOOP], env=env, cwd=cwd, check=True, timeout=60)


class Loopwatch(unittest.TestCase):
    def setUp(self):
        so = os.environ.get('LOOPWATCH_SO') or (sys.argv[1] if len(sys.argv) > 1 else '')
        # absolute: one run preloads it from another working directory
        self.so = os.path.abspath(so) if so else so
        self.assertTrue(os.path.exists(self.so), 'loopwatch.so not found: %r' % self.so)

    def test_passes_are_timed_and_the_longest_kept(self):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.monotonic()
            run({'LD_PRELOAD': self.so, 'LOOPWATCH_DIR': d})
            t1 = time.monotonic()
            files = os.listdir(d)
            self.assertEqual(len(files), 1, files)
            pid = int(files[0][len('loopwatch-'):-len('.txt')])
            lines = open(os.path.join(d, files[0])).read().splitlines()
        threads = [l.split() for l in lines if l.startswith('thread ')]
        self.assertEqual(len(threads), 1, lines)
        th = threads[0]
        self.assertEqual(th[1], 'watched-loop')
        self.assertEqual(int(th[3]), 152)             # passes: 153 waits, a pass between two
        self.assertEqual(int(th[5]), 152)             # one ready event each
        self.assertGreaterEqual(int(th[7]), 150 * 6000 + 40000 + 500000)  # work_us, at least spun and slept
        self.assertEqual(int(th[th.index('tid') + 1]), pid)  # the main thread's id is the process's
        buckets = {int(l.split()[1]): int(l.split()[2]) for l in lines if l.startswith('pass_us ')}
        # a 6 ms pass is never shorter (a busy machine only makes it longer)
        self.assertGreaterEqual(sum(c for up, c in buckets.items() if up >= 8192), 151, buckets)
        longs = [l.split() for l in lines if l.startswith('long ')]
        self.assertLessEqual(len(longs), 32)
        # the 40 ms pass is the one that spun longest on the CPU (on a busy
        # machine a 6 ms pass may wait longer than it, never spin longer)
        longest = max(longs, key=lambda x: int(x[4]))
        self.assertGreaterEqual(int(longest[2]), 40000)
        self.assertEqual(int(longest[3]), 1)
        start = float(longest[1])                     # CLOCK_MONOTONIC, as time.monotonic()
        self.assertTrue(t0 <= start <= t1, (t0, start, t1))
        starts = [float(x[1]) for x in longs]
        self.assertEqual(starts, sorted(starts))      # listed in time order
        # long START US EVENTS CPU_US NIVCSW NVCSW: spinning is CPU time (40 ms
        # of it, less the clock's granularity, however busy the machine) ...
        self.assertGreaterEqual(int(longest[4]), 35000, longest)
        self.assertLessEqual(int(longest[4]), int(longest[2]) + 1000, longest)
        # ... sleeping is not, and blocks (a voluntary switch)
        slept = [x for x in longs if int(x[2]) >= 499000 and int(x[4]) < 10000]
        self.assertEqual(len(slept), 1, longs)
        slept = slept[0]
        self.assertGreater(float(slept[1]), start)    # after the spinning pass
        self.assertLess(int(slept[4]), 10000, slept)
        self.assertGreaterEqual(int(slept[6]), 1, slept)
        over = [l.split() for l in lines if l.startswith('over4 ')]
        self.assertEqual(len(over), 1, lines)
        self.assertEqual(int(over[0][1]), 152)        # every pass took 4 ms or more
        self.assertGreaterEqual(int(over[0][5]), 1)   # the sleeping one blocked

    def test_nothing_is_written_without_a_directory(self):
        with tempfile.TemporaryDirectory() as d:
            run({'LD_PRELOAD': self.so}, cwd=d)
            self.assertEqual(os.listdir(d), [])


if __name__ == '__main__':
    unittest.main(argv=sys.argv[:1], verbosity=1)
