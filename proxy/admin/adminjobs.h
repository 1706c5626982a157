/* The admin API's memory jobs (docs/admin-process.md "Jobs"): GET /admin/jobs,
 * POST /admin/jobs/{id}/retry and DELETE /admin/jobs/{id}. The request's
 * parameters become a filter here, the work runs on the memory worker
 * (proxy/memory/jobctl.h), and its outcome becomes the answer here. A job
 * is shown by its id, user, kind, state, times and the seqs of its turns:
 * never a word of the turns, nor any credential. adminapi.c routes the
 * requests and sends the answers. */
#ifndef MP_PROXY_ADMINJOBS_H
#define MP_PROXY_ADMINJOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adminpath.h"
#include "config/config.h"
#include "memory/jobctl.h"
#include "net/respond.h"
#include "ops/store.h"
#include "memory/userkey.h"

struct mp_memworker;

/* One request's state, embedded in the admin call: written by
 * mp_adminjobs_prepare() on the admin thread, by mp_adminjobs_work() on the
 * worker, read back on the admin thread after the worker's answer. */
struct mp_adminjobs {
    enum mp_admin_route route; /* MP_ADMIN_JOBS, MP_ADMIN_JOB or MP_ADMIN_JOB_RETRY */
    struct mp_jobctl_filter filter;
    char user[MP_USERKEY_MAX]; /* the filter's user key */
    unsigned char tenant[MP_USERKEY_TENANT_LEN];
    uint64_t id;
    int64_t now_ms;
    struct mp_store *store; /* borrowed */
    /* out */
    int rc;
    struct mp_jobctl_row *rows; /* the page (owned: mp_adminjobs_cleanup()) */
    size_t n;
    bool more;
    struct mp_jobctl_row one; /* the job retried or dropped */
};

/* Fills a from the routed target t (borrowed) at now_ms for store
 * (borrowed): the listing's filter (state, user and tenant as the user
 * routes name a user: user without tenant is the user of no tenant;
 * tenant alone every user of that tenant; neither every job), its cursor
 * (the decimal id of the last job of the page before) and limit, or the
 * job's {id}. MP_OK, or MP_EINVAL for a cursor this code did not write. */
int mp_adminjobs_prepare(struct mp_adminjobs *a, const struct mp_admin_target *t,
                         struct mp_store *store, int64_t now_ms);

/* The work on the memory worker (an mp_memwork_fn; arg is the struct
 * mp_adminjobs): the listing, the retry or the drop. Returns MP_OK, or the
 * store's error (a->rc holds jobctl's result either way). */
int mp_adminjobs_work(struct mp_memworker *mw, void *arg);

/* What to answer once the worker is done (status: the work's return). */
struct mp_adminjobs_answer {
    json_t *doc;         /* not NULL: 200 with it (the caller's) */
    enum mp_perr perr;   /* else this error */
    const char *message; /* static, or NULL: the table's message */
};

/* The answer of a (cfg borrowed: the held jobs' bound), and for a retry or
 * a drop done, one log line saying who acted (the admin, request_id), on
 * which job (id, kind, the state it was in, a keyed hash of its user). */
void mp_adminjobs_answer(const struct mp_adminjobs *a, const struct mp_config *cfg, int status,
                         const char *request_id, struct mp_adminjobs_answer *out);

/* Frees what a holds. */
void mp_adminjobs_cleanup(struct mp_adminjobs *a);

#endif
