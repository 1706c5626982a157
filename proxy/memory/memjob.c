/* Memory jobs: index, scheduling, one chat completion per job, results.
 * Runs on the memory worker thread only (see memjob.h). */
#include "memory/memjob.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "lang.h"
#include "log.h"
#include "memcred.h"
#include "memory/memheld.h"
#include "memprompt.h"
#include "metrics.h"
#include "pii.h"
#include "piipolicy.h"
#include "status.h"
#include "tokenuse.h"
#include "net/upstream.h"
#include "usermem.h"

#define AUTH_SLOTS         65536 /* users whose credentials are remembered, at most */
#define AUTH_PROBES        8     /* slots a user may land in; the least recently used is evicted */
#define JOB_RESPONSE_MAX   (1 << 20) /* a job's upstream answer, at most */
#define JOB_TIMEOUT_MS     120000
#define MAX_FACTS_PER_TURN 32
#define TICK_MS            1000
#define RESCAN_MS          5000 /* how often the store is read for jobs of other processes */

_Static_assert(MP_MEMPROMPT_KEYS_MAX <= MP_MESSAGE_KEYS_MAX, "a turn's search keys fit the store");

/* What the user's latest turn on one provider's routes lent that
 * provider's memory jobs. */
struct auth_lent {
    bool known; /* such a turn was seen */
    char *line; /* its credential header line "Name: value", or NULL: it carried none */
    size_t len;
};

struct auth_slot {
    uint64_t hash;
    uint64_t used; /* tick of the last remember: the oldest is evicted */
    char *user;
    size_t user_len;
    struct auth_lent of[2]; /* by enum mp_llm_api: a credential stays with its provider */
};

/* One turn of a running extraction batch (a summary job: its one job). */
struct batch_turn {
    struct mp_job job;
    char request_id[MP_REQUEST_ID_MAX + 1]; /* the source turn */
    int64_t observed_at_ms;                 /* when that turn happened */
    size_t number;                          /* its number in the prompt; 0: not sent */
};

struct running {
    struct mp_memjobs *owner;
    struct mp_job job;        /* the first of turns */
    struct batch_turn *turns; /* owned */
    size_t nturns, nsent;     /* jobs; turns sent to the model */
    bool fold;                /* EXTRACT: the call folds the summary too (hybrid) */
    bool keys;                /* EXTRACT: the call asks for search keys */
    CURL *easy;
    char *body;
    char *auth_line;
    char *resp;
    size_t resp_len, resp_cap;
    bool too_big;
    uint64_t epoch;            /* the user's memory epoch when the call's turns were read */
    uint64_t summary_from_seq; /* a fold: what the summary folded in covered */
    bool summary_from_text;    /* a fold: whether there was one */
    enum mp_llm_api api;       /* the API the request was built for (a reload may change it) */
    struct curl_slist nodes[5];
    char url[MP_CONFIG_URL_MAX + 32];
};

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
    struct running *running[MP_MEMJOB_MAX_RUNNING];
    size_t nrunning;
    _Atomic unsigned count;
    uint64_t auth_tick;
    struct auth_slot *auth;   /* AUTH_SLOTS */
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
       when a pass last dropped those past their bounds (memheld.h) */
    _Atomic int64_t held_since;
    int64_t held_checked_ms;
};

static int64_t now_ms(void)
{
    return mp_clock_now_ms();
}

static uint64_t hash_user(const char *user, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)user[i]) * 0x100000001b3ULL;
    return h;
}

static bool same_user(const struct mp_job *job, const char *user, size_t len)
{
    return job->user_len == len && memcmp(job->user, user, len) == 0;
}

/* Failed jobs are indexed (so a rescan does not take them in again) but
 * are no pending work: the queue depth leaves them out. */
static void update_count(struct mp_memjobs *j)
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
    update_count(j);
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
    update_count(j);
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

static int apply(struct mp_memjobs *j, struct mp_op *ops, size_t n)
{
    int rc = mp_store_apply(j->store, ops, n);
    if (rc != MP_OK)
        mp_log(MP_LOG_ERROR, "memory store write failed in a memory job");
    return rc;
}

static void op_for_job(struct mp_op *op, enum mp_op_kind kind, const struct mp_job *job)
{
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->user = job->user;
    op->user_len = job->user_len;
    op->now_ms = now_ms();
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
    op->now_ms = now_ms();
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

void mp_memjobs_after_turn(struct mp_memjobs *j, const char *user, size_t user_len, bool summarize,
                           bool extract)
{
    struct mp_op op;
    if (mp_memjobs_plan_after_turn(j, user, user_len, summarize, extract, &op) &&
        apply(j, &op, 1) == MP_OK)
        mp_memjobs_planned(j, &op);
}

/* ---- authorization ---- */

static bool slot_is(const struct auth_slot *s, uint64_t h, const char *user, size_t len)
{
    return s->user != NULL && s->hash == h && s->user_len == len && memcmp(s->user, user, len) == 0;
}

/* The user's slot, or NULL. */
static struct auth_slot *find_auth(const struct mp_memjobs *j, const char *user, size_t len)
{
    uint64_t h = hash_user(user, len);
    for (size_t k = 0; k < AUTH_PROBES; k++) {
        struct auth_slot *s = &j->auth[(h + k) % AUTH_SLOTS];
        if (slot_is(s, h, user, len))
            return s;
    }
    return NULL;
}

/* The slot to (re)use for a user: its own, a free one, or the least
 * recently used of its probe window. */
static struct auth_slot *claim_auth(struct mp_memjobs *j, uint64_t h, const char *user, size_t len)
{
    struct auth_slot *victim = NULL;
    for (size_t k = 0; k < AUTH_PROBES; k++) {
        struct auth_slot *s = &j->auth[(h + k) % AUTH_SLOTS];
        if (slot_is(s, h, user, len) || s->user == NULL)
            return s;
        if (victim == NULL || s->used < victim->used)
            victim = s;
    }
    return victim;
}

static void clear_lent(struct auth_lent *l)
{
    if (l->line != NULL)
        memset(l->line, 0, l->len);
    free(l->line);
    memset(l, 0, sizeof(*l));
}

static void clear_slot(struct auth_slot *s)
{
    free(s->user);
    clear_lent(&s->of[MP_LLM_OPENAI]);
    clear_lent(&s->of[MP_LLM_ANTHROPIC]);
    memset(s, 0, sizeof(*s));
}

static bool same_lent(const struct auth_lent *l, const char *line, size_t len)
{
    if (!l->known || (line == NULL) != (l->line == NULL))
        return false;
    return line == NULL || (l->len == len && memcmp(l->line, line, len) == 0);
}

/* The user's slot, claimed (another user's evicted): NULL when out of memory. */
static struct auth_slot *own_slot(struct mp_memjobs *j, const char *user, size_t len)
{
    uint64_t h = hash_user(user, len);
    struct auth_slot *s = claim_auth(j, h, user, len);
    s->used = ++j->auth_tick;
    if (slot_is(s, h, user, len))
        return s;
    char *u = malloc(len);
    if (u == NULL)
        return NULL;
    memcpy(u, user, len);
    clear_slot(s);
    *s = (struct auth_slot){.hash = h, .used = j->auth_tick, .user = u, .user_len = len};
    return s;
}

void mp_memjobs_remember_auth(struct mp_memjobs *j, const char *user, size_t user_len,
                              enum mp_llm_api api, const char *line, size_t len)
{
    struct auth_slot *s = own_slot(j, user, user_len);
    if (s == NULL)
        return;
    struct auth_lent *l = &s->of[api];
    if (same_lent(l, line, len))
        return;
    char *copy = NULL;
    if (line != NULL) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return;
        memcpy(copy, line, len);
        copy[len] = '\0';
    }
    clear_lent(l);
    *l = (struct auth_lent){.known = true, .line = copy, .len = len};
}

static void forget_auth(struct mp_memjobs *j, const char *user, size_t user_len)
{
    struct auth_slot *s = find_auth(j, user, user_len);
    if (s != NULL)
        clear_slot(s);
}

/* "<name>: <value>" (value[0..vlen)), malloc'd; NULL when out of memory. */
static char *header_line(const char *name, const char *value, size_t vlen)
{
    size_t n = strlen(name);
    char *line = malloc(n + 2 + vlen + 1);
    if (line == NULL)
        return NULL;
    memcpy(line, name, n);
    memcpy(line + n, ": ", 2);
    memcpy(line + n + 2, value, vlen);
    line[n + 2 + vlen] = '\0';
    return line;
}

/* What the user's turns on the memory provider's routes lent, or NULL
 * when none was seen. */
static const struct auth_lent *lent_for(const struct mp_memjobs *j, const struct mp_job *job)
{
    const struct auth_slot *s = find_auth(j, job->user, job->user_len);
    const struct auth_lent *l = s != NULL ? &s->of[j->cfg->memory.llm] : NULL;
    return l != NULL && l->known ? l : NULL;
}

/* The credential header line for a job, malloc'd; NULL when there is none
 * it may carry (core/memory/memcred.h): the configured key ([memory] api_key, else
 * the memory provider's) in that provider's form, else the header the
 * user's latest turn on that provider's routes carried. */
static char *auth_line_for(const struct mp_memjobs *j, const struct mp_job *job)
{
    enum mp_llm_api api = j->cfg->memory.llm;
    const char *key = mp_memcred_configured(j->cfg);
    if (key != NULL && api == MP_LLM_ANTHROPIC)
        return header_line("x-api-key", key, strlen(key));
    if (key != NULL) {
        char *line = malloc(sizeof("Authorization: Bearer ") + strlen(key));
        if (line != NULL)
            sprintf(line, "Authorization: Bearer %s", key);
        return line;
    }
    const struct auth_lent *l = lent_for(j, job);
    if (l == NULL)
        return NULL;
    if (l->line == NULL) /* that provider's requests carry none: send none */
        return header_line(mp_memcred_key_header(api), "", 0);
    char *line = malloc(l->len + 1);
    if (line != NULL)
        memcpy(line, l->line, l->len + 1);
    return line;
}

static bool is_held(const struct mp_memjobs *j, const struct mp_job *job)
{
    return job->failed == MP_JOB_FAIL_NONE && mp_memcred_configured(j->cfg) == NULL &&
           lent_for(j, job) == NULL;
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

/* Takes the held jobs that left (their fate set by mp_memheld_drop) out
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
    update_count(j);
}

/* The held pass: finds the waiting jobs no credential may go with (the
 * held gauge and its oldest), and drops those past held_jobs_ttl_seconds
 * or the held bounds (memheld.h): once a tick, or at once past
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
        if (job->failed == MP_JOB_FAIL_NONE && lent_for(j, job) == NULL) /* failed: kept */
            held[n++] = (struct mp_heldjob){.user = job->user,
                                            .user_len = job->user_len,
                                            .created_ms = job->created_ms,
                                            .busy = job->not_before_ms > now,
                                            .at = i};
    }
    if (n > 0 && (now - j->held_checked_ms >= TICK_MS || n > j->cfg->memory.held_jobs_max)) {
        j->held_checked_ms = now;
        if (mp_memheld_drop(j->store, j->metrics, j->cfg, j->jobs, held, n, now) > 0)
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

static void running_free(struct mp_memjobs *j, struct running *r)
{
    if (r->easy != NULL)
        mp_upstream_easy_put(j->up, r->easy);
    free(r->body);
    if (r->auth_line != NULL)
        memset(r->auth_line, 0, strlen(r->auth_line));
    free(r->auth_line);
    free(r->resp);
    free(r->turns);
    free(r);
}

static void count(struct mp_memjobs *j, const struct mp_job *job, enum mp_job_metric_result res)
{
    mp_metrics_memory_job(j->metrics,
                          job->kind == MP_JOB_SUMMARIZE ? MP_JOBM_SUMMARIZE : MP_JOBM_EXTRACT, res);
}

/* The job is over: remove it from the store. */
static void job_done(struct mp_memjobs *j, const struct mp_job *job, enum mp_job_metric_result res)
{
    struct mp_op op;
    op_for_job(&op, MP_OP_DONE_JOB, job);
    op.u.job_id = job->id;
    apply(j, &op, 1);
    count(j, job, res);
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

/* The job failed: stored again to be retried after a backoff, or (give_up)
 * kept as failed for a re-run, never dropped. */
static void job_failed_try(struct mp_memjobs *j, struct mp_job *job, enum mp_job_fail why,
                           bool give_up, int64_t retry_after_ms)
{
    job->attempts += job->attempts < 0xffff;
    job->malformed += why == MP_JOB_FAIL_MALFORMED && job->malformed < 0xff;
    /* a failed job never waits for a time: its not_before_ms keeps when it
       failed (GET /admin/jobs shows it) */
    job->not_before_ms =
        give_up ? now_ms() : now_ms() + backoff_ms(j, job->attempts, retry_after_ms);
    job->failed = give_up ? (uint8_t)why : MP_JOB_FAIL_NONE;
    struct mp_op op;
    op_for_job(&op, MP_OP_UPDATE_JOB, job);
    op.u.job = *job;
    apply(j, &op, 1);
    mp_memjobs_add(j, job);
    count(j, job,
          give_up                        ? MP_JOBR_FAILED
          : why == MP_JOB_FAIL_MALFORMED ? MP_JOBR_INVALID /* an answer not used, tried again */
                                         : MP_JOBR_RETRY);
    if (give_up)
        mp_metrics_memory_job_failed(
            j->metrics, job->kind == MP_JOB_SUMMARIZE ? MP_JOBM_SUMMARIZE : MP_JOBM_EXTRACT, why);
}

/* A failure of the jobs turns[0..n) (one batch, or one summary job): all
 * retried, or all kept as failed, logged (no user, no text). */
static void batch_failed(struct mp_memjobs *j, struct batch_turn *turns, size_t n,
                         enum mp_job_fail why, int64_t retry_after_ms)
{
    bool give_up = n > 0 && gives_up(j, &turns[0].job, why, now_ms());
    for (size_t i = 0; i < n; i++)
        job_failed_try(j, &turns[i].job, why, give_up, retry_after_ms);
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

/* Joins the texts of one role within [from, through] with "\n". */
/* The language stored with the first user message of um's seqs from ..
 * through that has one (what its joined text starts with), else 0. */
static int turn_lang(const struct mp_usermem *um, uint64_t from, uint64_t through)
{
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role == MP_ROLE_USER && m->seq >= from && m->seq <= through && m->lang != 0)
            return m->lang;
    }
    return MP_LANG_NONE;
}

static char *join_texts(const struct mp_usermem *um, enum mp_role role, uint64_t from,
                        uint64_t through, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role == role && m->seq >= from && m->seq <= through)
            total += m->content_len + 1;
    }
    char *out = malloc(total + 1);
    *len = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role != role || m->seq < from || m->seq > through)
            continue;
        if (*len > 0)
            out[(*len)++] = '\n';
        memcpy(out + *len, m->content, m->content_len);
        *len += m->content_len;
    }
    out[*len] = '\0';
    return out;
}

/* A turn that left the buffer (a failed batch's, trimmed past the bound
 * while it waited for its re-run): its messages from the archive, as a
 * usermem of messages only (free with mp_store_messages_free(out->messages,
 * out->nmessages)). false when the archive has none of it (erased, or not
 * archived). */
static bool archived_turn(struct mp_store *store, const struct mp_job *job, struct mp_usermem *out)
{
    bool more = false;
    memset(out, 0, sizeof(*out));
    if (job->through_seq < job->from_seq || job->from_seq == 0)
        return false;
    return mp_store_archive(store, job->user, job->user_len, job->from_seq - 1,
                            (size_t)(job->through_seq - job->from_seq + 1), &out->messages,
                            &out->nmessages, &more) == MP_OK &&
           out->nmessages > 0;
}

/* Whether the buffer holds any message of the turn of job. */
static bool in_buffer(const struct mp_usermem *um, const struct mp_job *job)
{
    for (size_t i = 0; i < um->nmessages; i++)
        if (um->messages[i].seq >= job->from_seq && um->messages[i].seq <= job->through_seq)
            return true;
    return false;
}

/* Whether another turn of the batch covers turn t's messages (a turn
 * whose reply was replaced since, by a regenerated reply or a tool loop's
 * final answer: its new job reads the user's words with the new reply),
 * so that they are sent once; of two equal ranges the first is sent. */
static bool covered(const struct running *r, size_t t)
{
    const struct mp_job *a = &r->turns[t].job;
    for (size_t k = 0; k < r->nturns; k++) {
        const struct mp_job *b = &r->turns[k].job;
        bool same = b->from_seq == a->from_seq && b->through_seq == a->through_seq;
        if (k != t && b->from_seq <= a->from_seq && b->through_seq >= a->through_seq &&
            (!same || k < t))
            return true;
    }
    return false;
}

/* Finds each batch turn's source in the buffer, else (a re-run's turn that
 * left it) in the archive: request id, time; numbers the turns that still
 * have user text and that no other turn of the batch covers, in id order;
 * fills pt[0..r->nsent) with their texts (malloc'd, freed by
 * free_turn_texts). */
static void batch_turns(struct mp_store *store, struct running *r, const struct mp_usermem *buffer,
                        struct mp_memprompt_turn *pt)
{
    r->nsent = 0;
    for (size_t t = 0; t < r->nturns; t++) {
        struct batch_turn *bt = &r->turns[t];
        const struct mp_job *job = &bt->job;
        size_t ulen = 0, alen = 0;
        bt->number = 0;
        bt->observed_at_ms = job->created_ms;
        if (covered(r, t))
            continue;
        struct mp_usermem arch;
        bool archived = !in_buffer(buffer, job) && archived_turn(store, job, &arch);
        const struct mp_usermem *um = archived ? &arch : buffer;
        for (size_t i = 0; i < um->nmessages; i++) {
            const struct mp_mem_message *m = &um->messages[i];
            if (m->seq >= job->from_seq && m->seq <= job->through_seq) {
                memcpy(bt->request_id, m->request_id, sizeof(bt->request_id));
                bt->observed_at_ms = m->at_ms;
                break;
            }
        }
        char *u = join_texts(um, MP_ROLE_USER, job->from_seq, job->through_seq, &ulen);
        char *a = join_texts(um, MP_ROLE_ASSISTANT, job->from_seq, job->through_seq, &alen);
        int lang = turn_lang(um, job->from_seq, job->through_seq);
        if (archived)
            mp_store_messages_free(arch.messages, arch.nmessages);
        if (u == NULL || a == NULL || ulen == 0) {
            free(u);
            free(a);
            continue; /* erased or trimmed meanwhile: nothing to send */
        }
        pt[r->nsent] = (struct mp_memprompt_turn){u, ulen, a, alen, lang};
        bt->number = ++r->nsent;
    }
}

static void free_turn_texts(struct mp_memprompt_turn *pt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)pt[i].user_text);
        free((char *)pt[i].assistant_text);
    }
}

/* The request body of a job, or NULL when there is nothing left to do. */
static char *job_body(struct mp_memjobs *j, struct running *r, const struct mp_usermem *um,
                      size_t *len)
{
    char *body = NULL;
    const struct mp_config *cfg = j->cfg;
    if (r->job.kind == MP_JOB_EXTRACT) {
        struct mp_memprompt_turn *pt = calloc(r->nturns, sizeof(*pt));
        struct mp_memprompt_fold fold = {um->summary.text, um->summary.text_len,
                                         cfg->memory.summary_max_words};
        if (pt == NULL)
            return NULL;
        batch_turns(j->store, r, um, pt);
        r->fold = cfg->memory.mode == MP_MEMORY_HYBRID;
        r->keys = cfg->memory.search_keys && cfg->memory.archive;
        if (r->nsent > 0)
            mp_memprompt_batch_request_keys(cfg->memory.llm, cfg->memory.extraction_model, pt,
                                            r->nsent, r->fold ? &fold : NULL, r->keys, &body, len);
        free_turn_texts(pt, r->nsent);
        free(pt);
        return body;
    }
    size_t n = 0;
    while (n < um->nmessages && um->messages[n].seq <= r->job.through_seq)
        n++;
    if (um->summary.text != NULL && r->job.through_seq <= um->summary.covers_through_seq)
        n = 0; /* a re-run of a fold a later one already made */
    if (n > 0)
        mp_memprompt_summary_request(cfg->memory.llm, cfg->memory.summary_model,
                                     cfg->memory.summary_max_words, um->summary.text,
                                     um->summary.text_len, um->messages, n, &body, len);
    return body;
}

static size_t on_job_data(char *data, size_t size, size_t n, void *ud)
{
    struct running *r = ud;
    size_t len = size * n;
    if (r->resp_len + len > JOB_RESPONSE_MAX) {
        r->too_big = true;
        return 0;
    }
    if (r->resp_len + len + 1 > r->resp_cap) {
        size_t cap = (r->resp_len + len + 1) * 2;
        char *nr = realloc(r->resp, cap);
        if (nr == NULL)
            return 0;
        r->resp = nr;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, data, len);
    r->resp_len += len;
    r->resp[r->resp_len] = '\0';
    return len;
}

static void link_headers(struct running *r, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->nodes[i].data = (char *)lines[i];
        r->nodes[i].next = i + 1 < n ? &r->nodes[i + 1] : NULL;
    }
}

/* ---- leases: each job runs in one process of those sharing a store ---- */

static int64_t lease_ms(const struct mp_memjobs *j)
{
    return (int64_t)j->cfg->memory.job_lease_seconds * 1000;
}

/* A job's answer must come before its lease ends, so that no other process
 * takes the job over while this one may still apply it. */
static long job_timeout_ms(const struct mp_memjobs *j)
{
    int64_t t = lease_ms(j) - 1000;
    return (long)(t < JOB_TIMEOUT_MS ? t : JOB_TIMEOUT_MS);
}

/* Takes the job's lease: MP_OK (this process runs it), MP_ECONFLICT
 * (another holds it: job->not_before_ms becomes its end), MP_NOTFOUND
 * (the job is gone), or the store's error (tried again at the next pass). */
static int claim(struct mp_memjobs *j, struct mp_job *job, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_CLAIM_JOB, .now_ms = now};
    op.u.claim.job_id = job->id;
    op.u.claim.owner = j->owner;
    op.u.claim.until_ms = now + lease_ms(j);
    int rc = mp_store_apply(j->store, &op, 1);
    if (rc != MP_OK)
        return rc;
    if (op.result == MP_ECONFLICT)
        job->not_before_ms = op.u.claim.until_ms;
    return op.result;
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

static int start_transfer(struct mp_memjobs *j, struct running *r, size_t body_len)
{
    const struct mp_config *cfg = j->cfg;
    const char *lines[] = {"Content-Type: application/json", "Accept: application/json",
                           "Expect:", r->auth_line, "anthropic-version: " MP_ANTHROPIC_VERSION};
    r->easy = mp_upstream_easy_get(j->up, cfg->upstream.ca_file);
    if (r->easy == NULL)
        return MP_ENOMEM;
    if (r->api == MP_LLM_ANTHROPIC)
        snprintf(r->url, sizeof(r->url), "%s/v1/messages", cfg->anthropic.base_url.text);
    else
        snprintf(r->url, sizeof(r->url), "%s/chat/completions", cfg->upstream.base_url.text);
    link_headers(r, lines, r->api == MP_LLM_ANTHROPIC ? 5 : 4);
    CURL *e = r->easy;
    mp_curl.easy_setopt(e, CURLOPT_URL, r->url);
    mp_curl.easy_setopt(e, CURLOPT_HTTPHEADER, &r->nodes[0]);
    mp_curl.easy_setopt(e, CURLOPT_POST, 1L);
    mp_curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    mp_curl.easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    mp_curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_job_data);
    mp_curl.easy_setopt(e, CURLOPT_WRITEDATA, r);
    mp_curl.easy_setopt(e, CURLOPT_PRIVATE, r);
    mp_curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->upstream.connect_timeout_ms);
    mp_curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)job_timeout_ms(j));
    return mp_upstream_start(j->up, e);
}

/* Every job of a batch is over (removed from the store with the same
 * result), or retried. */
static void batch_done(struct mp_memjobs *j, struct batch_turn *turns, size_t n,
                       enum mp_job_metric_result res)
{
    for (size_t i = 0; i < n; i++)
        job_done(j, &turns[i].job, res);
}

/* Starts the jobs turns[0..n) (taken out of the index; the array taken):
 * a summary job (n 1) or one user's extraction batch, in id order, with
 * its Authorization line (taken). */
static void start_job(struct mp_memjobs *j, struct batch_turn *turns, size_t n, char *auth_line)
{
    struct mp_usermem *um = NULL;
    size_t body_len = 0;
    const struct mp_job *job = &turns[0].job;
    struct running *r = calloc(1, sizeof(*r));
    int rc = r == NULL ? MP_ENOMEM : mp_store_get_head(j->store, job->user, job->user_len, &um);
    if (rc != MP_OK) {
        free(r);
        free(auth_line);
        if (rc == MP_NOTFOUND)
            batch_done(j, turns, n, MP_JOBR_SKIPPED); /* the user is gone */
        else
            batch_failed(j, turns, n, MP_JOB_FAIL_STORE, 0); /* nothing is lost */
        free(turns);
        return;
    }
    r->owner = j;
    r->job = *job;
    r->turns = turns;
    r->nturns = n;
    r->auth_line = auth_line;
    r->api = j->cfg->memory.llm;
    r->epoch = um->memory_epoch;
    r->summary_from_seq = um->summary.covers_through_seq;
    r->summary_from_text = um->summary.text != NULL;
    r->body = job_body(j, r, um, &body_len);
    mp_usermem_free(um);
    if (r->body == NULL) {
        batch_done(j, r->turns, r->nturns, MP_JOBR_SKIPPED);
        running_free(j, r);
        return;
    }
    if (start_transfer(j, r, body_len) != MP_OK) {
        batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_UPSTREAM, 0);
        running_free(j, r);
        return;
    }
    j->running[j->nrunning++] = r;
    update_count(j);
}

/* ---- erasure is final: a result computed before an erasure is not written ---- */

/* The guard every result's apply carries (MP_OP_CHECK_EPOCH): the store
 * writes nothing of the apply when the user's memory epoch moved since the
 * call's turns were read (an erasure, a correction or a purge, by any
 * process) or the user is gone. */
static void guard_op(struct mp_op *op, const struct running *r)
{
    op_for_job(op, MP_OP_CHECK_EPOCH, &r->job);
    op->u.epoch = r->epoch;
}

/* Whether the apply of ops[0..n), the guard among them, was stopped by it:
 * then nothing was written, and the call's jobs go back to the index as
 * they were (no attempt counted), to run again on what is stored now (an
 * erased turn is no longer there to send; a user erased whole has no jobs
 * left, so its claim finds none). The log says so, without the user or
 * any text. */
static bool rerun_if_erased(struct mp_memjobs *j, const struct running *r, const struct mp_op *ops,
                            size_t n)
{
    bool stopped = false;
    for (size_t i = 0; i < n; i++)
        stopped |= ops[i].kind == MP_OP_CHECK_EPOCH && ops[i].result == MP_ECONFLICT;
    if (!stopped)
        return false;
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_INFO, "memory job result dropped: erased during the call");
    mp_logline_str(&l, "kind", r->job.kind == MP_JOB_SUMMARIZE ? "summarize" : "extract");
    mp_logline_int(&l, "turns", (int64_t)r->nturns);
    mp_logline_end(&l);
    for (size_t t = 0; t < r->nturns; t++) {
        count(j, &r->turns[t].job, MP_JOBR_ERASED);
        mp_memjobs_add(j, &r->turns[t].job);
    }
    return true;
}

/* A summary that reads as instructions to the model is refused (the memory-
 * poisoning rule, core/memory/pii.h); personal data in it follows pii_mode. */
static void apply_summary(struct mp_memjobs *j, struct running *r)
{
    char *raw = NULL, *text = NULL;
    size_t raw_len = 0, len = 0;
    bool pii = false;
    if (mp_memprompt_summary_parse(r->api, r->resp, r->resp_len, j->cfg->memory.summary_max_words,
                                   &raw, &raw_len) != MP_OK ||
        mp_pii_looks_like_instruction(raw, raw_len) ||
        mp_piipolicy_apply(j->cfg->governance.pii_mode, MP_PII_ITEM_SUMMARY, raw, raw_len, false,
                           &text, &len, &pii) != MP_OK) {
        free(raw);
        batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_MALFORMED, 0);
        return;
    }
    free(raw);
    struct mp_op ops[3];
    op_for_job(&ops[0], MP_OP_SET_SUMMARY, &r->job);
    ops[0].u.summary.text = text;
    ops[0].u.summary.text_len = len;
    ops[0].u.summary.through_seq = r->job.through_seq;
    ops[0].u.summary.jobs_known_through = j->jobs_known_through;
    ops[0].u.summary.model = j->cfg->memory.summary_model;
    ops[0].u.summary.pii = pii;
    ops[0].u.summary.check_from = true; /* another process may have folded meanwhile */
    ops[0].u.summary.from_seq = r->summary_from_seq;
    ops[0].u.summary.from_text = r->summary_from_text;
    op_for_job(&ops[1], MP_OP_DONE_JOB, &r->job);
    ops[1].u.job_id = r->job.id;
    guard_op(&ops[2], r);
    int rc = apply(j, ops, 3);
    if (rc != MP_OK) {
        batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_STORE, 0);
    } else if (!rerun_if_erased(j, r, ops, 3)) {
        count(j, &r->job, MP_JOBR_OK);
        /* turns that came in meanwhile may have refilled the buffer */
        mp_memjobs_after_turn(j, r->job.user, r->job.user_len, true, false);
    }
    free(text);
}

/* An extracted fact as an UPSERT op, through pii_mode: MP_OK, or
 * MP_NOTFOUND when the policy drops it. value: the stored text (owned by
 * the caller after MP_OK). */
static int entity_op(struct mp_op *op, const struct batch_turn *bt, const struct mp_extracted *x,
                     const struct mp_config *cfg, char **value)
{
    size_t len = 0;
    bool pii = false;
    int rc = mp_piipolicy_apply(cfg->governance.pii_mode, MP_PII_ITEM_FACT, x->value, x->value_len,
                                x->pii, value, &len, &pii);
    if (rc != MP_OK)
        return MP_NOTFOUND;
    if (len == 0 || len > MP_ENTITY_VALUE_MAX) {
        free(*value);
        *value = NULL;
        return MP_NOTFOUND; /* a redaction that no longer fits is not kept */
    }
    op_for_job(op, MP_OP_UPSERT_ENTITY, &bt->job);
    struct mp_mem_entity *e = &op->u.entity;
    memcpy(e->key, x->key, sizeof(e->key));
    e->value = *value;
    e->value_len = len;
    e->confidence = x->confidence;
    e->observed_at_ms = bt->observed_at_ms;
    e->recorded_at_ms = op->now_ms;
    e->trust = mp_usermem_trust_of_role(x->source_role);
    e->source_role = x->source_role;
    e->pii = pii;
    memcpy(e->request_id, bt->request_id, sizeof(e->request_id));
    snprintf(e->model, sizeof(e->model), "%s", cfg->memory.extraction_model);
    e->source_first_seq = bt->job.from_seq; /* the turn's messages, erased with the fact */
    e->source_last_seq = bt->job.through_seq;
    return MP_OK;
}

/* Facts refused because the user holds [memory] max_facts_per_user: never
 * a silent drop, so a warning says how many (no user id, no text). */
static void log_refused(const struct mp_op *ops, size_t n)
{
    struct mp_logline l;
    int64_t refused = 0;
    for (size_t i = 0; i < n; i++)
        refused += ops[i].kind == MP_OP_UPSERT_ENTITY && ops[i].result == MP_ETOOBIG;
    if (refused == 0)
        return;
    mp_logline_begin(&l, MP_LOG_WARN, "extracted facts refused: the user holds max_facts_per_user");
    mp_logline_int(&l, "facts", refused);
    mp_logline_end(&l);
}

/* The user's statements that met a value given outright (a correction,
 * an agent's, an admin's: storage/store.h, met_given) and superseded it
 * (a newer turn); and those a stored value kept out (mp_op.kept: a KEPT
 * history entry each), by why, logged and counted
 * (memproxy_memory_statements_kept_out_total): newer truth never drops
 * what the user says silently. Counts and reasons, no user id, no key or
 * value. */
static void log_given(struct mp_memjobs *j, const struct mp_op *ops, size_t n)
{
    static const char *const why_name[] = {
        [MP_REASON_NEWER] = "newer", [MP_REASON_GIVEN] = "given", [MP_REASON_ADMIN] = "admin"};
    struct mp_logline l;
    int64_t superseded = 0, kept_out[MP_REASON_ADMIN + 1] = {0};
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind != MP_OP_UPSERT_ENTITY)
            continue;
        superseded += ops[i].met_given && ops[i].result == MP_OK;
        if (ops[i].result == MP_NOTFOUND && ops[i].kept >= MP_REASON_NEWER &&
            ops[i].kept <= MP_REASON_ADMIN)
            kept_out[ops[i].kept]++;
    }
    if (superseded > 0) {
        mp_logline_begin(&l, MP_LOG_INFO, "user statements superseded a correction: newer turns");
        mp_logline_int(&l, "facts", superseded);
        mp_logline_end(&l);
    }
    for (int why = MP_REASON_NEWER; why <= MP_REASON_ADMIN; why++) {
        if (kept_out[why] == 0)
            continue;
        mp_metrics_kept_out(j->metrics, (enum mp_hist_reason)why, (unsigned)kept_out[why]);
        mp_logline_begin(&l, MP_LOG_INFO,
                         "user statements kept out: a stored value outranks them (history: kept)");
        mp_logline_str(&l, "reason", why_name[why]);
        mp_logline_int(&l, "facts", kept_out[why]);
        mp_logline_end(&l);
    }
}

/* The batch's fold as a SET_SUMMARY op that keeps the buffer (the trim
 * after the batch trims it): false when there is none to write (no summary
 * in the answer, an instruction, or pii_mode drops it). text: owned by the
 * caller after true. */
static bool fold_op(struct mp_memjobs *j, const struct running *r, char *raw, size_t raw_len,
                    struct mp_op *op, char **text)
{
    size_t len = 0;
    bool pii = false;
    uint64_t through = 0;
    if (raw == NULL || mp_pii_looks_like_instruction(raw, raw_len) ||
        mp_piipolicy_apply(j->cfg->governance.pii_mode, MP_PII_ITEM_SUMMARY, raw, raw_len, false,
                           text, &len, &pii) != MP_OK)
        return false;
    for (size_t t = 0; t < r->nturns; t++)
        if (r->turns[t].number > 0 && r->turns[t].job.through_seq > through)
            through = r->turns[t].job.through_seq;
    if (through < r->summary_from_seq) /* a re-run of turns older than the summary */
        through = r->summary_from_seq;
    op_for_job(op, MP_OP_SET_SUMMARY, &r->job);
    op->u.summary.text = *text;
    op->u.summary.text_len = len;
    op->u.summary.through_seq = through;
    op->u.summary.model = j->cfg->memory.extraction_model;
    op->u.summary.pii = pii;
    op->u.summary.check_from = true; /* another process may have folded meanwhile */
    op->u.summary.from_seq = r->summary_from_seq;
    op->u.summary.from_text = r->summary_from_text;
    op->u.summary.keep_messages = true;
    return true;
}

/* The facts as UPSERT ops in turn order (so that a newer value supersedes
 * an older one), each with its turn's provenance; returns the ops made. */
static size_t fact_ops(struct mp_memjobs *j, const struct running *r, const struct mp_extracted *f,
                       size_t n, struct mp_op *ops, char **values)
{
    size_t kept = 0;
    for (size_t t = 0; t < r->nturns; t++) {
        const struct batch_turn *bt = &r->turns[t];
        for (size_t i = 0; bt->number > 0 && i < n; i++) {
            if (f[i].turn == bt->number &&
                entity_op(&ops[kept], bt, &f[i], j->cfg, &values[kept]) == MP_OK)
                kept++;
        }
    }
    return kept;
}

/* Each sent turn's search keys as a SET_MESSAGE_KEYS op on its first
 * message (the user's words); returns the ops made. */
static size_t key_ops(const struct running *r, const struct mp_turn_keys *keys, struct mp_op *ops)
{
    size_t n = 0;
    for (size_t t = 0; keys != NULL && t < r->nturns; t++) {
        const struct batch_turn *bt = &r->turns[t];
        if (bt->number == 0 || keys[bt->number - 1].len == 0)
            continue;
        op_for_job(&ops[n], MP_OP_SET_MESSAGE_KEYS, &bt->job);
        ops[n].u.keys.seq = bt->job.from_seq;
        ops[n].u.keys.text = keys[bt->number - 1].text;
        ops[n].u.keys.text_len = keys[bt->number - 1].len;
        n++;
    }
    return n;
}

/* Applies an extraction batch's answer: its facts, its fold, every job
 * done, in one transaction. A fold that lost a race (another process
 * folded, an erasure dropped the summary) is left out, the facts kept. */
static void apply_batch(struct mp_memjobs *j, struct running *r)
{
    size_t cap = r->nsent * MAX_FACTS_PER_TURN;
    struct mp_memprompt_batch b = {.nturns = r->nsent,
                                   .min_confidence = j->cfg->memory.min_confidence,
                                   .per_turn_max = MAX_FACTS_PER_TURN,
                                   .summary_words = r->fold ? j->cfg->memory.summary_max_words : 0,
                                   .keys = r->keys};
    struct mp_batch_answer res = {.facts = calloc(cap, sizeof(*res.facts)),
                                  .cap = cap,
                                  .keys = r->keys ? calloc(r->nsent, sizeof(*res.keys)) : NULL};
    struct mp_op *ops = calloc(cap + 2 + 2 * r->nturns, sizeof(*ops)); /* + fold, guard */
    char **values = calloc(cap + 1, sizeof(*values));
    size_t kept = 0, nops;
    int rc = MP_ENOMEM;
    if (res.facts != NULL && ops != NULL && values != NULL && (res.keys != NULL || !r->keys))
        rc = mp_memprompt_batch_parse(r->api, r->resp, r->resp_len, &b, &res);
    if (rc != MP_OK) {
        batch_failed(j, r->turns, r->nturns,
                     rc == MP_ENOMEM ? MP_JOB_FAIL_STORE : MP_JOB_FAIL_MALFORMED, 0);
        goto out;
    }
    kept = fact_ops(j, r, res.facts, res.n, ops, values);
    nops = kept;
    bool fold = r->fold && fold_op(j, r, res.summary, res.summary_len, &ops[nops], &values[kept]);
    nops += fold;
    nops += key_ops(r, res.keys, &ops[nops]);
    for (size_t t = 0; t < r->nturns; t++) {
        op_for_job(&ops[nops], MP_OP_DONE_JOB, &r->turns[t].job);
        ops[nops++].u.job_id = r->turns[t].job.id;
    }
    guard_op(&ops[nops++], r); /* last: the fold's retry below keeps it */
    rc = apply(j, ops, nops);
    if (rc == MP_ECONFLICT && fold) {
        memmove(&ops[kept], &ops[kept + 1], (nops - kept - 1) * sizeof(*ops));
        fold = false;
        rc = apply(j, ops, --nops);
    }
    if (rc != MP_OK) {
        batch_failed(j, r->turns, r->nturns, MP_JOB_FAIL_STORE, 0);
        goto out;
    }
    if (rerun_if_erased(j, r, ops, nops))
        goto out;
    for (size_t t = 0; t < r->nturns; t++)
        count(j, &r->turns[t].job, MP_JOBR_OK);
    log_refused(ops, kept);
    log_given(j, ops, kept);
    /* the fold kept the buffer: trim it now */
    mp_memjobs_after_turn(j, r->job.user, r->job.user_len, r->fold, true);
out:
    for (size_t i = 0; values != NULL && i <= kept; i++)
        free(values[i]);
    free(res.summary);
    free(res.keys);
    free(res.facts);
    free(ops);
    free(values);
}

/* The call's usage, by job kind and model (the upstream's, else the
 * configured one). */
static void count_call(struct mp_memjobs *j, const struct running *r)
{
    struct mp_tokenuse u = {0};
    bool summary = r->job.kind == MP_JOB_SUMMARIZE;
    if (r->resp != NULL)
        mp_tokenuse_read_body(&u,
                              r->api == MP_LLM_ANTHROPIC ? MP_TOKENUSE_MESSAGES : MP_TOKENUSE_CHAT,
                              r->resp, r->resp_len);
    mp_metrics_memory_model(j->metrics, summary ? MP_JOBM_SUMMARIZE : MP_JOBM_EXTRACT, &u,
                            summary ? j->cfg->memory.summary_model
                                    : j->cfg->memory.extraction_model);
}

/* Why a call failed: an answer over JOB_RESPONSE_MAX counts as one that
 * cannot be used; 429 is rate limiting; 5xx and no answer are the
 * upstream's; another status is a refusal. */
static enum mp_job_fail call_failure(CURLcode result, long code, bool too_big)
{
    if (too_big)
        return MP_JOB_FAIL_MALFORMED;
    if (result != CURLE_OK || code >= 500 || code < 200)
        return MP_JOB_FAIL_UPSTREAM;
    return code == 429 ? MP_JOB_FAIL_RATE_LIMITED : MP_JOB_FAIL_REJECTED;
}

static void on_job_done(void *req, CURLcode result)
{
    struct running *r = req;
    struct mp_memjobs *j = r->owner;
    long code = 0;
    for (size_t i = 0; i < j->nrunning; i++) {
        if (j->running[i] == r) {
            j->running[i] = j->running[--j->nrunning];
            break;
        }
    }
    mp_curl.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (result == CURLE_OK)
        count_call(j, r);
    if (result == CURLE_OK && code >= 200 && code < 300 && !r->too_big) {
        if (r->job.kind == MP_JOB_SUMMARIZE)
            apply_summary(j, r);
        else
            apply_batch(j, r);
    } else {
        curl_off_t after = 0;
        if (result == CURLE_OK &&
            mp_curl.easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &after) != CURLE_OK)
            after = 0;
        batch_failed(j, r->turns, r->nturns, call_failure(result, code, r->too_big),
                     after > 0 ? (int64_t)after * 1000 : 0);
    }
    running_free(j, r);
    update_count(j);
    mp_memjobs_schedule(j);
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
static size_t collect_batch(const struct mp_memjobs *j, size_t i, int64_t now, size_t *idx)
{
    const struct mp_job *first = &j->jobs[i];
    size_t max = j->cfg->memory.extract_batch_turns;
    size_t n = 0;
    if (max > MP_CONFIG_BATCH_TURNS_MAX)
        max = MP_CONFIG_BATCH_TURNS_MAX;
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

/* Claims the jobs idx[0..n) in one transaction and takes those claimed out
 * of the index into *out (malloc'd; jobs gone meanwhile leave the index
 * too). Returns how many were claimed: 0 when none (another process holds
 * them, or the store failed). */
static size_t claim_batch(struct mp_memjobs *j, const size_t *idx, size_t n, int64_t now,
                          struct batch_turn **out)
{
    struct mp_op ops[MP_CONFIG_BATCH_TURNS_MAX];
    struct batch_turn *turns = calloc(n, sizeof(*turns));
    size_t taken = 0;
    *out = turns;
    for (size_t k = 0; k < n; k++) {
        ops[k] = (struct mp_op){.kind = MP_OP_CLAIM_JOB, .now_ms = now};
        ops[k].u.claim.job_id = j->jobs[idx[k]].id;
        ops[k].u.claim.owner = j->owner;
        ops[k].u.claim.until_ms = now + lease_ms(j);
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

/* Starts the user's extraction batch at index i when it is due. Returns
 * whether the index changed at i (jobs taken out). */
static bool try_batch(struct mp_memjobs *j, size_t i, int64_t now, char **auth, unsigned *waiting)
{
    size_t idx[MP_CONFIG_BATCH_TURNS_MAX];
    struct batch_turn *turns = NULL;
    size_t n = collect_batch(j, i, now, idx);
    if (!batch_due(j, &j->jobs[i], n, now)) {
        *waiting += (unsigned)n;
        return false;
    }
    size_t before = j->njobs;
    size_t taken = claim_batch(j, idx, n, now, &turns);
    if (taken == 0) {
        free(turns);
        update_count(j);
        return j->njobs != before;
    }
    start_job(j, turns, taken, *auth);
    *auth = NULL;
    return true;
}

/* Starts the summary job at index i. Returns whether the index changed at
 * i. */
static bool try_summary(struct mp_memjobs *j, size_t i, int64_t now, char **auth)
{
    struct mp_job *job = &j->jobs[i];
    int rc = claim(j, job, now);
    if (rc != MP_OK) {
        if (rc == MP_NOTFOUND) /* done or erased meanwhile (another process) */
            remove_at(j, i);
        return rc == MP_NOTFOUND; /* else another process runs it, or the store failed */
    }
    struct batch_turn *one = calloc(1, sizeof(*one));
    if (one == NULL)
        return false;
    one->job = *job;
    take_at(j, i);
    start_job(j, one, 1, *auth);
    *auth = NULL;
    return true;
}

/* One pass in id order: a user's first waiting job is its only candidate
 * (its later jobs wait behind it, but for the extraction jobs that go with
 * it in one batch), and a user with a running job waits. The next pass
 * comes in a tick, or sooner when a retry is due sooner (a backoff under
 * a tick is kept, not rounded up to it). */
void mp_memjobs_schedule(struct mp_memjobs *j)
{
    int64_t now = now_ms(), next = now + TICK_MS;
    struct user_set busy;
    size_t i = 0;
    unsigned waiting = 0;
    if (!set_init(&busy, j->njobs + j->nrunning))
        return;
    for (size_t k = 0; k < j->nrunning; k++)
        set_add(&busy, hash_user(j->running[k]->job.user, j->running[k]->job.user_len));
    while (i < j->njobs && j->nrunning < MP_MEMJOB_MAX_RUNNING) {
        struct mp_job *job = &j->jobs[i];
        char *auth = NULL;
        if (job->failed != MP_JOB_FAIL_NONE) {
            i++; /* kept for a re-run (mp_memjobs_extract_now); not the user's first job */
            continue;
        }
        if (set_add(&busy, hash_user(job->user, job->user_len)) || job->not_before_ms > now) {
            if (job->not_before_ms > now && job->not_before_ms < next)
                next = job->not_before_ms;
            i++;
            continue;
        }
        auth = auth_line_for(j, job);
        if (auth == NULL) {
            i++; /* held for a credential: a key, or the user's next request (count_held) */
            continue;
        }
        bool changed = job->kind == MP_JOB_EXTRACT ? try_batch(j, i, now, &auth, &waiting)
                                                   : try_summary(j, i, now, &auth);
        free(auth);
        i += !changed;
        update_count(j); /* running now, retried or done */
    }
    free(busy.slots);
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
    for (size_t k = 0; k < n; k++) {
        op_for_job(&ops[k], MP_OP_UPDATE_JOB, &j->jobs[idx[k]]);
        ops[k].u.job = j->jobs[idx[k]];
        ops[k].u.job.failed = MP_JOB_FAIL_NONE;
        ops[k].u.job.attempts = 0;
        ops[k].u.job.malformed = 0;
        ops[k].u.job.not_before_ms = 0;
    }
    if (n == 0 || apply(j, ops, n) != MP_OK)
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
    update_count(j);
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
    j->due_before_ms = now_ms();
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
 * the lease ends (held for a credential, it is busy: memheld.h). */
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
    update_count(j);
    return before - w;
}

int mp_memjobs_rescan(struct mp_memjobs *j)
{
    struct mp_job *jobs = NULL;
    size_t n = 0, added = 0;
    uint64_t through = 0;
    bool indexed = true;
    int64_t now = now_ms();
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
        struct running *r = j->running[i];
        if (!same_user(&r->job, user, user_len)) {
            i++;
            continue;
        }
        mp_upstream_cancel(j->up, r->easy);
        j->running[i] = j->running[--j->nrunning];
        running_free(j, r);
    }
    forget_auth(j, user, user_len);
    update_count(j);
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
    j->up = mp_upstream_new(base, on_job_done);
    j->tick = evtimer_new(base, on_tick, j);
    j->rescan = event_new(base, -1, EV_PERSIST, on_rescan, j);
    while (j->owner == 0 && getrandom(&j->owner, sizeof(j->owner), 0) != sizeof(j->owner))
        ;
    j->auth = calloc(AUTH_SLOTS, sizeof(*j->auth));
    struct timeval every = {RESCAN_MS / 1000, (RESCAN_MS % 1000) * 1000};
    if (j->up == NULL || j->tick == NULL || j->rescan == NULL || j->auth == NULL ||
        event_add(j->rescan, &every) != 0) {
        mp_memjobs_free(j);
        return NULL;
    }
    return j;
}

int mp_memjobs_load(struct mp_memjobs *j)
{
    return mp_memjobs_rescan(j);
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
        struct running *r = j->running[--j->nrunning];
        mp_upstream_cancel(j->up, r->easy);
        running_free(j, r);
    }
    for (size_t i = 0; j->auth != NULL && i < AUTH_SLOTS; i++)
        clear_slot(&j->auth[i]);
    free(j->auth);
    if (j->tick != NULL)
        event_free(j->tick);
    if (j->rescan != NULL)
        event_free(j->rescan);
    mp_upstream_free(j->up);
    free(j->jobs);
    free(j);
}
