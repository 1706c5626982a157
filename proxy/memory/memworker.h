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
 * request, held within bounds of its own (proxy/memory/heldjobs_drop.h). */
#ifndef MP_PROXY_MEMWORKER_H
#define MP_PROXY_MEMWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "net/loop.h"
#include "ops/store.h"
#include "memory/turn.h"

struct event_base;
struct mp_memworker;
struct mp_memjobs;
struct mp_metrics;

/* Starts the worker thread on store (borrowed; outlives the worker) with a
 * reference to shared taken. Loads the pending jobs from the store, and
 * records the turns a previous process parked at its drain deadline
 * (mp_memworker_free()). Returns MP_OK with *out, or MP_EIO / MP_ENOMEM. */
int mp_memworker_start(struct mp_store *store, struct mp_shared_config *shared,
                       struct mp_metrics *metrics, struct mp_memworker **out);

/* Hands a new configuration over (reference taken). */
void mp_memworker_post_config(struct mp_memworker *mw, struct mp_shared_config *shared);

/* A change, a turn or work submitted by a request thread, answered on that
 * thread. */
struct mp_memticket;
typedef void (*mp_memticket_fn)(struct mp_memticket *t, void *arg, int status);

/* Whether a new turn may be queued now: MP_OK; MP_ETOOBIG when [memory]
 * queue_max items are pending (mp_memworker_depth(): jobs held for a
 * credential are not) or queued turns hold [memory] queue_max_bytes or
 * more (the turn is refused: X-Memory-Error: queue_full; counted by the
 * caller with mp_memworker_count_refused()). Checked when a reply's head
 * goes out; a turn admitted then is queued when the reply ends, so the
 * bytes may pass the bound by the turns of the replies in flight. Any
 * thread. */
int mp_memworker_admit(const struct mp_memworker *mw);
/* Counts a turn refused by mp_memworker_admit(). Any thread. */
void mp_memworker_count_refused(struct mp_memworker *mw);
/* Counts and logs a turn the request could not hand over (its reply could
 * not be read, out of memory...), by reason, with its request id (never
 * its words). Any thread. */
void mp_memworker_count_lost(struct mp_memworker *mw, const char *request_id,
                             enum mp_unrecorded why);

/* Remembers whether the store took a write (rc: the apply's status), for
 * X-Memory-Error, /readyz and memproxy_storage_writable; logs each change
 * (MP_OK clears a failure). Worker thread: the work of turns and of
 * mp_memworker_call()'s functions that write. */
void mp_memworker_note_write(struct mp_memworker *mw, int rc);

/* Queues a turn (ownership taken). With reply_base set, done(t, arg,
 * status) runs on reply_base's thread once the turn is committed (MP_OK,
 * or MP_NOTFOUND when the same turn had been recorded before) or has
 * failed (the store's error: the turn is lost and counted); *ticket is set
 * and the caller must either wait for done or give up with
 * mp_memticket_abandon(). Without reply_base nothing is answered. Returns
 * MP_OK; MP_ENOMEM (the turn is freed, done will not run). Never refuses
 * for the queue's bounds: admission is mp_memworker_admit()'s. */
int mp_memworker_record(struct mp_memworker *mw, struct mp_turn *turn,
                        struct event_base *reply_base, mp_memticket_fn done, void *arg,
                        struct mp_memticket **ticket);

/* On the reply thread, before done ran: done will not run (the caller is
 * gone); the ticket is freed when the worker is done with it. */
void mp_memticket_abandon(struct mp_memticket *t);

/* NULL while the store takes writes, else the X-Memory-Error code of the
 * last failed write ("storage_full": map or disk full; "storage_error":
 * anything else), until a write succeeds again. Any thread. */
const char *mp_memworker_write_error(const struct mp_memworker *mw);

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

/* Worker thread only (inside an mp_memwork_fn that applied ops[0..n)):
 * indexes the jobs its ADD_JOB ops queued (result MP_OK), so that they
 * are scheduled at once (an import's extraction jobs). */
void mp_memworker_jobs_added(struct mp_memworker *mw, const struct mp_op *ops, size_t n);

/* Worker thread only (inside an mp_memwork_fn). One retention pass over
 * every user now, counts added to *out (and to the metrics): MP_OK or a
 * store error. */
int mp_memworker_sweep(struct mp_memworker *mw, struct mp_sweep_counts *out);
/* Worker thread only: the jobs kept as failed are pending again and every
 * waiting extraction batch is due now (mp_memjobs_extract_now()); returns
 * how many waiting jobs that made due. */
unsigned mp_memworker_extract_now(struct mp_memworker *mw);
/* Worker thread only (inside an mp_memwork_fn): the worker's jobs
 * (memory/memjob.h), for proxy/memory/jobctl.h's acts on one job. Valid
 * while the worker is. */
struct mp_memjobs *mp_memworker_jobs(struct mp_memworker *mw);
/* Items waiting for a vector as the embeddings backfill last counted them
 * (memory/embjob.h); UINT64_MAX when off or not counted yet. Any thread. */
uint64_t mp_memworker_embed_pending(const struct mp_memworker *mw);
/* Memory jobs kept as failed, waiting for a re-run. Any thread. */
unsigned mp_memworker_failed_jobs(const struct mp_memworker *mw);
/* Worker thread only. mp_store_compact(), logged and counted; on failure
 * the reason (no user data in it) goes to err. */
int mp_memworker_compact(struct mp_memworker *mw, char *err, size_t errcap);

/* Hands the worker a conversation's state (storage/ops/store.h:
 * PUT_CONV, NOTE_LEAD, REFILE) of the user key user[0..len) (borrowed),
 * c taken: for a request that recorded no turn to carry it (a read's new
 * head, written once: a read whose head is kept has nothing to write). It
 * is committed with the turns and states that reach the worker with it,
 * one transaction and one flush for all of them. With done, as
 * mp_memworker_call(): done(t, arg, status) on reply_base's thread once it
 * is committed or failed, *ticket set (the caller waits or abandons), so
 * that the conversation's next request, on any worker, finds it; without,
 * nobody waits. A failure only costs the conversation its head (built
 * again). MP_OK; MP_ENOMEM, MP_EINVAL: c freed, done will not run. */
int mp_memworker_keep_conv(struct mp_memworker *mw, struct event_base *reply_base, const char *user,
                           size_t len, struct mp_turn_conv *c, mp_memticket_fn done, void *arg,
                           struct mp_memticket **ticket);

/* The side requests this process knows (memory/sidetab.h), which the
 * worker keeps: request threads look their prints up. Valid while the
 * worker is. */
struct mp_sidetab *mp_memworker_sides(const struct mp_memworker *mw);

/* Pending work that counts against [memory] queue_max: queued turns and
 * changes plus stored jobs, less those held for a credential (they have
 * bounds of their own: proxy/memory/heldjobs_drop.h), so that turns the memory
 * model can serve are never refused for them. Any thread. */
unsigned mp_memworker_depth(const struct mp_memworker *mw);

/* The queue as an import sees it: depth and queued bytes now, and the
 * part of queue_max and queue_max_bytes imports may fill (their share). */
struct mp_memworker_room {
    unsigned depth, max;
    size_t bytes, max_bytes;
};

/* Whether an import that adds jobs items (its own call counts one) and
 * holds bytes (its file, while it waits to be read) fits in share percent
 * of [memory] queue_max and queue_max_bytes: MP_OK, the bytes added to the
 * queued bytes (give them back with mp_memworker_import_release()), or
 * MP_ETOOBIG (nothing added). bytes 0: only the items are compared. The
 * rest of the bounds is the chat turns' headroom: imports never fill it.
 * *room says what was compared. Any thread. */
int mp_memworker_import_reserve(struct mp_memworker *mw, size_t jobs, size_t bytes, unsigned share,
                                struct mp_memworker_room *room);
/* Gives back bytes of mp_memworker_import_reserve(). Any thread. */
void mp_memworker_import_release(struct mp_memworker *mw, size_t bytes);

/* Memory jobs held for a credential (mp_memjobs_held()), and when the
 * oldest was queued (*since_ms, ms since the epoch; 0 when none). Any
 * thread. */
unsigned mp_memworker_held_jobs(const struct mp_memworker *mw, int64_t *since_ms);

/* Turns the store failed to commit (it was down or unreachable) that the
 * worker still holds for its return: they leave this count once committed,
 * parked or dropped. Non-zero after the store is back: held turns are
 * still draining. Any thread. */
unsigned mp_memworker_held(const struct mp_memworker *mw);

/* The proxy is draining: queued turns not committed within ms_from_now
 * (from now on, whenever the worker reaches them) are parked on disk for
 * the next start instead (park.h), logged and counted. Any thread. */
void mp_memworker_drain_by(struct mp_memworker *mw, int64_t ms_from_now);

/* Stops the thread after applying what is queued, or parking it past the
 * drain deadline (jobs stay stored for the next start), and frees the
 * worker. mp_memworker_free(NULL) does nothing. */
void mp_memworker_free(struct mp_memworker *mw);

#endif
