/* The store ops of the memory jobs (jobop.h). */
#include "memory/jobop.h"

#include <string.h>

#include "log.h"
#include "status.h"

void mp_jobop_init(struct mp_op *op, enum mp_op_kind kind, const struct mp_job *job, int64_t now_ms)
{
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->user = job->user; /* job ops name their user in the job */
    op->user_len = job->user_len;
    op->now_ms = now_ms;
}

void mp_jobop_done(struct mp_op *op, const struct mp_job *job, int64_t now_ms)
{
    mp_jobop_init(op, MP_OP_DONE_JOB, job, now_ms);
    op->u.job_id = job->id;
}

void mp_jobop_rerun(struct mp_op *op, const struct mp_job *job, int64_t now_ms)
{
    mp_jobop_init(op, MP_OP_UPDATE_JOB, job, now_ms);
    op->u.job = *job;
    op->u.job.failed = MP_JOB_FAIL_NONE;
    op->u.job.attempts = 0;
    op->u.job.malformed = 0;
    op->u.job.not_before_ms = 0;
}

int mp_jobop_apply(struct mp_store *store, struct mp_op *ops, size_t n)
{
    int rc = mp_store_apply(store, ops, n);
    if (rc != MP_OK)
        mp_log(MP_LOG_ERROR, "memory store write failed in a memory job");
    return rc;
}
