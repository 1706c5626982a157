/* Packing (see relevance.h): the hits in order of value per token, produced
 * from a binary heap, so that a caller that stops after the first few pays
 * for those, not for sorting them all. */
#include <math.h>
#include <stdlib.h>

#include "recall/relevance.h"
#include "status.h"

#define POW_MEMO 512

struct mp_relevance_pack_key {
    double v;
    uint32_t id, tokens;
};

/* Packing order: value descending, ties by lower id (a strict order: ids are
 * distinct). */
static bool before(const struct mp_relevance_pack_key *x, const struct mp_relevance_pack_key *y)
{
    return x->v > y->v || (x->v == y->v && x->id < y->id);
}

/* The pack keys of the hits with score > 0 and an item, into keys; *m their
 * count. */
static int pack_keys(const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                     const struct mp_relevance_hit *hits, size_t nhits,
                     struct mp_relevance_pack_key *keys, size_t *m)
{
    double memo[POW_MEMO] = {0}; /* tokens^pack_pow of small token counts; 0: not yet */
    *m = 0;
    for (size_t j = 0; j < nhits; j++) {
        struct mp_relevance_item it = {.tokens = hits[j].tokens};
        if (hits[j].score <= 0)
            continue;
        int rc = it.tokens > 0 ? MP_OK : ix->item(ix->ctx, hits[j].item, &it);
        if (rc == MP_NOTFOUND)
            continue;
        if (rc != MP_OK)
            return rc;
        uint32_t cost = it.tokens > 0 ? it.tokens : 1;
        double c = cost < POW_MEMO ? memo[cost] : 0.0;
        if (c == 0.0)
            c = pow((double)cost, p->pack_pow);
        if (cost < POW_MEMO)
            memo[cost] = c;
        keys[(*m)++] = (struct mp_relevance_pack_key){hits[j].score / c, hits[j].item, it.tokens};
    }
    return MP_OK;
}

/* Moves h[i] down until neither child goes before it. */
static void sift_down(struct mp_relevance_pack_key *h, size_t n, size_t i)
{
    struct mp_relevance_pack_key x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h[c + 1], &h[c]))
            c++;
        if (!before(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

int mp_relevance_order_init(struct mp_relevance_order *o, const struct mp_relevance_index *ix,
                            const struct mp_relevance_params *p,
                            const struct mp_relevance_hit *hits, size_t nhits)
{
    o->n = 0;
    o->heap = malloc((nhits > 0 ? nhits : 1) * sizeof(*o->heap));
    if (o->heap == NULL)
        return MP_ENOMEM;
    int rc = pack_keys(ix, p, hits, nhits, o->heap, &o->n);
    if (rc != MP_OK) {
        mp_relevance_order_cleanup(o);
        return rc;
    }
    for (size_t i = o->n / 2; i-- > 0;)
        sift_down(o->heap, o->n, i);
    return MP_OK;
}

bool mp_relevance_order_next(struct mp_relevance_order *o, uint32_t *id, uint32_t *tokens)
{
    if (o->n == 0)
        return false;
    *id = o->heap[0].id;
    *tokens = o->heap[0].tokens;
    o->heap[0] = o->heap[--o->n];
    sift_down(o->heap, o->n, 0);
    return true;
}

void mp_relevance_order_cleanup(struct mp_relevance_order *o)
{
    free(o->heap);
    o->heap = NULL;
    o->n = 0;
}

int mp_relevance_pack(const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                      const struct mp_relevance_hit *hits, size_t nhits, uint32_t budget,
                      uint32_t *out, size_t *nout, uint32_t *used)
{
    struct mp_relevance_order o;
    uint32_t id, tokens;
    size_t k = 0;
    uint64_t u = 0;
    int rc = mp_relevance_order_init(&o, ix, p, hits, nhits);
    if (rc != MP_OK)
        return rc;
    while (mp_relevance_order_next(&o, &id, &tokens)) {
        if (u + tokens > budget)
            continue;
        out[k++] = id;
        u += tokens;
    }
    mp_relevance_order_cleanup(&o);
    *nout = k;
    *used = (uint32_t)u;
    return MP_OK;
}
