/* Every store op once (store.h: mp_store_apply), as a sequence of backend
 * primitives in one write transaction, run again from the start while the
 * backend's end answers MP_AGAIN (the records are described in
 * store_backend.h). The rules
 * (precedence, erasure, retention) are lifecycle.c's; this file decides
 * which records an op reads and writes, and in which order.
 *
 * One apply keeps the one user record it has loaded: ops on the same user
 * (the usual case) decode and encode it once, and it is written back when
 * the apply moves to another user or ends. An op that fails stops the
 * apply; the backend then throws the transaction away. When the backend
 * cures the failure (LMDB grows a full map) the whole apply runs again from
 * the start, so nothing here may keep state across attempts but the ops. */
#include "ops/store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/lifecycle.h"
#include "status.h"
#include "ops/store_backend.h"
#include "ops/store_archive.h"
#include "ops/store_conv.h"
#include "ops/store_erase.h"
#include "ops/store_facts.h"
#include "ops/store_jobs.h"
#include "ops/store_user.h"
#include "ops/store_read.h"
#include "ops/store_lease.h"
#include "ops/store_links.h"
#include "ops/store_spend.h"
#include "ops/store_settings.h"
#include "ops/store_told.h"
#include "ops/store_turn.h"

static int be_get(struct mp_ops_ctx *w, enum mp_store_table t, const void *k, size_t klen,
                  const unsigned char **v, size_t *vn)
{
    return w->s->be->get(w->txn, t, k, klen, v, vn);
}

static int be_del(struct mp_ops_ctx *w, enum mp_store_table t, const void *k, size_t klen)
{
    return w->s->be->del(w->txn, t, k, klen);
}

/* mp_ops_load_user() of op's user, for an op that needs them stored:
 * *absent (the op's result MP_NOTFOUND) when nothing is. */
static int load_stored(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                       bool *absent)
{
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    *absent = rc == MP_OK && !w->exists;
    if (*absent)
        out->result = MP_NOTFOUND;
    return rc;
}

static int load_history(struct mp_ops_ctx *w, int64_t until_ms, struct mp_history *h, bool *more)
{
    return mp_store_read_history_until(w->txn, w->prefix, w->plen, until_ms, h, more);
}

/* [governance] history_per_fact for the summary: its oldest entries
 * beyond the cap go (facts: mp_ops_cap_history, through their histx). */
static int cap_summary_history(struct mp_ops_ctx *w, const struct mp_history_item *added)
{
    uint32_t cap = w->s->history_cap;
    struct mp_history h = {NULL, 0};
    if (cap == 0)
        return MP_OK;
    int rc = load_history(w, INT64_MAX, &h, NULL);
    uint64_t *seqs = rc == MP_OK && h.nitems > cap ? malloc(h.nitems * sizeof(*seqs)) : NULL;
    size_t n = seqs != NULL
                   ? mp_lifecycle_hist_over_cap(h.items, h.nitems, added, cap, seqs, h.nitems)
                   : 0;
    for (size_t i = 0; rc == MP_OK && i < n; i++)
        rc = mp_ops_del_hist(w, seqs[i]);
    if (rc == MP_OK && h.nitems > cap && seqs == NULL)
        rc = MP_ENOMEM;
    free(seqs);
    mp_store_read_history_clear(&h);
    return rc;
}

/* ---- turns and jobs ---- */

static int import_message(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc == MP_OK)
        rc = mp_ops_import_key(w, op);
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc == MP_OK)
        rc = mp_ops_archive_import(w, op, &out->first_seq);
    out->last_seq = out->first_seq;
    if (rc == MP_OK)
        mp_ops_touch(w, op->now_ms);
    return rc;
}

static int set_message_keys(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    bool absent;
    int rc = load_stored(w, op, out, &absent);
    if (rc != MP_OK || absent)
        return rc;
    rc = mp_ops_archive_set_keys(w, op);
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc == MP_OK)
        mp_ops_touch(w, op->now_ms); /* the head's term filter took the keys */
    return rc;
}

/* An EXTRACT job with no seqs takes them from its turn (store.h, ADD_JOB). */
static bool inherits_seqs(const struct mp_op *op)
{
    const struct mp_job *j = &op->u.job;
    return op->kind == MP_OP_ADD_JOB && j->kind == MP_JOB_EXTRACT && j->from_seq == 0 &&
           j->through_seq == 0;
}

static bool of_job_user(const struct mp_op *op, const struct mp_job *j)
{
    return op->user_len == j->user_len && memcmp(op->user, j->user, j->user_len) == 0;
}

/* The first of the IMPORT_MESSAGE ops of the job's user right before
 * ops[i] that are its imported turn (import_turn_ops of them, or the whole
 * run), or i when ops[i - 1] is none. */
static size_t imported_turn_of_job(const struct mp_op *ops, size_t i)
{
    size_t k = i, max = ops[i].import_turn_ops > 0 ? ops[i].import_turn_ops : i;
    while (k > 0 && i - k < max && ops[k - 1].kind == MP_OP_IMPORT_MESSAGE &&
           of_job_user(&ops[k - 1], &ops[i].u.job))
        k--;
    return k;
}

/* The nearest RECORD_TURN before ops[i] for the job's user, or -1. */
static long turn_of_job(const struct mp_op *ops, size_t i)
{
    const struct mp_job *j = &ops[i].u.job;
    for (size_t k = i; k-- > 0;) {
        if (ops[k].kind == MP_OP_RECORD_TURN && of_job_user(&ops[k], j))
            return (long)k;
    }
    return -1;
}

/* The seqs of the imported turn ops[first..i) into *job: those of its
 * messages imported now (MP_NOTFOUND when none was: imported before). */
static int imported_seqs(const struct mp_ops_out *outs, size_t first, size_t i, struct mp_job *job)
{
    job->from_seq = job->through_seq = 0;
    for (size_t k = first; k < i; k++) {
        if (outs[k].result != MP_OK)
            continue;
        if (job->from_seq == 0)
            job->from_seq = outs[k].first_seq;
        job->through_seq = outs[k].last_seq;
    }
    return job->from_seq != 0 ? MP_OK : MP_NOTFOUND;
}

/* The job ADD_JOB ops[i] queues: MP_OK with *job (seqs inherited from its
 * RECORD_TURN, or its imported turn, when the op asks for that), or
 * MP_NOTFOUND when that turn was already recorded (imported). */
static int job_resolve(const struct mp_op *ops, const struct mp_ops_out *outs, size_t i,
                       struct mp_job *job)
{
    *job = ops[i].u.job;
    if (!inherits_seqs(&ops[i]))
        return MP_OK;
    size_t first = imported_turn_of_job(ops, i);
    if (first < i)
        return imported_seqs(outs, first, i, job);
    long t = turn_of_job(ops, i);
    if (t < 0)
        return MP_OK;
    if (outs[t].result != MP_OK)
        return MP_NOTFOUND;
    job->from_seq = outs[t].first_seq;
    job->through_seq = outs[t].last_seq;
    return MP_OK;
}

static int put_job(struct mp_ops_ctx *w, const struct mp_job *job, uint64_t id)
{
    unsigned char kb[8], buf[64 + MP_USER_KEY_MAX];
    mp_codec_be_put(kb, id, 8);
    size_t n = mp_codec_put_job(buf, job);
    return mp_store_backend_put(w->txn, MP_TABLE_JOBS, kb, sizeof(kb), buf, n);
}

static int add_job(struct mp_ops_ctx *w, const struct mp_op *ops, struct mp_ops_out *outs, size_t i)
{
    const unsigned char *v;
    unsigned char nb[8];
    size_t vn;
    uint64_t id = 1;
    struct mp_job job;
    if (job_resolve(ops, outs, i, &job) != MP_OK) {
        outs[i].result = MP_NOTFOUND; /* its turn was recorded before */
        return MP_OK;
    }
    int rc = be_get(w, MP_TABLE_META, "next_job", 8, &v, &vn);
    if (rc == MP_OK && vn != 8)
        return MP_EIO;
    if (rc == MP_OK)
        id = mp_codec_le_get(v, 8);
    else if (rc != MP_NOTFOUND)
        return rc;
    rc = put_job(w, &job, id);
    if (rc != MP_OK)
        return rc;
    mp_codec_le_put(nb, id + 1, 8);
    rc = w->s->be->put(w->txn, MP_TABLE_META, "next_job", 8, nb, sizeof(nb)); /* never sealed */
    if (rc != MP_OK)
        return rc;
    outs[i].job_id = id;
    outs[i].first_seq = job.from_seq;
    outs[i].last_seq = job.through_seq;
    return MP_OK;
}

static int job_by_id(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    uint64_t id = op->kind == MP_OP_DONE_JOB ? op->u.job_id : op->u.job.id;
    unsigned char kb[8];
    const unsigned char *v;
    size_t vn;
    int rc;
    mp_codec_be_put(kb, id, 8);
    if (op->kind == MP_OP_DONE_JOB)
        rc = be_del(w, MP_TABLE_JOBS, kb, sizeof(kb));
    else
        rc = be_get(w, MP_TABLE_JOBS, kb, sizeof(kb), &v, &vn);
    if (op->kind == MP_OP_DONE_JOB && (rc == MP_OK || rc == MP_NOTFOUND)) {
        int lrc = mp_lease_drop(w->txn, id);
        if (lrc != MP_OK)
            return lrc;
    }
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != MP_OK)
        return rc;
    return op->kind == MP_OP_UPDATE_JOB ? put_job(w, &op->u.job, id) : MP_OK;
}

/* ---- summary ---- */

struct extract_floor {
    struct mp_store *s;
    const char *user;
    size_t len;
    uint64_t floor; /* the lowest from_seq of the user's pending EXTRACT jobs; UINT64_MAX */
};

static int on_extract_job(void *arg, const unsigned char *key, size_t klen,
                          const unsigned char *val, size_t vlen)
{
    struct extract_floor *f = arg;
    struct mp_job job;
    int rc = mp_store_read_job(f->s, key, klen, val, vlen, &job);
    /* a failed job (waiting for a re-run) holds no trim here: the memory
       jobs bound what it holds (proxy/memory/memjob.h) */
    if (rc == MP_OK && job.kind == MP_JOB_EXTRACT && job.failed == MP_JOB_FAIL_NONE &&
        job.user_len == f->len && memcmp(job.user, f->user, f->len) == 0 && job.from_seq < f->floor)
        f->floor = job.from_seq;
    return rc;
}

/* The newest seq the op may drop from the buffer: its through_seq, less
 * what a pending extraction with an id above jobs_known_through still
 * needs (store.h, SET_SUMMARY). Job ids grow, so the walk reads only the
 * jobs queued since the caller's last read of them. */
static int drop_bound(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t *through)
{
    unsigned char from[8];
    struct extract_floor f = {w->s, op->user, op->user_len, UINT64_MAX};
    *through = op->u.summary.through_seq;
    if ((op->kind == MP_OP_SET_SUMMARY && op->u.summary.keep_messages) ||
        op->u.summary.jobs_known_through == UINT64_MAX)
        return MP_OK;
    mp_codec_be_put(from, op->u.summary.jobs_known_through + 1, 8);
    int rc = w->s->be->scan(w->txn, MP_TABLE_JOBS, from, sizeof(from), 0, on_extract_job, &f);
    if (rc == MP_OK && f.floor <= *through)
        *through = f.floor > 0 ? f.floor - 1 : 0; /* a job from seq 0 holds everything */
    return rc;
}

/* The time of the oldest buffered message a SET_SUMMARY folds in (after
 * what the summary covered, up to its through_seq); INT64_MAX: none. */
static int64_t fold_since(const struct mp_usermem *um, const struct mp_op *op)
{
    int64_t since = INT64_MAX;
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->seq > um->summary.covers_through_seq && m->seq <= op->u.summary.through_seq &&
            m->at_ms < since)
            since = m->at_ms;
    }
    return since;
}

static int summarize(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    struct mp_history_item ev[2];
    bool absent;
    uint64_t drop_through;
    int rc = load_stored(w, op, out, &absent);
    if (rc != MP_OK || absent)
        return rc;
    if (op->kind == MP_OP_SET_SUMMARY && op->u.summary.check_from &&
        (w->um->summary.covers_through_seq != op->u.summary.from_seq ||
         (w->um->summary.text != NULL) != op->u.summary.from_text))
        return MP_ECONFLICT; /* folded meanwhile: this fold would lose that one */
    int64_t since = op->kind == MP_OP_SET_SUMMARY ? fold_since(w->um, op) : INT64_MAX;
    rc = drop_bound(w, op, &drop_through);
    if (rc == MP_OK)
        rc = mp_lifecycle_summarize(w->um, op, drop_through);
    if (rc != MP_OK)
        return rc;
    mp_ops_touch(w, op->now_ms);
    if (op->kind != MP_OP_SET_SUMMARY)
        return MP_OK;
    mp_lifecycle_summary_event(op, w->um, &ev[0]);
    ev[1].count = 0;
    if (since != INT64_MAX)
        rc = mp_ops_filter_fold(w, op, since, &ev[1]);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, ev, ev[1].count > 0 ? 2 : 1);
    return rc == MP_OK ? cap_summary_history(w, &ev[0]) : rc;
}

/* ---- deleting a user ---- */

/* What DELETE_USER erases, as the user's head counts it (store.h). */
static int count_user(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_erased *e)
{
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK || !w->exists)
        return rc;
    e->facts = w->meta.nfacts;
    e->messages =
        (uint32_t)(w->meta.narchive > w->um->nmessages ? w->meta.narchive : w->um->nmessages);
    e->summaries = w->um->summary.text != NULL ? 1 : 0;
    return MP_OK;
}

static int revoke_links(struct mp_ops_ctx *w, const struct mp_op *op)
{
    return mp_links_void(w->txn, op->user, op->user_len, op->now_ms);
}

/* SPEND_TOKENS (store.h): what the jobs queued before it in this apply
 * cost, added to the user's day. */
static int spend_tokens(struct mp_ops_ctx *w, const struct mp_op *ops,
                        const struct mp_ops_out *outs, size_t i)
{
    const struct mp_op *op = &ops[i];
    uint64_t tokens = 0, jobs = 0;
    for (size_t j = 0; j < i; j++) {
        if (ops[j].kind != MP_OP_ADD_JOB || outs[j].result != MP_OK)
            continue;
        jobs++;
        tokens += op->u.spend.op_tokens != NULL ? op->u.spend.op_tokens[j] : 0;
    }
    uint64_t calls = (jobs + op->u.spend.turns_per_call - 1) / op->u.spend.turns_per_call;
    tokens += calls * op->u.spend.call_tokens;
    return mp_spend_add(w->txn, op->user, op->user_len, op->now_ms, tokens, op->u.spend.limit);
}

static int delete_user(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    int counted = count_user(w, op, &out->erased);
    if (counted != MP_OK)
        return counted;
    size_t n = mp_store_backend_user_prefix(w->s, prefix, op->user, op->user_len);
    if (mp_ops_is_loaded(w, op->user, op->user_len))
        mp_ops_drop_user(w);
    int rc = be_del(w, MP_TABLE_USERS, prefix + 2, n - 2);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    rc = MP_OK;
    /* every table whose records are under a user's prefix: a table added
       to the format is erased with the user without being listed here */
    for (int t = 0; rc == MP_OK && t < MP_TABLE_COUNT; t++)
        if (mp_store_table_shapes[t] == MP_KEY_USER_PREFIXED ||
            mp_store_table_shapes[t] == MP_KEY_USER_TAG)
            rc = mp_ops_del_range(w, (enum mp_store_table)t, prefix, n);
    if (rc == MP_OK)
        rc = mp_ops_drop_jobs(w, op->user, op->user_len, NULL, NULL, NULL);
    if (rc == MP_OK)
        rc = revoke_links(w, op);
    return rc;
}

/* ---- retention ---- */

/* History is appended in time order, so the walk stops at the first entry
 * younger than the shortest limit: a pass costs what it purges, not the
 * whole history. */
static int sweep_history(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                         size_t *left)
{
    struct mp_history h = {NULL, 0};
    bool more = false;
    int rc = load_history(w, mp_lifecycle_hist_horizon(op), &h, &more);
    *left = h.nitems + (more ? 1 : 0);
    for (size_t i = 0; rc == MP_OK && i < h.nitems; i++) {
        const struct mp_history_item *it = &h.items[i];
        if (!mp_lifecycle_hist_expired(it, op))
            continue;
        rc = mp_ops_del_hist(w, it->seq);
        if (rc == MP_OK && it->item == MP_ITEM_FACT)
            rc = mp_ops_histx_del(w, it->entity.key, it->seq);
        c->history++;
        (*left)--;
    }
    mp_store_read_history_clear(&h);
    return rc;
}

struct idem_scan {
    const struct mp_op *op;
    size_t seen, n, cap;
    unsigned char (*old)[MP_IDEM_KEY_LEN];
};

static int on_idem(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct idem_scan *is = arg;
    int64_t age = is->op->u.sweep.retention.idem_max_age_ms;
    is->seen++;
    if (pv->n < 8 || age <= 0 || (int64_t)mp_codec_le_get(pv->p, 8) >= is->op->now_ms - age)
        return MP_OK;
    if (mp_store_backend_grow(&is->old, &is->cap, is->n, sizeof(*is->old)) != MP_OK)
        return MP_ENOMEM;
    memcpy(is->old[is->n++], id, MP_IDEM_KEY_LEN);
    return MP_OK;
}

/* Idem keys older than the limit: collected during the walk, deleted after. */
static int sweep_idem(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                      size_t *left)
{
    unsigned char kb[MP_STORE_IDEM_KEY_MAX];
    struct idem_scan is = {.op = op};
    size_t plen = mp_ops_key(w, kb, NULL, 0);
    int rc = mp_store_backend_scan_plain(w->txn, MP_TABLE_IDEM, kb, plen, plen, MP_IDEM_KEY_LEN,
                                         on_idem, &is);
    *left = is.seen;
    for (size_t i = 0; rc == MP_OK && i < is.n; i++) {
        memcpy(kb + plen, is.old[i], MP_IDEM_KEY_LEN);
        rc = be_del(w, MP_TABLE_IDEM, kb, plen + MP_IDEM_KEY_LEN);
        c->idem++;
        (*left)--;
    }
    free(is.old);
    return rc;
}

/* Messages (the buffer's and the archive's, each once), then facts, then
 * the summary: the history entries of one sweep in that order. */
static int sweep_items(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                       size_t *logged)
{
    struct mp_history_item ev[2], *fev = NULL;
    size_t nfev = 0;
    uint64_t archived = 0;
    int rc = mp_ops_sweep_archive(w, op, &archived);
    if (rc == MP_OK)
        rc = mp_ops_sweep_facts(w, op, c, &fev, &nfev);
    if (rc != MP_OK) {
        free(fev);
        return rc;
    }
    uint64_t before = c->messages;
    size_t n = mp_lifecycle_expire(w->um, op, ev, c);
    uint64_t buffered = c->messages - before; /* archived too: counted once */
    bool messages = n > 0 && ev[0].item == MP_ITEM_MESSAGES;
    if (archived > buffered) {
        c->messages = before + archived;
        if (messages) {
            ev[0].count = (uint32_t)archived;
        } else {
            memmove(&ev[1], &ev[0], n * sizeof(ev[0]));
            mp_lifecycle_messages_event(op, (uint32_t)archived, &ev[0]);
            n++;
            messages = true;
        }
    }
    size_t m = messages ? 1 : 0;
    rc = mp_ops_append_hist(w, ev, m);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, fev, nfev);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, ev + m, n - m);
    free(fev);
    *logged = n + nfev;
    if (archived > 0)
        w->dirty = true; /* the counters moved; updated_at stays */
    if (c->facts + c->messages + c->summaries > 0) {
        w->dirty = true; /* what was injected may hold what is gone: a new epoch */
        w->um->memory_epoch++;
    }
    return rc;
}

static int sweep_user(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    size_t hist_left = 0, idem_left = 0, logged = 0;
    bool absent;
    int rc = load_stored(w, op, out, &absent);
    if (rc != MP_OK || absent)
        return rc;
    rc = sweep_history(w, op, &out->swept, &hist_left);
    if (rc == MP_OK)
        rc = sweep_idem(w, op, &out->swept, &idem_left);
    if (rc == MP_OK)
        rc = sweep_items(w, op, &out->swept, &logged);
    if (rc == MP_OK && out->swept.messages > 0)
        rc = mp_told_sweep(w); /* the turns they pointed at are gone */
    if (rc != MP_OK || !mp_lifecycle_um_empty(w->um) || w->meta.nfacts > 0 ||
        w->meta.narchive > 0 || hist_left + logged > 0 || idem_left > 0)
        return rc;
    mp_ops_drop_user(w); /* nothing left: the user goes */
    rc = be_del(w, MP_TABLE_USERS, MP_OPS_PHYS(w), MP_OPS_PHYS_LEN(w));
    if (rc == MP_OK || rc == MP_NOTFOUND) /* and so do its conversations and leads */
        rc = mp_ops_del_range(w, MP_TABLE_CONVS, w->prefix, w->plen);
    return rc;
}

/* ---- leases ---- */

static int claim_job(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char kb[8];
    const unsigned char *v;
    size_t vn;
    uint64_t owner = 0;
    int64_t until = 0;
    mp_codec_be_put(kb, op->u.claim.job_id, 8);
    int rc = be_get(w, MP_TABLE_JOBS, kb, sizeof(kb), &v, &vn);
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc == MP_OK && !w->s->be->shared)
        return MP_OK; /* one process at a time (LMDB's lock): every job is its own */
    if (rc == MP_OK)
        rc = mp_lease_read(w->txn, op->u.claim.job_id, &owner, &until);
    if (rc == MP_OK && owner != op->u.claim.owner && until > op->now_ms) {
        out->result = MP_ECONFLICT;
        out->until_ms = until;
        return MP_OK;
    }
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    return mp_lease_write(w->txn, op->u.claim.job_id, op->u.claim.owner, op->u.claim.until_ms);
}

/* ---- the user's own setting ---- */

static int set_user_mode(struct mp_ops_ctx *w, const struct mp_op *op)
{
    unsigned char phys[MP_STORE_PHYS_USER_MAX];
    size_t n = mp_store_backend_phys_user(w->s, op->user, op->user_len, phys);
    int rc = mp_settings_write(w->txn, phys, n, op->u.user_mode, op->now_ms, op->actor);
    if (rc == MP_OK && op->u.user_mode == MP_USER_MODE_OFF)
        rc = mp_ops_drop_jobs(w, op->user, op->user_len, NULL, NULL, NULL);
    return rc;
}

/* Whether op is something traffic would remember that the user's setting
 * holds back (store.h, SET_USER_MODE): *held then, and the op is skipped. */
static int held_back(struct mp_ops_ctx *w, const struct mp_op *op, bool *held)
{
    enum mp_user_mode mode;
    bool job = op->kind == MP_OP_ADD_JOB;
    *held = false;
    switch (op->kind) {
    case MP_OP_RECORD_TURN:
    case MP_OP_ADD_JOB:
    case MP_OP_SET_SUMMARY:
    case MP_OP_TRIM_MESSAGES:
        break;
    case MP_OP_UPSERT_ENTITY:
        if (mp_usermem_trust_given(op->u.entity.trust) || op->import_key != NULL)
            return MP_OK; /* a person's value, or their agent's */
        break;
    case MP_OP_SET_MESSAGE_KEYS:
    case MP_OP_PUT_VECTORS:
        break;
    default:
        return MP_OK;
    }
    unsigned char phys[MP_STORE_PHYS_USER_MAX];
    size_t n = mp_store_backend_phys_user(w->s, job ? op->u.job.user : op->user,
                                          job ? op->u.job.user_len : op->user_len, phys);
    int rc = mp_settings_read(w->txn, phys, n, &mode, NULL);
    if (rc != MP_OK || mode == MP_USER_MODE_AUTO)
        return rc;
    if (mode == MP_USER_MODE_OFF)
        *held = true;
    else /* read: nothing new is recorded; what was recorded is still worked on */
        *held = op->kind == MP_OP_RECORD_TURN || (job && inherits_seqs(op));
    return MP_OK;
}

/* ---- apply ---- */

static int apply_op(struct mp_ops_ctx *w, const struct mp_op *ops, struct mp_ops_out *outs,
                    size_t i)
{
    const struct mp_op *op = &ops[i];
    struct mp_ops_out *out = &outs[i];
    bool held;
    out->result = MP_OK;
    w->out = out;
    int rc = held_back(w, op, &held);
    if (rc != MP_OK || held) {
        out->result = MP_NOTFOUND;
        return rc;
    }
    switch (op->kind) {
    case MP_OP_RECORD_TURN:
        return mp_ops_record_turn(w, op, out);
    case MP_OP_ADD_JOB:
        return add_job(w, ops, outs, i);
    case MP_OP_DONE_JOB:
    case MP_OP_UPDATE_JOB:
        return job_by_id(w, op, out);
    case MP_OP_SET_SUMMARY:
    case MP_OP_TRIM_MESSAGES:
        return summarize(w, op, out);
    case MP_OP_UPSERT_ENTITY:
        return mp_ops_upsert(w, op, out);
    case MP_OP_DELETE_ENTITY:
        return mp_ops_delete_entity(w, op, out);
    case MP_OP_DELETE_USER:
        return delete_user(w, op, out);
    case MP_OP_SWEEP_USER:
        return sweep_user(w, op, out);
    case MP_OP_IMPORT_MESSAGE:
        return import_message(w, op, out);
    case MP_OP_SET_USER_MODE:
        return set_user_mode(w, op);
    case MP_OP_CLAIM_JOB:
        return claim_job(w, op, out);
    case MP_OP_SET_MESSAGE_KEYS:
        return set_message_keys(w, op, out);
    case MP_OP_DELETE_MESSAGE:
        return mp_ops_delete_message(w, op, out);
    case MP_OP_CHECK_EPOCH:
        return MP_OK; /* checked before every op: check_epochs() */
    case MP_OP_PUT_CONV:
        return mp_ops_put_conv(w, op, out);
    case MP_OP_NOTE_LEAD:
        return mp_ops_note_lead(w, op, out);
    case MP_OP_REVOKE_LINKS:
        return revoke_links(w, op);
    case MP_OP_PUT_VECTORS:
        return mp_ops_put_vectors(w, op, out);
    case MP_OP_DROP_VECTORS:
        return mp_ops_drop_vectors(w, op, out);
    case MP_OP_SPEND_TOKENS:
        return spend_tokens(w, ops, outs, i);
    case MP_OP_REFILE:
        return mp_ops_refile(w, op, out);
    }
    return MP_EINVAL;
}

/* The CHECK_EPOCH ops of the apply, before any op is applied (store.h):
 * *stopped is the index of the first whose user's memory epoch moved (or
 * whose user is gone), else nops. Loading a user writes nothing. */
static int check_epochs(struct mp_ops_ctx *w, const struct mp_op *ops, size_t nops, size_t *stopped)
{
    *stopped = nops;
    for (size_t i = 0; i < nops; i++) {
        if (ops[i].kind != MP_OP_CHECK_EPOCH)
            continue;
        int rc = mp_ops_load_user(w, ops[i].user, ops[i].user_len);
        if (rc != MP_OK)
            return rc;
        if (!w->exists || w->um->memory_epoch != ops[i].u.epoch) {
            *stopped = i;
            return MP_OK;
        }
    }
    return MP_OK;
}

/* An apply a CHECK_EPOCH stopped: nothing applied, so every op says so. */
static void stopped_outs(struct mp_ops_out *outs, size_t nops, size_t stopped)
{
    memset(outs, 0, nops * sizeof(*outs));
    for (size_t i = 0; i < nops; i++)
        outs[i].result = i == stopped ? MP_ECONFLICT : MP_NOTFOUND;
}

/* Tells the backend every user the apply names, up front: PostgreSQL
 * reads their snapshots in one round trip instead of one per user as the
 * ops reach them. */
static void hint_users(struct mp_store_txn *txn, const struct mp_op *ops, size_t nops)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    for (size_t i = 0; txn->store->be->hint_user != NULL && i < nops; i++) {
        if (ops[i].user == NULL || ops[i].user_len == 0 ||
            (i > 0 && ops[i - 1].user_len == ops[i].user_len && ops[i - 1].user != NULL &&
             memcmp(ops[i - 1].user, ops[i].user, ops[i].user_len) == 0))
            continue;
        size_t plen =
            mp_store_backend_user_prefix(txn->store, prefix, ops[i].user, ops[i].user_len);
        txn->store->be->hint_user(txn, prefix, plen);
    }
}

/* One try at the whole apply in one write transaction: MP_AGAIN when the
 * backend asks for another. */
static int attempt(struct mp_store *s, const struct mp_op *ops, size_t nops,
                   struct mp_ops_out *outs)
{
    struct mp_store_txn txn;
    struct mp_ops_ctx w = {.s = s, .txn = &txn};
    memset(outs, 0, nops * sizeof(*outs)); /* nothing left from an earlier try */
    size_t stopped = nops;
    int status = s->be->begin(s, true, &txn);
    if (status != MP_OK)
        return status;
    hint_users(&txn, ops, nops);
    status = check_epochs(&w, ops, nops, &stopped);
    for (size_t i = 0; status == MP_OK && stopped == nops && i < nops; i++)
        status = apply_op(&w, ops, outs, i);
    if (status == MP_OK && stopped == nops)
        status = mp_ops_flush_user(&w);
    mp_usermem_free(w.um);
    bool commit = status == MP_OK && stopped == nops;
    int end = s->be->end(&txn, commit);
    if (commit && end == MP_OK)
        atomic_fetch_add_explicit(&s->commits, 1, memory_order_relaxed);
    if (end == MP_OK && status == MP_OK && stopped < nops)
        stopped_outs(outs, nops, stopped);
    return end != MP_OK ? end : status;
}

static void write_back(struct mp_op *ops, const struct mp_ops_out *outs, size_t nops)
{
    for (size_t i = 0; i < nops; i++) {
        struct mp_op *op = &ops[i];
        op->result = outs[i].result;
        op->erased = outs[i].erased;
        if (op->kind == MP_OP_CLAIM_JOB && outs[i].result == MP_ECONFLICT)
            op->u.claim.until_ms = outs[i].until_ms;
        if (op->kind == MP_OP_UPSERT_ENTITY) {
            op->met_given = outs[i].met_given;
            op->kept = outs[i].kept;
        }
        if (op->kind == MP_OP_RECORD_TURN)
            op->u.turn.recognized = outs[i].recognized; /* a side request is no record */
        if (outs[i].result != MP_OK)
            continue;
        if (op->kind == MP_OP_RECORD_TURN || op->kind == MP_OP_IMPORT_MESSAGE) {
            op->u.turn.first_seq = outs[i].first_seq;
            op->u.turn.last_seq = outs[i].last_seq;
            op->u.turn.replaced = outs[i].replaced;
        } else if (op->kind == MP_OP_ADD_JOB) {
            op->u.job.id = outs[i].job_id;
            op->u.job.from_seq = outs[i].first_seq;
            op->u.job.through_seq = outs[i].last_seq;
        } else if (op->kind == MP_OP_UPSERT_ENTITY) {
            op->u.entity.revision = outs[i].revision;
            op->u.entity.recorded_at_ms = op->recorded_at_ms > 0 ? op->recorded_at_ms : op->now_ms;
        } else if (op->kind == MP_OP_SWEEP_USER) {
            op->u.sweep.counts = outs[i].swept;
        } else if (op->kind == MP_OP_PUT_CONV) {
            op->u.conv.rec->stamp = outs[i].stamp;
            op->u.conv.rec->written_ms = outs[i].written_ms;
            op->u.conv.evicted = outs[i].evicted;
        } else if (op->kind == MP_OP_PUT_VECTORS || op->kind == MP_OP_DROP_VECTORS) {
            op->u.vectors.count = outs[i].count;
        }
    }
}

/* The one input check that needs the whole list: an ADD_JOB that inherits
 * its seqs needs a RECORD_TURN of its user before it, or its imported
 * turn right before it. */
static bool job_ok(const struct mp_op *ops, size_t i)
{
    return !inherits_seqs(&ops[i]) || imported_turn_of_job(ops, i) < i || turn_of_job(ops, i) >= 0;
}

int mp_store_apply(struct mp_store *store, struct mp_op *ops, size_t nops)
{
    int status;
    if (nops == 0)
        return MP_OK;
    if (ops == NULL)
        return MP_EINVAL;
    for (size_t i = 0; i < nops; i++) {
        if (mp_store_check_op(&ops[i]) != MP_OK || !job_ok(ops, i)) {
            ops[i].result = MP_EINVAL;
            return MP_EINVAL;
        }
    }
    struct mp_ops_out *outs = calloc(nops, sizeof(*outs));
    if (outs == NULL)
        return MP_ENOMEM;
    do
        status = attempt(store, ops, nops, outs);
    while (status == MP_AGAIN);
    if (status == MP_OK)
        write_back(ops, outs, nops);
    free(outs);
    return status;
}
