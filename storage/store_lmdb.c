/* LMDB backend: the only file that includes <lmdb.h>. It persists what
 * store.h describes; it decides nothing about precedence (store.c does)
 * and never hands out a pointer into the map.
 *
 * On-disk layout, format version 1
 * ---------------------------------
 * One environment (data.mdb and lock.mdb in opts->path), five named DBs:
 *
 *   meta     "format"   -> u32 format version. Checked at open: a newer
 *                          version refuses to open (MP_EIO, the reason in
 *                          err); a missing one marks a new store and is written.
 *            "next_job" -> u64 the id the next job gets (ids start at 1)
 *   users    user key (1..MP_USER_KEY_MAX bytes, as given) -> user record
 *   history  u16be ulen | user | u8 klen | key | u64be hseq -> history record
 *   jobs     u64be id -> job record
 *   idem     u16be ulen | user | idem key (32 bytes) -> i64 recorded_at_ms
 *
 * Numbers in keys are big-endian so that LMDB's memcmp order is numeric
 * order: jobs come out by id, one key's history oldest first (hseq is a
 * per-user counter kept in the user record). The user is length-prefixed in
 * every composite key, so one user's history and idem keys are one
 * contiguous range and no user id is a prefix of another's range ("a" vs
 * "ab", "a" vs "a\0b"); the same holds for the key inside a history key.
 *
 * Values are little-endian, written byte by byte (no struct memcpy), each
 * variable field preceded by its length:
 *
 *   user record: u8 record version (1) | u64 next_seq | u64 next_hist
 *     | u32 summary_len | summary | i64 updated_at_ms | u64 covers_through_seq
 *     | u32 nmessages, each: u8 role | u64 seq | i64 at_ms | u8 rid_len | rid
 *                            | u32 content_len | content
 *     | u32 nentities (sorted by key), each an entity
 *   entity: u8 klen | key | u32 vlen | value | u64 confidence (IEEE-754 bits)
 *     | i64 observed_at_ms | i64 recorded_at_ms | u8 trust | u8 source_role
 *     | u8 pii | u32 revision | u8 rid_len | rid | u8 model_len | model
 *   history record: u8 event | i64 at_ms | entity
 *   job record: u8 kind | u16 ulen | user | u64 through_seq | u64 from_seq
 *     | u32 attempts | i64 not_before_ms | i64 created_ms
 *
 * A summary_len of 0 means no summary. Decoding checks every length
 * against what is left and against the field's cap, every enum against its
 * range, seqs increasing and keys sorted, and that nothing is left over: a
 * record that fails is MP_EIO, never a crash or an over-allocation.
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
 * lock prefers the grower so a stream of readers cannot starve it. */
#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "status.h"

#define FORMAT_VERSION      1u
#define USER_RECORD_VERSION 1u
#define USER_PREFIX_MAX     (2 + MP_USER_KEY_MAX)
#define HIST_KEY_MAX        (USER_PREFIX_MAX + 1 + MP_ENTITY_KEY_MAX + 8)
#define IDEM_KEY_LEN_MAX    (USER_PREFIX_MAX + MP_IDEM_KEY_LEN)
#define DEFAULT_MAP_SIZE    (16ull << 20)
#define MAP_ALIGN           (64ull << 10) /* a multiple of every page size LMDB runs on */
#define MAX_READERS         512
/* Smallest encodings, to refuse a count a corrupt record could not hold. */
#define MESSAGE_MIN (1 + 8 + 8 + 1 + 4)
#define ENTITY_MIN  (1 + 1 + 4 + 8 + 8 + 8 + 1 + 1 + 1 + 4 + 1 + 1)

_Static_assert(sizeof(double) == 8, "confidence is stored as 8 IEEE-754 bytes");

struct lmdb_store {
    struct mp_store base;
    MDB_env *env;
    MDB_dbi meta, users, history, jobs, idem;
    uint64_t map_size_max;
    pthread_mutex_t write_lock;
    pthread_rwlock_t resize_lock;
};

/* ---- encoding: a first pass with p == NULL only counts ---- */

struct enc {
    unsigned char *p;
    size_t n;
};

static void put_bytes(struct enc *e, const void *src, size_t n)
{
    if (e->p != NULL && n > 0)
        memcpy(e->p + e->n, src, n);
    e->n += n;
}

static void le_put(unsigned char *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_uint(struct enc *e, uint64_t v, size_t width)
{
    unsigned char b[8];
    le_put(b, v, width);
    put_bytes(e, b, width);
}

static void put_f64(struct enc *e, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    put_uint(e, u, 8);
}

static void put_str(struct enc *e, const char *s, size_t len_width)
{
    size_t n = strlen(s);
    put_uint(e, n, len_width);
    put_bytes(e, s, n);
}

static void be_put(unsigned char *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (unsigned char)(v >> (8 * (width - 1 - i)));
}

static uint64_t be_get(const unsigned char *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

static void enc_entity(struct enc *e, const struct mp_mem_entity *en)
{
    put_str(e, en->key, 1);
    put_uint(e, en->value_len, 4);
    put_bytes(e, en->value, en->value_len);
    put_f64(e, en->confidence);
    put_uint(e, (uint64_t)en->observed_at_ms, 8);
    put_uint(e, (uint64_t)en->recorded_at_ms, 8);
    put_uint(e, (uint64_t)en->trust, 1);
    put_uint(e, (uint64_t)en->source_role, 1);
    put_uint(e, en->pii ? 1 : 0, 1);
    put_uint(e, en->revision, 4);
    put_str(e, en->request_id, 1);
    put_str(e, en->model, 1);
}

struct user_rec {
    const struct mp_usermem *um;
    uint64_t next_hist;
};

static void enc_user(struct enc *e, const void *arg)
{
    const struct user_rec *r = arg;
    const struct mp_usermem *um = r->um;
    put_uint(e, USER_RECORD_VERSION, 1);
    put_uint(e, um->next_seq, 8);
    put_uint(e, r->next_hist, 8);
    put_uint(e, um->summary.text != NULL ? um->summary.text_len : 0, 4);
    if (um->summary.text != NULL)
        put_bytes(e, um->summary.text, um->summary.text_len);
    put_uint(e, (uint64_t)um->summary.updated_at_ms, 8);
    put_uint(e, um->summary.covers_through_seq, 8);
    put_uint(e, um->nmessages, 4);
    for (size_t i = 0; i < um->nmessages; i++) {
        const struct mp_mem_message *m = &um->messages[i];
        put_uint(e, (uint64_t)m->role, 1);
        put_uint(e, m->seq, 8);
        put_uint(e, (uint64_t)m->at_ms, 8);
        put_str(e, m->request_id, 1);
        put_uint(e, m->content_len, 4);
        put_bytes(e, m->content, m->content_len);
    }
    put_uint(e, um->nentities, 4);
    for (size_t i = 0; i < um->nentities; i++)
        enc_entity(e, &um->entities[i]);
}

struct hist_rec {
    const struct mp_mem_entity *entity;
    enum mp_history_event event;
    int64_t at_ms;
};

static void enc_hist(struct enc *e, const void *arg)
{
    const struct hist_rec *h = arg;
    put_uint(e, (uint64_t)h->event, 1);
    put_uint(e, (uint64_t)h->at_ms, 8);
    enc_entity(e, h->entity);
}

static void enc_job(struct enc *e, const void *arg)
{
    const struct mp_job *j = arg;
    put_uint(e, (uint64_t)j->kind, 1);
    put_uint(e, j->user_len, 2);
    put_bytes(e, j->user, j->user_len);
    put_uint(e, j->through_seq, 8);
    put_uint(e, j->from_seq, 8);
    put_uint(e, j->attempts, 4);
    put_uint(e, (uint64_t)j->not_before_ms, 8);
    put_uint(e, (uint64_t)j->created_ms, 8);
}

/* ---- decoding: any failure sets bad and later reads return zeros ---- */

struct dec {
    const unsigned char *p;
    size_t n, off;
    bool bad, oom;
};

static const unsigned char *take(struct dec *d, size_t n)
{
    const unsigned char *r;
    if (d->bad || n > d->n - d->off) {
        d->bad = true;
        return NULL;
    }
    r = d->p + d->off;
    d->off += n;
    return r;
}

static uint64_t get_uint(struct dec *d, size_t width)
{
    const unsigned char *b = take(d, width);
    uint64_t v = 0;
    if (b == NULL)
        return 0;
    for (size_t i = width; i-- > 0;)
        v = (v << 8) | b[i];
    return v;
}

/* A length field that must not exceed max. */
static size_t get_len(struct dec *d, size_t width, size_t max)
{
    uint64_t v = get_uint(d, width);
    if (v > max)
        d->bad = true;
    return d->bad ? 0 : (size_t)v;
}

static void check(struct dec *d, bool ok)
{
    if (!ok)
        d->bad = true;
}

static size_t left(const struct dec *d)
{
    return d->bad ? 0 : d->n - d->off;
}

/* An allocated NUL-terminated copy of the next len bytes, or NULL. */
static char *get_text(struct dec *d, size_t len)
{
    const unsigned char *b = take(d, len);
    char *s;
    if (b == NULL)
        return NULL;
    s = malloc(len + 1);
    if (s == NULL) {
        d->bad = d->oom = true;
        return NULL;
    }
    memcpy(s, b, len);
    s[len] = '\0';
    return s;
}

/* A u8-length string into a fixed array of cap bytes (NUL included). */
static void get_fixed(struct dec *d, char *dst, size_t cap)
{
    size_t len = get_len(d, 1, cap - 1);
    const unsigned char *b = take(d, len);
    if (b == NULL || memchr(b, '\0', len) != NULL) {
        d->bad = true;
        return;
    }
    memcpy(dst, b, len);
    dst[len] = '\0';
}

static int dec_status(const struct dec *d)
{
    if (d->oom)
        return MP_ENOMEM;
    return d->bad || d->off != d->n ? MP_EIO : MP_OK;
}

static void dec_entity(struct dec *d, struct mp_mem_entity *en)
{
    uint64_t bits;
    memset(en, 0, sizeof(*en));
    get_fixed(d, en->key, sizeof(en->key));
    check(d, en->key[0] != '\0');
    en->value_len = get_len(d, 4, MP_ENTITY_VALUE_MAX);
    en->value = get_text(d, en->value_len);
    bits = get_uint(d, 8);
    memcpy(&en->confidence, &bits, sizeof(bits));
    check(d, en->confidence >= 0.0 && en->confidence <= 1.0);
    en->observed_at_ms = (int64_t)get_uint(d, 8);
    en->recorded_at_ms = (int64_t)get_uint(d, 8);
    en->trust = (enum mp_trust)get_len(d, 1, MP_TRUST_ADMIN);
    en->source_role = (enum mp_role)get_len(d, 1, MP_ROLE_ASSISTANT);
    en->pii = get_len(d, 1, 1) == 1;
    en->revision = (uint32_t)get_uint(d, 4);
    get_fixed(d, en->request_id, sizeof(en->request_id));
    get_fixed(d, en->model, sizeof(en->model));
}

static void dec_summary(struct dec *d, struct mp_mem_summary *s)
{
    size_t len = get_len(d, 4, MP_STORE_SUMMARY_MAX);
    if (len > 0)
        s->text = get_text(d, len);
    s->text_len = s->text != NULL ? len : 0;
    s->updated_at_ms = (int64_t)get_uint(d, 8);
    s->covers_through_seq = get_uint(d, 8);
}

static void dec_messages(struct dec *d, struct mp_usermem *um)
{
    size_t n = get_len(d, 4, left(d) / MESSAGE_MIN);
    um->messages = calloc(n + 1, sizeof(*um->messages));
    if (um->messages == NULL) {
        d->bad = d->oom = true;
        return;
    }
    for (size_t i = 0; i < n && !d->bad; i++) {
        struct mp_mem_message *m = &um->messages[i];
        m->role = (enum mp_role)get_len(d, 1, MP_ROLE_ASSISTANT);
        m->seq = get_uint(d, 8);
        check(d, m->seq > (i > 0 ? m[-1].seq : 0) && m->seq < um->next_seq);
        m->at_ms = (int64_t)get_uint(d, 8);
        get_fixed(d, m->request_id, sizeof(m->request_id));
        m->content_len = get_len(d, 4, MP_MESSAGE_CONTENT_MAX);
        m->content = get_text(d, m->content_len);
        if (m->content != NULL)
            um->nmessages++;
    }
}

static void dec_entities(struct dec *d, struct mp_usermem *um)
{
    size_t n = get_len(d, 4, left(d) / ENTITY_MIN);
    um->entities = calloc(n + 1, sizeof(*um->entities));
    if (um->entities == NULL) {
        d->bad = d->oom = true;
        return;
    }
    for (size_t i = 0; i < n && !d->bad; i++) {
        struct mp_mem_entity *en = &um->entities[i];
        dec_entity(d, en);
        if (en->value != NULL)
            um->nentities++;
        check(d, i == 0 || strcmp(en[-1].key, en->key) < 0);
    }
}

static int decode_user(const MDB_val *v, struct mp_usermem **out, uint64_t *next_hist)
{
    struct dec d = {.p = v->mv_data, .n = v->mv_size};
    struct mp_usermem *um = mp_usermem_new();
    uint64_t nh;
    int rc;
    if (um == NULL)
        return MP_ENOMEM;
    check(&d, get_uint(&d, 1) == USER_RECORD_VERSION);
    um->next_seq = get_uint(&d, 8);
    nh = get_uint(&d, 8);
    check(&d, um->next_seq >= 1 && nh >= 1);
    dec_summary(&d, &um->summary);
    dec_messages(&d, um);
    dec_entities(&d, um);
    rc = dec_status(&d);
    if (rc != MP_OK) {
        mp_usermem_free(um);
        return rc;
    }
    *out = um;
    if (next_hist != NULL)
        *next_hist = nh;
    return MP_OK;
}

static int decode_hist(const MDB_val *v, struct mp_history_item *h)
{
    struct dec d = {.p = v->mv_data, .n = v->mv_size};
    h->event = (enum mp_history_event)get_len(&d, 1, MP_HIST_DELETED);
    h->at_ms = (int64_t)get_uint(&d, 8);
    dec_entity(&d, &h->entity);
    if (dec_status(&d) != MP_OK) {
        free(h->entity.value);
        h->entity.value = NULL;
        return d.oom ? MP_ENOMEM : MP_EIO;
    }
    return MP_OK;
}

static int decode_job(const MDB_val *k, const MDB_val *v, struct mp_job *j)
{
    struct dec d = {.p = v->mv_data, .n = v->mv_size};
    const unsigned char *user;
    if (k->mv_size != 8)
        return MP_EIO;
    memset(j, 0, sizeof(*j));
    j->id = be_get(k->mv_data, 8);
    j->kind = (enum mp_job_kind)get_len(&d, 1, MP_JOB_EXTRACT);
    j->user_len = get_len(&d, 2, MP_USER_KEY_MAX);
    check(&d, j->user_len > 0);
    user = take(&d, j->user_len);
    if (user != NULL)
        memcpy(j->user, user, j->user_len);
    j->through_seq = get_uint(&d, 8);
    j->from_seq = get_uint(&d, 8);
    j->attempts = (uint32_t)get_uint(&d, 4);
    j->not_before_ms = (int64_t)get_uint(&d, 8);
    j->created_ms = (int64_t)get_uint(&d, 8);
    return dec_status(&d);
}

/* ---- keys ---- */

static size_t user_prefix(unsigned char *k, const char *user, size_t len)
{
    be_put(k, len, 2);
    memcpy(k + 2, user, len);
    return 2 + len;
}

/* key must be at most MP_ENTITY_KEY_MAX bytes (checked by the callers). */
static size_t hist_prefix(unsigned char *k, const char *user, size_t ulen, const char *key)
{
    size_t n = user_prefix(k, user, ulen);
    size_t klen = strlen(key);
    k[n++] = (unsigned char)klen;
    memcpy(k + n, key, klen);
    return n + klen;
}

static MDB_val val_of(const void *p, size_t n)
{
    MDB_val v = {.mv_size = n, .mv_data = (void *)p};
    return v;
}

/* ---- transactions ---- */

/* Another process grew the map: adopt its size (no transaction may be
 * active in this process meanwhile). */
static void adopt_map_size(struct lmdb_store *s)
{
    pthread_rwlock_wrlock(&s->resize_lock);
    mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->resize_lock);
}

/* Begins a read transaction holding resize_lock shared; end with read_end(). */
static int read_begin(struct lmdb_store *s, MDB_txn **txn)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_rwlock_rdlock(&s->resize_lock);
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
        if (rc == 0)
            return MP_OK;
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED)
            return MP_EIO;
        adopt_map_size(s);
    }
    return MP_EIO;
}

static void read_end(struct lmdb_store *s, MDB_txn *txn)
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
    char user[MP_USER_KEY_MAX];
    size_t user_len;
    uint64_t next_hist;
    bool exists, dirty;
};

static int lmdb_fail(struct wctx *w, int rc)
{
    w->mdb_rc = rc;
    return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL ? MP_ETOOBIG : MP_EIO;
}

typedef void (*encode_fn)(struct enc *e, const void *arg);

/* Writes one record: sized by a counting pass, then encoded straight into
 * the space LMDB reserved for it (no intermediate buffer). */
static int put_record(struct wctx *w, MDB_dbi dbi, MDB_val *key, encode_fn encode, const void *arg)
{
    struct enc e = {NULL, 0};
    MDB_val v;
    int rc;
    encode(&e, arg);
    v = val_of(NULL, e.n);
    rc = mdb_put(w->txn, dbi, key, &v, MDB_RESERVE);
    if (rc != 0)
        return lmdb_fail(w, rc);
    e.p = v.mv_data;
    e.n = 0;
    encode(&e, arg);
    return MP_OK;
}

static int flush_user(struct wctx *w)
{
    struct user_rec r = {w->um, w->next_hist};
    MDB_val k = val_of(w->user, w->user_len);
    int rc;
    if (w->um == NULL || !w->dirty)
        return MP_OK;
    rc = put_record(w, w->s->users, &k, enc_user, &r);
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

static int load_user(struct wctx *w, const char *user, size_t len)
{
    MDB_val k = val_of(user, len), v;
    int rc;
    if (w->um != NULL && w->user_len == len && memcmp(w->user, user, len) == 0)
        return MP_OK;
    rc = flush_user(w);
    if (rc != MP_OK)
        return rc;
    drop_user(w);
    rc = mdb_get(w->txn, w->s->users, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_fail(w, rc);
    w->exists = rc == 0;
    if (w->exists) {
        rc = decode_user(&v, &w->um, &w->next_hist);
        if (rc != MP_OK)
            return rc;
    } else {
        w->um = mp_usermem_new();
        if (w->um == NULL)
            return MP_ENOMEM;
        w->um->next_seq = 1;
        w->next_hist = 1;
    }
    memcpy(w->user, user, len);
    w->user_len = len;
    return MP_OK;
}

static void touch(struct wctx *w)
{
    w->exists = true;
    w->dirty = true;
}

/* ---- ops ---- */

static int record_turn(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    unsigned char kb[IDEM_KEY_LEN_MAX];
    unsigned char at[8];
    size_t n = user_prefix(kb, op->user, op->user_len);
    MDB_val k, v;
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    memcpy(kb + n, op->u.turn.idem_key, MP_IDEM_KEY_LEN);
    k = val_of(kb, n + MP_IDEM_KEY_LEN);
    rc = mdb_get(w->txn, w->s->idem, &k, &v);
    if (rc == 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != MDB_NOTFOUND)
        return lmdb_fail(w, rc);
    le_put(at, (uint64_t)op->now_ms, 8);
    v = val_of(at, sizeof(at));
    rc = mdb_put(w->txn, w->s->idem, &k, &v, 0);
    if (rc != 0)
        return lmdb_fail(w, rc);
    rc = mp_store_um_append(w->um, op, &out->first_seq, &out->last_seq);
    if (rc == MP_OK)
        touch(w);
    return rc;
}

static int put_job(struct wctx *w, const struct mp_job *job, uint64_t id)
{
    unsigned char kb[8];
    MDB_val k;
    be_put(kb, id, 8);
    k = val_of(kb, sizeof(kb));
    return put_record(w, w->s->jobs, &k, enc_job, job);
}

static int add_job(struct wctx *w, const struct mp_op *ops, struct mp_store_out *outs, size_t i)
{
    MDB_val k = val_of("next_job", 8), v;
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
    if (rc == 0) {
        struct dec d = {.p = v.mv_data, .n = 8};
        id = get_uint(&d, 8);
    } else if (rc != MDB_NOTFOUND) {
        return lmdb_fail(w, rc);
    }
    rc = put_job(w, &job, id);
    if (rc != MP_OK)
        return rc;
    le_put(nb, id + 1, 8);
    v = val_of(nb, sizeof(nb));
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
    be_put(kb, id, 8);
    k = val_of(kb, sizeof(kb));
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

static int put_hist(struct wctx *w, const struct mp_mem_entity *en, enum mp_history_event ev,
                    int64_t at_ms)
{
    unsigned char kb[HIST_KEY_MAX];
    struct hist_rec h = {en, ev, at_ms};
    size_t n = hist_prefix(kb, w->user, w->user_len, en->key);
    MDB_val k;
    be_put(kb + n, w->next_hist++, 8);
    k = val_of(kb, n + 8);
    w->dirty = true;
    return put_record(w, w->s->history, &k, enc_hist, &h);
}

/* The revision of the key's newest history entry, 0 without one: a key
 * that comes back after a delete continues its revisions. */
static int last_revision(struct wctx *w, const char *key, uint32_t *rev)
{
    unsigned char kb[HIST_KEY_MAX];
    size_t n = hist_prefix(kb, w->user, w->user_len, key);
    MDB_cursor *c;
    MDB_val k, v;
    struct mp_history_item h;
    int rc = mdb_cursor_open(w->txn, w->s->history, &c);
    if (rc != 0)
        return lmdb_fail(w, rc);
    memset(kb + n, 0xFF, 8); /* past the newest hseq this key can have */
    k = val_of(kb, n + 8);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    mdb_cursor_close(c);
    *rev = 0;
    if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size != n + 8 || memcmp(k.mv_data, kb, n) != 0)))
        return MP_OK;
    if (rc != 0)
        return lmdb_fail(w, rc);
    rc = decode_hist(&v, &h);
    if (rc == MP_OK)
        *rev = h.entity.revision;
    free(h.entity.value);
    return rc;
}

static int upsert(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    struct mp_mem_entity old;
    bool has_old = false;
    uint32_t base = 0;
    int rc = load_user(w, op->user, op->user_len);
    if (rc == MP_OK && mp_store_um_find(w->um, op->u.entity.key) < 0)
        rc = last_revision(w, op->u.entity.key, &base);
    if (rc == MP_OK)
        rc = mp_store_um_upsert(w->um, op, base, &old, &has_old, &out->revision);
    if (rc == MP_NOTFOUND) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (rc != MP_OK)
        return rc;
    touch(w);
    if (has_old) {
        rc = put_hist(w, &old, MP_HIST_SUPERSEDED, op->now_ms);
        free(old.value);
    }
    return rc;
}

static int delete_entity(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    struct mp_mem_entity old;
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (mp_store_um_remove(w->um, op->u.key, &old) != MP_OK) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    touch(w);
    rc = put_hist(w, &old, MP_HIST_DELETED, op->now_ms);
    free(old.value);
    return rc;
}

static int summarize(struct wctx *w, const struct mp_op *op, struct mp_store_out *out)
{
    int rc = load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (!w->exists) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    rc = mp_store_um_summarize(w->um, op);
    if (rc == MP_OK)
        touch(w);
    return rc;
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
        k = val_of(prefix, plen);
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
        status = decode_job(&k, &v, &job);
        if (status == MP_OK && job.user_len == len && memcmp(job.user, user, len) == 0)
            ids[n++] = job.id;
    }
    mdb_cursor_close(c);
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = lmdb_fail(w, rc);
    for (size_t i = 0; status == MP_OK && i < n; i++) {
        unsigned char kb[8];
        be_put(kb, ids[i], 8);
        k = val_of(kb, sizeof(kb));
        rc = mdb_del(w->txn, w->s->jobs, &k, NULL);
        if (rc != 0)
            status = lmdb_fail(w, rc);
    }
    free(ids);
    return status;
}

static int delete_user(struct wctx *w, const struct mp_op *op)
{
    unsigned char prefix[USER_PREFIX_MAX];
    size_t n = user_prefix(prefix, op->user, op->user_len);
    MDB_val k = val_of(op->user, op->user_len);
    int rc;
    if (w->um != NULL && w->user_len == op->user_len &&
        memcmp(w->user, op->user, op->user_len) == 0)
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
    int rc = mdb_txn_begin(s->env, NULL, 0, &w.txn);
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

/* ---- reads ---- */

static int lmdb_get(struct mp_store *store, const char *user, size_t user_len,
                    struct mp_usermem **out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *txn;
    MDB_val k = val_of(user, user_len), v;
    int status = read_begin(s, &txn);
    if (status != MP_OK)
        return status;
    int rc = mdb_get(txn, s->users, &k, &v);
    if (rc == 0)
        status = decode_user(&v, out, NULL);
    else
        status = rc == MDB_NOTFOUND ? MP_NOTFOUND : MP_EIO;
    read_end(s, txn);
    return status;
}

static int read_jobs(MDB_txn *txn, MDB_dbi dbi, struct mp_job **out, size_t *n)
{
    MDB_cursor *c;
    MDB_val k, v;
    MDB_stat st;
    struct mp_job *jobs;
    size_t got = 0;
    int status = MP_OK;
    if (mdb_stat(txn, dbi, &st) != 0 || mdb_cursor_open(txn, dbi, &c) != 0)
        return MP_EIO;
    jobs = calloc(st.ms_entries + 1, sizeof(*jobs));
    if (jobs == NULL)
        status = MP_ENOMEM;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; status == MP_OK && rc == 0 && got < st.ms_entries;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        status = decode_job(&k, &v, &jobs[got++]);
    mdb_cursor_close(c);
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = MP_EIO;
    if (status != MP_OK || got == 0) {
        free(jobs);
        jobs = NULL;
    }
    if (status == MP_OK) {
        *out = jobs;
        *n = got;
    }
    return status;
}

static int lmdb_jobs(struct mp_store *store, struct mp_job **out, size_t *n)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *txn;
    int status = read_begin(s, &txn);
    if (status != MP_OK)
        return status;
    status = read_jobs(txn, s->jobs, out, n);
    read_end(s, txn);
    return status;
}

static int push_item(struct mp_history *h, const MDB_val *v)
{
    struct mp_history_item *items = realloc(h->items, (h->nitems + 1) * sizeof(*items));
    if (items == NULL)
        return MP_ENOMEM;
    h->items = items;
    int rc = decode_hist(v, &items[h->nitems]);
    if (rc == MP_OK)
        h->nitems++;
    return rc;
}

/* MP_OK when the key has a current value, MP_NOTFOUND when not. */
static int has_current(struct lmdb_store *s, MDB_txn *txn, const char *user, size_t len,
                       const char *key)
{
    MDB_val k = val_of(user, len), v;
    struct mp_usermem *um;
    int rc = mdb_get(txn, s->users, &k, &v);
    if (rc != 0)
        return rc == MDB_NOTFOUND ? MP_NOTFOUND : MP_EIO;
    rc = decode_user(&v, &um, NULL);
    if (rc != MP_OK)
        return rc;
    rc = mp_store_um_find(um, key) >= 0 ? MP_OK : MP_NOTFOUND;
    mp_usermem_free(um);
    return rc;
}

static int read_history(struct lmdb_store *s, MDB_txn *txn, const char *user, size_t len,
                        const char *key, struct mp_history *h)
{
    unsigned char kb[HIST_KEY_MAX];
    size_t n = hist_prefix(kb, user, len, key);
    MDB_cursor *c;
    MDB_val k = val_of(kb, n), v;
    int status = MP_OK;
    if (mdb_cursor_open(txn, s->history, &c) != 0)
        return MP_EIO;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (; status == MP_OK && rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != n + 8 || memcmp(k.mv_data, kb, n) != 0)
            break;
        status = push_item(h, &v);
    }
    mdb_cursor_close(c);
    if (status == MP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = MP_EIO;
    if (status == MP_OK && h->nitems == 0)
        status = has_current(s, txn, user, len, key);
    return status;
}

static int lmdb_history(struct mp_store *store, const char *user, size_t user_len, const char *key,
                        struct mp_history **out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    struct mp_history *h;
    MDB_txn *txn;
    int status;
    if (strnlen(key, MP_ENTITY_KEY_MAX + 1) > MP_ENTITY_KEY_MAX)
        return MP_NOTFOUND; /* no such key can have been stored */
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return MP_ENOMEM;
    status = read_begin(s, &txn);
    if (status == MP_OK) {
        status = read_history(s, txn, user, user_len, key, h);
        read_end(s, txn);
    }
    if (status != MP_OK) {
        mp_history_free(h);
        return status;
    }
    *out = h;
    return MP_OK;
}

static int lmdb_ping(struct mp_store *store)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_txn *txn;
    if (read_begin(s, &txn) != MP_OK)
        return MP_EIO;
    read_end(s, txn);
    return MP_OK;
}

/* mdb_reader_list() calls back once for a header line and once per slot
 * held, or once with "(no active readers)". */
static int count_reader(const char *msg, void *ctx)
{
    if (msg[0] != '(')
        (*(uint32_t *)ctx)++;
    return 0;
}

static int lmdb_stats(struct mp_store *store, struct mp_store_stats *out)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    MDB_envinfo info;
    MDB_stat st;
    uint32_t lines = 0;
    int rc;
    pthread_rwlock_rdlock(&s->resize_lock);
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
    out->readers_used = lines > 0 ? lines - 1 : 0; /* less the header line */
    out->readers_max = info.me_maxreaders;
    return MP_OK;
}

static void lmdb_close(struct mp_store *store)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    if (s->env != NULL)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    pthread_mutex_destroy(&s->write_lock);
    free(s);
}

static const struct mp_store_ops lmdb_ops = {
    .name = "lmdb",
    .ping = lmdb_ping,
    .get = lmdb_get,
    .apply = lmdb_apply,
    .jobs = lmdb_jobs,
    .history = lmdb_history,
    .close = lmdb_close,
    .stats = lmdb_stats,
};

/* ---- open ---- */

static unsigned sync_flags(enum mp_store_sync sync)
{
    switch (sync) {
    case MP_STORE_SYNC_META:
        return MDB_NOMETASYNC;
    case MP_STORE_SYNC_NONE:
        return MDB_NOSYNC;
    case MP_STORE_SYNC_FULL:
    default:
        return 0;
    }
}

/* The format version: written into a new store, checked in an old one. */
static int check_format(struct lmdb_store *s, MDB_txn *txn, const char *path, char *err,
                        size_t errcap)
{
    MDB_val k = val_of("format", 6), v;
    unsigned char b[4];
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        le_put(b, FORMAT_VERSION, 4);
        v = val_of(b, sizeof(b));
        rc = mdb_put(txn, s->meta, &k, &v, 0);
    }
    if (rc != 0) {
        snprintf(err, errcap, "cannot initialize LMDB store %s: %s", path, mdb_strerror(rc));
        return MP_EIO;
    }
    struct dec d = {.p = v.mv_data, .n = v.mv_size};
    uint64_t version = get_uint(&d, 4);
    if (dec_status(&d) != MP_OK || version == 0) {
        snprintf(err, errcap, "LMDB store %s has a corrupt format record", path);
        return MP_EIO;
    }
    if (version != FORMAT_VERSION) {
        snprintf(err, errcap,
                 "LMDB store %s has record format version %llu; this build reads version %u", path,
                 (unsigned long long)version, FORMAT_VERSION);
        return MP_EIO;
    }
    return MP_OK;
}

static int open_dbs(struct lmdb_store *s, const char *path, char *err, size_t errcap)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "users", MDB_CREATE, &s->users);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "history", MDB_CREATE, &s->history);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "jobs", MDB_CREATE, &s->jobs);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "idem", MDB_CREATE, &s->idem);
    if (rc != 0) {
        snprintf(err, errcap, "cannot open LMDB databases in %s: %s", path, mdb_strerror(rc));
        if (txn != NULL)
            mdb_txn_abort(txn);
        return MP_EIO;
    }
    if (check_format(s, txn, path, err, errcap) != MP_OK) {
        mdb_txn_abort(txn);
        return MP_EIO;
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) {
        snprintf(err, errcap, "cannot initialize LMDB store %s: %s", path, mdb_strerror(rc));
        return MP_EIO;
    }
    return MP_OK;
}

static uint64_t align_up(uint64_t v)
{
    return (v + MAP_ALIGN - 1) / MAP_ALIGN * MAP_ALIGN;
}

/* map_size 0: 16 MiB; map_size_max 0: 64 x map_size; never below map_size. */
static void map_sizes(const struct mp_store_options *opts, uint64_t *size, uint64_t *max)
{
    const uint64_t cap = (uint64_t)(SIZE_MAX / 2) / MAP_ALIGN * MAP_ALIGN;
    *size = opts->map_size > 0 ? align_up(opts->map_size) : DEFAULT_MAP_SIZE;
    if (*size > cap)
        *size = cap;
    *max = opts->map_size_max;
    if (*max == 0)
        *max = *size <= cap / 64 ? *size * 64 : cap;
    *max = *max > cap ? cap : *max / MAP_ALIGN * MAP_ALIGN;
    if (*max < *size)
        *max = *size;
}

static int init_locks(struct lmdb_store *s)
{
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc != 0)
        return rc;
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&s->resize_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_mutex_init(&s->write_lock, NULL);
    if (rc != 0)
        pthread_rwlock_destroy(&s->resize_lock);
    return rc;
}

static int open_env(struct lmdb_store *s, const struct mp_store_options *opts, char *err,
                    size_t errcap)
{
    uint64_t size;
    int dead = 0;
    int rc;
    map_sizes(opts, &size, &s->map_size_max);
    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)size);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, 8);
    if (rc == 0)
        rc = mdb_env_open(s->env, opts->path, MDB_NOTLS | sync_flags(opts->sync), 0600);
    if (rc != 0) {
        snprintf(err, errcap, "cannot open LMDB environment %s: %s", opts->path, mdb_strerror(rc));
        return MP_EIO;
    }
    mdb_reader_check(s->env, &dead); /* slots left by crashed processes */
    if (mdb_env_get_maxkeysize(s->env) < HIST_KEY_MAX) {
        snprintf(err, errcap, "LMDB at %s allows keys of %d bytes, memproxy needs %d", opts->path,
                 mdb_env_get_maxkeysize(s->env), HIST_KEY_MAX);
        return MP_EIO;
    }
    return open_dbs(s, opts->path, err, errcap);
}

int mp_store_open_lmdb(const struct mp_store_options *opts, struct mp_store **out, char *err,
                       size_t errcap)
{
    struct lmdb_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MP_ENOMEM;
    if (init_locks(s) != 0) {
        free(s);
        return MP_ENOMEM;
    }
    s->base.ops = &lmdb_ops;
    if (mkdir(opts->path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "cannot create %s: %s", opts->path, strerror(errno));
        lmdb_close(&s->base);
        return MP_EIO;
    }
    if (open_env(s, opts, err, errcap) != MP_OK) {
        lmdb_close(&s->base);
        return MP_EIO;
    }
    *out = &s->base;
    return MP_OK;
}
