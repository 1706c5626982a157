/* Reading usage (see tokenuse.h). The JSON scanner works in place over the
 * body; a stream's event is copied out of its SSE lines once, and only when
 * it may carry usage (a "usage" key that is not null) or the model is
 * still unknown, so a long stream's text deltas, and the "usage":null of
 * every chunk of a chat stream with include_usage, cost a memmem each. */
#include "wire/tokenuse.h"

#include <stdlib.h>
#include <string.h>

#include "json/json_scan.h"
#include "http/sse.h"
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

#define KEYS_MAX 4 /* the most members one object is read for */

/* The keys of a row of KEYS_MAX, the unused ones NULL. */
static size_t nkeys(const char *const *keys)
{
    size_t n = 0;
    while (n < KEYS_MAX && keys[n] != NULL)
        n++;
    return n;
}

/* The value buf[v[0]..v[1]) as an unsigned integer into *out, when it is
 * one ({0, 0}: no value). */
static void num_at(const char *buf, const size_t v[2], uint64_t *out)
{
    if (v[1] == v[0] || buf[v[0]] < '0' || buf[v[0]] > '9')
        return;
    uint64_t x = 0;
    for (size_t i = v[0]; i < v[1] && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (x > (UINT64_MAX - 9) / 10)
            return;
        x = x * 10 + (uint64_t)(buf[i] - '0');
    }
    *out = x;
}

/* The cached tokens of OpenAI's details object v, if it is one. */
static void cached_in(struct mp_tokenuse *u, const char *buf, const size_t v[2])
{
    static const char *const keys[] = {"cached_tokens"};
    size_t c[1][2];
    if (v[1] > v[0] && buf[v[0]] == '{' && mp_json_members_in(buf, v[0], v[1], keys, 1, c) == MP_OK)
        num_at(buf, c[0], &u->cached);
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
    size_t v[KEYS_MAX][2];
    u->seen = true;
    if (mp_json_members_in(buf, s, e, keys[api], nkeys(keys[api]), v) != MP_OK)
        return;
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

/* An object's model and usage, from the spans of its members "model"
 * (v[0]) and "usage" (v[1]) that a walk found ({0, 0}: none). */
static void read_found(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *buf,
                       size_t (*v)[2])
{
    size_t n;
    if (v[0][1] > v[0][0] && buf[v[0][0]] == '"' &&
        mp_json_string_decode(buf, v[0][0], v[0][1], u->model, sizeof(u->model) - 1, &n) == MP_OK)
        u->model[n] = '\0';
    if (v[1][1] > v[1][0] && buf[v[1][0]] == '{')
        read_usage(u, api, buf, v[1][0], v[1][1]);
}

/* The model and usage members of the object buf[s..e) (whitespace around
 * it allowed), when it is one. */
static void read_object(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *buf, size_t s,
                        size_t e)
{
    static const char *const keys[] = {"model", "usage"};
    size_t v[2][2];
    if (mp_json_members_in(buf, s, e, keys, 2, v) == MP_OK)
        read_found(u, api, buf, v);
}

void mp_tokenuse_read_body(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *body,
                           size_t len)
{
    read_object(u, api, body, 0, len);
}

/* An event's data: the member that holds the response or message when
 * it has one, else the object itself (chat completions, Messages'
 * message_delta). One walk of the data finds all three members. */
static void read_data(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *d, size_t len)
{
    const char *inner = api == MP_TOKENUSE_RESPONSES  ? "response"
                        : api == MP_TOKENUSE_MESSAGES ? "message"
                                                      : NULL;
    const char *keys[] = {"model", "usage", inner};
    size_t v[3][2];
    if (mp_json_members_in(d, 0, len, keys, inner != NULL ? 3 : 2, v) != MP_OK)
        return;
    if (inner != NULL && v[2][1] > v[2][0] && d[v[2][0]] == '{')
        read_object(u, api, d, v[2][0], v[2][1]);
    else
        read_found(u, api, d, v);
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
