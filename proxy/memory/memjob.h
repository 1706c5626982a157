/* The memory jobs of the memory worker thread: an index of the stored jobs,
 * the scheduler (per user strictly one call at a time, in id order; a few
 * users at once; retries with exponential backoff), each call's chat
 * completion to the upstream on the thread's own curl multi, and applying
 * its result to the store. Used by proxy/memory/memworker.c (and jobctl.c, an
 * operator's acts on one job) only, on its thread.
 *
 * Extraction batches: every recorded turn commits an EXTRACT job with it
 * (the durable pending set). A user's waiting EXTRACT jobs go to the model
 * in one call, one numbered turn each, once they are [memory]
 * extract_batch_turns, the oldest has waited extract_idle_seconds, the
 * batch failed before, or the proxy drains (mp_memjobs_drain()) or is told
 * to (mp_memjobs_extract_now()); at most extract_batch_turns per call. All are claimed in one
 * transaction (several processes on one store: a job is in one batch of one process) and done
 * together with the facts; a failed call retries them all. In hybrid mode the same call folds the
 * summary (the turns are sent once).
 *
 * Erasure is final: a call's result is applied with a guard
 * (MP_OP_CHECK_EPOCH) on the user's memory epoch read with the turns it
 * sent; when an erasure (or a correction, a purge) committed meanwhile, in
 * this process or another, nothing of it is written and its jobs run
 * again on what is stored now (counted as result "erased", logged).
 *
 * Credentials (core/memory/memcred.h): the configured key when set; else the
 * credential header of the user's latest turn on the memory provider's
 * routes, held per provider in a bounded in-memory cache (never on disk;
 * proxy/memory/jobauth.h): a turn on the other provider's routes lends
 * nothing. A job without a
 * credential it may carry is held and tried again at each pass; held jobs
 * have bounds of their own and expire (proxy/memory/heldjobs_drop.h), and do not
 * count against [memory] queue_max (mp_memworker_admit()). */
#ifndef MP_PROXY_MEMJOB_H
#define MP_PROXY_MEMJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "ops/store.h"

struct event_base;
struct mp_memjobs;
struct mp_metrics;

/* Retries. A call that fails is tried again after [memory]
 * job_retry_backoff_ms, doubling per attempt up to job_retry_backoff_max_ms
 * (or the upstream's Retry-After when longer, at most an hour); the whole
 * batch goes again. It gives up, and the batch's jobs are kept in the store
 * as failed (enum mp_job_fail, never dropped), after:
 * - MP_MEMJOB_MALFORMED_TRIES answers that could not be used (not JSON,
 *   not the asked shape, over 1 MiB);
 * - a 429, 5xx or no answer once it was tried MP_MEMJOB_MAX_ATTEMPTS
 *   times and its oldest turn is older than job_retry_horizon_seconds;
 * - another status (a refusal: 401, 400...) MP_MEMJOB_MAX_ATTEMPTS times.
 * Each is logged (kind, reason, turns; no user, no text) and counted
 * (memproxy_memory_jobs_failed_total{kind,reason}). A failed job waits for
 * mp_memjobs_extract_now() (POST /admin/extract), which makes it pending
 * again, tried afresh. It blocks nothing: the user's later turns go in
 * later batches, and its turns stay in the buffer only while the buffer
 * holds at most MP_MEMJOB_BUFFER_SLACK x its usual size from them on (past
 * that a re-run reads them from the archive). Several processes: each
 * takes the failed state of the jobs it indexes from the store at every
 * rescan. */
#define MP_MEMJOB_MAX_ATTEMPTS    6
#define MP_MEMJOB_MALFORMED_TRIES 3 /* an unusable answer, then 2 more tries */
#define MP_MEMJOB_MAX_RUNNING     8 /* jobs in flight at once (distinct users) */
/* Summary modes: the buffer holds at most this many times summarize_at
 * messages while its summary job waits or fails. */
#define MP_MEMJOB_BUFFER_SLACK 4

/* base, store, metrics and cfg are borrowed (cfg until the next set_config). */
struct mp_memjobs *mp_memjobs_new(struct event_base *base, struct mp_store *store,
                                  struct mp_metrics *metrics, const struct mp_config *cfg);
/* Cancels running jobs (they stay stored) and frees. NULL does nothing. */
void mp_memjobs_free(struct mp_memjobs *j);

/* Indexes the stored jobs the index does not hold yet: at start every
 * stored job; later those other processes sharing the store created, or
 * left behind when they died. A job another process holds the lease of
 * waits until the lease ends. The worker calls it once to load the jobs;
 * it then runs every few seconds by itself. Every job is claimed (MP_OP_CLAIM_JOB, a
 * lease of [memory] job_lease_seconds) before it starts, so it runs in one
 * process; a job whose process dies is taken over once its lease ends.
 * MP_OK or the store's error. */
int mp_memjobs_rescan(struct mp_memjobs *j);
void mp_memjobs_set_config(struct mp_memjobs *j, const struct mp_config *cfg);

/* Fills a new job (id 0, seqs 0: bound by the store to the turn it follows). */
void mp_memjobs_fill(struct mp_job *job, enum mp_job_kind kind, const char *user, size_t user_len,
                     int64_t now_ms);
/* Indexes a job the store just accepted (its id set). */
void mp_memjobs_add(struct mp_memjobs *j, const struct mp_job *job);

/* After a user's turns were recorded, plans the follow-up into *op: a
 * summary job when the buffer reached summarize_at (summary mode: summarize
 * without extract), or a trim of the buffer to buffer_messages (other modes;
 * in summary mode, to MP_MEMJOB_BUFFER_SLACK x summarize_at while a summary
 * job is pending or failing), that never drops messages a pending
 * extraction still needs. With both summarize and extract (hybrid) the
 * extraction batches fold the summary, so no summary job is planned.
 * Returns false when there is nothing to do. op->user points at user (borrowed: keep it alive until
 * the op is applied); apply the op (batched with others), then pass it to
 * mp_memjobs_planned(). */
bool mp_memjobs_plan_after_turn(struct mp_memjobs *j, const char *user, size_t user_len,
                                bool summarize, bool extract, struct mp_op *op);
void mp_memjobs_planned(struct mp_memjobs *j, const struct mp_op *op);

/* Remembers what the user's latest turn on provider api's routes lent that
 * provider's memory jobs: its credential header line line[0..len)
 * ("Name: value", copied), or NULL when it carried none. */
void mp_memjobs_remember_auth(struct mp_memjobs *j, const char *user, size_t user_len,
                              enum mp_llm_api api, const char *line, size_t len);

/* Drops the user's pending jobs from the index, cancels a running one and
 * forgets the user's credentials (the store deletes the stored jobs). */
void mp_memjobs_forget_user(struct mp_memjobs *j, const char *user, size_t user_len);

/* Every user's pending extraction batch is due from now on (the proxy
 * drains; what does not finish stays stored for the next start). Any
 * thread. */
void mp_memjobs_drain(struct mp_memjobs *j);
/* The jobs kept as failed are pending again (stored so, tried afresh), the
 * batches of the extraction jobs waiting now are due now (POST
 * /admin/extract), and a scheduling pass runs. Returns how many waiting
 * extraction jobs that made due (the failed ones included). */
unsigned mp_memjobs_extract_now(struct mp_memjobs *j);
/* Waiting extraction jobs whose batch is not due yet, as of the last
 * scheduling pass. Any thread. */
unsigned mp_memjobs_batched(const struct mp_memjobs *j);

/* What a stored job is doing, as this process sees it (GET /admin/jobs). */
enum mp_memjob_state {
    MP_MEMJOB_PENDING, /* waits for its turn: its batch, or a retry's backoff */
    MP_MEMJOB_LEASED,  /* running: a call of this process's, or another process's lease */
    MP_MEMJOB_HELD,    /* held for a credential: none this process has may go with it */
    MP_MEMJOB_FAILED,  /* failed for good, kept for a re-run */
    MP_MEMJOB_STATES
};

/* The state of stored (a job as mp_store_job() or mp_store_jobs() read it,
 * its lease included) at now_ms: failed when it failed for good; else
 * leased when one of this process's calls runs it, or another process
 * holds a lease of it that has not ended; else held when no credential
 * may go with it here (a configured key, or its user's latest turn on the
 * memory provider's routes: with several processes, held says this one
 * has none); else pending. */
enum mp_memjob_state mp_memjobs_state(const struct mp_memjobs *j, const struct mp_job *stored,
                                      int64_t now_ms);

/* Takes job id out of the index (the caller removed it from the store, or
 * adds it again changed with mp_memjobs_add()). Nothing when it is not
 * indexed. */
void mp_memjobs_forget_job(struct mp_memjobs *j, uint64_t id);

/* The extraction batches whose oldest turn is no newer than job's are due
 * (as mp_memjobs_extract_now() makes all of them): job's batch goes at the
 * next scheduling pass. */
void mp_memjobs_due(struct mp_memjobs *j, const struct mp_job *job);

/* Starts what can run now and arms a timer for what waits. */
void mp_memjobs_schedule(struct mp_memjobs *j);

/* Jobs kept as failed, waiting for a re-run (mp_memjobs_extract_now()):
 * every process sharing the store counts them all. Any thread. */
unsigned mp_memjobs_failed(const struct mp_memjobs *j);

/* Jobs indexed (pending or running; failed ones left out). Any thread. */
unsigned mp_memjobs_pending(const struct mp_memjobs *j);
/* Waiting jobs held because no credential may go with them, as of the
 * last scheduling pass (at least every second while jobs wait) and counting
 * the jobs indexed since. Each pass also drops the held jobs past [memory]
 * held_jobs_ttl_seconds, held_jobs_per_user or held_jobs_max
 * (proxy/memory/heldjobs_drop.h). Any thread. */
unsigned mp_memjobs_held(const struct mp_memjobs *j);
/* When the oldest of them was queued (ms since the epoch), 0 when none.
 * Any thread. */
int64_t mp_memjobs_held_since(const struct mp_memjobs *j);

#endif
