/* A data-plane worker: one thread with its own event base, curl multi and
 * listening socket. Workers share nothing on the request path.
 *
 * Accepting: every worker binds its own socket to the listen address with
 * SO_REUSEPORT and the kernel spreads new connections across them; each
 * connection stays on the thread that accepted it. Measured against one
 * accept thread dealing sockets round-robin to worker mailboxes
 * (tests/bench/accept_strategy.sh, results in tests/bench/ACCEPT.md, 2 cores,
 * 2 workers): with keep-alive clients both served the same (~72k req/s,
 * 11 us CPU per request); with a new connection per request the accept
 * thread cost ~10 us more CPU per connection (43-45 vs 33-34 us) and 3-9%
 * of throughput. SO_REUSEPORT's cost is a coarser split of few long-lived
 * connections (up to 58/42), which matters little for requests that mostly
 * wait on the upstream. On drain all listeners close together, so
 * connections still queued in the kernel are refused, as intended.
 *
 * Control (reload, drain, stop) arrives through a mutex-protected mailbox
 * and an event_active() wake-up; the lock is never taken per request. */
#ifndef MP_PROXY_WORKER_H
#define MP_PROXY_WORKER_H

#include "net/loop.h"

struct mp_worker;
struct mp_metrics;

struct mp_store;
struct mp_memworker;

/* Starts worker id on the bound, listening socket listen_fd (ownership
 * taken), with a reference to shared taken; store and memworker are
 * borrowed and outlive the worker. memread_pool: the connections its loop
 * keeps for its requests' memory reads when the store is PostgreSQL's
 * (mp_config_postgres_loop_pool()). Returns NULL on failure (the socket
 * is closed, the reference dropped). */
struct mp_worker *mp_worker_start(unsigned id, int listen_fd, struct mp_shared_config *shared,
                                  struct mp_metrics *metrics, struct mp_store *store,
                                  struct mp_memworker *memworker, unsigned memread_pool);

/* Hands a new configuration to the worker (reference taken). */
void mp_worker_post_config(struct mp_worker *w, struct mp_shared_config *shared);
/* Stops accepting, closes idle connections and lets the others finish;
 * the worker's thread ends when its last connection closes. */
void mp_worker_drain(struct mp_worker *w);
/* Ends every connection now; the thread ends. */
void mp_worker_stop(struct mp_worker *w);
/* True once the worker's thread has left its loop. */
bool mp_worker_finished(struct mp_worker *w);
/* Waits for the thread to end (after mp_worker_stop()); the loop stays
 * allocated. mp_worker_join(NULL) and a second join do nothing. */
void mp_worker_join(struct mp_worker *w);
/* Joins the thread and frees the worker. mp_worker_free(NULL) does nothing. */
/* After the thread ended: one pass of its loop on the caller's thread, so
 * replies posted to it since (the memory worker's last answers) run and
 * free what they carry. */
void mp_worker_deliver_last(struct mp_worker *w);

void mp_worker_free(struct mp_worker *w);

#endif
