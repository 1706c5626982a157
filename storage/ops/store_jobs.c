/* One user's pending jobs, collected in one walk of the jobs table and
 * removed after it (a scan never runs beside the deletes it would see). */
#include "ops/store_jobs.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store_lease.h"
#include "ops/store_read.h"

struct user_jobs {
    struct mp_store *s;
    const char *user;
    size_t len;
    struct mp_job *jobs;
    size_t n, cap;
};

static int on_user_job(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                       size_t vlen)
{
    struct user_jobs *uj = arg;
    struct mp_job job;
    int rc = mp_store_read_job(uj->s, key, klen, val, vlen, &job);
    if (rc != MP_OK || job.user_len != uj->len || memcmp(job.user, uj->user, uj->len) != 0)
        return rc;
    if (mp_store_backend_grow(&uj->jobs, &uj->cap, uj->n, sizeof(*uj->jobs)) != MP_OK)
        return MP_ENOMEM;
    uj->jobs[uj->n++] = job;
    return MP_OK;
}

int mp_ops_drop_jobs(struct mp_ops_ctx *w, const char *user, size_t len, mp_jobs_pick_fn pick,
                     void *arg, size_t *dropped)
{
    struct user_jobs uj = {w->s, user, len, NULL, 0, 0};
    size_t gone = 0;
    int rc = w->s->be->scan(w->txn, MP_TABLE_JOBS, NULL, 0, 0, on_user_job, &uj);
    for (size_t i = 0; rc == MP_OK && i < uj.n; i++) {
        bool drop = true;
        if (pick != NULL)
            rc = pick(w, &uj.jobs[i], arg, &drop);
        if (rc != MP_OK || !drop)
            continue;
        unsigned char kb[8];
        mp_codec_be_put(kb, uj.jobs[i].id, 8);
        rc = w->s->be->del(w->txn, MP_TABLE_JOBS, kb, sizeof(kb));
        if (rc == MP_OK)
            rc = mp_lease_drop(w->txn, uj.jobs[i].id);
        gone += rc == MP_OK;
    }
    free(uj.jobs);
    if (dropped != NULL)
        *dropped = gone;
    return rc;
}
