/* The PostgreSQL store's pool of blocking connections (store_pg.h): at
 * most max open, each with every statement the store runs prepared once
 * when it opens (no parse or plan per request). A connection given back
 * broken, or not idle, is closed; the next take opens a new one, unless
 * opening failed lately (a backoff of 100 ms doubling to 5 s, so that
 * callers fail at once while the server is down instead of each waiting
 * for its own connect). Not for the event loop's links (store_pg_link.h). */
#ifndef MP_STORAGE_STORE_PG_POOL_H
#define MP_STORAGE_STORE_PG_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg/pq_lib.h"
#include "pg/store_pg_conn.h"
#include "pg/store_pg_usnap.h"

#define MP_PG_SCAN_BATCH "256" /* a scan statement's rows at most */

/* The statements every connection of the pool prepares once, by index:
 * $1 is the table (smallint), the rest bytea; the last two are the store's
 * own (hint_sql, usnap_sql). */
enum mp_pg_stmt {
    MP_PG_STMT_GET,
    MP_PG_STMT_PUT,
    MP_PG_STMT_PUT_MANY,
    MP_PG_STMT_DEL,
    MP_PG_STMT_DEL_RANGE,
    MP_PG_STMT_SCAN_RANGE,      /* from $2 (included) below $3 */
    MP_PG_STMT_SCAN_RANGE_NEXT, /* after $2, below $3 */
    MP_PG_STMT_SCAN_FROM,       /* from $2 (included) */
    MP_PG_STMT_SCAN_FROM_NEXT,  /* after $2 */
    MP_PG_STMT_USNAP_PUT,
    MP_PG_STMT_USNAP_DEL,
    MP_PG_STMT_USNAP_GET,
    MP_PG_STMT_HINT,
    MP_PG_STMT_USNAP_ROWS,
    MP_PG_STMT_COUNT
};

/* Each statement's prepared name, by enum mp_pg_stmt. */
extern const char *const mp_pg_stmt_names[MP_PG_STMT_COUNT];

struct mp_pg_pool {
    char *conninfo; /* owned; never logged */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    PGconn **idle; /* connections not in a transaction */
    size_t nidle, nopen, max;
    int64_t retry_at_ms; /* no new connection before this (monotonic), after a failed one */
    int64_t backoff_ms;  /* the wait after the next failure: 100 ms doubling to 5 s */
    char hint_sql[MP_PG_USER_SQL_MAX];   /* MP_PG_STMT_HINT */
    char usnap_sql[MP_PG_USNAP_SQL_MAX]; /* MP_PG_STMT_USNAP_ROWS */
};

/* A pool of at most max connections to conninfo (copied) for a store
 * (sealed or not: which tables a snapshot holds). MP_OK, MP_ENOMEM (clean
 * up with mp_pg_pool_cleanup() either way). */
int mp_pg_pool_init(struct mp_pg_pool *p, const char *conninfo, size_t max, bool sealed);

/* Closes the idle connections (every taken one must be given back first)
 * and wipes the connection string. */
void mp_pg_pool_cleanup(struct mp_pg_pool *p);

/* A connection for a transaction: an idle one (*fresh false), a new one
 * while fewer than max are open (*fresh true), else the next one given
 * back (waits). NULL when none can be made (during the backoff after a
 * failed connect). Give it back with mp_pg_pool_give(). */
PGconn *mp_pg_pool_take(struct mp_pg_pool *p, bool *fresh);

/* Gives c back: kept when it is idle and not broken, else closed. */
void mp_pg_pool_give(struct mp_pg_pool *p, PGconn *c, bool broken);

/* The connections taken (*busy) and the most there may be (*max). */
void mp_pg_pool_counts(struct mp_pg_pool *p, size_t *busy, size_t *max);

#endif
