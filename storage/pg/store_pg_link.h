/* One non-blocking connection to the PostgreSQL store (store_pg.h) in
 * libpq's pipeline mode, for an event loop: it fills snapshot stores
 * (store_snap.h) with the records reads ask for, one pipelined batch of
 * statements per round, and never waits. The loop (proxy/plane/memread.c)
 * watches mp_pg_link_socket() for what mp_pg_link_wants() says and calls
 * mp_pg_link_on_ready(); the link calls each fetch's on_round when that
 * round's results are in. No libevent here; one thread per link.
 *
 * Rounds (each but USER ends with a Sync of its own, so that a failed
 * statement fails its round only):
 *   USER      the user's records of the tables a request reads, in one
 *             statement (its own snapshot), at most MP_PG_USER_ROWS of
 *             them (store_pg_conn.h): on_round MP_OK with every table covered for the user,
 *             or MP_ETOOBIG (more: nothing added) when the user is bigger
 *             (or, rarely, when the server found the user's snapshot
 *             unchanged and the link's cache no longer holds it). A user
 *             whose snapshot row did not change since the link last read
 *             it is copied from the link's cache (store_pg_rcache.h): the
 *             server checks the version in the same statement.
 *             The USER rounds sent in one pass of the loop share one Sync
 *             (mp_pg_link_sync()): the server ends one implicit transaction
 *             for them all, not one each. A statement that fails there
 *             (the server going away, a statement timeout) fails the
 *             rounds after it up to that Sync too.
 *   TXN_USER  BEGIN (repeatable read, read only) and the same statement,
 *             the transaction left open for the rounds that follow; a
 *             bigger user's first MP_PG_USER_ROWS records are added and
 *             covered as far as they go.
 *   MISSES    the snapshot's misses (mp_store_snap_misses()), one
 *             statement each, inside that transaction.
 *   END       ROLLBACK: the transaction ends; the fetch gets no callback
 *             (it may be gone already).
 * The connection reads only: it is opened read-only, with the statement
 * timeout the loop asks for. */
#ifndef MP_STORAGE_STORE_PG_LINK_H
#define MP_STORAGE_STORE_PG_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/store_backend.h"

enum mp_pg_round { MP_PG_ROUND_USER, MP_PG_ROUND_TXN_USER, MP_PG_ROUND_MISSES, MP_PG_ROUND_END };

/* One read's state on a link: the caller's, set before the first round;
 * the link writes status while a round runs. */
struct mp_pg_fetch {
    struct mp_store *snap; /* a snapshot store, filled */
    /* A USER round that found the user's row unchanged: the snapshot the
       link keeps of it (store_pg_rcache.h), lent instead of filling snap.
       Valid until on_round returns: read it there, or drop it. NULL
       otherwise (each round starts it NULL). */
    struct mp_store *lent;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX]; /* the user's (store_backend.h) */
    size_t plen;
    /* The round's results are in snap (MP_OK), or it failed: MP_ETOOBIG
       (USER: the user is bigger), MP_EIO (a statement or the connection
       failed), MP_ENOMEM. Called from mp_pg_link_on_ready() only; it may
       send on the link or forget, never free it. */
    void (*on_round)(struct mp_pg_fetch *f, int status);
    int status; /* the link's: the round's so far */
};

struct mp_pg_link;

/* Starts connecting to conninfo (borrowed for the call) without waiting:
 * MP_OK with *out; MP_EIO (the string is bad, or libpq could not start),
 * MP_ENOMEM. statement_timeout_ms bounds each statement on the server. The
 * caller bounds the connect itself (libpq does not while polling). A host
 * name is resolved before this returns (libpq's PQconnectStart): give an
 * address to never wait on DNS. */
int mp_pg_link_start(const char *conninfo, unsigned statement_timeout_ms, struct mp_pg_link **out);

/* The socket to watch (it may change while connecting: check after each
 * mp_pg_link_on_ready()), and what for: MP_PG_WANT_READ | MP_PG_WANT_WRITE. */
#define MP_PG_WANT_READ  1
#define MP_PG_WANT_WRITE 2
int mp_pg_link_socket(const struct mp_pg_link *l);
int mp_pg_link_wants(const struct mp_pg_link *l);

/* Advances the link after its socket was ready: connects, sends, reads
 * and dispatches results (on_round calls). MP_OK; MP_EIO when the
 * connection failed or broke: every fetch with a round in flight has had
 * on_round(MP_EIO); free the link. */
int mp_pg_link_on_ready(struct mp_pg_link *l);

/* True once connected, until broken: rounds are sent on such a link
 * only. */
bool mp_pg_link_connected(const struct mp_pg_link *l);

/* Rounds sent and not yet answered (forgotten ones included). */
size_t mp_pg_link_pending(const struct mp_pg_link *l);

/* Queues round kind of f (MISSES: snap's current misses, which must stay
 * until on_round) and sends what the socket takes. MP_OK; MP_EIO: the
 * link is broken from now on, and its next mp_pg_link_on_ready() fails
 * the rounds in flight. */
int mp_pg_link_send(struct mp_pg_link *l, struct mp_pg_fetch *f, enum mp_pg_round kind);

/* Sends the Sync that ends the USER rounds sent since the last one (none:
 * nothing to do). Call once per pass of the loop after sending. MP_OK;
 * MP_EIO: the link is broken, as for mp_pg_link_send(). */
int mp_pg_link_sync(struct mp_pg_link *l);

/* No more callbacks for f: its rounds still run on the server, and their
 * results are dropped. */
void mp_pg_link_forget(struct mp_pg_link *l, struct mp_pg_fetch *f);

/* Closes the connection, without callbacks. NULL: nothing. */
void mp_pg_link_free(struct mp_pg_link *l);

#endif
