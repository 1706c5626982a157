/* Conversations kept with the user (store.h: struct mp_store_conv,
 * PUT_CONV, NOTE_LEAD; docs/memory-conversations.md "Conversations").
 *
 * A conversation's head must be the same bytes whichever worker or proxy
 * serves its next turn, so it lives with the user's memory, not in one
 * worker's table: one record per conversation under P | 0 | its key,
 * written with the turn that built it (or the tail of a new question),
 * read by the request's view. What the records hold is memory as it was
 * injected: a person's change of the user's memory (a new epoch) drops
 * them all, so that no erased or corrected value waits in one, and
 * MP_STORE_CONVS_PER_USER bounds them.
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

#define KIND_CONV MP_OPS_CONV_STATE
#define KIND_LEAD MP_OPS_CONV_LEADS

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

struct census {
    const struct mp_store *s;
    size_t count, bytes;
    int64_t at;     /* the oldest's time */
    int64_t newest; /* the newest's time */
    unsigned char key[MP_STORE_KEY_MAX];
    size_t klen;
};

/* The time a stored record was written (0 when it does not decode: it
 * goes first). */
static int64_t written_of(const struct mp_store *s, const unsigned char *key, size_t klen,
                          const unsigned char *v, size_t vn)
{
    struct mp_store_plain pv;
    uint64_t stamp = 0;
    int64_t at = 0;
    if (mp_store_backend_open(s, MP_TABLE_CONVS, key, klen, v, vn, &pv) == MP_OK &&
        mp_codec_get_conv_stamp(pv.p, pv.n, &stamp, &at) != MP_OK)
        at = 0;
    mp_store_backend_plain_done(&pv);
    return at;
}

static int on_conv(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                   size_t vn)
{
    struct census *c = arg;
    int64_t at = written_of(c->s, key, klen, v, vn);
    c->count++;
    c->bytes += vn;
    if (at > c->newest)
        c->newest = at;
    if (c->klen == 0 || at < c->at) {
        memcpy(c->key, key, klen);
        c->klen = klen;
        c->at = at;
    }
    return MP_OK;
}

/* The user's conversation records, counted into *c. */
static int census_of(struct mp_ops_ctx *w, struct census *c)
{
    unsigned char p[MP_STORE_KEY_MAX];
    memcpy(p, w->prefix, w->plen);
    p[w->plen] = KIND_CONV;
    *c = (struct census){.s = w->s};
    return w->s->be->scan(w->txn, MP_TABLE_CONVS, p, w->plen + 1, w->plen + 1, on_conv, c);
}

/* Drops the least recently written of the user's conversations while
 * more than the store's bounds are kept; *evicted counts them. */
static int bound(struct mp_ops_ctx *w, uint32_t *evicted)
{
    for (;;) {
        struct census c;
        int rc = census_of(w, &c);
        if (rc != MP_OK || (c.count <= w->s->conv_max && c.bytes <= w->s->conv_bytes))
            return rc;
        rc = w->s->be->del(w->txn, MP_TABLE_CONVS, c.key, c.klen);
        if (rc != MP_OK)
            return rc;
        (*evicted)++;
    }
}

int mp_ops_put_conv(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    unsigned char k[MP_STORE_KEY_MAX];
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc != MP_OK)
        return rc;
    if (!w->exists || w->s->conv_max == 0) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    struct mp_store_conv *c = op->u.conv.rec;
    size_t n = mp_codec_put_conv(NULL, c);
    /* a record the bytes bound cannot hold even alone is not written:
       the bound would drop every other record of the user, then it */
    if (n + (w->s->sealed ? MP_SEAL_OVERHEAD : 0) > w->s->conv_bytes) {
        out->result = MP_NOTFOUND;
        return MP_OK;
    }
    if (mp_seal_random(&c->stamp, sizeof(c->stamp)) != MP_OK || c->stamp == 0)
        c->stamp = (uint64_t)op->now_ms ^ 0x9e3779b97f4a7c15ull;
    /* written after every kept record, also within one millisecond: the
       bound drops the least recently written, never by a tie's key order */
    struct census seen;
    rc = census_of(w, &seen);
    if (rc != MP_OK)
        return rc;
    c->written_ms = op->now_ms > seen.newest ? op->now_ms : seen.newest + 1;
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_conv(buf, c);
    size_t kn = conv_key(w->prefix, w->plen, KIND_CONV, op->u.conv.key, k);
    rc = mp_store_backend_put(w->txn, MP_TABLE_CONVS, k, kn, buf, n);
    free(buf);
    out->stamp = c->stamp;
    out->written_ms = c->written_ms;
    return rc == MP_OK ? bound(w, &out->evicted) : rc;
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

/* ---- reads (the view) ---- */

int mp_store_conv_read(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                       const unsigned char *key, struct mp_store_conv *out)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    int rc = mp_store_backend_get_plain(txn, MP_TABLE_CONVS, k,
                                        conv_key(prefix, plen, KIND_CONV, key, k), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_conv(pv.p, pv.n, out);
    mp_store_backend_plain_done(&pv);
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
