/* The memory jobs' state, kept by memjob.c (the index and the scheduler)
 * and read by the two files it hands a call to (jobcall.c: one call of the
 * memory model; jobresult.c: applying its answer), which return a verdict
 * and change none of it. Included by no other file: callers use memjob.h.
 * Memory worker thread only, but for the _Atomic gauges. */
#ifndef MP_PROXY_JOBSTATE_H
#define MP_PROXY_JOBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "memory/memjob.h"
#include "net/upstream.h"
#include "ops/store.h"
#include "wire/tokenuse.h"

struct event;
struct event_base;
struct mp_jobauth;

#define MP_MEMJOB_FACTS_PER_TURN 32 /* facts an extraction may give one turn, at most */

/* One turn of a running extraction batch (a summary job: its one job). */
struct mp_jobturn {
    struct mp_job job;
    char request_id[MP_REQUEST_ID_MAX + 1]; /* the source turn */
    int64_t observed_at_ms;                 /* when that turn happened */
    size_t number;                          /* its number in the prompt; 0: not sent */
};

/* One call of the memory model in flight: its jobs, its request and its
 * answer (jobcall.c). */
struct mp_jobrun {
    struct mp_memjobs *owner; /* whose call it is: set by memjob.c once it runs */
    struct mp_job job;        /* the first of turns */
    struct mp_jobturn *turns; /* owned */
    size_t nturns, nsent;     /* jobs; turns sent to the model */
    bool fold;                /* EXTRACT: the call folds the summary too (hybrid) */
    bool keys;                /* EXTRACT: the call asks for search keys */
    CURL *easy;
    char *body;
    char *auth_line;
    struct mp_upstream_body answer; /* at most JOB_RESPONSE_MAX (jobcall.c) */
    uint64_t epoch;                 /* the user's memory epoch when the call's turns were read */
    uint64_t summary_from_seq;      /* a fold: what the summary folded in covered */
    bool summary_from_text;         /* a fold: whether there was one */
    enum mp_llm_api api;            /* the API the request was built for (a reload may change it) */
    struct curl_slist nodes[5];
    char url[MP_CONFIG_URL_MAX + 32];
};

/* The memory jobs of one memory worker (memjob.c): the index of waiting
 * jobs, the calls in flight, the gauges other threads read. */
struct mp_memjobs {
    struct event_base *base;
    struct mp_store *store;
    struct mp_metrics *metrics;
    const struct mp_config *cfg;
    struct mp_upstream *up;
    struct event *tick;
    struct event *rescan; /* persistent: takes in jobs other processes left (mp_memjobs_rescan) */
    uint64_t owner;       /* this process's lease owner id (random, non-zero) */
    struct mp_job *jobs;  /* waiting, ordered by id */
    size_t njobs, cap;
    struct mp_jobrun *running[MP_MEMJOB_MAX_RUNNING];
    size_t nrunning;
    _Atomic unsigned count;
    struct mp_jobauth *auth;  /* the credentials jobs may carry */
    _Atomic unsigned held;    /* waiting jobs no credential may go with (last pass, adds since) */
    _Atomic bool draining;    /* every extraction batch is due now */
    int64_t due_before_ms;    /* batches whose oldest job is older are due (extract_now) */
    _Atomic unsigned batched; /* waiting extraction jobs not due yet (last pass) */
    size_t nfailed;           /* indexed jobs failed for good, kept for a re-run */
    _Atomic unsigned failed;  /* ... as read by any thread */
    /* the highest job id the last rescan read: every job at or below it
       that is still pending is in the index (ids are given in commit
       order), so a trim asks the store about newer ones only */
    uint64_t jobs_known_through;
    /* the held jobs (held_pass): when the oldest was queued (0: none), and
       when a pass last dropped those past their bounds (heldjobs_drop.h) */
    _Atomic int64_t held_since;
    int64_t held_checked_ms;
};

/* What became of a call's jobs, as jobcall.c and jobresult.c say it:
 * they never change the index, the counts, the retries or the schedule;
 * memjob.c alone acts on a verdict. */
enum mp_jobverdict_kind {
    MP_JOBV_DONE,    /* the answer is stored, every job removed from the store with it */
    MP_JOBV_SKIPPED, /* nothing to send (the user is gone, or its turns): the jobs are over,
                        still stored */
    MP_JOBV_FAILED,  /* nothing written: retried, or kept as failed (memjob.h: the retry rules) */
    MP_JOBV_ERASED,  /* an erasure committed during the call: nothing written, the jobs run
                        again as they were (no attempt counted) */
};

struct mp_jobverdict {
    enum mp_jobverdict_kind kind;
    enum mp_job_fail why;     /* FAILED */
    int64_t retry_after_ms;   /* FAILED: the upstream's Retry-After; 0: none */
    bool summarize, extract;  /* DONE: the user's follow-up to plan (mp_memjobs_plan_after_turn) */
    bool answered;            /* the upstream answered: a call to count, with usage */
    struct mp_tokenuse usage; /* ... its token use (usage.seen: the answer told it) */
    unsigned kept_out[MP_REASON_ADMIN + 1]; /* DONE: user statements a stored value kept out,
                                               by why (MP_REASON_NEWER.._ADMIN) */
};

#endif
