/* An import from its file to its answer (importrun.h): the reader of its
 * format, the plan and ops (adminimport.h), the memory worker, the
 * answer's JSON. The run's state (struct run) is lent to the worker and
 * freed in on_applied, the one place its answer is given. */
#include "admin/importrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/adminimport.h"
#include "admin/importlines.h"
#include "import/chatgpt.h"
#include "import/claude.h"
#include "clock.h"
#include "import/importwhy.h"
#include "import/importzip.h"
#include "log.h"
#include "recall/memblock.h"
#include "memory/memworker.h"
#include "memory/memprompt.h"
#include "import/memtext.h"
#include "metrics.h"
#include "net/loop.h"
#include "status.h"
#include "upkeep/sweep.h"
#include "memory/userkey.h"

#define EXPORT_MEMBER "conversations.json"

struct run {
    struct mp_loop *loop;
    char user[MP_USERKEY_MAX];
    size_t user_len;
    char request_id[MP_REQUEST_ID_MAX + 1];
    enum mp_import_format format;
    unsigned batch_turns;
    uint32_t call_tokens;
    struct mp_import_job job;
    mp_importrun_done_fn done;
    void *arg;
    struct mp_memticket *ticket;
};

void mp_import_answer_cleanup(struct mp_import_answer *a)
{
    json_decref(a->doc);
    memset(a, 0, sizeof(*a));
}

static void refuse(struct mp_import_answer *a, enum mp_perr perr, const char *message)
{
    memset(a, 0, sizeof(*a));
    a->perr = perr;
    snprintf(a->message, sizeof(a->message), "%s", message != NULL ? message : "");
}

/* ---- reading ---- */

/* The refusal of a file its reader did not take (mp_importwhy_say),
 * counted. */
static void refuse_file(struct run *r, const struct mp_import_error *err,
                        struct mp_import_answer *a)
{
    bool export = r->format == MP_IMPORT_FORMAT_CHATGPT || r->format == MP_IMPORT_FORMAT_CLAUDE;
    memset(a, 0, sizeof(*a));
    a->perr = MP_PERR_INVALID_IMPORT;
    mp_importwhy_say(err, export ? EXPORT_MEMBER : NULL, a->message, sizeof(a->message));
    mp_metrics_import_refused(r->loop->metrics, r->format,
                              err->future ? MP_IMPORTX_FUTURE : MP_IMPORTX_INVALID);
}

/* A ChatGPT or Claude export, its ZIP or its conversations.json. */
static int read_export(struct run *r, const char *body, size_t len, int64_t now,
                       struct mp_import_batch *b, struct mp_import_error *err)
{
    char *json = NULL;
    size_t jlen = 0;
    int rc = MP_OK;
    if (mp_importzip_is_zip(body, len)) {
        rc = mp_importzip_member(body, len, EXPORT_MEMBER, MP_IMPORTRUN_INFLATED_MAX, &json, &jlen);
        err->line = 0; /* the file as a whole */
        err->why = rc == MP_NOTFOUND  ? "the ZIP holds no conversations.json"
                   : rc == MP_ETOOBIG ? "conversations.json inflates past 256 MiB"
                                      : "not a ZIP archive that can be read";
        if (rc == MP_NOTFOUND || rc == MP_ETOOBIG)
            rc = MP_EINVAL;
        if (rc != MP_OK)
            return rc;
        body = json;
        len = jlen;
    }
    rc = r->format == MP_IMPORT_FORMAT_CHATGPT ? mp_chatgpt_read(body, len, now, b, err)
                                               : mp_claude_read(body, len, now, b, err);
    free(json);
    return rc;
}

static int read_file(struct run *r, const char *body, size_t len, int64_t now,
                     struct mp_import_batch *b, struct mp_import_error *err)
{
    memset(err, 0, sizeof(*err));
    switch (r->format) {
    case MP_IMPORT_FORMAT_CHATGPT:
    case MP_IMPORT_FORMAT_CLAUDE:
        return read_export(r, body, len, now, b, err);
    case MP_IMPORT_FORMAT_MEMORY_TEXT:
        return mp_memtext_read(body, len, now, b, err);
    default:
        return mp_import_parse(body, len, now, b, err);
    }
}

/* ---- planning ---- */

/* The tokens of one extraction call's instructions: its body for one
 * empty turn. */
static uint32_t call_tokens(const struct mp_config *cfg)
{
    struct mp_memprompt_turn none = {"", 0, "", 0, 0};
    struct mp_memprompt_fold fold = {NULL, 0, cfg->memory.summary_max_words};
    char *body = NULL;
    size_t len = 0;
    bool hybrid = cfg->memory.mode == MP_MEMORY_HYBRID;
    if (mp_memprompt_batch_request_keys(
            cfg->memory.llm, cfg->memory.extraction_model, &none, 1, hybrid ? &fold : NULL,
            cfg->memory.search_keys && cfg->memory.archive, &body, &len) != MP_OK)
        return 0;
    free(body);
    return mp_memblock_estimate_tokens(len);
}

static void plan_limits(struct run *r, const struct mp_import_request *req,
                        struct mp_importplan_limits *lim)
{
    const struct mp_config *cfg = r->loop->cfg;
    bool extracts = cfg->memory.mode == MP_MEMORY_ENTITY || cfg->memory.mode == MP_MEMORY_HYBRID;
    uint64_t max = cfg->memory.import_extract_max_tokens;
    if (req->has_extract_max_tokens && req->extract_max_tokens < max)
        max = req->extract_max_tokens;
    r->batch_turns = cfg->memory.extract_batch_turns;
    r->call_tokens = call_tokens(cfg);
    *lim =
        (struct mp_importplan_limits){.turns = extracts && (r->format == MP_IMPORT_FORMAT_CHATGPT ||
                                                            r->format == MP_IMPORT_FORMAT_CLAUDE),
                                      .max_tokens = max,
                                      .batch_turns = r->batch_turns,
                                      .call_tokens = r->call_tokens};
}

/* ---- the answer ---- */

static size_t count_ops(const struct mp_import_job *job, enum mp_op_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < job->nops; i++)
        n += job->ops[i].kind == kind;
    return n;
}

/* What was left out, by reason; *total their sum. */
static json_t *reasons(const struct mp_import_job *job, bool dry, size_t *total)
{
    json_t *o = json_object();
    const size_t *k = job->batch.skipped;
    *total = 0;
    for (int i = 0; o != NULL && i < MP_IMPORT_SKIP_COUNT; i++) {
        if (k[i] > 0 && json_object_set_new(o, mp_importitem_skip_name((enum mp_import_skip)i),
                                            json_integer((json_int_t)k[i])) != 0)
            break;
        *total += k[i];
    }
    const char *names[] = {"pii", "already_imported", "fact_kept_out"};
    size_t more[] = {job->dropped, dry ? 0 : job->known, dry ? 0 : job->kept_out};
    for (size_t i = 0; o != NULL && i < 3; i++) {
        if (more[i] > 0)
            json_object_set_new(o, names[i], json_integer((json_int_t)more[i]));
        *total += more[i];
    }
    return o;
}

static json_t *answer_doc(const struct run *r, bool dry)
{
    const struct mp_import_job *job = &r->job;
    const struct mp_importplan *p = &job->plan;
    size_t skipped = 0;
    json_t *why = reasons(job, dry, &skipped);
    size_t per_call = r->batch_turns > 0 ? r->batch_turns : 1;
    size_t turns = dry ? p->extract_turns : job->jobs;
    size_t calls = dry ? p->calls : (job->jobs + per_call - 1) / per_call;
    uint64_t tokens = dry ? p->tokens : job->queued_tokens + (uint64_t)calls * r->call_tokens;
    json_t *extraction =
        json_pack("{s:I, s:I, s:I, s:I}", "turns", (json_int_t)turns, "tokens", (json_int_t)tokens,
                  "calls", (json_int_t)calls, "left_out_turns", (json_int_t)p->left_out);
    json_t *doc = json_pack(
        "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o*, s:I, s:o*}", "format",
        mp_importitem_format_name(r->format), "dry_run", dry, "messages",
        (json_int_t)(dry ? count_ops(job, MP_OP_IMPORT_MESSAGE) : job->messages), "facts",
        (json_int_t)(dry ? count_ops(job, MP_OP_UPSERT_ENTITY) : job->facts), "settings",
        (json_int_t)(dry ? count_ops(job, MP_OP_SET_USER_MODE) : job->settings), "skipped",
        (json_int_t)skipped, "past_retention", (json_int_t)job->past, "skipped_by_reason", why,
        "conversations", (json_int_t)job->batch.nconvs, "extraction", extraction);
    return doc;
}

/* ---- the worker ---- */

/* A store that refuses the write (full, or failing) shows on /readyz and
 * in memproxy_storage_writable like a turn's would; a user's fact limit
 * (MP_ECONFLICT) is no state of the store. */
static int work(struct mp_memworker *mw, void *arg)
{
    struct run *r = arg;
    int rc = mp_import_apply(r->loop->store, &r->job);
    if (rc != MP_ECONFLICT)
        mp_memworker_note_write(mw, rc);
    if (rc == MP_OK)
        mp_memworker_jobs_added(mw, r->job.ops, r->job.nops);
    return rc;
}

/* The store refused the import (nothing of it was written: one
 * transaction): logged with the request id, never the items. */
static void store_failed(struct run *r, int status, struct mp_import_answer *a)
{
    bool full = status == MP_ETOOBIG;
    struct mp_logline l;
    mp_metrics_import(r->loop->metrics, full ? MP_IMPORTR_STORAGE_FULL : MP_IMPORTR_ERROR);
    mp_logline_begin(&l, MP_LOG_ERROR,
                     full ? "import not stored: memory store full" : "import not stored");
    if (l.enabled) {
        mp_logline_str(&l, "request_id", r->request_id);
        mp_logline_int(&l, "lines", (int64_t)r->job.batch.n);
        mp_logline_end(&l);
    }
    refuse(a, full ? MP_PERR_STORAGE_FULL : MP_PERR_INTERNAL, NULL);
}

static void run_free(struct run *r)
{
    mp_import_job_free(&r->job);
    free(r);
}

static void on_applied(struct mp_memticket *t, void *arg, int status)
{
    struct run *r = arg;
    struct mp_import_answer a = {0};
    (void)t;
    if (status == MP_ECONFLICT) {
        refuse(&a, MP_PERR_MEMORY_FULL, NULL);
    } else if (status != MP_OK) {
        store_failed(r, status, &a);
    } else {
        mp_metrics_import(r->loop->metrics, MP_IMPORTR_OK);
        a.doc = answer_doc(r, false);
        a.ok = a.doc != NULL;
        if (!a.ok)
            refuse(&a, MP_PERR_INTERNAL, NULL);
    }
    r->done(r->arg, &a);
    mp_import_answer_cleanup(&a);
    run_free(r);
}

/* ---- the start ---- */

static int user_key(struct run *r, const char *user_id, size_t id_len, const char *tenant)
{
    unsigned char t[MP_USERKEY_TENANT_LEN];
    if (tenant != NULL && mp_userkey_tenant_parse(tenant, strlen(tenant), t) != MP_OK)
        return MP_EINVAL;
    if (id_len == 0 || id_len > MP_USER_ID_MAX)
        return MP_EINVAL;
    r->user_len = mp_userkey_make(tenant != NULL ? t : NULL, user_id, id_len, r->user);
    return MP_OK;
}

/* Reads, checks and plans: MP_OK, or the answer's refusal in *now. */
static int prepare(struct run *r, const struct mp_import_request *req, const char *body, size_t len,
                   struct mp_import_answer *now)
{
    const struct mp_config *cfg = r->loop->cfg;
    struct mp_import_batch b = {0};
    struct mp_import_error err;
    int64_t now_ms = mp_clock_now_ms();
    int rc = read_file(r, body, len, now_ms, &b, &err);
    if (rc == MP_EINVAL)
        refuse_file(r, &err, now);
    else if (rc != MP_OK)
        refuse(now, MP_PERR_INTERNAL, NULL);
    if (rc == MP_OK && b.nmessages > 0 && !cfg->memory.archive) {
        refuse(now, MP_PERR_ARCHIVE_DISABLED, NULL);
        rc = MP_EINVAL;
    }
    if (rc != MP_OK) {
        mp_importitem_free(&b);
        return rc;
    }
    struct mp_import_opts opts = {.pii_mode = cfg->governance.pii_mode,
                                  .item_time = req->retention_item};
    mp_sweep_retention_days(cfg->governance.retention_days, cfg->governance.pii_retention_days,
                            cfg->memory.idempotency_hours, &opts.retention);
    plan_limits(r, req, &opts.plan);
    rc = mp_import_prepare(&r->job, &opts, r->user, r->user_len, r->request_id, now_ms, &b);
    if (rc != MP_OK)
        refuse(now, MP_PERR_INTERNAL, NULL);
    return rc;
}

int mp_importrun_start(struct mp_loop *loop, const char *user_id, size_t id_len, const char *tenant,
                       const struct mp_import_request *req, const char *body, size_t len,
                       const char *request_id, mp_importrun_done_fn done, void *arg,
                       struct mp_import_answer *now)
{
    struct run *r = calloc(1, sizeof(*r));
    memset(now, 0, sizeof(*now));
    if (r == NULL) {
        refuse(now, MP_PERR_INTERNAL, NULL);
        return MP_OK;
    }
    *r = (struct run){.loop = loop, .format = req->format, .done = done, .arg = arg};
    snprintf(r->request_id, sizeof(r->request_id), "%s", request_id);
    int rc = user_key(r, user_id, id_len, tenant);
    if (rc != MP_OK)
        refuse(now, MP_PERR_INVALID_USER_ID, NULL);
    if (rc == MP_OK)
        rc = prepare(r, req, body, len, now);
    if (rc == MP_OK && req->dry_run) {
        now->doc = answer_doc(r, true);
        now->ok = now->doc != NULL;
        if (!now->ok)
            refuse(now, MP_PERR_INTERNAL, NULL);
    } else if (rc == MP_OK) {
        rc = loop->memworker != NULL ? mp_memworker_call(loop->memworker, work, r, loop->base,
                                                         on_applied, r, &r->ticket)
                                     : MP_EIO;
        if (rc == MP_OK)
            return MP_AGAIN;
        refuse(now, MP_PERR_INTERNAL, NULL);
    }
    run_free(r);
    return MP_OK;
}
