/* An import from its file to its answer (importrun.h): the reader of its
 * format, the plan and ops (adminimport.h), the memory worker, the
 * answer's JSON. The run's state (struct run) is lent to the worker and
 * freed in on_applied, the one place its answer is given. */
#include "admin/importrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/adminimport.h"
#include "admin/importbounds.h"
#include "admin/importlines.h"
#include "admin/importquota.h"
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
    struct mp_memworker *mw;
    char user[MP_USERKEY_MAX];
    size_t user_len;
    char request_id[MP_REQUEST_ID_MAX + 1];
    enum mp_import_format format;
    bool dry_run, archive;
    unsigned batch_turns;
    uint32_t call_tokens;
    struct mp_import_opts opts;    /* copied on the loop's thread: the */
    struct mp_importbounds bounds; /* worker reads no configuration */
    char *body;                    /* the file, owned until it is read */
    size_t len;
    size_t reserved;        /* its bytes, held in the queue until it is read */
    unsigned read_delay_ms; /* MEMPROXY_TEST_IMPORT_READ_DELAY_MS: a slow read */
    int64_t now_ms;
    struct mp_import_job job;
    struct mp_import_answer refusal; /* the worker's, when refused */
    bool refused;
    mp_importrun_done_fn done;
    void *arg;
    struct mp_memticket *ticket;
    bool zip; /* the file is a ZIP: its refusals name conversations and messages, not lines */
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

/* ---- reading (the worker's thread) ---- */

/* The refusal of a file its reader did not take (mp_importwhy_say),
 * counted. */
static void refuse_file(struct run *r, const struct mp_import_error *err,
                        struct mp_import_answer *a)
{
    bool export = r->format == MP_IMPORT_FORMAT_CHATGPT || r->format == MP_IMPORT_FORMAT_CLAUDE;
    memset(a, 0, sizeof(*a));
    a->perr = MP_PERR_INVALID_IMPORT;
    mp_importwhy_say(err,
                     r->zip   ? EXPORT_MEMBER " in the ZIP"
                     : export ? EXPORT_MEMBER
                              : NULL,
                     a->message, sizeof(a->message));
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
        r->zip = true;
        rc = mp_importzip_member(body, len, EXPORT_MEMBER, MP_IMPORTRUN_INFLATED_MAX, &json, &jlen);
        err->line = 0; /* the file as a whole */
        err->why = rc == MP_NOTFOUND  ? "the ZIP holds no conversations.json"
                   : rc == MP_ETOOBIG ? "conversations.json inflates past 32 MiB"
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

/* The file into b, at most the import's items (MP_ETOOBIG past them). */
static int read_file(struct run *r, const char *body, size_t len, int64_t now,
                     struct mp_import_batch *b, struct mp_import_error *err)
{
    memset(err, 0, sizeof(*err));
    b->max_messages = r->bounds.import_messages;
    b->max_facts = r->bounds.import_facts;
    b->max_nodes = MP_IMPORTRUN_NODES_PER_MESSAGE * r->bounds.import_messages;
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

/* The file is read: its bytes leave the queue. */
static void drop_body(struct run *r)
{
    free(r->body);
    r->body = NULL;
    if (r->reserved > 0 && r->mw != NULL)
        mp_memworker_import_release(r->mw, r->reserved);
    r->reserved = 0;
}

/* Reads, checks and plans: MP_OK, or the refusal in r->refusal. */
static int prepare(struct run *r)
{
    struct mp_import_batch b = {0};
    struct mp_import_error err;
    int rc = read_file(r, r->body, r->len, r->now_ms, &b, &err);
    drop_body(r);
    r->refused = rc != MP_OK;
    if (rc == MP_EINVAL) {
        refuse_file(r, &err, &r->refusal);
    } else if (rc == MP_ETOOBIG) {
        mp_importbounds_too_many(&r->bounds, &b, &r->refusal);
        mp_metrics_import_refused(r->loop->metrics, r->format, MP_IMPORTX_LIMIT);
    } else if (rc != MP_OK) {
        refuse(&r->refusal, MP_PERR_INTERNAL, NULL);
    } else if (b.nmessages > 0 && !r->archive) {
        refuse(&r->refusal, MP_PERR_ARCHIVE_DISABLED, NULL);
        r->refused = true;
        rc = MP_EINVAL;
    }
    if (rc != MP_OK) {
        mp_importitem_free(&b);
        return rc;
    }
    rc = mp_import_prepare(&r->job, &r->opts, r->user, r->user_len, r->request_id, r->now_ms, &b);
    r->refused = rc != MP_OK;
    if (rc != MP_OK)
        refuse(&r->refusal, MP_PERR_INTERNAL, NULL);
    return rc;
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

/* The extraction calls the import queued, and their estimated tokens:
 * its turns' and the calls' instructions. */
static size_t queued_calls(const struct run *r)
{
    size_t per_call = r->batch_turns > 0 ? r->batch_turns : 1;
    return (r->job.jobs + per_call - 1) / per_call;
}

static uint64_t queued_tokens(const struct run *r)
{
    return r->job.queued_tokens + (uint64_t)queued_calls(r) * r->call_tokens;
}

static json_t *answer_doc(const struct run *r, bool dry)
{
    const struct mp_import_job *job = &r->job;
    const struct mp_importplan *p = &job->plan;
    size_t skipped = 0;
    json_t *why = reasons(job, dry, &skipped);
    size_t turns = dry ? p->extract_turns : job->jobs;
    size_t calls = dry ? p->calls : queued_calls(r);
    uint64_t tokens = dry ? p->tokens : queued_tokens(r);
    json_t *extraction =
        json_pack("{s:I, s:I, s:I, s:I}", "turns", (json_int_t)turns, "tokens", (json_int_t)tokens,
                  "calls", (json_int_t)calls, "left_out_turns", (json_int_t)p->left_out);
    json_t *doc = json_pack(
        "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o*, s:I, s:o*}", "format",
        mp_importitem_format_name(r->format), "dry_run", dry, "messages",
        (json_int_t)(dry ? mp_import_job_count(job, MP_OP_IMPORT_MESSAGE) : job->messages), "facts",
        (json_int_t)(dry ? mp_import_job_count(job, MP_OP_UPSERT_ENTITY) : job->facts), "settings",
        (json_int_t)(dry ? mp_import_job_count(job, MP_OP_SET_USER_MODE) : job->settings),
        "skipped", (json_int_t)skipped, "past_retention", (json_int_t)job->past,
        "skipped_by_reason", why, "conversations", (json_int_t)job->batch.nconvs, "extraction",
        extraction);
    return doc;
}

/* ---- the worker ---- */

/* Checks the bounds that need the store and the queue, then applies
 * (a dry run stops before): MP_OK, or the refusal in r->refusal. */
static int check_and_apply(struct mp_memworker *mw, struct run *r)
{
    struct mp_store *store = r->loop->store;
    enum mp_import_refusal why;
    int rc = mp_importbounds_check(mw, store, &r->bounds, r->user, r->user_len, &r->job,
                                   r->job.plan.tokens, r->now_ms, &r->refusal, &why);
    r->refused = rc == MP_ETOOBIG; /* else the store's error: store_failed() */
    if (rc == MP_ETOOBIG)
        mp_metrics_import_refused(r->loop->metrics, r->format, why);
    if (rc != MP_OK || r->dry_run)
        return rc;
    if (r->job.plan.extract_turns > 0) /* the day's spend, in the same transaction */
        mp_importquota_op(&r->job.ops[r->job.nops++], r->user, r->user_len, r->now_ms,
                          r->job.op_tokens, r->batch_turns, r->call_tokens, r->bounds.tokens_day);
    rc = mp_import_apply(store, &r->job);
    if (rc != MP_ECONFLICT)
        mp_memworker_note_write(mw, rc);
    r->refused = rc == MP_ECONFLICT;
    if (rc == MP_ECONFLICT) {
        mp_importbounds_store_refused(store, &r->bounds, r->user, r->user_len, &r->job,
                                      r->job.plan.tokens, r->now_ms, &r->refusal, &why);
        mp_metrics_import_refused(r->loop->metrics, r->format, why);
    }
    if (rc == MP_OK)
        mp_memworker_jobs_added(mw, r->job.ops, r->job.nops);
    return rc;
}

/* Worker thread: the whole import, from its file to its transaction, so
 * that no loop reads or plans it, and imports go one at a time (each sees
 * what the one before stored, queued and spent). A store that refuses
 * the write (full, or failing) shows on /readyz and in
 * memproxy_storage_writable like a turn's would; a user's fact limit
 * (MP_ECONFLICT) is no state of the store. */
static int work(struct mp_memworker *mw, void *arg)
{
    struct run *r = arg;
    if (r->read_delay_ms > 0)
        usleep(r->read_delay_ms * 1000u);
    int rc = prepare(r);
    return rc == MP_OK ? check_and_apply(mw, r) : rc;
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
    drop_body(r);
    mp_import_job_free(&r->job);
    free(r);
}

/* On the loop's thread: the one place a run's answer is given. */
static void on_applied(struct mp_memticket *t, void *arg, int status)
{
    struct run *r = arg;
    struct mp_import_answer a = {0};
    (void)t;
    if (status != MP_OK && r->refused) {
        a = r->refusal;
    } else if (status != MP_OK) {
        store_failed(r, status, &a);
    } else {
        if (!r->dry_run)
            mp_metrics_import(r->loop->metrics, MP_IMPORTR_OK);
        a.doc = answer_doc(r, r->dry_run);
        a.ok = a.doc != NULL;
        if (!a.ok)
            refuse(&a, MP_PERR_INTERNAL, NULL);
    }
    r->done(r->arg, &a);
    mp_import_answer_cleanup(&a);
    run_free(r);
}

/* ---- the start (the loop's thread) ---- */

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

/* MEMPROXY_TEST_IMPORT_READ_DELAY_MS: tests make each import's reading
 * take this long more (at most 10 s), to ask the loop something while
 * the worker reads. Operators never set it. */
static unsigned test_read_delay(void)
{
    const char *v = getenv("MEMPROXY_TEST_IMPORT_READ_DELAY_MS");
    unsigned long ms = v != NULL ? strtoul(v, NULL, 10) : 0;
    return ms > 10000 ? 10000 : (unsigned)ms;
}

/* What the worker needs of the configuration, and the file's copy. */
static int setup(struct run *r, const struct mp_import_request *req, const char *body, size_t len)
{
    const struct mp_config *cfg = r->loop->cfg;
    r->dry_run = req->dry_run;
    r->archive = cfg->memory.archive;
    r->now_ms = mp_clock_now_ms();
    r->opts = (struct mp_import_opts){.pii_mode = cfg->governance.pii_mode,
                                      .item_time = req->retention_item};
    mp_sweep_retention_days(cfg->governance.retention_days, cfg->governance.pii_retention_days,
                            cfg->memory.idempotency_hours, &r->opts.retention);
    plan_limits(r, req, &r->opts.plan);
    mp_importbounds_init(&r->bounds, cfg);
    r->read_delay_ms = test_read_delay();
    r->body = malloc(len > 0 ? len : 1);
    if (r->body == NULL)
        return MP_ENOMEM;
    memcpy(r->body, body, len);
    r->len = len;
    return MP_OK;
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
    *r = (struct run){
        .loop = loop, .mw = loop->memworker, .format = req->format, .done = done, .arg = arg};
    snprintf(r->request_id, sizeof(r->request_id), "%s", request_id);
    int rc = user_key(r, user_id, id_len, tenant);
    if (rc != MP_OK)
        refuse(now, MP_PERR_INVALID_USER_ID, NULL);
    if (rc == MP_OK && (r->mw == NULL || setup(r, req, body, len) != MP_OK)) {
        refuse(now, MP_PERR_INTERNAL, NULL);
        rc = MP_EIO;
    }
    if (rc == MP_OK && mp_importbounds_admit(r->mw, &r->bounds, len, now) != MP_OK) {
        mp_metrics_import_refused(loop->metrics, r->format, MP_IMPORTX_QUEUE_FULL);
        rc = MP_ETOOBIG;
    }
    if (rc == MP_OK) {
        r->reserved = len;
        rc = mp_memworker_call(r->mw, work, r, loop->base, on_applied, r, &r->ticket);
        if (rc == MP_OK)
            return MP_AGAIN;
        refuse(now, MP_PERR_INTERNAL, NULL);
    }
    run_free(r);
    return MP_OK;
}
