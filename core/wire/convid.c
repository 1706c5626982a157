/* Conversation identity (convid.h). It reads only what the wire's scan
 * already found and a few top-level members, each with one lookup. */
#include "convid.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "chatreq.h"
#include "json_scan.h"
#include "status.h"

static bool usable(const char *id, size_t len)
{
    return id != NULL && len > 0 && len <= MP_CONVID_ID_MAX;
}

static bool from_headers(const struct mp_convid_headers *h, struct mp_convid *out)
{
    static const char *const sources[MP_CONVID_HEADERS] = {
        "x-openwebui-chat-id", "x-claude-code-session-id", "session-id"};
    for (size_t i = 0; h != NULL && i < MP_CONVID_HEADERS; i++) {
        if (!usable(h->value[i], h->len[i]))
            continue;
        *out = (struct mp_convid){
            .kind = MP_CONVID_CLIENT, .source = sources[i], .id = h->value[i], .id_len = h->len[i]};
        return true;
    }
    return false;
}

/* A top-level string member's raw bytes (between the quotes); with
 * object_id, an object value's "id" string instead is accepted too. */
static bool from_body(const char *body, size_t len, const char *key, bool object_id,
                      enum mp_convid_kind kind, struct mp_convid *out)
{
    size_t vs, ve;
    if (mp_json_find_member(body, len, key, strlen(key), &vs, &ve) != MP_OK)
        return false;
    if (object_id && body[vs] == '{' && mp_json_member_in(body, vs, ve, "id", &vs, &ve) != MP_OK)
        return false;
    if (body[vs] != '"' || !usable(body + vs + 1, ve - vs - 2))
        return false;
    *out =
        (struct mp_convid){.kind = kind, .source = key, .id = body + vs + 1, .id_len = ve - vs - 2};
    return true;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/* Whether the client resends its conversation: an assistant message, or a
 * second user message; and the hash of its leading messages. */
static bool leading(const char *body, const struct mp_chatreq *req, uint64_t *lead)
{
    size_t users = 0, first_user = req->nmsgs;
    bool resends = false;
    uint64_t h = 0x6d656d70726f7879ULL;
    for (size_t i = 0; i < req->nmsgs; i++) {
        int role = req->msgs[i].role;
        if (role == MP_CR_ASSISTANT)
            resends = true;
        if (role == MP_CR_USER && users++ == 0)
            first_user = i;
    }
    if (!resends && users < 2)
        return false;
    if (req->system_end > req->system_start) /* Messages' "system", as sent */
        h = mix(h, mp_chatreq_hash_text(MP_CR_SYSTEM, body + req->system_start,
                                        req->system_end - req->system_start));
    if (req->instructions_end > req->instructions_start) /* Responses' "instructions" */
        h = mix(h, mp_chatreq_hash_text(MP_CR_DEVELOPER, body + req->instructions_start,
                                        req->instructions_end - req->instructions_start));
    for (size_t i = 0; i < req->nmsgs; i++) {
        int role = req->msgs[i].role;
        if (role != MP_CR_SYSTEM && role != MP_CR_DEVELOPER)
            break;
        h = mix(h, req->msgs[i].text_hash);
    }
    if (first_user < req->nmsgs)
        h = mix(h, req->msgs[first_user].text_hash);
    *lead = h;
    return true;
}

void mp_convid_identify(const char *body, size_t len, const struct mp_chatreq *req,
                        const struct mp_convid_headers *h, struct mp_convid *out)
{
    uint64_t lead = 0;
    if (from_headers(h, out))
        return;
    if (from_body(body, len, "prompt_cache_key", false, MP_CONVID_CLIENT, out) ||
        from_body(body, len, "conversation", true, MP_CONVID_CLIENT, out) ||
        from_body(body, len, "previous_response_id", false, MP_CONVID_CHAIN, out))
        return;
    if (leading(body, req, &lead)) {
        *out = (struct mp_convid){.kind = MP_CONVID_LEADING, .source = "", .lead = lead};
        return;
    }
    *out = (struct mp_convid){.kind = MP_CONVID_SESSION, .source = ""};
}

size_t mp_convid_name(const struct mp_convid *c, char *out, size_t cap)
{
    char buf[MP_CONVID_NAME_MAX];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%d", (int)c->kind) + 1;
    size_t slen = strlen(c->source);
    memcpy(buf + n, c->source, slen + 1);
    n += slen + 1;
    if (c->kind == MP_CONVID_LEADING) {
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%016llx", (unsigned long long)c->lead);
    } else if (c->kind != MP_CONVID_SESSION) {
        memcpy(buf + n, c->id, c->id_len);
        n += c->id_len;
    }
    memcpy(out, buf, n < cap ? n : cap);
    return n;
}
