/* Reading usage (see tokenuse.h). The JSON scanner works in place over the
 * body; a stream's event is copied out of its SSE lines once, and only when
 * it may carry usage (a "usage" key that is not null) or the model is
 * still unknown, so a long stream's text deltas, and the "usage":null of
 * every chunk of a chat stream with include_usage, cost a memmem each. */
#include "tokenuse.h"

#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "sse.h"
#include "status.h"

int mp_tokenuse_api_of(const char *wire_name, enum mp_tokenuse_api *out)
{
    static const char *const names[] = {"chat", "responses", "messages"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(wire_name, names[i]) == 0) {
            *out = (enum mp_tokenuse_api)i;
            return MP_OK;
        }
    }
    return MP_NOTFOUND;
}

/* The member key of the object buf[s..e) as an unsigned integer. */
static bool num_in(const char *buf, size_t s, size_t e, const char *key, uint64_t *out)
{
    size_t vs, ve;
    if (mp_json_member_in(buf, s, e, key, &vs, &ve) != MP_OK || vs == ve || buf[vs] < '0' ||
        buf[vs] > '9')
        return false;
    uint64_t v = 0;
    for (size_t i = vs; i < ve && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(buf[i] - '0');
    }
    *out = v;
    return true;
}

/* The cached tokens of OpenAI's details object under key, if any. */
static void cached_in(struct mp_tokenuse *u, const char *buf, size_t s, size_t e, const char *key)
{
    size_t ds, de;
    if (mp_json_member_in(buf, s, e, key, &ds, &de) == MP_OK && buf[ds] == '{')
        num_in(buf, ds, de, "cached_tokens", &u->cached);
}

/* The usage object buf[s..e) of api. */
static void read_usage(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *buf, size_t s,
                       size_t e)
{
    u->seen = true;
    if (api == MP_TOKENUSE_CHAT) {
        num_in(buf, s, e, "prompt_tokens", &u->input);
        num_in(buf, s, e, "completion_tokens", &u->output);
        cached_in(u, buf, s, e, "prompt_tokens_details");
        return;
    }
    num_in(buf, s, e, "output_tokens", &u->output);
    if (api == MP_TOKENUSE_RESPONSES) {
        num_in(buf, s, e, "input_tokens", &u->input);
        cached_in(u, buf, s, e, "input_tokens_details");
        return;
    }
    num_in(buf, s, e, "input_tokens", &u->a_input);
    num_in(buf, s, e, "cache_read_input_tokens", &u->cached);
    num_in(buf, s, e, "cache_creation_input_tokens", &u->creation);
    u->input = u->a_input + u->cached + u->creation;
}

/* The model and usage members of the object buf[s..e). */
static void read_object(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *buf, size_t s,
                        size_t e)
{
    size_t vs, ve, n;
    if (mp_json_member_in(buf, s, e, "model", &vs, &ve) == MP_OK && buf[vs] == '"' &&
        mp_json_string_decode(buf, vs, ve, u->model, sizeof(u->model) - 1, &n) == MP_OK)
        u->model[n] = '\0';
    if (mp_json_member_in(buf, s, e, "usage", &vs, &ve) == MP_OK && buf[vs] == '{')
        read_usage(u, api, buf, vs, ve);
}

void mp_tokenuse_read_body(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *body,
                           size_t len)
{
    size_t s, e;
    if (mp_json_scan_value(body, len, 0, &s, &e) != MP_OK || body[s] != '{')
        return;
    read_object(u, api, body, s, e);
}

/* An event's data: the object itself (chat completions, Messages'
 * message_delta), or the member that holds the response or message. */
static void read_data(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *d, size_t len)
{
    size_t s, e, vs, ve;
    if (mp_json_scan_value(d, len, 0, &s, &e) != MP_OK || d[s] != '{')
        return;
    const char *inner = api == MP_TOKENUSE_RESPONSES  ? "response"
                        : api == MP_TOKENUSE_MESSAGES ? "message"
                                                      : NULL;
    if (inner != NULL && mp_json_member_in(d, s, e, inner, &vs, &ve) == MP_OK && d[vs] == '{') {
        read_object(u, api, d, vs, ve);
        return;
    }
    read_object(u, api, d, s, e);
}

/* Whether ev[0..len) may hold a usage object: a "usage" key whose value
 * is not null. With include_usage every chat chunk says "usage":null, and
 * those are not copied out to be parsed. */
static bool may_hold_usage(const char *ev, size_t len)
{
    for (const char *p = ev, *end = ev + len;
         (p = memmem(p, (size_t)(end - p), "\"usage\"", 7)) != NULL;) {
        size_t i = mp_json_skip_ws(ev, len, (size_t)(p - ev) + 7);
        if (i < len && ev[i] == ':')
            i = mp_json_skip_ws(ev, len, i + 1);
        if (i >= len || ev[i] != 'n') /* an object, or data the SSE lines split */
            return true;
        p += 7;
    }
    return false;
}

void mp_tokenuse_read_event(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *ev,
                            size_t len)
{
    if (u->model[0] != '\0' && !may_hold_usage(ev, len))
        return;
    char *d = malloc(len + 1);
    size_t n = 0;
    if (d != NULL && mp_sse_event_data(ev, len, d, len + 1, &n) == MP_OK)
        read_data(u, api, d, n);
    free(d);
}
