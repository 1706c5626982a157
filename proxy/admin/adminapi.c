/* The admin API: authorization, routing, reads from the store, changes
 * through the memory worker. It never logs the token, an Authorization
 * header, a user id or memory text.
 *
 * A change waits for the memory worker with the request's state (struct
 * admin_call) lent to it: the ops it applies and, for mp_memworker_call(),
 * the argument its function writes. The worker may be using them at any
 * moment until the answer comes back, so when the client goes away first
 * the call is not freed (nor its ticket cancelled): it is marked orphaned,
 * and the answer, when it comes, logs the outcome and frees it. That way a
 * compaction the client stopped waiting for still finishes, and nothing is
 * freed under the worker's feet.
 *
 * If-Match "*" needs "the key exists now" checked in the same step as the
 * write: the change runs as a function on the worker thread, which owns
 * every store write, so reading the current revision there and applying
 * with it cannot interleave with another change. */
#include "admin/adminapi.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/access.h"
#include "net/bearer.h"
#include "admin/importrun.h"
#include "admin/adminexport.h"
#include "admin/adminjobs.h"
#include "admin/adminops.h"
#include "adminpath.h"
#include "memview/archivepage.h"
#include "admin/convseqs.h"
#include "clock.h"
#include "wire/errbody.h"
#include "http/http_parse.h"
#include "log.h"
#include "memview/memjson.h"
#include "memview/mempage.h"
#include "admin/admin.h"
#include "plane/explain.h"
#include "plane/explaintab.h"
#include "plane/convlook.h"
#include "memview/memsearch.h"
#include "memory/memworker.h"
#include "metrics.h"
#include "memory/piipolicy.h"
#include "net/respond.h"
#include "format/seal.h"
#include "status.h"
#include "ops/store.h"
#include "upkeep/sweep.h"
#include "memory/userkey.h"

#define ERR_MAX    256                                      /* a compaction failure's reason */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15)) /* 0.9, not 0.90000000000000002 */

static const char no_user[] = "Nothing is stored for this user.";
static const char no_message[] = "This user has no message with this seq.";
static const char no_conversation[] = "This user has no message in this conversation.";
static const char no_explanation[] = "No request of this user was explained in the last 10 "
                                     "minutes.";

enum if_match {
    IFM_NONE, /* no If-Match */
    IFM_ANY,  /* If-Match: *  (the key must have a value) */
    IFM_REV   /* If-Match: "<revision>" */
};

struct admin_call {
    struct mp_conn *conn;        /* NULL once the client went away (orphaned) */
    struct mp_loop *loop;        /* borrowed: the admin loop */
    bool enabled;                /* a token is set: errors count in the client-error metrics */
    struct mp_store *store;      /* borrowed from the loop */
    struct mp_memticket *ticket; /* never cancelled: see the top */
    struct mp_admin_target t;
    bool routed;             /* t is valid */
    bool page;               /* through the memory page (mp_adminapi_serve): logged as such */
    const char *headers;     /* more header lines for every answer (borrowed), or NULL */
    bool prefer_removed;     /* Prefer: return=representation on a DELETE: 200 with the counts */
    struct mp_erased erased; /* what a conversation's erasure removed (worker thread) */
    enum mp_actor actor;     /* who acts: the admin, or the person on their page */
    char method[16];
    char request_id[MP_REQUEST_ID_LEN + 1];
    double t_start;
    char user[MP_USERKEY_MAX]; /* the store key of {id} (+ tenant) */
    size_t user_len;
    enum if_match ifm;
    struct mp_op op;
    char value[MP_ENTITY_VALUE_MAX + 1];
    /* written by the worker thread, read after its answer */
    uint64_t used_before, used_after;
    unsigned due;             /* POST /admin/extract: waiting extraction jobs made due */
    struct mp_adminjobs jobs; /* /admin/jobs...: lent to the worker like op */
    struct mp_sweep_counts swept;
    char err[ERR_MAX];
    /* a streamed export page (get_export): its lines a step at a time */
    struct mp_adminexport_stream *stream;
    struct evbuffer *batch; /* one step's lines, sent as one chunk */
    bool chunked;           /* else close-delimited (HTTP/1.0) */
    struct event *reset;    /* a broken close-delimited page: its reset, due */
};

/* ---- answers ---- */

static const char *route_name(const struct admin_call *call)
{
    static const char *const names[] = {
        [MP_ADMIN_USERS] = "/admin/users",
        [MP_ADMIN_USER_MEMORY] = "/admin/users/{id}/memory",
        [MP_ADMIN_USER_EXPORT] = "/admin/users/{id}/export",
        [MP_ADMIN_USER_HISTORY] = "/admin/users/{id}/history",
        [MP_ADMIN_USER_IMPORT] = "/admin/users/{id}/import",
        [MP_ADMIN_USER_ENTITY] = "/admin/users/{id}/entities/{key}",
        [MP_ADMIN_COMPACT] = "/admin/compact",
        [MP_ADMIN_SWEEP] = "/admin/sweep",
        [MP_ADMIN_USER_SETTINGS] = "/admin/users/{id}/settings",
        [MP_ADMIN_USER_REVOKE_LINKS] = "/admin/users/{id}/revoke-links",
        [MP_ADMIN_USER_SEARCH] = "/admin/users/{id}/search",
        [MP_ADMIN_USER_EXPLAIN] = "/admin/users/{id}/explain",
        [MP_ADMIN_STATUS] = "/admin/status",
        [MP_ADMIN_RELOAD] = "/admin/reload",
        [MP_ADMIN_EXPLANATION] = "/admin/explain/{id}",
        [MP_ADMIN_EXTRACT] = "/admin/extract",
        [MP_ADMIN_USER_MESSAGE] = "/admin/users/{id}/messages/{seq}",
        [MP_ADMIN_USER_CONVERSATION] = "/admin/users/{id}/conversations/{conv}",
        [MP_ADMIN_JOBS] = "/admin/jobs",
        [MP_ADMIN_JOB] = "/admin/jobs/{id}",
        [MP_ADMIN_JOB_RETRY] = "/admin/jobs/{id}/retry",
    };
    _Static_assert(sizeof(names) / sizeof(names[0]) == MP_ADMIN_ROUTE_LAST + 1,
                   "every route has its name");
    /* an unrouted target may hold anything, user ids included: never logged */
    return call->routed ? names[call->t.route] : "";
}

/* One audit line per answered request (also when the client had gone). */
static void audit(const struct admin_call *call, int status, const char *error)
{
    struct mp_logline l;
    char hash[MP_USER_HASH_LEN + 1];
    mp_logline_begin(&l, MP_LOG_INFO, call->page ? "page request" : "admin request");
    if (!l.enabled)
        return;
    mp_logline_str(&l, "request_id", call->request_id);
    mp_logline_str(&l, "method", call->method);
    mp_logline_str(&l, "route", route_name(call));
    mp_logline_int(&l, "status", status);
    mp_logline_double(&l, "duration_ms", (mp_access_now() - call->t_start) * 1000.0);
    if (call->user_len > 0) {
        mp_access_user_hash(call->user, call->user_len, hash);
        mp_logline_str(&l, "user", hash);
    }
    if (error != NULL)
        mp_logline_str(&l, "error", error);
    if (call->conn == NULL)
        mp_logline_bool(&l, "client_gone", true);
    mp_logline_end(&l);
}

/* Ends the request (unless the client is gone), logs it and frees call.
 * extra: more "Name: value\r\n" header lines, or NULL. */
static void respond(struct admin_call *call, int status, const char *reason, const char *ctype,
                    const char *extra, const char *body, size_t len, const char *error)
{
    char headers[2048];
    audit(call, status, error);
    if (call->conn != NULL) {
        snprintf(headers, sizeof(headers), "x-request-id: %s\r\n%s%s", call->request_id,
                 call->headers != NULL ? call->headers : "Cache-Control: no-store\r\n",
                 extra != NULL ? extra : "");
        mp_conn_respond(call->conn, status, reason, ctype, headers, body, len, MP_CONN_KEEP);
    }
    free(call);
}

/* An error in OpenAI's shape; message NULL: the table's. */
static void send_error_msg(struct admin_call *call, enum mp_perr e, const char *message,
                           const char *extra)
{
    const struct mp_perr_info *info = mp_respond_info(e);
    char body[768];
    if (call->enabled && info->client_kind >= 0)
        mp_metrics_client_error(call->loop->shard, (enum mp_client_error_kind)info->client_kind);
    size_t n = mp_errbody_format(body, sizeof(body), message != NULL ? message : info->message,
                                 info->type, info->code);
    respond(call, info->status, info->reason, "application/json", extra, body, n, info->code);
}

static void send_error(struct admin_call *call, enum mp_perr e, const char *extra)
{
    send_error_msg(call, e, NULL, extra);
}

static void send_json(struct admin_call *call, int status, const char *reason, json_t *doc,
                      const char *extra)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_FLAGS) : NULL;
    json_decref(doc);
    if (text == NULL) {
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    respond(call, status, reason, "application/json", extra, text, strlen(text), NULL);
    free(text);
}

/* ---- authorization ---- */

/* ---- reads ---- */

/* A 400 naming the query parameter param. */
static void send_bad_param(struct admin_call *call, const char *param)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "The query parameter %s is not valid.", param);
    send_error_msg(call, MP_PERR_INVALID_PARAM, msg, NULL);
}

static void list_users(struct admin_call *call)
{
    unsigned char tenant[MP_USERKEY_TENANT_LEN];
    unsigned char after[MP_STORE_CURSOR_MAX], next[MP_STORE_CURSOR_MAX];
    char next_text[(MP_STORE_CURSOR_MAX + 2) / 3 * 4 + 1];
    size_t after_len = 0, next_len = 0, n = 0;
    struct mp_user_info *users = NULL;
    const unsigned char *which = mp_store_all_tenants;
    if (call->t.has_tenant &&
        mp_userkey_tenant_parse(call->t.tenant, strlen(call->t.tenant), tenant) == MP_OK)
        which = tenant;
    if (mp_mempage_decode(call->t.cursor, call->t.cursor_len, after, sizeof(after), &after_len) !=
        MP_OK) {
        send_bad_param(call, "cursor");
        return;
    }
    int rc = mp_store_users(call->store, which, after, after_len, call->t.limit, &users, &n, next,
                            &next_len);
    if (rc != MP_OK) {
        send_error(call, rc == MP_EINVAL ? MP_PERR_INVALID_PARAM : MP_PERR_INTERNAL, NULL);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < n; i++) {
        if (json_array_append_new(list, mp_memjson_user_info(&users[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    free(users);
    if (next_len > 0)
        mp_mempage_encode(next, next_len, next_text);
    send_json(call, 200, "OK",
              json_pack("{s:o, s:o}", "users", list, "next_cursor",
                        next_len > 0 ? json_string(next_text) : json_null()),
              NULL);
}

static void get_memory(struct admin_call *call)
{
    struct mp_usermem *um = NULL;
    struct mp_factpage facts;
    json_t *archive = NULL;
    char next[MP_ARCHIVE_CURSOR_MAX];
    int frc = mp_mempage_facts(call->store, call->user, call->user_len, call->t.entities_cursor,
                               call->t.entities_cursor_len, call->t.entities_limit, &facts);
    int rc = frc == MP_EINVAL ? MP_OK
                              : mp_archive_page(call->store, call->user, call->user_len,
                                                call->t.cursor, call->t.cursor_len, call->t.limit,
                                                MP_MEMJSON_ADMIN, &archive, next);
    if (rc == MP_EINVAL || frc == MP_EINVAL) {
        json_decref(archive);
        mp_mempage_facts_cleanup(&facts);
        send_bad_param(call, rc == MP_EINVAL ? "cursor" : "entities_cursor");
        return;
    }
    if (rc == MP_OK)
        rc = mp_store_get_head(call->store, call->user, call->user_len, &um);
    if (rc == MP_OK && frc != MP_OK && frc != MP_NOTFOUND)
        rc = frc;
    if (rc != MP_OK) {
        json_decref(archive);
        mp_usermem_free(um);
        mp_mempage_facts_cleanup(&facts);
        send_error_msg(call, rc == MP_NOTFOUND ? MP_PERR_NOT_FOUND : MP_PERR_INTERNAL,
                       rc == MP_NOTFOUND ? no_user : NULL, NULL);
        return;
    }
    json_t *doc = mp_memjson_memory(call->user, call->user_len, um, &facts, MP_MEMJSON_ADMIN);
    mp_usermem_free(um);
    mp_mempage_facts_cleanup(&facts);
    send_json(call, 200, "OK", mp_memjson_add_archive(doc, archive, next), NULL);
}

/* GET /admin/users/{id}/search: the user's search (memsearch.h) with
 * every field of provenance. */
static void search_memory(struct admin_call *call)
{
    struct mp_memsearch_query q;
    struct mp_memsearch_result res;
    enum mp_perr perr = MP_PERR_INVALID_PARAM;
    if (mp_memsearch_from_target(&call->t, &q, &perr) != MP_OK) {
        mp_metrics_search(call->loop->shard, MP_SEARCH_INVALID);
        send_error(call, perr, NULL);
        return;
    }
    int rc = mp_memsearch_run(call->store, mp_loop_terms(call->loop), call->user, call->user_len,
                              &q, MP_MEMJSON_ADMIN, false, &res);
    mp_metrics_search(call->loop->shard, rc != MP_OK     ? MP_SEARCH_ERROR
                                         : res.total > 0 ? MP_SEARCH_HIT
                                                         : MP_SEARCH_MISS);
    if (rc != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    send_json(call, 200, "OK", res.doc, NULL);
    res.doc = NULL; /* sent */
    mp_memsearch_result_cleanup(&res);
}

/* POST /admin/users/{id}/explain: what a chat request would get (explain.h),
 * in its conversation as the store keeps it (the request's id headers,
 * X-OpenWebUI-Chat-Id and the like, name it as a chat request's do). */
static void explain(struct admin_call *call, const struct mp_http_request_head *head,
                    const char *body, size_t len)
{
    struct mp_convid_headers hd;
    json_t *doc = NULL;
    enum mp_perr perr = MP_PERR_INTERNAL;
    mp_convlook_headers(head, &hd);
    if (mp_explain_run(call->loop->cfg, call->store, mp_loop_terms(call->loop), call->user,
                       call->user_len, call->t.api, body, len, &hd, mp_clock_now_ms(), &doc,
                       &perr) != MP_OK) {
        send_error(call, perr, NULL);
        return;
    }
    send_json(call, 200, "OK", doc, NULL);
}

/* GET /admin/users/{id}/explain: the newest explanation kept for the
 * user (a request that asked for it, or [page] explain_last). */
static void last_explanation(struct admin_call *call)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mp_explaintab_last(call->user, call->user_len, mp_clock_now_ms(), &text, &len);
    if (rc != MP_OK) {
        send_error_msg(call, rc == MP_NOTFOUND ? MP_PERR_NOT_FOUND : MP_PERR_INTERNAL,
                       rc == MP_NOTFOUND ? no_explanation : NULL, NULL);
        return;
    }
    respond(call, 200, "OK", "application/json", NULL, text, len, NULL);
    free(text);
}

/* GET /admin/explain/{id}: a data-plane request's kept explanation. */
static void get_explanation(struct admin_call *call)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mp_explaintab_get(call->t.explanation, mp_clock_now_ms(), &text, &len);
    if (rc != MP_OK) {
        send_error_msg(call, rc == MP_NOTFOUND ? MP_PERR_NOT_FOUND : MP_PERR_INTERNAL,
                       rc == MP_NOTFOUND ? "No explanation is kept under this id (they are kept "
                                           "10 minutes)."
                                         : NULL,
                       NULL);
        return;
    }
    respond(call, 200, "OK", "application/json", NULL, text, len, NULL);
    free(text);
}

static json_t *history_json(const struct mp_history *h)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < h->nitems; i++) {
        if (json_array_append_new(a, mp_memjson_history_item(&h->items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* GET .../history[?cursor=C][&limit=N]: a page of the history, oldest
 * first, and history_next_cursor. */
static void get_history(struct admin_call *call)
{
    struct mp_histpage pg;
    unsigned limit = call->t.has_limit ? call->t.limit : MP_ADMIN_LIMIT_MAX;
    int rc = mp_mempage_history(call->store, call->user, call->user_len, call->t.cursor,
                                call->t.cursor_len, limit, &pg);
    if (rc == MP_EINVAL) {
        send_bad_param(call, "cursor");
        return;
    }
    if (rc != MP_OK) {
        send_error_msg(call, rc == MP_NOTFOUND ? MP_PERR_NOT_FOUND : MP_PERR_INTERNAL,
                       rc == MP_NOTFOUND ? no_user : NULL, NULL);
        return;
    }
    json_t *doc = json_object();
    json_t *items = history_json(pg.h);
    if (doc == NULL || items == NULL || mp_memjson_set_user(doc, call->user, call->user_len) != 0 ||
        json_object_set_new(doc, "history", items) != 0 ||
        json_object_set_new(doc, "history_next_cursor",
                            pg.next[0] != '\0' ? json_string(pg.next) : json_null()) != 0) {
        if (json_object_get(doc, "history") != items)
            json_decref(items);
        json_decref(doc);
        doc = NULL;
    }
    mp_mempage_history_cleanup(&pg);
    send_json(call, 200, "OK", doc, NULL);
}

/* ---- the export, streamed ---- */

static void stream_free(struct admin_call *call)
{
    mp_adminexport_stream_free(call->stream);
    if (call->batch != NULL)
        evbuffer_free(call->batch);
    if (call->reset != NULL)
        event_free(call->reset);
    free(call);
}

/* The client left mid-page: everything of the page goes, once. */
static void on_stream_abort(struct mp_conn *c, void *arg)
{
    struct admin_call *call = arg;
    (void)c;
    call->conn = NULL;
    audit(call, 200, NULL); /* logged with client_gone */
    stream_free(call);
}

static int batch_put(const char *buf, size_t len, void *arg)
{
    struct admin_call *call = arg;
    return evbuffer_add(call->batch, buf, len);
}

/* A close-delimited page broke: a reset, so that the close does not look
 * like its end (outside the connection's drain callback: a reset frees
 * the connection at once). */
static void on_reset(evutil_socket_t fd, short what, void *arg)
{
    struct admin_call *call = arg;
    (void)fd;
    (void)what;
    mp_conn_finish(call->conn, MP_CONN_RESET);
    stream_free(call);
}

/* The page is whole (rc MP_OK: the last chunk) or broken (chunked: closed
 * before the last chunk; close-delimited: reset), logged and freed. */
static void stream_end(struct admin_call *call, int rc)
{
    struct mp_conn *c = call->conn;
    static const struct timeval now = {0, 0};
    if (rc == MP_OK && call->chunked)
        evbuffer_add(mp_conn_output(c), "0\r\n\r\n", 5);
    audit(call, 200, rc == MP_OK ? NULL : "internal");
    if (rc != MP_OK && !call->chunked) {
        call->reset = evtimer_new(call->loop->base, on_reset, call);
        if (call->reset != NULL && evtimer_add(call->reset, &now) == 0)
            return; /* still attached: a client leaving meanwhile aborts it */
    }
    mp_conn_finish(c, rc == MP_OK && call->chunked ? MP_CONN_KEEP : MP_CONN_CLOSE);
    stream_free(call);
}

/* Writes steps while the connection's output is under its high-water
 * mark, then waits for it to drain (mp_adminapi_drain): the process holds
 * at most that mark and one step of the page. */
static void stream_pump(struct admin_call *call)
{
    struct mp_conn *c = call->conn;
    struct evbuffer *out = mp_conn_output(c);
    bool done = false;
    int rc = MP_OK;
    while (rc == MP_OK && !done && mp_conn_pending(c) < MP_CONN_HIGH_WATER) {
        rc = mp_adminexport_stream_step(call->stream, batch_put, call, &done);
        size_t n = evbuffer_get_length(call->batch);
        if (rc == MP_OK && n > 0 && call->chunked)
            evbuffer_add_printf(out, "%zx\r\n", n);
        if (rc == MP_OK && n > 0)
            evbuffer_add_buffer(out, call->batch);
        if (rc == MP_OK && n > 0 && call->chunked)
            evbuffer_add(out, "\r\n", 2);
        evbuffer_drain(call->batch, evbuffer_get_length(call->batch));
        mp_conn_write_now(c);
    }
    if (rc == MP_OK && !done) {
        mp_conn_want_drain(c);
        mp_conn_flush(c);
        return;
    }
    stream_end(call, rc);
}

void mp_adminapi_drain(struct mp_conn *c, void *req)
{
    struct admin_call *call = req;
    (void)c;
    if (call != NULL && call->stream != NULL)
        stream_pump(call);
}

/* The head of a streamed page: chunked (HTTP/1.1) or close-delimited. */
static void stream_head(struct admin_call *call, const char *next)
{
    struct mp_conn *c = call->conn;
    call->chunked = !mp_conn_is_http10(c);
    evbuffer_add_printf(mp_conn_output(c),
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n%s"
                        "x-request-id: %s\r\n%s%s%s%s",
                        call->chunked ? "Transfer-Encoding: chunked\r\n" : "", call->request_id,
                        call->headers != NULL ? call->headers : "Cache-Control: no-store\r\n",
                        next[0] != '\0' ? "X-Next-Cursor: " : "", next,
                        next[0] != '\0' ? "\r\n" : "");
    if (!call->chunked || mp_conn_wants_close(c))
        evbuffer_add(mp_conn_output(c), "Connection: close\r\n", 19);
    evbuffer_add(mp_conn_output(c), "\r\n", 2);
}

/* GET .../export[?cursor=C][&limit=N]: a page of JSON lines
 * (adminexport.h), streamed; X-Next-Cursor names the next. The plan
 * counts the page first (the cursor is a header, known before the first
 * byte), then the lines go out a step at a time up to that cursor. */
static void get_export(struct admin_call *call)
{
    struct mp_adminexport_page pg;
    unsigned limit = call->t.has_limit ? call->t.limit : MP_ADMIN_LIMIT_MAX;
    int rc = mp_adminexport_plan(call->store, call->user, call->user_len, call->t.cursor,
                                 call->t.cursor_len, limit, &pg);
    if (rc == MP_EINVAL) {
        send_bad_param(call, "cursor");
        return;
    }
    if (rc == MP_OK && call->t.cursor_len == 0 && !pg.found && pg.len == 0 && pg.next[0] == '\0') {
        send_error_msg(call, MP_PERR_NOT_FOUND, no_user, NULL); /* not even a setting */
        return;
    }
    if (rc == MP_OK)
        rc = mp_adminexport_stream_open(call->store, call->user, call->user_len, call->t.cursor,
                                        call->t.cursor_len, pg.next, &call->stream);
    call->batch = rc == MP_OK ? evbuffer_new() : NULL;
    if (call->batch == NULL) {
        mp_adminexport_stream_free(call->stream);
        call->stream = NULL;
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    stream_head(call, pg.next);
    mp_conn_attach(call->conn, call, on_stream_abort);
    stream_pump(call);
}

/* ---- changes, through the memory worker ---- */

/* The client went away while call waited for the worker: see the top. */
static void on_abort(struct mp_conn *c, void *arg)
{
    struct admin_call *call = arg;
    (void)c;
    call->conn = NULL;
}

/* A DELETE done: 204, or with Prefer: return=representation (and on the
 * routes that erase messages) 200 with what was removed. */
static void send_removed(struct admin_call *call, const struct mp_erased *e)
{
    /* an explanation kept for the user may quote what went */
    mp_explaintab_forget(call->user, call->user_len);
    if (call->prefer_removed || call->t.route == MP_ADMIN_USER_MESSAGE ||
        call->t.route == MP_ADMIN_USER_CONVERSATION)
        send_json(call, 200, "OK", mp_memjson_removed(e), NULL);
    else
        respond(call, 204, "No Content", NULL, NULL, "", 0, NULL);
}

static void on_deleted_user(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    (void)t;
    if (status != MP_OK)
        send_error(call, MP_PERR_INTERNAL, NULL);
    else
        send_removed(call, &call->op.erased);
}

/* DELETE .../messages/{seq} and .../conversations/{conv} done. */
static void on_messages_erased(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    bool one = call->t.route == MP_ADMIN_USER_MESSAGE;
    (void)t;
    if (one && status == MP_OK && call->op.result == MP_NOTFOUND)
        status = MP_NOTFOUND;
    if (status == MP_NOTFOUND)
        send_error_msg(call, MP_PERR_NOT_FOUND, one ? no_message : no_conversation, NULL);
    else if (status != MP_OK || (one && call->op.result != MP_OK))
        send_error(call, MP_PERR_INTERNAL, NULL);
    else
        send_removed(call, one ? &call->op.erased : &call->erased);
}

/* 404 fact_not_found: the DELETE's key has nothing kept. */
static void send_no_fact(struct admin_call *call)
{
    char message[MP_ENTITY_KEY_MAX + 64];
    snprintf(message, sizeof(message), "No fact with key '%s' is kept for this user.", call->t.key);
    send_error_msg(call, MP_PERR_FACT_NOT_FOUND, message, NULL);
}

static void entity_put_done(struct admin_call *call, int status)
{
    char etag[48];
    int result = call->op.result;
    if (status == MP_ECONFLICT) {
        send_error(call,
                   call->ifm == IFM_NONE ? MP_PERR_PRECONDITION_REQUIRED
                                         : MP_PERR_PRECONDITION_FAILED,
                   NULL);
    } else if (status != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
    } else if (result == MP_ETOOBIG) {
        send_error(call, MP_PERR_MEMORY_FULL, NULL);
    } else if (result == MP_NOTFOUND) {
        send_error(call, MP_PERR_OUTRANKED, NULL);
    } else if (result != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
    } else {
        snprintf(etag, sizeof(etag), "ETag: \"%u\"\r\n", (unsigned)call->op.u.entity.revision);
        send_json(call, 200, "OK", mp_memjson_entity(&call->op.u.entity, MP_MEMJSON_ADMIN), etag);
    }
}

static void on_entity_done(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    (void)t;
    if (call->op.kind == MP_OP_UPSERT_ENTITY)
        entity_put_done(call, status);
    else if (status == MP_ECONFLICT)
        send_error(call, MP_PERR_PRECONDITION_FAILED, NULL);
    else if (status != MP_OK || (call->op.result != MP_OK && call->op.result != MP_NOTFOUND))
        send_error(call, MP_PERR_INTERNAL, NULL);
    else if (call->op.result == MP_NOTFOUND)
        send_no_fact(call);
    else
        send_removed(call, &call->op.erased);
}

/* The current revision of key (0: no value). Worker thread. */
static int current_revision(struct admin_call *call, const char *key, uint32_t *rev)
{
    struct mp_usermem *um = NULL;
    int rc = mp_store_get(call->store, call->user, call->user_len, &um);
    *rev = 0;
    if (rc == MP_NOTFOUND)
        return MP_OK;
    for (size_t i = 0; rc == MP_OK && i < um->nentities; i++) {
        if (strcmp(um->entities[i].key, key) == 0)
            *rev = um->entities[i].revision;
    }
    mp_usermem_free(um);
    return rc;
}

/* Worker thread: the entity change, with If-Match "*" resolved first. */
static int entity_work(struct mp_memworker *mw, void *arg)
{
    struct admin_call *call = arg;
    (void)mw;
    if (call->ifm == IFM_ANY) {
        const char *key =
            call->op.kind == MP_OP_UPSERT_ENTITY ? call->op.u.entity.key : call->op.u.key;
        uint32_t rev = 0;
        int rc = current_revision(call, key, &rev);
        if (rc != MP_OK)
            return rc;
        if (rev == 0)
            return MP_ECONFLICT;
        call->op.if_match = true;
        call->op.if_revision = rev;
    }
    return mp_store_apply(call->store, &call->op, 1);
}

/* Worker thread. */
static int compact_work(struct mp_memworker *mw, void *arg)
{
    struct admin_call *call = arg;
    struct mp_store_stats st;
    if (mp_store_stats(call->store, &st) == MP_OK)
        call->used_before = st.map_used;
    int rc = mp_memworker_compact(mw, call->err, sizeof(call->err));
    if (rc == MP_OK && mp_store_stats(call->store, &st) == MP_OK)
        call->used_after = st.map_used;
    return rc;
}

static void on_compacted(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    char msg[ERR_MAX + 64];
    (void)t;
    if (status != MP_OK) {
        call->err[sizeof(call->err) - 1] = '\0';
        snprintf(msg, sizeof(msg), "Storage compaction failed: %s",
                 call->err[0] != '\0' ? call->err : mp_status_name(status));
        send_error_msg(call, MP_PERR_INTERNAL, msg, NULL);
        return;
    }
    send_json(call, 200, "OK",
              json_pack("{s:b, s:I, s:I}", "compacted", 1, "used_bytes_before",
                        (json_int_t)call->used_before, "used_bytes_after",
                        (json_int_t)call->used_after),
              NULL);
}

/* Worker thread. */
static int extract_work(struct mp_memworker *mw, void *arg)
{
    struct admin_call *call = arg;
    call->due = mp_memworker_extract_now(mw);
    return MP_OK;
}

static void on_extract(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    (void)t;
    (void)status;
    send_json(call, 200, "OK", json_pack("{s:I}", "due", (json_int_t)call->due), NULL);
}

/* Worker thread. */
static int sweep_work(struct mp_memworker *mw, void *arg)
{
    struct admin_call *call = arg;
    return mp_memworker_sweep(mw, &call->swept);
}

static void on_swept(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    const struct mp_sweep_counts *c = &call->swept;
    (void)t;
    if (status != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    send_json(call, 200, "OK",
              json_pack("{s:{s:I, s:I, s:I, s:I, s:I}}", "purged", "facts", (json_int_t)c->facts,
                        "messages", (json_int_t)c->messages, "summaries", (json_int_t)c->summaries,
                        "history", (json_int_t)c->history, "idem", (json_int_t)c->idem),
              NULL);
}

/* Hands call to the worker: its ops (op != NULL) or fn. */
static void submit(struct admin_call *call, struct mp_op *op, mp_memwork_fn fn,
                   mp_memticket_fn done)
{
    struct mp_loop *loop = mp_conn_loop(call->conn);
    int rc = MP_EIO;
    if (loop->memworker != NULL && op != NULL)
        rc = mp_memworker_submit(loop->memworker, op, 1, loop->base, done, call, &call->ticket);
    else if (loop->memworker != NULL)
        rc = mp_memworker_call(loop->memworker, fn, call, loop->base, done, call, &call->ticket);
    if (rc != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    mp_conn_attach(call->conn, call, on_abort);
}

/* ---- memory jobs (admin/adminjobs.h) ---- */

/* Worker thread. */
static int jobs_work(struct mp_memworker *mw, void *arg)
{
    struct admin_call *call = arg;
    return mp_adminjobs_work(mw, &call->jobs);
}

static void on_jobs(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    struct mp_adminjobs_answer a;
    (void)t;
    mp_adminjobs_answer(&call->jobs, call->loop->cfg, status, call->request_id, &a);
    mp_adminjobs_cleanup(&call->jobs);
    if (a.doc != NULL)
        send_json(call, 200, "OK", a.doc, NULL);
    else
        send_error_msg(call, a.perr, a.message, NULL);
}

static void jobs_request(struct admin_call *call)
{
    if (mp_adminjobs_prepare(&call->jobs, &call->t, call->store, mp_clock_now_ms()) != MP_OK) {
        send_error_msg(call, MP_PERR_INVALID_PARAM, "The query parameter cursor is not valid.",
                       NULL);
        return;
    }
    submit(call, NULL, jobs_work, on_jobs);
}

/* ---- the user's own setting ---- */

static void on_mode_set(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    (void)t;
    if (status != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    enum mp_user_mode mode = call->op.u.user_mode;
    send_json(call, 200, "OK",
              mp_memjson_settings(call->user, call->user_len, mode,
                                  mode != MP_USER_MODE_AUTO ? call->op.now_ms : 0,
                                  MP_MEMJSON_ADMIN),
              NULL);
}

/* POST /admin/users/{id}/revoke-links (and the page's "sign out
 * everywhere"): the user's page links issued before now are void. */
static void on_links_revoked(struct mp_memticket *t, void *arg, int status)
{
    struct admin_call *call = arg;
    (void)t;
    json_t *doc = status == MP_OK ? json_object() : NULL;
    if (doc == NULL || mp_memjson_set_user(doc, call->user, call->user_len) != 0 ||
        json_object_set_new(doc, "links_void_before", mp_memjson_time(call->op.now_ms)) != 0) {
        json_decref(doc);
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    send_json(call, 200, "OK", doc, NULL);
}

/* GET /admin/users/{id}/settings reads the user's setting (auto for a user
 * never seen); PUT sets it for them, as the user's own PUT would. */
static void user_settings(struct admin_call *call, bool put, const char *body, size_t len)
{
    enum mp_user_mode mode;
    int64_t at = 0;
    if (put) {
        if (mp_memjson_parse_mode(body, len, &call->op.u.user_mode) != MP_OK) {
            send_error(call, MP_PERR_INVALID_MODE, NULL);
            return;
        }
        call->op.kind = MP_OP_SET_USER_MODE;
        submit(call, &call->op, NULL, on_mode_set);
        return;
    }
    if (mp_store_user_mode(call->store, call->user, call->user_len, &mode, &at) != MP_OK) {
        send_error(call, MP_PERR_INTERNAL, NULL);
        return;
    }
    send_json(call, 200, "OK",
              mp_memjson_settings(call->user, call->user_len, mode, at, MP_MEMJSON_ADMIN), NULL);
}

/* If-Match: "*", or one strong entity tag "<revision>" (the quotes may be
 * left out), revision 1 .. 2^32-1 in decimal. Anything else (a list, a weak
 * tag, 0) is MP_EINVAL. */
static int parse_if_match(const struct mp_http_request_head *head, enum if_match *kind,
                          uint32_t *rev)
{
    const struct mp_http_header *h = mp_http_find_header(head, "if-match", 8);
    const char *v = h != NULL ? h->value : NULL;
    size_t n = h != NULL ? h->value_len : 0;
    uint64_t r = 0;
    *kind = IFM_NONE;
    if (h == NULL)
        return MP_OK;
    if (n == 1 && v[0] == '*') {
        *kind = IFM_ANY;
        return MP_OK;
    }
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n == 0 || n > 10)
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return MP_EINVAL;
        r = r * 10 + (uint64_t)(v[i] - '0');
    }
    if (r == 0 || r > UINT32_MAX)
        return MP_EINVAL;
    *kind = IFM_REV;
    *rev = (uint32_t)r;
    return MP_OK;
}

/* An admin's value: the strongest trust, this request as its source,
 * through pii_mode; the person's own on their page, a correction as PUT
 * /v1/memory/entities/{key} makes it. MP_OK, or the refusal to answer with
 * in *perr. */
static int fill_admin_entity(struct admin_call *call, size_t value_len, enum mp_perr *perr)
{
    struct mp_mem_entity *e = &call->op.u.entity;
    enum mp_trust trust = call->actor == MP_ACTOR_ADMIN ? MP_TRUST_ADMIN : MP_TRUST_CORRECTED;
    int rc =
        mp_piipolicy_correction(call->loop->cfg->governance.pii_mode, e, call->value, value_len,
                                sizeof(call->value), trust, call->request_id, call->op.now_ms);
    if (rc != MP_OK) {
        *perr = mp_respond_correction_refusal(rc);
        return rc;
    }
    memcpy(e->key, call->t.key, sizeof(e->key));
    return MP_OK;
}

static void change_entity(struct admin_call *call, const struct mp_http_request_head *head,
                          bool put, const char *body, size_t len)
{
    size_t value_len = 0;
    if (parse_if_match(head, &call->ifm, &call->op.if_revision) != MP_OK) {
        send_error(call, MP_PERR_INVALID_PARAM, NULL);
        return;
    }
    call->op.if_match = call->ifm == IFM_REV;
    if (put && mp_memjson_parse_value(body, len, call->value, &value_len) != MP_OK) {
        send_error(call, MP_PERR_INVALID_VALUE, NULL);
        return;
    }
    if (put) {
        enum mp_perr perr = MP_PERR_INTERNAL;
        if (fill_admin_entity(call, value_len, &perr) != MP_OK) {
            send_error(call, perr, NULL);
            return;
        }
        call->op.kind = MP_OP_UPSERT_ENTITY;
        /* no If-Match: only a key without a value may be set */
        call->op.if_match = call->op.if_match || call->ifm == IFM_NONE;
    } else {
        call->op.kind = MP_OP_DELETE_ENTITY;
        memcpy(call->op.u.key, call->t.key, sizeof(call->op.u.key));
    }
    submit(call, NULL, entity_work, on_entity_done);
}

/* ---- messages and conversations ---- */

static void erase_message(struct admin_call *call)
{
    call->op.kind = MP_OP_DELETE_MESSAGE;
    call->op.u.seq = call->t.seq;
    submit(call, &call->op, NULL, on_messages_erased);
}

/* Worker thread: every message of the conversation, buffered or archived,
 * read and erased in one apply (the worker is the only writer, so none
 * comes between); what they took with them summed in call->erased. */
static int conversation_work(struct mp_memworker *mw, void *arg)
{
    struct admin_call *call = arg;
    uint64_t *seqs = NULL;
    size_t n = 0;
    (void)mw;
    int rc = mp_convseqs_find(call->store, call->user, call->user_len, call->t.conv, &seqs, &n);
    struct mp_op *ops = rc == MP_OK && n > 0 ? calloc(n, sizeof(*ops)) : NULL;
    if (rc == MP_OK && n == 0)
        rc = MP_NOTFOUND;
    else if (rc == MP_OK && ops == NULL)
        rc = MP_ENOMEM;
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        ops[i] = call->op;
        ops[i].kind = MP_OP_DELETE_MESSAGE;
        ops[i].u.seq = seqs[i];
    }
    if (rc == MP_OK)
        rc = mp_store_apply(call->store, ops, n);
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        call->erased.facts += ops[i].erased.facts;
        call->erased.messages += ops[i].erased.messages;
        call->erased.summaries += ops[i].erased.summaries;
    }
    free(ops);
    free(seqs);
    return rc;
}

/* ---- import (admin/importrun.h: the page's upload calls the same) ---- */

static void send_import_answer(struct admin_call *call, struct mp_import_answer *a)
{
    if (a->ok) {
        send_json(call, 200, "OK", a->doc, NULL);
        a->doc = NULL; /* sent */
        return;
    }
    char extra[48] = "";
    if (a->retry_after_s > 0)
        snprintf(extra, sizeof(extra), "Retry-After: %u\r\n", a->retry_after_s);
    send_error_msg(call, a->perr, a->message[0] != '\0' ? a->message : NULL,
                   extra[0] != '\0' ? extra : NULL);
}

static void on_imported(void *arg, struct mp_import_answer *a)
{
    send_import_answer(arg, a);
}

/* The media type of the body, without parameters, is application/x-ndjson
 * (or application/jsonl). */
static bool is_ndjson(const struct mp_http_request_head *head)
{
    const struct mp_http_header *h = mp_http_find_header(head, "content-type", 12);
    if (h == NULL)
        return false;
    size_t n = 0;
    while (n < h->value_len && h->value[n] != ';' && h->value[n] != ' ')
        n++;
    return (n == 20 && strncasecmp(h->value, "application/x-ndjson", 20) == 0) ||
           (n == 17 && strncasecmp(h->value, "application/jsonl", 17) == 0);
}

/* JSON Lines need their media type; the other formats say what they are
 * in ?format= (a ZIP, a JSON file, a text: any media type). */
static void import_body(struct admin_call *call, const struct mp_http_request_head *head,
                        const char *body, size_t len)
{
    struct mp_import_answer now;
    if (call->t.format == MP_IMPORT_FORMAT_JSONL && !is_ndjson(head)) {
        send_error(call, MP_PERR_UNSUPPORTED_MEDIA_TYPE, NULL);
        return;
    }
    const struct mp_import_request req = {.format = call->t.format,
                                          .dry_run = call->t.dry_run,
                                          .retention_item = call->t.retention_item,
                                          .has_extract_max_tokens = call->t.has_extract_max_tokens,
                                          .extract_max_tokens = call->t.extract_max_tokens};
    int rc = mp_importrun_start(call->loop, call->t.user, call->t.user_len,
                                call->t.has_tenant ? call->t.tenant : NULL, &req, body, len,
                                call->request_id, on_imported, call, &now);
    if (rc == MP_AGAIN) {
        mp_conn_attach(call->conn, call, on_abort);
        return;
    }
    send_import_answer(call, &now);
    mp_import_answer_cleanup(&now);
}

/* ---- the process: status, reload (proxy/admin/adminops.h) ---- */

/* On the main thread's loop, as SIGHUP's reload is: synchronous. */
static void reload_config(struct admin_call *call)
{
    int rc = mp_adminops_reload(call->loop);
    if (rc == MP_OK)
        send_json(call, 200, "OK", json_pack("{s:s}", "result", "applied"), NULL);
    else
        send_error(call, rc == MP_EINVAL ? MP_PERR_INVALID_CONFIG : MP_PERR_INTERNAL, NULL);
}

/* ---- routing ---- */

static bool method_is(const struct mp_http_request_head *h, const char *m)
{
    return h->method_len == strlen(m) && memcmp(h->method, m, h->method_len) == 0;
}

/* The store key of {id} in the tenant the query names (none: no tenant). */
static void user_key(struct admin_call *call)
{
    unsigned char tenant[MP_USERKEY_TENANT_LEN];
    bool has = call->t.has_tenant &&
               mp_userkey_tenant_parse(call->t.tenant, strlen(call->t.tenant), tenant) == MP_OK;
    call->user_len =
        mp_userkey_make(has ? tenant : NULL, call->t.user, call->t.user_len, call->user);
    call->op.user = call->user;
    call->op.user_len = call->user_len;
    call->op.now_ms = mp_clock_now_ms();
    call->op.actor = call->actor;
}

static void dispatch(struct admin_call *call, const struct mp_http_request_head *head,
                     const char *body, size_t len)
{
    switch (call->t.route) {
    case MP_ADMIN_USERS:
        list_users(call);
        break;
    case MP_ADMIN_USER_MEMORY:
        if (method_is(head, "GET")) {
            get_memory(call);
        } else {
            call->op.kind = MP_OP_DELETE_USER;
            submit(call, &call->op, NULL, on_deleted_user);
        }
        break;
    case MP_ADMIN_USER_EXPORT:
        get_export(call);
        break;
    case MP_ADMIN_USER_HISTORY:
        get_history(call);
        break;
    case MP_ADMIN_USER_IMPORT:
        import_body(call, head, body, len);
        break;
    case MP_ADMIN_USER_ENTITY:
        change_entity(call, head, method_is(head, "PUT"), body, len);
        break;
    case MP_ADMIN_USER_SETTINGS:
        user_settings(call, method_is(head, "PUT"), body, len);
        break;
    case MP_ADMIN_USER_REVOKE_LINKS:
        call->op.kind = MP_OP_REVOKE_LINKS;
        submit(call, &call->op, NULL, on_links_revoked);
        break;
    case MP_ADMIN_USER_SEARCH:
        search_memory(call);
        break;
    case MP_ADMIN_USER_EXPLAIN:
        if (method_is(head, "GET"))
            last_explanation(call);
        else
            explain(call, head, body, len);
        break;
    case MP_ADMIN_USER_MESSAGE:
        erase_message(call);
        break;
    case MP_ADMIN_USER_CONVERSATION:
        submit(call, NULL, conversation_work, on_messages_erased);
        break;
    case MP_ADMIN_COMPACT:
        submit(call, NULL, compact_work, on_compacted);
        break;
    case MP_ADMIN_SWEEP:
        submit(call, NULL, sweep_work, on_swept);
        break;
    case MP_ADMIN_EXTRACT:
        submit(call, NULL, extract_work, on_extract);
        break;
    case MP_ADMIN_STATUS:
        send_json(call, 200, "OK", mp_adminops_status(call->loop), NULL);
        break;
    case MP_ADMIN_RELOAD:
        reload_config(call);
        break;
    case MP_ADMIN_EXPLANATION:
        get_explanation(call);
        break;
    case MP_ADMIN_JOBS:
    case MP_ADMIN_JOB:
    case MP_ADMIN_JOB_RETRY:
        jobs_request(call);
        break;
    default:
        send_error(call, MP_PERR_NOT_FOUND, NULL);
        break;
    }
}

static enum mp_perr param_error(const char *param)
{
    if (param != NULL && strcmp(param, "user") == 0)
        return MP_PERR_INVALID_USER_ID;
    if (param != NULL && strcmp(param, "key") == 0)
        return MP_PERR_INVALID_KEY;
    if (param != NULL && strcmp(param, "q") == 0)
        return MP_PERR_INVALID_QUERY;
    return MP_PERR_INVALID_PARAM;
}

/* A target the parser refused: 404, or 400 with a message naming the
 * parameter (a static name of the parser's, never the request's bytes). */
static void send_param_error(struct admin_call *call, int rc, const char *param)
{
    enum mp_perr e = rc == MP_NOTFOUND ? MP_PERR_NOT_FOUND : param_error(param);
    char msg[128];
    if (e != MP_PERR_INVALID_PARAM || param == NULL) {
        send_error(call, e, NULL);
        return;
    }
    if (strcmp(param, "query") == 0)
        snprintf(msg, sizeof(msg),
                 "The query is not valid: a name given twice, a bad escape, "
                 "or a fragment.");
    else if (strcmp(param, "id") == 0 || strcmp(param, "seq") == 0 ||
             strcmp(param, "conversation") == 0)
        snprintf(msg, sizeof(msg), "The path segment {%s} is not valid.", param);
    else
        snprintf(msg, sizeof(msg), "The query parameter %s is not valid.", param);
    send_error_msg(call, e, msg, NULL);
}

/* Prefer: return=representation (RFC 7240) on a DELETE: the answer says
 * what was removed. */
static bool prefers_representation(const struct mp_http_request_head *head)
{
    const struct mp_http_header *h = mp_http_find_header(head, "prefer", 6);
    static const char want[] = "return=representation";
    size_t n = sizeof(want) - 1;
    for (size_t i = 0; h != NULL && i + n <= h->value_len; i++) {
        if (strncasecmp(h->value + i, want, n) == 0)
            return true;
    }
    return false;
}

/* A new call for the connection's request, or NULL (answered 500). */
static struct admin_call *call_new(struct mp_conn *c, const struct mp_http_request_head *head)
{
    struct mp_loop *loop = mp_conn_loop(c);
    struct admin_call *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        mp_respond_error(c, MP_PERR_INTERNAL, NULL, MP_CONN_KEEP);
        return NULL;
    }
    call->conn = c;
    call->loop = loop;
    call->store = loop->store;
    call->t_start = mp_access_now();
    call->actor = MP_ACTOR_ADMIN;
    mp_loop_request_id(loop, call->request_id);
    snprintf(call->method, sizeof(call->method), "%.*s",
             (int)(head->method_len < sizeof(call->method) - 1 ? head->method_len
                                                               : sizeof(call->method) - 1),
             head->method);
    return call;
}

/* Routes target[0..tlen) of an authorized call; user_only: only the
 * routes that name a user exist (the memory page's). */
static void route(struct admin_call *call, const struct mp_http_request_head *head,
                  const char *target, size_t tlen, const char *body, size_t len, bool user_only)
{
    const char *param = NULL;
    char allow[64];
    int rc = mp_adminpath_parse(target, tlen, &call->t, &param);
    if (rc == MP_OK && user_only && call->t.user_len == 0)
        rc = MP_NOTFOUND;
    if (rc != MP_OK) {
        send_param_error(call, rc, param);
        return;
    }
    call->routed = true;
    if (!mp_adminpath_method_ok(call->t.route, head->method, head->method_len)) {
        snprintf(allow, sizeof(allow), "Allow: %s\r\n", mp_adminpath_allow(call->t.route));
        send_error(call, MP_PERR_METHOD_NOT_ALLOWED, allow);
        return;
    }
    call->prefer_removed = method_is(head, "DELETE") && prefers_representation(head);
    if (call->t.user_len > 0)
        user_key(call);
    dispatch(call, head, body, len);
}

void mp_adminapi_handle(struct mp_conn *c, const struct mp_http_request_head *head,
                        const char *body, size_t len)
{
    struct mp_loop *loop = mp_conn_loop(c);
    struct admin_call *call = call_new(c, head);
    if (call == NULL)
        return;
    if (loop->cfg->admin.token[0] == '\0') {
        send_error(call, MP_PERR_NOT_FOUND, NULL);
        return;
    }
    call->enabled = true;
    if (!mp_bearer_ok(head, loop->cfg->admin.token)) {
        send_error(call, MP_PERR_ADMIN_UNAUTHORIZED, "WWW-Authenticate: Bearer\r\n");
        return;
    }
    route(call, head, head->target, head->target_len, body, len, false);
}

void mp_adminapi_serve(struct mp_conn *c, const struct mp_http_request_head *head,
                       const char *target, size_t target_len, const char *body, size_t len,
                       enum mp_actor actor, const char *headers)
{
    struct admin_call *call = call_new(c, head);
    if (call == NULL)
        return;
    call->enabled = true;
    call->page = true;
    call->actor = actor;
    call->headers = headers;
    route(call, head, target, target_len, body, len, true);
}
