/* Held memory jobs that leave: removed, counted, logged (see heldjobs_drop.h). */
#include "memory/heldjobs_drop.h"

#include <stdlib.h>

#include "log.h"
#include "memory/jobop.h"
#include "metrics.h"
#include "status.h"

static void keep_all(struct mp_heldjob *held, size_t n)
{
    for (size_t i = 0; i < n; i++)
        held[i].fate = MP_HELDJOB_KEEP;
}

static enum mp_job_metric_kind metric_kind(const struct mp_job *job)
{
    return job->kind == MP_JOB_SUMMARIZE ? MP_JOBM_SUMMARIZE : MP_JOBM_EXTRACT;
}

/* One line per pass that removed jobs: how many, by why (no user id, no
 * text: the turns are still in the user's memory). */
static void log_dropped(const size_t *by_fate)
{
    struct mp_logline l;
    mp_logline_begin(&l, MP_LOG_WARN,
                     "held memory jobs dropped: no credential came for them; their turns stay "
                     "recorded, unextracted");
    mp_logline_int(&l, "expired", (int64_t)by_fate[MP_HELDJOB_EXPIRED]);
    mp_logline_int(&l, "over_user_bound", (int64_t)by_fate[MP_HELDJOB_OVER_USER]);
    mp_logline_int(&l, "over_total_bound", (int64_t)by_fate[MP_HELDJOB_OVER_TOTAL]);
    mp_logline_end(&l);
}

size_t mp_heldjobs_drop(struct mp_store *store, struct mp_metrics *metrics,
                        const struct mp_config *cfg, const struct mp_job *jobs,
                        struct mp_heldjob *held, size_t n, int64_t now_ms)
{
    struct mp_heldjob_limits lim = {cfg->memory.held_jobs_max, cfg->memory.held_jobs_per_user,
                                    (int64_t)cfg->memory.held_jobs_ttl_seconds * 1000};
    size_t leave = 0, nops = 0, by_fate[MP_HELDJOB_OVER_TOTAL + 1] = {0};
    if (mp_heldjobs_decide(held, n, &lim, now_ms, &leave) != MP_OK || leave == 0)
        return 0;
    struct mp_op *ops = calloc(leave, sizeof(*ops));
    if (ops == NULL) {
        keep_all(held, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct mp_job *job = &jobs[held[i].at];
        if (held[i].fate != MP_HELDJOB_KEEP)
            mp_jobop_done(&ops[nops++], job, now_ms);
    }
    if (mp_store_apply(store, ops, nops) != MP_OK) {
        mp_log(MP_LOG_ERROR, "memory store write failed dropping held memory jobs");
        keep_all(held, n);
        free(ops);
        return 0;
    }
    for (size_t i = 0, k = 0; i < n; i++) {
        if (held[i].fate == MP_HELDJOB_KEEP || ops[k++].result != MP_OK)
            continue; /* kept, or gone meanwhile: not this pass's to count */
        by_fate[held[i].fate]++;
        mp_metrics_memory_job(metrics, metric_kind(&jobs[held[i].at]),
                              held[i].fate == MP_HELDJOB_EXPIRED ? MP_JOBR_EXPIRED
                                                                 : MP_JOBR_EVICTED);
    }
    if (by_fate[MP_HELDJOB_EXPIRED] + by_fate[MP_HELDJOB_OVER_USER] +
            by_fate[MP_HELDJOB_OVER_TOTAL] >
        0)
        log_dropped(by_fate);
    free(ops);
    return leave;
}
