/* The store ops of the memory jobs, built from a job: one builder for every
 * file that writes jobs (memjob.c, jobresult.c, jobctl.c, heldjobs_drop.c).
 * It keeps no state and writes only through mp_jobop_apply(). */
#ifndef MP_PROXY_JOBOP_H
#define MP_PROXY_JOBOP_H

#include <stddef.h>
#include <stdint.h>

#include "ops/store.h"

/* *op zeroed, of kind, on job's user (op->user points into job: keep job
 * alive until the op is applied), at now_ms. */
void mp_jobop_init(struct mp_op *op, enum mp_op_kind kind, const struct mp_job *job,
                   int64_t now_ms);

/* *op removes job from the store (MP_OP_DONE_JOB). */
void mp_jobop_done(struct mp_op *op, const struct mp_job *job, int64_t now_ms);

/* *op stores job pending afresh (MP_OP_UPDATE_JOB): not failed, no
 * attempt, no wait; op->u.job is the job as it will be. */
void mp_jobop_rerun(struct mp_op *op, const struct mp_job *job, int64_t now_ms);

/* Applies ops[0..n) to store: mp_store_apply()'s result, logged (no user,
 * no text) when it is not MP_OK. */
int mp_jobop_apply(struct mp_store *store, struct mp_op *ops, size_t n);

#endif
