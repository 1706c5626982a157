/* The errors memproxy makes itself, in one table: HTTP status, OpenAI error
 * type and code, message, and the metric each one counts. Every such
 * response has OpenAI's error shape and an x-request-id header. */
#ifndef MP_PROXY_RESPOND_H
#define MP_PROXY_RESPOND_H

#include <stddef.h>

#include "net/conn.h"

enum mp_perr {
    MP_PERR_BAD_REQUEST,
    MP_PERR_INVALID_USER_ID,
    MP_PERR_INVALID_MEMORY_HEADER,
    MP_PERR_NOT_FOUND,
    MP_PERR_CLIENT_TIMEOUT,
    MP_PERR_BODY_TOO_LARGE,
    MP_PERR_HEADERS_TOO_LARGE,
    MP_PERR_OVERLOADED,
    MP_PERR_UPSTREAM_UNREACHABLE,
    MP_PERR_UPSTREAM_TIMEOUT,
    MP_PERR_UPSTREAM_PROTOCOL,
    MP_PERR_INTERNAL,
    MP_PERR_MISSING_USER_ID,
    MP_PERR_METHOD_NOT_ALLOWED,
    MP_PERR_INVALID_KEY,
    MP_PERR_INVALID_VALUE,
    MP_PERR_OUTRANKED,
    MP_PERR_ADMIN_UNAUTHORIZED,
    MP_PERR_INVALID_SIGNATURE,
    MP_PERR_MISSING_API_KEY,
    MP_PERR_PRECONDITION_FAILED,
    MP_PERR_PRECONDITION_REQUIRED,
    MP_PERR_MEMORY_FULL,
    MP_PERR_INVALID_PARAM,
    MP_PERR_PII_REFUSED,
    MP_PERR_INVALID_IMPORT,
    MP_PERR_UNSUPPORTED_MEDIA_TYPE,
    MP_PERR_ARCHIVE_DISABLED,
    MP_PERR_INVALID_MODE,
    MP_PERR_INVALID_CONFIG,
    MP_PERR_STORAGE_FULL,
    MP_PERR_INVALID_QUERY,
    MP_PERR_INVALID_CHAT_REQUEST,
    MP_PERR_CONFLICTING_HEADERS,
    MP_PERR_INVALID_PAGE_LINK,
    MP_PERR_EXPIRED_PAGE_LINK,
    MP_PERR_JOB_NOT_FAILED,
    MP_PERR_JOB_RUNNING,
    MP_PERR_COUNT
};

struct mp_perr_info {
    int status;
    const char *reason;  /* HTTP reason phrase */
    const char *type;    /* OpenAI error type */
    const char *code;    /* OpenAI error code */
    const char *message; /* fixed text: never echoes input */
    int client_kind;     /* enum mp_client_error_kind counted, or -1 */
};

/* The refusal for a value a person set that mp_piipolicy_correction()
 * turned down with rc: pii_not_stored (MP_NOTFOUND), invalid_value
 * (MP_ETOOBIG), else internal. */
enum mp_perr mp_respond_correction_refusal(int rc);

/* The table row for e (e < MP_PERR_COUNT). */
const struct mp_perr_info *mp_respond_info(enum mp_perr e);

/* Answers the connection's current request with error e and finishes it
 * (end as in mp_conn_finish; MP_CONN_CLOSE adds "Connection: close"), in
 * Anthropic's error shape when the request's target is on Anthropic's
 * routes (mp_route_anthropic_target), else in OpenAI's.
 * On the data plane the response is recorded (log line, metrics) from acc
 * (borrowed; NULL = what the connection knows), with status and error set
 * here. x-request-id is acc->request_id, or a new id. Returns the status. */
struct mp_access;
int mp_respond_error(struct mp_conn *c, enum mp_perr e, struct mp_access *acc,
                     enum mp_conn_end end);
/* As mp_respond_error() with message (borrowed; NULL: the table's) in place
 * of the table's message, as a 400 that names its parameter says it. */
int mp_respond_error_msg(struct mp_conn *c, enum mp_perr e, const char *message,
                         struct mp_access *acc, enum mp_conn_end end);

/* The connection's refusals as memproxy's errors (mp_conn_kind.refuse of
 * both planes): mp_respond_error() with the matching error, no access
 * record beyond what the connection knows, and MP_CONN_CLOSE. */
void mp_respond_refusal(struct mp_conn *c, enum mp_conn_refusal why);

/* Formats the SSE event that ends a stream the upstream broke after the
 * response head went out: "data: {error...}\n\n", or on Anthropic's routes
 * "event: error\ndata: {"type":"error",...}\n\n". Returns its length, or 0
 * when cap is too small. */
size_t mp_respond_sse_error(char *out, size_t cap, enum mp_perr e, bool anthropic);

#endif
