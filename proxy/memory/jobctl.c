/* An operator's view of the memory jobs and two acts on one of them. The
 * store is the truth (on PostgreSQL it holds every proxy's jobs, which
 * every proxy indexes); the index of this process's worker (memjob.c)
 * adds what only it knows: which calls run here, which credentials it
 * has. A change goes to the store first and to the index after, as the
 * worker's own changes do. */
#include "memory/jobctl.h"

#include <stdlib.h>
#include <string.h>

#include "memory/jobop.h"
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

/* Whether job is of the batch failed job r is of: an extraction batch's
 * jobs fail together, so they share their user, their reason and the
 * millisecond they failed at (memjob.c); a summary job is a batch of its
 * own. */
static bool same_batch(const struct mp_job *r, const struct mp_job *job)
{
    return r->kind == MP_JOB_EXTRACT && job->kind == MP_JOB_EXTRACT && r->failed != 0 &&
           job->failed == r->failed && job->not_before_ms == r->not_before_ms &&
           job->user_len == r->user_len && memcmp(job->user, r->user, r->user_len) == 0;
}

/* Folds an older job of its batch into row r: the row keeps the batch's
 * first job (its id, attempts and times) and spans every turn's seqs. */
static void fold(struct mp_jobctl_row *r, const struct mp_job *older)
{
    uint64_t through =
        r->job.through_seq > older->through_seq ? r->job.through_seq : older->through_seq;
    r->job = *older;
    r->job.through_seq = through;
    r->turns++;
}

/* The row of rows[0..n) job folds into (a failed batch's), or NULL. */
static struct mp_jobctl_row *batch_row(struct mp_jobctl_row *rows, size_t n,
                                       const struct mp_job *job, enum mp_memjob_state st)
{
    if (st != MP_MEMJOB_FAILED || job->kind != MP_JOB_EXTRACT)
        return NULL;
    for (size_t i = n; i > 0; i--)
        if (rows[i - 1].state == MP_MEMJOB_FAILED && same_batch(&rows[i - 1].job, job))
            return &rows[i - 1];
    return NULL;
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
        struct mp_jobctl_row *batch = batch_row(rows, taken, job, st);
        if (batch != NULL) {
            fold(batch, job);
            continue;
        }
        if (taken == f->limit) {
            over = true;
            break;
        }
        rows[taken++] = (struct mp_jobctl_row){.job = *job, .state = st, .turns = 1};
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
    out->turns = 1;
    return MP_OK;
}

/* The stored jobs of the batch of row (a failed one), oldest first, row's
 * job among them: MP_OK with *out (free()) and *n >= 1; the store's error.
 * A job of any other state is a batch of its own. */
static int batch_of(struct mp_store *store, const struct mp_jobctl_row *row, struct mp_job **out,
                    size_t *n)
{
    struct mp_job *jobs = NULL;
    size_t njobs = 0, k = 0;
    int rc = row->state == MP_MEMJOB_FAILED ? mp_store_jobs(store, &jobs, &njobs) : MP_OK;
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < njobs; i++)
        if (jobs[i].id == row->job.id || same_batch(&row->job, &jobs[i]))
            jobs[k++] = jobs[i];
    if (k == 0) { /* not failed, or gone from the listing since */
        free(jobs);
        jobs = malloc(sizeof(*jobs));
        if (jobs == NULL)
            return MP_ENOMEM;
        jobs[k++] = row->job;
    }
    *out = jobs;
    *n = k;
    return MP_OK;
}

/* Writes the batch of row (batch_of()) in one store write: each job made
 * pending afresh (kind MP_OP_UPDATE_JOB) or removed (MP_OP_DONE_JOB). MP_OK
 * with *jobs and *ops (n of each, oldest first; the caller frees both), or
 * the store's error (the first job's op's result: a later job of the batch
 * gone meanwhile is no failure) with nothing to free. */
static int batch_write(struct mp_store *store, const struct mp_jobctl_row *row,
                       enum mp_op_kind kind, int64_t now_ms, struct mp_job **jobs,
                       struct mp_op **ops, size_t *n)
{
    int rc = batch_of(store, row, jobs, n);
    *ops = rc == MP_OK ? calloc(*n, sizeof(**ops)) : NULL;
    if (rc == MP_OK && *ops == NULL)
        rc = MP_ENOMEM;
    for (size_t i = 0; rc == MP_OK && i < *n; i++) {
        if (kind == MP_OP_DONE_JOB)
            mp_jobop_done(&(*ops)[i], &(*jobs)[i], now_ms);
        else
            mp_jobop_rerun(&(*ops)[i], &(*jobs)[i], now_ms);
    }
    if (rc == MP_OK)
        rc = mp_store_apply(store, *ops, *n);
    if (rc == MP_OK)
        rc = (*ops)[0].result;
    if (rc != MP_OK) {
        free(*ops);
        free(*jobs);
        *ops = NULL;
        *jobs = NULL;
    }
    return rc;
}

int mp_jobctl_retry(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                    struct mp_jobctl_row *out)
{
    struct mp_job *jobs = NULL;
    struct mp_op *ops = NULL;
    size_t n = 0;
    int rc = read_row(j, store, id, now_ms, out);
    if (rc == MP_OK && out->state != MP_MEMJOB_FAILED)
        rc = MP_ECONFLICT; /* only a failed job runs again */
    if (rc == MP_OK)
        rc = batch_write(store, out, MP_OP_UPDATE_JOB, now_ms, &jobs, &ops, &n);
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        mp_memjobs_forget_job(j, jobs[i].id);
        mp_memjobs_add(j, &ops[i].u.job);
        mp_memjobs_due(j, &ops[i].u.job);
    }
    mp_memjobs_schedule(j);
    out->job = ops[0].u.job;
    out->job.through_seq = ops[n - 1].u.job.through_seq;
    out->state = mp_memjobs_state(j, &ops[0].u.job, now_ms);
    out->turns = (uint32_t)n;
    free(ops);
    free(jobs);
    return MP_OK;
}

int mp_jobctl_drop(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                   struct mp_jobctl_row *out)
{
    struct mp_job *jobs = NULL;
    struct mp_op *ops = NULL;
    size_t n = 0;
    int rc = read_row(j, store, id, now_ms, out);
    if (rc == MP_OK && out->state == MP_MEMJOB_LEASED)
        rc = MP_ECONFLICT; /* a call runs it: its end removes it, or retries it */
    if (rc == MP_OK)
        rc = batch_write(store, out, MP_OP_DONE_JOB, now_ms, &jobs, &ops, &n);
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        mp_memjobs_forget_job(j, jobs[i].id);
    mp_memjobs_schedule(j); /* the gauges: held, failed, queue depth */
    out->job = jobs[0];
    out->job.through_seq = jobs[n - 1].through_seq;
    out->turns = (uint32_t)n;
    free(ops);
    free(jobs);
    return MP_OK;
}
