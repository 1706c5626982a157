/* The store's reads (store.h: mp_store_get, mp_store_history,
 * mp_store_jobs, mp_store_job, mp_store_users) over the backend primitives: each begins
 * a read transaction, copies out (opening sealed values, decoding records)
 * and ends it inside one call; nothing here writes. */
#include "ops/store_read.h"

#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"
#include "ops/store_lease.h"

/* ---- records ---- */

/* The user record under physical key k: meta and/or memory (see
 * mp_codec_get_user()). MP_NOTFOUND when there is none. */
static int get_user(struct mp_store_txn *txn, const unsigned char *k, size_t klen,
                    const unsigned char *v, size_t vn, struct mp_codec_user *meta,
                    struct mp_usermem **out)
{
    struct mp_store_plain pv;
    int rc = v != NULL ? MP_OK : txn->store->be->get(txn, MP_TABLE_USERS, k, klen, &v, &vn);
    if (rc != MP_OK)
        return rc;
    struct mp_codec_user m;
    rc = mp_store_backend_open(txn->store, MP_TABLE_USERS, k, klen, v, vn, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_user(pv.p, pv.n, &m, out);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK && m.version < MP_CODEC_USER_VERSION_MIN) {
        rc = MP_EIO; /* a format-2 record in a converted store: damaged */
        if (out != NULL) {
            mp_usermem_free(*out);
            *out = NULL;
        }
    }
    if (rc == MP_OK && meta != NULL)
        *meta = m;
    return rc;
}

int mp_store_read_job(const struct mp_store *store, const unsigned char *key, size_t klen,
                      const unsigned char *v, size_t vn, struct mp_job *job)
{
    struct mp_store_plain pv;
    if (klen != 8)
        return MP_EIO;
    job->id = mp_codec_be_get(key, 8);
    int rc = mp_store_backend_open(store, MP_TABLE_JOBS, key, klen, v, vn, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_job(pv.p, pv.n, job);
    mp_store_backend_plain_done(&pv);
    return rc;
}

struct hist_scan {
    int64_t until_ms;
    struct mp_history *h;
    bool stopped;
};

static int push_item(struct mp_history *h, const struct mp_store_plain *v, uint64_t seq)
{
    struct mp_history_item *items = realloc(h->items, (h->nitems + 1) * sizeof(*items));
    if (items == NULL)
        return MP_ENOMEM;
    h->items = items;
    memset(&items[h->nitems], 0, sizeof(items[0]));
    int rc = mp_codec_get_history(v->p, v->n, &items[h->nitems]);
    if (rc == MP_OK)
        items[h->nitems++].seq = seq;
    return rc;
}

static int on_history(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct hist_scan *hs = arg;
    int rc = push_item(hs->h, pv, mp_codec_be_get(id, 8));
    if (rc != MP_OK)
        return rc;
    if (hs->h->items[hs->h->nitems - 1].at_ms >= hs->until_ms) {
        free(hs->h->items[--hs->h->nitems].entity.value); /* not wanted: only seen */
        hs->stopped = true;
        return MP_STORE_SCAN_STOP;
    }
    return MP_OK;
}

int mp_store_read_history_until(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                                int64_t until_ms, struct mp_history *h, bool *more)
{
    struct hist_scan hs = {until_ms, h, false};
    int rc =
        mp_store_backend_scan_plain(txn, MP_TABLE_HISTORY, prefix, plen, plen, 8, on_history, &hs);
    if (more != NULL)
        *more = hs.stopped;
    return rc;
}

void mp_history_free(struct mp_history *h)
{
    if (h == NULL)
        return;
    mp_store_read_history_clear(h);
    free(h);
}

void mp_store_read_history_clear(struct mp_history *h)
{
    for (size_t i = 0; i < h->nitems; i++)
        free(h->items[i].entity.value);
    free(h->items);
    h->items = NULL;
    h->nitems = 0;
}

/* ---- reads ---- */

struct fact_scan {
    struct mp_usermem *um;
    size_t cap;
};

static int on_fact(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct fact_scan *fs = arg;
    struct mp_usermem *um = fs->um;
    (void)id;
    if (mp_store_backend_grow(&um->entities, &fs->cap, um->nentities, sizeof(*um->entities)) !=
        MP_OK)
        return MP_ENOMEM;
    int rc = mp_codec_get_fact(pv->p, pv->n, &um->entities[um->nentities]);
    if (rc == MP_OK)
        um->nentities++;
    return rc;
}

static int cmp_entity_key(const void *a, const void *b)
{
    return strcmp(((const struct mp_mem_entity *)a)->key, ((const struct mp_mem_entity *)b)->key);
}

/* Appends the current facts under prefix[0..plen) (one user's) to um's
 * entities and sorts them by key. */
static int read_facts(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                      struct mp_usermem *um)
{
    struct fact_scan fs = {um, um->nentities};
    int rc = mp_store_backend_scan_plain(txn, MP_TABLE_FACTS, prefix, plen, plen, 4, on_fact, &fs);
    if (rc == MP_OK && um->nentities > 1)
        qsort(um->entities, um->nentities, sizeof(*um->entities), cmp_entity_key);
    return rc;
}

static int get_memory(struct mp_store *store, const char *user, size_t user_len, bool facts,
                      struct mp_usermem **out)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    struct mp_store_txn txn;
    struct mp_usermem *um = NULL;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
    int status = store->be->begin(store, false, &txn);
    if (status != MP_OK)
        return status;
    status = get_user(&txn, prefix + 2, plen - 2, NULL, 0, NULL, &um);
    if (status == MP_OK && facts)
        status = read_facts(&txn, prefix, plen, um);
    store->be->end(&txn, false);
    if (status != MP_OK) {
        mp_usermem_free(um);
        return status;
    }
    *out = um;
    return MP_OK;
}

int mp_store_get(struct mp_store *store, const char *user, size_t user_len, struct mp_usermem **out)
{
    return get_memory(store, user, user_len, true, out);
}

int mp_store_get_head(struct mp_store *store, const char *user, size_t user_len,
                      struct mp_usermem **out)
{
    return get_memory(store, user, user_len, false, out);
}

struct job_scan {
    struct mp_store *store;
    struct mp_store_txn *txn;
    struct mp_job *jobs;
    size_t n, cap;
};

static int on_job(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    struct job_scan *js = arg;
    if (mp_store_backend_grow(&js->jobs, &js->cap, js->n, sizeof(*js->jobs)) != MP_OK)
        return MP_ENOMEM;
    memset(&js->jobs[js->n], 0, sizeof(js->jobs[0]));
    struct mp_job *job = &js->jobs[js->n];
    int rc = mp_store_read_job(js->store, key, klen, val, vlen, job);
    if (rc == MP_OK)
        rc = mp_lease_read(js->txn, job->id, &job->lease_owner, &job->lease_until_ms);
    if (rc == MP_NOTFOUND)
        rc = MP_OK; /* no process holds it */
    if (rc == MP_OK)
        js->n++;
    return rc;
}

int mp_store_jobs(struct mp_store *store, struct mp_job **out, size_t *n)
{
    struct mp_store_txn txn;
    struct job_scan js = {store, &txn, NULL, 0, 0};
    int status = store->be->begin(store, false, &txn);
    if (status != MP_OK)
        return status;
    status = store->be->scan(&txn, MP_TABLE_JOBS, NULL, 0, 0, on_job, &js);
    store->be->end(&txn, false);
    if (status != MP_OK || js.n == 0) {
        free(js.jobs);
        js.jobs = NULL;
    }
    if (status == MP_OK) {
        *out = js.jobs;
        *n = js.n;
    }
    return status;
}

int mp_store_job(struct mp_store *store, uint64_t id, struct mp_job *out)
{
    unsigned char key[8];
    const unsigned char *v;
    size_t vn;
    struct mp_store_txn txn;
    struct mp_job job;
    memset(&job, 0, sizeof(job));
    mp_codec_be_put(key, id, 8);
    int status = store->be->begin(store, false, &txn);
    if (status != MP_OK)
        return status;
    status = store->be->get(&txn, MP_TABLE_JOBS, key, sizeof(key), &v, &vn);
    if (status == MP_OK)
        status = mp_store_read_job(store, key, sizeof(key), v, vn, &job);
    if (status == MP_OK) {
        status = mp_lease_read(&txn, id, &job.lease_owner, &job.lease_until_ms);
        status = status == MP_NOTFOUND ? MP_OK : status; /* no process holds it */
    }
    store->be->end(&txn, false);
    if (status == MP_OK)
        *out = job;
    return status;
}

int mp_store_history(struct mp_store *store, const char *user, size_t user_len,
                     struct mp_history **out)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    const unsigned char *v;
    size_t vn;
    struct mp_store_txn txn;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
    struct mp_history *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return MP_ENOMEM;
    int status = store->be->begin(store, false, &txn);
    if (status == MP_OK) {
        status = mp_store_read_history_until(&txn, prefix, plen, INT64_MAX, h, NULL);
        if (status == MP_OK && h->nitems == 0) /* no history: is the user there at all? */
            status = store->be->get(&txn, MP_TABLE_USERS, prefix + 2, plen - 2, &v, &vn);
        store->be->end(&txn, false);
    }
    if (status != MP_OK) {
        mp_history_free(h);
        return status;
    }
    *out = h;
    return MP_OK;
}

/* ---- listing ---- */

/* Where a tenant's users are: keys starting with prefix[0..*plen); a clear
 * store's users of no tenant are every key from "\x02" on (a user id is
 * printable; namespaced keys start with MP_USER_KEY_TENANT). */
static void tenant_range(const struct mp_store *s, const unsigned char *tenant,
                         unsigned char *prefix, size_t *plen, unsigned char *start, size_t *slen)
{
    *plen = 0;
    if (tenant == mp_store_all_tenants) {
        *slen = 0;
        return;
    }
    if (tenant != NULL) {
        prefix[0] = MP_USER_KEY_TENANT;
        memcpy(prefix + 1, tenant, MP_TENANT_LEN);
        *plen = 1 + MP_TENANT_LEN;
    } else if (s->sealed) {
        prefix[0] = 0;
        *plen = 1;
    }
    memcpy(start, prefix, *plen);
    *slen = *plen;
    if (*plen == 0) {
        start[0] = MP_USER_KEY_TENANT + 1;
        *slen = 1;
    }
}

/* A cursor of this listing: in the range and not before its start. (A
 * clear store's users of no tenant have no common prefix; a cursor of a
 * tenant's listing there would walk that tenant's users.) */
static bool cursor_ok(const unsigned char *after, size_t alen, const unsigned char *prefix,
                      size_t plen, const unsigned char *start, size_t slen)
{
    size_t n = alen < slen ? alen : slen;
    int c = memcmp(after, start, n);
    return alen >= plen && memcmp(after, prefix, plen) == 0 && (c > 0 || (c == 0 && alen >= slen));
}

/* A user's line of the listing from its record. */
static void user_info(struct mp_user_info *info, const struct mp_codec_user *meta,
                      const struct mp_usermem *um)
{
    memcpy(info->user, meta->user, meta->user_len);
    info->user_len = meta->user_len;
    info->nfacts = meta->nfacts;
    info->narchive = meta->narchive;
    info->nmessages = um->nmessages;
    info->summary = um->summary.text != NULL;
    info->updated_at_ms = meta->updated_at_ms;
}

struct user_scan {
    struct mp_store_txn *txn;
    const unsigned char *after;
    size_t after_len, limit, n;
    struct mp_user_info *list;
    bool more;
};

static int on_user(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                   size_t vlen)
{
    struct user_scan *us = arg;
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    if (us->after_len > 0 && klen == us->after_len && memcmp(key, us->after, klen) == 0)
        return MP_OK; /* the cursor itself: listed on the page before */
    if (us->n == us->limit) {
        us->more = true;
        return MP_STORE_SCAN_STOP;
    }
    int rc = get_user(us->txn, key, klen, val, vlen, &meta, &um);
    if (rc != MP_OK)
        return rc;
    struct mp_user_info *info = &us->list[us->n++];
    user_info(info, &meta, um);
    mp_usermem_free(um);
    return MP_OK;
}

int mp_store_user_info(struct mp_store *store, const char *user, size_t user_len,
                       struct mp_user_info *out)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    struct mp_store_txn txn;
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    if (mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
    int rc = store->be->begin(store, false, &txn);
    if (rc != MP_OK)
        return rc;
    rc = get_user(&txn, prefix + 2, plen - 2, NULL, 0, &meta, &um);
    store->be->end(&txn, false);
    if (rc == MP_OK)
        user_info(out, &meta, um);
    mp_usermem_free(um);
    return rc;
}

/* Fills us->list with up to us->limit users after the cursor. */
static int list_users(struct mp_store_txn *txn, const unsigned char *tenant, struct user_scan *us)
{
    unsigned char prefix[1 + MP_TENANT_LEN], start[1 + MP_TENANT_LEN];
    size_t plen, slen;
    tenant_range(txn->store, tenant, prefix, &plen, start, &slen);
    if (us->after_len == 0)
        return txn->store->be->scan(txn, MP_TABLE_USERS, start, slen, plen, on_user, us);
    if (!cursor_ok(us->after, us->after_len, prefix, plen, start, slen))
        return MP_EINVAL;
    return txn->store->be->scan(txn, MP_TABLE_USERS, us->after, us->after_len, plen, on_user, us);
}

const unsigned char mp_store_all_tenants[1];

int mp_store_users(struct mp_store *store, const unsigned char *tenant, const unsigned char *after,
                   size_t after_len, size_t limit, struct mp_user_info **out, size_t *n,
                   unsigned char *next, size_t *next_len)
{
    struct mp_store_txn txn;
    struct user_scan us = {&txn, after, after_len, limit, 0, NULL, false};
    if (limit == 0 || after_len > MP_STORE_CURSOR_MAX || (after_len > 0 && after == NULL))
        return MP_EINVAL;
    us.list = calloc(limit, sizeof(*us.list));
    if (us.list == NULL)
        return MP_ENOMEM;
    int status = store->be->begin(store, false, &txn);
    if (status == MP_OK) {
        status = list_users(&txn, tenant, &us);
        store->be->end(&txn, false);
    }
    if (status != MP_OK || us.n == 0) {
        free(us.list);
        us.list = NULL;
    }
    if (status != MP_OK)
        return status;
    *next_len = 0;
    if (us.more) /* the cursor is the last listed user's physical key */
        *next_len = mp_store_backend_phys_user(store, us.list[us.n - 1].user,
                                               us.list[us.n - 1].user_len, next);
    *out = us.list;
    *n = us.n;
    return MP_OK;
}

/* ---- side requests learned (store_whose.c) ---- */

struct side_scan {
    struct mp_store *store;
    mp_store_side_fn fn;
    void *arg;
};

/* A sides record: P | T(print), P = u16be length | physical user key,
 * whose first bytes tell the tenant in a clear store and a sealed one
 * alike (store_backend.h). */
static int on_side(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                   size_t vn)
{
    struct side_scan *ss = arg;
    struct mp_store_plain pv;
    if (klen < 3)
        return MP_OK;
    size_t plen = 2 + mp_codec_be_get(key, 2);
    const unsigned char *phys = key + 2;
    const unsigned char *tenant =
        plen > 2 + MP_TENANT_LEN && phys[0] == MP_USER_KEY_TENANT ? phys + 1 : NULL;
    if (plen > klen)
        return MP_OK;
    int rc = mp_store_backend_open(ss->store, MP_TABLE_SIDES, key, klen, v, vn, &pv);
    if (rc == MP_OK && pv.n >= 9)
        rc = ss->fn(ss->arg, tenant, mp_codec_le_get(pv.p, 8), pv.p[8]);
    mp_store_backend_plain_done(&pv);
    return rc;
}

int mp_store_sides(struct mp_store *store, mp_store_side_fn fn, void *arg)
{
    struct mp_store_txn txn;
    struct side_scan ss = {store, fn, arg};
    int status = store->be->begin(store, false, &txn);
    if (status != MP_OK)
        return status;
    status = store->be->scan(&txn, MP_TABLE_SIDES, NULL, 0, 0, on_side, &ss);
    store->be->end(&txn, false);
    return status;
}
