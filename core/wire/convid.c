/* Conversation identity (convid.h). It reads only what the wire's scan
 * already found and a few top-level members, each with one lookup. */
#include "wire/convid.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "wire/chatreq.h"
#include "findbytes.h"
#include "hex.h"
#include "wire/ownwords.h"
#include "json/json_scan.h"
#include "status.h"

static bool usable(const char *id, size_t len)
{
    return id != NULL && len > 0 && len <= MP_CONVID_ID_MAX;
}

/* Whether the client id of source may name a conversation: not the
 * source a caller found shared (skip: its source, or NULL). */
static bool trusted(const char *source, const char *skip)
{
    return skip == NULL || strcmp(source, skip) != 0;
}

static bool from_headers(const struct mp_convid_headers *h, const char *skip, struct mp_convid *out)
{
    static const char *const sources[MP_CONVID_HEADERS] = {
        "x-openwebui-chat-id", "x-claude-code-session-id", "session-id"};
    for (size_t i = 0; h != NULL && i < MP_CONVID_HEADERS; i++) {
        if (!usable(h->value[i], h->len[i]) || !trusted(sources[i], skip))
            continue;
        *out = (struct mp_convid){
            .kind = MP_CONVID_CLIENT, .source = sources[i], .id = h->value[i], .id_len = h->len[i]};
        return true;
    }
    return false;
}

/* The body's top-level members the rule reads, their value spans (the
 * last when a key repeats; end 0: absent), found in one pass: a big body
 * is walked once. */
enum { M_CONVERSATION, M_PREVIOUS, M_COUNT };

/* Whether the name's literal occurs in body[0..len) outside the span of
 * the request's messages (which holds no top-level name): a big body's
 * messages are not read again. */
static bool named(const char *body, size_t len, const struct mp_chatreq *req, const char *name)
{
    size_t n = strlen(name), ms = req->messages_start, me = req->messages_end;
    if (me <= ms || me > len)
        return mp_find_bytes(body, len, name, n) != NULL;
    return mp_find_bytes(body, ms, name, n) != NULL ||
           mp_find_bytes(body + me, len - me, name, n) != NULL;
}

static void members(const char *body, size_t len, const struct mp_chatreq *req, size_t vs[M_COUNT],
                    size_t ve[M_COUNT])
{
    static const char *const names[M_COUNT] = {"\"conversation\"", "\"previous_response_id\""};
    size_t start = 0, end = len, cursor = 0, ns, ne, s, e;
    while (start < end && body[start] != '{')
        start++;
    while (end > start && body[end - 1] != '}')
        end--;
    bool any = false;
    for (size_t i = 0; i < M_COUNT; i++) {
        vs[i] = ve[i] = 0;
        any = any || named(body, len, req, names[i]);
    }
    while (any && start < end &&
           mp_json_next(body, start, end, &cursor, &ns, &ne, &s, &e) == MP_OK) {
        for (size_t i = 0; i < M_COUNT; i++) {
            if (mp_json_span_is(body, ns, ne, names[i])) {
                vs[i] = s;
                ve[i] = e;
            }
        }
    }
}

/* Member i's string (with object_id, an object's "id" string too) as the
 * identity of kind, named source. */
static bool from_member(const char *body, const size_t vs[M_COUNT], const size_t ve[M_COUNT],
                        size_t i, const char *source, enum mp_convid_kind kind,
                        struct mp_convid *out)
{
    size_t s = vs[i], e = ve[i];
    if (e == 0)
        return false;
    if (i == M_CONVERSATION && body[s] == '{' &&
        mp_json_member_in(body, s, e, "id", &s, &e) != MP_OK)
        return false;
    if (body[s] != '"' || !usable(body + s + 1, e - s - 2))
        return false;
    *out =
        (struct mp_convid){.kind = kind, .source = source, .id = body + s + 1, .id_len = e - s - 2};
    return true;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

bool mp_convid_resends(const struct mp_chatreq *req)
{
    size_t users = 0;
    for (size_t i = 0; i < req->nmsgs; i++) {
        int role = req->msgs[i].role;
        if (role == MP_CR_ASSISTANT || role == MP_CR_TOOL || role == MP_CR_OTHER ||
            (role == MP_CR_USER && ++users == 2))
            return true;
    }
    return false;
}

bool mp_convid_lead(const char *body, const struct mp_chatreq *req, uint64_t *lead)
{
    size_t first_user = req->nmsgs;
    uint64_t h = 0x6d656d70726f7879ULL;
    for (size_t i = 0; i < req->nmsgs && first_user == req->nmsgs; i++)
        if (req->msgs[i].role == MP_CR_USER)
            first_user = i;
    if (first_user == req->nmsgs)
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
    /* the user's own words when the client inserted context in it: the
       same conversation whether it resends that context or not */
    const struct mp_ownwords_item *own = mp_ownwords_of(req->own, first_user);
    *lead = mix(h, own != NULL ? own->hash : req->msgs[first_user].text_hash);
    return true;
}

void mp_convid_identify(const char *body, size_t len, const struct mp_chatreq *req,
                        const struct mp_convid_headers *h, struct mp_convid *out)
{
    mp_convid_identify_past(body, len, req, h, NULL, out);
}

void mp_convid_identify_past(const char *body, size_t len, const struct mp_chatreq *req,
                             const struct mp_convid_headers *h, const char *shared,
                             struct mp_convid *out)
{
    uint64_t lead = 0;
    if (from_headers(h, shared, out))
        return;
    size_t vs[M_COUNT], ve[M_COUNT];
    members(body, len, req, vs, ve);
    if (from_member(body, vs, ve, M_CONVERSATION, "conversation", MP_CONVID_CLIENT, out) ||
        from_member(body, vs, ve, M_PREVIOUS, MP_CONVID_CHAIN_SOURCE, MP_CONVID_CHAIN, out))
        return;
    if (mp_convid_resends(req) && mp_convid_lead(body, req, &lead)) {
        *out = (struct mp_convid){.kind = MP_CONVID_LEADING, .source = "", .lead = lead};
        return;
    }
    *out = (struct mp_convid){.kind = MP_CONVID_SESSION, .source = ""};
}

/* "%016llx" of v into out[0..17) (a NUL last), as the kind's digit below
 * by hand: a request names its conversation twice or more, and
 * snprintf's walk of the format cost more than the rest of the name. */
static void put_hex64(char *out, uint64_t v)
{
    unsigned char be[8];
    for (size_t i = 8; i-- > 0; v >>= 8)
        be[i] = (unsigned char)(v & 0xFF);
    mp_hex_encode(be, sizeof(be), out);
}

size_t mp_convid_name(const struct mp_convid *c, char *out, size_t cap)
{
    char buf[MP_CONVID_NAME_MAX];
    assert(c->kind >= MP_CONVID_CLIENT && c->kind <= MP_CONVID_SESSION); /* one digit */
    buf[0] = (char)('0' + c->kind);
    buf[1] = '\0';
    size_t n = 2;
    size_t slen = strlen(c->source);
    memcpy(buf + n, c->source, slen + 1);
    n += slen + 1;
    if (c->kind == MP_CONVID_LEADING) {
        put_hex64(buf + n, c->lead);
        n += 16;
    } else if (c->kind != MP_CONVID_SESSION) {
        memcpy(buf + n, c->id, c->id_len);
        n += c->id_len;
    }
    memcpy(out, buf, n < cap ? n : cap);
    return n;
}

bool mp_convid_temporary(const struct mp_convid_headers *h)
{
    static const char prefix[] = MP_CONVID_TEMPORARY_PREFIX;
    const size_t n = sizeof(prefix) - 1;
    if (h == NULL || h->value[MP_CONVID_OPENWEBUI] == NULL || h->len[MP_CONVID_OPENWEBUI] < n)
        return false;
    return memcmp(h->value[MP_CONVID_OPENWEBUI], prefix, n) == 0;
}

const char *mp_convid_rule(enum mp_convid_kind kind)
{
    return kind == MP_CONVID_CLIENT    ? "client"
           : kind == MP_CONVID_CHAIN   ? "chain"
           : kind == MP_CONVID_LEADING ? "leading"
           : kind == MP_CONVID_FIRST   ? "first_turn"
                                       : "session";
}
