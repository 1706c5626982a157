/* Memory jobs: the index and the scheduler (one call per batch: jobcall.c;
 * its answer: jobresult.c). Both return a verdict; this file alone acts on
 * it: the running calls, the counts, the retries and the schedule. Runs on
 * the memory worker thread only (see memjob.h). */
#include "memory/memjob.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "fnv1a.h"
#include "log.h"
#include "memory/memcred.h"
#include "memory/jobauth.h"
#include "memory/jobbatch.h"
#include "memory/jobcall.h"
#include "memory/jobop.h"
#include "memory/jobresult.h"
#include "memory/jobstate.h"
#include "memory/heldjobs_drop.h"
#include "metrics.h"
#include "status.h"
#include "net/upstream.h"
#include "memory/usermem.h"

#define TICK_MS   1000
#define RESCAN_MS 5000 /* how often the store is read for jobs of other processes */

static bool same_user(const struct mp_job *job, const char *user, size_t len)
{
    return job->user_len == len && memcmp(job->user, user, len) == 0;
}

/* Failed jobs are indexed (so a rescan does not take them in again) but
 * are no pending work: the queue depth leaves them out. */
static void recount(struct mp_memjobs *j)
{
    atomic_store(&j->count, (unsigned)(j->njobs - j->nfailed + j->nrunning));
    atomic_store(&j->failed, (unsigned)j->nfailed);
}

unsigned mp_memjobs_failed(const struct mp_memjobs *j)
{
    return j == NULL ? 0 : atomic_load(&j->failed);
}

unsigned mp_memjobs_pending(const struct mp_memjobs *j)
{
    return j == NULL ? 0 : atomic_load(&j->count);
}

/* ---- the index ---- */

static void note_held(struct mp_memjobs *j, const struct mp_job *job);

void mp_memjobs_fill(struct mp_job *job, enum mp_job_kind kind, const char *user, size_t user_len,
                     int64_t now)
{
    memset(job, 0, sizeof(*job));
    job->kind = kind;
    memcpy(job->user, user, user_len);
    job->user_len = user_len;
    job->created_ms = now;
}

void mp_memjobs_add(struct mp_memjobs *j, const struct mp_job *job)
{
    if (j->njobs == j->cap) {
        size_t cap = j->cap == 0 ? 64 : j->cap * 2;
        struct mp_job *nj = realloc(j->jobs, cap * sizeof(*nj));
        if (nj == NULL)
            return; /* stays stored; indexed again at the next start */
        j->jobs = nj;
        j->cap = cap;
    }
    size_t i = j->njobs;
    while (i > 0 && j->jobs[i - 1].id > job->id)
        i--;
    memmove(&j->jobs[i + 1], &j->jobs[i], (j->njobs - i) * sizeof(*j->jobs));
    j->jobs[i] = *job;
    j->njobs++;
    note_held(j, job);
    j->nfailed += job->failed != MP_JOB_FAIL_NONE;
    recount(j);
}

/* Takes the job out of the index without updating the count: a job
 * moving to running stays counted, so the queue depth never reads 0 while
 * it is on its way (tests and drains wait for 0). */
static void take_at(struct mp_memjobs *j, size_t i)
{
    j->nfailed -= j->jobs[i].failed != MP_JOB_FAIL_NONE;
    memmove(&j->jobs[i], &j->jobs[i + 1], (j->njobs - i - 1) * sizeof(*j->jobs));
    j->njobs--;
}

static void remove_at(struct mp_memjobs *j, size_t i)
{
    take_at(j, i);
    recount(j);
}

static bool has_job(const struct mp_memjobs *j, const char *user, size_t len, enum mp_job_kind kind)
{
    for (size_t i = 0; i < j->njobs; i++) {
        if (j->jobs[i].kind == kind && j->jobs[i].failed == MP_JOB_FAIL_NONE &&
            same_user(&j->jobs[i], user, len))
            return true;
    }
    for (size_t i = 0; i < j->nrunning; i++) {
        if (j->running[i]->job.kind == kind && same_user(&j->running[i]->job, user, len))
            return true;
    }
    return false;
}

/* The first message seq a pending extraction of the user still needs (with
 * failed: or a failed one, kept for its re-run), or UINT64_MAX. */
static uint64_t oldest_needed_seq(const struct mp_memjobs *j, const char *user, size_t len,
                                  bool failed)
{
    uint64_t oldest = UINT64_MAX;
    for (size_t i = 0; i < j->njobs; i++) {
        const struct mp_job *job = &j->jobs[i];
        if (job->kind == MP_JOB_EXTRACT && same_user(job, user, len) && job->from_seq < oldest &&
            (failed || job->failed == MP_JOB_FAIL_NONE))
            oldest = job->from_seq;
    }
    for (size_t i = 0; i < j->nrunning; i++) {
        const struct mp_job *job = &j->running[i]->job;
        if (job->kind == MP_JOB_EXTRACT && same_user(job, user, len) && job->from_seq < oldest)
            oldest = job->from_seq;
    }
    return oldest;
}

/* The first seq the trim must keep: a pending extraction's turns always
 * stay (they leave once read); a failed one's while the buffer holds at
 * most MP_MEMJOB_BUFFER_SLACK x keep messages from it on, so failed
 * batches never grow a buffer without bound (past it, their oldest turns
 * leave: a re-run reads them from the archive). */
static uint64_t kept_for(const struct mp_memjobs *j, const struct mp_usermem *um, const char *user,
                         size_t user_len, size_t keep)
{
    uint64_t needed = oldest_needed_seq(j, user, user_len, false);
    uint64_t failed = oldest_needed_seq(j, user, user_len, true);
    size_t from = 0;
    if (failed >= needed)
        return needed;
    while (from < um->nmessages && um->messages[from].seq < failed)
        from++;
    return um->nmessages - from <= keep * MP_MEMJOB_BUFFER_SLACK ? failed : needed;
}

bool mp_memjobs_plan_after_turn(struct mp_memjobs *j, const char *user, size_t user_len,
                                bool summarize, bool extract, struct mp_op *op)
{
    struct mp_usermem *um = NULL;
    bool planned = false;
    if (mp_store_get_head(j->store, user, user_len, &um) != MP_OK)
        return false;
    size_t n = um->nmessages;
    memset(op, 0, sizeof(*op));
    op->user = user;
    op->user_len = user_len;
    op->now_ms = mp_clock_now_ms();
    /* summary mode folds with summary jobs; hybrid's extraction batches
     * fold the summary (one call per batch, each turn sent once), and the
     * buffer's oldest half leaves once the summary covers it */
    bool jobs_fold = summarize && !extract;
    bool batch_folds = summarize && extract;
    size_t keep = summarize ? (size_t)j->cfg->memory.summarize_at * MP_MEMJOB_BUFFER_SLACK
                            : j->cfg->memory.buffer_messages;
    uint64_t through = 0;
    if (n > 0 && n >= j->cfg->memory.summarize_at && batch_folds)
        through = um->messages[n / 2 - 1].seq < um->summary.covers_through_seq
                      ? um->messages[n / 2 - 1].seq
                      : um->summary.covers_through_seq;
    if (jobs_fold && n >= j->cfg->memory.summarize_at &&
        !has_job(j, user, user_len, MP_JOB_SUMMARIZE)) {
        op->kind = MP_OP_ADD_JOB;
        mp_memjobs_fill(&op->u.job, MP_JOB_SUMMARIZE, user, user_len, op->now_ms);
        op->u.job.through_seq = um->messages[n / 2 - 1].seq; /* the oldest half */
        planned = true;
    } else if (n > keep || (n > 0 && through >= um->messages[0].seq)) {
        /* buffer modes: trim to buffer_messages; summary modes, while the
         * summary waits or fails: a hard cap, so the buffer never grows
         * without bound (the oldest go unsummarized); hybrid: the folded
         * oldest half */
        if (n > keep)
            through = um->messages[n - keep - 1].seq;
        uint64_t needed = kept_for(j, um, user, user_len, keep);
        if (needed != UINT64_MAX && through >= needed)
            through = needed - 1;
        op->kind = MP_OP_TRIM_MESSAGES;
        op->u.summary.through_seq = through;
        op->u.summary.jobs_known_through = j->jobs_known_through;
        planned = through >= um->messages[0].seq;
    }
    mp_usermem_free(um);
    return planned;
}

void mp_memjobs_planned(struct mp_memjobs *j, const struct mp_op *op)
{
    if (op->kind == MP_OP_ADD_JOB && op->result == MP_OK)
        mp_memjobs_add(j, &op->u.job);
}

/* Plans and applies the follow-up of one user's turn at once. */
static void after_turn(struct mp_memjobs *j, const char *user, size_t user_len, bool summarize,
                       bool extract)
{
    struct mp_op op;
    if (mp_memjobs_plan_after_turn(j, user, user_len, summarize, extract, &op) &&
        mp_jobop_apply(j->store, &op, 1) == MP_OK)
        mp_memjobs_planned(j, &op);
}

/* ---- credentials and held jobs ---- */
void mp_memjobs_remember_auth(struct mp_memjobs *j, const char *user, size_t user_len,
                              enum mp_llm_api api, const char *line, size_t len)
{
    mp_jobauth_remember(j->auth, user, user_len, api, line, len);
}

static bool is_held(const struct mp_memjobs *j, const struct mp_job *job)
{
    return job->failed == MP_JOB_FAIL_NONE &&
           !mp_jobauth_has(j->auth, j->cfg, job->user, job->user_len);
}

/* A job just indexed joins the held gauge at once when it is held, so that
 * admission (mp_memworker_admit) never counts it until the next pass. */
static void note_held(struct mp_memjobs *j, const struct mp_job *job)
{
    if (!is_held(j, job))
        return;
    int64_t since = atomic_load(&j->held_since);
    if (since == 0 || job->created_ms < since)
        atomic_store(&j->held_since, job->created_ms);
    atomic_fetch_add(&j->held, 1);
}

/* Takes the held jobs that left (their fate set by mp_heldjobs_drop) out
 * of the index, in one sweep. */
static void take_out_left(struct mp_memjobs *j, const struct mp_heldjob *held, size_t n)
{
    size_t w = 0, h = 0;
    for (size_t r = 0; r < j->njobs; r++) {
        bool left = false;
        if (h < n && held[h].at == r)
            left = held[h++].fate != MP_HELDJOB_KEEP;
        if (!left)
            j->jobs[w++] = j->jobs[r];
    }
    j->njobs = w;
    recount(j);
}

/* The held pass: finds the waiting jobs no credential may go with (the
 * held gauge and its oldest), and drops those past held_jobs_ttl_seconds
 * or the held bounds (heldjobs_drop.h): once a tick, or at once past
 * held_jobs_max. A job another process holds, or whose retry waits, is
 * busy: counted, never dropped. */
static void held_pass(struct mp_memjobs *j, int64_t now)
{
    struct mp_heldjob *held = NULL;
    size_t n = 0, kept = 0;
    int64_t since = 0;
    if (mp_memcred_configured(j->cfg) != NULL || j->njobs == 0) {
        atomic_store(&j->held, 0);
        atomic_store(&j->held_since, 0);
        return;
    }
    held = calloc(j->njobs, sizeof(*held));
    if (held == NULL)
        return; /* the gauge stays as it was until the next pass */
    for (size_t i = 0; i < j->njobs; i++) {
        const struct mp_job *job = &j->jobs[i];
        if (is_held(j, job)) /* failed: kept */
            held[n++] = (struct mp_heldjob){.user = job->user,
                                            .user_len = job->user_len,
                                            .created_ms = job->created_ms,
                                            .busy = job->not_before_ms > now,
                                            .at = i};
    }
    if (n > 0 && (now - j->held_checked_ms >= TICK_MS || n > j->cfg->memory.held_jobs_max)) {
        j->held_checked_ms = now;
        if (mp_heldjobs_drop(j->store, j->metrics, j->cfg, j->jobs, held, n, now) > 0)
            take_out_left(j, held, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (held[i].fate != MP_HELDJOB_KEEP)
            continue;
        kept++;
        since = since == 0 || held[i].created_ms < since ? held[i].created_ms : since;
    }
    free(held);
    atomic_store(&j->held, (unsigned)kept);
    atomic_store(&j->held_since, since);
}

unsigned mp_memjobs_held(const struct mp_memjobs *j)
{
    return j == NULL ? 0 : atomic_load(&j->held);
}

int64_t mp_memjobs_held_since(const struct mp_memjobs *j)
{
    return j == NULL ? 0 : atomic_load(&j->held_since);
}

static enum mp_job_metric_kind metric_kind(const struct mp_job *job)
{
    return job->kind == MP_JOB_SUMMARIZE ? MP_JOBM_SUMMARIZE : MP_JOBM_EXTRACT;
}

/* Counts job's result (memproxy_memory_jobs_total). */
static void count(struct mp_memjobs *j, const struct mp_job *job, enum mp_job_metric_result res)
{
    mp_metrics_memory_job(j->metrics, metric_kind(job), res);
}

/* Whether a batch whose first job is first gives up after one more failure
 * of this kind (memjob.h: the retry rules). */
static bool gives_up(const struct mp_memjobs *j, const struct mp_job *first, enum mp_job_fail why,
                     int64_t now)
{
    int64_t horizon = (int64_t)j->cfg->memory.job_retry_horizon_seconds * 1000;
    if (why == MP_JOB_FAIL_MALFORMED)
        return first->malformed + 1u >= MP_MEMJOB_MALFORMED_TRIES;
    if (first->attempts + 1u < MP_MEMJOB_MAX_ATTEMPTS)
        return false;
    return why == MP_JOB_FAIL_REJECTED || now - first->created_ms >= horizon;
}

/* The wait before the next try: [memory] job_retry_backoff_ms doubling per
 * attempt, at most job_retry_backoff_max_ms, or the upstream's Retry-After
 * when longer (at most an hour). */
static int64_t backoff_ms(const struct mp_memjobs *j, uint32_t attempts, int64_t retry_after_ms)
{
    int64_t max = j->cfg->memory.job_retry_backoff_max_ms;
    unsigned shift = attempts > 20 ? 20 : attempts > 0 ? attempts - 1 : 0;
    int64_t wait = (int64_t)j->cfg->memory.job_retry_backoff_ms << shift;
    wait = wait > max ? max : wait;
    if (retry_after_ms > 3600000)
        retry_after_ms = 3600000;
    return retry_after_ms > wait ? retry_after_ms : wait;
}

/* The job failed at now: stored again to be retried after a backoff, or
 * (give_up) kept as failed for a re-run, never dropped. */
static void job_failed_try(struct mp_memjobs *j, struct mp_job *job, enum mp_job_fail why,
                           bool give_up, int64_t retry_after_ms, int64_t now)
{
    job->attempts += job->attempts < 0xffff;
    job->malformed += why == MP_JOB_FAIL_MALFORMED && job->malformed < 0xff;
    /* a failed job never waits for a time: its not_before_ms keeps when it
       failed (GET /admin/jobs shows it), the same for every job of its
       batch, which is how the listing knows them for one (jobctl.h) */
    job->not_before_ms = give_up ? now : now + backoff_ms(j, job->attempts, retry_after_ms);
    job->failed = give_up ? (uint8_t)why : MP_JOB_FAIL_NONE;
    struct mp_op op;
    mp_jobop_init(&op, MP_OP_UPDATE_JOB, job, now);
    op.u.job = *job;
    mp_jobop_apply(j->store, &op, 1);
    mp_memjobs_add(j, job);
    count(j, job,
          give_up                        ? MP_JOBR_FAILED
          : why == MP_JOB_FAIL_MALFORMED ? MP_JOBR_INVALID /* an answer not used, tried again */
                                         : MP_JOBR_RETRY);
    if (give_up)
        mp_metrics_memory_job_failed(j->metrics, metric_kind(job), why);
}

/* A failure of the jobs turns[0..n) (one batch, or one summary job): all
 * stored again and indexed to be retried after a backoff, or all kept as
 * failed (memjob.h: the retry rules); counted and logged (no user, no
 * text). */
static void batch_failed(struct mp_memjobs *j, struct mp_jobturn *turns, size_t n,
                         enum mp_job_fail why, int64_t retry_after_ms)
{
    int64_t now = mp_clock_now_ms();
    bool give_up = n > 0 && gives_up(j, &turns[0].job, why, now);
    for (size_t i = 0; i < n; i++)
        job_failed_try(j, &turns[i].job, why, give_up, retry_after_ms, now);
    if (!give_up && why != MP_JOB_FAIL_MALFORMED)
        return;
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_WARN,
                     give_up ? "memory job failed: kept for a re-run (POST /admin/extract)"
                             : "memory model answer could not be used: tried again");
    mp_logline_str(&l, "kind", turns[0].job.kind == MP_JOB_SUMMARIZE ? "summarize" : "extract");
    mp_logline_str(&l, "reason", mp_metrics_job_fail_name(why));
    mp_logline_int(&l, "turns", (int64_t)n);
    mp_logline_int(&l, "attempts", (int64_t)turns[0].job.attempts);
    mp_logline_end(&l);
}

/* Whether the index or a running job holds job id. */
static bool known(const struct mp_memjobs *j, uint64_t id)
{
    size_t lo = 0, hi = j->njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->jobs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < j->njobs && j->jobs[lo].id == id)
        return true;
    for (size_t i = 0; i < j->nrunning; i++)
        if (j->running[i]->job.id == id)
            return true;
    return false;
}

/* ---- scheduling ---- */

/* A set of user hashes for one scheduling pass (open addressing). A hash
 * collision only delays a job to a later pass. */
struct user_set {
    uint64_t *slots; /* 0 = free */
    size_t mask;
};

static bool set_init(struct user_set *set, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    set->slots = calloc(cap, sizeof(*set->slots));
    set->mask = cap - 1;
    return set->slots != NULL;
}

/* Adds h; returns true when it was already there. */
static bool set_add(struct user_set *set, uint64_t h)
{
    h |= 1; /* never 0 */
    for (size_t i = h & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == h)
            return true;
        if (set->slots[i] == 0) {
            set->slots[i] = h;
            return false;
        }
    }
}

/* The indexes of the user's waiting extraction jobs from i (the user's
 * first waiting job) on, in id order, up to a job of another kind; at most
 * extract_batch_turns (a call carries no more). */
static size_t batch_max(const struct mp_memjobs *j)
{
    size_t max = j->cfg->memory.extract_batch_turns;
    return max > MP_CONFIG_BATCH_TURNS_MAX ? MP_CONFIG_BATCH_TURNS_MAX : max;
}

static size_t collect_batch(const struct mp_memjobs *j, size_t i, int64_t now, size_t *idx)
{
    const struct mp_job *first = &j->jobs[i];
    size_t max = batch_max(j);
    size_t n = 0;
    for (size_t k = i; k < j->njobs && n < max; k++) {
        const struct mp_job *job = &j->jobs[k];
        if (!same_user(job, first->user, first->user_len) || job->failed != MP_JOB_FAIL_NONE)
            continue; /* a failed batch waits for its re-run: later turns go on */
        if (job->kind != MP_JOB_EXTRACT || job->not_before_ms > now)
            break; /* a summary's turn, or a turn held (a retry's, a lone turn's) */
        idx[n++] = k;
    }
    return n;
}

/* Whether the user's pending turns go to the model now: they are
 * extract_batch_turns, the oldest has waited extract_idle_seconds, the
 * batch failed before (a retry), or the proxy drains. */
static bool batch_due(const struct mp_memjobs *j, const struct mp_job *first, size_t n, int64_t now)
{
    return n >= j->cfg->memory.extract_batch_turns || first->attempts > 0 ||
           first->created_ms <= j->due_before_ms ||
           now - first->created_ms >= (int64_t)j->cfg->memory.extract_idle_seconds * 1000 ||
           atomic_load(&j->draining);
}

/* Claims the jobs idx[0..n) in one transaction (each a lease of [memory]
 * job_lease_seconds: each job runs in one process of those sharing a
 * store) and takes those claimed out of the index into *out
 * (malloc'd; jobs gone meanwhile leave the index too; a job another
 * process holds waits until its lease ends). Returns how many were
 * claimed: 0 when none (another process holds them, or the store
 * failed). */
static size_t claim_batch(struct mp_memjobs *j, const size_t *idx, size_t n, int64_t now,
                          struct mp_jobturn **out)
{
    struct mp_op ops[MP_CONFIG_BATCH_TURNS_MAX];
    struct mp_jobturn *turns = calloc(n, sizeof(*turns));
    size_t taken = 0;
    *out = turns;
    for (size_t k = 0; k < n; k++) {
        ops[k] = (struct mp_op){.kind = MP_OP_CLAIM_JOB, .now_ms = now};
        ops[k].u.claim.job_id = j->jobs[idx[k]].id;
        ops[k].u.claim.owner = j->owner;
        ops[k].u.claim.until_ms = now + (int64_t)j->cfg->memory.job_lease_seconds * 1000;
    }
    if (turns == NULL || mp_store_apply(j->store, ops, n) != MP_OK)
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (ops[k].result == MP_OK)
            turns[taken++].job = j->jobs[idx[k]];
        else if (ops[k].result == MP_ECONFLICT)
            j->jobs[idx[k]].not_before_ms = ops[k].u.claim.until_ms;
    }
    for (size_t k = n; k > 0; k--) /* from the end: the indexes stay valid */
        if (ops[k - 1].result == MP_OK || ops[k - 1].result == MP_NOTFOUND)
            take_at(j, idx[k - 1]);
    return taken;
}

/* Acts on what became of the jobs turns[0..n) of one call (the verdict
 * of jobcall.c or jobresult.c): the counts, the jobs over, retried or
 * indexed again, and the user's follow-up. */
static void settle(struct mp_memjobs *j, struct mp_jobturn *turns, size_t n,
                   const struct mp_jobverdict *v)
{
    const struct mp_job *first = &turns[0].job;
    struct mp_op over;
    if (v->answered) /* the call's usage, by job kind and model (the upstream's, else ours) */
        mp_metrics_memory_model(j->metrics, metric_kind(first), &v->usage,
                                first->kind == MP_JOB_SUMMARIZE ? j->cfg->memory.summary_model
                                                                : j->cfg->memory.extraction_model);
    switch (v->kind) {
    case MP_JOBV_DONE:
        for (size_t i = 0; i < n; i++)
            count(j, &turns[i].job, MP_JOBR_OK);
        for (int why = MP_REASON_NEWER; why <= MP_REASON_ADMIN; why++)
            if (v->kept_out[why] > 0)
                mp_metrics_kept_out(j->metrics, (enum mp_hist_reason)why, v->kept_out[why]);
        after_turn(j, first->user, first->user_len, v->summarize, v->extract);
        break;
    case MP_JOBV_SKIPPED: /* over: removed from the store */
        for (size_t i = 0; i < n; i++) {
            mp_jobop_done(&over, &turns[i].job, mp_clock_now_ms());
            mp_jobop_apply(j->store, &over, 1);
            count(j, &turns[i].job, MP_JOBR_SKIPPED);
        }
        break;
    case MP_JOBV_FAILED:
        batch_failed(j, turns, n, v->why, v->retry_after_ms);
        break;
    case MP_JOBV_ERASED: {
        struct mp_logline l;
        mp_logline_begin(&l, MP_LOG_INFO, "memory job result dropped: erased during the call");
        mp_logline_str(&l, "kind", first->kind == MP_JOB_SUMMARIZE ? "summarize" : "extract");
        mp_logline_int(&l, "turns", (int64_t)n);
        mp_logline_end(&l);
        for (size_t i = 0; i < n; i++) {
            count(j, &turns[i].job, MP_JOBR_ERASED);
            mp_memjobs_add(j, &turns[i].job); /* as they were: no attempt counted */
        }
        break;
    }
    }
}

/* The upstream's completion callback of a call (req): out of the running
 * calls, its answer applied, its verdict acted on, a scheduling pass. */
static void on_call_done(void *req, CURLcode result)
{
    struct mp_jobrun *r = req;
    struct mp_memjobs *j = r->owner;
    struct mp_jobverdict v;
    for (size_t i = 0; i < j->nrunning; i++) {
        if (j->running[i] == r) {
            j->running[i] = j->running[--j->nrunning];
            break;
        }
    }
    if (mp_jobcall_end(r, result, &v))
        mp_jobresult_apply(j, r, &v);
    settle(j, r->turns, r->nturns, &v);
    mp_jobcall_free(j, r);
    recount(j);
    mp_memjobs_schedule(j);
}

/* Starts the user's first waiting job at index i: a summary job alone, an
 * extraction job with the user's batch when it is due (else its jobs count
 * as waiting), claimed, with *auth (taken). Returns whether the index
 * changed at i (jobs taken out). */
static bool try_start(struct mp_memjobs *j, size_t i, int64_t now, char **auth, unsigned *waiting)
{
    size_t idx[MP_CONFIG_BATCH_TURNS_MAX] = {i};
    size_t n = 1, before = j->njobs;
    struct mp_jobturn *turns = NULL;
    struct mp_jobverdict v;
    if (j->jobs[i].kind == MP_JOB_EXTRACT) {
        n = collect_batch(j, i, now, idx);
        if (!batch_due(j, &j->jobs[i], n, now)) {
            *waiting += (unsigned)n;
            return false;
        }
    }
    size_t taken = claim_batch(j, idx, n, now, &turns);
    if (taken == 0) {
        free(turns);
        return j->njobs != before; /* done or erased meanwhile (another process) */
    }
    struct mp_jobrun *r = mp_jobcall_start(j, turns, taken, *auth, &v);
    *auth = NULL;
    if (r == NULL) {
        settle(j, turns, taken, &v);
        free(turns);
        return true;
    }
    r->owner = j;
    j->running[j->nrunning++] = r;
    return true;
}

/* One pass in id order: a user's first waiting job is its only candidate
 * (its later jobs wait behind it, but for the extraction jobs that go with
 * it in one batch), and a user with a running job waits. Whether a
 * candidate's batch is due is looked up in the batches counted once per
 * pass (jobbatch.h). The next pass comes in a tick, or sooner when a retry
 * is due sooner (a backoff under a tick is kept, not rounded up to it). */
void mp_memjobs_schedule(struct mp_memjobs *j)
{
    int64_t now = mp_clock_now_ms(), next = now + TICK_MS;
    struct user_set busy;
    struct mp_jobbatch batches;
    size_t i = 0;
    unsigned waiting = 0;
    if (!set_init(&busy, j->njobs + j->nrunning))
        return;
    mp_jobbatch_build(&batches, j->jobs, j->njobs, batch_max(j),
                      now); /* else: counted one by one */
    for (size_t k = 0; k < j->nrunning; k++)
        set_add(&busy,
                mp_fnv1a64(MP_FNV1A64_BASIS, j->running[k]->job.user, j->running[k]->job.user_len));
    while (i < j->njobs && j->nrunning < MP_MEMJOB_MAX_RUNNING) {
        struct mp_job *job = &j->jobs[i];
        char *auth = NULL;
        if (job->failed != MP_JOB_FAIL_NONE) {
            i++; /* kept for a re-run (mp_memjobs_extract_now); not the user's first job */
            continue;
        }
        if (set_add(&busy, mp_fnv1a64(MP_FNV1A64_BASIS, job->user, job->user_len)) ||
            job->not_before_ms > now) {
            if (job->not_before_ms > now && job->not_before_ms < next)
                next = job->not_before_ms;
            i++;
            continue;
        }
        if (!mp_jobauth_has(j->auth, j->cfg, job->user, job->user_len)) {
            i++; /* held for a credential: a key, or the user's next request (count_held) */
            continue;
        }
        size_t n =
            job->kind == MP_JOB_EXTRACT ? mp_jobbatch_find(&batches, job) : MP_JOBBATCH_UNKNOWN;
        if (n != MP_JOBBATCH_UNKNOWN && !batch_due(j, job, n, now)) {
            waiting += (unsigned)n;
            i++;
            continue;
        }
        auth = mp_jobauth_line(j->auth, j->cfg, job->user, job->user_len);
        if (auth == NULL) {
            i++; /* out of memory: the next pass */
            continue;
        }
        bool changed = try_start(j, i, now, &auth, &waiting);
        mp_jobauth_line_free(auth); /* the batch not due, or not taken */
        i += !changed;
        recount(j); /* running now, retried or done */
    }
    free(busy.slots);
    mp_jobbatch_free(&batches);
    held_pass(j, now);
    atomic_store(&j->batched, waiting);
    if (j->njobs > 0) {
        struct timeval tv = {(next - now) / 1000, ((next - now) % 1000) * 1000};
        evtimer_add(j->tick, &tv);
    }
}

void mp_memjobs_drain(struct mp_memjobs *j)
{
    atomic_store(&j->draining, true);
}

#define RERUN_CHUNK 64 /* failed jobs made pending again per transaction */

/* The failed jobs at idx[0..n) pending again, in one transaction; returns
 * how many (0 when the store failed: they stay failed, for the next
 * re-run). */
static unsigned rerun_chunk(struct mp_memjobs *j, const size_t *idx, size_t n)
{
    struct mp_op ops[RERUN_CHUNK];
    int64_t now = mp_clock_now_ms();
    for (size_t k = 0; k < n; k++)
        mp_jobop_rerun(&ops[k], &j->jobs[idx[k]], now);
    if (n == 0 || mp_jobop_apply(j->store, ops, n) != MP_OK)
        return 0;
    for (size_t k = 0; k < n; k++)
        j->jobs[idx[k]] = ops[k].u.job;
    j->nfailed -= n;
    return (unsigned)n;
}

/* Failed jobs are pending again, tried afresh (stored so: another
 * process, or the next start, sees them pending too). Returns how many. */
static unsigned rerun_failed(struct mp_memjobs *j)
{
    size_t idx[RERUN_CHUNK], m = 0;
    unsigned n = 0;
    for (size_t i = 0; i < j->njobs; i++) {
        if (j->jobs[i].failed == MP_JOB_FAIL_NONE)
            continue;
        idx[m++] = i;
        if (m == RERUN_CHUNK) {
            n += rerun_chunk(j, idx, m);
            m = 0;
        }
    }
    n += rerun_chunk(j, idx, m);
    recount(j);
    if (n > 0) {
        struct mp_logline l;
        mp_logline_begin(&l, MP_LOG_INFO, "failed memory jobs run again");
        mp_logline_int(&l, "jobs", (int64_t)n);
        mp_logline_end(&l);
    }
    return n;
}

unsigned mp_memjobs_extract_now(struct mp_memjobs *j)
{
    unsigned n = 0;
    rerun_failed(j);
    j->due_before_ms = mp_clock_now_ms();
    for (size_t i = 0; i < j->njobs; i++)
        n += j->jobs[i].kind == MP_JOB_EXTRACT;
    mp_memjobs_schedule(j);
    return n;
}

/* A job of this process's running calls. */
static bool running_here(const struct mp_memjobs *j, uint64_t id)
{
    for (size_t k = 0; k < j->nrunning; k++) {
        for (size_t t = 0; t < j->running[k]->nturns; t++) {
            if (j->running[k]->turns[t].job.id == id)
                return true;
        }
    }
    return false;
}

enum mp_memjob_state mp_memjobs_state(const struct mp_memjobs *j, const struct mp_job *stored,
                                      int64_t now)
{
    if (stored->failed != MP_JOB_FAIL_NONE)
        return MP_MEMJOB_FAILED;
    if (running_here(j, stored->id) ||
        (stored->lease_owner != 0 && stored->lease_owner != j->owner &&
         stored->lease_until_ms > now))
        return MP_MEMJOB_LEASED;
    return is_held(j, stored) ? MP_MEMJOB_HELD : MP_MEMJOB_PENDING;
}

void mp_memjobs_forget_job(struct mp_memjobs *j, uint64_t id)
{
    for (size_t i = 0; i < j->njobs; i++) {
        if (j->jobs[i].id == id) {
            remove_at(j, i);
            return;
        }
    }
}

void mp_memjobs_due(struct mp_memjobs *j, const struct mp_job *job)
{
    if (job->created_ms > j->due_before_ms)
        j->due_before_ms = job->created_ms;
}

unsigned mp_memjobs_batched(const struct mp_memjobs *j)
{
    return j == NULL ? 0 : atomic_load(&j->batched);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mp_memjobs_schedule(arg);
}

/* A job another process holds the lease of (as stored says) waits until
 * the lease ends (held for a credential, it is busy: heldjobs_drop.h). */
static void wait_lease(const struct mp_memjobs *j, struct mp_job *job, const struct mp_job *stored,
                       int64_t now)
{
    if (stored->lease_owner != j->owner && stored->lease_until_ms > now &&
        stored->lease_until_ms > job->not_before_ms)
        job->not_before_ms = stored->lease_until_ms; /* another process runs it now */
}

/* Brings the indexed jobs in line with a read of every stored job
 * (jobs[0..n), in id order): a job the store no longer holds leaves the
 * index (another process did it or ran a failed one again, or it was
 * erased: every indexed job was committed before the read, on this
 * thread), so that a job held here is not counted, nor dropped, once
 * another process ran it; one another process took since waits for its
 * lease; and the index takes the store's failed state of every job it
 * holds (another process may have given it up, or made it pending again).
 * Returns how many left. */
static size_t sync_index(struct mp_memjobs *j, const struct mp_job *jobs, size_t n, int64_t now)
{
    size_t before = j->njobs;
    size_t w = 0, k = 0;
    for (size_t r = 0; r < j->njobs; r++) {
        struct mp_job *job = &j->jobs[r];
        bool failed = job->failed != MP_JOB_FAIL_NONE;
        while (k < n && jobs[k].id < job->id)
            k++;
        if (k == n || jobs[k].id != job->id) {
            j->nfailed -= failed; /* gone */
            continue;
        }
        if ((jobs[k].failed != MP_JOB_FAIL_NONE) != failed) {
            j->nfailed += failed ? (size_t)-1 : 1;
            *job = jobs[k];
        }
        wait_lease(j, job, &jobs[k], now);
        j->jobs[w++] = *job;
    }
    j->njobs = w;
    recount(j);
    return before - w;
}

int mp_memjobs_rescan(struct mp_memjobs *j)
{
    struct mp_job *jobs = NULL;
    size_t n = 0, added = 0;
    uint64_t through = 0;
    bool indexed = true;
    int64_t now = mp_clock_now_ms();
    int rc = mp_store_jobs(j->store, &jobs, &n);
    if (rc != MP_OK)
        return rc;
    size_t gone = sync_index(j, jobs, n, now);
    for (size_t i = 0; i < n; i++) {
        struct mp_job *job = &jobs[i];
        through = job->id > through ? job->id : through;
        if (known(j, job->id))
            continue;
        wait_lease(j, job, job, now);
        mp_memjobs_add(j, job);
        indexed = indexed && known(j, job->id);
        added++;
    }
    free(jobs);
    if (indexed && through > j->jobs_known_through)
        j->jobs_known_through = through;
    if (added > 0 || gone > 0) /* the gauges too */
        mp_memjobs_schedule(j);
    return MP_OK;
}

static void on_rescan(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mp_memjobs_rescan(arg); /* a failed read: the next one */
}

void mp_memjobs_forget_user(struct mp_memjobs *j, const char *user, size_t user_len)
{
    size_t i = 0;
    while (i < j->njobs) {
        if (same_user(&j->jobs[i], user, user_len))
            remove_at(j, i);
        else
            i++;
    }
    i = 0;
    while (i < j->nrunning) {
        struct mp_jobrun *r = j->running[i];
        if (!same_user(&r->job, user, user_len)) {
            i++;
            continue;
        }
        mp_upstream_cancel(j->up, r->easy);
        j->running[i] = j->running[--j->nrunning];
        mp_jobcall_free(j, r);
    }
    mp_jobauth_forget(j->auth, user, user_len);
    recount(j);
}

/* ---- life ---- */

struct mp_memjobs *mp_memjobs_new(struct event_base *base, struct mp_store *store,
                                  struct mp_metrics *metrics, const struct mp_config *cfg)
{
    struct mp_memjobs *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->base = base;
    j->store = store;
    j->metrics = metrics;
    j->cfg = cfg;
    j->up = mp_upstream_new(base, on_call_done);
    j->tick = evtimer_new(base, on_tick, j);
    j->rescan = event_new(base, -1, EV_PERSIST, on_rescan, j);
    while (j->owner == 0 && getrandom(&j->owner, sizeof(j->owner), 0) != sizeof(j->owner))
        ;
    j->auth = mp_jobauth_new();
    struct timeval every = {RESCAN_MS / 1000, (RESCAN_MS % 1000) * 1000};
    if (j->up == NULL || j->tick == NULL || j->rescan == NULL || j->auth == NULL ||
        event_add(j->rescan, &every) != 0) {
        mp_memjobs_free(j);
        return NULL;
    }
    return j;
}

void mp_memjobs_set_config(struct mp_memjobs *j, const struct mp_config *cfg)
{
    j->cfg = cfg;
}

void mp_memjobs_free(struct mp_memjobs *j)
{
    if (j == NULL)
        return;
    while (j->nrunning > 0) {
        struct mp_jobrun *r = j->running[--j->nrunning];
        mp_upstream_cancel(j->up, r->easy);
        mp_jobcall_free(j, r);
    }
    mp_jobauth_free(j->auth);
    if (j->tick != NULL)
        event_free(j->tick);
    if (j->rescan != NULL)
        event_free(j->rescan);
    mp_upstream_free(j->up);
    free(j->jobs);
    free(j);
}
