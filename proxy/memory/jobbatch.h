/* The size of every user's next extraction batch, counted in one sweep of
 * the job index, so that a scheduling pass (memjob.c) asks whether a
 * user's batch is due with a lookup.
 *
 *   index (id order):  u1 u2 u1 u3 u1 u2 ...      one sweep, one entry per user:
 *                       |     |     |             u1: first job, batch 3
 *                       +-----+-----+--> u1       u2: first job, batch 2 ...
 *
 * A user's batch is what memjob.c's collect_batch would take from the
 * user's first waiting job (the first that has not failed for good): the
 * user's extraction jobs from it on, in id order, skipping failed ones,
 * up to the first job of another kind or one held (not_before_ms after
 * now), at most max. Without this, each pass scanned from every waiting
 * user's first job to the end of the index: users x jobs comparisons per
 * pass, most of the memory worker's time once thousands of turns wait.
 *
 * A table is valid for the index it was built from. Taking a user's jobs
 * out, or putting them back, changes no other user's entry (entries are
 * found by the first job's id, never by position); a job put back at a
 * user's head is not found, and the caller counts that user's batch the
 * slow way. Memory worker thread only; no allocation but the table. */
#ifndef MP_PROXY_JOBBATCH_H
#define MP_PROXY_JOBBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/storetypes.h"

#define MP_JOBBATCH_UNKNOWN SIZE_MAX /* mp_jobbatch_find: no entry for that first job */

struct mp_jobbatch_entry;

struct mp_jobbatch {
    struct mp_jobbatch_entry *slots; /* open addressing by user hash */
    size_t mask, used;
};

/* Builds b from jobs[0..n) (ordered by id), counting batches of at most
 * max jobs as of now. Returns false when out of memory (b is then empty:
 * every lookup says MP_JOBBATCH_UNKNOWN). Free with mp_jobbatch_free(). */
bool mp_jobbatch_build(struct mp_jobbatch *b, const struct mp_job *jobs, size_t n, size_t max,
                       int64_t now);

/* The batch of the user whose first waiting job is first, or
 * MP_JOBBATCH_UNKNOWN when the table has no entry with that first job. */
size_t mp_jobbatch_find(const struct mp_jobbatch *b, const struct mp_job *first);

void mp_jobbatch_free(struct mp_jobbatch *b);

#endif
