/* Per-thread counter shards summed at scrape time. Each counter has a single
 * writer, so an increment is a relaxed load and store (no lock prefix);
 * readers on the admin thread see a value at most one increment stale. */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/clienttask.h"
#include "mp_version.h"

#define STATUS_MAX 600
static const double bucket_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5,   1,      2.5,   5,    10,    30,   60,  120};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

typedef _Atomic uint64_t counter;

struct mp_metrics_shard {
    counter requests[STATUS_MAX][2];
    counter buckets[NBUCKETS + 1]; /* last: +Inf */
    _Atomic double duration_sum;
    counter upstream_errors[MP_UPERR_COUNT];
    counter client_errors[MP_CLERR_COUNT];
    counter client_disconnects;
    counter injected_buckets[8]; /* tokens: <=0, 100, 250, 500, 1000, 2000, 4000, +Inf */
    counter injected_sum;
    counter memory_errors;
    counter memory_reads[MP_MEMREAD_COUNT];
    counter relevance_postings, relevance_capped;
    counter client_tasks[MP_TASK_KINDS];
    counter inserted[MP_INSERTED_CLIENTS]; /* blocks left out of recorded user texts */
    counter inserted_only;                 /* turns of nothing but inserted context */
    counter structure[MP_OWN_HOWS];        /* blocks structure left out */
    counter temporary_chats;
    counter searches[MP_SEARCH_COUNT];
    counter mcp[MP_MCPM_COUNT][MP_MCPR_COUNT];
    counter mcp_tools[MP_MCPT_COUNT][2]; /* error, ok */
    counter conv_heads[MP_CONVHEAD_COUNT];
    counter pg_read_rounds[MP_PGROUND_COUNT];
    /* by api, model (the last: "other"), kind: input, cached, creation, output */
    counter tokens[MP_TOKENUSE_API_COUNT][MP_METRICS_MODELS_MAX + 1][4];
    counter usage_replies[MP_TOKENUSE_API_COUNT][2]; /* without, with usage */
} __attribute__((aligned(64)));

static const double injected_bounds[] = {0, 100, 250, 500, 1000, 2000, 4000};
#define NINJECTED (sizeof(injected_bounds) / sizeof(injected_bounds[0]))

struct mp_metrics {
    unsigned nshards;
    struct mp_metrics_shard *shards;
    _Atomic long open_connections;
    counter reloads_ok;
    counter reloads_error;
    counter jobs[MP_JOBM_KIND_COUNT][MP_JOBR_COUNT];
    /* memory-model calls by job kind, model (the last: "other") and
       calls, input, cached input, output tokens */
    counter model_calls[MP_JOBM_KIND_COUNT][MP_METRICS_MODELS_MAX + 1][4];
    counter purged[MP_PURGE_COUNT];
    counter sweeps[2];      /* error, ok */
    counter compactions[2]; /* error, ok */
    counter imports[MP_IMPORTR_COUNT];
    counter imports_refused[MP_METRICS_IMPORT_FORMATS][MP_IMPORTX_COUNT];
    counter queue_full; /* many writers: atomic_fetch_add */
    counter unrecorded[MP_UNREC_COUNT];
    counter jobs_failed[MP_JOBM_KIND_COUNT][MP_JOB_FAIL_COUNT];
    counter parked;
    counter followups[2];            /* alone, with turns */
    counter repeated, side_requests; /* left out at recording (store_whose.c) */
    counter undone[3];               /* turns, messages, facts undone */
    counter kept_out[3];             /* the user's statements kept out: newer, given, admin */
    counter conv_evicted;            /* conversations the store dropped */
    counter embed_calls[MP_EMBR_RESULTS];
    counter embed_tokens;
    counter embed_queries[MP_EMBQ_RESULTS];
    _Atomic uint64_t embed_pending;
    _Atomic(mp_metrics_depth_fn) depth_fn;
    _Atomic(const void *) depth_arg;
    /* the model labels: appended under the lock, read up to nmodels */
    pthread_mutex_t models_lock;
    _Atomic unsigned nmodels;
    char models[MP_METRICS_MODELS_MAX][MP_TOKENUSE_MODEL_MAX];
};

static const char *const job_kind_names[MP_JOBM_KIND_COUNT] = {"record", "summarize", "extract"};
static const char *const job_result_names[MP_JOBR_COUNT] = {
    "ok",      "retry",    "failed",  "invalid", "dropped",
    "skipped", "replaced", "expired", "evicted", "erased"};

static const char *const unrecorded_names[MP_UNREC_COUNT] = {
    "queue_full",       "storage_full", "storage_error", "reply_too_big",
    "reply_unreadable", "request",      "no_memory"};
static const char *const job_fail_names[MP_JOB_FAIL_COUNT] = {
    "none", "malformed", "rate_limited", "upstream_error", "rejected", "store_error"};

static const char *const import_result_names[MP_IMPORTR_COUNT] = {"ok", "storage_full", "error"};
static const char *const import_format_names[MP_METRICS_IMPORT_FORMATS] = {"jsonl", "chatgpt",
                                                                           "claude", "memory-text"};
static const char *const import_refusal_names[MP_IMPORTX_COUNT] = {"invalid", "future_time",
                                                                   "queue_full", "limit", "quota"};
static const char *const memory_read_names[MP_MEMREAD_COUNT] = {"hit", "miss", "error"};
static const char *const search_names[MP_SEARCH_COUNT] = {"hit", "miss", "invalid", "error"};
static const char *const mcp_method_names[MP_MCPM_COUNT] = {
    "initialize", "server/discover", "tools/list", "tools/call", "ping", "notification", "other"};
static const char *const mcp_result_names[MP_MCPR_COUNT] = {"ok", "error", "unauthorized"};
static const char *const mcp_tool_names[MP_MCPT_COUNT] = {
    "search_memory", "add_memory", "list_memories", "delete_memory", "get_profile"};
static const char *const conv_head_names[MP_CONVHEAD_COUNT] = {"reused", "new", "rebuilt"};
static const char *const pg_round_names[MP_PGROUND_COUNT] = {"user", "transaction", "fetch"};

static const char *const purge_kind_names[MP_PURGE_COUNT] = {"facts", "messages", "summaries",
                                                             "history", "idem"};

static const char *const upstream_kind_names[MP_UPERR_COUNT] = {"connect", "timeout", "reset",
                                                                "tls",     "dns",     "other"};
static const char *const client_kind_names[MP_CLERR_COUNT] = {
    "bad_request",       "invalid_user_id", "invalid_memory_header",
    "not_found",         "client_timeout",  "body_too_large",
    "headers_too_large", "overloaded",      "unauthorized",
    "precondition",      "displaced",       "conflicting_headers",
    "page_link",         "auth_backoff"};

/* A shard's counter has one writer, its loop: no read-modify-write atom. */
static void add(counter *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static void bump(counter *c)
{
    add(c, 1);
}

static uint64_t get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

struct mp_metrics *mp_metrics_new(unsigned nshards)
{
    struct mp_metrics *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->shards = aligned_alloc(64, sizeof(*m->shards) * nshards);
    if (m->shards == NULL) {
        free(m);
        return NULL;
    }
    memset(m->shards, 0, sizeof(*m->shards) * nshards);
    m->nshards = nshards;
    pthread_mutex_init(&m->models_lock, NULL);
    return m;
}

void mp_metrics_free(struct mp_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->models_lock);
    free(m->shards);
    free(m);
}

struct mp_metrics_shard *mp_metrics_shard(struct mp_metrics *m, unsigned i)
{
    return &m->shards[i];
}

void mp_metrics_request(struct mp_metrics_shard *s, int http_status, bool stream, double seconds)
{
    if (http_status < 0 || http_status >= STATUS_MAX)
        http_status = 0;
    bump(&s->requests[http_status][stream ? 1 : 0]);
    size_t b = 0;
    while (b < NBUCKETS && seconds > bucket_bounds[b])
        b++;
    bump(&s->buckets[b]);
    double sum = atomic_load_explicit(&s->duration_sum, memory_order_relaxed);
    atomic_store_explicit(&s->duration_sum, sum + seconds, memory_order_relaxed);
}

void mp_metrics_upstream_error(struct mp_metrics_shard *s, enum mp_upstream_error_kind kind)
{
    bump(&s->upstream_errors[kind]);
}

void mp_metrics_client_error(struct mp_metrics_shard *s, enum mp_client_error_kind kind)
{
    bump(&s->client_errors[kind]);
}

void mp_metrics_client_disconnect(struct mp_metrics_shard *s)
{
    bump(&s->client_disconnects);
}

void mp_metrics_reload(struct mp_metrics *m, bool ok)
{
    atomic_fetch_add(ok ? &m->reloads_ok : &m->reloads_error, 1);
}

void mp_metrics_purged(struct mp_metrics *m, enum mp_purge_kind kind, unsigned long long n)
{
    atomic_fetch_add(&m->purged[kind], n);
}

void mp_metrics_sweep(struct mp_metrics *m, bool ok)
{
    atomic_fetch_add(&m->sweeps[ok ? 1 : 0], 1);
}

void mp_metrics_compaction(struct mp_metrics *m, bool ok)
{
    atomic_fetch_add(&m->compactions[ok ? 1 : 0], 1);
}

void mp_metrics_import(struct mp_metrics *m, enum mp_import_result r)
{
    atomic_fetch_add(&m->imports[r], 1);
}

void mp_metrics_import_refused(struct mp_metrics *m, int format, enum mp_import_refusal why)
{
    if (format >= 0 && format < MP_METRICS_IMPORT_FORMATS)
        atomic_fetch_add(&m->imports_refused[format][why], 1);
}

void mp_metrics_memory_job(struct mp_metrics *m, enum mp_job_metric_kind kind,
                           enum mp_job_metric_result result)
{
    atomic_fetch_add(&m->jobs[kind][result], 1);
}

void mp_metrics_turn_unrecorded(struct mp_metrics *m, enum mp_unrecorded reason)
{
    atomic_fetch_add(&m->unrecorded[reason], 1);
}

void mp_metrics_memory_job_failed(struct mp_metrics *m, enum mp_job_metric_kind kind,
                                  enum mp_job_fail reason)
{
    atomic_fetch_add(&m->jobs_failed[kind][reason], 1);
}

const char *mp_metrics_unrecorded_name(enum mp_unrecorded reason)
{
    return unrecorded_names[reason];
}

const char *mp_metrics_job_fail_name(enum mp_job_fail reason)
{
    return reason < MP_JOB_FAIL_COUNT ? job_fail_names[reason] : "none";
}

void mp_metrics_set_depth_source(struct mp_metrics *m, mp_metrics_depth_fn fn, const void *arg)
{
    atomic_store(&m->depth_arg, arg);
    atomic_store(&m->depth_fn, fn);
}

void mp_metrics_injected(struct mp_metrics_shard *s, unsigned tokens)
{
    size_t b = 0;
    while (b < NINJECTED && tokens > injected_bounds[b])
        b++;
    bump(&s->injected_buckets[b]);
    add(&s->injected_sum, tokens);
}

void mp_metrics_conversation_head(struct mp_metrics_shard *s, enum mp_conv_head_result r)
{
    bump(&s->conv_heads[r]);
}

void mp_metrics_conversations_evicted(struct mp_metrics *m, unsigned n)
{
    atomic_fetch_add(&m->conv_evicted, n);
}

void mp_metrics_memory_error(struct mp_metrics_shard *s)
{
    bump(&s->memory_errors);
}

void mp_metrics_search(struct mp_metrics_shard *s, enum mp_search_result result)
{
    bump(&s->searches[result < MP_SEARCH_COUNT ? result : MP_SEARCH_ERROR]);
}

void mp_metrics_mcp(struct mp_metrics_shard *s, enum mp_mcp_method method,
                    enum mp_mcp_result result)
{
    bump(&s->mcp[method < MP_MCPM_COUNT ? method : MP_MCPM_OTHER]
                [result < MP_MCPR_COUNT ? result : MP_MCPR_ERROR]);
}

void mp_metrics_mcp_tool(struct mp_metrics_shard *s, enum mp_mcp_tool tool, bool ok)
{
    if (tool < MP_MCPT_COUNT)
        bump(&s->mcp_tools[tool][ok]);
}

void mp_metrics_client_task(struct mp_metrics_shard *s, enum mp_clienttask_kind kind)
{
    bump(&s->client_tasks[kind < MP_TASK_KINDS ? kind : MP_TASK_OTHER]);
}

void mp_metrics_client_text(struct mp_metrics_shard *s, const struct mp_ownwords_count *c,
                            bool only)
{
    for (int k = 0; k < MP_INSERTED_CLIENTS; k++) {
        if (c->patterns.blocks[k] > 0)
            add(&s->inserted[k], c->patterns.blocks[k]);
    }
    for (int k = 0; k < MP_OWN_HOWS; k++) {
        if (c->structure[k] > 0)
            add(&s->structure[k], c->structure[k]);
    }
    if (only)
        bump(&s->inserted_only);
}

void mp_metrics_recognized(struct mp_metrics *m, const struct mp_store_recognized *r)
{
    atomic_fetch_add(&m->repeated, r->cut_blocks);
    atomic_fetch_add(&m->side_requests, r->side ? 1 : 0);
    atomic_fetch_add(&m->undone[0], r->undone_turns);
    atomic_fetch_add(&m->undone[1], r->undone_messages);
    atomic_fetch_add(&m->undone[2], r->retracted_facts);
}

void mp_metrics_kept_out(struct mp_metrics *m, enum mp_hist_reason why, unsigned n)
{
    if (why >= MP_REASON_NEWER && why <= MP_REASON_ADMIN)
        atomic_fetch_add(&m->kept_out[why - MP_REASON_NEWER], n);
}

void mp_metrics_temporary_chat(struct mp_metrics_shard *s)
{
    bump(&s->temporary_chats);
}

void mp_metrics_memory_read(struct mp_metrics_shard *s, enum mp_memory_read_result result)
{
    bump(&s->memory_reads[result]);
}

void mp_metrics_relevance(struct mp_metrics_shard *s, uint64_t postings, bool capped)
{
    add(&s->relevance_postings, postings);
    if (capped)
        bump(&s->relevance_capped);
}

void mp_metrics_pg_read_round(struct mp_metrics_shard *s, enum mp_pg_read_round round)
{
    bump(&s->pg_read_rounds[round]);
}

long mp_metrics_conn_add(struct mp_metrics *m, long delta)
{
    return atomic_fetch_add(&m->open_connections, delta) + delta;
}

long mp_metrics_open_connections(struct mp_metrics *m)
{
    return atomic_load(&m->open_connections);
}

static const char *const token_api_names[MP_TOKENUSE_API_COUNT] = {"chat_completions", "responses",
                                                                   "messages"};
static const char *const token_metric_heads[4] = {
    "# HELP memproxy_upstream_input_tokens_total Input tokens the upstream reported (the whole "
    "prompt), by API and model.\n# TYPE memproxy_upstream_input_tokens_total counter\n",
    "# HELP memproxy_upstream_cached_input_tokens_total Input tokens the upstream read from its "
    "prompt cache, by API and model.\n# TYPE memproxy_upstream_cached_input_tokens_total counter\n",
    "# HELP memproxy_upstream_cache_creation_tokens_total Input tokens the upstream wrote to its "
    "prompt cache, by API and model.\n"
    "# TYPE memproxy_upstream_cache_creation_tokens_total counter\n",
    "# HELP memproxy_upstream_output_tokens_total Output tokens the upstream reported, by API and "
    "model.\n# TYPE memproxy_upstream_output_tokens_total counter\n"};

/* The model's label, safe in the exposition: printable ASCII but '"' and
 * '\\', each other byte '_'; "unknown" when empty. */
static void model_label(const char *model, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < MP_TOKENUSE_MODEL_MAX - 1; i++) {
        char ch = model[i];
        out[n++] = ch > ' ' && ch < 127 && ch != '"' && ch != '\\' ? ch : '_';
    }
    if (n == 0)
        n = (size_t)snprintf(out, MP_TOKENUSE_MODEL_MAX, "unknown");
    out[n] = '\0';
}

/* The index of the label's series: found, appended, or "other" when full. */
static unsigned model_index(struct mp_metrics *m, const char *label)
{
    unsigned n = atomic_load_explicit(&m->nmodels, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(m->models[i], label) == 0)
            return i;
    }
    if (n == MP_METRICS_MODELS_MAX)
        return MP_METRICS_MODELS_MAX;
    pthread_mutex_lock(&m->models_lock);
    unsigned i = 0;
    n = atomic_load_explicit(&m->nmodels, memory_order_relaxed);
    while (i < n && strcmp(m->models[i], label) != 0)
        i++;
    if (i == n && n < MP_METRICS_MODELS_MAX) {
        memcpy(m->models[n], label, strlen(label) + 1);
        atomic_store_explicit(&m->nmodels, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->models_lock);
    return i;
}

void mp_metrics_tokens(struct mp_metrics *m, struct mp_metrics_shard *s, enum mp_tokenuse_api api,
                       const struct mp_tokenuse *u, const char *model, size_t model_len)
{
    bump(&s->usage_replies[api][u->seen ? 1 : 0]);
    if (!u->seen)
        return;
    char label[MP_TOKENUSE_MODEL_MAX];
    if (u->model[0] != '\0')
        model_label(u->model, strlen(u->model), label);
    else
        model_label(model, model_len, label);
    counter *c = s->tokens[api][model_index(m, label)];
    add(&c[0], u->input);
    add(&c[1], u->cached);
    add(&c[2], u->creation);
    add(&c[3], u->output);
}

/* A growable text buffer for rendering. */
struct text {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *nb = realloc(t->buf, cap);
        if (nb == NULL) {
            t->failed = true;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
}

static uint64_t sum_over(struct mp_metrics *m, size_t offset)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < m->nshards; i++)
        total += get((counter *)((char *)&m->shards[i] + offset));
    return total;
}

/* offset of a (possibly indexed) field, measured on shard 0 */
#define SUM(m, field)                                                                              \
    sum_over((m), (size_t)((char *)&(m)->shards[0].field - (char *)&(m)->shards[0]))

static void render_requests(struct mp_metrics *m, struct text *t)
{
    put(t, "# HELP memproxy_requests_total Data-plane responses by HTTP status and streaming.\n"
           "# TYPE memproxy_requests_total counter\n");
    for (int st = 0; st < STATUS_MAX; st++) {
        for (int s = 0; s < 2; s++) {
            uint64_t v = SUM(m, requests[st][s]);
            if (v != 0)
                put(t, "memproxy_requests_total{status=\"%d\",stream=\"%s\"} %llu\n", st,
                    s ? "true" : "false", (unsigned long long)v);
        }
    }
}

/* One Prometheus histogram from per-bucket counts (nb bounds + the +Inf one). */
static void put_histogram(struct text *t, const char *name, const char *help, const double *bounds,
                          size_t nb, const uint64_t *counts, double sum)
{
    uint64_t cumulative = 0;
    put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t b = 0; b <= nb; b++) {
        cumulative += counts[b];
        if (b < nb)
            put(t, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[b], (unsigned long long)cumulative);
        else
            put(t, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cumulative);
    }
    put(t, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, (unsigned long long)cumulative);
}

static void render_histogram(struct mp_metrics *m, struct text *t)
{
    uint64_t counts[NBUCKETS + 1];
    double sum = 0;
    for (size_t b = 0; b <= NBUCKETS; b++)
        counts[b] = SUM(m, buckets[b]);
    for (unsigned i = 0; i < m->nshards; i++)
        sum += atomic_load_explicit(&m->shards[i].duration_sum, memory_order_relaxed);
    put_histogram(t, "memproxy_request_duration_seconds", "Data-plane request duration.",
                  bucket_bounds, NBUCKETS, counts, sum);
}

/* One sample of token metric kind (literal formats: -Wformat=2). */
static void put_token_sample(struct text *t, int kind, const char *api, const char *model,
                             unsigned long long v)
{
    switch (kind) {
    case 0:
        put(t, "memproxy_upstream_input_tokens_total{api=\"%s\",model=\"%s\"} %llu\n", api, model,
            v);
        break;
    case 1:
        put(t, "memproxy_upstream_cached_input_tokens_total{api=\"%s\",model=\"%s\"} %llu\n", api,
            model, v);
        break;
    case 2:
        put(t, "memproxy_upstream_cache_creation_tokens_total{api=\"%s\",model=\"%s\"} %llu\n", api,
            model, v);
        break;
    default:
        put(t, "memproxy_upstream_output_tokens_total{api=\"%s\",model=\"%s\"} %llu\n", api, model,
            v);
        break;
    }
}

/* One series per api and model that counted tokens: the known models,
 * then "other". */
static void render_token_kind(struct mp_metrics *m, struct text *t, int kind, unsigned nmodels)
{
    put(t, "%s", token_metric_heads[kind]);
    for (int a = 0; a < MP_TOKENUSE_API_COUNT; a++) {
        for (unsigned i = 0; i <= nmodels; i++) {
            unsigned idx = i < nmodels ? i : MP_METRICS_MODELS_MAX;
            bool any = false;
            for (int k = 0; k < 4 && !any; k++)
                any = SUM(m, tokens[a][idx][k]) > 0;
            if (any)
                put_token_sample(t, kind, token_api_names[a], i < nmodels ? m->models[i] : "other",
                                 (unsigned long long)SUM(m, tokens[a][idx][kind]));
        }
    }
}

void mp_metrics_memory_model(struct mp_metrics *m, enum mp_job_metric_kind kind,
                             const struct mp_tokenuse *u, const char *model)
{
    char label[MP_TOKENUSE_MODEL_MAX];
    const char *name = u->model[0] != '\0' ? u->model : model;
    model_label(name, strlen(name), label);
    counter *c = m->model_calls[kind][model_index(m, label)];
    atomic_fetch_add(&c[0], 1);
    if (!u->seen)
        return;
    atomic_fetch_add(&c[1], u->input);
    atomic_fetch_add(&c[2], u->cached);
    atomic_fetch_add(&c[3], u->output);
}

/* One sample of memory-model metric k (literal formats: -Wformat=2). */
static void put_model_sample(struct text *t, int k, const char *kind, const char *model,
                             unsigned long long v)
{
    if (k == 0)
        put(t, "memproxy_memory_model_calls_total{kind=\"%s\",model=\"%s\"} %llu\n", kind, model,
            v);
    else if (k == 1)
        put(t, "memproxy_memory_model_input_tokens_total{kind=\"%s\",model=\"%s\"} %llu\n", kind,
            model, v);
    else if (k == 2)
        put(t, "memproxy_memory_model_cached_input_tokens_total{kind=\"%s\",model=\"%s\"} %llu\n",
            kind, model, v);
    else
        put(t, "memproxy_memory_model_output_tokens_total{kind=\"%s\",model=\"%s\"} %llu\n", kind,
            model, v);
}

static const char *const model_metric_heads[4] = {
    "# HELP memproxy_memory_model_calls_total Memory-model calls answered, by job kind and "
    "model.\n# TYPE memproxy_memory_model_calls_total counter\n",
    "# HELP memproxy_memory_model_input_tokens_total Input tokens the upstream reported for "
    "memory-model calls (the whole prompt), by job kind and model.\n"
    "# TYPE memproxy_memory_model_input_tokens_total counter\n",
    "# HELP memproxy_memory_model_cached_input_tokens_total Input tokens of memory-model calls "
    "the upstream read from its prompt cache, by job kind and model.\n"
    "# TYPE memproxy_memory_model_cached_input_tokens_total counter\n",
    "# HELP memproxy_memory_model_output_tokens_total Output tokens the upstream reported for "
    "memory-model calls, by job kind and model.\n"
    "# TYPE memproxy_memory_model_output_tokens_total counter\n"};

/* One series per job kind (summarize, extract) and model that was called. */
static void render_memory_model(struct mp_metrics *m, struct text *t)
{
    unsigned nmodels = atomic_load_explicit(&m->nmodels, memory_order_acquire);
    for (int k = 0; k < 4; k++) {
        put(t, "%s", model_metric_heads[k]);
        for (int kind = MP_JOBM_SUMMARIZE; kind < MP_JOBM_KIND_COUNT; kind++) {
            for (unsigned i = 0; i <= nmodels; i++) {
                unsigned idx = i < nmodels ? i : MP_METRICS_MODELS_MAX;
                counter *c = m->model_calls[kind][idx];
                if (get(&c[0]) > 0)
                    put_model_sample(t, k, job_kind_names[kind],
                                     i < nmodels ? m->models[i] : "other",
                                     (unsigned long long)get(&c[k]));
            }
        }
    }
}

static void render_tokens(struct mp_metrics *m, struct text *t)
{
    unsigned nmodels = atomic_load_explicit(&m->nmodels, memory_order_acquire);
    for (int k = 0; k < 4; k++)
        render_token_kind(m, t, k, nmodels);
    put(t, "# HELP memproxy_upstream_replies_total Chat replies that ended whole, by API and "
           "whether they carried usage.\n"
           "# TYPE memproxy_upstream_replies_total counter\n");
    for (int a = 0; a < MP_TOKENUSE_API_COUNT; a++) {
        for (int u = 0; u < 2; u++)
            put(t, "memproxy_upstream_replies_total{api=\"%s\",usage=\"%s\"} %llu\n",
                token_api_names[a], u ? "reported" : "missing",
                (unsigned long long)SUM(m, usage_replies[a][u]));
    }
}

static void render_errors(struct mp_metrics *m, struct text *t)
{
    put(t, "# HELP memproxy_upstream_errors_total Upstream failures by kind.\n"
           "# TYPE memproxy_upstream_errors_total counter\n");
    for (int k = 0; k < MP_UPERR_COUNT; k++)
        put(t, "memproxy_upstream_errors_total{kind=\"%s\"} %llu\n", upstream_kind_names[k],
            (unsigned long long)SUM(m, upstream_errors[k]));
    put(t, "# HELP memproxy_client_errors_total Requests refused by memproxy, by kind.\n"
           "# TYPE memproxy_client_errors_total counter\n");
    for (int k = 0; k < MP_CLERR_COUNT; k++)
        put(t, "memproxy_client_errors_total{kind=\"%s\"} %llu\n", client_kind_names[k],
            (unsigned long long)SUM(m, client_errors[k]));
    put(t,
        "# HELP memproxy_client_disconnects_total Clients gone before their response ended.\n"
        "# TYPE memproxy_client_disconnects_total counter\n"
        "memproxy_client_disconnects_total %llu\n",
        (unsigned long long)SUM(m, client_disconnects));
}

static void render_governance(struct mp_metrics *m, struct text *t)
{
    put(t, "# HELP memproxy_retention_purged_total Items retention purged, by kind.\n"
           "# TYPE memproxy_retention_purged_total counter\n");
    for (int k = 0; k < MP_PURGE_COUNT; k++)
        put(t, "memproxy_retention_purged_total{item=\"%s\"} %llu\n", purge_kind_names[k],
            (unsigned long long)get(&m->purged[k]));
    put(t,
        "# HELP memproxy_retention_sweeps_total Retention passes, by result.\n"
        "# TYPE memproxy_retention_sweeps_total counter\n"
        "memproxy_retention_sweeps_total{result=\"ok\"} %llu\n"
        "memproxy_retention_sweeps_total{result=\"error\"} %llu\n"
        "# HELP memproxy_storage_compactions_total Storage compactions, by result.\n"
        "# TYPE memproxy_storage_compactions_total counter\n"
        "memproxy_storage_compactions_total{result=\"ok\"} %llu\n"
        "memproxy_storage_compactions_total{result=\"error\"} %llu\n",
        (unsigned long long)get(&m->sweeps[1]), (unsigned long long)get(&m->sweeps[0]),
        (unsigned long long)get(&m->compactions[1]), (unsigned long long)get(&m->compactions[0]));
    put(t, "# HELP memproxy_imports_total Imports that reached the store, by result.\n"
           "# TYPE memproxy_imports_total counter\n");
    for (int r = 0; r < MP_IMPORTR_COUNT; r++)
        put(t, "memproxy_imports_total{result=\"%s\"} %llu\n", import_result_names[r],
            (unsigned long long)get(&m->imports[r]));
    put(t, "# HELP memproxy_imports_refused_total Imports refused before the store, by format "
           "and reason.\n"
           "# TYPE memproxy_imports_refused_total counter\n");
    for (int f = 0; f < MP_METRICS_IMPORT_FORMATS; f++)
        for (int r = 0; r < MP_IMPORTX_COUNT; r++)
            put(t, "memproxy_imports_refused_total{format=\"%s\",reason=\"%s\"} %llu\n",
                import_format_names[f], import_refusal_names[r],
                (unsigned long long)get(&m->imports_refused[f][r]));
}

void mp_metrics_queue_full(struct mp_metrics *m)
{
    atomic_fetch_add_explicit(&m->queue_full, 1, memory_order_relaxed);
}

void mp_metrics_parked(struct mp_metrics *m, unsigned long long n)
{
    atomic_fetch_add_explicit(&m->parked, n, memory_order_relaxed);
}

void mp_metrics_followups(struct mp_metrics *m, bool with_turns, unsigned long long n)
{
    atomic_fetch_add_explicit(&m->followups[with_turns ? 1 : 0], n, memory_order_relaxed);
}

static void render_queue(struct mp_metrics *m, struct text *t)
{
    mp_metrics_depth_fn fn = atomic_load(&m->depth_fn);
    struct mp_metrics_queue q = {.write_ok = true};
    if (fn != NULL)
        fn(atomic_load(&m->depth_arg), &q);
    put(t,
        "# HELP memproxy_memory_queue_depth Pending memory work (turns, changes, jobs).\n"
        "# TYPE memproxy_memory_queue_depth gauge\n"
        "memproxy_memory_queue_depth %u\n"
        "# HELP memproxy_memory_queue_bytes Bytes held by queued turns and imports' files.\n"
        "# TYPE memproxy_memory_queue_bytes gauge\n"
        "memproxy_memory_queue_bytes %zu\n"
        "# HELP memproxy_memory_queue_max The queue depth at which memory work is refused.\n"
        "# TYPE memproxy_memory_queue_max gauge\n"
        "memproxy_memory_queue_max %u\n"
        "# HELP memproxy_memory_queue_max_bytes The queued bytes at which turns are refused.\n"
        "# TYPE memproxy_memory_queue_max_bytes gauge\n"
        "memproxy_memory_queue_max_bytes %zu\n"
        "# HELP memproxy_memory_queue_full_total Turns not recorded because the queue was full.\n"
        "# TYPE memproxy_memory_queue_full_total counter\n"
        "memproxy_memory_queue_full_total %llu\n"
        "# HELP memproxy_memory_parked_total Queued turns parked on disk at a drain deadline.\n"
        "# TYPE memproxy_memory_parked_total counter\n"
        "memproxy_memory_parked_total %llu\n"
        "# HELP memproxy_storage_writable 1 while the store takes writes, 0 after a failed write.\n"
        "# TYPE memproxy_storage_writable gauge\n"
        "memproxy_storage_writable %d\n",
        q.depth, q.bytes, q.max, q.max_bytes, (unsigned long long)get(&m->queue_full),
        (unsigned long long)get(&m->parked), q.write_ok ? 1 : 0);
    put(t,
        "# HELP memproxy_memory_followups_total Follow-ups of committed turns (buffer trims, "
        "summary jobs) applied, by commit: with_turns (in the next commit of turns) or alone.\n"
        "# TYPE memproxy_memory_followups_total counter\n"
        "memproxy_memory_followups_total{commit=\"with_turns\"} %llu\n"
        "memproxy_memory_followups_total{commit=\"alone\"} %llu\n",
        (unsigned long long)get(&m->followups[1]), (unsigned long long)get(&m->followups[0]));
    put(t,
        "# HELP memproxy_memory_jobs_held Memory jobs held: no credential may go with them, or "
        "their extraction batch is not due yet.\n"
        "# TYPE memproxy_memory_jobs_held gauge\n"
        "memproxy_memory_jobs_held{reason=\"no_credential\"} %u\n"
        "memproxy_memory_jobs_held{reason=\"batch\"} %u\n"
        "# HELP memproxy_memory_jobs_held_oldest_seconds How long the oldest memory job held for "
        "a credential has waited (0: none).\n"
        "# TYPE memproxy_memory_jobs_held_oldest_seconds gauge\n"
        "memproxy_memory_jobs_held_oldest_seconds %.3f\n",
        q.held_no_credential, q.held_batch, q.held_oldest_seconds);
    put(t,
        "# HELP memproxy_memory_jobs_failed Memory jobs kept as failed, waiting for a re-run "
        "(POST /admin/extract).\n"
        "# TYPE memproxy_memory_jobs_failed gauge\n"
        "memproxy_memory_jobs_failed %u\n",
        q.failed);
    put(t, "# HELP memproxy_turns_unrecorded_total Turns not recorded, by reason.\n"
           "# TYPE memproxy_turns_unrecorded_total counter\n");
    for (int r = 0; r < MP_UNREC_COUNT; r++)
        put(t, "memproxy_turns_unrecorded_total{reason=\"%s\"} %llu\n", unrecorded_names[r],
            (unsigned long long)get(&m->unrecorded[r]));
}

static void render_conversations(struct mp_metrics *m, struct text *t)
{
    put(t, "# HELP memproxy_conversation_heads_total Requests' conversation heads by result.\n"
           "# TYPE memproxy_conversation_heads_total counter\n");
    for (int r = 0; r < MP_CONVHEAD_COUNT; r++)
        put(t, "memproxy_conversation_heads_total{result=\"%s\"} %llu\n", conv_head_names[r],
            (unsigned long long)SUM(m, conv_heads[r]));
    put(t,
        "# HELP memproxy_conversations_evicted_total Conversations the store dropped to keep "
        "within a user's conversations_max and conversation_bytes_max.\n"
        "# TYPE memproxy_conversations_evicted_total counter\n"
        "memproxy_conversations_evicted_total %llu\n",
        (unsigned long long)atomic_load(&m->conv_evicted));
}

static void render_tools(struct mp_metrics *m, struct text *t)
{
    put(t, "# HELP memproxy_memory_searches_total Memory searches (the search API, the admin "
           "API's, the MCP search tool) by result.\n"
           "# TYPE memproxy_memory_searches_total counter\n");
    for (int r = 0; r < MP_SEARCH_COUNT; r++)
        put(t, "memproxy_memory_searches_total{result=\"%s\"} %llu\n", search_names[r],
            (unsigned long long)SUM(m, searches[r]));
    put(t, "# HELP memproxy_mcp_requests_total MCP requests (POST /mcp) by method and result.\n"
           "# TYPE memproxy_mcp_requests_total counter\n");
    for (int k = 0; k < MP_MCPM_COUNT; k++)
        for (int r = 0; r < MP_MCPR_COUNT; r++)
            put(t, "memproxy_mcp_requests_total{method=\"%s\",result=\"%s\"} %llu\n",
                mcp_method_names[k], mcp_result_names[r], (unsigned long long)SUM(m, mcp[k][r]));
    put(t, "# HELP memproxy_mcp_tool_calls_total MCP tool calls by tool and result.\n"
           "# TYPE memproxy_mcp_tool_calls_total counter\n");
    for (int k = 0; k < MP_MCPT_COUNT; k++)
        for (int r = 1; r >= 0; r--)
            put(t, "memproxy_mcp_tool_calls_total{tool=\"%s\",result=\"%s\"} %llu\n",
                mcp_tool_names[k], r ? "ok" : "error", (unsigned long long)SUM(m, mcp_tools[k][r]));
}

static const char *const embed_result_names[MP_EMBR_RESULTS] = {
    "ok",        "rate_limited", "server_error",  "rejected",  "no_answer", "too_big",    "dims",
    "nonfinite", "count",        "model_changed", "malformed", "erased",    "store_error"};

const char *mp_metrics_embed_result_name(enum mp_embed_result r)
{
    return (unsigned)r < MP_EMBR_RESULTS ? embed_result_names[r] : "unknown";
}

void mp_metrics_embed_call(struct mp_metrics *m, enum mp_embed_result r, uint64_t tokens)
{
    if ((unsigned)r >= MP_EMBR_RESULTS)
        return;
    atomic_fetch_add(&m->embed_calls[r], 1);
    atomic_fetch_add(&m->embed_tokens, tokens);
}

static const char *const embed_query_names[MP_EMBQ_RESULTS] = {"ok", "timeout", "error"};

const char *mp_metrics_embed_query_name(enum mp_embed_query_result r)
{
    return (unsigned)r < MP_EMBQ_RESULTS ? embed_query_names[r] : "unknown";
}

void mp_metrics_embed_query(struct mp_metrics *m, enum mp_embed_query_result r)
{
    if ((unsigned)r < MP_EMBQ_RESULTS)
        atomic_fetch_add(&m->embed_queries[r], 1);
}

void mp_metrics_embed_pending(struct mp_metrics *m, uint64_t n)
{
    atomic_store(&m->embed_pending, n);
}

static void render_embeddings(struct mp_metrics *m, struct text *t)
{
    put(t,
        "# HELP memproxy_embeddings_pending Remembered items waiting for a vector, as last "
        "counted.\n"
        "# TYPE memproxy_embeddings_pending gauge\n"
        "memproxy_embeddings_pending %llu\n"
        "# HELP memproxy_embeddings_tokens_total Tokens the embeddings server counted for the "
        "background calls.\n"
        "# TYPE memproxy_embeddings_tokens_total counter\n"
        "memproxy_embeddings_tokens_total %llu\n",
        (unsigned long long)atomic_load(&m->embed_pending),
        (unsigned long long)get(&m->embed_tokens));
    put(t, "# HELP memproxy_embeddings_calls_total Background embeddings calls by result.\n"
           "# TYPE memproxy_embeddings_calls_total counter\n");
    for (int r = 0; r < MP_EMBR_RESULTS; r++)
        put(t, "memproxy_embeddings_calls_total{result=\"%s\"} %llu\n", embed_result_names[r],
            (unsigned long long)get(&m->embed_calls[r]));
    put(t, "# HELP memproxy_embeddings_queries_total Questions embedded for retrieval by "
           "meaning, by result (anything but ok went on by words alone).\n"
           "# TYPE memproxy_embeddings_queries_total counter\n");
    for (int r = 0; r < MP_EMBQ_RESULTS; r++)
        put(t, "memproxy_embeddings_queries_total{result=\"%s\"} %llu\n", embed_query_names[r],
            (unsigned long long)get(&m->embed_queries[r]));
}

static void render_memory(struct mp_metrics *m, struct text *t)
{
    render_embeddings(m, t);
    render_governance(m, t);
    put(t, "# HELP memproxy_memory_jobs_total Memory work by kind and result.\n"
           "# TYPE memproxy_memory_jobs_total counter\n");
    for (int k = 0; k < MP_JOBM_KIND_COUNT; k++) {
        for (int r = 0; r < MP_JOBR_COUNT; r++) {
            if (r == MP_JOBR_REPLACED && k != MP_JOBM_RECORD)
                continue; /* only a turn is replaced */
            if ((r == MP_JOBR_EXPIRED || r == MP_JOBR_EVICTED) && k == MP_JOBM_RECORD)
                continue; /* only a summary or extraction is held */
            if (r == MP_JOBR_ERASED && k == MP_JOBM_RECORD)
                continue; /* only a call's result is dropped */
            put(t, "memproxy_memory_jobs_total{kind=\"%s\",result=\"%s\"} %llu\n",
                job_kind_names[k], job_result_names[r], (unsigned long long)get(&m->jobs[k][r]));
        }
    }
    put(t, "# HELP memproxy_memory_jobs_failed_total Memory jobs kept as failed for a re-run, by "
           "kind and reason.\n"
           "# TYPE memproxy_memory_jobs_failed_total counter\n");
    for (int k = MP_JOBM_SUMMARIZE; k < MP_JOBM_KIND_COUNT; k++)
        for (int r = MP_JOB_FAIL_NONE + 1; r < MP_JOB_FAIL_COUNT; r++)
            put(t, "memproxy_memory_jobs_failed_total{kind=\"%s\",reason=\"%s\"} %llu\n",
                job_kind_names[k], job_fail_names[r],
                (unsigned long long)get(&m->jobs_failed[k][r]));
    render_queue(m, t);
    uint64_t counts[NINJECTED + 1];
    for (size_t b = 0; b <= NINJECTED; b++)
        counts[b] = SUM(m, injected_buckets[b]);
    put_histogram(t, "memproxy_memory_injected_tokens", "Estimated tokens injected per request.",
                  injected_bounds, NINJECTED, counts, (double)SUM(m, injected_sum));
    put(t,
        "# HELP memproxy_memory_errors_total Requests whose memory was skipped after a failure.\n"
        "# TYPE memproxy_memory_errors_total counter\n"
        "memproxy_memory_errors_total %llu\n",
        (unsigned long long)SUM(m, memory_errors));
    put(t, "# HELP memproxy_client_tasks_total Client background tasks forwarded without memory, "
           "by kind.\n"
           "# TYPE memproxy_client_tasks_total counter\n");
    for (int k = 0; k < MP_TASK_KINDS; k++)
        put(t, "memproxy_client_tasks_total{kind=\"%s\"} %llu\n", mp_clienttask_kind_name(k),
            (unsigned long long)SUM(m, client_tasks[k]));
    put(t, "# HELP memproxy_inserted_context_total Blocks of context a client inserted into "
           "user messages, left out of what was recorded, by client.\n"
           "# TYPE memproxy_inserted_context_total counter\n");
    for (int k = 0; k < MP_INSERTED_CLIENTS; k++)
        put(t, "memproxy_inserted_context_total{client=\"%s\"} %llu\n", mp_inserted_client_name(k),
            (unsigned long long)SUM(m, inserted[k]));
    put(t,
        "# HELP memproxy_inserted_context_only_turns_total Turns not recorded: their new user "
        "messages held only a client's text.\n"
        "# TYPE memproxy_inserted_context_only_turns_total counter\n"
        "memproxy_inserted_context_only_turns_total %llu\n",
        (unsigned long long)SUM(m, inserted_only));
    put(t, "# HELP memproxy_client_text_total A client's text left out of what was recorded, "
           "by how it was told: its structure, its repetition across conversations, a side "
           "request told at recording.\n"
           "# TYPE memproxy_client_text_total counter\n");
    for (int k = 0; k < MP_OWN_HOWS; k++)
        put(t, "memproxy_client_text_total{how=\"%s\"} %llu\n", mp_ownwords_how_name(k),
            (unsigned long long)SUM(m, structure[k]));
    put(t,
        "memproxy_client_text_total{how=\"repeated\"} %llu\n"
        "memproxy_client_text_total{how=\"side_request\"} %llu\n",
        (unsigned long long)atomic_load(&m->repeated),
        (unsigned long long)atomic_load(&m->side_requests));
    put(t,
        "# HELP memproxy_client_text_undone_total What was recorded as the user's and later told "
        "a client's: turns (side requests), messages (erased or cut), facts (retracted).\n"
        "# TYPE memproxy_client_text_undone_total counter\n"
        "memproxy_client_text_undone_total{what=\"turns\"} %llu\n"
        "memproxy_client_text_undone_total{what=\"messages\"} %llu\n"
        "memproxy_client_text_undone_total{what=\"facts\"} %llu\n",
        (unsigned long long)atomic_load(&m->undone[0]),
        (unsigned long long)atomic_load(&m->undone[1]),
        (unsigned long long)atomic_load(&m->undone[2]));
    put(t,
        "# HELP memproxy_memory_statements_kept_out_total The user's statements the memory "
        "model extracted that a stored value outranked: kept out, with a history entry, by "
        "reason (newer: a value of a later time; given: a correction or an agent's; admin).\n"
        "# TYPE memproxy_memory_statements_kept_out_total counter\n"
        "memproxy_memory_statements_kept_out_total{reason=\"newer\"} %llu\n"
        "memproxy_memory_statements_kept_out_total{reason=\"given\"} %llu\n"
        "memproxy_memory_statements_kept_out_total{reason=\"admin\"} %llu\n",
        (unsigned long long)atomic_load(&m->kept_out[0]),
        (unsigned long long)atomic_load(&m->kept_out[1]),
        (unsigned long long)atomic_load(&m->kept_out[2]));
    put(t,
        "# HELP memproxy_temporary_chats_total Temporary chats forwarded with memory read and "
        "nothing of them recorded.\n"
        "# TYPE memproxy_temporary_chats_total counter\n"
        "memproxy_temporary_chats_total %llu\n",
        (unsigned long long)SUM(m, temporary_chats));
    put(t, "# HELP memproxy_memory_reads_total Requests' memory reads by result (hit: injected).\n"
           "# TYPE memproxy_memory_reads_total counter\n");
    for (int r = 0; r < MP_MEMREAD_COUNT; r++)
        put(t, "memproxy_memory_reads_total{result=\"%s\"} %llu\n", memory_read_names[r],
            (unsigned long long)SUM(m, memory_reads[r]));
    put(t,
        "# HELP memproxy_relevance_postings_total Postings relevant retrieval scored for "
        "requests.\n"
        "# TYPE memproxy_relevance_postings_total counter\n"
        "memproxy_relevance_postings_total %llu\n"
        "# HELP memproxy_relevance_capped_total Requests whose relevance scoring met "
        "[memory] relevance_max_postings and injected what it had.\n"
        "# TYPE memproxy_relevance_capped_total counter\n"
        "memproxy_relevance_capped_total %llu\n",
        (unsigned long long)SUM(m, relevance_postings),
        (unsigned long long)SUM(m, relevance_capped));
    render_conversations(m, t);
    render_tools(m, t);
    put(t, "# HELP memproxy_postgres_read_rounds_total Rounds of statements requests' memory "
           "reads sent to PostgreSQL, by round.\n"
           "# TYPE memproxy_postgres_read_rounds_total counter\n");
    for (int r = 0; r < MP_PGROUND_COUNT; r++)
        put(t, "memproxy_postgres_read_rounds_total{round=\"%s\"} %llu\n", pg_round_names[r],
            (unsigned long long)SUM(m, pg_read_rounds[r]));
}

static void render_gauges(struct mp_metrics *m, struct text *t)
{
    put(t,
        "# HELP memproxy_open_connections Open data-plane client connections.\n"
        "# TYPE memproxy_open_connections gauge\n"
        "memproxy_open_connections %ld\n",
        mp_metrics_open_connections(m));
    render_memory(m, t);
    put(t,
        "# HELP memproxy_config_reloads_total SIGHUP reloads by result.\n"
        "# TYPE memproxy_config_reloads_total counter\n"
        "memproxy_config_reloads_total{result=\"ok\"} %llu\n"
        "memproxy_config_reloads_total{result=\"error\"} %llu\n",
        (unsigned long long)get(&m->reloads_ok), (unsigned long long)get(&m->reloads_error));
    put(t, "# HELP memproxy_build_info Build information.\n"
           "# TYPE memproxy_build_info gauge\n"
           "memproxy_build_info{version=\"" MP_VERSION "\"} 1\n");
}

char *mp_metrics_render(struct mp_metrics *m, size_t *len)
{
    struct text t = {.buf = malloc(8192), .cap = 8192};
    if (t.buf == NULL)
        return NULL;
    render_requests(m, &t);
    render_histogram(m, &t);
    render_errors(m, &t);
    render_tokens(m, &t);
    render_memory_model(m, &t);
    render_gauges(m, &t);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}
