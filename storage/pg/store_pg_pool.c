/* The PostgreSQL store's pool of blocking connections (store_pg_pool.h):
 * at most max open, each preparing every statement once when it opens. */
#include "pg/store_pg_pool.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/store_pg_batch.h"
#include "pg/store_pg_conn.h"
#include "pg/store_pg_usnap.h"
#include "status.h"

const char *const mp_pg_stmt_names[MP_PG_STMT_COUNT] = {
    [MP_PG_STMT_GET] = "mp_get",
    [MP_PG_STMT_PUT] = "mp_put",
    [MP_PG_STMT_PUT_MANY] = "mp_put_many",
    [MP_PG_STMT_DEL] = "mp_del",
    [MP_PG_STMT_DEL_RANGE] = "mp_del_range",
    [MP_PG_STMT_SCAN_RANGE] = "mp_scan_r",
    [MP_PG_STMT_SCAN_RANGE_NEXT] = "mp_scan_r_next",
    [MP_PG_STMT_SCAN_FROM] = "mp_scan_f",
    [MP_PG_STMT_SCAN_FROM_NEXT] = "mp_scan_f_next",
    [MP_PG_STMT_USNAP_PUT] = "mp_usnap_put",
    [MP_PG_STMT_USNAP_DEL] = "mp_usnap_del",
    [MP_PG_STMT_USNAP_GET] = "mp_usnap_get",
    [MP_PG_STMT_HINT] = "mp_hint_user",
    [MP_PG_STMT_USNAP_ROWS] = "mp_usnap_rows",
};

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define T_B                                                                                        \
    {                                                                                              \
        MP_PG_OID_INT2, MP_PG_OID_BYTEA, MP_PG_OID_BYTEA, MP_PG_OID_BYTEA                          \
    }
#define B_B                                                                                        \
    {                                                                                              \
        MP_PG_OID_BYTEA, MP_PG_OID_BYTEA                                                           \
    }
static const struct {
    const char *sql; /* NULL: the store's */
    int n;
    Oid types[4];
} stmts[MP_PG_STMT_COUNT] = {
    [MP_PG_STMT_GET] = {"SELECT v FROM mp_kv WHERE t = $1 AND k = $2", 2, T_B},
    [MP_PG_STMT_PUT] = {"INSERT INTO mp_kv (t, k, part, v) VALUES ($1, $2, $3, $4) "
                        "ON CONFLICT (t, k) DO UPDATE SET v = EXCLUDED.v",
                        4, T_B},
    [MP_PG_STMT_PUT_MANY] = {MP_PG_BATCH_SQL,
                             4,
                             {MP_PG_OID_INT2_ARRAY, MP_PG_OID_BYTEA_ARRAY, MP_PG_OID_BYTEA_ARRAY,
                              MP_PG_OID_BYTEA_ARRAY}},
    [MP_PG_STMT_DEL] = {"DELETE FROM mp_kv WHERE t = $1 AND k = $2", 2, T_B},
    [MP_PG_STMT_DEL_RANGE] = {"DELETE FROM mp_kv WHERE t = $1 AND k >= $2 AND k < $3", 3, T_B},
    [MP_PG_STMT_SCAN_RANGE] = {"SELECT k, v FROM mp_kv WHERE t = $1 AND k >= $2 AND k < $3 "
                               "ORDER BY k LIMIT " MP_PG_SCAN_BATCH,
                               3, T_B},
    [MP_PG_STMT_SCAN_RANGE_NEXT] = {"SELECT k, v FROM mp_kv WHERE t = $1 AND k > $2 AND k < $3 "
                                    "ORDER BY k LIMIT " MP_PG_SCAN_BATCH,
                                    3, T_B},
    [MP_PG_STMT_SCAN_FROM] =
        {"SELECT k, v FROM mp_kv WHERE t = $1 AND k >= $2 ORDER BY k LIMIT " MP_PG_SCAN_BATCH, 2,
         T_B},
    [MP_PG_STMT_SCAN_FROM_NEXT] = {"SELECT k, v FROM mp_kv WHERE t = $1 AND k > $2 ORDER BY k "
                                   "LIMIT " MP_PG_SCAN_BATCH,
                                   2, T_B},
    [MP_PG_STMT_USNAP_PUT] = {MP_PG_USNAP_PUT_SQL, 2, B_B},
    [MP_PG_STMT_USNAP_DEL] = {MP_PG_USNAP_DELETE_SQL, 1, B_B},
    [MP_PG_STMT_USNAP_GET] = {"SELECT v FROM mp_usnap WHERE part = $1", 1, B_B},
    [MP_PG_STMT_HINT] = {NULL, 1, B_B},
    [MP_PG_STMT_USNAP_ROWS] = {NULL, 2, {MP_PG_OID_BYTEA, MP_PG_OID_BOOL}},
};
#undef T_B
#undef B_B

/* A new connection's prepared statements. */
static bool prepare_conn(const struct mp_pg_pool *s, PGconn *c)
{
    bool ok = true;
    for (int i = 0; ok && i < MP_PG_STMT_COUNT; i++) {
        const char *sql = i == MP_PG_STMT_HINT         ? s->hint_sql
                          : i == MP_PG_STMT_USNAP_ROWS ? s->usnap_sql
                                                       : stmts[i].sql;
        PGresult *r = mp_pq.prepare(c, mp_pg_stmt_names[i], sql, stmts[i].n, stmts[i].types);
        ok = mp_pq.resultStatus(r) == PGRES_COMMAND_OK;
        mp_pq.clear(r);
    }
    return ok;
}

/* A connection for a transaction: an idle one, a new one while fewer than
 * max are open, else the next one given back. NULL when none can be made:
 * after a failed connect, no new one is tried for a backoff (100 ms,
 * doubling to 5 s) and callers fail at once instead of each waiting for
 * its own connect while the server is down. */
PGconn *mp_pg_pool_take(struct mp_pg_pool *s, bool *fresh)
{
    char err[128];
    pthread_mutex_lock(&s->mu);
    while (s->nidle == 0 && s->nopen >= s->max)
        pthread_cond_wait(&s->freed, &s->mu);
    *fresh = s->nidle == 0;
    if (s->nidle > 0) {
        PGconn *c = s->idle[--s->nidle];
        pthread_mutex_unlock(&s->mu);
        return c;
    }
    if (monotonic_ms() < s->retry_at_ms) {
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    s->nopen++;
    pthread_mutex_unlock(&s->mu);
    PGconn *c = mp_pg_connect(s->conninfo, err, sizeof(err));
    if (c != NULL && !prepare_conn(s, c)) {
        mp_pq.finish(c);
        c = NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (c == NULL) {
        s->nopen--;
        s->backoff_ms = s->backoff_ms == 0                   ? BACKOFF_MIN_MS
                        : s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                             : s->backoff_ms * 2;
        s->retry_at_ms = monotonic_ms() + s->backoff_ms;
        pthread_cond_signal(&s->freed);
    } else {
        s->backoff_ms = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return c;
}

void mp_pg_pool_give(struct mp_pg_pool *s, PGconn *c, bool broken)
{
    if (broken || mp_pq.status(c) != CONNECTION_OK || mp_pq.transactionStatus(c) != PQTRANS_IDLE) {
        mp_pq.finish(c);
        c = NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (c != NULL)
        s->idle[s->nidle++] = c;
    else
        s->nopen--;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->mu);
}

int mp_pg_pool_init(struct mp_pg_pool *p, const char *conninfo, size_t max, bool sealed)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->max = max;
    mp_pg_user_sql(p->hint_sql, true, true);
    mp_pg_usnap_rows_sql(p->usnap_sql, sealed);
    p->conninfo = strdup(conninfo);
    p->idle = calloc(max, sizeof(*p->idle));
    return p->conninfo != NULL && p->idle != NULL ? MP_OK : MP_ENOMEM;
}

void mp_pg_pool_cleanup(struct mp_pg_pool *p)
{
    for (size_t i = 0; i < p->nidle; i++)
        mp_pq.finish(p->idle[i]);
    free(p->idle);
    if (p->conninfo != NULL) {
        memset(p->conninfo, 0, strlen(p->conninfo));
        free(p->conninfo);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->freed);
}

void mp_pg_pool_counts(struct mp_pg_pool *p, size_t *busy, size_t *max)
{
    pthread_mutex_lock(&p->mu);
    *busy = p->nopen - p->nidle;
    *max = p->max;
    pthread_mutex_unlock(&p->mu);
}
