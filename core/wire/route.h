/* Data-plane routing decisions over plain bytes: which route a request
 * target names, the X-Memory control header, and the user id a chat request
 * carries in its body. No I/O; the proxy acts on the answers. */
#ifndef MP_CORE_ROUTE_H
#define MP_CORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "memory/usermode.h" /* enum mp_memory_control */

enum mp_route {
    MP_ROUTE_FORWARD,   /* any other /v1/ path: forwarded untouched */
    MP_ROUTE_CHAT,      /* POST /v1/chat/completions: memory applies */
    MP_ROUTE_RESPONSES, /* POST /v1/responses: memory applies */
    MP_ROUTE_MESSAGES,  /* POST /v1/messages (Anthropic): forwarded to [anthropic] */
    MP_ROUTE_ANTHROPIC, /* any other /v1/messages path or method: forwarded to [anthropic] */
    MP_ROUTE_MEMORY,    /* /v1/memory and below: memproxy's own API */
    MP_ROUTE_MCP,       /* /mcp: the MCP endpoint (any method) */
    MP_ROUTE_NOT_FOUND
};

/* Classifies an origin-form target ("/v1/chat/completions?x=1") for method.
 * *path_len receives the length of the path without the query.
 * Returns MP_OK with *route set; MP_EINVAL when the path has a "." or ".."
 * segment, literal or percent-encoded (%2e), which could escape /v1/ at the
 * upstream. Outputs are untouched on failure. */
int mp_route_classify(const char *method, size_t method_len, const char *target, size_t target_len,
                      enum mp_route *route, size_t *path_len);

/* Whether a route goes to Anthropic's API ([anthropic] base_url): its
 * proxy-made errors take Anthropic's shape. */
bool mp_route_is_anthropic(enum mp_route route);

/* Whether the origin-form target target[0..len) is on Anthropic's routes
 * (/v1/messages, or below it), whatever the method: for errors made
 * before a request is routed. */
bool mp_route_anthropic_target(const char *target, size_t len);

/* The chat API (core/wire/wire.h) a route speaks, through which memory
 * applies; NULL for the routes memory does not touch. */
struct mp_wire;
const struct mp_wire *mp_route_wire(enum mp_route route);

/* Parses an X-Memory value: auto, read, write or off (case-insensitive,
 * surrounding blanks already trimmed). MP_OK or MP_EINVAL. */
int mp_route_memory_control(const char *value, size_t len, enum mp_memory_control *out);

/* The X-Memory control of the request head (borrowed). X-Memory is a list
 * field (core/http/http_parse.h): every element of every X-Memory line is
 * parsed as mp_route_memory_control() does, and the narrowest wins, what
 * all of them allow: off over everything, read with write is off (neither
 * allows both), read or write over auto; empty elements between commas
 * are skipped. MP_OK with *out (MP_MEMCTL_AUTO without the header);
 * MP_EINVAL when an element is none of the four or a line holds none
 * (*out untouched). */
struct mp_http_request_head;
int mp_route_memory_header(const struct mp_http_request_head *head, enum mp_memory_control *out);

/* Finds the top-level "user" member of a JSON request body and decodes it
 * into out[0..cap). Returns MP_OK with *out_len; MP_NOTFOUND when the body
 * is not a JSON object, has no "user", or "user" is null; MP_EINVAL when
 * "user" is present but not a string, or does not fit cap. */
int mp_route_body_user(const char *body, size_t len, char *out, size_t cap, size_t *out_len);

#endif
