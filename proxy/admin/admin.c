/* Health and metrics endpoints; /admin/ targets go to adminapi.c. */
#include "admin/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/adminapi.h"
#include "memory/memworker.h"
#include "metrics.h"
#include "net/authfail.h"
#include "net/bearer.h"
#include "net/respond.h"
#include "status.h"
#include "ops/store.h"

static bool target_is(const struct mp_http_request_head *head, const char *path)
{
    size_t n = strlen(path);
    size_t len = head->target_len;
    const char *q = memchr(head->target, '?', len);
    if (q != NULL)
        len = (size_t)(q - head->target);
    return len == n && memcmp(head->target, path, n) == 0;
}

static void send_text(struct mp_conn *c, int status, const char *reason, const char *text)
{
    mp_conn_respond(c, status, reason, "text/plain; charset=utf-8", NULL, text, strlen(text),
                    MP_CONN_KEEP);
}

/* Storage gauges, appended to the registry's text. Returns bytes written. */
static size_t storage_metrics(struct mp_store *store, char *out, size_t cap)
{
    struct mp_store_stats st;
    if (mp_store_stats(store, &st) != MP_OK)
        return 0;
    int n = snprintf(out, cap,
                     "# HELP memproxy_storage_map_bytes LMDB map size, bytes.\n"
                     "# TYPE memproxy_storage_map_bytes gauge\n"
                     "memproxy_storage_map_bytes %llu\n"
                     "# HELP memproxy_storage_map_max_bytes The size the map may grow to.\n"
                     "# TYPE memproxy_storage_map_max_bytes gauge\n"
                     "memproxy_storage_map_max_bytes %llu\n"
                     "# HELP memproxy_storage_used_bytes LMDB map bytes in use.\n"
                     "# TYPE memproxy_storage_used_bytes gauge\n"
                     "memproxy_storage_used_bytes %llu\n"
                     "# HELP memproxy_storage_readers LMDB reader slots in use.\n"
                     "# TYPE memproxy_storage_readers gauge\n"
                     "memproxy_storage_readers %u\n"
                     "# HELP memproxy_storage_readers_max LMDB reader slots available.\n"
                     "# TYPE memproxy_storage_readers_max gauge\n"
                     "memproxy_storage_readers_max %u\n"
                     "# HELP memproxy_storage_commits_total Write transactions committed (with "
                     "sync = full, each one flush).\n"
                     "# TYPE memproxy_storage_commits_total counter\n"
                     "memproxy_storage_commits_total %llu\n",
                     (unsigned long long)st.map_size, (unsigned long long)st.map_size_max,
                     (unsigned long long)st.map_used, st.readers_used, st.readers_max,
                     (unsigned long long)st.commits);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void send_metrics(struct mp_conn *c)
{
    size_t len = 0;
    char storage[1024];
    struct mp_loop *loop = mp_conn_loop(c);
    char *text = mp_metrics_render(loop->metrics, &len);
    size_t extra = storage_metrics(loop->store, storage, sizeof(storage));
    char *all = text != NULL ? realloc(text, len + extra + 1) : NULL;
    if (all == NULL) {
        free(text);
        mp_respond_error(c, MP_PERR_INTERNAL, NULL, MP_CONN_KEEP);
        return;
    }
    memcpy(all + len, storage, extra);
    mp_conn_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL, all,
                    len + extra, MP_CONN_KEEP);
    free(all);
}

/* /readyz: the state's line, then how many turns the store failed are
 * still held for it, when any are (they go in once it is back), and how
 * many memory jobs wait for a credential, when any do. */
static void send_readyz(struct mp_conn *c, const struct mp_admin_host *host)
{
    const struct mp_loop *loop = mp_conn_loop(c);
    const char *why = host->not_ready(host->owner);
    const char *degraded = why == NULL ? host->degraded(host->owner) : NULL;
    unsigned held = loop->memworker != NULL ? mp_memworker_held(loop->memworker) : 0;
    int64_t since = 0;
    unsigned jobs = loop->memworker != NULL ? mp_memworker_held_jobs(loop->memworker, &since) : 0;
    char text[160];
    int n;
    if (why != NULL) /* why ends in its newline */
        n = snprintf(text, sizeof(text), "%s", why);
    else if (degraded != NULL) /* chat goes on: report, stay in service */
        n = snprintf(text, sizeof(text), "degraded: %s\n", degraded);
    else
        n = snprintf(text, sizeof(text), "ready\n");
    if (held > 0 && n > 0 && (size_t)n < sizeof(text))
        n += snprintf(text + n, sizeof(text) - (size_t)n, "held_turns: %u\n", held);
    if (jobs > 0 && n > 0 && (size_t)n < sizeof(text))
        snprintf(text + n, sizeof(text) - (size_t)n, "held_jobs: %u\n", jobs);
    if (why != NULL)
        send_text(c, 503, "Service Unavailable", text);
    else
        send_text(c, 200, "OK", text);
}

/* A wrong token is refused at the head, before any of the body (an
 * import of up to max_body_bytes) is read. */
static void on_head(struct mp_conn *c, const struct mp_http_request_head *head)
{
    const char *token = mp_conn_loop(c)->cfg->admin.token;
    if (token[0] == '\0' || head->target_len < 7 || memcmp(head->target, "/admin/", 7) != 0)
        return; /* no admin API (404 in on_request), or no admin route */
    if (!mp_bearer_ok(head, token))
        mp_authfail_refuse(c, MP_PERR_ADMIN_UNAUTHORIZED, "WWW-Authenticate: Bearer\r\n",
                           "admin request");
}

static void on_request(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t body_len)
{
    const struct mp_admin_host *host = mp_conn_loop(c)->app;
    /* HEAD is GET without the content (mp_conn_respond leaves it out) */
    bool get = (head->method_len == 3 && memcmp(head->method, "GET", 3) == 0) ||
               (head->method_len == 4 && memcmp(head->method, "HEAD", 4) == 0);
    bool health =
        target_is(head, "/livez") || target_is(head, "/readyz") || target_is(head, "/metrics");
    if (get && target_is(head, "/livez")) {
        send_text(c, 200, "OK", "ok\n");
    } else if (get && target_is(head, "/readyz")) {
        send_readyz(c, host);
    } else if (get && target_is(head, "/metrics")) {
        send_metrics(c);
    } else if (health) {
        const struct mp_respond_with w = {.headers = "Allow: GET, HEAD\r\n"};
        mp_respond_error_with(c, MP_PERR_METHOD_NOT_ALLOWED, &w, MP_CONN_KEEP);
    } else if (head->target_len >= 7 && memcmp(head->target, "/admin/", 7) == 0) {
        mp_adminapi_handle(c, head, body, body_len);
    } else if (host->page != NULL && host->page(c, head)) {
        /* the operator's memory page (page/page.h) */
    } else {
        mp_respond_error(c, MP_PERR_NOT_FOUND, NULL, MP_CONN_KEEP);
    }
}

/* A streamed export page goes on (admin/adminapi.h). */
static void on_drain(struct mp_conn *c, void *req)
{
    mp_adminapi_drain(c, req);
}

static const struct mp_conn_handler admin_handler = {
    .on_head = on_head,
    .on_request = on_request,
    .on_drain = on_drain,
};

static void admin_limits(const struct mp_loop *loop, struct mp_conn_limits *out)
{
    out->max_header_bytes = 16384;
    out->max_body_bytes = loop->cfg->admin.max_body_bytes; /* an import's JSON Lines */
    out->client_timeout_ms = 10000;
    out->idle_timeout_ms = 10000;
    out->send_timeout_ms = 10000;
}

const struct mp_conn_kind mp_admin_kind = {
    .handler = &admin_handler,
    .limits = admin_limits,
    .refuse = mp_respond_refusal,
    .data_plane = false,
};
