/* Finding a request's conversation (convlook.h). */
#include "plane/convlook.h"

#include <string.h>

#include "wire/chain.h"
#include "wire/chatreq.h"
#include "wire/ownwords.h"
#include "http/http_parse.h"
#include "hex.h"
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

uint64_t mp_convlook_digest(const unsigned char key[MP_CONVLOOK_KEY_LEN])
{
    uint64_t d = 0;
    for (size_t i = 0; i < 8; i++)
        d = (d << 8) | key[i];
    return d;
}

struct mp_convlook_limits mp_convlook_limits(const struct mp_config *cfg)
{
    return (struct mp_convlook_limits){
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

/* Whether the client id id is one several conversations share (convlook.h:
 * MP_CONVLOOK_SHARED_LEADS_HEADER): the beginnings view noted for look's
 * key, the id's conversation. The id's first beginning is a resending
 * request's (a lone message may come from an app that sends only its
 * newest one); once it has one, a lone message beginning otherwise is
 * another conversation's first turn. A beginning not noted yet goes into
 * *note (due). Only a client id (not Responses' "conversation": the
 * upstream's own) can be shared. */
static bool shared(struct mp_store_view *view, const char *body, const struct mp_chatreq *req,
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
    const size_t limit = MP_CONVLOOK_SHARED_LEADS_HEADER;
    if (n >= limit)
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
    return n + !seen >= limit;
}

/* Whether the user's client is shown to send its newest message alone
 * (convlook.h: mp_convlook_resolve): its newest buffered user message in
 * um, within idle_ms of now, was filed under the session, or was a lone
 * first turn never resent whose conversation is not first's (this
 * request's, keyed by its leading messages). */
static bool sends_newest_alone(const struct mp_usermem *um, uint64_t first, int64_t now,
                               int64_t idle_ms)
{
    for (size_t i = um != NULL ? um->nmessages : 0; i-- > 0;) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role != MP_ROLE_USER)
            continue;
        if (now - m->at_ms > idle_ms || m->conv == first)
            return false;
        return m->conv_kind == MP_CONVID_SESSION || m->conv_kind == MP_CONVID_FIRST;
    }
    return false;
}

/* The conversation id alone names (its chain, when it is one, not yet
 * looked for), a lone message keyed as mp_convlook_resolve says. */
static void find(const struct mp_usermem *um, const char *user, size_t ulen, const char *body,
                 const struct mp_chatreq *req, const struct mp_convid *id, int64_t now_ms,
                 const struct mp_convlook_limits *lim, struct mp_convlook *out)
{
    struct mp_convid c = *id;
    bool chain = c.kind == MP_CONVID_CHAIN;
    out->chain_ref = chain ? mp_convlook_reply_ref(user, ulen, c.id, c.id_len) : 0;
    out->first = false;
    if (chain) /* the user's session, unless mp_convlook_chain finds the chain */
        c = (struct mp_convid){.kind = MP_CONVID_SESSION, .source = ""};
    struct mp_convid lead = {.kind = MP_CONVID_LEADING, .source = ""};
    unsigned char lk[MP_CONVLOOK_KEY_LEN];
    /* a request the upstream stores is never the session's: its chain goes on from it */
    if (c.kind == MP_CONVID_SESSION && !chain && mp_convid_lead(body, req, &lead.lead) &&
        key_of(user, ulen, &lead, lk) &&
        (req->stored || !sends_newest_alone(um, mp_convlook_digest(lk), now_ms, lim->idle_ms))) {
        c = lead; /* the first turn of the conversation its client goes on with */
        out->first = true;
    }
    if (out->first) /* its key made above: not hashed again */
        memcpy(out->key, lk, sizeof(lk));
    out->known = out->first || key_of(user, ulen, &c, out->key);
    out->session = c.kind == MP_CONVID_SESSION;
    out->kind = c.kind;
    out->digest = out->known ? mp_convlook_digest(out->key) : 0;
    if (out->known && c.kind == MP_CONVID_LEADING) { /* the head's key from the digest alone */
        bool first = out->first;
        mp_convlook_chain_is(user, ulen, out->digest, out);
        out->kind = MP_CONVID_LEADING;
        out->first = first;
    }
}

void mp_convlook_resolve(struct mp_store_view *view, const struct mp_usermem *um, const char *user,
                         size_t ulen, const char *body, size_t len, const struct mp_chatreq *req,
                         const struct mp_convid_headers *hd, const struct mp_convid *id,
                         int64_t now_ms, const struct mp_convlook_limits *lim,
                         struct mp_convlook *out, struct mp_convlook_lead *note)
{
    note->due = false;
    find(um, user, ulen, body, req, id, now_ms, lim, out);
    if (view != NULL && shared(view, body, req, id, out, note)) {
        struct mp_convid next; /* names no conversation: the next rule */
        mp_convid_identify_past(body, len, req, hd, id->source, &next);
        find(um, user, ulen, body, req, &next, now_ms, lim, out);
    }
    if (um != NULL)
        (void)mp_convlook_chain(user, ulen, um->messages, um->nmessages, out);
}

uint64_t mp_convlook_reply_ref(const char *user, size_t ulen, const char *id, size_t id_len)
{
    unsigned char key[MP_CONVLOOK_KEY_LEN];
    struct mp_convid c = {
        .kind = MP_CONVID_CHAIN, .source = MP_CONVID_CHAIN_SOURCE, .id = id, .id_len = id_len};
    if (id_len == 0 || id_len > MP_CONVID_ID_MAX || !key_of(user, ulen, &c, key))
        return 0;
    return mp_convlook_digest(key);
}

uint64_t mp_convlook_export_digest(const char *user, size_t ulen, const char *source,
                                   const char *id, size_t id_len)
{
    unsigned char key[MP_CONVLOOK_KEY_LEN];
    struct mp_convid c = {.kind = MP_CONVID_CLIENT,
                          .source = source,
                          .id = id,
                          .id_len = id_len < MP_CONVID_ID_MAX ? id_len : MP_CONVID_ID_MAX};
    return key_of(user, ulen, &c, key) ? mp_convlook_digest(key) : 0;
}

void mp_convlook_chain_is(const char *user, size_t ulen, uint64_t conv, struct mp_convlook *look)
{
    /* the head's key from the digest alone: a later link knows no more */
    unsigned char be[8];
    char hex[2 * sizeof(be) + 1];
    for (size_t i = 0; i < sizeof(be); i++)
        be[i] = (unsigned char)(conv >> (56 - 8 * i));
    mp_hex_encode(be, sizeof(be), hex); /* "%016llx" */
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

bool mp_convlook_kept(struct mp_store_view *view, const unsigned char *key, int64_t now_ms,
                      const struct mp_convlook_limits *lim, struct mp_store_conv *out)
{
    if (mp_store_view_conv(view, key, out) != MP_OK)
        return false;
    if (now_ms - out->built_ms <= lim->max_age_ms && now_ms - out->written_ms <= lim->idle_ms)
        return true;
    mp_store_conv_cleanup(out);
    return false;
}

/* The text hash of req's first user message (its own words when its
 * client inserted context) and its length: false when it has none. */
static bool first_user_text(const struct mp_chatreq *req, uint64_t *hash, size_t *len)
{
    for (size_t i = 0; i < req->nmsgs; i++) {
        if (req->msgs[i].role != MP_CR_USER)
            continue;
        const struct mp_ownwords_item *own = mp_ownwords_of(req->own, i);
        *hash = own != NULL ? own->hash : req->msgs[i].text_hash;
        *len = own != NULL ? own->len : req->msgs[i].text_len;
        return true;
    }
    return false;
}

bool mp_convlook_moved_first(const struct mp_usermem *um, const char *user, size_t ulen,
                             const struct mp_chatreq *req, const struct mp_convlook *look,
                             uint64_t *from, uint64_t *first_seq, uint64_t *last_seq)
{
    unsigned char sk[MP_CONVLOOK_KEY_LEN];
    uint64_t hash;
    size_t len;
    if (um == NULL || !look->known || look->session || look->first || !mp_convid_resends(req))
        return false;
    /* the session's newest user message, by its recorded rule: the
       session's key is hashed only when the buffer holds one */
    size_t i = um->nmessages;
    while (i > 0 && (um->messages[i - 1].role != MP_ROLE_USER ||
                     um->messages[i - 1].conv_kind != MP_CONVID_SESSION))
        i--;
    if (i == 0 || !mp_convlook_session_key(user, ulen, sk) || !first_user_text(req, &hash, &len))
        return false;
    const struct mp_mem_message *m = &um->messages[i - 1];
    if (m->conv != mp_convlook_digest(sk) || m->content_len != len ||
        mp_chatreq_hash_text(MP_CR_USER, m->content, m->content_len) != hash)
        return false; /* the session's newest turn is another's */
    size_t last = i - 1;
    while (last + 1 < um->nmessages &&
           strcmp(um->messages[last + 1].request_id, m->request_id) == 0)
        last++;
    *from = m->conv;
    *first_seq = m->seq;
    *last_seq = um->messages[last].seq;
    return *last_seq - *first_seq < MP_STORE_REFILE_MAX;
}

enum mp_convid_kind mp_convlook_recorded_kind(const struct mp_convlook *look)
{
    return look->first ? MP_CONVID_FIRST : look->kind;
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
