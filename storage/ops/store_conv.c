/* Conversations kept with the user (store.h: struct mp_store_conv,
 * PUT_CONV, NOTE_LEAD; docs/memory-conversations.md "Conversations").
 *
 * A conversation's head must be the same bytes whichever worker or proxy
 * serves its next turn, so it lives with the user's memory, not in one
 * worker's table, read by the request's view. Its state is two records,
 * apart by how often they change:
 *   P | 0 | key  the head, with its stamp and when it was built: written
 *                when a head is built (a new conversation, a head no
 *                longer true), never by a turn that reused it;
 *   P | 2 | key  the tail of its last question and when the conversation
 *                was last written, with the stamp of the head it follows
 *                and the bytes of the head record: written with every
 *                state kept, the head's or the tail's alone.
 * The tail record is the conversation for the bounds: one per head (a
 * head is never written without it), the one census walks (the head
 * record's size is in it: no head is read), dropped with its head. A tail written alone
 * names the head it was built under: one since replaced (another worker
 * built a new head) or dropped keeps it out (MP_NOTFOUND). What the
 * records hold is memory as it was injected: a person's change of the
 * user's memory (a new epoch) clears both of every conversation
 * (store_user.c), so that no erased or corrected value waits in either.
 *
 * Under P | 1 | a client id's key: the beginnings it was seen with, so
 * that an id shared by several conversations (a prompt_cache_key set per
 * user) is known for what it is on every worker (proxy/plane/convlook.h). */
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"
#include "format/seal.h"
#include "ops/store_conv.h"

#define KIND_HEAD MP_OPS_CONV_STATE
#define KIND_LEAD MP_OPS_CONV_LEADS
#define KIND_TAIL MP_OPS_CONV_TAIL

void mp_store_conv_cleanup(struct mp_store_conv *c)
{
    mp_inject_head_cleanup(&c->head);
    mp_inject_tail_cleanup(&c->tail);
    c->has_tail = false;
}

static size_t conv_key(const unsigned char *prefix, size_t plen, uint8_t kind,
                       const unsigned char *key, unsigned char *k)
{
    memcpy(k, prefix, plen);
    k[plen] = kind;
    memcpy(k + plen + 1, key, MP_STORE_CONV_KEY_LEN);
    return plen + 1 + MP_STORE_CONV_KEY_LEN;
}

/* ---- writes ---- */

/* The user's conversations as their tail records count them. */
struct census {
    const struct mp_store *s;
    const unsigned char *mine; /* the tail key being written (mine_len bytes) */
    size_t mine_len;
    size_t count, bytes;                 /* bytes: both records of each */
    int64_t at;                          /* the oldest's time */
    int64_t newest;                      /* the newest's time */
    unsigned char key[MP_STORE_KEY_MAX]; /* the oldest's tail key */
    size_t klen;
    bool had;                      /* mine is there: */
    struct mp_codec_conv_tail was; /* ... what it says */
    size_t was_bytes;              /* ... and what it and its head take */
};

static int on_tail(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                   size_t vn)
{
    struct census *c = arg;
    struct mp_store_plain pv;
    struct mp_codec_conv_tail t = {0};
    /* one that does not decode: written at 0 (it goes first), no head */
    if (mp_store_backend_open(c->s, MP_TABLE_CONVS, key, klen, v, vn, &pv) != MP_OK ||
        mp_codec_get_conv_tail(pv.p, pv.n, NULL, &t) != MP_OK)
        t = (struct mp_codec_conv_tail){0};
    mp_store_backend_plain_done(&pv);
    c->count++;
    c->bytes += vn + t.head_bytes;
    if (t.written_ms > c->newest)
        c->newest = t.written_ms;
    if (c->klen == 0 || t.written_ms < c->at) {
        memcpy(c->key, key, klen);
        c->klen = klen;
        c->at = t.written_ms;
    }
    if (c->mine != NULL && klen == c->mine_len && memcmp(key, c->mine, klen) == 0) {
        c->had = true;
        c->was = t;
        c->was_bytes = vn + t.head_bytes;
    }
    return MP_OK;
}

/* The user's conversations, counted into *c (mine: a tail key to find,
 * or NULL). */
static int census_of(struct mp_ops_ctx *w, const unsigned char *mine, size_t mine_len,
                     struct census *c)
{
    unsigned char p[MP_STORE_KEY_MAX];
    memcpy(p, w->prefix, w->plen);
    p[w->plen] = KIND_TAIL;
    *c = (struct census){.s = w->s, .mine = mine, .mine_len = mine_len};
    return w->s->be->scan(w->txn, MP_TABLE_CONVS, p, w->plen + 1, w->plen + 1, on_tail, c);
}

/* Drops the least recently written of the user's conversations, both
 * records, while more than the store's bounds are kept; *evicted counts
 * them. */
static int bound(struct mp_ops_ctx *w, uint32_t *evicted)
{
    for (;;) {
        struct census c;
        int rc = census_of(w, NULL, 0, &c);
        if (rc != MP_OK || (c.count <= w->s->conv_max && c.bytes <= w->s->conv_bytes))
            return rc;
        rc = w->s->be->del(w->txn, MP_TABLE_CONVS, c.key, c.klen);
        c.key[w->plen] = KIND_HEAD;
        if (rc == MP_OK)
            rc = w->s->be->del(w->txn, MP_TABLE_CONVS, c.key, c.klen);
        if (rc != MP_OK && rc != MP_NOTFOUND)
            return rc;
        (*evicted)++;
    }
}

/* Writes c's head record under hk[0..hkn) when head, and its tail
 * record (tn bytes, naming a head record of head_bytes) under tk[0..tkn). */
static int write_state(struct mp_ops_ctx *w, const unsigned char *hk, size_t hkn,
                       const unsigned char *tk, size_t tkn, const struct mp_store_conv *c,
                       bool head, uint32_t head_bytes, size_t tn)
{
    size_t hn = head ? mp_codec_put_conv_head(NULL, c) : 0;
    unsigned char *buf = malloc(hn > tn ? hn : tn);
    if (buf == NULL)
        return MP_ENOMEM;
    int rc = MP_OK;
    if (head) {
        mp_codec_put_conv_head(buf, c);
        rc = mp_store_backend_put(w->txn, MP_TABLE_CONVS, hk, hkn, buf, hn);
    }
    mp_codec_put_conv_tail(buf, c, head_bytes);
    if (rc == MP_OK)
        rc = mp_store_backend_put(w->txn, MP_TABLE_CONVS, tk, tkn, buf, tn);
    free(buf);
    return rc;
}

int mp_ops_put_conv(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char hk[MP_STORE_KEY_MAX], tk[MP_STORE_KEY_MAX];
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (!w->exists || w->s->conv_max == 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    struct mp_store_conv *c = op->u.conv.rec;
    bool head = !op->u.conv.tail_only;
    size_t seal = w->s->sealed ? MP_SEAL_OVERHEAD : 0;
    size_t hkn = conv_key(w->prefix, w->plen, KIND_HEAD, op->u.conv.key, hk);
    size_t tkn = conv_key(w->prefix, w->plen, KIND_TAIL, op->u.conv.key, tk);
    struct census seen;
    rc = census_of(w, tk, tkn, &seen);
    if (rc != MP_OK)
        return rc;
    /* a tail alone follows the head it was built under, or nothing */
    if (!head && (!seen.had || c->stamp == 0 || seen.was.head_stamp != c->stamp)) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    size_t hn = head ? mp_codec_put_conv_head(NULL, c) + seal : seen.was.head_bytes;
    size_t tn = mp_codec_put_conv_tail(NULL, c, 0);
    /* a conversation the bytes bound cannot hold even alone is not
       written: the bound would drop every other one of the user, then it */
    if (hn > UINT32_MAX || hn + tn + seal > w->s->conv_bytes) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (head && (mp_seal_random(&c->stamp, sizeof(c->stamp)) != MP_OK || c->stamp == 0))
        c->stamp = (uint64_t)op->now_ms ^ 0x9e3779b97f4a7c15ull;
    /* written after every kept conversation, also within one millisecond:
       the bound drops the least recently written, never by a tie's key
       order */
    c->written_ms = op->now_ms > seen.newest ? op->now_ms : seen.newest + 1;
    rc = write_state(w, hk, hkn, tk, tkn, c, head, (uint32_t)hn, tn);
    out->stamp = c->stamp;
    out->written_ms = c->written_ms;
    if (rc != MP_OK)
        return rc;
    /* the census taken before, with this conversation as it is now: a
       walk again only when one must go */
    size_t count = seen.count + (seen.had ? 0 : 1);
    size_t bytes = seen.bytes - (seen.had ? seen.was_bytes : 0) + hn + tn + seal;
    if (count <= w->s->conv_max && bytes <= w->s->conv_bytes)
        return MP_OK;
    return bound(w, &out->evicted);
}

int mp_ops_note_lead(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char k[MP_STORE_KEY_MAX], v[1 + 8 * MP_STORE_CONV_LEADS];
    uint64_t leads[MP_STORE_CONV_LEADS];
    size_t n = 0;
    struct mp_store_plain pv = {.owned = NULL};
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (!w->exists) { /* erased meanwhile, or never stored: no lead makes a user */
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    size_t kn = conv_key(w->prefix, w->plen, KIND_LEAD, op->u.lead.key, k);
    rc = mp_ops_get_plain(w, MP_TABLE_CONVS, k, kn, &pv);
    if (rc == MP_OK && mp_codec_get_leads(pv.p, pv.n, leads, &n) != MP_OK)
        n = 0; /* a record that does not decode is written anew */
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    bool known = false;
    for (size_t i = 0; i < n; i++)
        known = known || leads[i] == op->u.lead.lead;
    if (known || n >= MP_STORE_CONV_LEADS) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    leads[n++] = op->u.lead.lead;
    return mp_store_backend_put(w->txn, MP_TABLE_CONVS, k, kn, v, mp_codec_put_leads(v, leads, n));
}

int mp_ops_clear_conv(struct mp_ops_ctx *w, const unsigned char *head_key, size_t klen,
                      int64_t at_ms)
{
    unsigned char k[MP_STORE_KEY_MAX], v[MP_CODEC_CONV_TOMB_MAX];
    struct mp_store_conv tomb = {.cleared = true, .built_ms = at_ms, .written_ms = at_ms};
    if (klen != w->plen + 1 + MP_STORE_CONV_KEY_LEN)
        return MP_OK; /* not a conversation's */
    size_t hn = mp_codec_put_conv_head(v, &tomb);
    int rc = mp_store_backend_put(w->txn, MP_TABLE_CONVS, head_key, klen, v, hn);
    memcpy(k, head_key, klen);
    k[w->plen] = KIND_TAIL;
    size_t tn =
        mp_codec_put_conv_tail(v, &tomb, (uint32_t)(hn + (w->s->sealed ? MP_SEAL_OVERHEAD : 0)));
    return rc == MP_OK ? mp_store_backend_put(w->txn, MP_TABLE_CONVS, k, klen, v, tn) : rc;
}

/* ---- reads (the view) ---- */

int mp_store_conv_read(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       const unsigned char *key, struct mp_store_conv *out)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    struct mp_codec_conv_tail meta;
    memset(out, 0, sizeof(*out));
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_CONVS, k,
                                        conv_key(prefix, plen, KIND_TAIL, key, k), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_conv_tail(pv.p, pv.n, out, &meta);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK)
        rc = mp_store_backend_get_plain(txn, MP_TABLE_CONVS, k,
                                        conv_key(prefix, plen, KIND_HEAD, key, k), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_conv_head(pv.p, pv.n, out);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK && meta.head_stamp != out->stamp) { /* never so written: not this head's */
        mp_inject_tail_cleanup(&out->tail);
        out->has_tail = false;
    }
    if (rc != MP_OK)
        mp_store_conv_cleanup(out);
    return rc;
}

int mp_store_leads_read(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                        const unsigned char *key, uint64_t *leads, size_t *n)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    *n = 0;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_CONVS, k,
                                        conv_key(prefix, plen, KIND_LEAD, key, k), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_leads(pv.p, pv.n, leads, n);
    mp_store_backend_plain_done(&pv);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}
