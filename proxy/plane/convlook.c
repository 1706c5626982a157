/* Finding a request's conversation (convlook.h). */
#include "plane/convlook.h"

#include <stdio.h>
#include <string.h>

#include "wire/chain.h"
#include "wire/chatreq.h"
#include "http/http_parse.h"
#include "format/sha256.h"
#include "status.h"
#include "ops/store.h"
#include "memory/userkey.h"

/* The id headers in core/wire/convid.h's order, each with its other
 * spelling. */
static const char *const id_names[MP_CONVID_HEADERS][2] = {{"x-openwebui-chat-id", NULL},
                                                           {"x-claude-code-session-id", NULL},
                                                           {"session-id", "session_id"}};

/* The one value of the header name (NULL: none), into *v, *n; a header
 * whose lines differ names no conversation (mp_http_find_single). */
static bool one_id(const struct mp_http_request_head *head, const char *name, const char **v,
                   size_t *n)
{
    return name != NULL && mp_http_find_single(head, name, strlen(name), v, n) == MP_OK;
}

void mp_convlook_headers(const struct mp_http_request_head *head, struct mp_convid_headers *out)
{
    for (size_t i = 0; i < MP_CONVID_HEADERS; i++) {
        out->value[i] = NULL;
        out->len[i] = 0;
        if (!one_id(head, id_names[i][0], &out->value[i], &out->len[i]))
            (void)one_id(head, id_names[i][1], &out->value[i], &out->len[i]);
    }
}

bool mp_convlook_temporary(const struct mp_http_request_head *head)
{
    struct mp_convid_headers hd = {{NULL}, {0}};
    struct mp_http_values it;
    const char *name = id_names[MP_CONVID_OPENWEBUI][0];
    mp_http_values_init(&it, head, name, strlen(name), false);
    while (mp_http_values_next(&it, &hd.value[MP_CONVID_OPENWEBUI], &hd.len[MP_CONVID_OPENWEBUI]))
        if (mp_convid_temporary(&hd))
            return true;
    return false;
}

uint64_t mp_convlook_digest(const unsigned char key[MP_CONVTAB_KEY_LEN])
{
    uint64_t d = 0;
    for (size_t i = 0; i < 8; i++)
        d = (d << 8) | key[i];
    return d;
}

struct mp_convtab_limits mp_convlook_limits(const struct mp_config *cfg)
{
    return (struct mp_convtab_limits){
        .max_entries = MP_CONVLOOK_RESENDERS_MAX,
        .max_bytes = MP_CONVLOOK_RESENDERS_MAX * 256,
        .idle_ms = (int64_t)cfg->memory.conversation_idle_seconds * 1000,
        .max_age_ms = (int64_t)cfg->memory.head_max_age_seconds * 1000};
}

/* SHA-256 of the user's key, a NUL and the identity's name into key:
 * whether it could be made. */
static bool key_of(const char *user, size_t ulen, const struct mp_convid *c, unsigned char *key)
{
    unsigned char buf[MP_USERKEY_MAX + 1 + MP_CONVID_NAME_MAX];
    memcpy(buf, user, ulen);
    buf[ulen] = '\0';
    size_t n = ulen + 1 + mp_convid_name(c, (char *)buf + ulen + 1, MP_CONVID_NAME_MAX);
    struct mp_sha256_part all = {buf, n};
    mp_sha256(&all, 1, key);
    return true;
}

/* Whether one of the tables marks the user's key rk (marking it used, or
 * marking it anew, with mark). */
static bool resent(struct mp_convtab *const *t, size_t n, bool mark, bool leading,
                   const unsigned char *rk, int64_t now, const struct mp_convtab_limits *lim)
{
    if (mark) {
        if (mp_convtab_get(t[0], rk, now, lim) != NULL)
            return true;
        struct mp_inject_head none = {0};
        if (leading)
            (void)mp_convtab_put(t[0], rk, &none, now, lim);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        struct mp_inject_head copy;
        int64_t used;
        if (t[i] != NULL && mp_convtab_peek(t[i], rk, now, lim, &copy, &used) == MP_OK) {
            mp_inject_head_cleanup(&copy);
            return true;
        }
    }
    return false;
}

void mp_convlook_find(const char *user, size_t ulen, const char *body, size_t len,
                      const struct mp_chatreq *req, const struct mp_convid_headers *hd,
                      struct mp_convtab *const *resenders, size_t n, bool mark, int64_t now_ms,
                      const struct mp_convtab_limits *lim, struct mp_convlook *out)
{
    struct mp_convid c;
    mp_convid_identify(body, len, req, hd, &c);
    mp_convlook_find_as(user, ulen, body, req, &c, resenders, n, mark, now_ms, lim, out);
}

void mp_convlook_find_as(const char *user, size_t ulen, const char *body,
                         const struct mp_chatreq *req, const struct mp_convid *id,
                         struct mp_convtab *const *resenders, size_t n, bool mark, int64_t now_ms,
                         const struct mp_convtab_limits *lim, struct mp_convlook *out)
{
    struct mp_convid c = *id;
    unsigned char rk[MP_CONVTAB_KEY_LEN];
    bool chain = c.kind == MP_CONVID_CHAIN;
    out->chain_ref = chain ? mp_convlook_reply_ref(user, ulen, c.id, c.id_len) : 0;
    if (chain) /* the user's session, unless mp_convlook_chain finds the chain */
        c = (struct mp_convid){.kind = MP_CONVID_SESSION, .source = ""};
    bool asks = c.kind == MP_CONVID_LEADING || (c.kind == MP_CONVID_SESSION && !chain);
    bool tables = n > 0 && (!mark || resenders[0] != NULL);
    struct mp_convid r = {.kind = MP_CONVID_SESSION, .source = "resends"};
    if (asks && tables && key_of(user, ulen, &r, rk) &&
        resent(resenders, n, mark, c.kind == MP_CONVID_LEADING, rk, now_ms, lim) &&
        c.kind == MP_CONVID_SESSION && mp_convid_lead(body, req, &c.lead))
        c.kind = MP_CONVID_LEADING; /* the first turn of a resending client's conversation */
    out->known = key_of(user, ulen, &c, out->key);
    out->session = c.kind == MP_CONVID_SESSION;
    out->kind = c.kind;
    out->digest = out->known ? mp_convlook_digest(out->key) : 0;
}

uint64_t mp_convlook_reply_ref(const char *user, size_t ulen, const char *id, size_t id_len)
{
    unsigned char key[MP_CONVTAB_KEY_LEN];
    struct mp_convid c = {
        .kind = MP_CONVID_CHAIN, .source = MP_CONVID_CHAIN_SOURCE, .id = id, .id_len = id_len};
    if (id_len == 0 || id_len > MP_CONVID_ID_MAX || !key_of(user, ulen, &c, key))
        return 0;
    return mp_convlook_digest(key);
}

uint64_t mp_convlook_export_digest(const char *user, size_t ulen, const char *source,
                                   const char *id, size_t id_len)
{
    unsigned char key[MP_CONVTAB_KEY_LEN];
    struct mp_convid c = {.kind = MP_CONVID_CLIENT,
                          .source = source,
                          .id = id,
                          .id_len = id_len < MP_CONVID_ID_MAX ? id_len : MP_CONVID_ID_MAX};
    return key_of(user, ulen, &c, key) ? mp_convlook_digest(key) : 0;
}

void mp_convlook_chain_is(const char *user, size_t ulen, uint64_t conv, struct mp_convlook *look)
{
    /* the head's key from the digest alone: a later link knows no more */
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)conv);
    struct mp_convid c = {.kind = MP_CONVID_CHAIN, .source = "chain", .id = hex, .id_len = 16};
    look->known = key_of(user, ulen, &c, look->key);
    look->session = false;
    look->kind = MP_CONVID_CHAIN;
    look->digest = conv;
}

bool mp_convlook_chain(const char *user, size_t ulen, const struct mp_mem_message *msgs, size_t n,
                       struct mp_convlook *look)
{
    struct mp_chain found;
    if (look->chain_ref == 0 || mp_chain_find(msgs, n, look->chain_ref, &found) != MP_OK)
        return false;
    mp_convlook_chain_is(user, ulen, found.conv, look);
    return true;
}

bool mp_convlook_session_key(const char *user, size_t ulen, unsigned char *key)
{
    struct mp_convid c = {.kind = MP_CONVID_SESSION, .source = ""};
    return key_of(user, ulen, &c, key);
}

uint64_t mp_convlook_own_turns(const struct mp_convlook *look, const struct mp_chatreq *req)
{
    if (!look->known || look->session)
        return 0;
    if (!req->upstream_state && !mp_convid_resends(req))
        return 0; /* a lone message under the client's own id: its turns are its memory */
    return look->digest;
}

bool mp_convlook_chain_start(const struct mp_convlook *look, const struct mp_chatreq *req)
{
    return req->stored && !req->upstream_state && look->known && look->kind != MP_CONVID_CLIENT &&
           !mp_convid_resends(req);
}

bool mp_convlook_shared(struct mp_store_view *view, const char *body, const struct mp_chatreq *req,
                        const struct mp_convid *id, const struct mp_convlook *look,
                        struct mp_convlook_lead *note)
{
    uint64_t leads[MP_STORE_CONV_LEADS], lead = 0;
    size_t n = 0;
    note->due = false;
    if (id->kind != MP_CONVID_CLIENT || !look->known || strcmp(id->source, "conversation") == 0 ||
        !mp_convid_lead(body, req, &lead) ||
        mp_store_view_leads(view, look->key, leads, &n) != MP_OK)
        return false;
    size_t shared = strcmp(id->source, "prompt_cache_key") == 0 ? MP_CONVLOOK_SHARED_LEADS_KEY
                                                                : MP_CONVLOOK_SHARED_LEADS_HEADER;
    if (n >= shared)
        return true;
    if (n == 0 && !mp_convid_resends(req))
        return false; /* maybe an app sending only its newest message: it shows no beginning */
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        seen = seen || leads[i] == lead;
    if (!seen && n < MP_STORE_CONV_LEADS) {
        *note = (struct mp_convlook_lead){.due = true, .lead = lead};
        memcpy(note->key, look->key, sizeof(note->key));
    }
    return n + !seen >= shared;
}
