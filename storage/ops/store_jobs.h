/* One user's pending memory jobs as the ops that remove them see them
 * (store_jobs.c): DELETE_USER and SET_USER_MODE off take them all,
 * erasure the extractions nothing of whose turn is left. Private to the
 * op layer; the jobs themselves are added, claimed and done in
 * store_ops.c. */
#ifndef MP_STORAGE_STORE_JOBS_H
#define MP_STORAGE_STORE_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/store_user.h"

/* Whether a job goes: called once per job of the user, after the walk of
 * the jobs (it may read the store); MP_OK with *drop set, or an error
 * that ends the call. */
typedef int (*mp_jobs_pick_fn)(struct mp_ops_ctx *w, const struct mp_job *job, void *arg,
                               bool *drop);

/* Removes the pending jobs of user[0..len) that pick takes (NULL: all),
 * with their leases; *dropped (may be NULL): how many. A walk of the
 * store's jobs (a bounded queue: [memory] queue_max). MP_OK or an error. */
int mp_ops_drop_jobs(struct mp_ops_ctx *w, const char *user, size_t len, mp_jobs_pick_fn pick,
                     void *arg, size_t *dropped);

#endif
