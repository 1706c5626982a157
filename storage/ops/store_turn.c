/* Recording a turn (MP_OP_RECORD_TURN): its messages into the buffer and
 * the archive under its idempotency key, or, when the key is known, the
 * earlier turn's reply replaced by the new one. A user message is never
 * recorded twice; what a request reads is not decided here
 * (core/wire/there.h).
 *
 * Why replace: a chat front end's "regenerate" and an SDK's retry after a
 * lost reply send the same body again (the same key), and in both the
 * reply the client keeps is the new one; memory that kept the rejected
 * one would replay it. So the idem record keeps, after the time it had
 * always held, its turn's seqs: the user's messages (first, last) and the
 * reply's (first, last). A replacement erases the reply as
 * MP_OP_DELETE_MESSAGE erases a message (buffer, archive, postings, heads,
 * search keys; the summary when it covers it; DELETED history entries; a
 * new memory epoch, since a kept head may hold it), drops the facts the
 * reply alone told, appends the new reply under the next seq with the
 * turn's request id (the turn is still the one its user messages began:
 * there.h's asked_again finds the reply by it), and writes the record
 * again with the new reply's seqs. A reply equal to the kept one, or a
 * kept one gone (erased, expired, trimmed with no archive), changes
 * nothing. A turn kept without a reply (its reply had no words: a
 * content filter's stop, reasoning alone) gets the new one after its
 * user's messages, as a loop's answer follows a first round that said
 * nothing (below).
 *
 * An agent's tool loop (docs/memory-recording.md "Agent loops") is one turn: the
 * user's request and the loop's final answer. Its first round records the
 * request (and the reply that called a tool, if it said something) and
 * keeps that turn's seqs under more keys (the caller's loop keys: the
 * conversation up to the request, the reply's response id...); the final
 * round finds the turn by one of them and puts its answer in the place of
 * that reply, as a replacement does, or after the request when the first
 * round said nothing; a Responses round that continues a stored response
 * links the next response id to the same turn. The keys live with the
 * idem keys (same record, same window, same erasure).
 *
 * A record of 8 bytes (written before the seqs were kept, or an import's
 * line id) knows no turn: the op records nothing, as before. An older
 * memproxy takes the longer record for a known key as well, so the
 * store's format number stays. */
#include "ops/store_turn.h"

#include <stdlib.h>
#include <string.h>

#include "ops/lifecycle.h"
#include "status.h"
#include "ops/store_archive.h"
#include "ops/store_facts.h"
#include "ops/store_whose.h"

#define IDEM_TURN_LEN (8 + 4 * 8) /* i64 at | u64 user first, last | u64 reply first, last */
#define REPLY_MAX     256         /* reply messages one replacement erases, at most */

/* A turn's seqs as its idem record keeps them (first 0: none). */
struct turn_seqs {
    uint64_t user_first, user_last, reply_first, reply_last;
};

static int put_idem(struct mp_ops_ctx *w, const unsigned char *kb, size_t kn, int64_t at,
                    const struct turn_seqs *t)
{
    unsigned char v[IDEM_TURN_LEN];
    mp_codec_le_put(v, (uint64_t)at, 8);
    mp_codec_le_put(v + 8, t->user_first, 8);
    mp_codec_le_put(v + 16, t->user_last, 8);
    mp_codec_le_put(v + 24, t->reply_first, 8);
    mp_codec_le_put(v + 32, t->reply_last, 8);
    return mp_store_backend_put(w->txn, MP_TABLE_IDEM, kb, kn, v, sizeof(v));
}

/* The seqs a record keeps: MP_OK with *t, or MP_NOTFOUND (a record of
 * the time alone). */
static int record_seqs(const struct mp_store_plain *pv, struct turn_seqs *t)
{
    if (pv->n < IDEM_TURN_LEN)
        return MP_NOTFOUND;
    t->user_first = mp_codec_le_get(pv->p + 8, 8);
    t->user_last = mp_codec_le_get(pv->p + 16, 8);
    t->reply_first = mp_codec_le_get(pv->p + 24, 8);
    t->reply_last = mp_codec_le_get(pv->p + 32, 8);
    return MP_OK;
}

static bool reply_known(const struct turn_seqs *t)
{
    return t->reply_first != 0 && t->reply_last >= t->reply_first &&
           t->reply_last - t->reply_first < REPLY_MAX;
}

/* Whether t names its user's messages. */
static bool user_known(const struct turn_seqs *t)
{
    return t->user_first != 0 && t->user_last >= t->user_first &&
           t->user_last - t->user_first < REPLY_MAX;
}

/* The turn of a known key: MP_OK with *t (its reply known, or its user's
 * messages: a turn whose reply had no words), or MP_NOTFOUND (a record of
 * the time alone). */
static int known_turn(const struct mp_store_plain *pv, struct turn_seqs *t)
{
    if (record_seqs(pv, t) != MP_OK || (!reply_known(t) && !user_known(t)))
        return MP_NOTFOUND;
    return MP_OK;
}

/* Where op's reply starts: its trailing assistant messages (nmessages:
 * none). */
static size_t reply_at(const struct mp_op *op)
{
    size_t i = op->u.turn.nmessages;
    while (i > 0 && op->u.turn.messages[i - 1].role == MP_ROLE_ASSISTANT)
        i--;
    return i;
}

static int skipped(struct mp_ops_out *out)
{
    out->result = MP_NOTFOUND;
    return MP_OK;
}

static const struct mp_mem_message *buffered(const struct mp_usermem *um, uint64_t seq)
{
    for (size_t i = 0; i < um->nmessages; i++) {
        if (um->messages[i].seq == seq)
            return &um->messages[i];
    }
    return NULL;
}

static bool same_text(const struct mp_mem_message *a, const struct mp_mem_message *b)
{
    return a->content_len == b->content_len && memcmp(a->content, b->content, a->content_len) == 0;
}

/* The kept reply of t against op's reply (from at): *any when a message
 * of it is still kept (buffer or archive), *same when op's reply is it
 * word for word; rid gets the request id of the first one kept. */
static int compare_kept(struct mp_ops_ctx *w, const struct turn_seqs *t, const struct mp_op *op,
                        size_t at, bool *any, bool *same, char *rid)
{
    size_t nnew = op->u.turn.nmessages - at;
    *any = false;
    *same = t->reply_last - t->reply_first + 1 == nnew;
    for (uint64_t seq = t->reply_first; seq <= t->reply_last; seq++) {
        struct mp_mem_message copy = {.content = NULL};
        const struct mp_mem_message *m = buffered(w->um, seq);
        size_t k = (size_t)(seq - t->reply_first);
        int rc = m == NULL ? mp_ops_archive_get(w, seq, &copy) : MP_OK;
        if (rc == MP_NOTFOUND) {
            *same = false;
            continue;
        }
        if (rc != MP_OK)
            return rc;
        m = m != NULL ? m : &copy;
        if (!*any)
            memcpy(rid, m->request_id, MP_REQUEST_ID_MAX + 1);
        *any = true;
        *same = *same && k < nnew && same_text(m, &op->u.turn.messages[at + k]);
        free(copy.content);
    }
    return MP_OK;
}

/* Erases the kept reply as DELETE_MESSAGE erases a message (op: the
 * entries' actor), its history entries into ev (2 per message at most). */
static int erase_reply(struct mp_ops_ctx *w, const struct mp_op *op, const struct turn_seqs *t,
                       struct mp_history_item *ev, size_t *nev)
{
    for (uint64_t seq = t->reply_first; seq <= t->reply_last; seq++) {
        int rc = mp_ops_archive_erase_message(w, seq);
        if (rc != MP_OK && rc != MP_NOTFOUND)
            return rc;
        *nev += mp_lifecycle_erase_message(w->um, seq, rc == MP_OK, op, ev + *nev);
    }
    return MP_OK;
}

/* Appends op's reply (from at) under the next seqs with request id rid
 * (and the conversation of like, when given), archived as a turn's
 * messages are. */
static int append_reply(struct mp_ops_ctx *w, const struct mp_op *op, size_t at, const char *rid,
                        const struct mp_mem_message *like, uint64_t *first, uint64_t *last)
{
    size_t n = op->u.turn.nmessages - at, from = w->um->nmessages;
    struct mp_mem_message *m = malloc(n * sizeof(*m));
    if (m == NULL)
        return MP_ENOMEM;
    memcpy(m, op->u.turn.messages + at, n * sizeof(*m));
    for (size_t i = 0; i < n; i++) {
        memcpy(m[i].request_id, rid, sizeof(m[i].request_id));
        if (like != NULL) {
            m[i].conv = like->conv;
            m[i].conv_kind = like->conv_kind;
        }
    }
    struct mp_op sub = *op;
    sub.u.turn.messages = m;
    sub.u.turn.nmessages = n;
    int rc = mp_lifecycle_append(w->um, &sub, first, last);
    if (rc == MP_OK)
        rc = mp_ops_archive_turn(w, from);
    free(m);
    return rc;
}

/* Whether the buffer holds a message of another turn between the turn's
 * user messages (through user_last) and its new reply (from). */
static bool others_between(const struct mp_usermem *um, uint64_t user_last, uint64_t from)
{
    for (size_t i = 0; i < um->nmessages; i++) {
        if (um->messages[i].seq > user_last && um->messages[i].seq < from)
            return true;
    }
    return false;
}

/* The turn's seqs for its extraction job (ADD_JOB inherits them): its
 * user messages through the new reply, or the reply alone when another
 * turn lies between them in the buffer (the extraction would read it). */
static void replaced_seqs(const struct mp_usermem *um, const struct turn_seqs *t,
                          struct mp_ops_out *out)
{
    bool alone = t->user_first == 0 || others_between(um, t->user_last, t->reply_first);
    out->first_seq = alone ? t->reply_first : t->user_first;
    out->last_seq = t->reply_last;
    out->replaced = true;
}

/* Puts op's reply (from at) in the place of t's (any: a message of t's
 * reply is still kept, and is erased first), as request rid's, in the
 * conversation of like (NULL: op's own), and writes the key kb again with
 * the new seqs (*t). */
static int supersede(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                     const unsigned char *kb, size_t kn, struct turn_seqs *t, size_t at, bool any,
                     const char *rid, const struct mp_mem_message *like)
{
    size_t n = 0, nf = 0;
    struct mp_op by_user = *op; /* the user rejected it: their erasure */
    by_user.actor = MP_ACTOR_USER;
    struct mp_history_item *ev = NULL, *fev = NULL;
    int rc = MP_OK;
    if (any) {
        ev = calloc(2 * (t->reply_last - t->reply_first + 1), sizeof(*ev));
        if (ev == NULL)
            return MP_ENOMEM;
        rc = erase_reply(w, &by_user, t, ev, &n);
        if (rc == MP_OK)
            rc = mp_ops_drop_reply_facts(w, &by_user, t->reply_first, t->reply_last, &fev, &nf);
    }
    if (rc == MP_OK)
        rc = append_reply(w, op, at, rid, like, &t->reply_first, &t->reply_last);
    if (rc == MP_OK)
        rc = put_idem(w, kb, kn, op->now_ms, t);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, ev, n);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, fev, nf);
    free(ev);
    free(fev);
    if (rc != MP_OK)
        return rc;
    if (any)
        mp_ops_touch_edited(w, op->now_ms); /* a kept head may hold the rejected reply */
    else
        mp_ops_touch(w, op->now_ms);
    replaced_seqs(w->um, t, out);
    out->replaced = any;
    return MP_OK;
}

/* The first of t's user messages still kept (buffer or archive), its
 * request id and conversation into *like (no content). MP_NOTFOUND when
 * all are gone. */
static int kept_user(struct mp_ops_ctx *w, const struct turn_seqs *t, struct mp_mem_message *like)
{
    for (uint64_t seq = t->user_first; seq <= t->user_last; seq++) {
        struct mp_mem_message copy = {.content = NULL};
        const struct mp_mem_message *m = buffered(w->um, seq);
        int rc = m == NULL ? mp_ops_archive_get(w, seq, &copy) : MP_OK;
        if (rc == MP_NOTFOUND)
            continue;
        if (rc != MP_OK)
            return rc;
        *like = m != NULL ? *m : copy;
        like->content = NULL;
        like->content_len = 0;
        free(copy.content);
        return MP_OK;
    }
    return MP_NOTFOUND;
}

/* op's reply in the place of the reply of the turn t found under kb, or
 * after its user's messages when it kept none (a loop's first round that
 * only called a tool, a turn whose reply had no words): a loop's final
 * answer, or a turn's reply regenerated. */
static int answer(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                  const unsigned char *kb, size_t kn, struct turn_seqs *t)
{
    struct mp_mem_message like;
    bool any = false, same = false;
    char rid[MP_REQUEST_ID_MAX + 1] = "";
    size_t at = reply_at(op);
    if (at == op->u.turn.nmessages)
        return skipped(out); /* no answer */
    int rc = kept_user(w, t, &like);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? skipped(out) : rc; /* the user erased their request */
    if (reply_known(t))
        rc = compare_kept(w, t, op, at, &any, &same, rid);
    if (rc != MP_OK || (any && same))
        return rc != MP_OK ? rc : skipped(out);
    return supersede(w, op, out, kb, kn, t, at, any, like.request_id, &like);
}

static int replace(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                   const unsigned char *kb, size_t kn, struct turn_seqs *t)
{
    char rid[MP_REQUEST_ID_MAX + 1] = "";
    bool any, same;
    size_t at = reply_at(op);
    if (at == op->u.turn.nmessages)
        return skipped(out); /* no reply to put in its place */
    if (!reply_known(t))
        return answer(w, op, out, kb, kn, t); /* it kept none: the reply follows its request */
    int rc = compare_kept(w, t, op, at, &any, &same, rid);
    if (rc != MP_OK || !any || same)
        return rc != MP_OK ? rc : skipped(out);
    return supersede(w, op, out, kb, kn, t, at, true, rid, NULL);
}

/* Appends op (or rec, what recognition leaves of it) as a new turn under
 * the key kb. */
static int append_turn(struct mp_ops_ctx *w, const struct mp_op *rec, struct mp_ops_out *out,
                       const unsigned char *kb, size_t kn, struct turn_seqs *t)
{
    size_t from = w->um->nmessages, at = reply_at(rec);
    *t = (struct turn_seqs){0, 0, 0, 0};
    int rc = mp_lifecycle_append(w->um, rec, &out->first_seq, &out->last_seq);
    if (rc == MP_OK)
        rc = mp_ops_archive_turn(w, from);
    if (at > 0) {
        t->user_first = out->first_seq;
        t->user_last = out->first_seq + at - 1;
    }
    if (at < rec->u.turn.nmessages) {
        t->reply_first = out->first_seq + at;
        t->reply_last = out->last_seq;
    }
    if (rc == MP_OK)
        rc = put_idem(w, kb, kn, rec->now_ms, t);
    if (rc == MP_OK)
        mp_ops_touch(w, rec->now_ms);
    return rc;
}

/* A new turn: what the builder found of client text checked against what
 * the store keeps first (store_whose.h), when the op asks. */
static int record_new(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                      const unsigned char *kb, size_t kn, struct turn_seqs *t)
{
    struct mp_whose_turn wt;
    if (op->u.turn.recognize == NULL)
        return append_turn(w, op, out, kb, kn, t);
    int rc = mp_whose_before(w, op, &wt, &out->recognized);
    if (rc == MP_OK && wt.n == 0) {
        *t = (struct turn_seqs){0, 0, 0, 0};
        rc = skipped(out); /* a side request, or nothing of the user's */
    } else if (rc == MP_OK) {
        struct mp_op rec = *op;
        rec.u.turn.messages = wt.msgs;
        rec.u.turn.nmessages = wt.n;
        rc = append_turn(w, &rec, out, kb, kn, t);
        if (rc == MP_OK)
            rc = mp_whose_after(w, op, &wt, out->first_seq);
    }
    mp_whose_turn_cleanup(&wt);
    return rc;
}

/* ---- an agent's tool loop ---- */

/* Keeps the turn t under op's loop_keep keys too. */
static int keep_under(struct mp_ops_ctx *w, const struct mp_op *op, const struct turn_seqs *t)
{
    unsigned char kb[MP_STORE_IDEM_KEY_MAX];
    int rc = MP_OK;
    for (size_t i = 0; i < op->u.turn.nloop_keep && rc == MP_OK; i++) {
        size_t kn = mp_ops_key(w, kb, op->u.turn.loop_keep[i], MP_IDEM_KEY_LEN);
        rc = put_idem(w, kb, kn, op->now_ms, t);
    }
    return rc;
}

/* The loop's turn: the first of op's loop_find keys that holds a turn
 * with user messages, into kb (*kn) and *t. MP_OK; MP_NOTFOUND. */
static int loop_turn(struct mp_ops_ctx *w, const struct mp_op *op, unsigned char *kb, size_t *kn,
                     struct turn_seqs *t)
{
    for (size_t i = 0; i < op->u.turn.nloop_find; i++) {
        struct mp_store_plain pv = {.owned = NULL};
        *kn = mp_ops_key(w, kb, op->u.turn.loop_find[i], MP_IDEM_KEY_LEN);
        int rc = mp_ops_get_plain(w, MP_TABLE_IDEM, kb, *kn, &pv);
        if (rc == MP_OK)
            rc = record_seqs(&pv, t);
        mp_store_backend_plain_done(&pv);
        if (rc == MP_OK && user_known(t))
            return MP_OK;
        if (rc != MP_OK && rc != MP_NOTFOUND)
            return rc;
    }
    return MP_NOTFOUND;
}

/* A round of a loop (op's loop_find set): a link, or the final answer. */
static int loop_round(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char kb[MP_STORE_IDEM_KEY_MAX];
    size_t kn = 0;
    struct turn_seqs t;
    int rc = loop_turn(w, op, kb, &kn, &t);
    if (rc == MP_OK && !op->u.turn.loop_end)
        return keep_under(w, op, &t); /* a link: nothing recorded */
    if (rc == MP_OK)
        return answer(w, op, out, kb, kn, &t);
    if (rc != MP_NOTFOUND)
        return rc;
    if (!op->u.turn.loop_end || reply_at(op) == 0)
        return skipped(out); /* no beginning to answer */
    kn = mp_ops_key(w, kb, op->u.turn.idem_key, MP_IDEM_KEY_LEN);
    rc = record_new(w, op, out, kb, kn, &t);
    return rc == MP_OK ? keep_under(w, op, &t) : rc;
}

/* Whether op, the same request as the kept turn t (its idem key), is the
 * person saying it again rather than the same request sent again (a
 * retry, a regenerated reply): t's words left the buffer for the archive
 * (said long ago; erased words stay erased), or, both conversations
 * known, they were said in another conversation (the same first message
 * of a new chat) or the conversation went on after t (a stateless app's
 * "yes" once more, some turns later). An unknown conversation (0) tells
 * neither. */
static bool said_again(struct mp_ops_ctx *w, const struct mp_op *op, const struct turn_seqs *t)
{
    uint64_t first = t->user_first != 0 ? t->user_first : t->reply_first;
    uint64_t last = t->reply_last > t->user_last ? t->reply_last : t->user_last;
    const struct mp_mem_message *m = buffered(w->um, first);
    uint64_t conv = op->u.turn.nmessages > 0 ? op->u.turn.messages[0].conv : 0;
    if (m == NULL) {
        struct mp_mem_message copy = {.content = NULL};
        bool archived = mp_ops_archive_get(w, first, &copy) == MP_OK;
        free(copy.content);
        return archived;
    }
    if (conv == 0 || m->conv == 0)
        return false;
    if (m->conv != conv)
        return true;
    for (size_t i = 0; i < w->um->nmessages; i++) {
        const struct mp_mem_message *b = &w->um->messages[i];
        if (b->seq > last && b->conv == conv)
            return true;
    }
    return false;
}

int mp_ops_record_turn(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char kb[MP_STORE_IDEM_KEY_MAX];
    struct mp_store_plain pv = {.owned = NULL};
    struct turn_seqs t;
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (op->u.turn.nloop_find > 0)
        return loop_round(w, op, out);
    size_t kn = mp_ops_key(w, kb, op->u.turn.idem_key, MP_IDEM_KEY_LEN);
    rc = mp_ops_get_plain(w, MP_TABLE_IDEM, kb, kn, &pv);
    bool known = rc == MP_OK;
    if (known)
        rc = known_turn(&pv, &t);
    mp_store_backend_plain_done(&pv);
    if (known && rc != MP_OK)
        return skipped(out);
    if (known && reply_at(op) > 0 && said_again(w, op, &t))
        known = false; /* a new turn: the key names it from now on */
    rc = known                                          ? replace(w, op, out, kb, kn, &t)
         : rc == MP_NOTFOUND || (rc == MP_OK && !known) ? record_new(w, op, out, kb, kn, &t)
                                                        : rc;
    if (rc == MP_OK && out->result == MP_OK)
        rc = keep_under(w, op, &t); /* a loop's beginning */
    return rc;
}
