/* The in-memory backend: the primitives of store_backend.h over one sorted
 * array of records per table, nothing on disk. It exists for the storage
 * suites, which run every case on it and on LMDB: a second, independent
 * implementation of the primitives (and, next, the reference the
 * PostgreSQL backend's cases are compared against) keeps the op layer from
 * leaning on what only LMDB happens to do. It is strict where LMDB is
 * lenient: a write frees the value it replaces at once, so a value used
 * past the contract's lifetime shows under the sanitizers.
 *
 * Built to be obviously correct, not fast: binary search and memmove.
 * One mutex, held from begin to end by every transaction, read or write,
 * so a snapshot is trivially consistent. A write transaction logs a copy
 * of what each put or del replaced; an abort plays the log back, newest
 * first. */
#include "ops/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store_backend.h"

struct mem_rec {
    unsigned char *key, *val;
    size_t klen, vlen;
};

struct mem_table {
    struct mem_rec *recs; /* sorted by key */
    size_t n, cap;
};

/* What a write replaced: the record before (val NULL: there was none). */
struct mem_undo {
    enum mp_store_table t;
    struct mem_rec old;
};

struct mem_store {
    struct mp_store base;
    pthread_mutex_t lock; /* held by the transaction in progress */
    struct mem_table tables[MP_TABLE_COUNT];
    struct mem_undo *undo; /* the write transaction's log */
    size_t nundo, undo_cap;
};

static struct mem_store *mem_of(const struct mp_store_txn *txn)
{
    return (struct mem_store *)txn->store;
}

/* The index of the first record whose key is >= key; *found when equal. */
static size_t lower_bound(const struct mem_table *tb, const void *key, size_t klen, bool *found)
{
    size_t lo = 0, hi = tb->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mp_store_backend_key_cmp(tb->recs[mid].key, tb->recs[mid].klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found =
        lo < tb->n && mp_store_backend_key_cmp(tb->recs[lo].key, tb->recs[lo].klen, key, klen) == 0;
    return lo;
}

static void *dup_bytes(const void *p, size_t n)
{
    void *d = malloc(n > 0 ? n : 1);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

/* ---- writes, and their undo log ---- */

static void free_rec(struct mem_rec *r)
{
    free(r->key);
    free(r->val);
}

/* Room for one more record in tb and one more entry in the log. */
static int reserve(struct mem_store *m, struct mem_table *tb)
{
    int rc = mp_store_backend_grow(&tb->recs, &tb->cap, tb->n, sizeof(*tb->recs));
    return rc == MP_OK ? mp_store_backend_grow(&m->undo, &m->undo_cap, m->nundo, sizeof(*m->undo))
                       : rc;
}

static void insert_at(struct mem_table *tb, size_t i, struct mem_rec rec)
{
    memmove(tb->recs + i + 1, tb->recs + i, (tb->n - i) * sizeof(*tb->recs));
    tb->recs[i] = rec;
    tb->n++;
}

static void remove_at(struct mem_table *tb, size_t i)
{
    memmove(tb->recs + i, tb->recs + i + 1, (tb->n - i - 1) * sizeof(*tb->recs));
    tb->n--;
}

/* A put (val not NULL) or a del. The log gets a copy of what it replaces
 * (a new key: the key alone), and the replaced bytes are freed at once:
 * an op layer that used a value past the next write (the contract's
 * limit) would read freed memory, which the sanitizer build reports. */
static int write_rec(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                     const void *val, size_t vlen)
{
    struct mem_store *m = mem_of(txn);
    struct mem_table *tb = &m->tables[t];
    struct mem_rec rec = {NULL, NULL, klen, vlen}, undo = {NULL, NULL, klen, 0};
    bool found;
    size_t i = lower_bound(tb, key, klen, &found);
    if (!found && val == NULL)
        return MP_NOTFOUND;
    if (reserve(m, tb) != MP_OK)
        return MP_ENOMEM;
    if (val != NULL) {
        rec.key = dup_bytes(key, klen);
        rec.val = dup_bytes(val, vlen);
    }
    undo.key = dup_bytes(key, klen);
    if (found) {
        undo.vlen = tb->recs[i].vlen;
        undo.val = dup_bytes(tb->recs[i].val, undo.vlen);
    }
    if ((val != NULL && (rec.key == NULL || rec.val == NULL)) || undo.key == NULL ||
        (found && undo.val == NULL)) {
        free_rec(&rec);
        free_rec(&undo);
        return MP_ENOMEM;
    }
    if (found)
        free_rec(&tb->recs[i]);
    if (found && val == NULL)
        remove_at(tb, i);
    else if (found)
        tb->recs[i] = rec;
    else
        insert_at(tb, i, rec);
    m->undo[m->nundo++] = (struct mem_undo){t, undo};
    return MP_OK;
}

/* Plays the log back, newest first: the tables as they were at begin. */
static void roll_back(struct mem_store *m)
{
    while (m->nundo > 0) {
        struct mem_undo *u = &m->undo[--m->nundo];
        struct mem_table *tb = &m->tables[u->t];
        bool found;
        size_t i = lower_bound(tb, u->old.key, u->old.klen, &found);
        if (found)
            free_rec(&tb->recs[i]);
        if (u->old.val == NULL) { /* the key was new */
            if (found)
                remove_at(tb, i);
            free(u->old.key);
        } else if (found) {
            tb->recs[i] = u->old;
        } else {
            insert_at(tb, i, u->old); /* fits: it was there, and arrays never shrink */
        }
    }
}

static void forget_log(struct mem_store *m)
{
    for (size_t i = 0; i < m->nundo; i++)
        free_rec(&m->undo[i].old);
    m->nundo = 0;
}

/* ---- primitives ---- */

static int mem_begin(struct mp_store *store, bool write, struct mp_store_txn *txn)
{
    struct mem_store *m = (struct mem_store *)store;
    *txn = (struct mp_store_txn){.store = store, .write = write};
    pthread_mutex_lock(&m->lock);
    return MP_OK;
}

static int mem_end(struct mp_store_txn *txn, bool commit)
{
    struct mem_store *m = mem_of(txn);
    if (commit)
        forget_log(m);
    else
        roll_back(m);
    pthread_mutex_unlock(&m->lock);
    return MP_OK;
}

static int mem_get(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                   const unsigned char **val, size_t *vlen)
{
    const struct mem_table *tb = &mem_of(txn)->tables[t];
    bool found;
    size_t i = lower_bound(tb, key, klen, &found);
    if (!found)
        return MP_NOTFOUND;
    *val = tb->recs[i].val;
    *vlen = tb->recs[i].vlen;
    return MP_OK;
}

static int mem_put(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                   const void *val, size_t vlen)
{
    static const unsigned char empty[1];
    return write_rec(txn, t, key, klen, val != NULL ? val : empty, vlen);
}

static int mem_del(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen)
{
    return write_rec(txn, t, key, klen, NULL, 0);
}

static int mem_scan(struct mp_store_txn *txn, enum mp_store_table t, const void *start, size_t slen,
                    size_t plen, mp_store_scan_fn fn, void *arg)
{
    const struct mem_table *tb = &mem_of(txn)->tables[t];
    bool found;
    for (size_t i = lower_bound(tb, start, slen, &found); i < tb->n; i++) {
        const struct mem_rec *r = &tb->recs[i];
        if (r->klen < plen || (plen > 0 && memcmp(r->key, start, plen) != 0))
            break;
        int rc = fn(arg, r->key, r->klen, r->val, r->vlen);
        if (rc != MP_OK)
            return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
    }
    return MP_OK;
}

/* ---- the store ---- */

static int mem_stats(struct mp_store *store, struct mp_store_stats *out)
{
    memset(out, 0, sizeof(*out));
    return MP_OK;
}

static int mem_compact(struct mp_store *store, char *err, size_t errcap)
{
    return MP_OK; /* no file, no freed page */
}

static void mem_close(struct mp_store *store)
{
    struct mem_store *m = (struct mem_store *)store;
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        for (size_t i = 0; i < m->tables[t].n; i++)
            free_rec(&m->tables[t].recs[i]);
        free(m->tables[t].recs);
    }
    free(m->undo);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const struct mp_store_backend mem_backend = {
    .name = "mem",
    .begin = mem_begin,
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .scan = mem_scan,
    .end = mem_end,
    .stats = mem_stats,
    .compact = mem_compact,
    .close = mem_close,
};

int mp_store_open_mem(struct mp_store **out)
{
    char err[128];
    struct mem_store *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return MP_ENOMEM;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return MP_ENOMEM;
    }
    m->base.be = &mem_backend;
    if (mp_store_backend_attach(&m->base, false, "in-memory store", err, sizeof(err)) != MP_OK) {
        mem_close(&m->base);
        return MP_EIO; /* no random bytes for its secret */
    }
    *out = &m->base;
    return MP_OK;
}
