/* The memory worker: one thread that owns every write to the memory store
 * and runs the memory jobs, so nothing slow ever happens on a request
 * thread.
 *
 * Request threads hand it finished turns (mp_memworker_record) and user or
 * admin changes (mp_memworker_submit); it applies them in batches, one
 * LMDB transaction per wake-up (group commit: a slow fsync is paid once for
 * everything queued meanwhile, and never by a request thread).
 *
 * Jobs (summarize, extract) live in the store, so they survive a crash; the
 * worker keeps an index of them in memory, runs at most one per user at a
 * time and a few in total, each as a chat completion to the upstream on the
 * worker's own curl multi. Failures retry with exponential backoff, up to a
 * bound. Authorization for a job is [upstream] api_key when set, else the
 * Authorization of the user's latest request, kept in this process's memory
 * only: after a restart, a job without api_key waits for the user's next
 * request. */
#ifndef MP_PROXY_MEMWORKER_H
#define MP_PROXY_MEMWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "store.h"

struct event_base;
struct mp_memworker;
struct mp_metrics;

/* A finished chat turn to record. Everything is owned by the turn (malloc'd);
 * mp_memworker_record takes ownership of the whole struct. */
struct mp_turn {
    char user[MP_USER_KEY_MAX];
    size_t user_len;
    char request_id[MP_REQUEST_ID_MAX + 1];
    char *request_body; /* the client's body as received */
    size_t request_len;
    char *reply; /* the assistant's text (choice 0), decoded */
    size_t reply_len;
    char *auth; /* the request's Authorization value, or NULL */
    size_t auth_len;
    bool summarize; /* the mode keeps a summary */
    bool extract;   /* the mode extracts entities */
    int64_t at_ms;
};

/* Frees a turn that was not handed over. mp_turn_free(NULL) does nothing. */
void mp_turn_free(struct mp_turn *t);

/* Starts the worker thread on store (borrowed; outlives the worker) with a
 * reference to shared taken. Loads the pending jobs from the store.
 * Returns MP_OK with *out, or MP_EIO / MP_ENOMEM. */
int mp_memworker_start(struct mp_store *store, struct mp_shared_config *shared,
                       struct mp_metrics *metrics, struct mp_memworker **out);

/* Hands a new configuration over (reference taken). */
void mp_memworker_post_config(struct mp_memworker *mw, struct mp_shared_config *shared);

/* Queues a turn (ownership taken). Returns MP_OK; MP_ETOOBIG when
 * [memory] queue_max items are pending (the turn is dropped and counted). */
int mp_memworker_record(struct mp_memworker *mw, struct mp_turn *turn);

/* A change submitted by a request thread, answered on that thread. */
struct mp_memticket;
typedef void (*mp_memticket_fn)(struct mp_memticket *t, void *arg, int status);

/* Applies ops (owned by the caller until done runs, which is when the
 * worker has finished with them; their results are filled) in one
 * transaction on the worker, then runs done(t, arg, status) on
 * reply_base's thread. With MP_OP_DELETE_USER the user's running job is
 * cancelled too. Returns MP_OK or MP_ENOMEM (done will not run). There is
 * no cancel: a caller whose client left keeps ops alive and lets done free
 * them. done does not run when the worker is stopped first (shutdown: the
 * server closes the connections, whose calls then go with the loop). The
 * ticket (*ticket) is freed after done. */
int mp_memworker_submit(struct mp_memworker *mw, struct mp_op *ops, size_t nops,
                        struct event_base *reply_base, mp_memticket_fn done, void *arg,
                        struct mp_memticket **ticket);

/* Work that must run on the worker's thread (it owns every store write):
 * fn(mw, fn_arg) runs there, in turn with the queued turns and changes,
 * and its status goes to done(t, arg, status) on reply_base's thread.
 * Same ticket rules as mp_memworker_submit(). */
typedef int (*mp_memwork_fn)(struct mp_memworker *mw, void *fn_arg);
int mp_memworker_call(struct mp_memworker *mw, mp_memwork_fn fn, void *fn_arg,
                      struct event_base *reply_base, mp_memticket_fn done, void *arg,
                      struct mp_memticket **ticket);

/* Worker thread only (inside an mp_memwork_fn). One retention pass over
 * every user now, counts added to *out (and to the metrics): MP_OK or a
 * store error. */
int mp_memworker_sweep(struct mp_memworker *mw, struct mp_sweep_counts *out);
/* Worker thread only. mp_store_compact(), logged and counted; on failure
 * the reason (no user data in it) goes to err. */
int mp_memworker_compact(struct mp_memworker *mw, char *err, size_t errcap);

/* Pending work: queued turns and changes plus stored jobs. Any thread. */
unsigned mp_memworker_depth(const struct mp_memworker *mw);

/* Stops the thread after applying what is queued (jobs stay stored for the
 * next start) and frees the worker. mp_memworker_free(NULL) does nothing. */
void mp_memworker_free(struct mp_memworker *mw);

#endif
