/* A question's dense candidates (store_vectors.h: mp_store_vectors_top):
 * the user's current vectors scored where they lie, one read transaction,
 * the best k of each kind kept in a small array. */
#include "ops/store_vectors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_scan.h"
#include "embed/embed_vec.h"
#include "format/codec.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "status.h"

#define TOP_K_MAX 1024

/* The best of one kind so far: at most cap hits, the worst's place known. */
struct best {
    struct mp_embed_hit *h;
    size_t n, cap, worst;
    double sum, sum2;
    uint64_t count;
};

struct top {
    const struct mp_vec_model *m;
    const struct mp_embed_query *q;
    struct best kind[2];
    uint64_t left; /* vectors the ceiling still allows */
    uint64_t scanned;
    bool capped;
    uint8_t kind_now; /* the kind being scanned */
};

static void find_worst(struct best *b)
{
    b->worst = 0;
    for (size_t i = 1; i < b->n; i++)
        if (b->h[i].sim < b->h[b->worst].sim)
            b->worst = i;
}

static void offer(struct best *b, uint32_t item, float sim)
{
    b->sum += sim;
    b->sum2 += (double)sim * sim;
    b->count++;
    if (b->n < b->cap) {
        b->h[b->n++] = (struct mp_embed_hit){item, sim};
        if (b->n == b->cap)
            find_worst(b);
        return;
    }
    if (sim <= b->h[b->worst].sim)
        return;
    b->h[b->worst] = (struct mp_embed_hit){item, sim};
    find_worst(b);
}

static int on_vec(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct top *t = arg;
    struct mp_embed_vec ev;
    uint64_t item = mp_codec_be_get(id, 8);
    if (item > UINT32_MAX || !mp_vectors_current(pv->p, pv->n, t->m, NULL, &ev))
        return MP_OK;
    if (t->left == 0) {
        t->capped = true;
        return MP_STORE_SCAN_STOP;
    }
    t->left--;
    t->scanned++;
    float sim = ev.scale * t->q->unit * (float)mp_embed_scan_dot(t->q, ev.codes);
    offer(&t->kind[t->kind_now == MP_VEC_FACT ? 0 : 1], (uint32_t)item, sim);
    return MP_OK;
}

/* Scores the user's vectors of kind from id from on. */
static int scan_kind(struct mp_store_txn *txn, const unsigned char *prefix, size_t plen,
                     uint8_t kind, uint64_t from, struct top *t)
{
    unsigned char start[MP_STORE_USER_PREFIX_MAX + MP_VECTORS_ID_LEN];
    size_t slen = mp_vectors_key(start, prefix, plen, kind, from);
    t->kind_now = kind;
    /* records that begin with the user's prefix and the kind: 8 id bytes */
    return mp_store_backend_scan_plain(txn, MP_TABLE_VECTORS, start, slen, plen + 1,
                                       MP_VECTORS_ID_LEN - 1, on_vec, t);
}

static int by_sim(const void *a, const void *b)
{
    const struct mp_embed_hit *x = a, *y = b;
    if (x->sim != y->sim)
        return x->sim > y->sim ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

static int by_item(const void *a, const void *b)
{
    const struct mp_embed_hit *x = a, *y = b;
    if (x->item != y->item)
        return x->item < y->item ? -1 : 1;
    return x->sim > y->sim ? -1 : x->sim < y->sim; /* the better first */
}

/* b's hits best first, one per item (its best), at most k: into *out. */
static size_t finish(struct best *b, size_t k, struct mp_embed_hit **out, double *mean, double *sd,
                     uint64_t *counted)
{
    size_t m = 0;
    if (b->n > 1)
        qsort(b->h, b->n, sizeof(*b->h), by_item);
    for (size_t i = 0; i < b->n; i++)
        if (m == 0 || b->h[m - 1].item != b->h[i].item)
            b->h[m++] = b->h[i];
    if (m > 1)
        qsort(b->h, m, sizeof(*b->h), by_sim);
    *out = b->h;
    b->h = NULL;
    *counted = b->count;
    *mean = b->count > 0 ? b->sum / (double)b->count : 0;
    double var = b->count > 1 ? b->sum2 / (double)b->count - *mean * *mean : 0;
    *sd = var > 0 ? sqrt(var) : 0;
    return m < k ? m : k;
}

int mp_store_vectors_top(struct mp_store *store, const char *user, size_t user_len,
                         const struct mp_vec_model *model, const struct mp_embed_query *q,
                         uint64_t newest_seq, size_t max_scan, size_t k, struct mp_store_dense *out)
{
    struct mp_store_txn txn;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = 0;
    struct top t = {.m = model, .q = q, .left = max_scan};
    memset(out, 0, sizeof(*out));
    if (k == 0 || k > TOP_K_MAX || model->dims == 0 || model->dims != q->dims ||
        mp_store_check_user(user, user_len) != MP_OK)
        return MP_EINVAL;
    /* facts: k; messages: 2k, a message's content and its keys apart */
    t.kind[0] = (struct best){.h = malloc(k * sizeof(struct mp_embed_hit)), .cap = k};
    t.kind[1] = (struct best){.h = malloc(2 * k * sizeof(struct mp_embed_hit)), .cap = 2 * k};
    int rc = t.kind[0].h != NULL && t.kind[1].h != NULL ? MP_OK : MP_ENOMEM;
    bool began = false;
    if (rc == MP_OK) {
        plen = mp_store_backend_user_prefix(store, prefix, user, user_len);
        rc = store->be->begin(store, false, &txn);
        began = rc == MP_OK;
    }
    if (rc == MP_OK)
        rc = scan_kind(&txn, prefix, plen, MP_VEC_FACT, 0, &t);
    /* what is left: the newest messages' search keys within half of it
       (fewer messages have keys than text), then the newest messages'
       text with all that the keys left */
    uint64_t half = t.left / 2, from = newest_seq > half ? newest_seq + 1 - half : 0;
    if (rc == MP_OK)
        rc = scan_kind(&txn, prefix, plen, MP_VEC_KEYS, from, &t);
    from = newest_seq > t.left ? newest_seq + 1 - t.left : 0;
    if (rc == MP_OK && from > 0)
        t.capped = true;
    if (rc == MP_OK)
        rc = scan_kind(&txn, prefix, plen, MP_VEC_MESSAGE, from, &t);
    if (began)
        store->be->end(&txn, false);
    if (rc == MP_OK) {
        out->nfacts =
            finish(&t.kind[0], k, &out->facts, &out->mean[0], &out->sd[0], &out->counted[0]);
        out->nturns =
            finish(&t.kind[1], k, &out->turns, &out->mean[1], &out->sd[1], &out->counted[1]);
        out->scanned = t.scanned;
        out->capped = t.capped;
    }
    free(t.kind[0].h);
    free(t.kind[1].h);
    if (rc != MP_OK)
        mp_store_dense_cleanup(out);
    return rc;
}

void mp_store_dense_cleanup(struct mp_store_dense *d)
{
    if (d == NULL)
        return;
    free(d->facts);
    free(d->turns);
    memset(d, 0, sizeof(*d));
}
