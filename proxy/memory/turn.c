/* A finished chat turn, taken out of its request (see turn.h). */
#include "memory/turn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/chatreq.h"
#include "wire/clienttask.h"
#include "json/json_scan.h"
#include "format/sha256.h"
#include "status.h"
#include "wire/toolloop.h"
#include "user_id.h"
#include "json/utf8.h"
#include "wire/wire.h"

void mp_turn_conv_free(struct mp_turn_conv *c)
{
    if (c == NULL)
        return;
    mp_store_conv_cleanup(&c->rec);
    free(c);
}

size_t mp_turn_conv_ops(struct mp_op *ops, const char *user, size_t len, struct mp_turn_conv *c,
                        int64_t now)
{
    size_t n = 0;
    if (c->has_rec) {
        ops[n] =
            (struct mp_op){.kind = MP_OP_PUT_CONV, .user = user, .user_len = len, .now_ms = now};
        ops[n].u.conv.key = c->key;
        ops[n].u.conv.tail_only = c->tail_only;
        ops[n++].u.conv.rec = &c->rec;
    }
    if (c->has_lead) {
        ops[n] =
            (struct mp_op){.kind = MP_OP_NOTE_LEAD, .user = user, .user_len = len, .now_ms = now};
        ops[n].u.lead.key = c->lead_key;
        ops[n++].u.lead.lead = c->lead;
    }
    if (c->has_refile) {
        ops[n] = (struct mp_op){.kind = MP_OP_REFILE, .user = user, .user_len = len, .now_ms = now};
        ops[n].u.refile.from = c->refile.from;
        ops[n].u.refile.to = c->refile.to;
        ops[n].u.refile.kind = c->refile.kind;
        ops[n].u.refile.first_seq = c->refile.first_seq;
        ops[n++].u.refile.last_seq = c->refile.last_seq;
    }
    return n;
}

void mp_turn_free(struct mp_turn *t)
{
    if (t == NULL)
        return;
    mp_turn_conv_free(t->conv_put);
    for (size_t i = 0; i < t->ntexts; i++)
        free(t->texts[i]);
    if (t->auth != NULL)
        memset(t->auth, 0, t->auth_len);
    free(t->auth);
    free(t);
}

/* A copy of text[0..len) cut to MP_TURN_TEXT_KEEP bytes at a UTF-8
 * boundary, NUL-terminated; a NUL in it (a user's "\u0000") becomes
 * U+FFFD, so the text is kept whole rather than refused. */
static char *keep_text(const char *text, size_t len, size_t *kept)
{
    static const char fffd[] = "\xef\xbf\xbd";
    len = mp_utf8_cut(text, len, MP_TURN_TEXT_KEEP);
    size_t nuls = 0, n = 0;
    for (const char *p = memchr(text, '\0', len); p != NULL;
         p = memchr(p + 1, '\0', len - (size_t)(p + 1 - text)))
        nuls++;
    char *copy = malloc(len + 2 * nuls + 1);
    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\0') {
            copy[n++] = text[i];
            continue;
        }
        memcpy(copy + n, fffd, 3);
        n += 3;
    }
    copy[n] = '\0';
    *kept = n;
    return copy;
}

static int add_text(struct mp_turn *t, const char *text, size_t len)
{
    size_t kept = 0;
    char *copy = keep_text(text, len, &kept);
    if (copy == NULL)
        return MP_ENOMEM;
    t->texts[t->ntexts] = copy;
    t->lens[t->ntexts++] = kept;
    t->bytes += kept + 1;
    return MP_OK;
}

/* What to leave out of the user's texts (borrowed) and what went. */
struct own_words {
    const struct mp_inserted_patterns *inserted;
    struct mp_ownwords_count *stripped;
};

static void add_count(struct mp_ownwords_count *to, const struct mp_ownwords_text *res)
{
    for (int i = 0; to != NULL && i < MP_OWN_HOWS; i++)
        to->structure[i] += res->structure[i];
}

/* The prints of the user text just added (t->texts[t->ntexts - 1], kept
 * from own[0..len)): those inside what was kept, when the copy is the same
 * bytes (no NUL became U+FFFD); the rest are unprinted. */
static void add_prints(struct mp_turn *t, const struct mp_ownwords_text *res, const char *own,
                       size_t len)
{
    size_t at = t->ntexts - 1, kept = t->lens[at];
    bool same = kept <= len && memchr(own, '\0', kept) == NULL;
    t->unprinted = t->unprinted || res->unprinted;
    for (uint32_t i = 0; i < res->nprints; i++) {
        const struct mp_ownwords_print *p = &res->prints[i];
        if (!same || (size_t)p->start + p->len > kept || t->nprints == MP_STORE_PRINTS_MAX) {
            t->unprinted = true;
            continue;
        }
        t->prints[t->nprints++] = (struct mp_store_print){(uint32_t)at, p->start, p->len, p->print};
    }
}

/* Adds the own words of request message m (core/wire/ownwords.h) in its
 * run, if it has any: a message of only a client's text adds nothing. */
static int add_message(struct mp_turn *t, const struct mp_wire *w, const char *body,
                       const struct mp_chatreq_msg *m, const struct mp_ownwords_run *run,
                       const struct own_words *ow)
{
    /* the text parts' length, not the message's: its images are never copied */
    size_t cap = m->text_len + 1;
    char *text = malloc(cap);
    struct mp_ownwords_text res;
    if (text == NULL)
        return MP_ENOMEM;
    int rc = mp_ownwords_message(w, body, m, ow->inserted, run, text, cap, &res,
                                 ow->stripped != NULL ? &ow->stripped->patterns : NULL);
    if (rc == MP_OK)
        add_count(ow->stripped, &res);
    if (rc == MP_OK && (res.len > 0 || !res.changed)) { /* only blocks: nothing of the user's */
        rc = add_text(t, text, res.len);
        if (rc == MP_OK)
            add_prints(t, &res, text, res.len);
    } else if (rc == MP_OK && ow->stripped != NULL) {
        ow->stripped->patterns.only++; /* a message of only a client's text */
    } else if (rc == MP_NOTFOUND) {
        rc = MP_OK; /* no text (an image, say): nothing to record */
    }
    free(text);
    return rc;
}

/* The request's "model", for provenance ("" when absent or odd). */
static void request_model(const char *body, size_t len, char *out, size_t cap)
{
    size_t vs = 0, ve = 0, n = 0;
    if (mp_json_find_member(body, len, "model", 5, &vs, &ve) != MP_OK || body[vs] != '"' ||
        mp_json_string_decode(body, vs, ve, out, cap - 1, &n) != MP_OK ||
        mp_user_id_validate(out, n) != MP_OK) /* printable, no control characters */
        n = 0;
    out[n] = '\0';
}

/* The idempotency key: SHA-256 over the user and the request body, so a
 * retried identical request records nothing twice. */
static void idem_key(const char *user, size_t user_len, const char *body, size_t len, uint8_t *key)
{
    uint8_t len_be[8];
    for (int i = 0; i < 8; i++)
        len_be[i] = (uint8_t)((uint64_t)user_len >> (56 - 8 * i));
    const struct mp_sha256_part parts[] = {{len_be, sizeof(len_be)}, {user, user_len}, {body, len}};
    mp_sha256(parts, sizeof(parts) / sizeof(parts[0]), key);
}

/* The credential header line "Name: value" the turn lends. */
static int copy_auth(struct mp_turn *t, const struct mp_turn_auth *auth)
{
    t->lends = true;
    t->auth_api = auth->api;
    if (auth->value == NULL)
        return MP_OK;
    size_t n = strlen(auth->name), len = n + 2 + auth->value_len;
    t->auth = malloc(len + 1);
    if (t->auth == NULL)
        return MP_ENOMEM;
    memcpy(t->auth, auth->name, n);
    memcpy(t->auth + n, ": ", 2);
    memcpy(t->auth + n + 2, auth->value, auth->value_len);
    t->auth[len] = '\0';
    t->auth_len = len;
    t->bytes += len + 1;
    return MP_OK;
}

/* Adds the texts of the user messages in [from, to) of req, one run. */
static int add_user_texts(struct mp_turn *t, const struct mp_wire *w, const char *body,
                          const struct mp_chatreq *req, size_t from, size_t to,
                          const struct own_words *ow)
{
    struct mp_ownwords_run run;
    int rc = mp_ownwords_run(w, body, req, from, to, ow->inserted, &run);
    for (size_t i = from; i < to && t->ntexts < MP_TURN_MAX_USER_TEXTS && rc == MP_OK; i++) {
        if (req->msgs[i].role == MP_CR_USER)
            rc = add_message(t, w, body, &req->msgs[i], &run, ow);
    }
    return rc;
}

/* What the turn is in a tool loop (turn.h), its user texts added (the
 * request's new ones, or a final answer's, the loop's beginning).
 * MP_NOTFOUND: nothing to remember. */
static int loop_round(struct mp_turn *t, const struct mp_wire *w, const char *body,
                      const struct mp_chatreq *req, const struct mp_turn_reply *r,
                      const struct own_words *ow)
{
    size_t first, at;
    t->loop_start_here = mp_toolloop_start(body, req, &first, &at);
    t->loop_prefix = t->loop_start_here ? mp_toolloop_prefix(req, at) : 0;
    t->loop_upstream = req->upstream_state && r->prev_ref == 0;
    t->loop_prev_ref = r->prev_ref;
    uint32_t only = ow->stripped != NULL ? ow->stripped->patterns.only : 0;
    int rc = add_user_texts(t, w, body, req, req->first_new_user, req->nmsgs, ow);
    if (rc != MP_OK || t->ntexts > 0) {
        t->loop = r->calls_tool ? MP_TURN_LOOP_START : MP_TURN_PLAIN;
        return rc;
    }
    if (!mp_toolloop_answers_calls(body, req))
        return MP_NOTFOUND;   /* no new user text: nothing to remember */
    if (ow->stripped != NULL) /* its context came with tool results: not a turn of only that */
        ow->stripped->patterns.only = only;
    if (r->calls_tool) { /* an intermediate round: at most a link */
        t->loop = MP_TURN_LOOP_LINK;
        return r->prev_ref != 0 ? MP_OK : MP_NOTFOUND;
    }
    if (r->len == 0)
        return MP_NOTFOUND;
    t->loop = MP_TURN_LOOP_END; /* with the words that began the loop, when here */
    return t->loop_start_here ? add_user_texts(t, w, body, req, first, at + 1, ow) : MP_OK;
}

int mp_turn_new(const struct mp_wire *w, const char *user, size_t user_len, const char *request_id,
                const char *body, size_t len, const struct mp_turn_reply *reply,
                const struct mp_turn_auth *auth, const struct mp_inserted_patterns *inserted,
                struct mp_ownwords_count *stripped, struct mp_chatreq_msg *msgs,
                struct mp_turn **out)
{
    const struct own_words ow = {.inserted = inserted, .stripped = stripped};
    struct mp_chatreq req;
    if (user_len == 0 || user_len > MP_USER_KEY_MAX ||
        w->scan(body, len, msgs, MP_CHATREQ_MAX_MESSAGES, &req) != MP_OK)
        return MP_EINVAL;
    struct mp_turn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MP_ENOMEM;
    t->bytes = sizeof(*t);
    mp_sidereq_read(w, body, &req, &t->shape);
    t->side_kind = (uint8_t)(t->shape.lone ? mp_sidereq_kind(w, body, &req) : MP_TASK_OTHER);
    int rc = loop_round(t, w, body, &req, reply, &ow);
    if (rc == MP_OK)
        rc = add_text(t, reply->text, t->loop == MP_TURN_LOOP_LINK ? 0 : reply->len);
    if (rc == MP_OK)
        rc = copy_auth(t, auth);
    if (rc != MP_OK) {
        mp_turn_free(t);
        return rc;
    }
    memcpy(t->user, user, user_len);
    t->user_len = user_len;
    snprintf(t->request_id, sizeof(t->request_id), "%s", request_id);
    request_model(body, len, t->model, sizeof(t->model));
    idem_key(user, user_len, body, len, t->idem_key);
    *out = t;
    return MP_OK;
}

/* A loop key: SHA-256 over a tag naming what it names, the user key and
 * the two numbers a and b. */
static void loop_key(const char *tag, const struct mp_turn *t, uint64_t a, uint64_t b, uint8_t *out)
{
    uint8_t num[24];
    for (int i = 0; i < 8; i++) {
        num[i] = (uint8_t)((uint64_t)t->user_len >> (56 - 8 * i));
        num[8 + i] = (uint8_t)(a >> (56 - 8 * i));
        num[16 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    const struct mp_sha256_part parts[] = {
        {tag, strlen(tag) + 1}, {num, 8}, {t->user, t->user_len}, {num + 8, 16}};
    mp_sha256(parts, sizeof(parts) / sizeof(parts[0]), out);
}

/* The keys that name the loop's beginning as this round sees it, into
 * keys (*n): the conversation up to the request (when here), the
 * response id given (a reference), the upstream's conversation. */
static void loop_names(const struct mp_turn *t, uint64_t ref, uint8_t (*keys)[MP_IDEM_KEY_LEN],
                       size_t *n)
{
    *n = 0;
    if (t->loop_start_here)
        loop_key("memproxy loop: the conversation", t, t->loop_prefix, 0, keys[(*n)++]);
    if (ref != 0)
        loop_key("memproxy loop: a response", t, ref, 0, keys[(*n)++]);
    if (t->loop_upstream && t->conv != 0)
        loop_key("memproxy loop: the upstream's conversation", t, t->conv, t->conv_kind,
                 keys[(*n)++]);
}

int mp_turn_loop_keys(struct mp_turn *t)
{
    switch (t->loop) {
    case MP_TURN_PLAIN:
        return MP_OK;
    case MP_TURN_LOOP_START: /* found again by the next round's names */
        loop_names(t, t->reply_ref, t->keep, &t->nkeep);
        return MP_OK;
    case MP_TURN_LOOP_LINK:
        t->nfind = 0;
        t->nkeep = 0;
        if (t->loop_prev_ref == 0 || t->reply_ref == 0)
            return MP_NOTFOUND;
        loop_key("memproxy loop: a response", t, t->loop_prev_ref, 0, t->find[t->nfind++]);
        loop_key("memproxy loop: a response", t, t->reply_ref, 0, t->keep[t->nkeep++]);
        return MP_OK;
    case MP_TURN_LOOP_END:
        loop_names(t, t->loop_prev_ref, t->find, &t->nfind);
        if (t->nfind == 0)
            return MP_NOTFOUND;
        memcpy(t->idem_key, t->find[0], MP_IDEM_KEY_LEN);
        return MP_OK;
    }
    return MP_OK;
}
