/* A pool connection's write transaction in libpq's pipeline mode, used
 * blocking (store_pg.h): a statement whose answer is only a status (BEGIN,
 * a put, the snapshot's write, COMMIT) is queued and not waited for; a
 * statement whose rows are needed is queued last and the pipeline settled:
 * one Sync, one round trip for everything queued since the last one.
 *
 *   begin ─> BEGIN queued ──┐
 *   put ───> INSERT queued ─┤ (nothing sent waits)
 *   get ───> SELECT queued ─┴─> Sync, read all: 1 round trip, its rows
 *   end ───> snapshot rows ───> Sync: 1 round trip
 *            snapshot writes, COMMIT ─> Sync: 1 round trip
 *
 * A queued statement that fails fails the transaction: the server skips
 * what follows up to the Sync, and the settle that reads it answers MP_EIO
 * with the first failure's result. No more than MP_PG_PIPE_QUEUE_MAX
 * statements wait at once: beyond, the queue settles by itself, so the
 * server's answers never fill the socket while we are still sending. Not
 * for connections in a read transaction (they run one statement at a
 * time) or for the event loop's link (store_pg_link.h). */
#ifndef MP_STORAGE_STORE_PG_PIPE_H
#define MP_STORAGE_STORE_PG_PIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "pg/pq_lib.h"

#define MP_PG_PIPE_QUEUE_MAX 128

struct mp_pg_pipe {
    PGconn *conn;                          /* borrowed; in pipeline mode between start and stop */
    size_t queued;                         /* statements sent whose results are unread */
    PGresult **into[MP_PG_PIPE_QUEUE_MAX]; /* where each one's result goes (NULL: nowhere) */
    PGresult *fail; /* owned: the first failure's result (NULL: none or lost) */
    bool failed;    /* a statement failed: the transaction is aborted */
    bool broken;    /* the connection failed */
};

/* Puts c in pipeline mode for one transaction: MP_OK or MP_EIO. */
int mp_pg_pipe_start(struct mp_pg_pipe *p, PGconn *c);

/* Queues sql (no parameters), or the prepared statement stmt with n
 * parameters (values as PQsendQueryPrepared takes them, binary results);
 * into (NULL: the status is enough) receives its result at the settle
 * that reads it, PGRES_COMMAND_OK or PGRES_TUPLES_OK (the caller clears
 * it), or NULL when it or one before it failed; *into is NULL until then
 * and must stay in place. MP_OK; MP_EIO when the pipe failed before or
 * the send failed (it is broken then), or a settle the full queue forced
 * failed. */
int mp_pg_pipe_queue_sql(struct mp_pg_pipe *p, const char *sql);
int mp_pg_pipe_queue(struct mp_pg_pipe *p, const char *stmt, int n, const char *const *values,
                     const int *lengths, const int *formats, PGresult **into);

/* Sends a Sync and reads every queued result up to it, each into where
 * its statement said. MP_OK; MP_EIO when one failed (every into of this
 * settle left NULL: p->fail says why, p->failed is set) or the connection
 * did (p->broken). */
int mp_pg_pipe_settle(struct mp_pg_pipe *p);

/* Reads what is still queued (no Sync needed after a settle) and leaves
 * pipeline mode, clearing p->fail. MP_OK, or MP_EIO when the connection
 * cannot be used again (p->broken). */
int mp_pg_pipe_stop(struct mp_pg_pipe *p);

#endif
