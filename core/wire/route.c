/* Routing decisions for the data plane. */
#include "wire/route.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http/http_parse.h"
#include "json/json_scan.h"
#include "status.h"
#include "wire/wire.h"

/* A segment of only '.' (literal or %2e) characters, one or two of them. */
static bool segment_is_dots(const char *seg, size_t len)
{
    size_t dots = 0;
    size_t i = 0;
    while (i < len) {
        if (seg[i] == '.') {
            i++;
        } else if (i + 2 < len && seg[i] == '%' && seg[i + 1] == '2' &&
                   (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
            i += 3;
        } else {
            return false;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

/* An encoded slash or backslash would let an upstream that decodes it see
 * this check did not. */
static bool has_encoded_separator(const char *path, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (path[i] != '%')
            continue;
        char a = path[i + 1], b = (char)(path[i + 2] | 0x20);
        if ((a == '2' && b == 'f') || (a == '5' && b == 'c'))
            return true;
    }
    return false;
}

static bool has_dot_segment(const char *path, size_t len)
{
    size_t start = 0;
    if (has_encoded_separator(path, len) || memchr(path, '\\', len) != NULL)
        return true;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (segment_is_dots(path + start, i - start))
            return true;
        start = i + 1;
    }
    return false;
}

static bool path_is(const char *path, size_t len, const char *want)
{
    size_t n = strlen(want);
    return len == n && memcmp(path, want, n) == 0;
}

int mp_route_classify(const char *method, size_t method_len, const char *target, size_t target_len,
                      enum mp_route *route, size_t *path_len)
{
    const char *q = memchr(target, '?', target_len);
    size_t plen = q != NULL ? (size_t)(q - target) : target_len;
    if (has_dot_segment(target, plen))
        return MP_EINVAL;
    *path_len = plen;
    if (path_is(target, plen, "/mcp")) {
        *route = MP_ROUTE_MCP;
    } else if (plen < 4 || memcmp(target, "/v1/", 4) != 0) {
        *route = MP_ROUTE_NOT_FOUND;
    } else if (path_is(target, plen, "/v1/memory") ||
               (plen > 11 && memcmp(target, "/v1/memory/", 11) == 0)) {
        *route = MP_ROUTE_MEMORY;
    } else if (path_is(target, plen, "/v1/chat/completions") && method_len == 4 &&
               memcmp(method, "POST", 4) == 0) {
        *route = MP_ROUTE_CHAT;
    } else if (path_is(target, plen, "/v1/responses") && method_len == 4 &&
               memcmp(method, "POST", 4) == 0) {
        *route = MP_ROUTE_RESPONSES;
    } else if (mp_route_anthropic_target(target, plen)) {
        *route = path_is(target, plen, "/v1/messages") && method_len == 4 &&
                         memcmp(method, "POST", 4) == 0
                     ? MP_ROUTE_MESSAGES
                     : MP_ROUTE_ANTHROPIC;
    } else {
        *route = MP_ROUTE_FORWARD;
    }
    return MP_OK;
}

bool mp_route_is_anthropic(enum mp_route route)
{
    return route == MP_ROUTE_MESSAGES || route == MP_ROUTE_ANTHROPIC;
}

bool mp_route_anthropic_target(const char *target, size_t len)
{
    static const char base[] = "/v1/messages";
    const char *q = memchr(target, '?', len);
    size_t plen = q != NULL ? (size_t)(q - target) : len, n = sizeof(base) - 1;
    return plen >= n && memcmp(target, base, n) == 0 && (plen == n || target[n] == '/');
}

const struct mp_wire *mp_route_wire(enum mp_route route)
{
    switch (route) {
    case MP_ROUTE_CHAT:
        return &mp_wire_chat;
    case MP_ROUTE_RESPONSES:
        return &mp_wire_responses;
    case MP_ROUTE_MESSAGES:
        return &mp_wire_messages;
    default:
        return NULL;
    }
}

int mp_route_memory_control(const char *value, size_t len, enum mp_memory_control *out)
{
    static const struct {
        const char *name;
        enum mp_memory_control ctl;
    } names[] = {{"auto", MP_MEMCTL_AUTO},
                 {"read", MP_MEMCTL_READ},
                 {"write", MP_MEMCTL_WRITE},
                 {"off", MP_MEMCTL_OFF}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i].name) == len && strncasecmp(value, names[i].name, len) == 0) {
            *out = names[i].ctl;
            return MP_OK;
        }
    }
    return MP_EINVAL;
}

/* What a control lets memory do, one bit each: 1 read, 2 write. */
static unsigned control_allows(enum mp_memory_control c)
{
    return c == MP_MEMCTL_AUTO ? 3u : c == MP_MEMCTL_READ ? 1u : c == MP_MEMCTL_WRITE ? 2u : 0u;
}

int mp_route_memory_header(const struct mp_http_request_head *head, enum mp_memory_control *out)
{
    static const enum mp_memory_control of_allows[4] = {MP_MEMCTL_OFF, MP_MEMCTL_READ,
                                                        MP_MEMCTL_WRITE, MP_MEMCTL_AUTO};
    struct mp_http_values it;
    enum mp_memory_control ctl = MP_MEMCTL_AUTO;
    const char *v;
    size_t n;
    unsigned allows = 3u;
    mp_http_values_init(&it, head, "x-memory", 8, true);
    while (mp_http_values_next(&it, &v, &n)) {
        if (mp_route_memory_control(v, n, &ctl) != MP_OK)
            return MP_EINVAL; /* an empty line too: its one value is empty */
        allows &= control_allows(ctl);
    }
    *out = of_allows[allows];
    return MP_OK;
}

int mp_route_body_user(const char *body, size_t len, char *out, size_t cap, size_t *out_len)
{
    size_t vs = 0, ve = 0;
    int rc = mp_json_find_member(body, len, "user", 4, &vs, &ve);
    if (rc == MP_EINVAL)
        return MP_NOTFOUND; /* not JSON: the upstream will say so */
    if (rc != MP_OK)
        return rc;
    if (ve - vs == 4 && memcmp(body + vs, "null", 4) == 0)
        return MP_NOTFOUND;
    if (body[vs] != '"')
        return MP_EINVAL;
    rc = mp_json_string_decode(body, vs, ve, out, cap, out_len);
    return rc == MP_OK ? MP_OK : MP_EINVAL;
}
