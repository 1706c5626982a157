/* The table of proxy-made errors and the code that sends them. */
#include "net/respond.h"

#include <stdio.h>
#include <string.h>

#include "net/access.h"
#include "wire/errbody.h"
#include "metrics.h"
#include "status.h"
#include "wire/route.h"

static const struct mp_perr_info table[MP_PERR_COUNT] = {
    [MP_PERR_BAD_REQUEST] = {400, "Bad Request", "invalid_request_error", "bad_request",
                             "The request is not valid HTTP/1.1.", MP_CLERR_BAD_REQUEST},
    [MP_PERR_INVALID_USER_ID] = {400, "Bad Request", "invalid_request_error", "invalid_user_id",
                                 "The user id must be 1 to 256 bytes of printable UTF-8 and not "
                                 "an unexpanded template.",
                                 MP_CLERR_INVALID_USER_ID},
    [MP_PERR_INVALID_MEMORY_HEADER] = {400, "Bad Request", "invalid_request_error",
                                       "invalid_memory_header",
                                       "X-Memory must be one of auto, read, write, off.",
                                       MP_CLERR_INVALID_MEMORY_HEADER},
    [MP_PERR_NOT_FOUND] = {404, "Not Found", "invalid_request_error", "not_found",
                           "No such route on this memproxy listener.", MP_CLERR_NOT_FOUND},
    [MP_PERR_CLIENT_TIMEOUT] = {408, "Request Timeout", "invalid_request_error", "client_timeout",
                                "The request was not received in time.", MP_CLERR_CLIENT_TIMEOUT},
    [MP_PERR_BODY_TOO_LARGE] = {413, "Payload Too Large", "invalid_request_error", "body_too_large",
                                "The request body is larger than this proxy accepts.",
                                MP_CLERR_BODY_TOO_LARGE},
    [MP_PERR_HEADERS_TOO_LARGE] = {431, "Request Header Fields Too Large", "invalid_request_error",
                                   "headers_too_large",
                                   "The request headers are larger than this proxy accepts.",
                                   MP_CLERR_HEADERS_TOO_LARGE},
    [MP_PERR_OVERLOADED] = {503, "Service Unavailable", "server_error", "overloaded",
                            "Too many connections; retry later.", MP_CLERR_OVERLOADED},
    [MP_PERR_UPSTREAM_UNREACHABLE] = {502, "Bad Gateway", "upstream_error", "upstream_unreachable",
                                      "The upstream API could not be reached.", -1},
    [MP_PERR_UPSTREAM_TIMEOUT] = {504, "Gateway Timeout", "upstream_error", "upstream_timeout",
                                  "The upstream API did not answer in time.", -1},
    [MP_PERR_UPSTREAM_PROTOCOL] = {502, "Bad Gateway", "upstream_error", "upstream_reset",
                                   "The upstream API broke the response.", -1},
    [MP_PERR_INTERNAL] = {500, "Internal Server Error", "server_error", "internal_error",
                          "memproxy failed to handle the request.", -1},
    [MP_PERR_MISSING_USER_ID] = {400, "Bad Request", "invalid_request_error", "missing_user_id",
                                 "This route needs a user id (the user header, or the body's "
                                 "\"user\").",
                                 MP_CLERR_BAD_REQUEST},
    [MP_PERR_METHOD_NOT_ALLOWED] = {405, "Method Not Allowed", "invalid_request_error",
                                    "method_not_allowed",
                                    "This method is not allowed on this route.",
                                    MP_CLERR_BAD_REQUEST},
    [MP_PERR_INVALID_KEY] = {400, "Bad Request", "invalid_request_error", "invalid_key",
                             "The entity key must hold 1 to 64 letters or digits once "
                             "normalized.",
                             MP_CLERR_BAD_REQUEST},
    [MP_PERR_INVALID_MODE] = {400, "Bad Request", "invalid_request_error", "invalid_mode",
                              "The body must be {\"mode\": \"auto\", \"read\" or \"off\"}.",
                              MP_CLERR_BAD_REQUEST},
    [MP_PERR_INVALID_VALUE] = {400, "Bad Request", "invalid_request_error", "invalid_value",
                               "The body must be {\"value\": a non-empty string of at most "
                               "512 bytes}.",
                               MP_CLERR_BAD_REQUEST},
    [MP_PERR_OUTRANKED] = {409, "Conflict", "invalid_request_error", "outranked",
                           "A value set by an admin outranks this correction.", -1},
    [MP_PERR_ADMIN_UNAUTHORIZED] = {401, "Unauthorized", "authentication_error",
                                    "invalid_admin_token",
                                    "The admin API needs Authorization: Bearer <the admin token>.",
                                    MP_CLERR_UNAUTHORIZED},
    [MP_PERR_INVALID_SIGNATURE] = {401, "Unauthorized", "authentication_error",
                                   "invalid_user_signature",
                                   "The user id needs a valid X-User-Signature (hex "
                                   "HMAC-SHA256 of the user id).",
                                   MP_CLERR_UNAUTHORIZED},
    [MP_PERR_MISSING_API_KEY] = {401, "Unauthorized", "authentication_error", "missing_api_key",
                                 "Memory is kept per API key here: send Authorization: Bearer "
                                 "<your API key>.",
                                 MP_CLERR_UNAUTHORIZED},
    [MP_PERR_PRECONDITION_FAILED] = {412, "Precondition Failed", "invalid_request_error",
                                     "precondition_failed",
                                     "The item changed since the revision in If-Match.",
                                     MP_CLERR_PRECONDITION},
    [MP_PERR_PRECONDITION_REQUIRED] = {428, "Precondition Required", "invalid_request_error",
                                       "precondition_required",
                                       "Changing an existing item needs If-Match with its "
                                       "revision.",
                                       MP_CLERR_PRECONDITION},
    [MP_PERR_MEMORY_FULL] = {409, "Conflict", "invalid_request_error", "memory_full",
                             "The user already has the maximum number of facts.", -1},
    [MP_PERR_INVALID_QUERY] = {400, "Bad Request", "invalid_request_error", "invalid_query",
                               "The search query q must be 1 to 1024 bytes.", MP_CLERR_BAD_REQUEST},
    [MP_PERR_INVALID_CHAT_REQUEST] = {400, "Bad Request", "invalid_request_error",
                                      "invalid_chat_request",
                                      "The body is not a chat request of the API named by api.",
                                      MP_CLERR_BAD_REQUEST},
    [MP_PERR_CONFLICTING_HEADERS] = {400, "Bad Request", "invalid_request_error",
                                     "conflicting_headers",
                                     "The user id, X-User-Signature or API key header was sent "
                                     "more than once with different values.",
                                     MP_CLERR_CONFLICTING_HEADERS},
    [MP_PERR_INVALID_PARAM] = {400, "Bad Request", "invalid_request_error", "invalid_parameter",
                               "A path segment or query parameter is not valid.",
                               MP_CLERR_BAD_REQUEST},
    [MP_PERR_PII_REFUSED] = {400, "Bad Request", "invalid_request_error", "pii_not_stored",
                             "This deployment does not store personal data (pii_mode = drop), "
                             "and the value holds some.",
                             MP_CLERR_BAD_REQUEST},
    [MP_PERR_INVALID_IMPORT] = {400, "Bad Request", "invalid_request_error", "invalid_import_line",
                                "A line of the import is not a valid item; nothing was "
                                "imported.",
                                MP_CLERR_BAD_REQUEST},
    [MP_PERR_UNSUPPORTED_MEDIA_TYPE] = {415, "Unsupported Media Type", "invalid_request_error",
                                        "unsupported_media_type",
                                        "The body must be JSON Lines (Content-Type: "
                                        "application/x-ndjson).",
                                        MP_CLERR_BAD_REQUEST},
    [MP_PERR_ARCHIVE_DISABLED] = {409, "Conflict", "invalid_request_error", "archive_disabled",
                                  "[memory] archive is off here: messages cannot be imported; "
                                  "nothing was imported.",
                                  -1},
    [MP_PERR_INVALID_CONFIG] = {422, "Unprocessable Content", "invalid_request_error",
                                "invalid_config",
                                "The configuration is not valid; the running configuration is "
                                "kept (the errors are in memproxy's log).",
                                -1},
    [MP_PERR_STORAGE_FULL] = {507, "Insufficient Storage", "server_error", "storage_full",
                              "The memory store is full; nothing of this request was stored "
                              "(GET /readyz says degraded: storage_full until a write succeeds).",
                              -1},
    [MP_PERR_INVALID_PAGE_LINK] = {403, "Forbidden", "permission_error", "invalid_page_link",
                                   "This memory page link is not valid: open the link your app "
                                   "gave you, unchanged.",
                                   MP_CLERR_PAGE_LINK},
    [MP_PERR_EXPIRED_PAGE_LINK] = {403, "Forbidden", "permission_error", "expired_page_link",
                                   "This memory page link has expired: ask your app for a new "
                                   "one.",
                                   MP_CLERR_PAGE_LINK},
    [MP_PERR_JOB_NOT_FAILED] = {409, "Conflict", "invalid_request_error", "job_not_failed",
                                "Only a failed memory job can be run again.", -1},
    [MP_PERR_JOB_RUNNING] = {409, "Conflict", "invalid_request_error", "job_running",
                             "This memory job is running: drop it once its call is over.", -1},
};

enum mp_perr mp_respond_correction_refusal(int rc)
{
    if (rc == MP_NOTFOUND)
        return MP_PERR_PII_REFUSED;
    return rc == MP_ETOOBIG ? MP_PERR_INVALID_VALUE : MP_PERR_INTERNAL;
}

const struct mp_perr_info *mp_respond_info(enum mp_perr e)
{
    return &table[e];
}

/* What the connection knows of a request it refuses before a handler ran. */
static void fill_from_head(struct mp_conn *c, struct mp_access *acc)
{
    const struct mp_http_request_head *head = mp_conn_head(c);
    acc->upstream_s = -1;
    if (head == NULL)
        return;
    acc->method = head->method;
    acc->method_len = head->method_len;
    if (head->target_len < 4 || memcmp(head->target, "/v1/", 4) != 0)
        return; /* an unrouted path may carry anything: never log it */
    acc->path = head->target;
    acc->path_len = head->target_len;
    const char *q = memchr(head->target, '?', head->target_len);
    if (q != NULL)
        acc->path_len = (size_t)(q - head->target);
    /* an entity key is the user's data: log the route, not the key */
    static const char entities[] = "/v1/memory/entities/";
    if (acc->path_len >= sizeof(entities) - 1 &&
        memcmp(acc->path, entities, sizeof(entities) - 1) == 0) {
        acc->path = "/v1/memory/entities/{key}";
        acc->path_len = strlen(acc->path);
    }
}

int mp_respond_error(struct mp_conn *c, enum mp_perr e, struct mp_access *acc, enum mp_conn_end end)
{
    return mp_respond_error_msg(c, e, NULL, acc, end);
}

int mp_respond_error_msg(struct mp_conn *c, enum mp_perr e, const char *message,
                         struct mp_access *acc, enum mp_conn_end end)
{
    const struct mp_perr_info *info = &table[e];
    const char *text = message != NULL ? message : info->message;
    char body[512];
    char headers[128];
    char idbuf[MP_REQUEST_ID_LEN + 1];
    struct mp_access local = {0};
    struct mp_loop *loop = mp_conn_loop(c);

    if (acc == NULL) {
        fill_from_head(c, &local);
        acc = &local;
    }
    if (acc->request_id == NULL) {
        mp_loop_request_id(loop, idbuf);
        acc->request_id = idbuf;
    }
    acc->status = info->status;
    acc->error = info->code;
    const struct mp_http_request_head *head = mp_conn_head(c);
    size_t n = head != NULL && mp_route_anthropic_target(head->target, head->target_len)
                   ? mp_errbody_format_anthropic(body, sizeof(body), text, info->status, info->code)
                   : mp_errbody_format(body, sizeof(body), text, info->type, info->code);
    acc->bytes_out = n;
    snprintf(headers, sizeof(headers), "x-request-id: %s\r\n%s", acc->request_id,
             e == MP_PERR_OVERLOADED ? "Retry-After: 1\r\n" : "");
    if (mp_conn_is_data_plane(c)) {
        if (info->client_kind >= 0)
            mp_metrics_client_error(loop->shard, (enum mp_client_error_kind)info->client_kind);
        mp_access_record(loop, acc);
    }
    mp_conn_respond(c, info->status, info->reason, "application/json", headers, body, n, end);
    return info->status;
}

size_t mp_respond_sse_error(char *out, size_t cap, enum mp_perr e, bool anthropic)
{
    static const char anthropic_head[] = "event: error\ndata: ";
    const struct mp_perr_info *info = &table[e];
    const char *head = anthropic ? anthropic_head : "data: ";
    size_t h = strlen(head), n;
    if (cap < h + 16)
        return 0;
    memcpy(out, head, h);
    n = anthropic ? mp_errbody_format_anthropic(out + h, cap - h - 2, info->message, info->status,
                                                info->code)
                  : mp_errbody_format(out + h, cap - h - 2, info->message, info->type, info->code);
    if (n == 0)
        return 0;
    memcpy(out + h + n, "\n\n", 2);
    return h + n + 2;
}

void mp_respond_refusal(struct mp_conn *c, enum mp_conn_refusal why)
{
    static const enum mp_perr as_error[] = {
        [MP_CONN_REFUSE_BAD_REQUEST] = MP_PERR_BAD_REQUEST,
        [MP_CONN_REFUSE_CLIENT_TIMEOUT] = MP_PERR_CLIENT_TIMEOUT,
        [MP_CONN_REFUSE_BODY_TOO_LARGE] = MP_PERR_BODY_TOO_LARGE,
        [MP_CONN_REFUSE_HEADERS_TOO_LARGE] = MP_PERR_HEADERS_TOO_LARGE,
        [MP_CONN_REFUSE_OVERLOADED] = MP_PERR_OVERLOADED,
        [MP_CONN_REFUSE_INTERNAL] = MP_PERR_INTERNAL,
    };
    mp_respond_error(c, as_error[why], NULL, MP_CONN_CLOSE);
}
