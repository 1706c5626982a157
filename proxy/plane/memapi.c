/* The user memory endpoints. The JSON comes from memjson.c (shared with the
 * admin API); the user is the store key of mp_reqmem_user_key(), so tenants
 * and signed user ids apply here as on chat requests. */
#include "plane/memapi.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/access.h"
#include "clock.h"
#include "adminpath.h"
#include "memview/archivepage.h"
#include "memview/memjson.h"
#include "memview/mempage.h"
#include "memview/memsearch.h"
#include "plane/qvec.h"
#include "memory/memworker.h"
#include "metrics.h"
#include "memory/piipolicy.h"
#include "plane/memread.h"
#include "plane/reqmem.h"
#include "net/respond.h"
#include "status.h"
#include "ops/store.h"
#include "memory/userkey.h"

#define ENTITIES_PREFIX "/v1/memory/entities/"
#define SETTINGS_PATH   "/v1/memory/settings"
#define SEARCH_PATH     "/v1/memory/search"

enum call_kind {
    CALL_DELETE_USER,
    CALL_PUT_ENTITY,
    CALL_DELETE_ENTITY,
    CALL_SET_MODE,
    CALL_READ,
    CALL_READ_MODE,
    CALL_SEARCH
};

/* What a read (GET) found: replaced by each run (plane/memread.h). */
struct read_found {
    int page_rc;
    const char *bad_param; /* a cursor the page refused: its name */
    json_t *page;
    struct mp_factpage facts;
    char next[MP_ARCHIVE_CURSOR_MAX];
    struct mp_usermem *um;
    enum mp_user_mode mode;
    int64_t at;
    struct mp_memsearch_result search;
};

struct mp_memapi_call {
    enum call_kind kind;
    struct mp_conn *conn;
    struct mp_memticket *ticket;
    struct mp_op op;
    char user[MP_USERKEY_MAX]; /* the store user key */
    size_t user_len;
    char value[MP_ENTITY_VALUE_MAX + 1];
    char request_id[MP_REQUEST_ID_LEN + 1];
    double t_start;
    struct mp_admin_target target;   /* CALL_READ, CALL_SEARCH: the page asked for */
    struct mp_memsearch_query query; /* CALL_SEARCH (borrows target) */
    struct mp_loop *loop;
    struct mp_memread_call *read; /* a read in flight, or NULL */
    struct read_found found;
    struct mp_qvec_ask qask; /* CALL_SEARCH: the query's vector (plane/qvec.h) */
};

void mp_memapi_record(struct mp_conn *c, const char *id, const char *path, const char *user,
                      size_t user_len, int status, double t0)
{
    const struct mp_http_request_head *head = mp_conn_head(c);
    struct mp_access a = {.request_id = id,
                          .path = path,
                          .path_len = strlen(path),
                          .status = status,
                          .duration_s = mp_access_now() - t0,
                          .upstream_s = -1,
                          .user = user_len > 0 ? user : NULL,
                          .user_len = user_len};
    if (head != NULL) {
        a.method = head->method;
        a.method_len = head->method_len;
    }
    mp_access_record(mp_conn_loop(c), &a);
}

/* Answers call's request with error e; the log line names its user (by
 * hash), as a chat request's does. */
static void fail(struct mp_conn *c, const struct mp_memapi_call *call, enum mp_perr e)
{
    const struct mp_respond_with w = {.user = call->user, .user_len = call->user_len};
    mp_respond_error_with(c, e, &w, MP_CONN_KEEP);
}

/* 404 fact_not_found for a DELETE of a key nothing is kept of. */
static void fail_no_fact(struct mp_conn *c, const struct mp_memapi_call *call)
{
    char message[MP_ENTITY_KEY_MAX + 64];
    snprintf(message, sizeof(message), "No fact with key '%s' is kept for this user.",
             call->op.u.key);
    const struct mp_respond_with w = {
        .message = message, .user = call->user, .user_len = call->user_len};
    mp_respond_error_with(c, MP_PERR_FACT_NOT_FOUND, &w, MP_CONN_KEEP);
}

static void send_json(struct mp_conn *c, int status, const char *reason, json_t *doc,
                      const struct mp_memapi_call *call, const char *path)
{
    char headers[64];
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text == NULL) {
        fail(c, call, MP_PERR_INTERNAL);
        return;
    }
    snprintf(headers, sizeof(headers), "x-request-id: %s\r\n", call->request_id);
    mp_memapi_record(c, call->request_id, path, call->user, call->user_len, status, call->t_start);
    mp_conn_respond(c, status, reason, "application/json", headers, text, strlen(text),
                    MP_CONN_KEEP);
    free(text);
}

static void send_empty(struct mp_conn *c, int status, const char *reason,
                       const struct mp_memapi_call *call, const char *path)
{
    char headers[64];
    snprintf(headers, sizeof(headers), "x-request-id: %s\r\n", call->request_id);
    mp_memapi_record(c, call->request_id, path, call->user, call->user_len, status, call->t_start);
    mp_conn_respond(c, status, reason, NULL, headers, "", 0, MP_CONN_KEEP);
}

static const char *call_path(enum call_kind kind)
{
    return kind == CALL_DELETE_USER ? "/v1/memory"
           : kind == CALL_SET_MODE  ? SETTINGS_PATH
                                    : "/v1/memory/entities/{key}";
}

static void on_committed(struct mp_memticket *t, void *arg, int status)
{
    struct mp_memapi_call *call = arg;
    struct mp_conn *c = call->conn;
    const char *path = call_path(call->kind);
    (void)t;
    if (c == NULL) { /* the client left; the change is committed all the same */
        free(call);
        return;
    }
    if (status != MP_OK) {
        fail(c, call, MP_PERR_INTERNAL);
    } else if (call->kind == CALL_SET_MODE) {
        send_json(
            c, 200, "OK",
            mp_memjson_settings(call->user, call->user_len, call->op.u.user_mode,
                                call->op.u.user_mode != MP_USER_MODE_AUTO ? call->op.now_ms : 0,
                                MP_MEMJSON_USER),
            call, path);
    } else if (call->kind == CALL_PUT_ENTITY && call->op.result == MP_OK) {
        send_json(c, 200, "OK", mp_memjson_entity(&call->op.u.entity, MP_MEMJSON_USER), call, path);
    } else if (call->kind == CALL_PUT_ENTITY) {
        fail(c, call, call->op.result == MP_ETOOBIG ? MP_PERR_MEMORY_FULL : MP_PERR_OUTRANKED);
    } else if (call->kind == CALL_DELETE_ENTITY && call->op.result == MP_NOTFOUND) {
        fail_no_fact(c, call);
    } else {
        send_empty(c, 204, "No Content", call, path);
    }
    free(call);
}

/* The worker may be applying call->op right now, so the call cannot be
 * freed here: it is orphaned, and on_committed frees it. */
void mp_memapi_abort(struct mp_conn *c, void *arg)
{
    struct mp_memapi_call *call = arg;
    (void)c;
    call->conn = NULL;
}

static void submit(struct mp_conn *c, struct mp_memapi_call *call)
{
    struct mp_loop *loop = mp_conn_loop(c);
    if (loop->memworker == NULL ||
        mp_memworker_submit(loop->memworker, &call->op, 1, loop->base, on_committed, call,
                            &call->ticket) != MP_OK) {
        fail(c, call, MP_PERR_INTERNAL);
        free(call);
        return;
    }
    mp_conn_attach(c, call, mp_memapi_abort);
}

/* Percent-decodes the key segment and normalizes it. MP_OK or MP_EINVAL. */
static int path_key(const char *seg, size_t len, char *out)
{
    char raw[3 * MP_ENTITY_KEY_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (n >= sizeof(raw) - 1)
            return MP_EINVAL;
        if (seg[i] == '%' && i + 2 < len) {
            unsigned v = 0;
            if (sscanf(seg + i + 1, "%2x", &v) != 1)
                return MP_EINVAL;
            raw[n++] = (char)v;
            i += 2;
        } else {
            raw[n++] = seg[i];
        }
    }
    return mp_usermem_normalize_key(raw, n, out);
}

/* The "value" of a PUT body, validated into call->value. */
static int put_value(const char *body, size_t len, struct mp_memapi_call *call)
{
    size_t n = 0;
    if (mp_memjson_parse_value(body, len, call->value, &n) != MP_OK)
        return MP_EINVAL;
    call->op.u.entity.value = call->value;
    call->op.u.entity.value_len = n;
    return MP_OK;
}

/* The user's correction with its provenance, through pii_mode: MP_OK, or
 * the refusal to answer with in *perr. */
static int fill_correction(struct mp_memapi_call *call, const struct mp_config *cfg,
                           enum mp_perr *perr)
{
    int rc = mp_piipolicy_correction(cfg->governance.pii_mode, &call->op.u.entity, call->value,
                                     call->op.u.entity.value_len, sizeof(call->value),
                                     MP_TRUST_CORRECTED, call->request_id, call->op.now_ms);
    if (rc != MP_OK)
        *perr = mp_respond_correction_refusal(rc);
    return rc;
}

static void handle_entity(struct mp_conn *c, struct mp_memapi_call *call, bool put, const char *seg,
                          size_t seg_len, const char *body, size_t len)
{
    call->kind = put ? CALL_PUT_ENTITY : CALL_DELETE_ENTITY;
    call->op.kind = put ? MP_OP_UPSERT_ENTITY : MP_OP_DELETE_ENTITY;
    call->op.actor = MP_ACTOR_USER;
    char *key = put ? call->op.u.entity.key : call->op.u.key;
    if (path_key(seg, seg_len, key) != MP_OK) {
        fail(c, call, MP_PERR_INVALID_KEY);
        free(call);
        return;
    }
    enum mp_perr perr = MP_PERR_INVALID_VALUE;
    if (put && (put_value(body, len, call) != MP_OK ||
                fill_correction(call, mp_conn_loop(c)->cfg, &perr) != MP_OK)) {
        fail(c, call, perr);
        free(call);
        return;
    }
    submit(c, call);
}

static bool method_is(const struct mp_http_request_head *h, const char *m)
{
    return h->method_len == strlen(m) && memcmp(h->method, m, h->method_len) == 0;
}

/* ---- reads: GET /v1/memory and GET /v1/memory/settings ---- */

/* A 400 invalid_parameter naming the query parameter param (a static name,
 * never the request's bytes). */
static void send_bad_param(struct mp_conn *c, const struct mp_memapi_call *call, const char *param)
{
    char msg[96];
    if (param == NULL || strcmp(param, "query") == 0)
        snprintf(msg, sizeof(msg), "The query is not valid: a name given twice or a bad escape.");
    else
        snprintf(msg, sizeof(msg), "The query parameter %s is not valid.", param);
    const struct mp_respond_with w = {
        .message = msg, .user = call->user, .user_len = call->user_len};
    mp_respond_error_with(c, MP_PERR_INVALID_PARAM, &w, MP_CONN_KEEP);
}

static void found_clear(struct read_found *f)
{
    json_decref(f->page);
    mp_usermem_free(f->um);
    mp_mempage_facts_cleanup(&f->facts);
    mp_memsearch_result_cleanup(&f->search);
    memset(f, 0, sizeof(*f));
}

static void read_free(struct mp_memapi_call *call)
{
    mp_memread_cancel(call->read);
    mp_qvec_ask_cleanup(&call->qask);
    found_clear(&call->found);
    free(call);
}

/* One run of a read over store: MP_OK, or the store's error. */
static int read_run(void *arg, struct mp_store *store)
{
    struct mp_memapi_call *call = arg;
    struct read_found *f = &call->found;
    const struct mp_admin_target *t = &call->target;
    found_clear(f);
    if (call->kind == CALL_READ_MODE)
        return mp_store_user_mode(store, call->user, call->user_len, &f->mode, &f->at);
    if (call->kind == CALL_SEARCH)
        return mp_memsearch_run(store, mp_loop_terms(call->loop), call->user, call->user_len,
                                &call->query, MP_MEMJSON_USER, false, &f->search);
    f->page_rc = mp_archive_page(store, call->user, call->user_len, t->cursor, t->cursor_len,
                                 t->limit, MP_MEMJSON_USER, &f->page, f->next);
    int rc = f->page_rc;
    f->bad_param = "cursor";
    if (rc == MP_EINVAL)
        return MP_OK; /* a bad cursor: answered as such */
    if (rc == MP_OK || rc == MP_NOTFOUND)
        rc = mp_store_get_head(store, call->user, call->user_len, &f->um);
    if (rc == MP_OK || rc == MP_NOTFOUND)
        rc = mp_mempage_facts(store, call->user, call->user_len, t->entities_cursor,
                              t->entities_cursor_len, t->entities_limit, &f->facts);
    if (rc == MP_EINVAL) {
        f->page_rc = MP_EINVAL;
        f->bad_param = "entities_cursor";
        return MP_OK;
    }
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* Answers a read that is over (status: MP_OK, or why the store could not
 * answer) and frees the call. */
static void read_answer(struct mp_memapi_call *call, int status)
{
    struct mp_conn *c = call->conn;
    struct read_found *f = &call->found;
    if (call->kind == CALL_SEARCH)
        mp_metrics_search(call->loop->shard, status != MP_OK       ? MP_SEARCH_ERROR
                                             : f->search.total > 0 ? MP_SEARCH_HIT
                                                                   : MP_SEARCH_MISS);
    if (status != MP_OK) {
        fail(c, call, MP_PERR_INTERNAL);
    } else if (call->kind == CALL_SEARCH) {
        const char *by = mp_qvec_ask_retrieval(&call->qask);
        if (by != NULL) /* retrieval by meaning was asked: how it went */
            json_object_set_new(f->search.doc, "retrieval", json_string(by));
        send_json(c, 200, "OK", f->search.doc, call, SEARCH_PATH);
        f->search.doc = NULL; /* sent */
    } else if (call->kind == CALL_READ_MODE) {
        send_json(c, 200, "OK",
                  mp_memjson_settings(call->user, call->user_len, f->mode, f->at, MP_MEMJSON_USER),
                  call, SETTINGS_PATH);
    } else if (f->page_rc == MP_EINVAL) {
        send_bad_param(c, call, f->bad_param);
    } else {
        json_t *doc =
            mp_memjson_memory(call->user, call->user_len, f->um, &f->facts, MP_MEMJSON_USER);
        send_json(c, 200, "OK", mp_memjson_add_archive(doc, f->page, f->next), call, "/v1/memory");
        f->page = NULL; /* the document took it */
    }
    read_free(call);
}

static void on_read_done(void *arg, int status)
{
    struct mp_memapi_call *call = arg;
    call->read = NULL;
    read_answer(call, status);
}

/* The client left while its read waited for the database. */
static void on_read_abort(struct mp_conn *c, void *arg)
{
    (void)c;
    read_free(arg);
}

static void start_read(struct mp_conn *c, struct mp_memapi_call *call)
{
    struct mp_loop *loop = mp_conn_loop(c);
    int rc = mp_memread_start(loop, call->user, call->user_len, read_run, on_read_done, call,
                              &call->read);
    if (rc == MP_AGAIN) {
        mp_conn_attach(c, call, on_read_abort);
        return;
    }
    call->read = NULL;
    read_answer(call, rc);
}

/* The search's query vector came (or not): the read, fused with it. */
static void on_search_vector(void *arg)
{
    struct mp_memapi_call *call = arg;
    call->query.vec = call->qask.vec;
    call->query.vec_dims = call->qask.dims;
    call->query.cfg = call->loop->cfg;
    start_read(call->conn, call);
}

/* GET /v1/memory[?cursor=C][&limit=N]: the memory and a page of the
 * archive (cursor and limit as the admin API's). */
static void handle_read(struct mp_conn *c, struct mp_memapi_call *call, const char *query,
                        size_t qlen)
{
    const char *param = NULL;
    struct mp_admin_target *t = &call->target;
    t->limit = MP_ADMIN_LIMIT_DEFAULT;
    if (mp_adminpath_parse_query(query, qlen, t, &param) != MP_OK) {
        send_bad_param(c, call, param);
        free(call);
        return;
    }
    call->kind = CALL_READ;
    start_read(c, call);
}

/* GET /v1/memory/search?q=Q[&limit=N][&types=T][&cursor=C]: the facts and
 * archived messages that answer Q, best first (memview/memsearch.h). */
static void handle_search(struct mp_conn *c, struct mp_memapi_call *call, const char *query,
                          size_t qlen)
{
    const char *param = NULL;
    enum mp_perr perr = MP_PERR_INVALID_PARAM;
    struct mp_admin_target *t = &call->target;
    t->limit = MP_ADMIN_LIMIT_DEFAULT;
    t->types = MP_ADMIN_TYPES_ALL;
    int rc = mp_adminpath_parse_query(query, qlen, t, &param);
    if (rc != MP_OK && param != NULL && strcmp(param, "q") == 0)
        perr = MP_PERR_INVALID_QUERY;
    if (rc == MP_OK)
        rc = mp_memsearch_from_target(t, &call->query, &perr);
    if (rc != MP_OK) {
        mp_metrics_search(call->loop->shard, MP_SEARCH_INVALID);
        fail(c, call, perr);
        free(call);
        return;
    }
    call->kind = CALL_SEARCH;
    if (mp_qvec_ask(&call->qask, call->loop, call->query.q, call->query.q_len, on_search_vector,
                    call) == MP_AGAIN) {
        mp_conn_attach(c, call, on_read_abort);
        return;
    }
    start_read(c, call);
}

/* GET /v1/memory/settings: the user's setting; PUT sets it. */
static void handle_settings(struct mp_conn *c, struct mp_memapi_call *call, bool put,
                            const char *body, size_t len)
{
    if (!put) {
        call->kind = CALL_READ_MODE;
        start_read(c, call);
        return;
    }
    if (mp_memjson_parse_mode(body, len, &call->op.u.user_mode) != MP_OK) {
        fail(c, call, MP_PERR_INVALID_MODE);
        free(call);
        return;
    }
    call->kind = CALL_SET_MODE;
    call->op.kind = MP_OP_SET_USER_MODE;
    call->op.actor = MP_ACTOR_USER;
    submit(c, call);
}

void mp_memapi_handle(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                      size_t len)
{
    struct mp_loop *loop = mp_conn_loop(c);
    const char *q = memchr(head->target, '?', head->target_len);
    size_t plen = q != NULL ? (size_t)(q - head->target) : head->target_len;
    struct mp_memapi_call *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        mp_respond_error(c, MP_PERR_INTERNAL, NULL, MP_CONN_KEEP);
        return;
    }
    call->conn = c;
    call->loop = loop;
    call->t_start = mp_access_now();
    mp_loop_request_id(loop, call->request_id);
    enum mp_perr perr = MP_PERR_INTERNAL;
    int rc = mp_reqmem_user_key(loop, head, body, len, call->user, &call->user_len, &perr);
    if (rc != MP_OK) {
        free(call);
        mp_respond_error(c, rc == MP_NOTFOUND ? MP_PERR_MISSING_USER_ID : perr, NULL, MP_CONN_KEEP);
        return;
    }
    call->op.user = call->user;
    call->op.user_len = call->user_len;
    call->op.now_ms = mp_clock_now_ms();
    size_t pre = strlen(ENTITIES_PREFIX);
    bool whole = plen == 10; /* "/v1/memory" */
    bool settings = plen == strlen(SETTINGS_PATH) && memcmp(head->target, SETTINGS_PATH, plen) == 0;
    bool search = plen == strlen(SEARCH_PATH) && memcmp(head->target, SEARCH_PATH, plen) == 0;
    bool entity = plen > pre && memcmp(head->target, ENTITIES_PREFIX, pre) == 0 &&
                  memchr(head->target + pre, '/', plen - pre) == NULL;
    if (whole && method_is(head, "GET")) {
        handle_read(c, call, q != NULL ? q + 1 : "", q != NULL ? head->target_len - plen - 1 : 0);
    } else if (whole && method_is(head, "DELETE")) {
        call->kind = CALL_DELETE_USER;
        call->op.kind = MP_OP_DELETE_USER;
        submit(c, call);
    } else if (entity && (method_is(head, "PUT") || method_is(head, "DELETE"))) {
        handle_entity(c, call, method_is(head, "PUT"), head->target + pre, plen - pre, body, len);
    } else if (settings && (method_is(head, "GET") || method_is(head, "PUT"))) {
        handle_settings(c, call, method_is(head, "PUT"), body, len);
    } else if (search && method_is(head, "GET")) {
        handle_search(c, call, q != NULL ? q + 1 : "", q != NULL ? head->target_len - plen - 1 : 0);
    } else {
        const char *allow = whole      ? "Allow: GET, DELETE\r\n"
                            : entity   ? "Allow: PUT, DELETE\r\n"
                            : settings ? "Allow: GET, PUT\r\n"
                            : search   ? "Allow: GET\r\n"
                                       : NULL;
        const struct mp_respond_with w = {
            .headers = allow, .user = call->user, .user_len = call->user_len};
        mp_respond_error_with(c, allow != NULL ? MP_PERR_METHOD_NOT_ALLOWED : MP_PERR_NOT_FOUND, &w,
                              MP_CONN_KEEP);
        free(call);
    }
}
