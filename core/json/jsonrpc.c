/* JSON-RPC 2.0 messages of the MCP endpoint (jsonrpc.h). Every member is
 * found with json_scan.h's validating walk, so a body that is no JSON is
 * refused before anything of it is used; nothing here allocates. */
#include "json/jsonrpc.h"

#include <string.h>

#include "json/json_scan.h"
#include "status.h"

static bool is_null(const char *b, size_t s, size_t e)
{
    return mp_json_span_is(b, s, e, "null");
}

/* A member that is absent or null is MP_NOTFOUND. */
static int member(const char *b, size_t start, size_t end, const char *name, size_t *vs, size_t *ve)
{
    size_t s, e;
    int rc = mp_json_member_in(b, start, end, name, &s, &e);
    if (rc == MP_EINVAL)
        return MP_NOTFOUND; /* not an object: no members */
    if (rc != MP_OK || is_null(b, s, e))
        return MP_NOTFOUND;
    *vs = s;
    *ve = e;
    return MP_OK;
}

/* An id: a string, or an integer (digits after an optional '-'). */
static bool id_ok(const char *b, size_t s, size_t e)
{
    if (e - s > MP_JSONRPC_ID_MAX || e == s)
        return false;
    if (b[s] == '"')
        return true;
    size_t i = s + (b[s] == '-');
    if (i == e)
        return false;
    for (; i < e; i++) {
        if (b[i] < '0' || b[i] > '9')
            return false;
    }
    return true;
}

static int read_method(const char *b, size_t len, struct mp_jsonrpc_msg *m, bool *has)
{
    size_t n = 0;
    int rc = mp_jsonrpc_string(b, 0, len, "method", m->method, sizeof(m->method), &n);
    *has = rc == MP_OK || rc == MP_ETOOBIG;
    if (rc == MP_ETOOBIG) {
        m->method[0] = '\0'; /* no method we know */
        n = 0;
        rc = MP_OK;
    }
    m->method_len = n;
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* What the body is when it is no JSON-RPC object: JSON at all or not. */
static int not_an_object(const char *body, size_t len)
{
    size_t vs, ve;
    bool json = mp_json_scan_value(body, len, 0, &vs, &ve) == MP_OK &&
                mp_json_skip_ws(body, len, ve) == len;
    return json ? MP_JSONRPC_INVALID_REQUEST : MP_JSONRPC_PARSE_ERROR;
}

/* The message's kind and params, once its version and method are read. */
static int read_kind(const char *body, size_t len, bool has_id, bool has_method,
                     struct mp_jsonrpc_msg *m)
{
    size_t vs, ve;
    if (!has_method) {
        bool answer = member(body, 0, len, "result", &vs, &ve) == MP_OK ||
                      member(body, 0, len, "error", &vs, &ve) == MP_OK;
        m->kind = MP_JSONRPC_RESPONSE;
        return answer && has_id ? MP_OK : MP_EINVAL;
    }
    m->kind = has_id ? MP_JSONRPC_REQUEST : MP_JSONRPC_NOTIFICATION;
    int rc = member(body, 0, len, "params", &vs, &ve);
    if (rc == MP_OK && body[vs] != '{')
        return MP_EINVAL;
    m->has_params = rc == MP_OK;
    m->params_start = m->has_params ? vs : 0;
    m->params_end = m->has_params ? ve : 0;
    return MP_OK;
}

int mp_jsonrpc_parse(const char *body, size_t len, struct mp_jsonrpc_msg *out, int *code)
{
    struct mp_jsonrpc_msg m;
    size_t vs, ve, is, ie;
    bool has_method = false;
    memset(&m, 0, sizeof(m));
    int rc = mp_json_find_member(body, len, "jsonrpc", 7, &vs, &ve);
    if (rc == MP_EINVAL) {
        *code = not_an_object(body, len);
        goto fail;
    }
    *code = MP_JSONRPC_INVALID_REQUEST;
    bool has_id = member(body, 0, len, "id", &is, &ie) == MP_OK;
    if (has_id && id_ok(body, is, ie)) {
        m.id_start = is;
        m.id_end = ie;
    }
    if (rc != MP_OK || !mp_json_span_is(body, vs, ve, "\"2.0\"") ||
        read_method(body, len, &m, &has_method) != MP_OK)
        goto fail;
    if (has_id && m.id_end == m.id_start)
        goto fail; /* an id we cannot echo: an object, a fraction, too long */
    if (read_kind(body, len, has_id, has_method, &m) != MP_OK)
        goto fail;
    *out = m;
    return MP_OK;
fail:
    out->id_start = m.id_start;
    out->id_end = m.id_end;
    return MP_EINVAL;
}

int mp_jsonrpc_string(const char *body, size_t start, size_t end, const char *name, char *out,
                      size_t cap, size_t *out_len)
{
    size_t vs, ve, n = 0;
    int rc = member(body, start, end, name, &vs, &ve);
    if (rc != MP_OK)
        return rc;
    if (body[vs] != '"' || cap == 0)
        return MP_EINVAL;
    rc = mp_json_string_decode(body, vs, ve, out, cap - 1, &n);
    if (rc != MP_OK)
        return rc;
    if (memchr(out, '\0', n) != NULL)
        return MP_EINVAL;
    out[n] = '\0';
    *out_len = n;
    return MP_OK;
}

int mp_jsonrpc_uint(const char *body, size_t start, size_t end, const char *name, uint64_t max,
                    uint64_t *v)
{
    size_t vs, ve;
    uint64_t x = 0;
    int rc = member(body, start, end, name, &vs, &ve);
    if (rc != MP_OK)
        return rc;
    if (ve - vs > 19)
        return MP_EINVAL;
    for (size_t i = vs; i < ve; i++) {
        if (body[i] < '0' || body[i] > '9')
            return MP_EINVAL;
        x = x * 10 + (uint64_t)(body[i] - '0');
    }
    if (x > max)
        return MP_EINVAL;
    *v = x;
    return MP_OK;
}

int mp_jsonrpc_object(const char *body, size_t start, size_t end, const char *name, size_t *vs,
                      size_t *ve)
{
    size_t s, e;
    int rc = member(body, start, end, name, &s, &e);
    if (rc != MP_OK)
        return rc;
    if (body[s] != '{')
        return MP_EINVAL;
    *vs = s;
    *ve = e;
    return MP_OK;
}

/* Which of names[0..n) the string literal body[s..e) is; -1: none. */
static int name_index(const char *body, size_t s, size_t e, const char *const *names, size_t n)
{
    char buf[64];
    size_t len = 0;
    if (body[s] != '"' || mp_json_string_decode(body, s, e, buf, sizeof(buf), &len) != MP_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], buf, len) == 0)
            return (int)i;
    }
    return -1;
}

int mp_jsonrpc_names(const char *body, size_t start, size_t end, const char *name,
                     const char *const *names, size_t n, unsigned *bits)
{
    size_t vs, ve, cursor = 0, es, ee;
    unsigned got = 0;
    int rc = member(body, start, end, name, &vs, &ve);
    if (rc != MP_OK)
        return rc;
    if (body[vs] != '[' || n > 32)
        return MP_EINVAL;
    while ((rc = mp_json_next(body, vs, ve, &cursor, NULL, NULL, &es, &ee)) == MP_OK) {
        int i = name_index(body, es, ee, names, n);
        if (i < 0 || (got & (1u << i)) != 0)
            return MP_EINVAL;
        got |= 1u << i;
    }
    if (rc != MP_NOTFOUND)
        return MP_EINVAL;
    *bits = got;
    return MP_OK;
}
