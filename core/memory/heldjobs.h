/* Which memory jobs held for a credential leave, as a pure rule over the
 * held jobs and the time: past [memory] held_jobs_ttl_seconds, or beyond
 * held_jobs_per_user or held_jobs_max, the oldest first. It does not say
 * which jobs are held (core/memory/memcred.h and proxy/memory/memjob.c do)
 * nor remove anything (proxy/memory/heldjobs_drop.c does).
 *
 * The rule, over the held jobs in the order they were queued:
 *   1. a job whose turn is ttl_ms old or older expires;
 *   2. of those left, a user keeps its per_user newest, the older leave;
 *   3. of those left, the max newest of all stay, the older leave.
 * A busy job (another process holds its lease, or its retry waits) is
 * never dropped and does not count against the bounds: it is not this
 * process's to drop. Dropping the oldest first keeps what the user said
 * last (a newer fact outranks an older one anyway) and unpins the front of
 * the user's buffer, which the pending extractions hold. */
#ifndef MP_CORE_HELDJOBS_H
#define MP_CORE_HELDJOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mp_heldjob_fate {
    MP_HELDJOB_KEEP,
    MP_HELDJOB_EXPIRED,    /* held past ttl_ms */
    MP_HELDJOB_OVER_USER,  /* beyond its user's per_user newest */
    MP_HELDJOB_OVER_TOTAL, /* beyond the max newest of all */
};

struct mp_heldjob {
    const char *user; /* borrowed */
    size_t user_len;
    int64_t created_ms;        /* when its turn was queued (ms since the epoch) */
    bool busy;                 /* never dropped, not counted against the bounds */
    size_t at;                 /* the caller's (where the job is); not read here */
    enum mp_heldjob_fate fate; /* out */
};

struct mp_heldjob_limits {
    uint32_t max;      /* held jobs kept in all; 0: none */
    uint32_t per_user; /* held jobs one user keeps; 0: none */
    int64_t ttl_ms;    /* how long a job may be held */
};

/* Sets the fate of each of held[0..n) (oldest first, the order the jobs
 * were queued) at now_ms by the rule above, and *leave to how many leave.
 * MP_OK, or MP_ENOMEM (every fate MP_HELDJOB_KEEP, *leave untouched: try
 * again later). */
int mp_heldjobs_decide(struct mp_heldjob *held, size_t n, const struct mp_heldjob_limits *lim,
                       int64_t now_ms, size_t *leave);

#endif
