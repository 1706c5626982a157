/* Health and metrics endpoints. */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "respond.h"
#include "server.h"

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

static void send_metrics(struct mp_conn *c, struct mp_server *server)
{
    size_t len = 0;
    char *text = mp_metrics_render(mp_server_metrics(server), &len);
    if (text == NULL) {
        mp_respond_error(c, MP_PERR_INTERNAL, NULL, MP_CONN_KEEP);
        return;
    }
    mp_conn_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL, text, len,
                    MP_CONN_KEEP);
    free(text);
}

static void on_request(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t body_len)
{
    struct mp_server *server = mp_conn_loop(c)->app;
    bool get = head->method_len == 3 && memcmp(head->method, "GET", 3) == 0;
    (void)body;
    (void)body_len;
    if (get && target_is(head, "/livez")) {
        send_text(c, 200, "OK", "ok\n");
    } else if (get && target_is(head, "/readyz")) {
        const char *why = mp_server_not_ready(server);
        if (why == NULL)
            send_text(c, 200, "OK", "ready\n");
        else
            send_text(c, 503, "Service Unavailable", why);
    } else if (get && target_is(head, "/metrics")) {
        send_metrics(c, server);
    } else {
        mp_respond_error(c, MP_PERR_NOT_FOUND, NULL, MP_CONN_KEEP);
    }
}

static void on_abort(struct mp_conn *c, void *req)
{
    (void)c;
    (void)req; /* admin requests complete synchronously: nothing to abort */
}

static void on_drain(struct mp_conn *c, void *req)
{
    (void)c;
    (void)req;
}

static const struct mp_conn_handler admin_handler = {
    .on_request = on_request,
    .on_abort = on_abort,
    .on_drain = on_drain,
};

static void admin_limits(const struct mp_loop *loop, struct mp_conn_limits *out)
{
    (void)loop;
    out->max_header_bytes = 16384;
    out->max_body_bytes = 1024 * 1024;
    out->client_timeout_ms = 10000;
    out->idle_timeout_ms = 10000;
    out->send_timeout_ms = 10000;
}

const struct mp_conn_kind mp_admin_kind = {
    .handler = &admin_handler,
    .limits = admin_limits,
    .data_plane = false,
};
