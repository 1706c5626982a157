/* The memory worker thread: group commit of turns and changes, and the
 * memory jobs (see memworker.h for the design; memjob.c runs one job).
 *
 * Threads: request threads only touch the inbox (under mu) and the atomic
 * depth. Everything else, the job index, the running jobs and the auth
 * cache, belongs to the worker thread. */
#include "memworker.h"

#include <event2/event.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "chatreq.h"
#include "json_scan.h"
#include "clock.h"
#include "log.h"
#include "memjob.h"
#include "metrics.h"
#include "piipolicy.h"
#include "status.h"
#include "sweep.h"
#include "user_id.h"
#include "upstream.h"

#define MAX_TURN_MESSAGES 64 /* new user messages recorded per turn, at most */

enum item_kind { IT_TURN, IT_OPS };

struct item {
    struct item *next;
    enum item_kind kind;
    struct mp_turn *turn;
    struct mp_memticket *ticket;
};

struct mp_memticket {
    _Atomic int refs;
    struct mp_op *ops; /* ops to apply, or: */
    size_t nops;
    mp_memwork_fn fn; /* work to run (mp_memworker_call) */
    void *fn_arg;
    struct event_base *reply_base;
    mp_memticket_fn done;
    void *arg;
    int status;
};

struct mp_memworker {
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct event *wake_ev;
    struct mp_store *store;
    struct mp_metrics *metrics;
    struct mp_memjobs *jobs;
    struct event *sweep_ev;      /* the retention timer */
    uint32_t sweep_interval_s;   /* what sweep_ev is armed with */
    struct event *sweep_step_ev; /* the next page of the pass in progress */
    struct mp_sweep_pass pass;   /* valid while sweeping */
    bool sweeping;
    struct mp_shared_config *shared; /* worker thread */
    pthread_mutex_t mu;
    struct item *head, *tail;             /* guarded by mu */
    struct mp_shared_config *pending_cfg; /* guarded by mu */
    bool stopping;                        /* guarded by mu */
    _Atomic unsigned queued;              /* inbox items */
    _Atomic unsigned queue_max;           /* [memory] queue_max, for request threads */
};

void mp_turn_free(struct mp_turn *t)
{
    if (t == NULL)
        return;
    free(t->request_body);
    free(t->reply);
    if (t->auth != NULL)
        memset(t->auth, 0, t->auth_len);
    free(t->auth);
    free(t);
}

/* ---- tickets ---- */

static void ticket_unref(struct mp_memticket *t)
{
    if (atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

static void on_ticket_reply(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memticket *t = arg;
    (void)fd;
    (void)what;
    t->done(t, t->arg, t->status);
    ticket_unref(t); /* the caller's */
    ticket_unref(t); /* the worker's */
}

/* ---- turning a turn into store ops ---- */

/* Cuts text to MP_MESSAGE_CONTENT_MAX bytes at a UTF-8 boundary, marked
 * with an ellipsis, when it is longer; returns the length to store. */
static size_t cut_to_max(char *text, size_t len)
{
    static const char mark[] = "\xE2\x80\xA6"; /* U+2026 */
    if (len <= MP_MESSAGE_CONTENT_MAX)
        return len;
    size_t cut = MP_MESSAGE_CONTENT_MAX - (sizeof(mark) - 1);
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;                              /* never split a UTF-8 sequence */
    memcpy(text + cut, mark, sizeof(mark)); /* with its NUL: cut + 4 <= len */
    return cut + sizeof(mark) - 1;
}

/* The text of request message m, malloc'd. */
static char *message_text(const struct mp_turn *turn, const struct mp_chatreq_msg *m, size_t *len)
{
    size_t cap = m->end - m->start + 1; /* decoded text is never longer than its JSON */
    char *text = malloc(cap);
    if (text == NULL)
        return NULL;
    if (mp_chatreq_message_text(turn->request_body, m, text, cap, len) != MP_OK) {
        free(text);
        return NULL;
    }
    text[*len] = '\0';
    return text;
}

/* The request's "model", for provenance ("" when absent or odd). */
static void request_model(const struct mp_turn *turn, char *out, size_t cap)
{
    size_t vs = 0, ve = 0, n = 0;
    out[0] = '\0';
    if (mp_json_find_member(turn->request_body, turn->request_len, "model", 5, &vs, &ve) != MP_OK ||
        turn->request_body[vs] != '"' ||
        mp_json_string_decode(turn->request_body, vs, ve, out, cap - 1, &n) != MP_OK ||
        mp_user_id_validate(out, n) != MP_OK) /* printable, no control characters */
        n = 0;
    out[n] = '\0';
}

/* Where a turn's messages are collected. */
struct turn_out {
    const struct mp_turn *turn;
    enum mp_pii_mode pii_mode;
    char model[MP_MODEL_NAME_MAX + 1];
    struct mp_mem_message *msgs;
    char **texts; /* owned copies, one per message */
    size_t n;
};

/* Adds one message through [governance] pii_mode: a message the policy
 * drops (or that cannot be copied) is left out. */
static void add_message(struct turn_out *o, enum mp_role role, const char *text, size_t len)
{
    char *kept = NULL;
    size_t klen = 0;
    bool pii = false;
    if (mp_piipolicy_apply(o->pii_mode, MP_PII_ITEM_MESSAGE, text, len, false, &kept, &klen,
                           &pii) != MP_OK)
        return;
    klen = cut_to_max(kept, klen);
    o->texts[o->n] = kept;
    struct mp_mem_message *m = &o->msgs[o->n++];
    *m = (struct mp_mem_message){
        .role = role, .content = kept, .content_len = klen, .at_ms = o->turn->at_ms, .pii = pii};
    memcpy(m->request_id, o->turn->request_id, sizeof(m->request_id));
    memcpy(m->model, o->model, sizeof(m->model));
}

/* The turn's messages: the request's trailing user messages, then the reply. */
static size_t turn_messages(struct mp_turn *turn, enum mp_pii_mode mode, struct mp_mem_message *out,
                            char **texts)
{
    struct mp_chatreq req;
    struct turn_out o = {.turn = turn, .pii_mode = mode, .msgs = out, .texts = texts};
    struct mp_chatreq_msg *msgs = malloc(sizeof(*msgs) * MP_CHATREQ_MAX_MESSAGES);
    if (msgs == NULL)
        return 0;
    if (mp_chatreq_scan(turn->request_body, turn->request_len, msgs, MP_CHATREQ_MAX_MESSAGES,
                        &req) != MP_OK) {
        free(msgs);
        return 0;
    }
    request_model(turn, o.model, sizeof(o.model));
    for (size_t i = req.first_new_user; i < req.nmsgs && o.n < MAX_TURN_MESSAGES; i++) {
        size_t len = 0;
        char *text = message_text(turn, &req.msgs[i], &len);
        if (text == NULL)
            continue;
        add_message(&o, MP_ROLE_USER, text, len);
        free(text);
    }
    free(msgs);
    if (o.n == 0)
        return 0; /* no new user message (or none that may be kept): nothing to remember */
    add_message(&o, MP_ROLE_ASSISTANT, turn->reply, turn->reply_len);
    return o.n;
}

/* The idempotency key: SHA-256 over the user and the request body, so a
 * retried identical request records nothing twice. */
static void idem_key(const struct mp_turn *turn, uint8_t *key)
{
    uint8_t len_be[8];
    unsigned int n = 0;
    for (int i = 0; i < 8; i++)
        len_be[i] = (uint8_t)((uint64_t)turn->user_len >> (56 - 8 * i));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, len_be, sizeof(len_be)) != 1 ||
        EVP_DigestUpdate(ctx, turn->user, turn->user_len) != 1 ||
        EVP_DigestUpdate(ctx, turn->request_body, turn->request_len) != 1 ||
        EVP_DigestFinal_ex(ctx, key, &n) != 1)
        memset(key, 0, MP_IDEM_KEY_LEN); /* no key: a retry may record twice */
    EVP_MD_CTX_free(ctx);
}

#define BATCH_MAX 256 /* turns committed in one transaction, at most */

/* One turn of a batch, ready to commit. */
struct prepared {
    struct mp_turn *turn;
    struct mp_mem_message msgs[MAX_TURN_MESSAGES + 1];
    char *texts[MAX_TURN_MESSAGES + 1];
    size_t n;  /* messages to record; 0: nothing */
    size_t op; /* index of its RECORD_TURN op */
};

/* Adds a turn's RECORD_TURN (and ADD_JOB for its extraction) to ops. */
static size_t turn_ops(struct prepared *p, struct mp_op *ops)
{
    struct mp_turn *turn = p->turn;
    struct mp_op *op = &ops[0];
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_RECORD_TURN;
    op->user = turn->user;
    op->user_len = turn->user_len;
    op->now_ms = mp_clock_now_ms(); /* recorded; the messages keep the turn's time */
    op->u.turn.messages = p->msgs;
    op->u.turn.nmessages = p->n;
    idem_key(turn, op->u.turn.idem_key);
    if (!turn->extract)
        return 1;
    ops[1] = ops[0];
    ops[1].kind = MP_OP_ADD_JOB;
    mp_memjobs_fill(&ops[1].u.job, MP_JOB_EXTRACT, turn->user, turn->user_len, turn->at_ms);
    return 2;
}

/* Plans each recorded user's follow-up (summary job or buffer trim) and
 * applies them all in a second transaction. */
static void follow_up(struct mp_memworker *mw, struct prepared *prep, size_t n,
                      const struct mp_op *ops)
{
    struct mp_op *follow = calloc(n, sizeof(*follow));
    size_t nf = 0;
    if (follow == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        struct mp_turn *t = prep[i].turn;
        bool seen = false;
        if (prep[i].n == 0 || ops[prep[i].op].result != MP_OK)
            continue;
        for (size_t k = 0; k < nf && !seen; k++)
            seen = follow[k].user_len == t->user_len &&
                   memcmp(follow[k].user, t->user, t->user_len) == 0;
        if (!seen &&
            mp_memjobs_plan_after_turn(mw->jobs, t->user, t->user_len, t->summarize, &follow[nf]))
            nf++;
    }
    if (nf > 0 && mp_store_apply(mw->store, follow, nf) == MP_OK) {
        for (size_t k = 0; k < nf; k++)
            mp_memjobs_planned(mw->jobs, &follow[k]);
    }
    free(follow);
}

/* Counts each turn's outcome and indexes the extraction jobs it queued. */
static void turns_committed(struct mp_memworker *mw, struct prepared *prep, size_t n,
                            const struct mp_op *ops, int rc)
{
    for (size_t i = 0; i < n; i++) {
        const struct mp_op *op = &ops[prep[i].op];
        enum mp_job_metric_result res = MP_JOBR_OK;
        if (prep[i].n == 0 || (rc == MP_OK && op->result != MP_OK))
            res = MP_JOBR_SKIPPED;
        else if (rc != MP_OK)
            res = MP_JOBR_DROPPED;
        mp_metrics_memory_job(mw->metrics, MP_JOBM_RECORD, res);
        if (res == MP_JOBR_OK && prep[i].turn->extract && op[1].result == MP_OK)
            mp_memjobs_add(mw->jobs, &op[1].u.job);
    }
    if (rc != MP_OK)
        mp_log(MP_LOG_ERROR, rc == MP_ETOOBIG ? "memory store full: turns not recorded"
                                              : "memory store write failed: turns not recorded");
}

/* Group commit: the turns of one wake-up in one transaction (a slow fsync
 * is paid once for all of them), their follow-ups in a second. */
static void record_batch(struct mp_memworker *mw, struct mp_turn **turns, size_t n)
{
    struct prepared *prep = calloc(n, sizeof(*prep));
    struct mp_op *ops = calloc(2 * n, sizeof(*ops));
    size_t nops = 0;
    int rc = prep == NULL || ops == NULL ? MP_ENOMEM : MP_OK;
    for (size_t i = 0; i < n && rc == MP_OK; i++) {
        struct mp_turn *t = turns[i];
        /* a turn without Authorization (an upstream that needs none) lets
         * its jobs run without one too */
        mp_memjobs_remember_auth(mw->jobs, t->user, t->user_len, t->auth != NULL ? t->auth : "",
                                 t->auth_len);
        prep[i].turn = t;
        prep[i].n =
            turn_messages(t, mw->shared->cfg.governance.pii_mode, prep[i].msgs, prep[i].texts);
        prep[i].op = nops;
        if (prep[i].n > 0)
            nops += turn_ops(&prep[i], &ops[nops]);
    }
    if (rc == MP_OK && nops > 0)
        rc = mp_store_apply(mw->store, ops, nops);
    if (prep != NULL && ops != NULL) {
        turns_committed(mw, prep, n, ops, rc);
        if (rc == MP_OK)
            follow_up(mw, prep, n, ops);
    }
    for (size_t i = 0; prep != NULL && i < n; i++) {
        for (size_t k = 0; k < prep[i].n; k++)
            free(prep[i].texts[k]);
    }
    for (size_t i = 0; i < n; i++)
        mp_turn_free(turns[i]);
    free(prep);
    free(ops);
}

static void handle_ops(struct mp_memworker *mw, struct mp_memticket *t)
{
    for (size_t i = 0; i < t->nops; i++) {
        if (t->ops[i].kind == MP_OP_DELETE_USER)
            mp_memjobs_forget_user(mw->jobs, t->ops[i].user, t->ops[i].user_len);
    }
    if (t->fn != NULL)
        t->status = t->fn(mw, t->fn_arg);
    else
        t->status = mp_store_apply(mw->store, t->ops, t->nops);
    struct timeval now = {0, 0};
    if (event_base_once(t->reply_base, -1, EV_TIMEOUT, on_ticket_reply, t, &now) != 0)
        ticket_unref(t); /* the reply loop is gone: nobody waits */
}

static void arm_sweep(struct mp_memworker *mw, uint32_t interval_s);

/* ---- the inbox ---- */

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memworker *mw = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&mw->mu);
    struct item *it = mw->head;
    struct mp_shared_config *cfg = mw->pending_cfg;
    bool stopping = mw->stopping;
    mw->head = mw->tail = NULL;
    mw->pending_cfg = NULL;
    pthread_mutex_unlock(&mw->mu);
    if (cfg != NULL) {
        mp_shared_config_unref(mw->shared);
        mw->shared = cfg;
        mp_memjobs_set_config(mw->jobs, &cfg->cfg);
        if (cfg->cfg.governance.sweep_interval_seconds != mw->sweep_interval_s)
            arm_sweep(mw, cfg->cfg.governance.sweep_interval_seconds);
    }
    while (it != NULL) {
        struct mp_turn *batch[BATCH_MAX];
        size_t n = 0;
        while (it != NULL && it->kind == IT_TURN && n < BATCH_MAX) {
            struct item *next = it->next;
            batch[n++] = it->turn;
            free(it);
            it = next;
        }
        if (n > 0) {
            record_batch(mw, batch, n);
            atomic_fetch_sub(&mw->queued, (unsigned)n);
            continue;
        }
        struct item *next = it->next;
        handle_ops(mw, it->ticket);
        atomic_fetch_sub(&mw->queued, 1);
        free(it);
        it = next;
    }
    if (stopping)
        event_base_loopexit(mw->base, NULL);
    else
        mp_memjobs_schedule(mw->jobs);
}

static void push(struct mp_memworker *mw, struct item *it)
{
    pthread_mutex_lock(&mw->mu);
    if (mw->tail != NULL)
        mw->tail->next = it;
    else
        mw->head = it;
    mw->tail = it;
    pthread_mutex_unlock(&mw->mu);
    event_active(mw->wake_ev, 0, 0);
}

int mp_memworker_record(struct mp_memworker *mw, struct mp_turn *turn)
{
    if (mp_memworker_depth(mw) >= atomic_load(&mw->queue_max)) {
        mp_metrics_memory_job(mw->metrics, MP_JOBM_RECORD, MP_JOBR_DROPPED);
        mp_turn_free(turn);
        return MP_ETOOBIG;
    }
    struct item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        mp_turn_free(turn);
        return MP_ENOMEM;
    }
    it->kind = IT_TURN;
    it->turn = turn;
    atomic_fetch_add(&mw->queued, 1);
    push(mw, it);
    return MP_OK;
}

static int enqueue(struct mp_memworker *mw, struct mp_memticket *proto,
                   struct event_base *reply_base, mp_memticket_fn done, void *arg,
                   struct mp_memticket **ticket)
{
    struct item *it = calloc(1, sizeof(*it));
    struct mp_memticket *t = calloc(1, sizeof(*t));
    if (it == NULL || t == NULL) {
        free(it);
        free(t);
        return MP_ENOMEM;
    }
    *t = *proto;
    atomic_init(&t->refs, 2); /* the caller's and the worker's */
    t->reply_base = reply_base;
    t->done = done;
    t->arg = arg;
    it->kind = IT_OPS;
    it->ticket = t;
    *ticket = t;
    atomic_fetch_add(&mw->queued, 1);
    push(mw, it);
    return MP_OK;
}

int mp_memworker_submit(struct mp_memworker *mw, struct mp_op *ops, size_t nops,
                        struct event_base *reply_base, mp_memticket_fn done, void *arg,
                        struct mp_memticket **ticket)
{
    struct mp_memticket proto = {.ops = ops, .nops = nops};
    return enqueue(mw, &proto, reply_base, done, arg, ticket);
}

int mp_memworker_call(struct mp_memworker *mw, mp_memwork_fn fn, void *fn_arg,
                      struct event_base *reply_base, mp_memticket_fn done, void *arg,
                      struct mp_memticket **ticket)
{
    struct mp_memticket proto = {.fn = fn, .fn_arg = fn_arg};
    return enqueue(mw, &proto, reply_base, done, arg, ticket);
}

/* ---- governance: retention and compaction ---- */

/* Metrics and a log line for a finished pass (nothing logged when a
 * successful pass purged nothing). */
static void sweep_done(struct mp_memworker *mw, int rc, const struct mp_sweep_counts *c)
{
    mp_metrics_sweep(mw->metrics, rc == MP_OK);
    mp_metrics_purged(mw->metrics, MP_PURGE_FACTS, c->facts);
    mp_metrics_purged(mw->metrics, MP_PURGE_MESSAGES, c->messages);
    mp_metrics_purged(mw->metrics, MP_PURGE_SUMMARIES, c->summaries);
    mp_metrics_purged(mw->metrics, MP_PURGE_HISTORY, c->history);
    mp_metrics_purged(mw->metrics, MP_PURGE_IDEM, c->idem);
    if (rc == MP_OK && c->facts + c->messages + c->summaries + c->history + c->idem == 0)
        return;
    struct mp_logline l;
    mp_logline_begin(&l, rc == MP_OK ? MP_LOG_INFO : MP_LOG_ERROR,
                     rc == MP_OK ? "retention sweep" : "retention sweep failed");
    mp_logline_str(&l, "status", mp_status_name(rc));
    mp_logline_int(&l, "facts", (int64_t)c->facts);
    mp_logline_int(&l, "messages", (int64_t)c->messages);
    mp_logline_int(&l, "summaries", (int64_t)c->summaries);
    mp_logline_int(&l, "history", (int64_t)c->history);
    mp_logline_int(&l, "idempotency_keys", (int64_t)c->idem);
    mp_logline_end(&l);
}

static void retention_of(const struct mp_memworker *mw, struct mp_retention *r)
{
    const struct mp_config *cfg = &mw->shared->cfg;
    mp_sweep_retention_days(cfg->governance.retention_days, cfg->governance.pii_retention_days, r);
}

int mp_memworker_sweep(struct mp_memworker *mw, struct mp_sweep_counts *out)
{
    struct mp_sweep_counts c = {0};
    struct mp_retention r;
    retention_of(mw, &r);
    int rc = mp_sweep_run(mw->store, mp_clock_now_ms(), &r, &c);
    sweep_done(mw, rc, &c);
    mp_sweep_counts_add(out, &c);
    return rc;
}

int mp_memworker_compact(struct mp_memworker *mw, char *err, size_t errcap)
{
    int rc = mp_store_compact(mw->store, err, errcap);
    mp_metrics_compaction(mw->metrics, rc == MP_OK);
    struct mp_logline l;
    mp_logline_begin(&l, rc == MP_OK ? MP_LOG_INFO : MP_LOG_ERROR,
                     rc == MP_OK ? "storage compacted" : "storage compaction failed");
    if (rc != MP_OK)
        mp_logline_str(&l, "reason", err);
    mp_logline_end(&l);
    return rc;
}

static void arm_sweep(struct mp_memworker *mw, uint32_t interval_s)
{
    struct timeval tv = {(time_t)interval_s, 0};
    mw->sweep_interval_s = interval_s;
    event_add(mw->sweep_ev, &tv);
}

/* One page per loop turn (a zero timeout lets the inbox and the jobs run
 * in between), until the pass is complete. */
static void on_sweep_step(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memworker *mw = arg;
    struct timeval now = {0, 0};
    (void)fd;
    (void)what;
    int rc = mp_sweep_step(mw->store, &mw->pass, MP_SWEEP_PAGE);
    if (rc == MP_AGAIN) {
        evtimer_add(mw->sweep_step_ev, &now);
        return;
    }
    sweep_done(mw, rc, &mw->pass.counts);
    mw->sweeping = false;
}

/* A pass starts at start and every interval, unless one is still going. */
static void on_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memworker *mw = arg;
    (void)fd;
    (void)what;
    if (!mw->sweeping) {
        struct mp_retention r;
        retention_of(mw, &r);
        mw->sweeping = true;
        mp_sweep_begin(&mw->pass, mp_clock_now_ms(), &r);
        on_sweep_step(-1, 0, mw);
    }
    arm_sweep(mw, mw->shared->cfg.governance.sweep_interval_seconds);
}

unsigned mp_memworker_depth(const struct mp_memworker *mw)
{
    return atomic_load(&mw->queued) + mp_memjobs_pending(mw->jobs);
}

static unsigned depth_source(const void *arg)
{
    return mp_memworker_depth(arg);
}

void mp_memworker_post_config(struct mp_memworker *mw, struct mp_shared_config *shared)
{
    atomic_store(&mw->queue_max, shared->cfg.memory.queue_max);
    pthread_mutex_lock(&mw->mu);
    mp_shared_config_unref(mw->pending_cfg);
    mw->pending_cfg = shared;
    pthread_mutex_unlock(&mw->mu);
    event_active(mw->wake_ev, 0, 0);
}

/* ---- the thread ---- */

/* Memory work must never slow the proxied requests: where it shares a CPU
 * with a request thread, the scheduler should prefer the request thread.
 * Linux applies a nice value per thread; failure (no permission to renice)
 * only costs that preference. */
#define MEMWORKER_NICE 10

static void *memworker_main(void *arg)
{
    struct mp_memworker *mw = arg;
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), MEMWORKER_NICE) != 0)
        mp_log(MP_LOG_WARN, "memory worker: cannot lower its scheduling priority");
    mp_memjobs_schedule(mw->jobs);
    on_sweep_timer(-1, 0, mw); /* a first pass at start, then every interval */
    /* the wake event is only ever activated, never added: without this flag
     * the loop would find nothing pending and return at once */
    event_base_loop(mw->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int mp_memworker_start(struct mp_store *store, struct mp_shared_config *shared,
                       struct mp_metrics *metrics, struct mp_memworker **out)
{
    struct mp_memworker *mw = calloc(1, sizeof(*mw));
    if (mw == NULL) {
        mp_shared_config_unref(shared);
        return MP_ENOMEM;
    }
    pthread_mutex_init(&mw->mu, NULL);
    mw->store = store;
    mw->metrics = metrics;
    mw->shared = shared;
    atomic_init(&mw->queue_max, shared->cfg.memory.queue_max);
    mw->base = event_base_new();
    if (mw->base != NULL)
        mw->wake_ev = event_new(mw->base, -1, 0, on_wake, mw);
    if (mw->base != NULL) {
        mw->sweep_ev = evtimer_new(mw->base, on_sweep_timer, mw);
        mw->sweep_step_ev = evtimer_new(mw->base, on_sweep_step, mw);
    }
    if (mw->wake_ev != NULL && mw->sweep_ev != NULL && mw->sweep_step_ev != NULL)
        mw->jobs = mp_memjobs_new(mw->base, store, metrics, &shared->cfg);
    if (mw->jobs == NULL || mp_memjobs_load(mw->jobs) != MP_OK ||
        pthread_create(&mw->thread, NULL, memworker_main, mw) != 0) {
        mp_memworker_free(mw);
        return MP_EIO;
    }
    mw->thread_started = true;
    mp_metrics_set_depth_source(metrics, depth_source, mw);
    *out = mw;
    return MP_OK;
}

void mp_memworker_free(struct mp_memworker *mw)
{
    if (mw == NULL)
        return;
    if (mw->thread_started) {
        pthread_mutex_lock(&mw->mu);
        mw->stopping = true;
        pthread_mutex_unlock(&mw->mu);
        event_active(mw->wake_ev, 0, 0);
        pthread_join(mw->thread, NULL);
        mp_metrics_set_depth_source(mw->metrics, NULL, NULL);
    }
    mp_memjobs_free(mw->jobs);
    if (mw->sweep_ev != NULL)
        event_free(mw->sweep_ev);
    if (mw->sweep_step_ev != NULL)
        event_free(mw->sweep_step_ev);
    if (mw->wake_ev != NULL)
        event_free(mw->wake_ev);
    if (mw->base != NULL)
        event_base_free(mw->base);
    mp_shared_config_unref(mw->shared);
    mp_shared_config_unref(mw->pending_cfg);
    pthread_mutex_destroy(&mw->mu);
    free(mw);
}
