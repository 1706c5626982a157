/* The reader (memread.h): a loop's connections as slots, each a link
 * (storage/pg/store_pg_link.h) whose socket the loop watches, and the reads
 * in flight. A read's first round (the user's records in one statement)
 * goes to the least busy connection, many reads pipelined on one; a read
 * that needs more rounds takes a connection of its own for its
 * transaction (a connection drains for it while it waits), so that no
 * other read runs inside that transaction's older snapshot. */
#include "plane/memread.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "clock.h"
#include "metrics.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "pg/store_pg_link.h"
#include "snap/store_snap.h"

#define PIPELINE_MAX       16 /* rounds in flight on one connection */
#define ROUNDS_MAX         32 /* a read's rounds */
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     1000
#define CONNECT_TIMEOUT_MS 5000
#define SPARE_SNAPSHOTS    16 /* snapshot stores kept for the next reads */

struct slot {
    struct mp_memread *mr;
    struct mp_pg_link *link; /* NULL: closed */
    struct event ev;         /* the link's socket (assigned while link is set) */
    bool ev_set;
    int fd;
    short mask;
    struct event retry; /* opens the link again after a failure */
    int64_t backoff_ms;
    struct mp_memread_call *owner; /* the transaction that holds the connection */
    bool reserved;                 /* drains for a transaction: takes no new reads */
};

TAILQ_HEAD(call_queue, mp_memread_call);

struct mp_memread {
    struct mp_loop *loop;
    char *conninfo; /* owned; never logged */
    struct slot *slots;
    unsigned n;
    struct call_queue waiting;     /* first rounds waiting for a connection */
    struct call_queue txn_waiting; /* transactions waiting for a connection of their own */
    struct mp_store *spare[SPARE_SNAPSHOTS]; /* cleared snapshot stores, for reuse */
    unsigned nspare;
    struct event sync_ev; /* ends the pass's first rounds with one Sync per connection */
    struct slot *batch;   /* where this pass's first rounds go, until its Sync (or NULL) */
};

struct mp_memread_call {
    struct mp_pg_fetch fetch; /* first: on_round finds the call from it */
    struct mp_memread *mr;
    mp_memread_run_fn run;
    mp_memread_done_fn done;
    void *arg;
    struct event timer;
    struct slot *slot;        /* where its rounds went; NULL while none is in flight */
    struct call_queue *queue; /* the queue it waits in, or NULL */
    TAILQ_ENTRY(mp_memread_call) entry;
    bool txn;
    int rounds;
};

static void serve(struct mp_memread *mr);

/* ---- ending a call ---- */

static void unqueue(struct mp_memread_call *c)
{
    if (c->queue != NULL)
        TAILQ_REMOVE(c->queue, c, entry);
    c->queue = NULL;
}

static void call_free(struct mp_memread_call *c)
{
    struct slot *s = c->slot;
    unqueue(c);
    if (s != NULL && s->link != NULL) {
        if (s->owner == c) /* after its rounds, in order */
            mp_pg_link_send(s->link, &c->fetch, MP_PG_ROUND_END);
        mp_pg_link_forget(s->link, &c->fetch);
    }
    if (s != NULL && s->owner == c)
        s->owner = NULL;
    event_del(&c->timer);
    if (c->mr->nspare < SPARE_SNAPSHOTS) {
        mp_store_snap_clear(c->fetch.snap);
        c->mr->spare[c->mr->nspare++] = c->fetch.snap;
    } else {
        mp_store_free(c->fetch.snap);
    }
    free(c);
}

/* Ends c with status: its done runs (and may start or cancel reads). */
static void complete(struct mp_memread_call *c, int status)
{
    mp_memread_done_fn done = c->done;
    void *arg = c->arg;
    call_free(c);
    done(arg, status);
}

static void finish(struct mp_memread_call *c, int status)
{
    struct mp_memread *mr = c->mr;
    complete(c, status);
    serve(mr);
}

void mp_memread_cancel(struct mp_memread_call *c)
{
    if (c == NULL)
        return;
    struct mp_memread *mr = c->mr;
    call_free(c);
    serve(mr);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    finish(arg, MP_ETIMEDOUT);
}

/* ---- rounds ---- */

static bool usable(const struct slot *s)
{
    return s->link != NULL && mp_pg_link_connected(s->link);
}

static void enqueue(struct mp_memread_call *c, struct call_queue *q)
{
    c->queue = q;
    TAILQ_INSERT_TAIL(q, c, entry);
}

/* Sends c's round on s. On a failure the link is broken: its event runs
 * soon and fails the rounds in flight on it. */
static bool send_round(struct mp_memread_call *c, struct slot *s, enum mp_pg_round kind)
{
    static const enum mp_pg_read_round counted[] = {
        [MP_PG_ROUND_USER] = MP_PGROUND_USER,
        [MP_PG_ROUND_TXN_USER] = MP_PGROUND_TRANSACTION,
        [MP_PG_ROUND_MISSES] = MP_PGROUND_FETCH,
    };
    c->slot = s;
    if (mp_pg_link_send(s->link, &c->fetch, kind) == MP_OK) {
        mp_metrics_pg_read_round(c->mr->loop->shard, counted[kind]);
        if (kind == MP_PG_ROUND_USER)
            event_active(&c->mr->sync_ev, 0, 0); /* once, after this pass's callbacks */
        return true;
    }
    mp_pg_link_forget(s->link, &c->fetch);
    c->slot = NULL;
    if (s->ev_set)
        event_active(&s->ev, EV_WRITE, 0);
    return false;
}

static bool takes_first_round(const struct slot *s)
{
    return usable(s) && s->owner == NULL && !s->reserved &&
           mp_pg_link_pending(s->link) < PIPELINE_MAX;
}

/* The least busy connection that takes a first round, or NULL. */
static struct slot *pick(struct mp_memread *mr)
{
    struct slot *best = NULL;
    for (unsigned i = 0; i < mr->n; i++) {
        struct slot *s = &mr->slots[i];
        if (takes_first_round(s) &&
            (best == NULL || mp_pg_link_pending(s->link) < mp_pg_link_pending(best->link)))
            best = s;
    }
    return best;
}

/* The connection for a first round: the one this pass's first rounds
 * already went to while it takes more (they leave in one write with one
 * Sync, and its server process answers them in one wake-up: a send per
 * read costs the loop more than the read's own work), else the least
 * busy. */
static struct slot *pick_for_pass(struct mp_memread *mr)
{
    if (mr->batch != NULL && takes_first_round(mr->batch))
        return mr->batch;
    return mr->batch = pick(mr);
}

/* Whether a connection is open or opening: a read may wait for it. */
static bool reachable(const struct mp_memread *mr)
{
    for (unsigned i = 0; i < mr->n; i++)
        if (mr->slots[i].link != NULL)
            return true;
    return false;
}

/* A transaction's read: a connection of its own when one is idle, else
 * one drains for it. */
static void begin_txn(struct mp_memread_call *c)
{
    struct mp_memread *mr = c->mr;
    c->txn = true;
    c->slot = NULL;
    mp_store_snap_clear(c->fetch.snap); /* its records came from another snapshot */
    enqueue(c, &mr->txn_waiting);
    serve(mr);
}

/* Runs c over its snapshot: the one the link lent (the user's row found
 * unchanged), read before on_round returns and never kept, else its own. */
static void run_once(struct mp_memread_call *c)
{
    const struct mp_snap_range *m;
    struct mp_store *snap = c->fetch.lent != NULL ? c->fetch.lent : c->fetch.snap;
    c->fetch.lent = NULL;
    mp_store_snap_run_begin(snap);
    int rc = c->run(c->arg, snap);
    size_t misses = mp_store_snap_misses(snap, &m);
    if (snap != c->fetch.snap)
        mp_store_snap_run_begin(snap); /* the lender's store keeps no misses of this run */
    if (misses == 0) {
        finish(c, rc);
    } else if (!c->txn) {
        begin_txn(c);
    } else if (++c->rounds > ROUNDS_MAX || !send_round(c, c->slot, MP_PG_ROUND_MISSES)) {
        finish(c, MP_EIO);
    }
}

static void on_round(struct mp_pg_fetch *f, int status)
{
    struct mp_memread_call *c = (struct mp_memread_call *)f;
    if (status == MP_ETOOBIG && !c->txn)
        begin_txn(c);
    else if (status != MP_OK)
        finish(c, status == MP_ENOMEM ? MP_ENOMEM : MP_EIO);
    else
        run_once(c);
}

/* Hands idle connections to waiting transactions, then first rounds to
 * the least busy connections; fails what waits when nothing can answer. */
static void serve(struct mp_memread *mr)
{
    struct mp_memread_call *c;
    struct slot *s;
    for (unsigned i = 0; i < mr->n && !TAILQ_EMPTY(&mr->txn_waiting); i++) {
        s = &mr->slots[i];
        if (!usable(s) || s->owner != NULL || mp_pg_link_pending(s->link) > 0)
            continue;
        c = TAILQ_FIRST(&mr->txn_waiting);
        unqueue(c);
        s->owner = c;
        s->reserved = false;
        if (!send_round(c, s, MP_PG_ROUND_TXN_USER)) {
            s->owner = NULL;
            complete(c, MP_EIO);
        }
    }
    bool reserved = false;
    for (unsigned i = 0; i < mr->n; i++)
        reserved = reserved || mr->slots[i].reserved;
    if (TAILQ_EMPTY(&mr->txn_waiting)) {
        for (unsigned i = 0; i < mr->n; i++)
            mr->slots[i].reserved = false;
    } else if (!reserved && (s = pick(mr)) != NULL) {
        s->reserved = true;
    }
    while ((c = TAILQ_FIRST(&mr->waiting)) != NULL && (s = pick_for_pass(mr)) != NULL) {
        unqueue(c);
        if (!send_round(c, s, MP_PG_ROUND_USER))
            complete(c, MP_EIO);
    }
    while (!reachable(mr) &&
           ((c = TAILQ_FIRST(&mr->waiting)) != NULL || (c = TAILQ_FIRST(&mr->txn_waiting)) != NULL))
        complete(c, MP_EIO);
}

/* ---- connections ---- */

static void on_slot(evutil_socket_t fd, short what, void *arg);

static void slot_close(struct slot *s)
{
    if (s->ev_set)
        event_del(&s->ev);
    s->ev_set = false;
    mp_pg_link_free(s->link);
    s->link = NULL;
    s->owner = NULL;
    s->reserved = false;
}

static void slot_failed(struct slot *s)
{
    slot_close(s);
    s->backoff_ms = s->backoff_ms == 0                   ? BACKOFF_MIN_MS
                    : s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                         : s->backoff_ms * 2;
    struct timeval tv = {s->backoff_ms / 1000, (s->backoff_ms % 1000) * 1000};
    event_add(&s->retry, &tv);
}

/* Watches the link's socket for what it wants; while connecting, for at
 * most the connect timeout. */
static void slot_watch(struct slot *s)
{
    int fd = mp_pg_link_socket(s->link), wants = mp_pg_link_wants(s->link);
    short mask = (short)(EV_PERSIST | ((wants & MP_PG_WANT_READ) ? EV_READ : 0) |
                         ((wants & MP_PG_WANT_WRITE) ? EV_WRITE : 0));
    bool connected = mp_pg_link_connected(s->link);
    if (s->ev_set && fd == s->fd && mask == s->mask && connected)
        return;
    if (s->ev_set)
        event_del(&s->ev);
    event_assign(&s->ev, s->mr->loop->base, fd, mask, on_slot, s);
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, 0};
    event_add(&s->ev, connected ? NULL : &tv);
    s->ev_set = true;
    s->fd = fd;
    s->mask = mask;
}

static void on_slot(evutil_socket_t fd, short what, void *arg)
{
    struct slot *s = arg;
    (void)fd;
    bool was_connected = mp_pg_link_connected(s->link);
    if ((what & EV_TIMEOUT) && !was_connected) {
        slot_failed(s); /* the connect took too long */
        serve(s->mr);
        return;
    }
    /* its callbacks may finish calls, which send on this link or others */
    if (mp_pg_link_on_ready(s->link) != MP_OK || mp_pg_link_socket(s->link) < 0) {
        slot_failed(s);
    } else {
        if (mp_pg_link_connected(s->link))
            s->backoff_ms = 0;
        slot_watch(s);
    }
    serve(s->mr);
}

static void slot_open(struct slot *s)
{
    unsigned timeout = s->mr->loop->cfg->storage.postgres_read_timeout_ms;
    if (mp_pg_link_start(s->mr->conninfo, timeout, &s->link) != MP_OK ||
        mp_pg_link_socket(s->link) < 0) {
        slot_failed(s);
        return;
    }
    slot_watch(s);
}

/* The loop's pass is over: each connection's first rounds get their Sync
 * (store_pg_link.h), so the server answers them. */
static void on_sync(evutil_socket_t fd, short what, void *arg)
{
    struct mp_memread *mr = arg;
    (void)fd, (void)what;
    mr->batch = NULL;
    for (unsigned i = 0; i < mr->n; i++) {
        struct slot *s = &mr->slots[i];
        if (s->link != NULL && mp_pg_link_sync(s->link) != MP_OK && s->ev_set)
            event_active(&s->ev, EV_WRITE, 0); /* broken: its event fails its rounds */
        else if (s->link != NULL && mp_pg_link_connected(s->link))
            slot_watch(s); /* output may be waiting to be flushed */
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    slot_open(arg);
}

/* ---- the reader ---- */

int mp_memread_new(struct mp_loop *loop, const char *conninfo, unsigned pool,
                   struct mp_memread **out)
{
    struct mp_memread *mr = calloc(1, sizeof(*mr));
    if (mr == NULL)
        return MP_ENOMEM;
    mr->loop = loop;
    mr->n = pool > 0 ? pool : 1;
    TAILQ_INIT(&mr->waiting);
    TAILQ_INIT(&mr->txn_waiting);
    event_assign(&mr->sync_ev, loop->base, -1, 0, on_sync, mr);
    mr->conninfo = strdup(conninfo);
    mr->slots = calloc(mr->n, sizeof(*mr->slots));
    if (mr->conninfo == NULL || mr->slots == NULL) {
        free(mr->conninfo);
        free(mr->slots);
        free(mr);
        return MP_ENOMEM;
    }
    for (unsigned i = 0; i < mr->n; i++) {
        struct slot *s = &mr->slots[i];
        s->mr = mr;
        evtimer_assign(&s->retry, loop->base, on_retry, s);
        slot_open(s);
    }
    *out = mr;
    return MP_OK;
}

static void drop_all(struct call_queue *q)
{
    struct mp_memread_call *c;
    while ((c = TAILQ_FIRST(q)) != NULL)
        call_free(c);
}

void mp_memread_free(struct mp_memread *mr)
{
    if (mr == NULL)
        return;
    drop_all(&mr->waiting);
    drop_all(&mr->txn_waiting);
    for (unsigned i = 0; i < mr->n; i++) {
        slot_close(&mr->slots[i]);
        event_del(&mr->slots[i].retry);
    }
    while (mr->nspare > 0)
        mp_store_free(mr->spare[--mr->nspare]);
    event_del(&mr->sync_ev);
    free(mr->slots);
    OPENSSL_cleanse(mr->conninfo, strlen(mr->conninfo));
    free(mr->conninfo);
    free(mr);
}

unsigned mp_memread_connections(const struct mp_memread *mr)
{
    unsigned n = 0;
    for (unsigned i = 0; mr != NULL && i < mr->n; i++)
        n += usable(&mr->slots[i]);
    return n;
}

int mp_memread_start(struct mp_loop *loop, const char *user, size_t len, mp_memread_run_fn run,
                     mp_memread_done_fn done, void *arg, struct mp_memread_call **call)
{
    struct mp_memread *mr = loop->memread;
    if (mr == NULL)
        return run(arg, loop->store);
    if (!reachable(mr))
        return MP_EIO;
    struct mp_memread_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MP_ENOMEM;
    if (mr->nspare > 0)
        c->fetch.snap = mr->spare[--mr->nspare];
    else if (mp_store_snap_new(loop->store, &c->fetch.snap) != MP_OK) {
        free(c);
        return MP_ENOMEM;
    }
    c->fetch.plen = mp_store_backend_user_prefix(loop->store, c->fetch.prefix, user, len);
    c->fetch.on_round = on_round;
    c->mr = mr;
    c->run = run;
    c->done = done;
    c->arg = arg;
    evtimer_assign(&c->timer, loop->base, on_deadline, c);
    unsigned ms = loop->cfg->storage.postgres_read_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(&c->timer, &tv);
    struct slot *s = pick_for_pass(mr);
    if (s == NULL) {
        enqueue(c, &mr->waiting); /* served when a connection opens or frees */
    } else if (!send_round(c, s, MP_PG_ROUND_USER)) {
        call_free(c);
        return MP_EIO;
    }
    *call = c;
    return MP_AGAIN;
}
