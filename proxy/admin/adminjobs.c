/* The admin API's memory jobs: filter in, JSON out (adminjobs.h). The
 * cursor of a page is the decimal id of its last job: jobs are listed by
 * id, newest first, and ids are never reused, so the next page is every
 * job below it that the filter takes, whatever came or went meanwhile. */
#include "admin/adminjobs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memview/memjson.h"
#include "log.h"
#include "memory/memworker.h"
#include "metrics.h"
#include "net/access.h"
#include "status.h"

#define CURSOR_DIGITS_MAX 19 /* 2^63 - 1: a cursor is a job id (mp_adminpath_parse_id) */

static const char *const state_names[MP_MEMJOB_STATES] = {
    [MP_MEMJOB_PENDING] = "pending",
    [MP_MEMJOB_LEASED] = "leased",
    [MP_MEMJOB_HELD] = "held",
    [MP_MEMJOB_FAILED] = "failed",
};

static const char *const no_job = "No memory job has this id (it was done, dropped, or went with "
                                  "its user).";

static unsigned state_bits(enum mp_admin_job_state s)
{
    switch (s) {
    case MP_ADMIN_JOBS_PENDING:
        return 1u << MP_MEMJOB_PENDING;
    case MP_ADMIN_JOBS_LEASED:
        return 1u << MP_MEMJOB_LEASED;
    case MP_ADMIN_JOBS_HELD:
        return 1u << MP_MEMJOB_HELD;
    case MP_ADMIN_JOBS_FAILED:
        return 1u << MP_MEMJOB_FAILED;
    case MP_ADMIN_JOBS_ALL:
        break;
    }
    return 0;
}

int mp_adminjobs_prepare(struct mp_adminjobs *a, const struct mp_admin_target *t,
                         struct mp_store *store, int64_t now_ms)
{
    struct mp_jobctl_filter *f = &a->filter;
    bool tenant =
        t->has_tenant && mp_userkey_tenant_parse(t->tenant, strlen(t->tenant), a->tenant) == MP_OK;
    memset(f, 0, sizeof(*f));
    a->route = t->route;
    a->id = t->job;
    a->store = store;
    a->now_ms = now_ms;
    if (t->cursor_len > 0 &&
        mp_adminpath_parse_id(t->cursor, t->cursor_len, &f->before_id) != MP_OK)
        return MP_EINVAL;
    f->states = state_bits(t->state);
    f->limit = t->limit;
    if (t->has_job_user) {
        f->user_len =
            mp_userkey_make(tenant ? a->tenant : NULL, t->job_user, t->job_user_len, a->user);
        f->user = a->user;
    } else if (tenant) {
        f->tenant = a->tenant;
    }
    return MP_OK;
}

int mp_adminjobs_work(struct mp_memworker *mw, void *arg)
{
    struct mp_adminjobs *a = arg;
    struct mp_memjobs *j = mp_memworker_jobs(mw);
    switch (a->route) {
    case MP_ADMIN_JOB_RETRY:
        a->rc = mp_jobctl_retry(j, a->store, a->id, a->now_ms, &a->one);
        break;
    case MP_ADMIN_JOB:
        a->rc = mp_jobctl_drop(j, a->store, a->id, a->now_ms, &a->one);
        break;
    default:
        a->rc = mp_jobctl_list(j, a->store, &a->filter, a->now_ms, &a->rows, &a->n, &a->more);
        return a->rc;
    }
    if (a->rc == MP_OK || a->rc == MP_NOTFOUND || a->rc == MP_ECONFLICT)
        return MP_OK; /* answers, not failures */
    if (a->rc != MP_ENOMEM)
        mp_memworker_note_write(mw, a->rc);
    return a->rc;
}

/* ---- JSON ---- */

static int set(json_t *o, const char *name, json_t *v)
{
    return v == NULL || json_object_set_new(o, name, v) != 0 ? -1 : 0;
}

static json_t *seqs_json(const struct mp_job *job)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f =
        set(o, "from", job->from_seq > 0 ? json_integer((json_int_t)job->from_seq) : json_null());
    f |= set(o, "through", json_integer((json_int_t)job->through_seq));
    if (f != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Why it waits or failed: {"reason", ...}, or null. */
static json_t *why_json(const struct mp_jobctl_row *r, const struct mp_config *cfg, bool held)
{
    const struct mp_job *job = &r->job;
    if (held && r->state == MP_MEMJOB_HELD) {
        int64_t ttl_ms = (int64_t)cfg->memory.held_jobs_ttl_seconds * 1000;
        return json_pack("{s:s, s:o}", "reason", "no_credential", "expires_at",
                         mp_memjson_time(job->created_ms + ttl_ms));
    }
    if (!held && r->state == MP_MEMJOB_FAILED)
        return json_pack("{s:s}", "reason",
                         mp_metrics_job_fail_name((enum mp_job_fail)job->failed));
    return json_null();
}

/* When it runs next, as far as this process knows: a pending job's
 * retry's backoff, or another process's lease's end; else null. */
static int64_t next_try_ms(const struct mp_jobctl_row *r, int64_t now_ms)
{
    const struct mp_job *job = &r->job;
    if (r->state == MP_MEMJOB_PENDING && job->not_before_ms > now_ms)
        return job->not_before_ms;
    return 0;
}

static json_t *row_json(const struct mp_jobctl_row *r, const struct mp_config *cfg, int64_t now_ms)
{
    const struct mp_job *job = &r->job;
    bool failed = r->state == MP_MEMJOB_FAILED;
    bool leased = r->state == MP_MEMJOB_LEASED && job->lease_owner != 0 &&
                  job->lease_until_ms > now_ms; /* a store that keeps leases */
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int f = set(o, "id", json_integer((json_int_t)job->id));
    f |= mp_memjson_set_user(o, job->user, job->user_len);
    f |= set(o, "kind", json_string(job->kind == MP_JOB_SUMMARIZE ? "summarize" : "extract"));
    f |= set(o, "state", json_string(state_names[r->state]));
    f |= set(o, "turns", json_integer((json_int_t)r->turns));
    f |= set(o, "held", why_json(r, cfg, true));
    f |= set(o, "failed", why_json(r, cfg, false));
    f |= set(o, "attempts", json_integer((json_int_t)job->attempts));
    f |= set(o, "unusable_answers", json_integer((json_int_t)job->malformed));
    f |= set(o, "seqs", seqs_json(job));
    f |= set(o, "created_at", mp_memjson_time(job->created_ms));
    f |= set(o, "updated_at", mp_memjson_time(failed ? job->not_before_ms : 0));
    f |= set(o, "next_try_at", mp_memjson_time(next_try_ms(r, now_ms)));
    f |= set(o, "lease_until", mp_memjson_time(leased ? job->lease_until_ms : 0));
    if (f != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *page_json(const struct mp_adminjobs *a, const struct mp_config *cfg)
{
    char next[CURSOR_DIGITS_MAX + 1];
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < a->n; i++) {
        if (json_array_append_new(list, row_json(&a->rows[i], cfg, a->now_ms)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    if (a->more && a->n > 0)
        snprintf(next, sizeof(next), "%" PRIu64, a->rows[a->n - 1].job.id);
    return list == NULL ? NULL
                        : json_pack("{s:o, s:o}", "jobs", list, "next_cursor",
                                    a->more && a->n > 0 ? json_string(next) : json_null());
}

/* One line per act: who (the admin, by request id) did what to which job. */
static void log_act(const struct mp_adminjobs *a, const char *request_id)
{
    struct mp_logline l;
    char hash[MP_USER_HASH_LEN + 1];
    const struct mp_job *job = &a->one.job;
    mp_logline_begin(&l, MP_LOG_INFO,
                     a->route == MP_ADMIN_JOB ? "memory job dropped" : "memory job run again");
    if (!l.enabled)
        return;
    mp_logline_str(&l, "actor", "admin");
    mp_logline_str(&l, "request_id", request_id);
    mp_logline_int(&l, "job", (int64_t)job->id);
    mp_logline_int(&l, "turns", (int64_t)a->one.turns);
    mp_logline_str(&l, "kind", job->kind == MP_JOB_SUMMARIZE ? "summarize" : "extract");
    if (a->route == MP_ADMIN_JOB)
        mp_logline_str(&l, "state", state_names[a->one.state]);
    mp_access_user_hash(job->user, job->user_len, hash);
    mp_logline_str(&l, "user", hash);
    mp_logline_end(&l);
}

/* A 409's message: what the job is doing instead. */
static const char *conflict_message(const struct mp_adminjobs *a)
{
    if (a->route == MP_ADMIN_JOB)
        return NULL; /* running: the table's */
    switch (a->one.state) {
    case MP_MEMJOB_PENDING:
        return "This memory job is not failed: it is pending and runs in its turn (POST "
               "/admin/extract makes every waiting batch due).";
    case MP_MEMJOB_LEASED:
        return "This memory job is not failed: it is running now.";
    case MP_MEMJOB_HELD:
        return "This memory job is not failed: it is held for a credential and runs once its "
               "user's next request to the memory model's provider brings one (or drop it).";
    default:
        return NULL;
    }
}

void mp_adminjobs_answer(const struct mp_adminjobs *a, const struct mp_config *cfg, int status,
                         const char *request_id, struct mp_adminjobs_answer *out)
{
    memset(out, 0, sizeof(*out));
    out->perr = MP_PERR_INTERNAL;
    if (status != MP_OK)
        return;
    if (a->route == MP_ADMIN_JOBS) {
        out->doc = page_json(a, cfg);
        return;
    }
    if (a->rc == MP_NOTFOUND) {
        out->perr = MP_PERR_NOT_FOUND;
        out->message = no_job;
    } else if (a->rc == MP_ECONFLICT) {
        out->perr = a->route == MP_ADMIN_JOB ? MP_PERR_JOB_RUNNING : MP_PERR_JOB_NOT_FAILED;
        out->message = conflict_message(a);
    } else if (a->rc == MP_OK) {
        log_act(a, request_id);
        out->doc = json_pack("{s:o}", a->route == MP_ADMIN_JOB ? "dropped" : "job",
                             row_json(&a->one, cfg, a->now_ms));
    }
}

void mp_adminjobs_cleanup(struct mp_adminjobs *a)
{
    free(a->rows);
    a->rows = NULL;
    a->n = 0;
}
