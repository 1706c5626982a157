/* libpq connections for the PostgreSQL backend (store_pg.h): opening one
 * with a bounded wait, and saying why something failed without echoing the
 * connection string or server text that could hold it. */
#ifndef MP_STORAGE_STORE_PG_CONN_H
#define MP_STORAGE_STORE_PG_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define MP_PG_CONNECT_TIMEOUT_S 5

/* A new connection (blocking, at most MP_PG_CONNECT_TIMEOUT_S unless the
 * string sets connect_timeout), or NULL with a short cause in err. */
PGconn *mp_pg_connect(const char *conninfo, char *err, size_t errcap);

/* A short, fixed cause for the connection's last error ("connection
 * refused", "authentication failed", "database does not exist", ...):
 * never the server's text. */
const char *mp_pg_cause(const PGconn *conn);

/* True when r failed with a serialization failure (40001) or a deadlock
 * (40P01): the whole transaction may succeed when run again. */
bool mp_pg_retryable(const PGresult *r);

/* Runs sql (no parameters) and checks its status: true on
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK. The result is cleared. */
bool mp_pg_exec_ok(PGconn *conn, const char *sql);

#endif
