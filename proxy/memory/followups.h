/* The follow-ups of committed turns (a buffer trim, a summary job: what
 * mp_memjobs_plan_after_turn plans once a user's turn is in the store),
 * waiting to ride with the next commit of turns instead of paying a
 * transaction, and with sync = full a flush, of their own.
 *
 *   batch k: turns ........ commit (flush) -> replies end -> plan follow-ups
 *     turns queued meanwhile?  yes: batch k+1 = its turns + k's follow-ups
 *                              no:  k's follow-ups alone, at once
 *     a change queued first (an API write, a job's op): alone, before it
 *
 * So under load each commit serves the turns of one batch and the trims
 * of the one before, and a lone client (whose next request waits for its
 * reply) finds its trim done as before. A follow-up is no promise to a
 * client (durable_ack covers the turn, not its trim): one lost to a crash
 * is planned again after the user's next turn, from what the store holds
 * then. One pending op per user: a newer plan replaces an older one (it
 * trims further, or is the same job). Memory worker thread only. */
#ifndef MP_PROXY_FOLLOWUPS_H
#define MP_PROXY_FOLLOWUPS_H

#include <stddef.h>

#include "ops/store.h"

struct mp_followups;

/* An empty set. MP_OK, MP_ENOMEM. */
int mp_followups_new(struct mp_followups **out);
void mp_followups_free(struct mp_followups *f);

/* Keeps a copy of op (an ADD_JOB or TRIM_MESSAGES; its user copied),
 * replacing the pending op of the same user. MP_OK, MP_ENOMEM (nothing
 * kept: the caller applies op itself). */
int mp_followups_put(struct mp_followups *f, const struct mp_op *op);

/* How many ops are pending. */
size_t mp_followups_count(const struct mp_followups *f);

/* Copies the pending ops into out (room for mp_followups_count ops; their
 * user keys point into f, valid until the next put or clear). Returns how
 * many. */
size_t mp_followups_copy(const struct mp_followups *f, struct mp_op *out);

/* Forgets every pending op (applied, or failed with the apply). */
void mp_followups_clear(struct mp_followups *f);

#endif
