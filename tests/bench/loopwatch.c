/* loopwatch: an LD_PRELOAD shim that times a process's event-loop passes
 * from the outside, so that memproxy and nginx are measured by the same
 * instrument (streams.sh --loopwatch).
 *
 * Every thread that calls epoll_wait() is a loop. A pass is what the thread
 * did between one epoll_wait() returning and the next one being called: the
 * callbacks of the events that wait returned, and whatever the loop runs
 * after them. A long pass holds back every event that arrives during it, so
 * the longest passes are where a tail latency comes from. Per thread it
 * counts passes in power-of-two buckets of their time (µs) and of the events
 * their wait returned, and keeps the 32 longest passes with their event
 * counts and start times (CLOCK_MONOTONIC, as perf record -k CLOCK_MONOTONIC
 * stamps samples, so a profile can be cut to them).
 *
 * Each pass also reads the thread's own CPU time and context switches
 * (getrusage(RUSAGE_THREAD) at both ends), so a long pass says whether it
 * was work or waiting: its CPU time is what the thread ran (the kernel's
 * steal-time accounting leaves out what the hypervisor took from the
 * vCPU); an involuntary switch means another task had the CPU, a voluntary
 * one that the thread blocked (a lock, a page read). A long pass with
 * little CPU time and no switch was stolen by the host.
 *
 * At exit each process writes LOOPWATCH_DIR/loopwatch-PID.txt (nothing when
 * LOOPWATCH_DIR is unset at start), one block per thread with at least 100
 * passes:
 *   thread NAME passes N events E work_us W tid TID
 *   pass_us UPPER COUNT        (passes shorter than UPPER µs, one line a bucket)
 *   events UPPER COUNT         (waits that returned fewer than UPPER events)
 *   over4 PASSES WALL_US CPU_US PREEMPTED BLOCKED
 *                              (the passes of 4,096 µs or more: their wall
 *                               and CPU time, how many saw an involuntary
 *                               and a voluntary context switch)
 *   long START_S US EVENTS CPU_US NIVCSW NVCSW   (the longest passes)
 * nginx's workers are forked from its master, so they inherit what the
 * constructor read before nginx cleared its environment. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS    32
#define LONGEST    32
#define THREADS    64
#define MIN_PASSES 100
#define LONG_US    4096

/* A thread's CPU time and context switches at one instant. */
struct thread_use {
    uint64_t cpu_ns;
    long nivcsw, nvcsw;
};

struct long_pass {
    uint64_t start_ns, ns, cpu_ns;
    int events;
    long nivcsw, nvcsw;
};

struct loop_stats {
    char name[16];
    int tid; /* for perf's sched_switch records of it */
    uint64_t passes, events, work_ns;
    uint64_t pass_us[BUCKETS];
    uint64_t nevents[BUCKETS];
    struct long_pass longest[LONGEST];
    uint64_t over_n, over_ns, over_cpu_ns, over_preempted, over_blocked;
    uint64_t last_return_ns; /* 0: no wait has returned yet */
    struct thread_use last_return_use;
    int last_events;
};

static struct loop_stats stats[THREADS];
static atomic_int nstats;
static char out_dir[512];
static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
static __thread struct loop_stats *mine;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time from the thread's CPU clock (exact to the instant; getrusage's
 * times only move at scheduler ticks), switches from getrusage. */
static struct thread_use thread_use_now(void)
{
    struct rusage ru;
    struct timespec ts;
    if (getrusage(RUSAGE_THREAD, &ru) != 0 || clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return (struct thread_use){0, 0, 0};
    return (struct thread_use){(uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
                               ru.ru_nivcsw, ru.ru_nvcsw};
}

/* The power-of-two bucket of v: the first whose upper bound 2^i exceeds it. */
static int bucket(uint64_t v)
{
    int i = 0;
    while (i < BUCKETS - 1 && (1ull << i) <= v)
        i++;
    return i;
}

static struct loop_stats *thread_stats(void)
{
    if (mine == NULL) {
        int i = atomic_fetch_add(&nstats, 1);
        if (i >= THREADS)
            return NULL;
        mine = &stats[i];
        pthread_getname_np(pthread_self(), mine->name, sizeof(mine->name));
        mine->tid = (int)gettid();
    }
    return mine;
}

static void keep_if_long(struct loop_stats *s, struct long_pass p)
{
    int shortest = 0;
    for (int i = 1; i < LONGEST; i++)
        if (s->longest[i].ns < s->longest[shortest].ns)
            shortest = i;
    if (p.ns > s->longest[shortest].ns)
        s->longest[shortest] = p;
    if (p.ns / 1000 >= LONG_US) {
        s->over_n++;
        s->over_ns += p.ns;
        s->over_cpu_ns += p.cpu_ns;
        s->over_preempted += p.nivcsw > 0;
        s->over_blocked += p.nvcsw > 0;
    }
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    uint64_t called = now_ns();
    struct loop_stats *s = thread_stats();
    if (s != NULL && s->last_return_ns != 0) {
        uint64_t ns = called - s->last_return_ns;
        struct thread_use use = thread_use_now(), *was = &s->last_return_use;
        s->passes++;
        s->events += (uint64_t)s->last_events;
        s->work_ns += ns;
        s->pass_us[bucket(ns / 1000)]++;
        s->nevents[bucket((uint64_t)s->last_events)]++;
        keep_if_long(s, (struct long_pass){s->last_return_ns, ns, use.cpu_ns - was->cpu_ns,
                                           s->last_events, use.nivcsw - was->nivcsw,
                                           use.nvcsw - was->nvcsw});
    }
    int n = real_epoll_wait(epfd, events, maxevents, timeout);
    int saved = errno;
    if (s != NULL) {
        s->last_return_use = thread_use_now();
        s->last_return_ns = now_ns();
        s->last_events = n > 0 ? n : 0;
    }
    errno = saved;
    return n;
}

static int by_start(const void *a, const void *b)
{
    const struct long_pass *x = a, *y = b;
    return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

__attribute__((constructor)) static void loopwatch_start(void)
{
    /* POSIX's way to take a function from dlsym without a cast ISO C forbids */
    *(void **)&real_epoll_wait = dlsym(RTLD_NEXT, "epoll_wait");
    const char *dir = getenv("LOOPWATCH_DIR");
    if (dir != NULL && strlen(dir) < sizeof(out_dir))
        strcpy(out_dir, dir);
}

__attribute__((destructor)) static void loopwatch_write(void)
{
    if (out_dir[0] == '\0')
        return;
    char path[600];
    snprintf(path, sizeof(path), "%s/loopwatch-%d.txt", out_dir, (int)getpid());
    int n = atomic_load(&nstats);
    if (n > THREADS)
        n = THREADS;
    FILE *f = NULL;
    for (int t = 0; t < n; t++) {
        struct loop_stats *s = &stats[t];
        if (s->passes < MIN_PASSES)
            continue;
        if (f == NULL && (f = fopen(path, "w")) == NULL)
            return;
        fprintf(f, "thread %s passes %llu events %llu work_us %llu tid %d\n",
                s->name[0] != '\0' ? s->name : program_invocation_short_name,
                (unsigned long long)s->passes, (unsigned long long)s->events,
                (unsigned long long)(s->work_ns / 1000), s->tid);
        for (int i = 0; i < BUCKETS; i++)
            if (s->pass_us[i] > 0)
                fprintf(f, "pass_us %llu %llu\n", 1ull << i, (unsigned long long)s->pass_us[i]);
        for (int i = 0; i < BUCKETS; i++)
            if (s->nevents[i] > 0)
                fprintf(f, "events %llu %llu\n", 1ull << i, (unsigned long long)s->nevents[i]);
        fprintf(f, "over4 %llu %llu %llu %llu %llu\n", (unsigned long long)s->over_n,
                (unsigned long long)(s->over_ns / 1000),
                (unsigned long long)(s->over_cpu_ns / 1000), (unsigned long long)s->over_preempted,
                (unsigned long long)s->over_blocked);
        qsort(s->longest, LONGEST, sizeof(s->longest[0]), by_start);
        for (int i = 0; i < LONGEST; i++)
            if (s->longest[i].ns > 0)
                fprintf(f, "long %.6f %llu %d %llu %ld %ld\n", (double)s->longest[i].start_ns / 1e9,
                        (unsigned long long)(s->longest[i].ns / 1000), s->longest[i].events,
                        (unsigned long long)(s->longest[i].cpu_ns / 1000), s->longest[i].nivcsw,
                        s->longest[i].nvcsw);
    }
    if (f != NULL)
        fclose(f);
}
