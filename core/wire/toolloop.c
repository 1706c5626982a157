/* An agent's tool loop in a request (toolloop.h). Reads the scan's roles
 * and hashes; only the newest message's bytes are looked at again, for the
 * kind of tool result it is. */
#include "wire/toolloop.h"

#include <string.h>

#include "json/json_scan.h"
#include "status.h"

#define SUFFIX "_call_output\""

/* A Responses item other than a message at body[s..e): whether its "type"
 * ends in "_call_output" (a tool's result). */
static bool call_output(const char *body, size_t s, size_t e)
{
    size_t ts, te, n = sizeof(SUFFIX) - 1;
    return mp_json_member_in(body, s, e, "type", &ts, &te) == MP_OK && body[ts] == '"' &&
           te - ts > n && memcmp(body + te - n, SUFFIX, n) == 0;
}

/* A Messages user message: whether its content array holds a tool_result
 * block. */
static bool holds_tool_result(const char *body, const struct mp_chatreq_msg *m)
{
    size_t cursor = 0, bs, be, ts, te;
    if (m->content_end == 0 || body[m->content_start] != '[')
        return false;
    while (mp_json_next(body, m->content_start, m->content_end, &cursor, NULL, NULL, &bs, &be) ==
           MP_OK) {
        if (body[bs] == '{' && mp_json_member_in(body, bs, be, "type", &ts, &te) == MP_OK &&
            mp_json_span_is(body, ts, te, "\"tool_result\""))
            return true;
    }
    return false;
}

bool mp_toolloop_answers_calls(const char *body, const struct mp_chatreq *req)
{
    if (req->nmsgs == 0)
        return false;
    const struct mp_chatreq_msg *m = &req->msgs[req->nmsgs - 1];
    switch (m->role) {
    case MP_CR_TOOL:
        return true;
    case MP_CR_OTHER:
        return call_output(body, m->start, m->end);
    case MP_CR_USER:
        return holds_tool_result(body, m);
    default:
        return false;
    }
}

/* A user message of the user's own: role user, no tool results. */
static bool users_own(const char *body, const struct mp_chatreq_msg *m)
{
    return m->role == MP_CR_USER && !holds_tool_result(body, m);
}

bool mp_toolloop_start(const char *body, const struct mp_chatreq *req, size_t *first, size_t *at)
{
    size_t i = req->nmsgs;
    while (i > 0 && !(req->msgs[i - 1].has_text && users_own(body, &req->msgs[i - 1])))
        i--;
    if (i == 0) {
        *first = *at = req->nmsgs;
        return false;
    }
    *at = i - 1;
    while (i > 1 && users_own(body, &req->msgs[i - 2]))
        i--;
    *first = i - 1;
    return true;
}

/* The murmur3 fmix64 finalizer: one word mixed into the digest. */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

uint64_t mp_toolloop_prefix(const struct mp_chatreq *req, size_t at)
{
    uint64_t h = 0x746f6f6c6c6f6f70ull; /* "toolloop" */
    for (size_t i = 0; i <= at && i < req->nmsgs; i++) {
        int role = req->msgs[i].role;
        if (role == MP_CR_USER || role == MP_CR_ASSISTANT || role == MP_CR_TOOL)
            h = mix(h, req->msgs[i].text_hash ^ (uint64_t)(unsigned)role);
    }
    return h;
}
