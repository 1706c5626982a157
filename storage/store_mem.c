/* In-memory backend for tests: same contract as LMDB, nothing on disk.
 * Built to be obviously correct, not fast: plain arrays searched linearly,
 * and mp_store_apply() works on a deep copy of the whole state that
 * replaces the old one only when every op succeeded (all or nothing). */
#include "store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "status.h"

struct mem_idem {
    uint8_t key[MP_IDEM_KEY_LEN];
    int64_t at_ms;
};

struct mem_user {
    char id[MP_USER_KEY_MAX];
    size_t id_len;
    struct mp_usermem *um;        /* entities sorted by key */
    struct mp_history_item *hist; /* the change history, oldest first */
    size_t nhist;
    uint64_t next_hist; /* the seq of the next history entry */
    int64_t updated_at_ms;
    struct mem_idem *idem;
    size_t nidem;
};

struct mem_state {
    struct mem_user **users;
    size_t nusers;
    struct mp_job *jobs; /* ordered by id */
    size_t njobs;
    uint64_t next_job_id;
    uint32_t history_cap; /* the store's, for the apply in progress */
};

struct mem_store {
    struct mp_store base;
    pthread_mutex_t lock; /* guards st: readers and the writer alike */
    struct mem_state *st;
    unsigned char secret[MP_SEAL_KEY_LEN];
};

/* ---- deep copies ---- */

static void free_user(struct mem_user *u)
{
    if (u == NULL)
        return;
    mp_usermem_free(u->um);
    for (size_t i = 0; i < u->nhist; i++)
        free(u->hist[i].entity.value);
    free(u->hist);
    free(u->idem);
    free(u);
}

static void free_state(struct mem_state *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->nusers; i++)
        free_user(st->users[i]);
    free(st->users);
    free(st->jobs);
    free(st);
}

static void *dup_bytes(const void *p, size_t n)
{
    void *d = malloc(n > 0 ? n : 1);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

static struct mp_usermem *clone_um(const struct mp_usermem *src)
{
    struct mp_usermem *um = mp_usermem_new();
    if (um == NULL)
        return NULL;
    um->next_seq = src->next_seq;
    um->summary = src->summary;
    um->summary.text = NULL;
    um->messages = calloc(src->nmessages + 1, sizeof(*um->messages));
    um->entities = calloc(src->nentities + 1, sizeof(*um->entities));
    if (um->messages == NULL || um->entities == NULL)
        goto fail;
    if (src->summary.text != NULL) {
        um->summary.text = dup_bytes(src->summary.text, src->summary.text_len + 1);
        if (um->summary.text == NULL)
            goto fail;
    }
    for (; um->nmessages < src->nmessages; um->nmessages++) {
        const struct mp_mem_message *m = &src->messages[um->nmessages];
        um->messages[um->nmessages] = *m;
        um->messages[um->nmessages].content = dup_bytes(m->content, m->content_len + 1);
        if (um->messages[um->nmessages].content == NULL)
            goto fail;
    }
    for (; um->nentities < src->nentities; um->nentities++) {
        if (mp_store_entity_copy(&um->entities[um->nentities], &src->entities[um->nentities]) !=
            MP_OK)
            goto fail;
    }
    return um;
fail:
    mp_usermem_free(um);
    return NULL;
}

static struct mem_user *clone_user(const struct mem_user *src)
{
    struct mem_user *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    memcpy(u->id, src->id, src->id_len);
    u->id_len = src->id_len;
    u->next_hist = src->next_hist;
    u->updated_at_ms = src->updated_at_ms;
    u->um = clone_um(src->um);
    u->hist = calloc(src->nhist + 1, sizeof(*u->hist));
    u->idem = dup_bytes(src->idem, src->nidem * sizeof(*src->idem));
    if (u->um == NULL || u->hist == NULL || u->idem == NULL)
        goto fail;
    u->nidem = src->nidem;
    for (; u->nhist < src->nhist; u->nhist++) {
        u->hist[u->nhist] = src->hist[u->nhist];
        if (mp_store_entity_copy(&u->hist[u->nhist].entity, &src->hist[u->nhist].entity) != MP_OK)
            goto fail;
    }
    return u;
fail:
    free_user(u);
    return NULL;
}

static struct mem_state *clone_state(const struct mem_state *src)
{
    struct mem_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->next_job_id = src->next_job_id;
    st->users = calloc(src->nusers + 1, sizeof(*st->users));
    st->jobs = dup_bytes(src->jobs, src->njobs * sizeof(*src->jobs));
    if (st->users == NULL || st->jobs == NULL)
        goto fail;
    st->njobs = src->njobs;
    for (; st->nusers < src->nusers; st->nusers++) {
        st->users[st->nusers] = clone_user(src->users[st->nusers]);
        if (st->users[st->nusers] == NULL)
            goto fail;
    }
    return st;
fail:
    free_state(st);
    return NULL;
}

/* ---- lookups ---- */

static long find_user(const struct mem_state *st, const char *id, size_t len)
{
    for (size_t i = 0; i < st->nusers; i++) {
        const struct mem_user *u = st->users[i];
        if (u->id_len == len && memcmp(u->id, id, len) == 0)
            return (long)i;
    }
    return -1;
}

static struct mem_user *user_or_null(const struct mem_state *st, const char *id, size_t len)
{
    long i = find_user(st, id, len);
    return i >= 0 ? st->users[i] : NULL;
}

static struct mem_user *user_or_new(struct mem_state *st, const char *id, size_t len)
{
    struct mem_user *u = user_or_null(st, id, len);
    struct mem_user **users;
    if (u != NULL)
        return u;
    users = realloc(st->users, (st->nusers + 1) * sizeof(*users));
    if (users == NULL)
        return NULL;
    st->users = users;
    u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    u->um = mp_usermem_new();
    if (u->um == NULL) {
        free(u);
        return NULL;
    }
    u->um->next_seq = 1;
    u->next_hist = 1;
    memcpy(u->id, id, len);
    u->id_len = len;
    users[st->nusers++] = u;
    return u;
}

static long find_job(const struct mem_state *st, uint64_t id)
{
    for (size_t i = 0; i < st->njobs; i++) {
        if (st->jobs[i].id == id)
            return (long)i;
    }
    return -1;
}

/* ---- ops ---- */

static int record_turn(struct mem_state *st, const struct mp_op *op, struct mp_store_out *out)
{
    struct mem_user *u = user_or_new(st, op->user, op->user_len);
    struct mem_idem *idem;
    if (u == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < u->nidem; i++) {
        if (memcmp(u->idem[i].key, op->u.turn.idem_key, MP_IDEM_KEY_LEN) == 0) {
            out->result = MP_NOTFOUND;
            return MP_OK;
        }
    }
    idem = realloc(u->idem, (u->nidem + 1) * sizeof(*idem));
    if (idem == NULL)
        return MP_ENOMEM;
    u->idem = idem;
    memcpy(idem[u->nidem].key, op->u.turn.idem_key, MP_IDEM_KEY_LEN);
    idem[u->nidem++].at_ms = op->now_ms;
    u->updated_at_ms = op->now_ms;
    return mp_store_um_append(u->um, op, &out->first_seq, &out->last_seq);
}

static int add_job(struct mem_state *st, const struct mp_op *ops, struct mp_store_out *outs,
                   size_t i)
{
    struct mp_job job;
    struct mp_job *jobs;
    if (mp_store_job_resolve(ops, outs, i, &job) != MP_OK) {
        outs[i].result = MP_NOTFOUND; /* its turn was recorded before */
        return MP_OK;
    }
    jobs = realloc(st->jobs, (st->njobs + 1) * sizeof(*jobs));
    if (jobs == NULL)
        return MP_ENOMEM;
    st->jobs = jobs;
    job.id = st->next_job_id++;
    jobs[st->njobs++] = job;
    outs[i].job_id = job.id;
    outs[i].first_seq = job.from_seq;
    outs[i].last_seq = job.through_seq;
    return MP_OK;
}

static int job_by_id(struct mem_state *st, const struct mp_op *op, struct mp_store_out *out)
{
    uint64_t id = op->kind == MP_OP_DONE_JOB ? op->u.job_id : op->u.job.id;
    long i = find_job(st, id);
    if (i < 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (op->kind == MP_OP_UPDATE_JOB) {
        st->jobs[i] = op->u.job;
        return MP_OK;
    }
    memmove(st->jobs + i, st->jobs + i + 1, (st->njobs - (size_t)i - 1) * sizeof(*st->jobs));
    st->njobs--;
    return MP_OK;
}

/* Appends history entries (values copied), giving each the next seq. */
static int push_history(struct mem_user *u, struct mp_history_item *ev, size_t n)
{
    struct mp_history_item *h = realloc(u->hist, (u->nhist + n + 1) * sizeof(*h));
    if (h == NULL)
        return MP_ENOMEM;
    u->hist = h;
    for (size_t i = 0; i < n; i++) {
        h[u->nhist] = ev[i];
        h[u->nhist].seq = u->next_hist;
        if (mp_store_entity_copy(&h[u->nhist].entity, &ev[i].entity) != MP_OK)
            return MP_ENOMEM;
        u->nhist++;
        u->next_hist++;
    }
    return MP_OK;
}

/* [governance] history_per_fact: drops the oldest entries of the subject
 * of the entry just appended (the last) beyond cap. */
static void cap_history(struct mem_user *u, uint32_t cap)
{
    uint64_t drop[64];
    size_t n, keep = 0, k = 0;
    if (cap == 0 || u->nhist == 0)
        return;
    n = mp_lifecycle_hist_over_cap(u->hist, u->nhist, &u->hist[u->nhist - 1], cap, drop, 64);
    for (size_t i = 0; i < u->nhist; i++) {
        if (k < n && u->hist[i].seq == drop[k]) {
            free(u->hist[i].entity.value);
            k++;
            continue;
        }
        u->hist[keep++] = u->hist[i];
    }
    u->nhist = keep;
}

static int upsert(struct mem_state *st, const struct mp_op *op, struct mp_store_out *out)
{
    struct mem_user *u = user_or_new(st, op->user, op->user_len);
    struct mp_history_item ev[MP_LIFECYCLE_EVENTS_MAX];
    struct mp_mem_entity old;
    bool has_old, refreshed;
    int rc;
    if (u == NULL)
        return MP_ENOMEM;
    rc = mp_store_um_upsert(u->um, op, u->next_hist, &old, &has_old, &refreshed, &out->revision);
    if (rc == MP_NOTFOUND || rc == MP_ETOOBIG) {
        out->result = rc;
        return MP_OK;
    }
    if (rc != MP_OK)
        return rc;
    u->updated_at_ms = op->now_ms;
    if (refreshed)
        return MP_OK;
    long i = mp_store_um_find(u->um, op->u.entity.key);
    size_t n = mp_lifecycle_upsert_events(op, has_old ? &old : NULL, &u->um->entities[i], ev);
    rc = push_history(u, ev, n);
    if (rc == MP_OK && n > 0)
        cap_history(u, st->history_cap);
    if (has_old)
        free(old.value);
    return rc;
}

/* Erasure strips the key's past values from the history. */
static void strip_history(struct mem_user *u, const char *key)
{
    for (size_t i = 0; i < u->nhist; i++) {
        struct mp_mem_entity *e = &u->hist[i].entity;
        if (u->hist[i].item != MP_ITEM_FACT || strcmp(e->key, key) != 0)
            continue;
        e->value[0] = '\0';
        e->value_len = 0;
    }
}

static int delete_entity(struct mem_state *st, const struct mp_op *op, struct mp_store_out *out)
{
    struct mem_user *u = user_or_null(st, op->user, op->user_len);
    struct mp_history_item ev[MP_LIFECYCLE_EVENTS_MAX];
    size_t n = 0;
    int rc = u != NULL ? mp_lifecycle_erase_fact(u->um, op, ev, &n) : MP_NOTFOUND;
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != MP_OK)
        return rc; /* MP_ECONFLICT */
    u->updated_at_ms = op->now_ms;
    strip_history(u, op->u.key);
    return push_history(u, ev, n);
}

static void remove_user(struct mem_state *st, long i)
{
    free_user(st->users[i]);
    st->users[i] = st->users[--st->nusers];
}

static void sweep_lists(struct mem_user *u, const struct mp_op *op, struct mp_sweep_counts *c)
{
    size_t keep = 0;
    for (size_t i = 0; i < u->nhist; i++) {
        if (mp_lifecycle_hist_expired(&u->hist[i], op)) {
            free(u->hist[i].entity.value);
            c->history++;
            continue;
        }
        u->hist[keep++] = u->hist[i];
    }
    u->nhist = keep;
    keep = 0;
    for (size_t i = 0; i < u->nidem; i++) {
        int64_t age = op->u.sweep.retention.idem_max_age_ms;
        if (age > 0 && u->idem[i].at_ms < op->now_ms - age) {
            c->idem++;
            continue;
        }
        u->idem[keep++] = u->idem[i];
    }
    u->nidem = keep;
}

static int sweep_user(struct mem_state *st, const struct mp_op *op, struct mp_store_out *out)
{
    long i = find_user(st, op->user, op->user_len);
    if (i < 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    struct mem_user *u = st->users[i];
    struct mp_history_item *ev = calloc(u->um->nentities + 2, sizeof(*ev));
    if (ev == NULL)
        return MP_ENOMEM;
    sweep_lists(u, op, &out->swept);
    size_t n = mp_lifecycle_expire(u->um, op, ev, &out->swept);
    int rc = push_history(u, ev, n);
    free(ev);
    if (rc == MP_OK && mp_lifecycle_um_empty(u->um) && u->nhist == 0 && u->nidem == 0)
        remove_user(st, i);
    return rc;
}

static int summarize(struct mem_state *st, const struct mp_op *op, struct mp_store_out *out)
{
    struct mem_user *u = user_or_null(st, op->user, op->user_len);
    struct mp_history_item ev;
    if (u == NULL) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    int rc = mp_store_um_summarize(u->um, op);
    if (rc != MP_OK)
        return rc;
    u->updated_at_ms = op->now_ms; /* TRIM_MESSAGES too, as in the LMDB backend */
    if (op->kind != MP_OP_SET_SUMMARY)
        return MP_OK;
    mp_lifecycle_summary_event(op, u->um, &ev);
    rc = push_history(u, &ev, 1);
    if (rc == MP_OK)
        cap_history(u, st->history_cap);
    return rc;
}

static int delete_user(struct mem_state *st, const struct mp_op *op)
{
    long i = find_user(st, op->user, op->user_len);
    size_t keep = 0;
    if (i >= 0)
        remove_user(st, i);
    for (size_t j = 0; j < st->njobs; j++) {
        const struct mp_job *job = &st->jobs[j];
        if (job->user_len != op->user_len || memcmp(job->user, op->user, op->user_len) != 0)
            st->jobs[keep++] = *job;
    }
    st->njobs = keep;
    return MP_OK;
}

static int apply_op(struct mem_state *st, const struct mp_op *ops, struct mp_store_out *outs,
                    size_t i)
{
    const struct mp_op *op = &ops[i];
    struct mp_store_out *out = &outs[i];
    out->result = MP_OK;
    switch (op->kind) {
    case MP_OP_RECORD_TURN:
        return record_turn(st, op, out);
    case MP_OP_ADD_JOB:
        return add_job(st, ops, outs, i);
    case MP_OP_DONE_JOB:
    case MP_OP_UPDATE_JOB:
        return job_by_id(st, op, out);
    case MP_OP_SET_SUMMARY:
    case MP_OP_TRIM_MESSAGES:
        return summarize(st, op, out);
    case MP_OP_UPSERT_ENTITY:
        return upsert(st, op, out);
    case MP_OP_DELETE_ENTITY:
        return delete_entity(st, op, out);
    case MP_OP_DELETE_USER:
        return delete_user(st, op);
    case MP_OP_SWEEP_USER:
        return sweep_user(st, op, out);
    }
    return MP_EINVAL;
}

static int mem_apply(struct mp_store *store, struct mp_op *ops, size_t nops)
{
    struct mem_store *m = (struct mem_store *)store;
    struct mp_store_out *outs = calloc(nops, sizeof(*outs));
    struct mem_state *work = NULL;
    int rc = MP_ENOMEM;
    if (outs == NULL)
        return MP_ENOMEM;
    pthread_mutex_lock(&m->lock);
    work = clone_state(m->st);
    if (work != NULL)
        work->history_cap = store->history_cap;
    for (size_t i = 0; work != NULL && i < nops; i++) {
        rc = apply_op(work, ops, outs, i);
        if (rc != MP_OK)
            break;
    }
    if (work != NULL && rc == MP_OK) {
        free_state(m->st);
        m->st = work;
        work = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    free_state(work);
    if (rc == MP_OK)
        mp_store_write_back(ops, outs, nops);
    free(outs);
    return rc;
}

/* ---- reads ---- */

static int mem_get(struct mp_store *store, const char *user, size_t user_len,
                   struct mp_usermem **out)
{
    struct mem_store *m = (struct mem_store *)store;
    struct mp_usermem *um = NULL;
    int rc = MP_NOTFOUND;
    pthread_mutex_lock(&m->lock);
    struct mem_user *u = user_or_null(m->st, user, user_len);
    if (u != NULL) {
        um = clone_um(u->um);
        rc = um != NULL ? MP_OK : MP_ENOMEM;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == MP_OK)
        *out = um;
    return rc;
}

static int mem_jobs(struct mp_store *store, struct mp_job **out, size_t *n)
{
    struct mem_store *m = (struct mem_store *)store;
    struct mp_job *jobs = NULL;
    size_t njobs;
    pthread_mutex_lock(&m->lock);
    njobs = m->st->njobs;
    if (njobs > 0)
        jobs = dup_bytes(m->st->jobs, njobs * sizeof(*jobs));
    pthread_mutex_unlock(&m->lock);
    if (njobs > 0 && jobs == NULL)
        return MP_ENOMEM;
    *out = jobs;
    *n = njobs;
    return MP_OK;
}

static int copy_history(const struct mem_user *u, struct mp_history *h)
{
    h->items = calloc(u->nhist + 1, sizeof(*h->items));
    if (h->items == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < u->nhist; i++) {
        h->items[h->nitems] = u->hist[i];
        if (mp_store_entity_copy(&h->items[h->nitems].entity, &u->hist[i].entity) != MP_OK)
            return MP_ENOMEM;
        h->nitems++;
    }
    return MP_OK;
}

static int mem_history(struct mp_store *store, const char *user, size_t user_len,
                       struct mp_history **out)
{
    struct mem_store *m = (struct mem_store *)store;
    struct mp_history *h = calloc(1, sizeof(*h));
    int rc = MP_NOTFOUND;
    if (h == NULL)
        return MP_ENOMEM;
    pthread_mutex_lock(&m->lock);
    struct mem_user *u = user_or_null(m->st, user, user_len);
    if (u != NULL)
        rc = copy_history(u, h);
    pthread_mutex_unlock(&m->lock);
    if (rc != MP_OK) {
        mp_history_free(h);
        return rc;
    }
    *out = h;
    return MP_OK;
}

/* Byte order of user keys, shorter first on a common prefix (LMDB's order). */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Whether the user key id (or a cursor: the last listed key) belongs to
 * the listing of tenant. */
static bool in_tenant(const char *id, size_t len, const unsigned char *tenant)
{
    bool namespaced = len > 0 && (unsigned char)id[0] == MP_USER_KEY_TENANT;
    if (tenant == mp_store_all_tenants)
        return true;
    if (tenant == NULL)
        return !namespaced;
    return namespaced && len > MP_TENANT_LEN && memcmp(id + 1, tenant, MP_TENANT_LEN) == 0;
}

/* The first user of tenant after the cursor not yet taken (NULL: none):
 * a linear scan per user listed, fine for a test backend. */
static const struct mem_user *next_user(const struct mem_state *st, const unsigned char *tenant,
                                        const char *after, size_t after_len)
{
    const struct mem_user *best = NULL;
    for (size_t i = 0; i < st->nusers; i++) {
        const struct mem_user *u = st->users[i];
        if (!in_tenant(u->id, u->id_len, tenant) ||
            (after_len > 0 && key_cmp(u->id, u->id_len, after, after_len) <= 0))
            continue;
        if (best == NULL || key_cmp(u->id, u->id_len, best->id, best->id_len) < 0)
            best = u;
    }
    return best;
}

static void user_info(const struct mem_user *u, struct mp_user_info *info)
{
    memcpy(info->user, u->id, u->id_len);
    info->user_len = u->id_len;
    info->nfacts = u->um->nentities;
    info->nmessages = u->um->nmessages;
    info->summary = u->um->summary.text != NULL;
    info->updated_at_ms = u->updated_at_ms;
}

static int mem_users(struct mp_store *store, const unsigned char *tenant,
                     const unsigned char *after, size_t after_len, size_t limit,
                     struct mp_user_info **out, size_t *n, unsigned char *next, size_t *next_len)
{
    struct mem_store *m = (struct mem_store *)store;
    struct mp_user_info *list = calloc(limit, sizeof(*list));
    const char *cur = (const char *)after;
    size_t cur_len = after_len, got = 0;
    if (after_len > 0 && !in_tenant(cur, after_len, tenant)) {
        free(list);
        return MP_EINVAL; /* a cursor of another tenant's listing */
    }
    if (list == NULL)
        return MP_ENOMEM;
    pthread_mutex_lock(&m->lock);
    const struct mem_user *u = next_user(m->st, tenant, cur, cur_len);
    for (; u != NULL && got < limit; u = next_user(m->st, tenant, cur, cur_len)) {
        user_info(u, &list[got++]);
        cur = list[got - 1].user;
        cur_len = list[got - 1].user_len;
    }
    pthread_mutex_unlock(&m->lock);
    *next_len = 0;
    if (u != NULL) {
        memcpy(next, cur, cur_len);
        *next_len = cur_len;
    }
    if (got == 0) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = got;
    return MP_OK;
}

static int mem_secret(struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN])
{
    struct mem_store *m = (struct mem_store *)store;
    memcpy(out, m->secret, MP_SEAL_KEY_LEN);
    return MP_OK;
}

static int mem_compact(struct mp_store *store, char *err, size_t errcap)
{
    (void)store;
    (void)err;
    (void)errcap;
    return MP_OK;
}

static int mem_ping(struct mp_store *store)
{
    (void)store;
    return MP_OK;
}

static int mem_stats(struct mp_store *store, struct mp_store_stats *out)
{
    (void)store;
    memset(out, 0, sizeof(*out));
    return MP_OK;
}

static void mem_close(struct mp_store *store)
{
    struct mem_store *m = (struct mem_store *)store;
    free_state(m->st);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const struct mp_store_ops mem_ops = {
    .name = "mem",
    .ping = mem_ping,
    .get = mem_get,
    .apply = mem_apply,
    .jobs = mem_jobs,
    .history = mem_history,
    .users = mem_users,
    .secret = mem_secret,
    .compact = mem_compact,
    .close = mem_close,
    .stats = mem_stats,
};

int mp_store_open_mem(struct mp_store **out)
{
    struct mem_store *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return MP_ENOMEM;
    m->st = calloc(1, sizeof(*m->st));
    if (m->st == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m->st);
        free(m);
        return MP_ENOMEM;
    }
    m->st->next_job_id = 1;
    if (mp_seal_random(m->secret, sizeof(m->secret)) != MP_OK) {
        free(m->st);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return MP_EIO;
    }
    m->base.ops = &mem_ops;
    *out = &m->base;
    return MP_OK;
}
