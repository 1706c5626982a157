/* The per-thread context every event-loop thread (each data-plane worker,
 * and the main thread for the admin plane) hands to its connections and
 * requests: the event base, the current configuration, a metrics shard, a
 * pool of I/O buffers, the deferred-flush list and the request-id source.
 * Everything here is touched by its own thread only. */
#ifndef MP_PROXY_LOOP_H
#define MP_PROXY_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config/config.h"

struct event_base;
struct event;
struct mp_conn;
struct mp_metrics;
struct mp_metrics_shard;
struct mp_upstream;
struct mp_h1client;
struct mp_qvec_client;
struct mp_store;
struct mp_memworker;
struct mp_memread;
struct mp_chatreq_msg;

/* A configuration shared by threads; freed when the last reference goes. */
struct mp_shared_config {
    _Atomic int refs;
    struct mp_config cfg;
};

/* Returns a copy of *cfg with one reference, or NULL when out of memory. */
struct mp_shared_config *mp_shared_config_new(const struct mp_config *cfg);
struct mp_shared_config *mp_shared_config_ref(struct mp_shared_config *sc);
/* Drops a reference; mp_shared_config_unref(NULL) does nothing. */
void mp_shared_config_unref(struct mp_shared_config *sc);

/* An owned byte buffer from a loop's pool. {NULL,0,0} is a valid empty buffer. */
struct mp_buf {
    char *data;
    size_t len;
    size_t cap;
};

#define MP_BUF_STD 16384 /* pooled buffer size */
#define MP_BUF_LARGE_MAX                                                                           \
    (256 * 1024) /* larger buffers up to this are cached per loop (64: 16 MiB at most) */

TAILQ_HEAD(mp_conn_list, mp_conn);

struct mp_loop {
    struct event_base *base;
    unsigned id;                             /* worker index; the admin loop has the last id */
    struct mp_shared_config *shared;         /* holds a reference */
    const struct mp_config *cfg;             /* == &shared->cfg; re-read it in every callback */
    struct mp_metrics *metrics;              /* borrowed */
    struct mp_metrics_shard *shard;          /* borrowed */
    struct mp_upstream *upstream;            /* owned; NULL on the admin loop */
    struct mp_h1client *h1;                  /* owned; NULL on the admin loop */
    struct mp_store *store;                  /* borrowed: the memory store */
    struct mp_memworker *memworker;          /* borrowed: where turns and changes go */
    struct mp_memread *memread;              /* the worker's: reads of a PostgreSQL store
                                                (plane/memread.h); NULL: none */
    struct mp_chatreq_msg *wire_msgs;        /* owned scratch: MP_CHATREQ_MAX_MESSAGES */
    struct mp_terms *terms;                  /* owned: this thread's tokenizer, made on first use */
    struct mp_qvec_client *qvec;             /* questions' vectors (plane/qvec.h): made on first
                                                use, freed by the loop's owner */
    struct event *flush_ev;                  /* runs run_dirty once per loop pass */
    void (*run_dirty)(struct mp_loop *loop); /* the connections' deferred work */
    struct mp_conn_list dirty;               /* connections with output or input to process */
    struct mp_conn_list conns;               /* every open connection of this loop */
    struct mp_conn_list waiting;             /* data-plane connections waiting for or reading
                                                a head, longest waiting first */
    unsigned nconns;
    char *pool[64]; /* free MP_BUF_STD buffers */
    unsigned npool;
    struct mp_buf large[64]; /* free larger buffers (<= MP_BUF_LARGE_MAX) for big bodies */
    uint64_t rng;            /* xorshift state for request ids */
    void *app;               /* borrowed: what runs this loop (the admin
                                loop's is the struct mp_server) */
    bool draining;
};

/* Initializes *loop on base (borrowed) with a reference to shared (taken);
 * run_dirty runs the connections' deferred work (mp_conn_run_dirty) once
 * per loop pass after mp_loop_schedule_flush(). Returns MP_OK or
 * MP_ENOMEM. */
int mp_loop_init(struct mp_loop *loop, struct event_base *base, unsigned id,
                 struct mp_shared_config *shared, struct mp_metrics *metrics,
                 void (*run_dirty)(struct mp_loop *loop));
/* Releases the loop's pool, flush event and config reference (not the base,
 * not the connections, which must be closed first). */
void mp_loop_cleanup(struct mp_loop *loop);

/* Replaces the loop's configuration (takes the reference in shared). */
void mp_loop_set_config(struct mp_loop *loop, struct mp_shared_config *shared);

/* Makes b hold at least min_cap bytes of capacity, keeping its contents.
 * Returns MP_OK or MP_ENOMEM (b unchanged). */
int mp_buf_reserve(struct mp_loop *loop, struct mp_buf *b, size_t min_cap);
/* As mp_buf_reserve(), for a size known in advance (a request with a
 * Content-Length): above the pooled sizes, exactly size bytes, not the
 * next power of two, so that a 1 MiB body does not hold 2 MiB whose
 * second half the arena's later reuse makes resident. */
int mp_buf_reserve_exact(struct mp_loop *loop, struct mp_buf *b, size_t size);
/* Gives b's memory back to the pool (or frees it) and empties b. */
void mp_buf_release(struct mp_loop *loop, struct mp_buf *b);

/* The loop's tokenizer (loop->terms), made on first use; NULL when it
 * could not be made (then nothing is scored: nothing matches). */
struct mp_terms *mp_loop_terms(struct mp_loop *loop);

/* Schedules the loop's run_dirty for the end of this loop pass. */
void mp_loop_schedule_flush(struct mp_loop *loop);

/* Writes a new request id ("req_" + 20 hex digits, NUL-terminated) to out,
 * which must hold MP_REQUEST_ID_LEN + 1 bytes. */
#define MP_REQUEST_ID_LEN 24
void mp_loop_request_id(struct mp_loop *loop, char *out);

#endif
