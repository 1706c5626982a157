/* The memory worker thread: group commit of turns and changes, and the
 * memory jobs (see memworker.h for the design; memjob.c schedules them, jobcall.c runs one).
 *
 * Threads: request threads only touch the inbox (under mu) and the atomic
 * depth. Everything else, the job index, the running jobs and the auth
 * cache, belongs to the worker thread. */
#include "memory/memworker.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wire/blocks.h"
#include "clock.h"
#include "log.h"
#include "memory/embjob.h"
#include "memory/followups.h"
#include "memory/memjob.h"
#include "memory/park.h"
#include "memory/sidetab.h"
#include "metrics.h"
#include "memory/piipolicy.h"
#include "status.h"
#include "upkeep/sweep.h"
#include "net/upstream.h"
#include "json/utf8.h"

enum item_kind { IT_TURN, IT_OPS, IT_CONV };

struct item {
    struct item *next;
    enum item_kind kind;
    struct mp_turn *turn;        /* IT_TURN */
    struct mp_memticket *ticket; /* IT_OPS; IT_TURN: NULL when nobody waits */
    bool held;                   /* IT_TURN: the store failed it once (counted in held) */
    struct mp_turn_conv *conv;   /* IT_CONV: a conversation's state, committed with a batch */
    char user[MP_USER_KEY_MAX];  /* IT_CONV: its user key */
    size_t user_len;
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
    struct mp_memticket *next_answer; /* the next of a batch answered at once (turns_answer) */
};

struct mp_memworker {
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct event *wake_ev;
    struct mp_store *store;
    struct mp_metrics *metrics;
    struct mp_memjobs *jobs;
    struct mp_embjobs *emb;      /* the embeddings backfill (embjob.h) */
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
    _Atomic size_t queued_bytes;          /* what the queued turns hold */
    _Atomic unsigned queue_max;           /* [memory] queue_max, for request threads */
    _Atomic size_t queue_max_bytes;       /* [memory] queue_max_bytes */
    _Atomic int write_rc;                 /* MP_OK, or the last failed write's status */
    _Atomic int64_t deadline_ms;          /* drain deadline (monotonic ms), 0: none */
    struct item *held_head, *held_tail;   /* turns whose commit the store failed: tried
                                             again (worker thread; counted in queued) */
    size_t nheld;
    _Atomic unsigned held;        /* turns the store failed, not yet committed, parked or dropped */
    struct event *held_ev;        /* the next try of the held turns */
    int64_t held_backoff_ms;      /* its delay, doubling while the store fails */
    unsigned commit_delay_ms;     /* MEMPROXY_TEST_COMMIT_DELAY_MS: a slow disk */
    struct mp_sidetab *sides;     /* the side requests known (memory/sidetab.h) */
    struct event *sides_ev;       /* their reload from the store */
    struct mp_followups *follows; /* committed turns' follow-ups, riding with the next commit */
    _Atomic unsigned follow_pending; /* mp_followups_count(follows), for the queue's depth */
};

/* ---- tickets ---- */

static void ticket_unref(struct mp_memticket *t)
{
    if (atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

/* On the reply thread: a chain of tickets of that thread, in order. An
 * abandoned ticket (done NULL) has already given up the caller's
 * reference. */
static void on_tickets_reply(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    for (struct mp_memticket *t = arg, *next; t != NULL; t = next) {
        next = t->next_answer;
        if (t->done != NULL) {
            t->done(t, t->arg, t->status);
            ticket_unref(t); /* the caller's */
        }
        ticket_unref(t); /* the worker's */
    }
}

/* Worker thread: answers a chain of tickets (their statuses set) on their
 * reply thread, head's, with one wake-up. */
static void post_answers(struct mp_memticket *head)
{
    struct timeval now = {0, 0};
    if (event_base_once(head->reply_base, -1, EV_TIMEOUT, on_tickets_reply, head, &now) == 0)
        return;
    for (struct mp_memticket *t = head, *next; t != NULL; t = next) {
        next = t->next_answer;
        ticket_unref(t); /* the reply loop is gone: nobody waits */
    }
}

void mp_memticket_abandon(struct mp_memticket *t)
{
    t->done = NULL;
    ticket_unref(t); /* the caller's */
}

/* Worker thread: answers the ticket on its reply thread. */
static void answer(struct mp_memticket *t, int status)
{
    t->status = status;
    t->next_answer = NULL;
    post_answers(t);
}

/* The store's settings from the configuration (writer thread: at start
 * and on every reload). */
static void store_settings(struct mp_store *store, const struct mp_config *cfg)
{
    mp_store_set_history_cap(store, cfg->governance.history_per_fact);
    mp_store_set_max_facts(store, cfg->memory.max_facts_per_user);
    mp_store_set_archive(store, cfg->memory.archive);
    mp_store_set_conversations(store, cfg->memory.conversations_max,
                               cfg->memory.conversation_bytes_max);
}

/* ---- turning a turn into store ops ---- */

/* One queued turn of a batch, ready to commit. */
struct prepared {
    struct item *it;
    struct mp_mem_message msgs[MP_TURN_MAX_USER_TEXTS + 1];
    char *texts[MP_TURN_MAX_USER_TEXTS + 1]; /* the policy's copies, owned */
    size_t n;                                /* messages to record */
    size_t of_text[MP_TURN_MAX_USER_TEXTS];  /* the message of each user text (SIZE_MAX: none) */
    struct mp_store_print prints[MP_STORE_PRINTS_MAX]; /* recognize's, of msgs */
    struct mp_store_recognize recognize;
    bool apply;  /* it has an op: messages, or a loop's link */
    size_t op;   /* index of its RECORD_TURN op */
    size_t nops; /* its ops: RECORD_TURN (and ADD_JOB) */
    int status;  /* MP_OK, MP_NOTFOUND (recorded before), or the store's error */
};

/* Adds one message through [governance] pii_mode: a message the policy
 * drops (or that cannot be copied) is left out. */
static void add_message(struct prepared *p, enum mp_pii_mode mode, enum mp_role role,
                        const char *text, size_t len)
{
    const struct mp_turn *turn = p->it->turn;
    char *kept = NULL;
    size_t klen = 0;
    bool pii = false;
    if (mp_piipolicy_apply(mode, MP_PII_ITEM_MESSAGE, text, len, false, &kept, &klen, &pii) !=
        MP_OK)
        return;
    klen = mp_utf8_cut_marked(kept, klen, MP_MESSAGE_CONTENT_MAX); /* marked with an ellipsis */
    p->texts[p->n] = kept;
    struct mp_mem_message *m = &p->msgs[p->n++];
    *m = (struct mp_mem_message){.role = role,
                                 .content = kept,
                                 .content_len = klen,
                                 .at_ms = turn->at_ms,
                                 .pii = pii,
                                 .conv = turn->conv,
                                 .conv_kind = turn->conv_kind,
                                 .reply_ref = role == MP_ROLE_ASSISTANT ? turn->reply_ref : 0};
    memcpy(m->request_id, turn->request_id, sizeof(m->request_id));
    memcpy(m->model, turn->model, sizeof(m->model));
}

/* The turn's messages: its new user texts (those the policy keeps), then
 * the reply when it has text; none when no user text is kept, but for a
 * tool loop's final answer, which the store puts with the user's words
 * recorded before (memory/turn.h), and a link, which has none. */
static void turn_messages(struct prepared *p, enum mp_pii_mode mode)
{
    const struct mp_turn *turn = p->it->turn;
    size_t last = turn->ntexts - 1; /* the reply */
    for (size_t i = 0; i < last; i++) {
        size_t had = p->n;
        add_message(p, mode, MP_ROLE_USER, turn->texts[i], turn->lens[i]);
        p->of_text[i] = p->n > had ? had : SIZE_MAX;
    }
    p->apply = turn->loop == MP_TURN_LOOP_LINK;
    if (p->n == 0 && turn->loop != MP_TURN_LOOP_END)
        return; /* no new user message (or none that may be kept): nothing to remember */
    if (turn->lens[last] > 0)
        add_message(p, mode, MP_ROLE_ASSISTANT, turn->texts[last], turn->lens[last]);
    p->apply = p->n > 0;
}

/* What the turn's builder found of client text, as the store takes it
 * (store.h: struct mp_store_recognize): each print on the message its
 * text became, kept only when the message still holds those bytes (the
 * PII policy may have redacted or cut them: then the block is one
 * without a print). */
static const struct mp_store_recognize *recognize_of(struct prepared *p)
{
    const struct mp_turn *turn = p->it->turn;
    struct mp_store_recognize *rq = &p->recognize;
    *rq = (struct mp_store_recognize){.prints = p->prints,
                                      .unprinted = turn->unprinted,
                                      .lone = turn->shape.lone,
                                      .side_kind = turn->side_kind,
                                      .window_ms = MP_SIDE_REQUEST_WINDOW_MS};
    for (size_t i = 0; i < turn->nprints; i++) {
        const struct mp_store_print *tp = &turn->prints[i];
        size_t m = tp->msg + 1 < turn->ntexts ? p->of_text[tp->msg] : SIZE_MAX;
        const struct mp_mem_message *msg = m != SIZE_MAX ? &p->msgs[m] : NULL;
        if (msg == NULL || (size_t)tp->start + tp->len > msg->content_len ||
            mp_blocks_print(msg->content + tp->start, tp->len) != tp->print) {
            rq->unprinted = true;
            continue;
        }
        p->prints[rq->nprints] = *tp;
        p->prints[rq->nprints++].msg = (uint32_t)m;
    }
    rq->ninstr = turn->shape.ninstr;
    memcpy(rq->instr, turn->shape.instr, rq->ninstr * sizeof(rq->instr[0]));
    return rq;
}

#define BATCH_MAX 256 /* turns committed in one transaction, at most */

/* Adds a turn's RECORD_TURN (and ADD_JOB for its extraction) to ops. */
static size_t turn_ops(struct prepared *p, struct mp_op *ops)
{
    struct mp_turn *turn = p->it->turn;
    struct mp_op *op = &ops[0];
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_RECORD_TURN;
    op->user = turn->user;
    op->user_len = turn->user_len;
    op->now_ms = mp_clock_now_ms(); /* recorded; the messages keep the turn's time */
    op->u.turn.messages = p->msgs;
    op->u.turn.nmessages = p->n;
    memcpy(op->u.turn.idem_key, turn->idem_key, MP_IDEM_KEY_LEN);
    op->u.turn.loop_keep = (const uint8_t(*)[MP_IDEM_KEY_LEN])turn->keep;
    op->u.turn.nloop_keep = turn->nkeep;
    op->u.turn.loop_find = (const uint8_t(*)[MP_IDEM_KEY_LEN])turn->find;
    op->u.turn.nloop_find = turn->nfind;
    op->u.turn.loop_end = turn->loop == MP_TURN_LOOP_END;
    op->u.turn.recognize = recognize_of(p);
    size_t n = 1;
    if (turn->extract && turn->loop != MP_TURN_LOOP_LINK) {
        ops[n] = ops[0];
        ops[n].kind = MP_OP_ADD_JOB;
        mp_memjobs_fill(&ops[n].u.job, MP_JOB_EXTRACT, turn->user, turn->user_len, turn->at_ms);
        if (turn->shape.lone && turn->shape.ninstr > 0) /* it may be a side request: told first */
            ops[n].u.job.not_before_ms = turn->at_ms + MP_SIDE_REQUEST_HOLD_MS;
        n++;
    }
    if (turn->conv_put != NULL) /* after the turn: its user is stored then */
        n += mp_turn_conv_ops(&ops[n], turn->user, turn->user_len, turn->conv_put, op->now_ms);
    return n;
}

void mp_memworker_note_write(struct mp_memworker *mw, int rc)
{
    int was = atomic_exchange(&mw->write_rc, rc);
    if (was == rc)
        return;
    if (rc == MP_OK)
        mp_log(MP_LOG_INFO, "memory store takes writes again");
    else
        mp_log(MP_LOG_ERROR, rc == MP_ETOOBIG ? "memory store full: turns not recorded"
                                              : "memory store write failed: turns not recorded");
}

/* What the pending follow-ups did once committed: the jobs they added
 * indexed, and they counted. */
static void follow_done(struct mp_memworker *mw, const struct mp_op *ops, size_t n, bool with_turns)
{
    for (size_t k = 0; k < n; k++)
        mp_memjobs_planned(mw->jobs, &ops[k]);
    mp_metrics_followups(mw->metrics, with_turns, n);
}

static void follow_forget(struct mp_memworker *mw)
{
    mp_followups_clear(mw->follows);
    atomic_store(&mw->follow_pending, 0);
}

/* Applies the pending follow-ups in a transaction of their own (no turn
 * is queued to carry them, or the turns' commit that carried them
 * failed). */
static void follow_flush(struct mp_memworker *mw)
{
    size_t n = mp_followups_count(mw->follows);
    struct mp_op *ops = n > 0 ? calloc(n, sizeof(*ops)) : NULL;
    if (ops != NULL) {
        n = mp_followups_copy(mw->follows, ops);
        int rc = mp_store_apply(mw->store, ops, n);
        mp_memworker_note_write(mw, rc);
        if (rc == MP_OK)
            follow_done(mw, ops, n, false);
    }
    free(ops); /* not applied: planned again after the user's next turn */
    follow_forget(mw);
}

/* What is pending goes alone when nothing waits to carry it: under load
 * the next batch is already queued, else nothing is (a client's next
 * request waits for its reply): then at once, as if it had no wait. A
 * change queued first (mp_memworker_submit, _call) has them applied
 * before it runs, so that whoever sent it sees them. */
static void follow_settle(struct mp_memworker *mw)
{
    if (mp_followups_count(mw->follows) == 0)
        return;
    pthread_mutex_lock(&mw->mu);
    bool waiting = mw->head != NULL;
    pthread_mutex_unlock(&mw->mu);
    if (!waiting)
        follow_flush(mw); /* else the wake-up the queued work made carries it */
}

/* Plans each recorded user's follow-up (summary job or buffer trim) for
 * the next commit (memory/followups.h). */
static void follow_up(struct mp_memworker *mw, struct prepared *prep, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct mp_turn *t = prep[i].it->turn;
        struct mp_op op;
        if (prep[i].n == 0 || prep[i].status != MP_OK)
            continue; /* nothing recorded (a loop's link: nothing) */
        if (!mp_memjobs_plan_after_turn(mw->jobs, t->user, t->user_len, t->summarize, t->extract,
                                        &op))
            continue;
        if (mp_followups_put(mw->follows, &op) != MP_OK &&
            mp_store_apply(mw->store, &op, 1) == MP_OK) {
            mp_memjobs_planned(mw->jobs, &op); /* no room to wait: now */
            mp_metrics_followups(mw->metrics, false, 1);
        }
    }
    atomic_store(&mw->follow_pending, (unsigned)mp_followups_count(mw->follows));
}

/* What rode with a commit of turns (ops[0..n), its result rc): done
 * with, or applied alone when that commit failed. */
static void follow_rode(struct mp_memworker *mw, const struct mp_op *ops, size_t n, int rc)
{
    if (n == 0)
        return;
    if (rc != MP_OK) {
        follow_flush(mw);
        return;
    }
    follow_done(mw, ops, n, true);
    follow_forget(mw);
}

/* Commits the turns' ops (and what rides with them after the turns'):
 * all in one transaction; when that fails, turn by turn, so that one bad
 * or oversized turn fails alone. Sets each status; returns the whole
 * transaction's. */
static int commit_turns(struct mp_memworker *mw, struct prepared *prep, size_t n, struct mp_op *ops,
                        size_t nops)
{
    int rc = nops > 0 ? mp_store_apply(mw->store, ops, nops) : MP_OK;
    if (nops > 0)
        mp_memworker_note_write(mw, rc);
    for (size_t i = 0; i < n; i++) {
        struct prepared *p = &prep[i];
        if (!p->apply) {
            p->status = MP_OK; /* nothing to record is nothing lost */
            continue;
        }
        int one = rc;
        if (rc != MP_OK && n > 1) {
            one = mp_store_apply(mw->store, &ops[p->op], p->nops);
            mp_memworker_note_write(mw, one);
        }
        p->status = one == MP_OK ? ops[p->op].result : one;
    }
    return rc;
}

/* A known turn's reply replaced (the same request again: a regenerated
 * reply, a retry after a lost one; or a tool loop's final answer):
 * logged without its words. */
static void log_replaced(const struct mp_turn *turn)
{
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_INFO,
                     turn->loop == MP_TURN_LOOP_END
                         ? "turn's reply replaced: a tool loop's final answer"
                         : "turn's reply replaced: the same request again");
    mp_logline_str(&l, "request_id", turn->request_id);
    mp_logline_end(&l);
}

/* A turn not recorded: counted by reason and logged with its request id
 * (t NULL: not known), never its words. */
static void turn_lost(struct mp_memworker *mw, const struct mp_turn *t, enum mp_unrecorded why)
{
    struct mp_logline l;
    mp_metrics_memory_job(mw->metrics, MP_JOBM_RECORD, MP_JOBR_DROPPED);
    mp_metrics_turn_unrecorded(mw->metrics, why);
    mp_logline_begin(&l, MP_LOG_WARN, "turn not recorded");
    mp_logline_str(&l, "reason", mp_metrics_unrecorded_name(why));
    if (t != NULL)
        mp_logline_str(&l, "request_id", t->request_id);
    mp_logline_end(&l);
}

/* What recognition did to a turn at recording (storage/ops/store.h: struct
 * mp_store_recognized): counted, logged without any text, and the side
 * requests' prints it learned known to the request path at once. */
static void note_recognized(struct mp_memworker *mw, const struct mp_turn *t,
                            const struct mp_store_recognized *r)
{
    const unsigned char *tenant = NULL;
    const char *id = NULL;
    size_t idlen = 0;
    if (!r->side && r->cut_blocks == 0 && r->undone_turns == 0 && r->undone_messages == 0)
        return;
    mp_metrics_recognized(mw->metrics, r);
    mp_userkey_split(t->user, t->user_len, &tenant, &id, &idlen);
    for (size_t i = 0; i < r->nlearned; i++)
        mp_sidetab_add(mw->sides, tenant, r->learned[i], r->learned_kind);
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_INFO, "client text told apart at recording");
    mp_logline_str(&l, "request_id", t->request_id);
    mp_logline_bool(&l, "side_request", r->side);
    mp_logline_int(&l, "blocks_left_out", r->cut_blocks);
    mp_logline_int(&l, "turns_undone", r->undone_turns);
    mp_logline_int(&l, "messages_undone", r->undone_messages);
    mp_logline_int(&l, "facts_retracted", r->retracted_facts);
    mp_logline_end(&l);
}

/* Counts each turn's outcome and indexes the extraction jobs it queued. */
static void turns_committed(struct mp_memworker *mw, struct prepared *prep, size_t n,
                            const struct mp_op *ops)
{
    for (size_t i = 0; i < n; i++) {
        const struct mp_op *op = &ops[prep[i].op];
        enum mp_job_metric_result res = MP_JOBR_OK;
        if (prep[i].n == 0 || prep[i].status == MP_NOTFOUND)
            res = MP_JOBR_SKIPPED; /* a loop's link too: it records nothing */
        else if (prep[i].status == MP_OK && op->u.turn.replaced)
            res = MP_JOBR_REPLACED;
        else if (prep[i].status == MP_EIO)
            res = MP_JOBR_RETRY; /* held for the store's return */
        else if (prep[i].status != MP_OK)
            res = MP_JOBR_DROPPED;
        if (res == MP_JOBR_DROPPED)
            turn_lost(mw, prep[i].it->turn,
                      prep[i].status == MP_ETOOBIG ? MP_UNREC_STORAGE_FULL
                                                   : MP_UNREC_STORAGE_ERROR);
        else
            mp_metrics_memory_job(mw->metrics, MP_JOBM_RECORD, res);
        if (res == MP_JOBR_REPLACED)
            log_replaced(prep[i].it->turn);
        if (prep[i].apply && (prep[i].status == MP_OK || prep[i].status == MP_NOTFOUND))
            note_recognized(mw, prep[i].it->turn, &op->u.turn.recognized);
        for (size_t k = 0; k < prep[i].nops; k++) /* the conversation's state, with the turn */
            if (op[k].kind == MP_OP_PUT_CONV && op[k].result == MP_OK)
                mp_metrics_conversations_evicted(mw->metrics, op[k].u.conv.evicted);
        bool recorded = res == MP_JOBR_OK || res == MP_JOBR_REPLACED;
        if (recorded && prep[i].it->turn->extract && op[1].result == MP_OK)
            mp_memjobs_add(mw->jobs, &op[1].u.job);
    }
}

/* Answers the turns' tickets: their replies may end now, before the
 * follow-ups' transaction. */
/* The batch's tickets answered with one wake-up per reply loop (not per
 * turn): each loop's tickets chained in the batch's order. */
static void turns_answer(struct prepared *prep, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct mp_memticket *first = prep[i].it->ticket, *head = NULL, **tail = &head;
        if (first == NULL)
            continue;
        for (size_t j = i; j < n; j++) {
            struct mp_memticket *t = prep[j].it->ticket;
            if (t == NULL || t->reply_base != first->reply_base)
                continue;
            t->status = prep[j].status;
            t->next_answer = NULL;
            *tail = t;
            tail = &t->next_answer;
            prep[j].it->ticket = NULL;
        }
        post_answers(head);
    }
}

/* ---- turns held while the store fails ---- */

#define HELD_RETRY_MIN_MS 250
#define HELD_RETRY_MAX_MS 8000

/* A turn the store failed to commit (MP_EIO: down, restarting, a lost
 * connection) waits in the worker for the store's return instead of being
 * dropped: it keeps its place in the queue's bounds (queued, queued_bytes),
 * so a long outage fills the queue and new turns are refused and counted
 * (queue_full), never lost silently. */
static void hold(struct mp_memworker *mw, struct item *it)
{
    it->next = NULL;
    if (mw->held_tail != NULL)
        mw->held_tail->next = it;
    else
        mw->held_head = it;
    mw->held_tail = it;
    mw->nheld++;
    atomic_fetch_add(&mw->queued, 1);
    if (!it->held)
        atomic_fetch_add(&mw->held, 1);
    it->held = true;
    if (!evtimer_pending(mw->held_ev, NULL)) {
        int64_t ms = mw->held_backoff_ms;
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        evtimer_add(mw->held_ev, &tv);
    }
}

/* A turn item done with (committed, dropped or parked): out of the queue's
 * bytes, and of the held turns if it was one. */
static void item_free(struct mp_memworker *mw, struct item *it)
{
    atomic_fetch_sub(&mw->queued_bytes, it->turn->bytes);
    if (it->held)
        atomic_fetch_sub(&mw->held, 1);
    mp_turn_free(it->turn);
    free(it);
}

/* Frees the batch, holding the turns the store failed (see hold()).
 * Returns how many turns failed. */
static size_t turns_release(struct mp_memworker *mw, struct prepared *prep, size_t n)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed += prep[i].status != MP_OK && prep[i].status != MP_NOTFOUND;
        struct item *it = prep[i].it;
        for (size_t k = 0; k < prep[i].n; k++)
            free(prep[i].texts[k]);
        if (prep[i].status == MP_EIO) {
            hold(mw, it); /* its ticket was answered: the reply went on */
            continue;
        }
        item_free(mw, it);
    }
    return failed;
}

/* Frees turn items that will not be recorded, answering status. */
static void turns_drop(struct mp_memworker *mw, struct item **items, size_t n, int status)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i]->ticket != NULL)
            answer(items[i]->ticket, status);
        item_free(mw, items[i]);
    }
}

/* The conversation states of a batch (IT_CONV: requests that recorded
 * no turn) done with: ops[0..nops) their ops once applied (status MP_OK),
 * their waiters answered, the items freed. */
static void convs_done(struct mp_memworker *mw, struct item **convs, size_t n,
                       const struct mp_op *ops, size_t nops, int status)
{
    for (size_t k = 0; status == MP_OK && k < nops; k++)
        if (ops[k].kind == MP_OP_PUT_CONV && ops[k].result == MP_OK)
            mp_metrics_conversations_evicted(mw->metrics, ops[k].u.conv.evicted);
    for (size_t i = 0; i < n; i++) {
        if (convs[i]->ticket != NULL)
            answer(convs[i]->ticket, status);
        mp_turn_conv_free(convs[i]->conv);
        free(convs[i]);
    }
}

/* Group commit: the turns of one wake-up and the conversation states of
 * the requests that recorded none (convs) in one transaction (a slow
 * fsync is paid once for all of them), with the follow-ups of the batch
 * before; their own follow-ups wait for the next (memory/followups.h).
 * Returns how many turns failed. */
static size_t record_batch(struct mp_memworker *mw, struct item **items, size_t n,
                           struct item **convs, size_t nconv)
{
    struct prepared *prep = calloc(n > 0 ? n : 1, sizeof(*prep));
    /* a turn, its job, its conversation's; the states; the follow-ups */
    size_t nfollow = mp_followups_count(mw->follows);
    struct mp_op *ops =
        calloc((2 + MP_TURN_CONV_OPS) * n + MP_TURN_CONV_OPS * nconv + nfollow, sizeof(*ops));
    size_t nops = 0;
    if (prep == NULL || ops == NULL) {
        for (size_t i = 0; i < n; i++)
            turn_lost(mw, items[i]->turn, MP_UNREC_NO_MEMORY);
        turns_drop(mw, items, n, MP_ENOMEM);
        convs_done(mw, convs, nconv, NULL, 0, MP_ENOMEM);
        free(prep);
        free(ops);
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        struct mp_turn *t = items[i]->turn;
        /* a turn without a credential (an upstream that needs none) lets
         * its provider's jobs run without one too */
        if (t->lends)
            mp_memjobs_remember_auth(mw->jobs, t->user, t->user_len, t->auth_api, t->auth,
                                     t->auth_len);
        prep[i].it = items[i];
        turn_messages(&prep[i], mw->shared->cfg.governance.pii_mode);
        prep[i].op = nops;
        if (prep[i].apply) {
            prep[i].nops = turn_ops(&prep[i], &ops[nops]);
            nops += prep[i].nops;
        } else if (t->conv_put != NULL) { /* nothing recorded: the conversation alone */
            nops +=
                mp_turn_conv_ops(&ops[nops], t->user, t->user_len, t->conv_put, mp_clock_now_ms());
        }
    }
    size_t states = nops;
    for (size_t i = 0; i < nconv; i++)
        nops += mp_turn_conv_ops(&ops[nops], convs[i]->user, convs[i]->user_len, convs[i]->conv,
                                 mp_clock_now_ms());
    size_t rode = nops;
    nops += mp_followups_copy(mw->follows, &ops[nops]);
    int rc = commit_turns(mw, prep, n, ops, nops);
    follow_rode(mw, &ops[rode], nops - rode, rc);
    int crc = rc; /* the states, alone when the whole failed */
    if (rc != MP_OK && rode > states) {
        crc = mp_store_apply(mw->store, &ops[states], rode - states);
        mp_memworker_note_write(mw, crc);
    }
    convs_done(mw, convs, nconv, &ops[states], rode - states, crc);
    turns_committed(mw, prep, n, ops);
    turns_answer(prep, n);
    follow_up(mw, prep, n);
    size_t failed = turns_release(mw, prep, n);
    free(prep);
    free(ops);
    return failed;
}

/* ---- parking at the drain deadline ---- */

static bool past_deadline(const struct mp_memworker *mw)
{
    int64_t d = atomic_load(&mw->deadline_ms);
    return d != 0 && mp_clock_monotonic_ms() >= d;
}

/* The drain deadline passed: the queued turns go to a park file for the
 * next start instead of the store. */
static void park_turns(struct mp_memworker *mw, struct item **items, size_t n)
{
    struct mp_turn *turns[BATCH_MAX];
    unsigned char secret[MP_SEAL_KEY_LEN];
    char err[256] = "";
    for (size_t i = 0; i < n; i++)
        turns[i] = items[i]->turn;
    int rc = mp_store_secret(mw->store, secret);
    if (rc == MP_OK)
        rc = mp_park_write(mw->shared->cfg.storage.path, secret, turns, n, err, sizeof(err));
    OPENSSL_cleanse(secret, sizeof(secret));
    struct mp_logline l;
    mp_logline_begin(&l, rc == MP_OK ? MP_LOG_WARN : MP_LOG_ERROR,
                     rc == MP_OK ? "drain deadline: queued turns parked for the next start"
                                 : "drain deadline: queued turns lost");
    mp_logline_int(&l, "turns", (int64_t)n);
    if (rc != MP_OK)
        mp_logline_str(&l, "reason", err[0] != '\0' ? err : mp_status_name(rc));
    mp_logline_end(&l);
    if (rc == MP_OK)
        mp_metrics_parked(mw->metrics, n);
    for (size_t i = 0; i < n; i++) {
        if (rc == MP_OK)
            mp_metrics_memory_job(mw->metrics, MP_JOBM_RECORD, MP_JOBR_SKIPPED);
        else
            turn_lost(mw, items[i]->turn, MP_UNREC_STORAGE_ERROR);
    }
    turns_drop(mw, items, n, rc == MP_OK ? MP_ETIMEDOUT : rc);
}

/* The held turns, taken out of the worker: their count leaves queued (each
 * batch puts back what fails again). */
static struct item *take_held(struct mp_memworker *mw)
{
    struct item *it = mw->held_head;
    atomic_fetch_sub(&mw->queued, (unsigned)mw->nheld);
    mw->held_head = mw->held_tail = NULL;
    mw->nheld = 0;
    return it;
}

/* Commits the held turns in batches, or parks them once the drain deadline
 * passed (or finally, park set: the worker stops). */
static void flush_held(struct mp_memworker *mw, bool park)
{
    size_t before = mw->nheld;
    struct item *it = take_held(mw);
    while (it != NULL) {
        struct item *batch[BATCH_MAX];
        size_t n = 0;
        while (it != NULL && n < BATCH_MAX) {
            batch[n++] = it;
            it = it->next;
        }
        if (park || past_deadline(mw))
            park_turns(mw, batch, n);
        else
            record_batch(mw, batch, n, NULL, 0);
    }
    if (mw->nheld == 0) {
        if (before > 0 && !park) {
            struct mp_logline l;
            mp_logline_begin(&l, MP_LOG_INFO, "held turns recorded: the store is back");
            mp_logline_int(&l, "turns", (int64_t)before);
            mp_logline_end(&l);
        }
        mw->held_backoff_ms = HELD_RETRY_MIN_MS;
    } else {
        int64_t next = mw->held_backoff_ms * 2;
        mw->held_backoff_ms = next > HELD_RETRY_MAX_MS ? HELD_RETRY_MAX_MS : next;
    }
}

static void on_held(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memworker *mw = arg;
    (void)fd;
    (void)what;
    flush_held(mw, false);
    follow_settle(mw);
    mp_memjobs_schedule(mw->jobs);   /* the jobs of the turns just recorded */
    mp_embjobs_kick(mw->emb, false); /* and their vectors */
}

unsigned mp_memworker_failed_jobs(const struct mp_memworker *mw)
{
    return mp_memjobs_failed(mw->jobs);
}

void mp_memworker_jobs_added(struct mp_memworker *mw, const struct mp_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == MP_OP_ADD_JOB && ops[i].result == MP_OK)
            mp_memjobs_add(mw->jobs, &ops[i].u.job);
}

struct mp_memjobs *mp_memworker_jobs(struct mp_memworker *mw)
{
    return mw->jobs;
}

unsigned mp_memworker_extract_now(struct mp_memworker *mw)
{
    mp_embjobs_kick(mw->emb, true); /* due embedding batches run too */
    return mp_memjobs_extract_now(mw->jobs);
}

uint64_t mp_memworker_embed_pending(const struct mp_memworker *mw)
{
    return mp_embjobs_pending(mw->emb);
}

void mp_memworker_drain_by(struct mp_memworker *mw, int64_t ms_from_now)
{
    int64_t d = mp_clock_monotonic_ms() + ms_from_now;
    atomic_store(&mw->deadline_ms, d != 0 ? d : 1);
    mp_memjobs_drain(mw->jobs); /* the pending batches go now */
}

static void reload_sides(struct mp_memworker *mw);

static void handle_ops(struct mp_memworker *mw, struct mp_memticket *t)
{
    bool erased = false;
    for (size_t i = 0; i < t->nops; i++) {
        /* erasure, and a user who turns memory off: their jobs stop now */
        if (t->ops[i].kind == MP_OP_DELETE_USER ||
            (t->ops[i].kind == MP_OP_SET_USER_MODE && t->ops[i].u.user_mode == MP_USER_MODE_OFF))
            mp_memjobs_forget_user(mw->jobs, t->ops[i].user, t->ops[i].user_len);
        erased = erased || t->ops[i].kind == MP_OP_DELETE_USER;
    }
    answer(t, t->fn != NULL ? t->fn(mw, t->fn_arg) : mp_store_apply(mw->store, t->ops, t->nops));
    if (erased)
        reload_sides(mw); /* what the user's client taught goes with the user */
}

static void arm_sweep(struct mp_memworker *mw, uint32_t interval_s);

/* ---- the side requests known ---- */

/* (Re)loads the side requests every process on the store learned; a
 * failed read keeps what was known and tries again at the next tick. */
static void reload_sides(struct mp_memworker *mw)
{
    if (mp_sidetab_load(mw->sides, mw->store) != MP_OK)
        mp_log(MP_LOG_WARN, "side requests not reloaded from the store: kept as they were");
}

static void on_sides_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memworker *mw = arg;
    (void)fd;
    (void)what;
    reload_sides(mw);
    struct timeval tv = {MP_SIDETAB_RELOAD_MS / 1000, (MP_SIDETAB_RELOAD_MS % 1000) * 1000};
    evtimer_add(mw->sides_ev, &tv);
}

struct mp_sidetab *mp_memworker_sides(const struct mp_memworker *mw)
{
    return mw->sides;
}

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
        mp_embjobs_set_config(mw->emb, &cfg->cfg);
        store_settings(mw->store, &cfg->cfg);
        if (cfg->cfg.governance.sweep_interval_seconds != mw->sweep_interval_s)
            arm_sweep(mw, cfg->cfg.governance.sweep_interval_seconds);
    }
    while (it != NULL) {
        struct item *batch[BATCH_MAX];
        size_t n = 0;
        struct item *convs[BATCH_MAX];
        size_t nconv = 0;
        while (it != NULL && it->kind != IT_OPS && n + nconv < BATCH_MAX) {
            if (it->kind == IT_CONV)
                convs[nconv++] = it;
            else
                batch[n++] = it;
            it = it->next;
        }
        if (n + nconv > 0) {
            if (mw->commit_delay_ms > 0)
                usleep(mw->commit_delay_ms * 1000u); /* a slow disk, before the commit */
            if (past_deadline(mw)) {
                park_turns(mw, batch, n);
                convs_done(mw, convs, nconv, NULL, 0, MP_ETIMEDOUT); /* states: built again */
            } else {
                record_batch(mw, batch, n, convs, nconv);
            }
            atomic_fetch_sub(&mw->queued, (unsigned)(n + nconv));
            continue;
        }
        struct item *next = it->next;
        follow_flush(mw); /* before a change is answered: its client sees them applied */
        handle_ops(mw, it->ticket);
        atomic_fetch_sub(&mw->queued, 1);
        free(it);
        it = next;
    }
    if (stopping && mw->nheld > 0) {
        flush_held(mw, false); /* the store may be back: a last try */
        if (mw->nheld > 0)
            flush_held(mw, true); /* else parked for the next start */
    }
    if (stopping)
        follow_flush(mw);
    else
        follow_settle(mw);
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

int mp_memworker_admit(const struct mp_memworker *mw)
{
    if (mp_memworker_depth(mw) >= atomic_load(&mw->queue_max) ||
        atomic_load(&mw->queued_bytes) >= atomic_load(&mw->queue_max_bytes))
        return MP_ETOOBIG;
    return MP_OK;
}

void mp_memworker_count_refused(struct mp_memworker *mw)
{
    turn_lost(mw, NULL, MP_UNREC_QUEUE_FULL);
    mp_metrics_queue_full(mw->metrics);
}

void mp_memworker_count_lost(struct mp_memworker *mw, const char *request_id,
                             enum mp_unrecorded why)
{
    struct mp_turn t = {.request_id = {0}};
    snprintf(t.request_id, sizeof(t.request_id), "%s", request_id != NULL ? request_id : "");
    turn_lost(mw, &t, why);
}

const char *mp_memworker_write_error(const struct mp_memworker *mw)
{
    int rc = atomic_load(&mw->write_rc);
    if (rc == MP_OK)
        return NULL;
    return rc == MP_ETOOBIG ? "storage_full" : "storage_error";
}

static struct mp_memticket *ticket_new(const struct mp_memticket *proto,
                                       struct event_base *reply_base, mp_memticket_fn done,
                                       void *arg)
{
    struct mp_memticket *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    *t = *proto;
    atomic_init(&t->refs, 2); /* the caller's and the worker's */
    t->reply_base = reply_base;
    t->done = done;
    t->arg = arg;
    return t;
}

int mp_memworker_record(struct mp_memworker *mw, struct mp_turn *turn,
                        struct event_base *reply_base, mp_memticket_fn done, void *arg,
                        struct mp_memticket **ticket)
{
    static const struct mp_memticket proto = {.ops = NULL};
    struct item *it = calloc(1, sizeof(*it));
    struct mp_memticket *t = reply_base != NULL ? ticket_new(&proto, reply_base, done, arg) : NULL;
    if (it == NULL || (reply_base != NULL && t == NULL)) {
        free(it);
        free(t);
        turn_lost(mw, turn, MP_UNREC_NO_MEMORY);
        mp_turn_free(turn);
        return MP_ENOMEM;
    }
    it->kind = IT_TURN;
    it->turn = turn;
    it->ticket = t;
    if (ticket != NULL)
        *ticket = t;
    atomic_fetch_add(&mw->queued_bytes, turn->bytes);
    atomic_fetch_add(&mw->queued, 1);
    push(mw, it);
    return MP_OK;
}

static int enqueue(struct mp_memworker *mw, struct mp_memticket *proto,
                   struct event_base *reply_base, mp_memticket_fn done, void *arg,
                   struct mp_memticket **ticket)
{
    struct item *it = calloc(1, sizeof(*it));
    struct mp_memticket *t = ticket_new(proto, reply_base, done, arg);
    if (it == NULL || t == NULL) {
        free(it);
        free(t);
        return MP_ENOMEM;
    }
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

/* ---- a conversation's state, without a turn ---- */

int mp_memworker_keep_conv(struct mp_memworker *mw, struct event_base *reply_base, const char *user,
                           size_t len, struct mp_turn_conv *c, mp_memticket_fn done, void *arg,
                           struct mp_memticket **ticket)
{
    static const struct mp_memticket proto = {.ops = NULL};
    struct item *it = calloc(1, sizeof(*it));
    struct mp_memticket *t = done != NULL ? ticket_new(&proto, reply_base, done, arg) : NULL;
    if (it == NULL || (done != NULL && t == NULL) || len > MP_USER_KEY_MAX) {
        free(it);
        free(t);
        mp_turn_conv_free(c);
        return len > MP_USER_KEY_MAX ? MP_EINVAL : MP_ENOMEM;
    }
    it->kind = IT_CONV;
    it->conv = c;
    it->ticket = t;
    memcpy(it->user, user, len);
    it->user_len = len;
    if (ticket != NULL)
        *ticket = t;
    atomic_fetch_add(&mw->queued, 1);
    push(mw, it);
    return MP_OK;
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
    mp_sweep_retention_days(cfg->governance.retention_days, cfg->governance.pii_retention_days,
                            cfg->memory.idempotency_hours, r);
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

unsigned mp_memworker_held(const struct mp_memworker *mw)
{
    return atomic_load(&mw->held);
}

unsigned mp_memworker_depth(const struct mp_memworker *mw)
{
    unsigned jobs = mp_memjobs_pending(mw->jobs), held = mp_memjobs_held(mw->jobs);
    return atomic_load(&mw->queued) + atomic_load(&mw->follow_pending) +
           (jobs > held ? jobs - held : 0);
}

int mp_memworker_import_reserve(struct mp_memworker *mw, size_t jobs, size_t bytes, unsigned share,
                                struct mp_memworker_room *room)
{
    room->depth = mp_memworker_depth(mw);
    room->max = (unsigned)((uint64_t)atomic_load(&mw->queue_max) * share / 100);
    room->max_bytes = (size_t)((uint64_t)atomic_load(&mw->queue_max_bytes) * share / 100);
    room->bytes = atomic_load(&mw->queued_bytes);
    if ((uint64_t)room->depth + jobs > room->max)
        return MP_ETOOBIG;
    while (bytes > 0) {
        if (room->bytes + bytes > room->max_bytes)
            return MP_ETOOBIG;
        if (atomic_compare_exchange_weak(&mw->queued_bytes, &room->bytes, room->bytes + bytes))
            break;
    }
    return MP_OK;
}

void mp_memworker_import_release(struct mp_memworker *mw, size_t bytes)
{
    atomic_fetch_sub(&mw->queued_bytes, bytes);
}

unsigned mp_memworker_held_jobs(const struct mp_memworker *mw, int64_t *since_ms)
{
    *since_ms = mp_memjobs_held_since(mw->jobs);
    return mp_memjobs_held(mw->jobs);
}

static void depth_source(const void *arg, struct mp_metrics_queue *out)
{
    const struct mp_memworker *mw = arg;
    out->depth = mp_memworker_depth(mw);
    out->bytes = atomic_load(&mw->queued_bytes);
    out->why = mp_memworker_write_error(mw);
    out->write_ok = out->why == NULL;
    out->max = atomic_load(&mw->queue_max);
    out->max_bytes = atomic_load(&mw->queue_max_bytes);
    int64_t since = 0;
    out->held_no_credential = mp_memworker_held_jobs(mw, &since);
    out->held_batch = mp_memjobs_batched(mw->jobs);
    if (out->held_no_credential > 0 && since > 0 && mp_clock_now_ms() > since)
        out->held_oldest_seconds = (double)(mp_clock_now_ms() - since) / 1000.0;
    out->failed = mp_memjobs_failed(mw->jobs);
}

void mp_memworker_post_config(struct mp_memworker *mw, struct mp_shared_config *shared)
{
    atomic_store(&mw->queue_max, shared->cfg.memory.queue_max);
    atomic_store(&mw->queue_max_bytes, (size_t)shared->cfg.memory.queue_max_bytes);
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

/* Parked turns being recorded at start. */
struct unpark {
    struct mp_memworker *mw;
    struct item *batch[BATCH_MAX];
    size_t n;
    size_t failed;
};

static void unpark_flush(struct unpark *u)
{
    if (u->n > 0)
        u->failed += record_batch(u->mw, u->batch, u->n, NULL, 0);
    u->n = 0;
}

static void on_parked_turn(struct mp_turn *turn, void *arg)
{
    struct unpark *u = arg;
    struct item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        mp_turn_free(turn);
        u->failed++;
        return;
    }
    it->kind = IT_TURN;
    it->turn = turn;
    atomic_fetch_add(&u->mw->queued_bytes, turn->bytes);
    u->batch[u->n++] = it;
    if (u->n == BATCH_MAX)
        unpark_flush(u);
}

static int on_parked_file(void *arg)
{
    struct unpark *u = arg;
    unpark_flush(u);
    int rc = u->failed == 0 ? MP_OK : MP_EIO;
    u->failed = 0;
    return rc;
}

/* Records the turns a previous process parked (before the thread starts:
 * this thread is the only writer then). */
static void unpark(struct mp_memworker *mw)
{
    unsigned char secret[MP_SEAL_KEY_LEN];
    char err[256] = "";
    size_t n = 0;
    struct unpark *u = calloc(1, sizeof(*u));
    if (u == NULL || mp_store_secret(mw->store, secret) != MP_OK) {
        free(u);
        mp_log(MP_LOG_ERROR, "parked turns not read: the store's secret is unavailable");
        return;
    }
    u->mw = mw;
    int rc = mp_park_load(mw->shared->cfg.storage.path, secret, on_parked_turn, on_parked_file, u,
                          &n, err, sizeof(err));
    OPENSSL_cleanse(secret, sizeof(secret));
    free(u);
    follow_flush(mw); /* the parked turns' follow-ups: nothing is queued yet */
    if (n == 0 && rc == MP_OK)
        return;
    struct mp_logline l;
    mp_logline_begin(&l, rc == MP_OK ? MP_LOG_INFO : MP_LOG_ERROR,
                     rc == MP_OK ? "parked turns recorded" : "parked turns not all recorded");
    mp_logline_int(&l, "turns", (int64_t)n);
    if (rc != MP_OK)
        mp_logline_str(&l, "reason", err);
    mp_logline_end(&l);
}

/* MEMPROXY_TEST_COMMIT_DELAY_MS: tests make each batch of turns wait this
 * long before its commit, as on a slow disk, to build a deep queue.
 * Operators never set it. */
static unsigned test_commit_delay(void)
{
    const char *v = getenv("MEMPROXY_TEST_COMMIT_DELAY_MS");
    unsigned long ms = v != NULL ? strtoul(v, NULL, 10) : 0;
    if (ms > 0)
        mp_log(MP_LOG_WARN, "memory commits slowed by MEMPROXY_TEST_COMMIT_DELAY_MS (for tests "
                            "only)");
    return ms > 10000 ? 10000 : (unsigned)ms;
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
    atomic_init(&mw->queue_max_bytes, (size_t)shared->cfg.memory.queue_max_bytes);
    mw->base = event_base_new();
    if (mw->base != NULL)
        mw->wake_ev = event_new(mw->base, -1, 0, on_wake, mw);
    if (mw->base != NULL) {
        mw->sweep_ev = evtimer_new(mw->base, on_sweep_timer, mw);
        mw->sweep_step_ev = evtimer_new(mw->base, on_sweep_step, mw);
        mw->held_ev = evtimer_new(mw->base, on_held, mw);
    }
    mw->held_backoff_ms = HELD_RETRY_MIN_MS;
    if (mw->wake_ev != NULL && mw->sweep_ev != NULL && mw->sweep_step_ev != NULL &&
        mw->held_ev != NULL && mp_followups_new(&mw->follows) == MP_OK)
        mw->jobs = mp_memjobs_new(mw->base, store, metrics, &shared->cfg);
    if (mw->jobs != NULL)
        mw->emb = mp_embjobs_new(mw->base, store, metrics, &shared->cfg);
    mw->commit_delay_ms = test_commit_delay();
    store_settings(store, &shared->cfg);
    int rc = mw->jobs != NULL && mw->emb != NULL ? mp_memjobs_rescan(mw->jobs) : MP_EIO;
    if (rc == MP_OK)
        rc = mp_sidetab_new(&mw->sides);
    if (rc == MP_OK)
        mw->sides_ev = evtimer_new(mw->base, on_sides_timer, mw);
    if (rc == MP_OK && mw->sides_ev == NULL)
        rc = MP_ENOMEM;
    if (rc == MP_OK)
        on_sides_timer(-1, 0, mw); /* loaded now, then every MP_SIDETAB_RELOAD_MS */
    if (rc == MP_OK)
        unpark(mw);
    if (rc != MP_OK || pthread_create(&mw->thread, NULL, memworker_main, mw) != 0) {
        mp_memworker_free(mw);
        return MP_EIO;
    }
    mw->thread_started = true;
    pthread_setname_np(mw->thread, "mp-memory"); /* what top -H and ps -L show */
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
    mp_embjobs_free(mw->emb);
    mp_memjobs_free(mw->jobs);
    if (mw->sides_ev != NULL)
        event_free(mw->sides_ev);
    mp_sidetab_free(mw->sides);
    if (mw->sweep_ev != NULL)
        event_free(mw->sweep_ev);
    if (mw->sweep_step_ev != NULL)
        event_free(mw->sweep_step_ev);
    if (mw->held_ev != NULL)
        event_free(mw->held_ev);
    mp_followups_free(mw->follows);
    if (mw->wake_ev != NULL)
        event_free(mw->wake_ev);
    if (mw->base != NULL)
        event_base_free(mw->base);
    mp_shared_config_unref(mw->shared);
    mp_shared_config_unref(mw->pending_cfg);
    pthread_mutex_destroy(&mw->mu);
    free(mw);
}
