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

/* Whether the member name buf[ns..ne) (its string literal, quotes
 * included) is key once unescaped; a name that does not decode matches no
 * key (as mp_json_member_in). */
static bool name_is(const char *buf, size_t ns, size_t ne, const char *key)
{
    size_t k = strlen(key), n;
    char name[64];
    if (memchr(buf + ns, '\\', ne - ns) == NULL)
        return ne - ns == k + 2 && memcmp(buf + ns + 1, key, k) == 0;
    return k < sizeof(name) && mp_json_string_decode(buf, ns, ne, name, k + 1, &n) == MP_OK &&
           n == k && memcmp(name, key, k) == 0;
}

#define KEYS_MAX 4 /* the most members one object is read for */

/* A value's span in the body: buf[s..e); {0, 0} for none. */
struct span {
    size_t s, e;
};

/* The values of the members named keys[0..n) of the validated object
 * buf[s..e), found in one walk of its members: v[k] is key k's (the last
 * one when a key repeats, as mp_json_member_in), {0, 0} when the object
 * has none. */
static void members(const char *buf, size_t s, size_t e, const char *const *keys, size_t n,
                    struct span *v)
{
    size_t cur = 0, ns, ne, vs, ve;
    memset(v, 0, n * sizeof(*v));
    while (mp_json_next(buf, s, e, &cur, &ns, &ne, &vs, &ve) == MP_OK) {
        for (size_t k = 0; k < n; k++) {
            if (name_is(buf, ns, ne, keys[k])) {
                v[k] = (struct span){vs, ve};
                break;
            }
        }
    }
}

/* The value v as an unsigned integer into *out, when it is one. */
static void num_at(const char *buf, struct span v, uint64_t *out)
{
    if (v.e == v.s || buf[v.s] < '0' || buf[v.s] > '9')
        return;
    uint64_t x = 0;
    for (size_t i = v.s; i < v.e && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (x > (UINT64_MAX - 9) / 10)
            return;
        x = x * 10 + (uint64_t)(buf[i] - '0');
    }
    *out = x;
}

/* The cached tokens of OpenAI's details object v, if it is one. */
static void cached_in(struct mp_tokenuse *u, const char *buf, struct span v)
{
    static const char *const keys[] = {"cached_tokens"};
    struct span c;
    if (v.e > v.s && buf[v.s] == '{') {
        members(buf, v.s, v.e, keys, 1, &c);
        num_at(buf, c, &u->cached);
    }
}

/* The usage object buf[s..e) of api. */
static void read_usage(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *buf, size_t s,
                       size_t e)
{
    static const char *const keys[MP_TOKENUSE_API_COUNT][KEYS_MAX] = {
        {"prompt_tokens", "completion_tokens", "prompt_tokens_details"},
        {"input_tokens", "output_tokens", "input_tokens_details"},
        {"input_tokens", "output_tokens", "cache_read_input_tokens",
         "cache_creation_input_tokens"}};
    struct span v[KEYS_MAX];
    u->seen = true;
    members(buf, s, e, keys[api], api == MP_TOKENUSE_MESSAGES ? 4 : 3, v);
    num_at(buf, v[1], &u->output);
    if (api != MP_TOKENUSE_MESSAGES) {
        num_at(buf, v[0], &u->input);
        cached_in(u, buf, v[2]);
        return;
    }
    num_at(buf, v[0], &u->a_input);
    num_at(buf, v[2], &u->cached);
    num_at(buf, v[3], &u->creation);
    u->input = u->a_input + u->cached + u->creation;
}

/* The model and usage members of the object buf[s..e). */
static void read_object(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *buf, size_t s,
                        size_t e)
{
    static const char *const keys[] = {"model", "usage"};
    struct span v[2];
    size_t n;
    members(buf, s, e, keys, 2, v);
    if (v[0].e > v[0].s && buf[v[0].s] == '"' &&
        mp_json_string_decode(buf, v[0].s, v[0].e, u->model, sizeof(u->model) - 1, &n) == MP_OK)
        u->model[n] = '\0';
    if (v[1].e > v[1].s && buf[v[1].s] == '{')
        read_usage(u, api, buf, v[1].s, v[1].e);
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
