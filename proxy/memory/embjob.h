/* The embeddings backfill of the memory worker (docs/memory-embeddings.md):
 * every archived message, fact and search key without a vector of the
 * configured model gets one, in the background, one call per batch of up to
 * [embeddings] batch_items texts of one user, on the worker's thread with a
 * curl multi of its own. An answer is trusted for nothing
 * (core/embed/embed_answer.h); any bad one (a refusal, 429, 5xx, no answer
 * in time, over 1 MiB, wrong dimensions, NaN, fewer vectors, a changed
 * model name) is logged (no text, no vector, no key) and counted
 * (memproxy_embeddings_calls_total{result}), nothing is stored, and the
 * items stay pending: tried again after a back-off that doubles up to a
 * minute. Vectors are written with MP_OP_PUT_VECTORS guarded by
 * MP_OP_CHECK_EPOCH on the user's memory epoch read before the texts, so a
 * vector never outlives an erasure. With [embeddings] base_url empty
 * nothing here calls, reads or writes. Memory worker thread only, but for
 * mp_embjobs_pending(). */
#ifndef MP_PROXY_EMBJOB_H
#define MP_PROXY_EMBJOB_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct event_base;
struct mp_embjobs;
struct mp_metrics;
struct mp_store;

/* base, store, metrics and cfg borrowed (cfg until the next set_config).
 * NULL when out of memory. */
struct mp_embjobs *mp_embjobs_new(struct event_base *base, struct mp_store *store,
                                  struct mp_metrics *metrics, const struct mp_config *cfg);
/* Cancels the call in flight (its items stay pending) and frees. NULL: nothing. */
void mp_embjobs_free(struct mp_embjobs *e);
void mp_embjobs_set_config(struct mp_embjobs *e, const struct mp_config *cfg);

/* New items may be pending. now (POST /admin/extract): a walk at once, and
 * a back-off in force ends. Else (a turn recorded): a walk within a
 * second, unless one is due sooner; several turns share it, a back-off
 * holds. Either way the wait between idle walks (5 s, doubling up to a
 * minute while they find nothing) starts again. Nothing when off. */
void mp_embjobs_kick(struct mp_embjobs *e, bool now);

/* Items waiting for a vector as of the last count (a walk of the store, at
 * most every second while the backfill works and after it finishes);
 * UINT64_MAX before the first count or when off. Any thread. */
uint64_t mp_embjobs_pending(const struct mp_embjobs *e);

#endif
