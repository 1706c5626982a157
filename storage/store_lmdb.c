/* LMDB backend, its records and writes (with store_lmdb_read.c, the reads,
 * and store_lmdb_rewrite.c, opening and rewriting the environment: the only
 * files that include <lmdb.h>). It persists what store.h describes; the
 * rules (precedence, erasure, retention) are in store.c and lifecycle.c, the
 * record encodings in codec.c. It never hands out a pointer into the map.
 *
 * On-disk layout, format version 2
 * ---------------------------------
 * One environment (data.mdb and lock.mdb in opts->path, beside memproxy.lock,
 * the one-opener lock), five named DBs:
 *
 *   meta     "format"   -> u32 format version. Checked at open: another
 *                          version refuses to open (MP_EIO, the reason in
 *                          err); a missing one marks a new store.
 *            "next_job" -> u64 the id the next job gets (ids start at 1)
 *            "secret"   -> 32 random bytes made with the store (sealed
 *                          when the store has a key)
 *            "key_id"   -> u32 id of the key the store is sealed with;
 *                          absent in a store kept in clear
 *   users    user key -> user record (codec.c)
 *   history  u16be plen | user key | u64be seq -> history record
 *   jobs     u64be id -> job record
 *   idem     u16be plen | user key | idem key (32 bytes) -> i64 recorded_at_ms
 *
 * "user key" above is the physical key: the caller's user key in a clear
 * store; in a sealed store a tag byte (0: no tenant, MP_USER_KEY_TENANT:
 * the tenant follows), the tenant's MP_TENANT_LEN bytes when there is one,
 * then HMAC-SHA256(index key, the caller's whole user key). The index key
 * is derived from the store's secret, so it survives key rotation, and
 * one tenant's users stay one contiguous range either way. The caller's
 * user key is also inside the (sealed) user record, which is how a
 * listing gets the ids back.
 *
 * Numbers in keys are big-endian so that LMDB's memcmp order is numeric
 * order: jobs come out by id, a user's history oldest first. The user is
 * length-prefixed in every composite key, so one user's history and idem
 * keys are one contiguous range and no user's range holds another's.
 *
 * Sealing: with a key, every value but meta's "format", "next_job" and
 * "key_id" is AES-256-GCM sealed (seal.c: fresh nonce, key id in the
 * record), with the DB's name and the record's key as associated data, so a
 * sealed value moved to another key or DB fails to open.
 *
 * Why one record per user: a request needs all of it at once (one lookup,
 * one copy, one decode); the history only grows and is rarely read, so it
 * lives apart and keeps the hot record small.
 *
 * Threads and map growth
 * ----------------------
 * MDB_NOTLS: a read transaction is not tied to a thread's slot, so any
 * number of threads read; each read begins, copies out and aborts inside one
 * function. Writes take write_lock (one at a time; LMDB would serialize them
 * anyway). When a write hits MDB_MAP_FULL the transaction is aborted, the
 * map doubled (up to map_size_max) and the whole apply retried; past the cap
 * it returns MP_ETOOBIG having written nothing. mdb_env_set_mapsize() needs
 * no transaction active in the process, so every transaction (read or
 * write) holds resize_lock shared and the grower takes it exclusive; the
 * lock prefers the grower so a stream of readers cannot starve it.
 * Compaction swaps the environment under the same exclusive lock. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "lifecycle.h"
#include "status.h"
#include "store_lmdb_private.h"

#define IDEM_KEY_LEN_MAX (MP_LMDB_USER_PREFIX_MAX + MP_IDEM_KEY_LEN)

MDB_val mp_lmdb_val(const void *p, size_t n)
{
    MDB_val v = {.mv_size = n, .mv_data = (void *)p};
    return v;
}

/* ---- keys ---- */

/* The physical key of a user (see the layout above); out has room for
 * MP_LMDB_PHYS_USER_MAX bytes. */
size_t mp_lmdb_phys_user(const struct lmdb_store *s, const char *user, size_t len,
                         unsigned char *out)
{
    size_t n = 0;
    if (!s->sealed) {
        memcpy(out, user, len);
        return len;
    }
    if ((unsigned char)user[0] == MP_USER_KEY_TENANT) {
        out[n++] = MP_USER_KEY_TENANT;
        memcpy(out + n, user + 1, MP_TENANT_LEN);
        n += MP_TENANT_LEN;
    } else {
        out[n++] = 0;
    }
    mp_seal_hmac(s->index_key, user, len, out + n);
    return n + 32;
}

/* u16be length | physical user key: the start of the user's composite keys. */
size_t mp_lmdb_user_prefix(const struct lmdb_store *s, unsigned char *k, const char *user,
                           size_t len)
{
    size_t n = mp_lmdb_phys_user(s, user, len, k + 2);
    mp_codec_be_put(k, n, 2);
    return 2 + n;
}

/* ---- values: sealed with the DB and key as associated data ---- */

static const char *dbi_name(const struct lmdb_store *s, MDB_dbi dbi)
{
    if (dbi == s->users)
        return "users";
    if (dbi == s->history)
        return "history";
    if (dbi == s->jobs)
        return "jobs";
    return dbi == s->idem ? "idem" : "meta";
}

static size_t aad_of(const struct lmdb_store *s, MDB_dbi dbi, const MDB_val *k, unsigned char *aad)
{
    const char *name = dbi_name(s, dbi);
    size_t n = strlen(name) + 1; /* with its NUL: "users" + key never equals "user" + "s..." */
    memcpy(aad, name, n);
    memcpy(aad + n, k->mv_data, k->mv_size);
    return n + k->mv_size;
}

/* Puts plain[0..n) under k, sealed when the store has a key. Returns 0 or
 * an LMDB error; MP_EIO (negative, outside LMDB's range) when sealing
 * fails. */
int mp_lmdb_put_val(const struct lmdb_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_val *k,
                    const void *plain, size_t n)
{
    unsigned char aad[16 + 512];
    MDB_val v = mp_lmdb_val(NULL, n + (s->sealed ? MP_SEAL_OVERHEAD : 0));
    int rc = mdb_put(txn, dbi, k, &v, MDB_RESERVE);
    if (rc != 0)
        return rc;
    if (!s->sealed) {
        if (n > 0)
            memcpy(v.mv_data, plain, n);
        return 0;
    }
    size_t alen = aad_of(s, dbi, k, aad);
    return mp_seal_encrypt(&s->key, aad, alen, plain, n, v.mv_data) == MP_OK ? 0 : MP_EIO;
}

int mp_lmdb_open_val(const struct lmdb_store *s, MDB_dbi dbi, const MDB_val *k, const MDB_val *v,
                     struct mp_lmdb_plain *out)
{
    unsigned char aad[16 + 512];
    out->owned = NULL;
    if (!s->sealed) {
        out->p = v->mv_data;
        out->n = v->mv_size;
        return MP_OK;
    }
    if (v->mv_size < MP_SEAL_OVERHEAD)
        return MP_EIO;
    out->n = v->mv_size - MP_SEAL_OVERHEAD;
    out->owned = malloc(out->n + 1);
    if (out->owned == NULL)
        return MP_ENOMEM;
    size_t alen = aad_of(s, dbi, k, aad);
    if (mp_seal_decrypt(&s->key, aad, alen, v->mv_data, v->mv_size, out->owned) != MP_OK) {
        free(out->owned);
        out->owned = NULL;
        return MP_EIO; /* tampered, or sealed under another key */
    }
    out->p = out->owned;
    return MP_OK;
}

void mp_lmdb_plain_done(struct mp_lmdb_plain *v)
{
    free(v->owned);
    v->owned = NULL;
}

/* ---- transactions ---- */

/* Another process grew the map: adopt its size (no transaction may be
 * active in this process meanwhile). */
static void adopt_map_size(struct lmdb_store *s)
{
    pthread_rwlock_wrlock(&s->resize_lock);
    if (s->env != NULL)
        mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->resize_lock);
}

/* Begins a read transaction holding resize_lock shared; end with mp_lmdb_read_end(). */
int mp_lmdb_read_begin(struct lmdb_store *s, MDB_txn **txn)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_rwlock_rdlock(&s->resize_lock);
        int rc = s->env != NULL ? mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn) : EIO;
        if (rc == 0)
            return MP_OK;
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            return MP_EIO;
        adopt_map_size(s);
    }
    return MP_EIO;
}

void mp_lmdb_read_end(struct lmdb_store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize_lock);
}

/* One apply's write transaction, with the one user record it has loaded:
 * ops on the same user (the usual case) decode and encode it once. */
struct wctx {
    struct lmdb_store *s;
    MDB_txn *txn;
    int mdb_rc; /* the LMDB error that stopped the transaction */
    struct mp_usermem *um;
    struct mp_codec_user meta; /* the loaded user's key, times, next_hist */
    unsigned char phys[MP_LMDB_PHYS_USER_MAX];
    size_t phys_len;
    bool exists, dirty;
};

static int lmdb_fail(struct wctx *w, int rc)
{
    if (rc == MP_EIO || rc == MP_ENOMEM)
        return rc;
    w->mdb_rc = rc;
    /* full: the map at its cap, or the disk (a commit's write fails) */
    return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || rc == ENOSPC || rc == EDQUOT ? MP_ETOOBIG
                                                                                    : MP_EIO;
}

static int put_plain(struct wctx *w, MDB_dbi dbi, MDB_val *k, const void *plain, size_t n)
{
    int rc = mp_lmdb_put_val(w->s, w->txn, dbi, k, plain, n);
    return rc == 0 ? MP_OK : lmdb_fail(w, rc);
}

static int flush_user(struct wctx *w)
{
    MDB_val k = mp_lmdb_val(w->phys, w->phys_len);
    if (w->um == NULL || !w->dirty)
        return MP_OK;
    size_t n = mp_codec_put_user(NULL, &w->meta, w->um);
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_user(buf, &w->meta, w->um);
    int rc = put_plain(w, w->s->users, &k, buf, n);
    free(buf);
    if (rc == MP_OK)
        w->dirty = false;
    return rc;
}

static void drop_user(struct wctx *w)
{
    mp_usermem_free(w->um);
    w->um = NULL;
    w->dirty = false;
}

static bool is_loaded(const struct wctx *w, const char *user, size_t len)
{
    return w->um != NULL && w->meta.user_len == len && memcmp(w->meta.user, user, len) == 0;
}

static int load_user(struct wctx *w, const char *user, size_t len)
{
    struct mp_lmdb_plain pv;
    MDB_val k, v;
    if (is_loaded(w, user, len))
        return MP_OK;
    int rc = flush_user(w);
    if (rc != MP_OK)
        return rc;
    drop_user(w);
    w->phys_len = mp_lmdb_phys_user(w->s, user, len, w->phys);
    k = mp_lmdb_val(w->phys, w->phys_len);
    rc = mdb_get(w->txn, w->s->users, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_fail(w, rc);
    w->exists = rc == 0;
    memset(&w->meta, 0, sizeof(w->meta));
    if (w->exists) {
        rc = mp_lmdb_open_val(w->s, w->s->users, &k, &v, &pv);
        if (rc == MP_OK)
            rc = mp_codec_get_user(pv.p, pv.n, &w->meta, &w->um);
        mp_lmdb_plain_done(&pv);
        if (rc != MP_OK)
            return rc;
    } else {
        w->um = mp_usermem_new();
        if (w->um == NULL)
            return MP_ENOMEM;
        w->um->next_seq = 1;
        w->meta.next_hist = 1;
    }
    memcpy(w->meta.user, user, len);
    w->meta.user_len = len;
    return MP_OK;
}

static void touch(struct wctx *w, int64_t now_ms)
{
    w->exists = true;
    w->dirty = true;
    w->meta.updated_at_ms = now_ms;
}

static size_t loaded_prefix(const struct wctx *w, unsigned char *k)
{
    mp_codec_be_put(k, w->phys_len, 2);
    memcpy(k + 2, w->phys, w->phys_len);
    return 2 + w->phys_len;
}

/* ---- history ---- */

static int hist_key(unsigned char *k, const unsigned char *prefix, size_t plen, uint64_t seq)
{
    memcpy(k, prefix, plen);
    mp_codec_be_put(k + plen, seq, 8);
    return (int)(plen + 8);
}

static int put_hist(struct wctx *w, const struct mp_history_item *h)
{
    unsigned char kb[MP_LMDB_HIST_KEY_MAX], prefix[MP_LMDB_USER_PREFIX_MAX];
    size_t plen = loaded_prefix(w, prefix);
    MDB_val k = mp_lmdb_val(kb, (size_t)hist_key(kb, prefix, plen, h->seq));
    size_t n = mp_codec_put_history(NULL, h);
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_history(buf, h);
    int rc = put_plain(w, w->s->history, &k, buf, n);
    free(buf);
    return rc;
}

/* Appends entries to the loaded user's history, each with the next seq. */
static int append_hist(struct wctx *w, struct mp_history_item *ev, size_t n)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        ev[i].seq = w->meta.next_hist++;
        rc = put_hist(w, &ev[i]);
    }
    if (n > 0)
        w->dirty = true; /* next_hist moved: the user record is written back */
    return rc;
}

static int push_item(struct mp_history *h, const struct mp_lmdb_plain *v, uint64_t seq)
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

/* The history entries under prefix (a user's), oldest first, into h,
 * stopping before the first one whose time is at or after until_ms
 * (INT64_MAX: all); *more (may be NULL) tells whether one is left there. */
int mp_lmdb_load_history_until(const struct lmdb_store *s, MDB_txn *txn,
                               const unsigned char *prefix, size_t plen, int64_t until_ms,
                               struct mp_history *h, bool *more)
{
    MDB_cursor *c;
    MDB_val k = mp_lmdb_val(prefix, plen), v;
    struct mp_lmdb_plain pv;
    int status = MP_OK;
    bool stopped = false;
    if (mdb_cursor_open(txn, s->history, &c) != 0)
        return MP_EIO;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; status == MP_OK && rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        status = mp_lmdb_open_val(s, s->history, &k, &v, &pv);
        if (status == MP_OK)
            status = push_item(h, &pv, mp_codec_be_get((const unsigned char *)k.mv_data + plen, 8));
        mp_lmdb_plain_done(&pv);
        if (status == MP_OK && h->items[h->nitems - 1].at_ms >= until_ms) {
            free(h->items[--h->nitems].entity.value); /* not wanted: only seen */
            stopped = true;
            break;
        }
    }
    mdb_cursor_close(c);
    if (status == MP_OK && !stopped && rc != 0 && rc != MDB_NOTFOUND)
        status = MP_EIO;
    if (more != NULL)
        *more = stopped;
    return status;
}

int mp_lmdb_load_history(const struct lmdb_store *s, MDB_txn *txn, const unsigned char *prefix,
                         size_t plen, struct mp_history *h)
{
    return mp_lmdb_load_history_until(s, txn, prefix, plen, INT64_MAX, h, NULL);
}

static void history_clear(struct mp_history *h)
{
    for (size_t i = 0; i < h->nitems; i++)
        free(h->items[i].entity.value);
    free(h->items);
    h->items = NULL;
    h->nitems = 0;
}

/* [governance] history_per_fact: drops the oldest entries of added's
 * subject beyond the store's cap (added was just appended). */
static int cap_history(struct wctx *w, const struct mp_history_item *added)
{
    uint32_t cap = w->s->base.history_cap;
    unsigned char prefix[MP_LMDB_USER_PREFIX_MAX], kb[MP_LMDB_HIST_KEY_MAX];
    struct mp_history h = {NULL, 0};
    if (cap == 0)
        return MP_OK;
    size_t plen = loaded_prefix(w, prefix);
    int rc = mp_lmdb_load_history(w->s, w->txn, prefix, plen, &h);
    uint64_t *seqs = rc == MP_OK && h.nitems > cap ? malloc(h.nitems * sizeof(*seqs)) : NULL;
    size_t n = seqs != NULL
                   ? mp_lifecycle_hist_over_cap(h.items, h.nitems, added, cap, seqs, h.nitems)
                   : 0;
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        MDB_val k = mp_lmdb_val(kb, (size_t)hist_key(kb, prefix, plen, seqs[i]));
        int mrc = mdb_del(w->txn, w->s->history, &k, NULL);
        rc = mrc == 0 ? MP_OK : lmdb_fail(w, mrc);
    }
    if (rc == MP_OK && h.nitems > cap && seqs == NULL)
        rc = MP_ENOMEM;
    free(seqs);
    history_clear(&h);
    return rc;
}

/* Erasure: the key's past values leave the history (entries stay). */
static int strip_history(struct wctx *w, const char *key)
{
    unsigned char prefix[MP_LMDB_USER_PREFIX_MAX];
    struct mp_history h = {NULL, 0};
    size_t plen = loaded_prefix(w, prefix);
    int rc = mp_lmdb_load_history(w->s, w->txn, prefix, plen, &h);
    for (size_t i = 0; rc == MP_OK && i < h.nitems; i++) {
        struct mp_history_item *it = &h.items[i];
        if (it->item != MP_ITEM_FACT || it->entity.value_len == 0 || strcmp(it->entity.key, key))
            continue;
        it->entity.value[0] = '\0';
        it->entity.value_len = 0;
        rc = put_hist(w, it);
    }
    history_clear(&h);
    return rc;
}

/* ---- ops ---- */

static int record_turn(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    unsigned char kb[IDEM_KEY_LEN_MAX];
    unsigned char at[8];
    MDB_val k, v;
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    size_t n = loaded_prefix(w, kb);
    memcpy(kb + n, op->u.turn.idem_key, MP_IDEM_KEY_LEN);
    k = mp_lmdb_val(kb, n + MP_IDEM_KEY_LEN);
    rc = mdb_get(w->txn, w->s->idem, &k, &v);
    if (rc == 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != MDB_NOTFOUND)
        return lmdb_fail(w, rc);
    mp_codec_le_put(at, (uint64_t)op->now_ms, 8);
    rc = put_plain(w, w->s->idem, &k, at, sizeof(at));
    if (rc == MP_OK)
        rc = mp_store_um_append(w->um, op, &out->first_seq, &out->last_seq);
    if (rc == MP_OK)
        touch(w, op->now_ms);
    return rc;
}

static int put_job(struct wctx *w, const struct mp_job *job, uint64_t id)
{
    unsigned char kb[8], buf[64 + MP_USER_KEY_MAX];
    MDB_val k;
    mp_codec_be_put(kb, id, 8);
    k = mp_lmdb_val(kb, sizeof(kb));
    size_t n = mp_codec_put_job(buf, job);
    return put_plain(w, w->s->jobs, &k, buf, n);
}

static int add_job(struct wctx *w, const struct mp_op *ops, struct mp_store_out *outs, size_t i)
{
    MDB_val k = mp_lmdb_val("next_job", 8), v;
    unsigned char nb[8];
    uint64_t id = 1;
    struct mp_job job;
    int rc;
    if (mp_store_job_resolve(ops, outs, i, &job) != MP_OK) {
        outs[i].result = MP_NOTFOUND; /* its turn was recorded before */
        return MP_OK;
    }
    rc = mdb_get(w->txn, w->s->meta, &k, &v);
    if (rc == 0 && v.mv_size != 8)
        return MP_EIO;
    if (rc == 0)
        id = mp_codec_le_get(v.mv_data, 8);
    else if (rc != MDB_NOTFOUND)
        return lmdb_fail(w, rc);
    rc = put_job(w, &job, id);
    if (rc != MP_OK)
        return rc;
    mp_codec_le_put(nb, id + 1, 8);
    v = mp_lmdb_val(nb, sizeof(nb));
    rc = mdb_put(w->txn, w->s->meta, &k, &v, 0);
    if (rc != 0)
        return lmdb_fail(w, rc);
    outs[i].job_id = id;
    outs[i].first_seq = job.from_seq;
    outs[i].last_seq = job.through_seq;
    return MP_OK;
}

static int job_by_id(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    uint64_t id = op->kind == MP_OP_DONE_JOB ? op->u.job_id : op->u.job.id;
    unsigned char kb[8];
    MDB_val k, v;
    int rc;
    mp_codec_be_put(kb, id, 8);
    k = mp_lmdb_val(kb, sizeof(kb));
    if (op->kind == MP_OP_DONE_JOB)
        rc = mdb_del(w->txn, w->s->jobs, &k, NULL);
    else
        rc = mdb_get(w->txn, w->s->jobs, &k, &v);
    if (rc == MDB_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != 0)
        return lmdb_fail(w, rc);
    return op->kind == MP_OP_UPDATE_JOB ? put_job(w, &op->u.job, id) : MP_OK;
}

static int upsert(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    struct mp_history_item ev[MP_LIFECYCLE_EVENTS_MAX];
    struct mp_mem_entity old;
    bool has_old = false, refreshed = false;
    int rc = load_user(w, op->user, op->user_len);
    if (rc == MP_OK)
        rc = mp_store_um_upsert(w->um, op, w->meta.next_hist, &old, &has_old, &refreshed,
                                &out->revision);
    if (rc == MP_NOTFOUND || rc == MP_ETOOBIG) {
        out->result = rc;
        return MP_OK;
    }
    if (rc != MP_OK)
        return rc;
    touch(w, op->now_ms);
    if (!refreshed) {
        long i = mp_store_um_find(w->um, op->u.entity.key);
        size_t n = mp_lifecycle_upsert_events(op, has_old ? &old : NULL, &w->um->entities[i], ev);
        rc = append_hist(w, ev, n);
        if (rc == MP_OK && n > 0)
            rc = cap_history(w, &ev[n - 1]);
    }
    if (has_old)
        free(old.value);
    return rc;
}

static int delete_entity(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    struct mp_history_item ev[MP_LIFECYCLE_EVENTS_MAX];
    size_t n = 0;
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    rc = w->exists ? mp_lifecycle_erase_fact(w->um, op, ev, &n) : MP_NOTFOUND;
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != MP_OK)
        return rc; /* MP_ECONFLICT */
    touch(w, op->now_ms);
    rc = strip_history(w, op->u.key);
    return rc == MP_OK ? append_hist(w, ev, n) : rc;
}

static int summarize(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    struct mp_history_item ev;
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (!w->exists) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    rc = mp_store_um_summarize(w->um, op);
    if (rc != MP_OK)
        return rc;
    touch(w, op->now_ms);
    if (op->kind != MP_OP_SET_SUMMARY)
        return MP_OK;
    mp_lifecycle_summary_event(op, w->um, &ev);
    rc = append_hist(w, &ev, 1);
    return rc == MP_OK ? cap_history(w, &ev) : rc;
}

/* Deletes every key that starts with prefix. */
static int del_range(struct wctx *w, MDB_dbi dbi, const unsigned char *prefix, size_t plen)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(w->txn, dbi, &c);
    if (rc != 0)
        return lmdb_fail(w, rc);
    for (;;) {
        k = mp_lmdb_val(prefix, plen);
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? MP_OK : lmdb_fail(w, rc);
}

int mp_lmdb_read_job(const struct lmdb_store *s, const MDB_val *k, const MDB_val *v,
                     struct mp_job *job)
{
    struct mp_lmdb_plain pv;
    if (k->mv_size != 8)
        return MP_EIO;
    job->id = mp_codec_be_get(k->mv_data, 8);
    int rc = mp_lmdb_open_val(s, s->jobs, k, v, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_job(pv.p, pv.n, job);
    mp_lmdb_plain_done(&pv);
    return rc;
}

/* The user's pending jobs: collected first, deleted after the walk. */
static int del_user_jobs(struct wctx *w, const char *user, size_t len)
{
    MDB_cursor *c;
    MDB_val k, v;
    MDB_stat st;
    uint64_t *ids = NULL;
    size_t n = 0;
    struct mp_job job;
    int status = MP_OK;
    int rc = mdb_stat(w->txn, w->s->jobs, &st);
    if (rc == 0)
        rc = mdb_cursor_open(w->txn, w->s->jobs, &c);
    if (rc != 0)
        return lmdb_fail(w, rc);
    ids = malloc((st.ms_entries + 1) * sizeof(*ids));
    if (ids == NULL)
        status = MP_ENOMEM;
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; status == MP_OK && rc == 0 && n < st.ms_entries;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        status = mp_lmdb_read_job(w->s, &k, &v, &job);
        if (status == MP_OK && job.user_len == len && memcmp(job.user, user, len) == 0)
            ids[n++] = job.id;
    }
    mdb_cursor_close(c);
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = lmdb_fail(w, rc);
    for (size_t i = 0; status == MP_OK && i < n; i++) {
        unsigned char kb[8];
        mp_codec_be_put(kb, ids[i], 8);
        k = mp_lmdb_val(kb, sizeof(kb));
        rc = mdb_del(w->txn, w->s->jobs, &k, NULL);
        if (rc != 0)
            status = lmdb_fail(w, rc);
    }
    free(ids);
    return status;
}

static int delete_user(struct wctx *w, const struct mp_op *op)
{
    unsigned char prefix[MP_LMDB_USER_PREFIX_MAX], phys[MP_LMDB_PHYS_USER_MAX];
    size_t n = mp_lmdb_user_prefix(w->s, prefix, op->user, op->user_len);
    MDB_val k = mp_lmdb_val(phys, mp_lmdb_phys_user(w->s, op->user, op->user_len, phys));
    int rc;
    if (is_loaded(w, op->user, op->user_len))
        drop_user(w);
    rc = mdb_del(w->txn, w->s->users, &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_fail(w, rc);
    rc = del_range(w, w->s->history, prefix, n);
    if (rc == MP_OK)
        rc = del_range(w, w->s->idem, prefix, n);
    if (rc == MP_OK)
        rc = del_user_jobs(w, op->user, op->user_len);
    return rc;
}

/* ---- retention ---- */

/* History is appended in time order, so the walk stops at the first entry
 * younger than the shortest limit: a pass costs what it purges, not the
 * whole history. */
static int sweep_history(struct wctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                         size_t *left)
{
    unsigned char prefix[MP_LMDB_USER_PREFIX_MAX], kb[MP_LMDB_HIST_KEY_MAX];
    struct mp_history h = {NULL, 0};
    bool more = false;
    size_t plen = loaded_prefix(w, prefix);
    int rc = mp_lmdb_load_history_until(w->s, w->txn, prefix, plen, mp_lifecycle_hist_horizon(op),
                                        &h, &more);
    *left = h.nitems + (more ? 1 : 0);
    for (size_t i = 0; rc == MP_OK && i < h.nitems; i++) {
        if (!mp_lifecycle_hist_expired(&h.items[i], op))
            continue;
        MDB_val k = mp_lmdb_val(kb, (size_t)hist_key(kb, prefix, plen, h.items[i].seq));
        int mrc = mdb_del(w->txn, w->s->history, &k, NULL);
        rc = mrc == 0 ? MP_OK : lmdb_fail(w, mrc);
        c->history++;
        (*left)--;
    }
    history_clear(&h);
    return rc;
}

/* Idem keys older than the limit: collected during the walk, deleted after. */
static int sweep_idem(struct wctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                      size_t *left)
{
    unsigned char prefix[MP_LMDB_USER_PREFIX_MAX];
    size_t plen = loaded_prefix(w, prefix), n = 0, cap = 0;
    unsigned char(*old)[MP_IDEM_KEY_LEN] = NULL;
    int64_t age = op->u.sweep.retention.idem_max_age_ms;
    MDB_cursor *cur;
    MDB_val k = mp_lmdb_val(prefix, plen), v;
    struct mp_lmdb_plain pv;
    int status = MP_OK;
    *left = 0;
    if (mdb_cursor_open(w->txn, w->s->idem, &cur) != 0)
        return MP_EIO;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; status == MP_OK && rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + MP_IDEM_KEY_LEN || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        (*left)++;
        status = mp_lmdb_open_val(w->s, w->s->idem, &k, &v, &pv);
        bool expired = status == MP_OK && pv.n == 8 && age > 0 &&
                       (int64_t)mp_codec_le_get(pv.p, 8) < op->now_ms - age;
        mp_lmdb_plain_done(&pv);
        if (!expired)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *grown = realloc(old, cap * sizeof(*old));
            if (grown == NULL) {
                status = MP_ENOMEM;
                break;
            }
            old = grown;
        }
        memcpy(old[n++], (const unsigned char *)k.mv_data + plen, MP_IDEM_KEY_LEN);
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; status == MP_OK && i < n; i++) {
        unsigned char kb[IDEM_KEY_LEN_MAX];
        memcpy(kb, prefix, plen);
        memcpy(kb + plen, old[i], MP_IDEM_KEY_LEN);
        k = mp_lmdb_val(kb, plen + MP_IDEM_KEY_LEN);
        rc = mdb_del(w->txn, w->s->idem, &k, NULL);
        status = rc == 0 ? MP_OK : lmdb_fail(w, rc);
        c->idem++;
        (*left)--;
    }
    free(old);
    return status;
}

static int sweep_user(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    size_t hist_left = 0, idem_left = 0;
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (!w->exists) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    rc = sweep_history(w, op, &out->swept, &hist_left);
    if (rc == MP_OK)
        rc = sweep_idem(w, op, &out->swept, &idem_left);
    struct mp_history_item *ev = calloc(w->um->nentities + 2, sizeof(*ev));
    if (rc == MP_OK && ev == NULL)
        rc = MP_ENOMEM;
    if (rc == MP_OK) {
        size_t n = mp_lifecycle_expire(w->um, op, ev, &out->swept);
        rc = append_hist(w, ev, n);
        hist_left += n;
    }
    free(ev);
    if (rc != MP_OK || !mp_lifecycle_um_empty(w->um) || hist_left > 0 || idem_left > 0)
        return rc;
    MDB_val k = mp_lmdb_val(w->phys, w->phys_len); /* nothing left: the user goes */
    drop_user(w);
    rc = mdb_del(w->txn, w->s->users, &k, NULL);
    return rc == 0 || rc == MDB_NOTFOUND ? MP_OK : lmdb_fail(w, rc);
}

/* ---- apply ---- */

static int apply_op(struct wctx *w, const struct mp_op *ops, struct mp_store_out *outs, size_t i)
{
    const struct mp_op *op = &ops[i];
    struct mp_store_out *out = &outs[i];
    out->result = MP_OK;
    switch (op->kind) {
    case MP_OP_RECORD_TURN:
        return record_turn(w, op, out);
    case MP_OP_ADD_JOB:
        return add_job(w, ops, outs, i);
    case MP_OP_DONE_JOB:
    case MP_OP_UPDATE_JOB:
        return job_by_id(w, op, out);
    case MP_OP_SET_SUMMARY:
    case MP_OP_TRIM_MESSAGES:
        return summarize(w, op, out);
    case MP_OP_UPSERT_ENTITY:
        return upsert(w, op, out);
    case MP_OP_DELETE_ENTITY:
        return delete_entity(w, op, out);
    case MP_OP_DELETE_USER:
        return delete_user(w, op);
    case MP_OP_SWEEP_USER:
        return sweep_user(w, op, out);
    }
    return MP_EINVAL;
}

/* One try at the whole apply in one write transaction; *mdb_rc receives
 * the LMDB error that stopped it (MDB_MAP_FULL: grow and try again). */
static int attempt(struct lmdb_store *s, const struct mp_op *ops, size_t nops,
                   struct mp_store_out *outs, int *mdb_rc)
{
    struct wctx w = {.s = s};
    int status = MP_OK;
    int rc = s->env != NULL ? mdb_txn_begin(s->env, NULL, 0, &w.txn) : EIO;
    memset(outs, 0, nops * sizeof(*outs)); /* nothing left from an earlier try */
    if (rc != 0) {
        *mdb_rc = rc;
        return MP_EIO;
    }
    for (size_t i = 0; status == MP_OK && i < nops; i++)
        status = apply_op(&w, ops, outs, i);
    if (status == MP_OK)
        status = flush_user(&w);
    if (status == MP_OK) {
        rc = mdb_txn_commit(w.txn);
        w.txn = NULL;
        if (rc != 0)
            status = lmdb_fail(&w, rc);
    }
    if (w.txn != NULL)
        mdb_txn_abort(w.txn);
    mp_usermem_free(w.um);
    *mdb_rc = w.mdb_rc;
    return status;
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
    rc = mdb_env_set_mapsize(s->env, (size_t)next);
    pthread_rwlock_unlock(&s->resize_lock);
    return rc == 0 ? MP_OK : MP_EIO;
}

static int lmdb_apply(struct mp_store *store, struct mp_op *ops, size_t nops)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    struct mp_store_out *outs = calloc(nops, sizeof(*outs));
    int status;
    int resized = 0;
    if (outs == NULL)
        return MP_ENOMEM;
    pthread_mutex_lock(&s->write_lock);
    for (;;) {
        int mdb_rc = 0;
        pthread_rwlock_rdlock(&s->resize_lock);
        status = attempt(s, ops, nops, outs, &mdb_rc);
        pthread_rwlock_unlock(&s->resize_lock);
        if (mdb_rc == MDB_MAP_FULL) {
            status = grow(s);
            if (status == MP_OK)
                continue;
        } else if (mdb_rc == MDB_MAP_RESIZED && resized++ == 0) {
            adopt_map_size(s);
            continue;
        }
        break;
    }
    pthread_mutex_unlock(&s->write_lock);
    if (status == MP_OK)
        mp_store_write_back(ops, outs, nops);
    free(outs);
    return status;
}

static const struct mp_store_ops lmdb_ops = {
    .name = "lmdb",
    .ping = mp_lmdb_ping,
    .get = mp_lmdb_get,
    .apply = lmdb_apply,
    .jobs = mp_lmdb_jobs,
    .history = mp_lmdb_history,
    .users = mp_lmdb_users,
    .secret = mp_lmdb_secret,
    .compact = mp_lmdb_compact,
    .close = mp_lmdb_close,
    .stats = mp_lmdb_stats,
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
    s->base.ops = &lmdb_ops;
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
    if (mp_lmdb_open_env(s, opts->path, size, false, err, errcap) != MP_OK) {
        mp_lmdb_close(&s->base);
        return MP_EIO;
    }
    *out = &s->base;
    return MP_OK;
}
