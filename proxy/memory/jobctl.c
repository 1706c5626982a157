/* An operator's view of the memory jobs and two acts on one of them. The
 * store is the truth (on PostgreSQL it holds every proxy's jobs, which
 * every proxy indexes); the index of this process's worker (memjob.c)
 * adds what only it knows: which calls run here, which credentials it
 * has. A change goes to the store first and to the index after, as the
 * worker's own changes do. */
#include "memory/jobctl.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

static bool of_user(const struct mp_jobctl_filter *f, const struct mp_job *job)
{
    if (f->user != NULL)
        return job->user_len == f->user_len && memcmp(job->user, f->user, f->user_len) == 0;
    if (f->tenant != NULL)
        return job->user_len > 1 + MP_TENANT_LEN && job->user[0] == MP_USER_KEY_TENANT &&
               memcmp(job->user + 1, f->tenant, MP_TENANT_LEN) == 0;
    return true;
}

int mp_jobctl_list(struct mp_memjobs *j, struct mp_store *store, const struct mp_jobctl_filter *f,
                   int64_t now_ms, struct mp_jobctl_row **out, size_t *n, bool *more)
{
    struct mp_job *jobs = NULL;
    struct mp_jobctl_row *rows = NULL;
    size_t njobs = 0, taken = 0;
    bool over = false;
    int rc = mp_store_jobs(store, &jobs, &njobs);
    if (rc != MP_OK)
        return rc;
    if (njobs > 0) {
        rows = calloc(f->limit < njobs ? f->limit : njobs, sizeof(*rows));
        if (rows == NULL) {
            free(jobs);
            return MP_ENOMEM;
        }
    }
    for (size_t i = njobs; i > 0 && !over; i--) { /* the store's order is by id */
        const struct mp_job *job = &jobs[i - 1];
        if ((f->before_id != 0 && job->id >= f->before_id) || !of_user(f, job))
            continue;
        enum mp_memjob_state st = mp_memjobs_state(j, job, now_ms);
        if (f->states != 0 && (f->states & (1u << st)) == 0)
            continue;
        if (taken == f->limit) {
            over = true;
            break;
        }
        rows[taken++] = (struct mp_jobctl_row){.job = *job, .state = st};
    }
    free(jobs);
    if (taken == 0) {
        free(rows);
        rows = NULL;
    }
    *out = rows;
    *n = taken;
    *more = over;
    return MP_OK;
}

/* Reads job id and its state into *out. */
static int read_row(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                    struct mp_jobctl_row *out)
{
    struct mp_job job;
    int rc = mp_store_job(store, id, &job);
    if (rc != MP_OK)
        return rc;
    out->job = job;
    out->state = mp_memjobs_state(j, &job, now_ms);
    return MP_OK;
}

/* Applies the one job op: its result when the apply went through. */
static int apply_job_op(struct mp_store *store, struct mp_op *op, const struct mp_job *job,
                        int64_t now_ms)
{
    op->user = job->user; /* job ops name their user in the job */
    op->user_len = job->user_len;
    op->now_ms = now_ms;
    int rc = mp_store_apply(store, op, 1);
    return rc == MP_OK ? op->result : rc;
}

int mp_jobctl_retry(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                    struct mp_jobctl_row *out)
{
    int rc = read_row(j, store, id, now_ms, out);
    if (rc == MP_OK && out->state != MP_MEMJOB_FAILED)
        rc = MP_ECONFLICT; /* only a failed job runs again */
    if (rc != MP_OK)
        return rc;
    struct mp_op op = {.kind = MP_OP_UPDATE_JOB};
    op.u.job = out->job;
    op.u.job.failed = MP_JOB_FAIL_NONE;
    op.u.job.attempts = 0;
    op.u.job.malformed = 0;
    op.u.job.not_before_ms = 0;
    rc = apply_job_op(store, &op, &out->job, now_ms);
    if (rc != MP_OK)
        return rc;
    mp_memjobs_forget_job(j, id);
    mp_memjobs_add(j, &op.u.job);
    mp_memjobs_due(j, &op.u.job);
    mp_memjobs_schedule(j);
    out->job = op.u.job;
    out->state = mp_memjobs_state(j, &op.u.job, now_ms);
    return MP_OK;
}

int mp_jobctl_drop(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                   struct mp_jobctl_row *out)
{
    int rc = read_row(j, store, id, now_ms, out);
    if (rc == MP_OK && out->state == MP_MEMJOB_LEASED)
        rc = MP_ECONFLICT; /* a call runs it: its end removes it, or retries it */
    if (rc != MP_OK)
        return rc;
    struct mp_op op = {.kind = MP_OP_DONE_JOB};
    op.u.job_id = id;
    rc = apply_job_op(store, &op, &out->job, now_ms);
    if (rc != MP_OK)
        return rc;
    mp_memjobs_forget_job(j, id);
    mp_memjobs_schedule(j); /* the gauges: held, failed, queue depth */
    return MP_OK;
}
