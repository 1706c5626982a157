/* The "already there" rule (there.h). The request's own messages are
 * compared by length and role first, then by hash (computed once, only
 * when something has the length), then byte for byte; the head's past
 * messages by length and hash. The lengths of both are gathered once per
 * request, so that most texts are turned away by one bit. */
#include "wire/there.h"

#include <string.h>

#include "wire/chain.h"
#include "wire/chatreq.h"
#include "wire/ownwords.h"
#include "wire/wire.h"

/* Whether the head's past messages (head) or the request's own messages
 * (request) hold one of this role and text. */
static bool holds_in(const struct mp_there *t, bool head, bool request, enum mp_role role,
                     const char *text, size_t len)
{
    int cr = role == MP_ROLE_ASSISTANT ? MP_CR_ASSISTANT : MP_CR_USER;
    uint64_t h = 0, bit = 1ull << (len % 64);
    bool hashed = false;
    head = head && t->head != NULL && (t->lens_head != t->head || (t->head_lens & bit) != 0);
    request = request && (t->request_lens[role == MP_ROLE_ASSISTANT] & bit) != 0;
    for (size_t i = 0; head && i < t->head->npast; i++) {
        const struct mp_inject_past *hp = &t->head->past[i];
        if (hp->len != len)
            continue;
        if (!hashed) {
            h = mp_chatreq_hash_text(cr, text, len);
            hashed = true;
        }
        if (hp->hash == h)
            return true;
    }
    for (size_t i = 0; request && i < t->req->nmsgs; i++) {
        const struct mp_chatreq_msg *r = &t->req->msgs[i];
        const struct mp_ownwords_item *own =
            cr == MP_CR_USER && r->role == cr ? mp_ownwords_of(t->req->own, i) : NULL;
        if (r->role != cr || (r->text_len != len && (own == NULL || own->len != len)))
            continue;
        if (!hashed) {
            h = mp_chatreq_hash_text(cr, text, len);
            hashed = true;
        }
        if (own != NULL && own->len == len && own->hash == h)
            return true; /* its own words: by length and hash (no copy is kept) */
        if (r->text_len == len && r->text_hash == h &&
            t->wire->message_text_equals(t->body, r, text, len))
            return true;
    }
    return false;
}

/* Whether buffered or archived user text[0..len) is request message m's
 * text, or its own words when it holds inserted context (own). */
static bool same_user_text(const struct mp_there *t, const struct mp_chatreq_msg *m,
                           const struct mp_ownwords_item *own, const char *text, size_t len)
{
    if (own != NULL && own->len == len && own->hash == mp_chatreq_hash_text(MP_CR_USER, text, len))
        return true;
    return m->text_len == len && t->wire->message_text_equals(t->body, m, text, len);
}

bool mp_there_holds(const struct mp_there *t, enum mp_role role, const char *text, size_t len)
{
    return holds_in(t, true, true, role, text, len);
}

/* Whether the head holds m as a past message (rule 4): a fact of its
 * turn is not its words. */
static bool in_head(const struct mp_there *t, const struct mp_mem_message *m)
{
    return holds_in(t, true, false, m->role, m->content, m->content_len);
}

/* Rules 1 to 3 (by turn, not by text): the reason, or NULL. */
static const char *why_turn(const struct mp_there *t, const struct mp_mem_message *m)
{
    if (t->own_conv != 0 && (m->conv == t->own_conv || m->reply_ref == t->own_conv))
        return "own_conversation";
    if (t->own_request != NULL && strcmp(m->request_id, t->own_request) == 0)
        return "own_conversation";
    for (size_t i = 0; t->buffer_there != NULL && i < t->buffer_there->nmessages; i++) {
        if (t->buffer_there->messages[i].seq == m->seq)
            return "upstream_holds_conversation";
    }
    for (size_t i = 0; m->role == MP_ROLE_ASSISTANT && i < t->nagain; i++) {
        if (strcmp(m->request_id, t->again[i]) == 0)
            return "asked_again";
    }
    return NULL;
}

const char *mp_there_why(const struct mp_there *t, const struct mp_mem_message *m)
{
    const char *why = why_turn(t, m);
    if (why != NULL)
        return why;
    if (in_head(t, m))
        return "in_head";
    return holds_in(t, false, true, m->role, m->content, m->content_len) ? "already_in_request"
                                                                         : NULL;
}

/* Rules 4 and 5 in one walk: which of the two holds it does not matter. */
bool mp_there_seen(void *ctx, const struct mp_mem_message *m)
{
    const struct mp_there *t = ctx;
    return why_turn(t, m) != NULL || holds_in(t, true, true, m->role, m->content, m->content_len);
}

/* The lengths holds_in may match (struct mp_there). */
static void gather_lens(struct mp_there *t)
{
    for (size_t i = 0; t->head != NULL && i < t->head->npast; i++)
        t->head_lens |= 1ull << (t->head->past[i].len % 64);
    t->lens_head = t->head;
    for (size_t i = 0; i < t->req->nmsgs; i++) {
        const struct mp_chatreq_msg *r = &t->req->msgs[i];
        if (r->role != MP_CR_USER && r->role != MP_CR_ASSISTANT)
            continue;
        uint64_t *lens = &t->request_lens[r->role == MP_CR_ASSISTANT];
        const struct mp_ownwords_item *own =
            r->role == MP_CR_USER ? mp_ownwords_of(t->req->own, i) : NULL;
        *lens |= 1ull << (r->text_len % 64);
        if (own != NULL)
            *lens |= 1ull << (own->len % 64);
    }
}

void mp_there_init(struct mp_there *t, const struct mp_wire *w, const char *body,
                   const struct mp_chatreq *req, const struct mp_usermem *um, uint64_t own_conv,
                   const struct mp_inject_head *head)
{
    size_t q, prev;
    *t = (struct mp_there){.wire = w, .body = body, .req = req, .head = head, .own_conv = own_conv};
    t->buffer_there = req->upstream_state && own_conv == 0 ? um : NULL;
    t->own_request = mp_chain_first_request(um->messages, um->nmessages, own_conv);
    gather_lens(t);
    mp_chatreq_question(req, &q, &prev);
    if (q == req->nmsgs)
        return;
    const struct mp_chatreq_msg *qm = &req->msgs[q];
    const struct mp_ownwords_item *own = mp_ownwords_of(req->own, q);
    for (size_t i = um->nmessages; i-- > 0 && t->nagain < MP_THERE_AGAIN_MAX;) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->role != MP_ROLE_USER || m->request_id[0] == '\0' ||
            !same_user_text(t, qm, own, m->content, m->content_len))
            continue;
        memcpy(t->again[t->nagain++], m->request_id, sizeof(t->again[0]));
    }
}
