/* libpq connections for the PostgreSQL backend (store_pg.h): opening one
 * with a bounded wait, and saying why something failed without echoing the
 * connection string or server text that could hold it. */
#ifndef MP_STORAGE_STORE_PG_CONN_H
#define MP_STORAGE_STORE_PG_CONN_H

#include "pg/pq_lib.h"
#include <stdbool.h>
#include <stddef.h>

#include "ops/store_backend.h"
#include "pg/store_pg_usnap.h"

#define MP_PG_CONNECT_TIMEOUT_S 5

/* The type OIDs of the parameters memproxy binds. */
#define MP_PG_OID_BOOL  16
#define MP_PG_OID_BYTEA 17
#define MP_PG_OID_INT2  21
#define MP_PG_OID_INT4  23

/* What mp_pg_int2() answers for a cell that holds no binary smallint. */
#define MP_PG_NOT_INT2 (-32769)

/* A new connection (blocking, at most MP_PG_CONNECT_TIMEOUT_S unless the
 * string sets connect_timeout), or NULL with a short cause in err. The
 * first call loads libpq (pq_lib.h); a missing libpq is such a cause. */
PGconn *mp_pg_connect(const char *conninfo, char *err, size_t errcap);

/* Starts a connection without waiting (PQconnectStartParams, the same
 * parameters as mp_pg_connect(); the caller enforces the connect
 * timeout), notices silenced: NULL when out of memory or when libpq
 * cannot be loaded (mp_pg_connect() says which). */
PGconn *mp_pg_connect_start(const char *conninfo);

/* A notice processor that drops the server's notices ("relation already
 * exists, skipping"): no errors, and they may carry names. */
void mp_pg_no_notices(void *arg, const char *message);

/* A short, fixed cause for the connection's last error ("connection
 * refused", "authentication failed", "database does not exist", ...):
 * never the server's text. */
const char *mp_pg_cause(const PGconn *conn);

/* True when r failed with a serialization failure (40001) or a deadlock
 * (40P01): the whole transaction may succeed when run again. */
bool mp_pg_retryable(const PGresult *r);

/* Cell (row, col) of a binary result r: its bytes, their count in *len. */
const unsigned char *mp_pg_cell(const PGresult *r, int row, int col, size_t *len);

/* The binary smallint in cell (row, col) of r, or MP_PG_NOT_INT2. */
int mp_pg_int2(const PGresult *r, int row, int col);

/* The table in column 0 of row of a binary result, when it is one a
 * request reads (mp_pg_user_tables), else -1. */
int mp_pg_user_table_of(const PGresult *r, int row);

/* Runs sql (no parameters) and checks its status: true on
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK. The result is cleared. */
bool mp_pg_exec_ok(PGconn *conn, const char *sql);

/* ---- one user's records at once ---- */

/* A request reads these tables of its user (not the history, idempotency
 * keys or the keys' own indexes, which only writes need). */
extern const bool mp_pg_user_tables[MP_TABLE_COUNT];

/* Users with more records there than MP_PG_USER_ROWS (store_pg_usnap.h)
 * are read in parts. */
#define MP_PG_USER_SQL_MAX 768

/* The statement that reads them, into out (MP_PG_USER_SQL_MAX bytes): $1
 * the user's prefix (the part column), rows (t, k, v), ordered by t and k
 * when ordered, at most MP_PG_USER_ROWS + 1 of them (one more says the
 * user is bigger); without the tables a clear store's reader derives
 * (mp_pg_derived_table()) unless derived. Unordered, it is the hot read
 * (mp_pg_usnap_read_sql(), $2 the version held): the user's snapshot in
 * one row when it has one (store_pg_usnap.h), else the rows as the server
 * finds them (the reader sorts them). */
void mp_pg_user_sql(char *out, bool ordered, bool derived);

/* True for the tables a clear store's reader derives from the others
 * instead of fetching them: the postings from the dterms
 * (mp_store_snap_derive_postings()), the facts' recent order from the
 * facts (mp_store_snap_derive_factrank()). */
bool mp_pg_derived_table(int t);

/* Those tables' numbers ("1,5,9"), without the derived ones unless
 * derived, into out (cap bytes, 64 is enough): its length. */
size_t mp_pg_user_tables_list(char *out, size_t cap, bool derived);

#endif
