/* The non-blocking link (store_pg_link.h): libpq's connect polling, then
 * pipeline mode with a queue of the results each sent statement will
 * give, in order. A round is its statements and a Sync; the Sync's result
 * ends it and calls its fetch back. */
#include "pg/store_pg_link.h"

#include "pg/pq_lib.h"
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "pg/store_pg_conn.h"
#include "pg/store_pg_rcache.h"
#include "pg/store_pg_usnap.h"
#include "snap/store_snap.h"

/* What one expected result is for. */
enum expect {
    EXPECT_SETUP,    /* the session settings: any error breaks the link */
    EXPECT_BEGIN,    /* TXN_USER's BEGIN */
    EXPECT_USER,     /* USER's statement: its results end the round (no Sync of its own) */
    EXPECT_USER_TXN, /* the same, in TXN_USER */
    EXPECT_MISS,     /* misses[index] of the fetch's snapshot */
    EXPECT_END,      /* ROLLBACK */
    EXPECT_SYNC      /* the round's end */
};

struct slot {
    struct mp_pg_fetch *f; /* NULL: forgotten, or no fetch */
    enum expect what;
    unsigned index;
    bool got; /* its result came (a NULL from libpq ends it) */
};

struct mp_pg_link {
    PGconn *conn;
    bool connected;
    bool broken;                    /* failed: it sends nothing more */
    PostgresPollingStatusType poll; /* while connecting */
    bool want_write;                /* output is waiting to be flushed */
    unsigned timeout_ms;
    struct slot *q; /* a ring of expected results */
    size_t head, n, cap;
    size_t rounds;              /* rounds and Syncs in flight */
    size_t unsynced;            /* USER statements sent since the last Sync */
    struct mp_pg_rcache *cache; /* the users its USER rounds built (store_pg_rcache.h) */
};

/* ---- the queue of expected results ---- */

static int push(struct mp_pg_link *l, struct mp_pg_fetch *f, enum expect what, unsigned index)
{
    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? l->cap * 2 : 32;
        struct slot *q = malloc(cap * sizeof(*q));
        if (q == NULL)
            return MP_ENOMEM;
        for (size_t i = 0; i < l->n; i++)
            q[i] = l->q[(l->head + i) % l->cap];
        free(l->q);
        l->q = q;
        l->head = 0;
        l->cap = cap;
    }
    l->q[(l->head + l->n) % l->cap] = (struct slot){.f = f, .what = what, .index = index};
    l->n++;
    if (what == EXPECT_SYNC || what == EXPECT_USER)
        l->rounds++;
    return MP_OK;
}

static struct slot *front(struct mp_pg_link *l)
{
    return l->n > 0 ? &l->q[l->head] : NULL;
}

static void pop(struct mp_pg_link *l)
{
    if (l->q[l->head].what == EXPECT_SYNC || l->q[l->head].what == EXPECT_USER)
        l->rounds--;
    l->head = (l->head + 1) % l->cap;
    l->n--;
}

/* ---- statements ---- */

static bool send_plain(struct mp_pg_link *l, const char *sql)
{
    return mp_pq.sendQueryParams(l->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

/* The statements, prepared once per connection (setup()): no planning
 * per request. The user's rows ($1 part; unordered, $2 the version of its
 * snapshot held) [ordered][with the derived tables]; a range of a table. */
static const char *const user_stmts[2][2] = {{"mp_user", "mp_user_d"}, {"mp_user_o", "mp_user_od"}};
#define STMT_RANGE "mp_range" /* $1 t, $2 from, $3 limit, $4 below */
#define STMT_FROM  "mp_from"  /* $1 t, $2 from, $3 limit */

static bool prepare(struct mp_pg_link *l)
{
    static const Oid user_types[2] = {MP_PG_OID_BYTEA, MP_PG_OID_BYTEA};
    static const Oid range_types[4] = {MP_PG_OID_INT2, MP_PG_OID_BYTEA, MP_PG_OID_INT4,
                                       MP_PG_OID_BYTEA};
    char sql[MP_PG_USER_SQL_MAX];
    for (int ordered = 0; ordered < 2; ordered++) {
        for (int derived = 0; derived < 2; derived++) {
            mp_pg_user_sql(sql, ordered, derived);
            if (mp_pq.sendPrepare(l->conn, user_stmts[ordered][derived], sql, ordered ? 1 : 2,
                                  user_types) != 1 ||
                push(l, NULL, EXPECT_SETUP, 0) != MP_OK)
                return false;
        }
    }
    return mp_pq.sendPrepare(l->conn, STMT_RANGE,
                             "SELECT k, v FROM mp_kv WHERE t = $1 AND k >= $2 AND k < $4 "
                             "ORDER BY k LIMIT $3",
                             4, range_types) == 1 &&
           push(l, NULL, EXPECT_SETUP, 0) == MP_OK &&
           mp_pq.sendPrepare(l->conn, STMT_FROM,
                             "SELECT k, v FROM mp_kv WHERE t = $1 AND k >= $2 ORDER BY k LIMIT $3",
                             3, range_types) == 1 &&
           push(l, NULL, EXPECT_SETUP, 0) == MP_OK;
}

/* The user's rows: in a transaction ordered (a bigger user's first rows
 * then cover whole tables: take_user()), else as the server finds them
 * (the snapshot sorts them), with the version of the user's snapshot the
 * cache holds; the derived tables only for a sealed store (a clear one's
 * reader derives them: mp_pg_derived_table()). */
static bool send_user(struct mp_pg_link *l, const struct mp_pg_fetch *f, bool ordered)
{
    const unsigned char *ver = NULL;
    size_t vlen = ordered ? 0 : mp_pg_rcache_version(l->cache, f->prefix, f->plen, &ver);
    const char *values[2] = {(const char *)f->prefix, vlen > 0 ? (const char *)ver : ""};
    int lengths[2] = {(int)f->plen, (int)vlen}, formats[2] = {1, 1};
    return mp_pq.sendQueryPrepared(l->conn, user_stmts[ordered][f->snap->sealed], ordered ? 1 : 2,
                                   values, lengths, formats, 1) == 1;
}

static bool send_miss(struct mp_pg_link *l, const struct mp_snap_range *r)
{
    char tbuf[8], nbuf[16];
    snprintf(tbuf, sizeof(tbuf), "%d", (int)r->t);
    snprintf(nbuf, sizeof(nbuf), "%u", r->limit);
    const char *values[4] = {tbuf, r->lolen > 0 ? (const char *)r->lo : "", nbuf,
                             (const char *)r->hi};
    int lengths[4] = {0, (int)r->lolen, 0, (int)r->hilen}, formats[4] = {0, 1, 0, 1};
    return mp_pq.sendQueryPrepared(l->conn, r->hilen > 0 ? STMT_RANGE : STMT_FROM,
                                   r->hilen > 0 ? 4 : 3, values, lengths, formats, 1) == 1;
}

/* Sends what libpq holds: MP_OK (want_write says whether some is left),
 * MP_EIO. */
static int flush(struct mp_pg_link *l)
{
    int rc = mp_pq.flush(l->conn);
    l->want_write = rc == 1;
    return rc < 0 ? MP_EIO : MP_OK;
}

static int queue_round(struct mp_pg_link *l, struct mp_pg_fetch *f, enum mp_pg_round kind)
{
    const struct mp_snap_range *m = NULL;
    size_t nm = 0;
    bool ok = true;
    switch (kind) {
    case MP_PG_ROUND_USER: /* one Sync for the batch: mp_pg_link_sync() */
        if (!send_user(l, f, false) || push(l, f, EXPECT_USER, 0) != MP_OK)
            return MP_EIO;
        l->unsynced++;
        f->status = MP_OK;
        return MP_OK;
    case MP_PG_ROUND_TXN_USER:
        ok = l->unsynced == 0 &&
             send_plain(l, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") &&
             push(l, f, EXPECT_BEGIN, 0) == MP_OK && send_user(l, f, true) &&
             push(l, f, EXPECT_USER_TXN, 0) == MP_OK;
        break;
    case MP_PG_ROUND_MISSES:
        nm = mp_store_snap_misses(f->snap, &m);
        for (size_t i = 0; ok && i < nm; i++)
            ok = send_miss(l, &m[i]) && push(l, f, EXPECT_MISS, (unsigned)i) == MP_OK;
        break;
    case MP_PG_ROUND_END:
        ok = send_plain(l, "ROLLBACK") && push(l, NULL, EXPECT_END, 0) == MP_OK;
        f = NULL;
        break;
    }
    if (!ok || mp_pq.pipelineSync(l->conn) != 1 || push(l, f, EXPECT_SYNC, 0) != MP_OK)
        return MP_EIO; /* the queue and the connection no longer agree: the link is done */
    if (f != NULL)
        f->status = MP_OK;
    return MP_OK;
}

int mp_pg_link_send(struct mp_pg_link *l, struct mp_pg_fetch *f, enum mp_pg_round kind)
{
    if (l->broken || !l->connected)
        return MP_EIO;
    f->lent = NULL;
    int rc = queue_round(l, f, kind);
    if (rc == MP_OK && kind != MP_PG_ROUND_USER)
        rc = flush(l);
    if (rc != MP_OK)
        l->broken = true;
    return rc;
}

int mp_pg_link_sync(struct mp_pg_link *l)
{
    if (l->broken || l->unsynced == 0)
        return l->broken ? MP_EIO : MP_OK;
    int rc = mp_pq.pipelineSync(l->conn) == 1 && push(l, NULL, EXPECT_SYNC, 0) == MP_OK ? flush(l)
                                                                                        : MP_EIO;
    l->unsynced = 0;
    if (rc != MP_OK)
        l->broken = true;
    return rc;
}

/* ---- results ---- */

static int add_snapshot_row(void *arg, enum mp_store_table t, const unsigned char *k, size_t klen,
                            const unsigned char *v, size_t vlen)
{
    return mp_store_snap_add(arg, t, k, klen, v, vlen);
}

/* Whether r is the hot read's answer with the user's snapshot (its one
 * row, marked as no table: MP_PG_USNAP_ROW_TABLE, or
 * MP_PG_USNAP_SAME_TABLE for the version held). */
static bool is_usnap(const PGresult *r, int marker)
{
    return mp_pq.ntuples(r) == 1 && mp_pg_int2(r, 0, 0) == marker;
}

/* take_user()'s build of f's snapshot from r. */
static int build_user(struct mp_pg_fetch *f, const PGresult *r, bool in_txn)
{
    int rows = mp_pq.ntuples(r);
    size_t klen, vlen;
    bool whole = rows <= MP_PG_USER_ROWS;
    if (!whole && !in_txn)
        return MP_ETOOBIG;
    if (!whole)
        rows = MP_PG_USER_ROWS;
    if (!in_txn && is_usnap(r, MP_PG_USNAP_ROW_TABLE)) {
        const unsigned char *b = mp_pg_cell(r, 0, 2, &vlen);
        int rc = mp_pg_usnap_each(b, vlen, f->snap->sealed, add_snapshot_row, f->snap);
        if (rc != MP_OK)
            return rc;
        rows = 0; /* the user's rows were all in it: whole */
    }
    for (int i = 0; i < rows; i++) {
        int t = mp_pg_user_table_of(r, i);
        const unsigned char *k = mp_pg_cell(r, i, 1, &klen), *v = mp_pg_cell(r, i, 2, &vlen);
        if (t < 0)
            return MP_EIO;
        int rc = mp_store_snap_add(f->snap, (enum mp_store_table)t, k, klen, v, vlen);
        if (rc != MP_OK)
            return rc;
    }
    bool derive = !f->snap->sealed; /* the statement left the derived tables out */
    int last_t = whole || rows == 0 ? MP_TABLE_COUNT : mp_pg_user_table_of(r, rows - 1);
    for (int t = 0; t < last_t; t++) {
        if (!mp_pg_user_tables[t] || (derive && mp_pg_derived_table(t)))
            continue;
        int rc = mp_store_snap_cover_user(f->snap, (enum mp_store_table)t, f->prefix, f->plen);
        if (rc != MP_OK)
            return rc;
    }
    if (derive && last_t > MP_TABLE_FACTS) {
        int rc = mp_store_snap_derive_factrank(f->snap, f->prefix, f->plen);
        if (rc != MP_OK)
            return rc;
    }
    if (derive && last_t > MP_TABLE_DTERMS) {
        int rc = mp_store_snap_derive_postings(f->snap, f->prefix, f->plen);
        if (rc != MP_OK)
            return rc;
    }
    if (whole || rows == 0)
        return MP_OK;
    struct mp_snap_range upto = {.t = (enum mp_store_table)last_t, .limit = 1};
    const unsigned char *k = mp_pg_cell(r, rows - 1, 1, &klen);
    if (mp_store_table_shapes[last_t] == MP_KEY_USER) {
        memcpy(upto.lo, f->prefix + 2, f->plen - 2);
        upto.lolen = f->plen - 2;
    } else {
        memcpy(upto.lo, f->prefix, f->plen);
        upto.lolen = f->plen;
    }
    return mp_store_snap_cover_fetched(f->snap, &upto, 1, k, klen);
}

/* The whole-user statement's rows into f's snapshot. Outside a
 * transaction all or nothing (MP_ETOOBIG: more than MP_PG_USER_ROWS, or
 * the snapshot of the version the server found unchanged is no longer
 * cached); inside one, as far as they go: the tables before the last
 * row's are covered whole, that one up to its last row. A snapshot read
 * outside a transaction is kept in the link's cache, built. */
static int take_user(struct mp_pg_link *l, struct mp_pg_fetch *f, const PGresult *r, bool in_txn)
{
    size_t verlen;
    if (!in_txn && is_usnap(r, MP_PG_USNAP_SAME_TABLE)) {
        const unsigned char *ver = mp_pg_cell(r, 0, 1, &verlen);
        f->lent = mp_pg_rcache_lend(l->cache, f->prefix, f->plen, ver, verlen);
        return f->lent != NULL ? MP_OK : MP_ETOOBIG;
    }
    int rc = build_user(f, r, in_txn);
    if (rc == MP_OK && !in_txn && is_usnap(r, MP_PG_USNAP_ROW_TABLE)) {
        const unsigned char *ver = mp_pg_cell(r, 0, 1, &verlen);
        (void)mp_pg_rcache_keep(l->cache, f->prefix, f->plen, ver, verlen, f->snap); /* or not */
    }
    return rc;
}

static int take_miss(struct mp_pg_fetch *f, unsigned index, const PGresult *r)
{
    const struct mp_snap_range *m;
    size_t nm = mp_store_snap_misses(f->snap, &m), klen = 0, vlen;
    const unsigned char *k = NULL;
    if (index >= nm)
        return MP_EIO;
    int rows = mp_pq.ntuples(r);
    for (int i = 0; i < rows; i++) {
        k = mp_pg_cell(r, i, 0, &klen);
        const unsigned char *v = mp_pg_cell(r, i, 1, &vlen);
        int rc = mp_store_snap_add(f->snap, m[index].t, k, klen, v, vlen);
        if (rc != MP_OK)
            return rc;
    }
    return mp_store_snap_cover_fetched(f->snap, &m[index], (size_t)rows, k, klen);
}

/* The result r of the statement at the front: into its fetch's status. */
static int take(struct mp_pg_link *l, struct slot *s, PGresult *r)
{
    ExecStatusType st = mp_pq.resultStatus(r);
    bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    s->got = true;
    if (s->what == EXPECT_SETUP)
        return ok ? MP_OK : MP_EIO;
    if (s->f == NULL || s->f->status != MP_OK)
        return MP_OK; /* forgotten, or its round failed already */
    int rc = ok ? MP_OK : MP_EIO;
    if (ok && s->what == EXPECT_USER)
        rc = take_user(l, s->f, r, false);
    else if (ok && s->what == EXPECT_USER_TXN)
        rc = take_user(l, s->f, r, true);
    else if (ok && s->what == EXPECT_MISS)
        rc = take_miss(s->f, s->index, r);
    s->f->status = rc;
    return MP_OK;
}

/* Takes every result that is in. MP_OK or MP_EIO. */
static int drain(struct mp_pg_link *l)
{
    while (!mp_pq.isBusy(l->conn)) {
        struct slot *s = front(l);
        PGresult *r = mp_pq.getResult(l->conn);
        if (r == NULL) {
            if (s == NULL || !s->got)
                return MP_OK; /* nothing more yet */
            struct mp_pg_fetch *f = s->what == EXPECT_USER ? s->f : NULL;
            pop(l); /* that statement's results are over */
            if (f != NULL)
                f->on_round(f, f->status); /* a USER round ends with its statement */
            continue;
        }
        if (s == NULL) {
            mp_pq.clear(r);
            return MP_EIO; /* a result nobody asked for */
        }
        if (mp_pq.resultStatus(r) == PGRES_PIPELINE_SYNC) {
            mp_pq.clear(r);
            if (s->what != EXPECT_SYNC)
                return MP_EIO;
            struct mp_pg_fetch *f = s->f;
            pop(l);
            if (f != NULL)
                f->on_round(f, f->status);
            continue;
        }
        int rc = take(l, s, r);
        mp_pq.clear(r);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

/* Fails every round in flight: the connection is gone. */
static void fail_all(struct mp_pg_link *l)
{
    while (l->n > 0) {
        struct slot s = *front(l);
        pop(l);
        if ((s.what == EXPECT_SYNC || s.what == EXPECT_USER) && s.f != NULL)
            s.f->on_round(s.f, MP_EIO);
    }
}

/* ---- the connection ---- */

static int setup(struct mp_pg_link *l)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %u", l->timeout_ms);
    mp_pq.setnonblocking(l->conn, 1);
    if (mp_pq.enterPipelineMode(l->conn) != 1 || !send_plain(l, sql) ||
        push(l, NULL, EXPECT_SETUP, 0) != MP_OK ||
        !send_plain(l, "SET default_transaction_read_only = on") ||
        push(l, NULL, EXPECT_SETUP, 0) != MP_OK || !prepare(l) ||
        mp_pq.pipelineSync(l->conn) != 1 || push(l, NULL, EXPECT_SYNC, 0) != MP_OK)
        return MP_EIO;
    return MP_OK;
}

int mp_pg_link_start(const char *conninfo, unsigned statement_timeout_ms, struct mp_pg_link **out)
{
    struct mp_pg_link *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return MP_ENOMEM;
    l->timeout_ms = statement_timeout_ms;
    if (mp_pg_rcache_new(&l->cache) != MP_OK) {
        mp_pg_link_free(l);
        return MP_ENOMEM;
    }
    l->conn = mp_pg_connect_start(conninfo);
    if (l->conn == NULL || mp_pq.status(l->conn) == CONNECTION_BAD) {
        mp_pg_link_free(l);
        return MP_EIO;
    }
    l->poll = PGRES_POLLING_WRITING;
    *out = l;
    return MP_OK;
}

int mp_pg_link_socket(const struct mp_pg_link *l)
{
    return mp_pq.socket(l->conn);
}

int mp_pg_link_wants(const struct mp_pg_link *l)
{
    if (!l->connected)
        return l->poll == PGRES_POLLING_READING ? MP_PG_WANT_READ : MP_PG_WANT_WRITE;
    return MP_PG_WANT_READ | (l->want_write ? MP_PG_WANT_WRITE : 0);
}

bool mp_pg_link_connected(const struct mp_pg_link *l)
{
    return l->connected && !l->broken;
}

size_t mp_pg_link_pending(const struct mp_pg_link *l)
{
    return l->rounds;
}

int mp_pg_link_on_ready(struct mp_pg_link *l)
{
    int rc = l->broken ? MP_EIO : MP_OK;
    if (rc == MP_OK && !l->connected) {
        l->poll = mp_pq.connectPoll(l->conn);
        if (l->poll == PGRES_POLLING_FAILED)
            rc = MP_EIO;
        else if (l->poll != PGRES_POLLING_OK)
            return MP_OK;
        else if ((rc = setup(l)) == MP_OK)
            l->connected = true; /* the rounds sent from now on queue behind the settings */
    }
    if (rc == MP_OK)
        rc = flush(l);
    if (rc == MP_OK && mp_pq.consumeInput(l->conn) != 1)
        rc = MP_EIO;
    if (rc == MP_OK)
        rc = drain(l);
    if (rc == MP_OK && mp_pq.status(l->conn) == CONNECTION_BAD)
        rc = MP_EIO;
    /* No flush here for what the callbacks sent: their rounds flush with
     * their Sync (a first round's Sync comes with the pass's, in
     * mp_pg_link_sync(): flushing it now would send it without one, a
     * second write and a second wake-up of the server for one batch). */
    if (rc != MP_OK) {
        l->broken = true;
        fail_all(l);
    }
    return rc;
}

void mp_pg_link_forget(struct mp_pg_link *l, struct mp_pg_fetch *f)
{
    for (size_t i = 0; i < l->n; i++) {
        struct slot *s = &l->q[(l->head + i) % l->cap];
        if (s->f == f)
            s->f = NULL;
    }
}

void mp_pg_link_free(struct mp_pg_link *l)
{
    if (l == NULL)
        return;
    if (l->conn != NULL)
        mp_pq.finish(l->conn);
    mp_pg_rcache_free(l->cache);
    free(l->q);
    OPENSSL_cleanse(l, sizeof(*l));
    free(l);
}
