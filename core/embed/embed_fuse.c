/* Rank fusion without a hash table: both lists go into out one entry per
 * (item, list) pair, a sort by item brings the pairs of an item together,
 * one pass merges them, and a second sort orders by fused score. Two
 * sorts of a few hundred entries are cheaper than the scans that made the
 * lists. */
#include "embed/embed_fuse.h"

#include <stdlib.h>

#include "status.h"

static uint32_t best_rank(const struct mp_embed_fused *f)
{
    if (f->lex_rank == 0)
        return f->dense_rank;
    if (f->dense_rank == 0)
        return f->lex_rank;
    return f->lex_rank < f->dense_rank ? f->lex_rank : f->dense_rank;
}

/* By item; an item's lexical entries before its dense ones, each by rank. */
static int by_item(const void *pa, const void *pb)
{
    const struct mp_embed_fused *a = pa, *b = pb;
    uint32_t ka = a->lex_rank != 0 ? a->lex_rank : UINT32_MAX / 2 + a->dense_rank;
    uint32_t kb = b->lex_rank != 0 ? b->lex_rank : UINT32_MAX / 2 + b->dense_rank;

    if (a->item != b->item)
        return a->item < b->item ? -1 : 1;
    return (ka > kb) - (ka < kb);
}

/* The fused order of the header. */
static int by_score(const void *pa, const void *pb)
{
    const struct mp_embed_fused *a = pa, *b = pb;
    uint32_t ra = best_rank(a), rb = best_rank(b);

    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if ((a->lex_rank != 0) != (b->lex_rank != 0))
        return a->lex_rank != 0 ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

/* Merges the item-sorted pairs of out[0..n) in place; returns the items. */
static size_t merge_pairs(struct mp_embed_fused *out, size_t n)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        struct mp_embed_fused *f = &out[m > 0 ? m - 1 : 0];
        if (m > 0 && f->item == out[i].item) {
            if (f->dense_rank == 0 && out[i].dense_rank != 0) {
                f->dense_rank = out[i].dense_rank;
                f->sim = out[i].sim;
            }
            continue;
        }
        out[m++] = out[i];
    }
    return m;
}

int mp_embed_fuse_rrf(const uint32_t *lex, size_t nlex, const struct mp_embed_hit *dense,
                      size_t ndense, unsigned k, struct mp_embed_fused *out, size_t cap,
                      size_t *n_out)
{
    if (nlex > UINT32_MAX / 2 || ndense > UINT32_MAX / 2)
        return MP_EINVAL;
    if (cap < nlex + ndense)
        return MP_ETOOBIG;
    for (size_t i = 0; i < nlex; i++)
        out[i] = (struct mp_embed_fused){lex[i], (uint32_t)i + 1, 0, 0.0f, 0.0};
    for (size_t j = 0; j < ndense; j++)
        out[nlex + j] =
            (struct mp_embed_fused){dense[j].item, 0, (uint32_t)j + 1, dense[j].sim, 0.0};
    if (nlex + ndense > 1)
        qsort(out, nlex + ndense, sizeof(*out), by_item);
    size_t m = merge_pairs(out, nlex + ndense);
    for (size_t i = 0; i < m; i++) {
        double s = 0.0;
        if (out[i].lex_rank != 0)
            s += 1.0 / ((double)k + out[i].lex_rank);
        if (out[i].dense_rank != 0)
            s += 1.0 / ((double)k + out[i].dense_rank);
        out[i].score = s;
    }
    if (m > 1)
        qsort(out, m, sizeof(*out), by_score);
    *n_out = m;
    return MP_OK;
}
