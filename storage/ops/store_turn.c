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
 * nothing.
 *
 * A record of 8 bytes (written before the seqs were kept, or an import's
 * line id) knows no turn: the op records nothing, as before. An older
 * memproxy takes the longer record for a known key as well, so the
 * store's format number stays. */
#include "store_turn.h"

#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "status.h"
#include "store_archive.h"
#include "store_facts.h"

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

/* The turn of a known key: MP_OK with *t (its reply known), or
 * MP_NOTFOUND (a record of the time alone, or a turn without a reply). */
static int known_turn(const struct mp_store_plain *pv, struct turn_seqs *t)
{
    if (pv->n < IDEM_TURN_LEN)
        return MP_NOTFOUND;
    t->user_first = mp_codec_le_get(pv->p + 8, 8);
    t->user_last = mp_codec_le_get(pv->p + 16, 8);
    t->reply_first = mp_codec_le_get(pv->p + 24, 8);
    t->reply_last = mp_codec_le_get(pv->p + 32, 8);
    if (t->reply_first == 0 || t->reply_last < t->reply_first ||
        t->reply_last - t->reply_first >= REPLY_MAX)
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

/* Appends op's reply (from at) under the next seqs with request id rid,
 * archived as a turn's messages are. */
static int append_reply(struct mp_ops_ctx *w, const struct mp_op *op, size_t at, const char *rid,
                        uint64_t *first, uint64_t *last)
{
    size_t n = op->u.turn.nmessages - at, from = w->um->nmessages;
    struct mp_mem_message *m = malloc(n * sizeof(*m));
    if (m == NULL)
        return MP_ENOMEM;
    memcpy(m, op->u.turn.messages + at, n * sizeof(*m));
    for (size_t i = 0; i < n; i++)
        memcpy(m[i].request_id, rid, sizeof(m[i].request_id));
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

static int replace(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                   const unsigned char *kb, size_t kn, struct turn_seqs t)
{
    char rid[MP_REQUEST_ID_MAX + 1] = "";
    bool any, same;
    size_t at = reply_at(op), n = 0, nf = 0;
    if (at == op->u.turn.nmessages)
        return skipped(out); /* no reply to put in its place */
    int rc = compare_kept(w, &t, op, at, &any, &same, rid);
    if (rc != MP_OK || !any || same)
        return rc != MP_OK ? rc : skipped(out);
    struct mp_op by_user = *op; /* the user rejected it: their erasure */
    by_user.actor = MP_ACTOR_USER;
    struct mp_history_item *ev = calloc(2 * (t.reply_last - t.reply_first + 1), sizeof(*ev));
    struct mp_history_item *fev = NULL;
    if (ev == NULL)
        return MP_ENOMEM;
    rc = erase_reply(w, &by_user, &t, ev, &n);
    if (rc == MP_OK)
        rc = mp_ops_drop_reply_facts(w, &by_user, t.reply_first, t.reply_last, &fev, &nf);
    if (rc == MP_OK)
        rc = append_reply(w, op, at, rid, &t.reply_first, &t.reply_last);
    if (rc == MP_OK)
        rc = put_idem(w, kb, kn, op->now_ms, &t);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, ev, n);
    if (rc == MP_OK)
        rc = mp_ops_append_hist(w, fev, nf);
    free(ev);
    free(fev);
    if (rc != MP_OK)
        return rc;
    mp_ops_touch_edited(w, op->now_ms); /* a kept head may hold the rejected reply */
    replaced_seqs(w->um, &t, out);
    return MP_OK;
}

static int record_new(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out,
                      const unsigned char *kb, size_t kn)
{
    struct turn_seqs t = {0, 0, 0, 0};
    size_t from = w->um->nmessages, at = reply_at(op);
    int rc = mp_lifecycle_append(w->um, op, &out->first_seq, &out->last_seq);
    if (rc == MP_OK)
        rc = mp_ops_archive_turn(w, from);
    if (at > 0) {
        t.user_first = out->first_seq;
        t.user_last = out->first_seq + at - 1;
    }
    if (at < op->u.turn.nmessages) {
        t.reply_first = out->first_seq + at;
        t.reply_last = out->last_seq;
    }
    if (rc == MP_OK)
        rc = put_idem(w, kb, kn, op->now_ms, &t);
    if (rc == MP_OK)
        mp_ops_touch(w, op->now_ms);
    return rc;
}

int mp_ops_record_turn(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char kb[MP_STORE_IDEM_KEY_MAX];
    struct mp_store_plain pv = {.owned = NULL};
    struct turn_seqs t;
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    size_t kn = mp_ops_key(w, kb, op->u.turn.idem_key, MP_IDEM_KEY_LEN);
    rc = mp_ops_get_plain(w, MP_TABLE_IDEM, kb, kn, &pv);
    bool known = rc == MP_OK;
    if (known)
        rc = known_turn(&pv, &t);
    mp_store_backend_plain_done(&pv);
    if (known)
        return rc == MP_OK ? replace(w, op, out, kb, kn, t) : skipped(out);
    return rc == MP_NOTFOUND ? record_new(w, op, out, kb, kn) : rc;
}
