/* The JSON-RPC 2.0 reader of the MCP endpoint (docs/mcp.md): one message
 * of a request body, checked and located by byte offsets (json_scan.h),
 * and the typed members its params carry. It builds no tree and copies
 * only what the caller asks into the caller's buffers; answering is the
 * proxy's. Batches (a JSON array) are not read: MCP dropped them. */
#ifndef MP_CORE_JSONRPC_H
#define MP_CORE_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_JSONRPC_METHOD_MAX 64  /* bytes of a method name we know; longer ones are unknown */
#define MP_JSONRPC_ID_MAX     256 /* bytes of an id's JSON text echoed back */

/* The error codes of JSON-RPC 2.0 and of MCP. */
#define MP_JSONRPC_PARSE_ERROR      (-32700)
#define MP_JSONRPC_INVALID_REQUEST  (-32600)
#define MP_JSONRPC_METHOD_NOT_FOUND (-32601)
#define MP_JSONRPC_INVALID_PARAMS   (-32602)
#define MP_JSONRPC_INTERNAL_ERROR   (-32603)
#define MP_JSONRPC_HEADER_MISMATCH  (-32020) /* MCP 2026-07-28 */
#define MP_JSONRPC_UNSUPPORTED_VER  (-32022) /* MCP 2026-07-28 */
#define MP_JSONRPC_UNAUTHORIZED     (-32001) /* memproxy: no or a wrong credential, no user */

enum mp_jsonrpc_kind {
    MP_JSONRPC_REQUEST,      /* method and id */
    MP_JSONRPC_NOTIFICATION, /* method, no id */
    MP_JSONRPC_RESPONSE      /* result or error, no method (a client's answer) */
};

/* One message. Spans are offsets into the body it was read from. */
struct mp_jsonrpc_msg {
    enum mp_jsonrpc_kind kind;
    size_t id_start, id_end; /* the id's JSON text (a string or an integer); REQUEST only */
    char method[MP_JSONRPC_METHOD_MAX + 1]; /* decoded, NUL-terminated; "" when longer or absent */
    size_t method_len;
    bool has_params;                 /* params is an object */
    size_t params_start, params_end; /* its span */
};

/* Reads body[0..len) as one JSON-RPC 2.0 message: an object with
 * "jsonrpc": "2.0"; a request has a string "method" and an "id" that is a
 * string or an integer (at most MP_JSONRPC_ID_MAX bytes of JSON text); a
 * notification has a method and no id; a response has an id and "result"
 * or "error" and no method. "params", when present, must be an object
 * (MCP's params are objects; null counts as absent). A method longer than
 * MP_JSONRPC_METHOD_MAX bytes reads as "" (no method we know), not as an
 * error. Returns MP_OK with *out; MP_EINVAL with *code
 * MP_JSONRPC_PARSE_ERROR (not JSON) or MP_JSONRPC_INVALID_REQUEST (JSON,
 * but not such a message) and, when the id could be read, its span in
 * *out (id_end > id_start), else id_start == id_end. */
int mp_jsonrpc_parse(const char *body, size_t len, struct mp_jsonrpc_msg *out, int *code);

/* The member name of the object spanning body[start..end) as a string
 * decoded into out[0..cap) (NUL-terminated; cap includes it): MP_OK with
 * *out_len; MP_NOTFOUND when absent or null; MP_EINVAL when not a string,
 * or it holds a NUL; MP_ETOOBIG when it does not fit. A span that is no
 * object reads as having no members. */
int mp_jsonrpc_string(const char *body, size_t start, size_t end, const char *name, char *out,
                      size_t cap, size_t *out_len);

/* The member name as a non-negative integer (digits only: no sign,
 * fraction or exponent) of at most max: MP_OK with *v; MP_NOTFOUND when
 * absent or null; MP_EINVAL otherwise. */
int mp_jsonrpc_uint(const char *body, size_t start, size_t end, const char *name, uint64_t max,
                    uint64_t *v);

/* The member name's span when it is an object: MP_OK with *vs, *ve;
 * MP_NOTFOUND when absent or null; MP_EINVAL when another kind. */
int mp_jsonrpc_object(const char *body, size_t start, size_t end, const char *name, size_t *vs,
                      size_t *ve);

/* The member name as an array of strings, each one of names[0..n) (n <=
 * 32) and none twice, as a bit set (bit i: names[i]) in *bits: MP_OK;
 * MP_NOTFOUND when absent or null; MP_EINVAL otherwise. */
int mp_jsonrpc_names(const char *body, size_t start, size_t end, const char *name,
                     const char *const *names, size_t n, unsigned *bits);

#endif
