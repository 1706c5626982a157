/* Reading a user's memory on a worker's loop without waiting on the store.
 *
 * A read is a function over a store (run): the view and injection of a
 * chat request, the memory of GET /v1/memory, a user's setting. With a
 * store that answers from memory or a map (LMDB, mem) it runs once, at
 * once, on loop->store. With the PostgreSQL store the loop keeps its own
 * connections (storage/pg/store_pg_link.h, its share of the connection
 * budget: mp_config_postgres_loop_pool(), in pipeline mode, their sockets
 * watched by the loop) and runs it over a snapshot (storage/snap/store_snap.h):
 * the user's records come in one statement; a run that reads past them (a
 * big user) runs again after one pipelined batch per round fetched the
 * rest, all in one read-only transaction. A read that cannot be answered
 * by the deadline ([storage] postgres_read_timeout_ms) or while the
 * database is down fails (MP_ETIMEDOUT, MP_EIO) and the caller goes on
 * without memory. Connections that fail are opened again with a backoff
 * (100 ms doubling to 1 s: memory comes back within a second of the
 * database); while none is open and none is opening, reads fail at once. */
#ifndef MP_PROXY_MEMREAD_H
#define MP_PROXY_MEMREAD_H

#include <stddef.h>

#include "net/loop.h"

struct mp_memread;
struct mp_memread_call;

/* One run of a read over store (the live one or a snapshot): it returns
 * its status and keeps its answer in arg, replacing any answer of an
 * earlier run (a run over a partial snapshot is run again). It must not
 * write, and must not keep pointers into store's records past its return. */
typedef int (*mp_memread_run_fn)(void *arg, struct mp_store *store);
/* The read is over: status is the last run's, or why it could not run
 * (MP_EIO, MP_ETIMEDOUT, MP_ENOMEM). */
typedef void (*mp_memread_done_fn)(void *arg, int status);

/* The reader of loop (whose store must be the PostgreSQL one: conninfo is
 * its connection string, borrowed for the call), connecting its
 * connections right away: MP_OK with *out; MP_ENOMEM. */
int mp_memread_new(struct mp_loop *loop, const char *conninfo, unsigned pool,
                   struct mp_memread **out);

/* Closes the connections; calls still open are dropped without done.
 * NULL: nothing. */
void mp_memread_free(struct mp_memread *mr);

/* Reads user[0..len)'s memory with run. Without a reader on loop: runs it
 * once on loop->store and answers its status (done is not called).
 * With one: MP_AGAIN with *call (done comes later, once, on the loop,
 * unless the call is cancelled first), or MP_EIO at once (the database
 * is unreachable: nothing to wait for), MP_ENOMEM. */
int mp_memread_start(struct mp_loop *loop, const char *user, size_t len, mp_memread_run_fn run,
                     mp_memread_done_fn done, void *arg, struct mp_memread_call **call);

/* Drops a call before its done: no callback, nothing leaks. NULL:
 * nothing. */
void mp_memread_cancel(struct mp_memread_call *call);

/* The reader's connections open now (for tests and /metrics). */
unsigned mp_memread_connections(const struct mp_memread *mr);

#endif
