/* Dispatch from the mp_store_* interface to a backend's table, the input
 * checks every backend relies on, and the edits of one user's memory that
 * both backends share (so "newer supersedes, stale and weaker are ignored"
 * is written once). Nothing here persists anything. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

int mp_store_ping(struct mp_store *store)
{
    return store->ops->ping(store);
}

int mp_store_get(struct mp_store *store, const char *user, size_t user_len, struct mp_usermem **out)
{
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    return store->ops->get(store, user, user_len, out);
}

/* An EXTRACT job with no seqs takes them from its turn (store.h, ADD_JOB). */
static bool inherits_seqs(const struct mp_op *op)
{
    const struct mp_job *j = &op->u.job;
    return op->kind == MP_OP_ADD_JOB && j->kind == MP_JOB_EXTRACT && j->from_seq == 0 &&
           j->through_seq == 0;
}

/* The nearest RECORD_TURN before ops[i] for the job's user, or -1. */
static long turn_of_job(const struct mp_op *ops, size_t i)
{
    const struct mp_job *j = &ops[i].u.job;
    for (size_t k = i; k-- > 0;) {
        if (ops[k].kind == MP_OP_RECORD_TURN && ops[k].user_len == j->user_len &&
            memcmp(ops[k].user, j->user, j->user_len) == 0)
            return (long)k;
    }
    return -1;
}

int mp_store_apply(struct mp_store *store, struct mp_op *ops, size_t nops)
{
    if (nops == 0)
        return MP_OK;
    if (ops == NULL)
        return MP_EINVAL;
    for (size_t i = 0; i < nops; i++) {
        if (mp_store_check_op(&ops[i]) != MP_OK ||
            (inherits_seqs(&ops[i]) && turn_of_job(ops, i) < 0)) {
            ops[i].result = MP_EINVAL;
            return MP_EINVAL;
        }
    }
    return store->ops->apply(store, ops, nops);
}

int mp_store_jobs(struct mp_store *store, struct mp_job **out, size_t *n)
{
    return store->ops->jobs(store, out, n);
}

int mp_store_history(struct mp_store *store, const char *user, size_t user_len,
                     struct mp_history **out)
{
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    return store->ops->history(store, user, user_len, out);
}

const unsigned char mp_store_all_tenants[1];

int mp_store_users(struct mp_store *store, const unsigned char *tenant, const unsigned char *after,
                   size_t after_len, size_t limit, struct mp_user_info **out, size_t *n,
                   unsigned char *next, size_t *next_len)
{
    if (limit == 0 || after_len > MP_STORE_CURSOR_MAX || (after_len > 0 && after == NULL))
        return MP_EINVAL;
    return store->ops->users(store, tenant, after, after_len, limit, out, n, next, next_len);
}

int mp_store_secret(struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN])
{
    return store->ops->secret(store, out);
}

int mp_store_compact(struct mp_store *store, char *err, size_t errcap)
{
    return store->ops->compact(store, err, errcap);
}

void mp_history_free(struct mp_history *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nitems; i++)
        free(h->items[i].entity.value);
    free(h->items);
    free(h);
}

int mp_store_stats(struct mp_store *store, struct mp_store_stats *out)
{
    struct mp_store_stats st;
    memset(&st, 0, sizeof(st));
    int rc = store->ops->stats(store, &st);
    if (rc == MP_OK)
        *out = st;
    return rc;
}

void mp_store_set_history_cap(struct mp_store *store, uint32_t cap)
{
    store->history_cap = cap;
}

const char *mp_store_backend(const struct mp_store *store)
{
    return store->ops->name;
}

void mp_store_free(struct mp_store *store)
{
    if (store == NULL)
        return;
    store->ops->close(store);
}

/* ---- input checks ---- */

int mp_store_check_user(const char *user, size_t user_len)
{
    if (user == NULL || user_len < 1 || user_len > MP_USER_KEY_MAX)
        return MP_EINVAL;
    if ((unsigned char)user[0] == MP_USER_KEY_TENANT && user_len < 1 + MP_TENANT_LEN + 1)
        return MP_EINVAL;
    return MP_OK;
}

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Keys must arrive normalized: a store that normalized them itself would
 * hide a caller that forgot to, and then DELETE of "Vector DB" and GET of
 * "vector_db" would disagree about what exists. */
static bool key_ok(const char *key)
{
    char norm[MP_ENTITY_KEY_MAX + 1];
    size_t n = strnlen(key, MP_ENTITY_KEY_MAX + 1);
    if (n == 0 || n > MP_ENTITY_KEY_MAX)
        return false;
    return mp_usermem_normalize_key(key, n, norm) == MP_OK && strcmp(norm, key) == 0;
}

static bool turn_ok(const struct mp_op *op)
{
    if (op->u.turn.nmessages == 0 || op->u.turn.messages == NULL)
        return false;
    for (size_t i = 0; i < op->u.turn.nmessages; i++) {
        const struct mp_mem_message *m = &op->u.turn.messages[i];
        if ((unsigned)m->role > MP_ROLE_ASSISTANT || m->content_len > MP_MESSAGE_CONTENT_MAX)
            return false;
        if ((m->content == NULL && m->content_len > 0) ||
            !terminated(m->request_id, sizeof(m->request_id)))
            return false;
    }
    return true;
}

static bool entity_ok(const struct mp_mem_entity *e)
{
    if (!key_ok(e->key) || e->value == NULL || e->value_len == 0 ||
        e->value_len > MP_ENTITY_VALUE_MAX)
        return false;
    if (!(e->confidence >= 0.0 && e->confidence <= 1.0)) /* NaN fails too */
        return false;
    if ((unsigned)e->trust > MP_TRUST_ADMIN || (unsigned)e->source_role > MP_ROLE_ASSISTANT)
        return false;
    return terminated(e->request_id, sizeof(e->request_id)) &&
           terminated(e->model, sizeof(e->model));
}

static bool job_ok(const struct mp_job *j)
{
    return (unsigned)j->kind <= MP_JOB_EXTRACT && j->user_len >= 1 &&
           j->user_len <= MP_USER_KEY_MAX;
}

int mp_store_check_op(const struct mp_op *op)
{
    bool ok;
    switch (op->kind) {
    case MP_OP_ADD_JOB:
    case MP_OP_UPDATE_JOB:
        return job_ok(&op->u.job) ? MP_OK : MP_EINVAL;
    case MP_OP_DONE_JOB:
        return MP_OK;
    case MP_OP_RECORD_TURN:
        ok = turn_ok(op);
        break;
    case MP_OP_SET_SUMMARY:
        ok = op->u.summary.text_len <= MP_STORE_SUMMARY_MAX &&
             (op->u.summary.text != NULL || op->u.summary.text_len == 0) &&
             (op->u.summary.model == NULL ||
              strnlen(op->u.summary.model, MP_MODEL_NAME_MAX + 1) <= MP_MODEL_NAME_MAX);
        break;
    case MP_OP_TRIM_MESSAGES:
    case MP_OP_DELETE_USER:
        ok = true;
        break;
    case MP_OP_UPSERT_ENTITY:
        ok = entity_ok(&op->u.entity);
        break;
    case MP_OP_DELETE_ENTITY:
        ok = key_ok(op->u.key) && (op->actor == MP_ACTOR_USER || op->actor == MP_ACTOR_ADMIN);
        break;
    case MP_OP_SWEEP_USER:
        ok = op->u.sweep.retention.max_age_ms >= 0 && op->u.sweep.retention.pii_max_age_ms >= 0 &&
             op->u.sweep.retention.idem_max_age_ms >= 0;
        break;
    default:
        return MP_EINVAL;
    }
    return ok ? mp_store_check_user(op->user, op->user_len) : MP_EINVAL;
}

/* ---- edits of one user's memory, shared by the backends ---- */

static char *dup_text(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int mp_store_entity_copy(struct mp_mem_entity *dst, const struct mp_mem_entity *src)
{
    char *v = dup_text(src->value, src->value_len);
    if (v == NULL)
        return MP_ENOMEM;
    *dst = *src;
    dst->value = v;
    return MP_OK;
}

long mp_store_um_find(const struct mp_usermem *um, const char *key)
{
    for (size_t i = 0; i < um->nentities; i++) {
        if (strcmp(um->entities[i].key, key) == 0)
            return (long)i;
    }
    return -1;
}

int mp_store_um_append(struct mp_usermem *um, const struct mp_op *op, uint64_t *first_seq,
                       uint64_t *last_seq)
{
    size_t n = op->u.turn.nmessages;
    struct mp_mem_message *msgs = realloc(um->messages, (um->nmessages + n) * sizeof(*msgs));
    if (msgs == NULL)
        return MP_ENOMEM;
    um->messages = msgs;
    for (size_t i = 0; i < n; i++) {
        const struct mp_mem_message *in = &op->u.turn.messages[i];
        struct mp_mem_message *m = &msgs[um->nmessages + i];
        *m = *in;
        m->content = dup_text(in->content, in->content_len);
        if (m->content == NULL) {
            while (i-- > 0)
                free(msgs[um->nmessages + i].content);
            return MP_ENOMEM;
        }
        m->seq = um->next_seq + i;
        m->recorded_at_ms = op->now_ms;
    }
    *first_seq = um->next_seq;
    *last_seq = um->next_seq + n - 1;
    um->nmessages += n;
    um->next_seq += n;
    return MP_OK;
}

/* The summary's provenance: its model, and the newest turn it folds in
 * (the last buffered message at or before through_seq, when there is one). */
static void summary_provenance(struct mp_usermem *um, const struct mp_op *op)
{
    struct mp_mem_summary *s = &um->summary;
    snprintf(s->model, sizeof(s->model), "%s",
             op->u.summary.model != NULL ? op->u.summary.model : "");
    s->pii = op->u.summary.pii;
    for (size_t i = um->nmessages; i-- > 0;) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->seq <= op->u.summary.through_seq) {
            memcpy(s->request_id, m->request_id, sizeof(s->request_id));
            s->observed_at_ms = m->at_ms;
            return;
        }
    }
}

int mp_store_um_summarize(struct mp_usermem *um, const struct mp_op *op)
{
    size_t drop = 0;
    if (op->kind == MP_OP_SET_SUMMARY) {
        char *text = NULL;
        if (op->u.summary.text_len > 0) {
            text = dup_text(op->u.summary.text, op->u.summary.text_len);
            if (text == NULL)
                return MP_ENOMEM;
        }
        free(um->summary.text);
        um->summary.text = text;
        um->summary.text_len = op->u.summary.text_len;
        um->summary.updated_at_ms = op->now_ms;
        um->summary.covers_through_seq = op->u.summary.through_seq;
        summary_provenance(um, op);
    }
    while (drop < um->nmessages && um->messages[drop].seq <= op->u.summary.through_seq)
        free(um->messages[drop++].content);
    memmove(um->messages, um->messages + drop, (um->nmessages - drop) * sizeof(*um->messages));
    um->nmessages -= drop;
    return MP_OK;
}

/* The new value goes where the sorted order wants it. */
static int insert_entity(struct mp_usermem *um, const struct mp_mem_entity *e)
{
    size_t at = 0;
    struct mp_mem_entity *v = realloc(um->entities, (um->nentities + 1) * sizeof(*v));
    if (v == NULL)
        return MP_ENOMEM;
    um->entities = v;
    while (at < um->nentities && strcmp(v[at].key, e->key) < 0)
        at++;
    memmove(v + at + 1, v + at, (um->nentities - at) * sizeof(*v));
    v[at] = *e;
    um->nentities++;
    return MP_OK;
}

static bool outranked(const struct mp_mem_entity *cur, const struct mp_mem_entity *in)
{
    if (in->trust != cur->trust)
        return in->trust < cur->trust;
    return in->observed_at_ms < cur->observed_at_ms;
}

int mp_store_um_upsert(struct mp_usermem *um, const struct mp_op *op, uint64_t next_hist,
                       struct mp_mem_entity *old, bool *has_old, bool *refreshed, uint32_t *rev)
{
    const struct mp_mem_entity *in = &op->u.entity;
    struct mp_mem_entity fresh;
    long i = mp_store_um_find(um, in->key);
    struct mp_mem_entity *cur = i >= 0 ? &um->entities[i] : NULL;

    *has_old = false;
    *refreshed = false;
    if (op->if_match && (cur != NULL ? cur->revision : 0) != op->if_revision)
        return MP_ECONFLICT;
    if (cur != NULL && outranked(cur, in))
        return MP_NOTFOUND;
    if (cur == NULL && um->nentities >= MP_STORE_FACTS_MAX)
        return MP_ETOOBIG;
    if (cur != NULL && cur->value_len == in->value_len &&
        memcmp(cur->value, in->value, in->value_len) == 0) {
        /* Seen again: a refresh, not a change, so the history stays quiet. */
        fresh = *in;
        fresh.value = cur->value;
        fresh.revision = cur->revision;
        fresh.recorded_at_ms = op->now_ms;
        if (cur->observed_at_ms > fresh.observed_at_ms)
            fresh.observed_at_ms = cur->observed_at_ms;
        *cur = fresh;
        *rev = fresh.revision;
        *refreshed = true;
        return MP_OK;
    }
    if (mp_store_entity_copy(&fresh, in) != MP_OK)
        return MP_ENOMEM;
    fresh.recorded_at_ms = op->now_ms;
    /* the seq of the history entry that logs the new value */
    fresh.revision = (uint32_t)(next_hist + (cur != NULL ? 1 : 0));
    *rev = fresh.revision;
    if (cur != NULL) {
        *old = *cur;
        *has_old = true;
        *cur = fresh;
        return MP_OK;
    }
    if (insert_entity(um, &fresh) != MP_OK) {
        free(fresh.value);
        return MP_ENOMEM;
    }
    return MP_OK;
}

int mp_store_job_resolve(const struct mp_op *ops, const struct mp_store_out *outs, size_t i,
                         struct mp_job *job)
{
    long t = inherits_seqs(&ops[i]) ? turn_of_job(ops, i) : -1;
    *job = ops[i].u.job;
    if (t < 0)
        return MP_OK;
    if (outs[t].result != MP_OK)
        return MP_NOTFOUND;
    job->from_seq = outs[t].first_seq;
    job->through_seq = outs[t].last_seq;
    return MP_OK;
}

void mp_store_write_back(struct mp_op *ops, const struct mp_store_out *outs, size_t nops)
{
    for (size_t i = 0; i < nops; i++) {
        struct mp_op *op = &ops[i];
        op->result = outs[i].result;
        if (outs[i].result != MP_OK)
            continue;
        if (op->kind == MP_OP_RECORD_TURN) {
            op->u.turn.first_seq = outs[i].first_seq;
            op->u.turn.last_seq = outs[i].last_seq;
        } else if (op->kind == MP_OP_ADD_JOB) {
            op->u.job.id = outs[i].job_id;
            op->u.job.from_seq = outs[i].first_seq;
            op->u.job.through_seq = outs[i].last_seq;
        } else if (op->kind == MP_OP_UPSERT_ENTITY) {
            op->u.entity.revision = outs[i].revision;
            op->u.entity.recorded_at_ms = op->now_ms;
        } else if (op->kind == MP_OP_SWEEP_USER) {
            op->u.sweep.counts = outs[i].swept;
        }
    }
}
