/* The PostgreSQL backend: store_backend.h's primitives as statements on
 * one table (store_pg.h), over a pool of connections (store_pg_pool.h): a
 * transaction takes a connection at begin and gives it back at end.
 *
 *   read txn ──> BEGIN; the hinted user's rows (store_pg_ucache.h); COMMIT
 *   write txn ─> BEGIN + hinted users' snapshots (store_pg_wcache.h) ─┐
 *                puts (store_pg_batch.h), deletes: queued, no wait    ├ pipe
 *                changed users' snapshots (store_pg_touched.h), COMMIT┘
 *
 * Values a get hands out stay in their PGresult until the next put or del
 * of the transaction, or its end (the contract's lifetime). A scan reads
 * the range in batches, ordered by key, so a callback that stops early
 * costs one batch. A write transaction runs in pipeline mode
 * (store_pg_pipe.h): what needs no answer travels with the next statement
 * that waits. A user without a full snapshot is read statement by
 * statement, its rows read again at the end. */
#include "pg/store_pg.h"

#include "pg/pq_lib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"
#include "ops/store_backend.h"
#include "pg/store_pg_batch.h"
#include "pg/store_pg_conn.h"
#include "pg/store_pg_pipe.h"
#include "pg/store_pg_pool.h"
#include "pg/store_pg_touched.h"
#include "pg/store_pg_ucache.h"
#include "pg/store_pg_usnap.h"
#include "pg/store_pg_wcache.h"

#define POOL_MAX_CAP 1024

struct pg_store {
    struct mp_store base;
    struct mp_pg_pool pool; /* store_pg_pool.h */
};

/* A write transaction's user whose snapshot is asked for (hint_write()),
 * its row not read yet. */
struct hint {
    unsigned char part[MP_STORE_USER_PREFIX_MAX];
    size_t plen;
    PGresult *res; /* the snapshot's row, at the next settle */
};
#define HINTS_MAX 32

struct pg_txn {
    struct mp_pg_pipe pipe;       /* a write transaction's (pipe.conn NULL: a read) */
    struct mp_pg_wcache wc;       /* a write transaction's users (store_pg_wcache.h) */
    struct mp_pg_batch batch;     /* its puts not yet queued (store_pg_batch.h) */
    struct mp_pg_ucache cache;    /* a read transaction's user (store_pg_ucache.h) */
    struct hint hints[HINTS_MAX]; /* asked, not yet in wc */
    size_t nhints;
    struct mp_pg_touched touched; /* users whose snapshot rows it changed */
    PGconn *conn;
    PGresult **held; /* results whose bytes a get handed out */
    size_t nheld, cap;
    /* A write transaction's last read of a meta record (store-wide, read
       by every op of an apply): answered again without a round trip until
       a write to the table. */
    PGresult *meta;
    unsigned char meta_key[MP_STORE_KEY_MAX];
    size_t meta_klen;
    bool retry;  /* a statement failed with a serialization failure or deadlock */
    bool broken; /* the connection failed: close it at end */
    bool fresh;  /* the connection is new to this transaction */
    bool sent;   /* a settle of the pipe has run (the connection answered) */
};

static struct pg_store *pg_of(const struct mp_store *s)
{
    return (struct pg_store *)s;
}

/* ---- statements ---- */

static void release_held(struct pg_txn *x)
{
    for (size_t i = 0; i < x->nheld; i++)
        mp_pq.clear(x->held[i]);
    x->nheld = 0;
}

/* A failed statement: notes whether running the transaction again may
 * help, and whether the connection is gone. Clears r. */
static int failed(struct pg_txn *x, PGresult *r)
{
    if (mp_pg_retryable(r))
        x->retry = true;
    if (mp_pq.status(x->conn) != CONNECTION_OK)
        x->broken = true;
    mp_pq.clear(r);
    return MP_EIO;
}

/* The pipe's failure (store_pg_pipe.h) into the transaction's flags. A
 * connection found broken by the transaction's first round trip was one
 * the server closed while it sat idle (a restart closes them all): the
 * transaction runs again on another, unless the connection was a new one
 * or COMMIT went out (it may have committed). */
static int pipe_failed(struct pg_txn *x)
{
    if (x->pipe.fail != NULL && mp_pg_retryable(x->pipe.fail))
        x->retry = true;
    if (x->pipe.broken) {
        x->broken = true;
        if (!x->sent && !x->fresh)
            x->retry = true;
    }
    return MP_EIO;
}

/* The snapshots asked for into the transaction's copy (none read: not
 * covered). */
static void take_hints(struct pg_txn *x)
{
    for (size_t i = 0; i < x->nhints; i++) {
        struct hint *h = &x->hints[i];
        size_t n = h->res != NULL && mp_pq.ntuples(h->res) == 1
                       ? (size_t)mp_pq.getlength(h->res, 0, 0)
                       : 0;
        mp_pg_wcache_add(&x->wc, h->part, h->plen,
                         n > 0 ? (const unsigned char *)mp_pq.getvalue(h->res, 0, 0) : NULL, n);
        mp_pq.clear(h->res);
        h->res = NULL;
    }
    x->nhints = 0;
}

/* Settles the write transaction's pipe (mp_pg_pipe_settle()). */
static int settle(struct pg_txn *x)
{
    int rc = mp_pg_pipe_settle(&x->pipe);
    if (rc != MP_OK)
        pipe_failed(x);
    x->sent = true;
    take_hints(x);
    return rc;
}

/* Before a write transaction's statement: the snapshots asked for are in
 * (they were queued first: they show the user before it). */
static void hints_in(struct pg_txn *x)
{
    if (x->nhints > 0)
        settle(x);
}

/* Queues the puts gathered so far as one statement (store_pg_batch.h):
 * MP_OK or MP_EIO. */
static int queue_puts(struct pg_txn *x)
{
    const char *values[4];
    int lengths[4];
    static const int formats[4] = {1, 1, 1, 1};
    if (x->batch.n == 0)
        return MP_OK;
    mp_pg_batch_params(&x->batch, values, lengths);
    int rc = mp_pg_pipe_queue(&x->pipe, mp_pg_stmt_names[MP_PG_STMT_PUT_MANY], 4, values, lengths,
                              formats, NULL);
    mp_pg_batch_reset(&x->batch);
    return rc == MP_OK ? MP_OK : pipe_failed(x);
}

/* Queues statement i in the write transaction's pipe after the puts
 * gathered before it (mp_pg_pipe_queue()): MP_OK or MP_EIO. */
static int pipe_queue(struct pg_txn *x, enum mp_pg_stmt i, int n, const char *const *values,
                      const int *lengths, const int *formats, PGresult **into)
{
    if (queue_puts(x) != MP_OK)
        return MP_EIO;
    if (mp_pg_pipe_queue(&x->pipe, mp_pg_stmt_names[i], n, values, lengths, formats, into) != MP_OK)
        return pipe_failed(x);
    return MP_OK;
}

/* Runs prepared statement i with the table t (text) and up to three bytea
 * parameters (binary), for a binary result: MP_OK with *out (the caller
 * clears it), PGRES_COMMAND_OK or PGRES_TUPLES_OK; MP_EIO (the flags say
 * why). out NULL: the result is not needed; a write transaction then
 * queues the statement without waiting (a failure shows at a later
 * statement or at COMMIT). */
static int run(struct pg_txn *x, enum mp_pg_stmt i, enum mp_store_table t, int nbytes,
               const void *const *bytes, const size_t *lens, PGresult **out)
{
    char tbuf[8];
    const char *values[4];
    int lengths[4], formats[4];
    snprintf(tbuf, sizeof(tbuf), "%d", (int)t);
    values[0] = tbuf;
    lengths[0] = 0;
    formats[0] = 0;
    for (int j = 0; j < nbytes; j++) {
        values[j + 1] = lens[j] > 0 ? bytes[j] : "";
        lengths[j + 1] = (int)lens[j];
        formats[j + 1] = 1;
    }
    if (x->pipe.conn != NULL) {
        if (pipe_queue(x, i, nbytes + 1, values, lengths, formats, out) != MP_OK)
            return MP_EIO;
        return out != NULL ? settle(x) : MP_OK;
    }
    PGresult *r =
        mp_pq.execPrepared(x->conn, mp_pg_stmt_names[i], nbytes + 1, values, lengths, formats, 1);
    ExecStatusType st = mp_pq.resultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return failed(x, r);
    if (out != NULL)
        *out = r;
    else
        mp_pq.clear(r);
    return MP_OK;
}

/* The part column of key k in table t into out (MP_STORE_USER_PREFIX_MAX
 * bytes): the user it belongs to as its prefix P (u16be length | physical
 * key, store_backend.h), the same for every table of the user; empty for
 * tables of no user. Its length. */
static size_t part_of(enum mp_store_table t, const unsigned char *k, size_t klen,
                      unsigned char *out)
{
    size_t n = 0;
    switch (mp_store_table_shapes[t]) {
    case MP_KEY_USER:
        if (klen > MP_STORE_PHYS_USER_MAX)
            return 0;
        mp_codec_be_put(out, klen, 2);
        memcpy(out + 2, k, klen);
        return 2 + klen;
    case MP_KEY_USER_PREFIXED:
    case MP_KEY_USER_TAG:
        if (klen >= 2 && 2 + mp_codec_be_get(k, 2) <= klen)
            n = 2 + (size_t)mp_codec_be_get(k, 2);
        if (n > MP_STORE_USER_PREFIX_MAX)
            n = 0;
        memcpy(out, k, n);
        return n;
    default:
        return 0;
    }
}

/* ---- one user's records at once ---- */

/* A write transaction's hint: the user's snapshot, unpacked into its own
 * copy (store_pg_wcache.h). Queued, not waited for: the snapshots of every
 * user an apply names travel together, with BEGIN, and arrive with the
 * next statement that waits (hints_in()). Not for a user the transaction
 * wrote already (the snapshot's row does not hold that yet). A failed
 * read leaves the transaction failed: its next statement fails as it
 * should. */
static void hint_write(struct pg_txn *x, const unsigned char *prefix, size_t plen)
{
    bool known = mp_pg_wcache_user(&x->wc, prefix, plen) != NULL, wrote = false;
    for (size_t i = 0; i < x->nhints; i++)
        known |= x->hints[i].plen == plen && memcmp(x->hints[i].part, prefix, plen) == 0;
    wrote = mp_pg_touched_has(&x->touched, prefix, plen);
    if (known || x->pipe.failed || x->broken)
        return;
    if (wrote) {
        mp_pg_wcache_add(&x->wc, prefix, plen, NULL, 0);
        return;
    }
    if (x->nhints == HINTS_MAX && settle(x) != MP_OK)
        return;
    struct hint *h = &x->hints[x->nhints];
    const char *values[1] = {(const char *)prefix};
    int lengths[1] = {(int)plen}, formats[1] = {1};
    memcpy(h->part, prefix, plen);
    h->plen = plen;
    if (pipe_queue(x, MP_PG_STMT_USNAP_GET, 1, values, lengths, formats, &h->res) != MP_OK) {
        return;
    }
    x->nhints++;
}

static void pg_hint_user(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen)
{
    struct pg_txn *x = txn->handle;
    struct mp_pg_ucache *c = &x->cache;
    if (plen == 0 || plen > sizeof(c->prefix))
        return;
    if (txn->write) {
        hint_write(x, prefix, plen);
        return;
    }
    if (c->res != NULL)
        return;
    const char *values[1] = {(const char *)prefix};
    int lengths[1] = {(int)plen}, formats[1] = {1};
    PGresult *r = mp_pq.execPrepared(x->conn, mp_pg_stmt_names[MP_PG_STMT_HINT], 1, values, lengths,
                                     formats, 1);
    if (mp_pq.resultStatus(r) != PGRES_TUPLES_OK) {
        failed(x, r); /* the transaction is aborted: its next read fails as it should */
        return;
    }
    mp_pg_ucache_take(c, r, prefix, plen); /* or a big user: read as needed */
}

/* ---- the primitives ---- */

#define READ_BEGIN "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"

/* A write transaction's pipe, BEGIN queued: it goes with the first
 * statement that waits. */
static bool start_write(struct pg_txn *x)
{
    if (mp_pg_pipe_start(&x->pipe, x->conn) == MP_OK &&
        mp_pg_pipe_queue_sql(&x->pipe, "BEGIN ISOLATION LEVEL SERIALIZABLE") == MP_OK)
        return true;
    memset(&x->pipe, 0, sizeof(x->pipe));
    return false;
}

static int pg_begin(struct mp_store *store, bool write, struct mp_store_txn *txn)
{
    struct pg_store *s = pg_of(store);
    struct pg_txn *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return MP_EIO;
    /* a connection the server closed while idle (a restart closes them
       all) shows it by a readable end of file, or fails its first
       statement: the next one, until a fresh one */
    for (size_t attempt = 0; attempt <= s->pool.max; attempt++) {
        bool fresh = false;
        x->conn = mp_pg_pool_take(&s->pool, &fresh);
        if (x->conn == NULL)
            break;
        x->fresh = fresh;
        x->wc.sealed = store->sealed;
        if (!fresh &&
            (mp_pq.consumeInput(x->conn) != 1 || mp_pq.status(x->conn) != CONNECTION_OK)) {
            mp_pg_pool_give(&s->pool, x->conn, true);
            continue;
        }
        if (write ? start_write(x) : mp_pg_exec_ok(x->conn, READ_BEGIN)) {
            memset(txn, 0, sizeof(*txn));
            txn->store = store;
            txn->handle = x;
            txn->write = write;
            return MP_OK;
        }
        mp_pg_pool_give(&s->pool, x->conn, true);
        x->conn = NULL;
        if (fresh)
            break;
    }
    free(x);
    return MP_EIO;
}

/* Keeps r until the next put or del (the bytes a get handed out): MP_OK
 * or MP_ENOMEM. */
static int hold(struct pg_txn *x, PGresult *r)
{
    if (x->nheld == x->cap) {
        size_t cap = x->cap > 0 ? x->cap * 2 : 16;
        PGresult **held = realloc(x->held, cap * sizeof(*held));
        if (held == NULL)
            return MP_ENOMEM;
        x->held = held;
        x->cap = cap;
    }
    x->held[x->nheld++] = r;
    return MP_OK;
}

/* A get's answer from r (a single-value statement's result). */
static int answer(const PGresult *r, const unsigned char **val, size_t *vlen)
{
    if (mp_pq.ntuples(r) == 0)
        return MP_NOTFOUND;
    *val = (const unsigned char *)mp_pq.getvalue(r, 0, 0);
    *vlen = (size_t)mp_pq.getlength(r, 0, 0);
    return MP_OK;
}

/* A write to table t ends what a get of it handed out. */
static void wrote_table(struct pg_txn *x, enum mp_store_table t)
{
    release_held(x);
    if (t == MP_TABLE_META) {
        mp_pq.clear(x->meta);
        x->meta = NULL;
    }
}

static int pg_get(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                  const unsigned char **val, size_t *vlen)
{
    struct pg_txn *x = txn->handle;
    hints_in(x);
    unsigned char part[MP_STORE_USER_PREFIX_MAX];
    const struct mp_pg_wuser *u =
        x->wc.n > 0 ? mp_pg_wcache_covering(&x->wc, t, part, part_of(t, key, klen, part)) : NULL;
    if (u != NULL)
        return mp_pg_wcache_get(u, t, key, klen, val, vlen);
    if (mp_pg_ucache_covers(&x->cache, t, key, klen))
        return mp_pg_ucache_get(&x->cache, t, key, klen, val, vlen);
    bool memo = txn->write && t == MP_TABLE_META && klen <= sizeof(x->meta_key);
    if (memo && x->meta != NULL && x->meta_klen == klen && memcmp(x->meta_key, key, klen) == 0)
        return answer(x->meta, val, vlen);
    const void *b[1] = {key};
    size_t l[1] = {klen};
    PGresult *r = NULL;
    if (run(x, MP_PG_STMT_GET, t, 1, b, l, &r) != MP_OK)
        return MP_EIO;
    if (memo && (x->meta == NULL || hold(x, x->meta) == MP_OK)) {
        x->meta = r; /* the one before stays valid until the next write */
        memcpy(x->meta_key, key, klen);
        x->meta_klen = klen;
        return answer(r, val, vlen);
    }
    if (mp_pq.ntuples(r) == 0) {
        mp_pq.clear(r);
        return MP_NOTFOUND;
    }
    if (hold(x, r) != MP_OK) {
        mp_pq.clear(r);
        return MP_ENOMEM;
    }
    return answer(r, val, vlen);
}

/* Queues what a user's snapshot becomes (act, v[0..vlen)): MP_OK or
 * MP_EIO. */
static int queue_snapshot(struct pg_txn *x, const unsigned char *part, size_t plen,
                          enum mp_pg_usnap_act act, const unsigned char *v, size_t vlen)
{
    const char *values[2] = {(const char *)part, v != NULL ? (const char *)v : ""};
    const int lengths[2] = {(int)plen, (int)vlen}, formats[2] = {1, 1};
    if (act == MP_PG_USNAP_KEEP)
        return MP_OK;
    return pipe_queue(x, act == MP_PG_USNAP_PUT ? MP_PG_STMT_USNAP_PUT : MP_PG_STMT_USNAP_DEL,
                      act == MP_PG_USNAP_PUT ? 2 : 1, values, lengths, formats, NULL);
}

/* Queues the snapshot of a user the transaction holds a copy of: no rows
 * to read. */
static int snapshot_from_copy(struct pg_txn *x, const struct mp_pg_wuser *u)
{
    unsigned char *v = NULL;
    size_t vlen = 0;
    bool none = false;
    int rc = mp_pg_wcache_pack(u, &v, &vlen, &none);
    if (rc == MP_OK)
        rc = queue_snapshot(x, u->part, u->plen, none ? MP_PG_USNAP_DELETE : MP_PG_USNAP_PUT, v,
                            vlen);
    free(v);
    return rc;
}

/* Queues the new snapshots of touched users [from, to) after reading
 * their rows in one round trip: MP_OK, MP_EIO (the flags say why),
 * MP_ENOMEM. */
static int rebuild_some(struct pg_txn *x, size_t from, size_t to, PGresult **rows)
{
    int rc = x->pipe.queued + (to - from) >= MP_PG_PIPE_QUEUE_MAX ? settle(x) : MP_OK;
    for (size_t i = from; rc == MP_OK && i < to; i++) {
        const struct mp_pg_touched_user *u = &x->touched.u[i];
        const char *values[2] = {(const char *)u->part, u->deleted ? "true" : "false"};
        const int lengths[2] = {(int)u->plen, 0}, formats[2] = {1, 0};
        rc = pipe_queue(x, MP_PG_STMT_USNAP_ROWS, 2, values, lengths, formats, &rows[i - from]);
    }
    if (rc == MP_OK)
        rc = settle(x);
    for (size_t i = from; i < to; i++) {
        enum mp_pg_usnap_act act = MP_PG_USNAP_KEEP;
        unsigned char *v = NULL;
        size_t vlen = 0;
        if (rc == MP_OK)
            rc = mp_pg_usnap_from_rows(rows[i - from], &act, &v, &vlen);
        mp_pq.clear(rows[i - from]);
        rows[i - from] = NULL;
        if (rc == MP_OK)
            rc = queue_snapshot(x, x->touched.u[i].part, x->touched.u[i].plen, act, v, vlen);
        free(v);
    }
    return rc;
}

/* Queues the new snapshots of the users the transaction changed (their
 * rows read in one round trip per REBUILD_BATCH users): MP_OK, or MP_EIO
 * (the flags say whether to run it again), MP_ENOMEM. */
#define REBUILD_BATCH 32
static int rebuild_touched(struct pg_txn *x)
{
    PGresult *rows[REBUILD_BATCH] = {NULL};
    int rc = MP_OK;
    size_t left = 0;
    for (size_t i = 0; rc == MP_OK && i < x->touched.n; i++) {
        const struct mp_pg_wuser *u =
            mp_pg_wcache_user(&x->wc, x->touched.u[i].part, x->touched.u[i].plen);
        if (u != NULL && u->covered)
            rc = snapshot_from_copy(x, u);
        else
            x->touched.u[left++] = x->touched.u[i];
    }
    x->touched.n = left;
    for (size_t from = 0; rc == MP_OK && from < x->touched.n; from += REBUILD_BATCH) {
        size_t to = x->touched.n - from > REBUILD_BATCH ? from + REBUILD_BATCH : x->touched.n;
        rc = rebuild_some(x, from, to, rows);
    }
    return rc;
}

static int pg_put(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    struct pg_txn *x = txn->handle;
    hints_in(x);
    wrote_table(x, t);
    unsigned char part[MP_STORE_USER_PREFIX_MAX];
    size_t plen = part_of(t, key, klen, part);
    const void *b[3] = {key, part, val};
    size_t l[3] = {klen, plen, vlen};
    struct mp_pg_wuser *u = mp_pg_wcache_covering(&x->wc, t, part, plen);
    if (mp_pg_touched_add(&x->touched, t, txn->store->sealed, part, plen, false) != MP_OK ||
        (u != NULL && mp_pg_wcache_put(u, t, key, klen, val, vlen) != MP_OK))
        return MP_ENOMEM;
    if (x->pipe.conn == NULL)
        return run(x, MP_PG_STMT_PUT, t, 3, b, l, NULL);
    if (x->pipe.failed || x->broken)
        return MP_EIO;
    if (mp_pg_batch_add(&x->batch, (int)t, key, klen, part, plen, val, vlen) != MP_OK)
        return MP_ENOMEM;
    return mp_pg_batch_full(&x->batch) ? queue_puts(x) : MP_OK;
}

static int pg_del(struct mp_store_txn *txn, enum mp_store_table t, const void *key, size_t klen)
{
    struct pg_txn *x = txn->handle;
    hints_in(x);
    wrote_table(x, t);
    const void *b[1] = {key};
    size_t l[1] = {klen};
    unsigned char part[MP_STORE_USER_PREFIX_MAX];
    size_t plen = part_of(t, key, klen, part);
    struct mp_pg_wuser *u = mp_pg_wcache_covering(&x->wc, t, part, plen);
    if (u != NULL && mp_pg_wcache_del(u, t, key, klen) != MP_OK)
        return MP_NOTFOUND; /* known without asking */
    if (mp_pg_touched_add(&x->touched, t, txn->store->sealed, part, plen, true) != MP_OK)
        return MP_ENOMEM;
    if (u != NULL)
        return run(x, MP_PG_STMT_DEL, t, 1, b, l, NULL); /* it is there: nothing to wait for */
    PGresult *r = NULL;
    if (run(x, MP_PG_STMT_DEL, t, 1, b, l, &r) != MP_OK)
        return MP_EIO;
    int n = atoi(mp_pq.cmdTuples(r));
    mp_pq.clear(r);
    return n > 0 ? MP_OK : MP_NOTFOUND;
}

/* One statement for the whole range (the primary key's order is the
 * keys' byte order), the user's snapshot rebuilt at the end as for a
 * delete. */
static int pg_del_prefix(struct mp_store_txn *txn, enum mp_store_table t, const void *prefix,
                         size_t plen)
{
    struct pg_txn *x = txn->handle;
    hints_in(x);
    unsigned char part[MP_STORE_USER_PREFIX_MAX], upper[MP_STORE_KEY_MAX];
    wrote_table(x, t);
    size_t partlen = part_of(t, prefix, plen, part);
    size_t ulen = plen <= sizeof(upper) ? mp_store_backend_prefix_end(prefix, plen, upper) : 0;
    if (partlen == 0 || ulen == 0)
        return MP_EINVAL;
    if (mp_pg_touched_add(&x->touched, t, txn->store->sealed, part, partlen, true) != MP_OK)
        return MP_ENOMEM;
    struct mp_pg_wuser *u = mp_pg_wcache_covering(&x->wc, t, part, partlen);
    if (u != NULL)
        mp_pg_wcache_del_range(u, t, prefix, plen, upper, ulen);
    const void *b[2] = {prefix, upper};
    size_t l[2] = {plen, ulen};
    return run(x, MP_PG_STMT_DEL_RANGE, t, 2, b, l, NULL);
}

static int pg_scan(struct mp_store_txn *txn, enum mp_store_table t, const void *start, size_t slen,
                   size_t plen, mp_store_scan_fn fn, void *arg)
{
    struct pg_txn *x = txn->handle;
    hints_in(x);
    unsigned char part[MP_STORE_USER_PREFIX_MAX];
    size_t partlen =
        x->wc.n > 0 && mp_store_table_shapes[t] != MP_KEY_USER ? part_of(t, start, slen, part) : 0;
    const struct mp_pg_wuser *u =
        partlen > 0 && plen >= partlen ? mp_pg_wcache_covering(&x->wc, t, part, partlen) : NULL;
    if (u != NULL)
        return mp_pg_wcache_scan(u, t, start, slen, plen, fn, arg);
    if (mp_pg_ucache_covers_scan(&x->cache, t, start, plen))
        return mp_pg_ucache_scan(&x->cache, t, start, slen, plen, fn, arg);
    unsigned char from[MP_STORE_KEY_MAX], upper[MP_STORE_KEY_MAX];
    size_t flen = slen, ulen = plen > 0 ? mp_store_backend_prefix_end(start, plen, upper) : 0;
    bool first = true;
    if (slen > sizeof(from))
        return MP_EINVAL;
    if (slen > 0)
        memcpy(from, start, slen);
    for (;;) {
        const void *b[2] = {from, upper};
        size_t l[2] = {flen, ulen};
        enum mp_pg_stmt st = ulen > 0 ? (first ? MP_PG_STMT_SCAN_RANGE : MP_PG_STMT_SCAN_RANGE_NEXT)
                                      : (first ? MP_PG_STMT_SCAN_FROM : MP_PG_STMT_SCAN_FROM_NEXT);
        PGresult *r = NULL;
        if (run(x, st, t, ulen > 0 ? 2 : 1, b, l, &r) != MP_OK)
            return MP_EIO;
        int n = mp_pq.ntuples(r);
        for (int i = 0; i < n; i++) {
            const unsigned char *k = (const unsigned char *)mp_pq.getvalue(r, i, 0);
            size_t klen = (size_t)mp_pq.getlength(r, i, 0);
            if (plen > 0 && (klen < plen || memcmp(k, start, plen) != 0))
                continue; /* past the prefix (no upper bound: all 0xff) */
            int rc = fn(arg, k, klen, (const unsigned char *)mp_pq.getvalue(r, i, 1),
                        (size_t)mp_pq.getlength(r, i, 1));
            if (rc != MP_OK) {
                mp_pq.clear(r);
                return rc == MP_STORE_SCAN_STOP ? MP_OK : rc;
            }
        }
        if (n > 0) {
            flen = (size_t)mp_pq.getlength(r, n - 1, 0);
            memcpy(from, mp_pq.getvalue(r, n - 1, 0), flen > sizeof(from) ? sizeof(from) : flen);
        }
        mp_pq.clear(r);
        if (n < atoi(MP_PG_SCAN_BATCH))
            return MP_OK;
        first = false;
    }
}

/* A write transaction's end: the snapshots and COMMIT in the pipe, one
 * round trip for both unless a snapshot needs its rows read; then out of
 * pipeline mode, and a ROLLBACK for a transaction left open. */
static int end_write(struct pg_txn *x, bool commit)
{
    int rc = x->retry ? MP_AGAIN : commit ? MP_EIO : MP_OK;
    hints_in(x);
    if (commit && !x->retry && !x->broken && !x->pipe.failed) {
        rc = rebuild_touched(x);
        x->sent = true; /* from here a broken connection may have committed */
        if (rc == MP_OK)
            rc = queue_puts(x);
        if (rc == MP_OK && mp_pg_pipe_queue_sql(&x->pipe, "COMMIT") != MP_OK)
            rc = pipe_failed(x);
        if (rc == MP_OK)
            rc = settle(x);
        if (rc != MP_OK)
            rc = x->retry ? MP_AGAIN : rc == MP_ENOMEM ? MP_ENOMEM : MP_EIO;
    } else if (!x->broken && !x->pipe.failed) {
        mp_pg_pipe_queue_sql(&x->pipe, "ROLLBACK"); /* settled by the stop */
    }
    if (mp_pg_pipe_stop(&x->pipe) != MP_OK)
        x->broken = true;
    take_hints(x); /* any the stop read */
    if (!x->broken && mp_pq.transactionStatus(x->conn) != PQTRANS_IDLE &&
        !mp_pg_exec_ok(x->conn, "ROLLBACK"))
        x->broken = true;
    return rc;
}

static int pg_end(struct mp_store_txn *txn, bool commit)
{
    struct pg_txn *x = txn->handle;
    struct pg_store *s = pg_of(txn->store);
    int rc = MP_OK;
    release_held(x);
    mp_pq.clear(x->meta);
    mp_pg_ucache_cleanup(&x->cache);
    if (x->pipe.conn != NULL) {
        rc = end_write(x, commit);
    } else if (commit && !x->retry && !x->broken) {
        PGresult *r = mp_pq.exec(x->conn, "COMMIT");
        if (mp_pq.resultStatus(r) != PGRES_COMMAND_OK) {
            rc = mp_pg_retryable(r) ? MP_AGAIN : MP_EIO;
            x->broken = mp_pq.status(x->conn) != CONNECTION_OK;
        }
        mp_pq.clear(r);
    } else {
        if (!x->broken && !mp_pg_exec_ok(x->conn, "ROLLBACK"))
            x->broken = true;
        rc = x->retry ? MP_AGAIN : commit ? MP_EIO : MP_OK;
    }
    mp_pg_pool_give(&s->pool, x->conn, x->broken);
    free(x->held);
    mp_pg_touched_cleanup(&x->touched);
    mp_pg_wcache_cleanup(&x->wc);
    mp_pg_batch_cleanup(&x->batch);
    free(x);
    txn->handle = NULL;
    return rc;
}

/* ---- the whole store ---- */

static int pg_stats(struct mp_store *store, struct mp_store_stats *out)
{
    struct mp_store_txn txn;
    memset(out, 0, sizeof(*out));
    if (pg_begin(store, false, &txn) != MP_OK)
        return MP_EIO;
    struct pg_txn *x = txn.handle;
    PGresult *r = mp_pq.exec(
        x->conn, "SELECT pg_total_relation_size('mp_kv') + pg_total_relation_size('mp_usnap')");
    int rc = mp_pq.resultStatus(r) == PGRES_TUPLES_OK && mp_pq.ntuples(r) == 1 ? MP_OK : MP_EIO;
    if (rc == MP_OK)
        out->map_used = out->map_size = strtoull(mp_pq.getvalue(r, 0, 0), NULL, 10);
    mp_pq.clear(r);
    pg_end(&txn, false);
    struct pg_store *s = pg_of(store);
    size_t busy, max;
    mp_pg_pool_counts(&s->pool, &busy, &max);
    out->readers_used = (uint32_t)busy;
    out->readers_max = (uint32_t)max;
    return rc;
}

/* VACUUM FULL rewrites the tables and their indexes without dead rows, so no
 * byte of an erased record stays in the database's files. */
static int pg_compact(struct mp_store *store, char *err, size_t errcap)
{
    struct pg_store *s = pg_of(store);
    bool fresh;
    PGconn *c = mp_pg_pool_take(&s->pool, &fresh);
    if (c == NULL) {
        snprintf(err, errcap, "cannot compact: PostgreSQL cannot be reached");
        return MP_EIO;
    }
    bool ok = mp_pg_exec_ok(c, "VACUUM FULL mp_kv, mp_usnap");
    if (!ok)
        snprintf(err, errcap, "VACUUM FULL failed: %s", mp_pg_cause(c));
    mp_pg_pool_give(&s->pool, c, !ok);
    return ok ? MP_OK : MP_EIO;
}

static void pg_close(struct mp_store *store)
{
    struct pg_store *s = pg_of(store);
    mp_pg_pool_cleanup(&s->pool);
    free(s);
}

static const struct mp_store_backend pg_backend;

const char *mp_store_pg_conninfo(const struct mp_store *store)
{
    return store != NULL && store->be == &pg_backend ? pg_of(store)->pool.conninfo : NULL;
}

static const struct mp_store_backend pg_backend = {
    .name = "postgres",
    .shared = true,
    .begin = pg_begin,
    .get = pg_get,
    .put = pg_put,
    .del = pg_del,
    .del_prefix = pg_del_prefix,
    .scan = pg_scan,
    .end = pg_end,
    .hint_user = pg_hint_user,
    .stats = pg_stats,
    .compact = pg_compact,
    .close = pg_close,
};

int mp_store_open_pg(const struct mp_store_pg_options *opts, struct mp_store **out, char *err,
                     size_t errcap)
{
    int from = 0;
    if (opts->conninfo == NULL || opts->pool == 0 || opts->pool > POOL_MAX_CAP) {
        snprintf(err, errcap, "PostgreSQL store: no connection string or a bad pool size");
        return MP_EIO;
    }
    int rc = opts->migrate ? mp_store_pg_migrate(opts->conninfo, &from, err, errcap)
                           : mp_store_pg_check_schema(opts->conninfo, err, errcap);
    if (rc != MP_OK)
        return MP_EIO;
    struct pg_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MP_ENOMEM;
    s->base.be = &pg_backend;
    s->base.sealed = opts->key != NULL;
    if (opts->key != NULL)
        s->base.key = *opts->key;
    if (mp_pg_pool_init(&s->pool, opts->conninfo, opts->pool, s->base.sealed) != MP_OK) {
        pg_close(&s->base);
        return MP_ENOMEM;
    }
    if (mp_store_pg_attach(&s->base, s->pool.conninfo, err, errcap) != MP_OK) {
        pg_close(&s->base);
        return MP_EIO;
    }
    *out = &s->base;
    return MP_OK;
}
