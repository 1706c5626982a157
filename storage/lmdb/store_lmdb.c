/* The LMDB backend: the primitives of store_backend.h over one LMDB
 * environment (with store_lmdb_rewrite.c, opening and rewriting it: the
 * only files that include <lmdb.h>). It knows tables, keys and bytes, not
 * users or facts: the ops are store_ops.c's, the records store_backend.h's.
 * It never hands out a pointer into the map past a transaction's end.
 *
 * One environment (data.mdb and lock.mdb in opts->path, beside
 * memproxy.lock, the one-opener lock), one named DB per table, of the
 * table's name. Keys are ordered by LMDB's default memcmp order, which is
 * the order the primitives promise.
 *
 * Threads and map growth
 * ----------------------
 * MDB_NOTLS: a read transaction is not tied to a thread's slot, so any
 * number of threads read; the op layer begins, copies out and ends each
 * read inside one function. Write transactions take write_lock (one at a
 * time; LMDB would serialize them anyway). When a write hits MDB_MAP_FULL
 * the transaction can only end: end() aborts it, doubles the map (up to
 * map_size_max) and answers MP_AGAIN, and the op layer runs the whole
 * apply again; past the cap it answers MP_ETOOBIG, having written nothing.
 * mdb_env_set_mapsize() needs no transaction active in the process, so
 * every transaction (read or write) holds resize_lock shared and the
 * grower takes it exclusive; the lock prefers the grower so a stream of
 * readers cannot starve it. Compaction swaps the environment under the
 * same exclusive lock.
 *
 * Spare read transactions
 * -----------------------
 * A read ends reset (mdb_txn_reset) into one of the store's spare slots
 * rather than aborted, and a later read renews it (mdb_txn_renew): a begin
 * allocates the transaction and, under MDB_NOTLS, claims a reader slot
 * each time; a renew keeps both and takes the newest snapshot, as a begin
 * does. A reset transaction holds no snapshot: it keeps no page from
 * reuse. Slots are taken and filled by atomic exchange while resize_lock
 * is held shared (as during every transaction); mp_lmdb_drop_spares()
 * aborts them with it held exclusive, before the map is resized or the
 * environment closed. */
#include "ops/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status.h"
#include "lmdb/store_lmdb_private.h"

MDB_val mp_lmdb_val(const void *p, size_t n)
{
    MDB_val v = {.mv_size = n, .mv_data = (void *)p};
    return v;
}

static struct lmdb_store *lmdb_of(const struct mp_store_txn *txn)
{
    return (struct lmdb_store *)txn->store;
}

/* An LMDB result as a status; an error is kept in txn->state, the one
 * that stopped the transaction (MDB_MAP_FULL: grow at the end). */
static int status_of(struct mp_store_txn *txn, int rc)
{
    if (rc == 0)
        return MP_OK;
    if (rc == MDB_NOTFOUND)
        return MP_NOTFOUND;
    txn->state = rc;
    /* full: the map at its cap, or the disk (a commit's write fails) */
    return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || rc == ENOSPC || rc == EDQUOT ? MP_ETOOBIG
                                                                                    : MP_EIO;
}

/* ---- transactions ---- */

/* Another process grew the map: adopt its size (no transaction may be
 * active in this process meanwhile). */
static void adopt_map_size(struct lmdb_store *s)
{
    pthread_rwlock_wrlock(&s->resize_lock);
    mp_lmdb_drop_spares(s);
    if (s->env != NULL)
        mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->resize_lock);
}

/* ---- spare read transactions ---- */

void mp_lmdb_drop_spares(struct lmdb_store *s)
{
    for (size_t i = 0; i < MP_LMDB_SPARE_READS; i++) {
        MDB_txn *t = atomic_exchange(&s->spare[i], NULL);
        if (t != NULL)
            mdb_txn_abort(t);
    }
}

/* A read transaction renewed from a spare slot, or NULL (none renews). */
static MDB_txn *renew_spare(struct lmdb_store *s)
{
    for (size_t i = 0; i < MP_LMDB_SPARE_READS; i++) {
        MDB_txn *t = atomic_load_explicit(&s->spare[i], memory_order_relaxed);
        if (t == NULL || (t = atomic_exchange(&s->spare[i], NULL)) == NULL)
            continue;
        if (mdb_txn_renew(t) == 0)
            return t;
        mdb_txn_abort(t);
    }
    return NULL;
}

/* Ends read transaction t: reset into an empty slot, else aborted. */
static void end_read(struct lmdb_store *s, MDB_txn *t)
{
    mdb_txn_reset(t);
    for (size_t i = 0; i < MP_LMDB_SPARE_READS; i++) {
        MDB_txn *none = NULL;
        if (atomic_compare_exchange_strong(&s->spare[i], &none, t))
            return;
    }
    mdb_txn_abort(t);
}

/* mdb_txn_begin(), or for a read a spare renewed. */
static int begin_txn(struct lmdb_store *s, bool write, MDB_txn **t)
{
    if (s->env == NULL)
        return EIO;
    if (!write && (*t = renew_spare(s)) != NULL)
        return 0;
    return mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, t);
}

static int lmdb_begin(struct mp_store *store, bool write, struct mp_store_txn *txn)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *t;
    *txn = (struct mp_store_txn){.store = store, .write = write};
    if (write)
        pthread_mutex_lock(&s->write_lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_rwlock_rdlock(&s->resize_lock);
        int rc = begin_txn(s, write, &t);
        if (rc == 0) {
            txn->handle = t;
            return MP_OK;
        }
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            break;
        adopt_map_size(s);
    }
    if (write)
        pthread_mutex_unlock(&s->write_lock);
    return MP_EIO;
}

/* Doubles the map, up to the cap. The caller holds write_lock, so no write
 * transaction is open; the exclusive resize_lock waits out the readers. */
static int grow(struct lmdb_store *s)
{
    MDB_envinfo info;
    uint64_t next;
    int rc;
    if (mdb_env_info(s->env, &info) != 0)
        return MP_EIO;
    if ((uint64_t)info.me_mapsize >= s->map_size_max)
        return MP_ETOOBIG;
    next = (uint64_t)info.me_mapsize * 2;
    if (next > s->map_size_max)
        next = s->map_size_max;
    pthread_rwlock_wrlock(&s->resize_lock);
    mp_lmdb_drop_spares(s);
    rc = mdb_env_set_mapsize(s->env, (size_t)next);
    pthread_rwlock_unlock(&s->resize_lock);
    return rc == 0 ? MP_OK : MP_EIO;
}

static int lmdb_end(struct mp_store_txn *txn, bool commit)
{
    struct lmdb_store *s = lmdb_of(txn);
    int status = MP_OK;
    for (int t = 0; t < MP_TABLE_COUNT; t++) /* a read's cursors are closed by hand */
        if (txn->cursor[t] != NULL)
            mdb_cursor_close(txn->cursor[t]);
    if (commit && txn->write && txn->state == 0)
        status = status_of(txn, mdb_txn_commit(txn->handle));
    else if (!txn->write)
        end_read(s, txn->handle);
    else
        mdb_txn_abort(txn->handle);
    txn->handle = NULL;
    pthread_rwlock_unlock(&s->resize_lock);
    if (!txn->write)
        return MP_OK;
    if (txn->state == MDB_MAP_FULL) {
        status = grow(s);
        status = status == MP_OK ? MP_AGAIN : status;
    }
    pthread_mutex_unlock(&s->write_lock);
    return status;
}

/* ---- records ---- */

uint64_t mp_lmdb_env_serial(void)
{
    static _Atomic uint64_t last;
    return atomic_fetch_add(&last, 1) + 1;
}

static bool lmdb_version(const struct mp_store_txn *txn, struct mp_store_version *out)
{
    *out = (struct mp_store_version){lmdb_of(txn)->env_serial, mdb_txn_id(txn->handle)};
    return true;
}

static int lmdb_get(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                    const unsigned char **val, size_t *vlen)
{
    MDB_val k = mp_lmdb_val(key, klen), v;
    int rc = status_of(txn, mdb_get(txn->handle, lmdb_of(txn)->dbi[t], &k, &v));
    if (rc == MP_OK) {
        *val = v.mv_data;
        *vlen = v.mv_size;
    }
    return rc;
}

/* A write puts through the table's cursor, kept to the transaction's end:
 * positioned at the last key it wrote, it finds a key on the same page
 * (the next posting of an item, the next record of the user) without a
 * search from the root. LMDB keeps a write transaction's cursors right
 * across the other puts and deletes. */
static int lmdb_put(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    MDB_val k = mp_lmdb_val(key, klen), v = mp_lmdb_val(val, vlen);
    MDB_cursor *c = txn->cursor[t];
    if (c == NULL) {
        int rc = mdb_cursor_open(txn->handle, lmdb_of(txn)->dbi[t], &c);
        if (rc != 0)
            return status_of(txn, rc);
        txn->cursor[t] = c;
    }
    return status_of(txn, mdb_cursor_put(c, &k, &v, 0));
}

static int lmdb_del(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen)
{
    MDB_val k = mp_lmdb_val(key, klen);
    return status_of(txn, mdb_del(txn->handle, lmdb_of(txn)->dbi[t], &k, NULL));
}

_Static_assert(MP_TABLE_COUNT <= 32, "a bit of cursor_busy per table");

static int lmdb_scan(struct mp_store_txn *txn, enum mp_store_table t, const void *start,
                     size_t slen, size_t plen, mp_store_scan_fn fn, void *arg)
{
    MDB_cursor *c = NULL;
    MDB_val k = mp_lmdb_val(start, slen), v;
    int status = MP_OK;
    uint32_t bit = 1u << t;
    bool keep = !txn->write && !(txn->cursor_busy & bit);
    int rc = 0;
    if (keep && txn->cursor[t] != NULL)
        c = txn->cursor[t];
    else
        rc = mdb_cursor_open(txn->handle, lmdb_of(txn)->dbi[t], &c);
    if (rc != 0)
        return status_of(txn, rc);
    if (keep) {
        txn->cursor[t] = c;
        txn->cursor_busy |= bit;
    }
    rc = mdb_cursor_get(c, &k, &v, slen > 0 ? MDB_SET_RANGE : MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || (plen > 0 && memcmp(k.mv_data, start, plen) != 0))
            break;
        status = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        if (status != MP_OK)
            break;
    }
    if (keep)
        txn->cursor_busy &= ~bit;
    else
        mdb_cursor_close(c);
    if (status == MP_STORE_SCAN_STOP)
        return MP_OK;
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = status_of(txn, rc);
    return status;
}

/* ---- the store ---- */

/* mdb_reader_list() calls back once for a header line ("pid thread
 * txnid") and once per slot held ("%d %x %u", its txnid "-" when it reads
 * nothing: a spare), or once with "(no active readers)". Counts the slots
 * that read: the lines that end in a txnid's digit. */
static int count_reader(const char *msg, void *ctx)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    if (n > 0 && msg[n - 1] >= '0' && msg[n - 1] <= '9')
        (*(uint32_t *)ctx)++;
    return 0;
}

static int lmdb_stats(struct mp_store *store, struct mp_store_stats *out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_envinfo info;
    MDB_stat st;
    uint32_t lines = 0;
    int rc = EIO;
    pthread_rwlock_rdlock(&s->resize_lock);
    if (s->env != NULL)
        rc = mdb_env_info(s->env, &info);
    if (rc == 0)
        rc = mdb_env_stat(s->env, &st);
    if (rc == 0 && mdb_reader_list(s->env, count_reader, &lines) < 0)
        rc = EIO;
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc != 0)
        return MP_EIO;
    out->map_size = info.me_mapsize;
    out->map_size_max = s->map_size_max;
    out->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    out->readers_used = lines;
    out->readers_max = info.me_maxreaders;
    return MP_OK;
}

const struct mp_store_backend mp_lmdb_backend = {
    .name = "lmdb",
    .begin = lmdb_begin,
    .get = lmdb_get,
    .version = lmdb_version,
    .put = lmdb_put,
    .del = lmdb_del,
    .scan = lmdb_scan,
    .end = lmdb_end,
    .stats = lmdb_stats,
    .compact = mp_lmdb_compact,
    .close = mp_lmdb_close,
};

/* One process per store: an exclusive flock on path/memproxy.lock, held
 * until the store is closed (the kernel drops it if the process dies). A
 * second memproxy on the same directory, or --rotate-key beside a running
 * one, would swap data.mdb out from under the other's open map, or remove
 * its rewrite in progress as a leftover. */
static int lock_dir(struct lmdb_store *s, char *err, size_t errcap)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/memproxy.lock", s->path) >= (int)sizeof(path)) {
        snprintf(err, errcap, "cannot lock %s: path too long", s->path);
        return MP_EIO;
    }
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return MP_EIO;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(s->lock_fd);
        s->lock_fd = -1;
        if (e == EWOULDBLOCK)
            snprintf(err, errcap, "storage at %s is in use by another memproxy process", s->path);
        else
            snprintf(err, errcap, "cannot lock %s: %s", path, strerror(e));
        return MP_EIO;
    }
    return MP_OK;
}

int mp_store_open_lmdb(const struct mp_store_options *opts, struct mp_store **out, char *err,
                       size_t errcap)
{
    uint64_t size;
    struct lmdb_store *s = mp_lmdb_new_store(opts->path, opts->sync, opts->key);
    if (s == NULL) {
        snprintf(err, errcap, "cannot open %s: out of memory or path too long", opts->path);
        return MP_ENOMEM;
    }
    mp_lmdb_map_sizes(opts, &size, &s->map_size_max);
    if (mkdir(opts->path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "cannot create %s: %s", opts->path, strerror(errno));
        mp_lmdb_close(&s->base);
        return MP_EIO;
    }
    if (lock_dir(s, err, errcap) != MP_OK) {
        mp_lmdb_close(&s->base);
        return MP_EIO;
    }
    mp_lmdb_remove_leftovers(opts->path); /* an interrupted rewrite; the store is intact */
    if (mp_lmdb_open_store(s, opts->path, size, false, err, errcap) != MP_OK) {
        mp_lmdb_close(&s->base);
        return MP_EIO;
    }
    *out = &s->base;
    return MP_OK;
}
