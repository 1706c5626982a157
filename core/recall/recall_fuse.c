/* The fusion of a kind's lexical and dense hits (recall_fuse.h). */
#include "recall/recall_fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recall/recall.h"
#include "status.h"

/* Chosen on the development sets with multilingual-e5-small
 * (tests/bench/recall/README.md, "Hybrid retrieval"). */
#define FUSE_WEIGHT    0.5
#define FUSE_FLOOR_SD  3.0
#define FUSE_DEPTH     64
#define FUSE_FEW_SHARE 0.75

void mp_recall_fuse_defaults(struct mp_recall_fuse_params *p)
{
    *p = (struct mp_recall_fuse_params){.method = MP_RECALL_FUSE_CONVEX,
                                        .weight = FUSE_WEIGHT,
                                        .floor_sd = FUSE_FLOOR_SD,
                                        .depth = FUSE_DEPTH,
                                        .rrf_k = 60};
}

/* The dense floor in standard deviations for n similarities: p's, but
 * never past FUSE_FEW_SHARE of the most the best of n can stand above
 * their mean, (n - 1) / sqrt(n): a user with few items still has an
 * outlier to find. */
static double floor_sd(const struct mp_recall_fuse_params *p, uint64_t n)
{
    double most = n > 1 ? (double)(n - 1) / sqrt((double)n) * FUSE_FEW_SHARE : 0;
    return p->floor_sd < most ? p->floor_sd : most;
}

static int by_item(const void *a, const void *b)
{
    const struct mp_recall_fused *x = a, *y = b;
    return x->item < y->item ? -1 : x->item > y->item;
}

static int by_lex(const void *a, const void *b)
{
    const struct mp_recall_fused *x = a, *y = b;
    if (x->lex_score != y->lex_score)
        return x->lex_score > y->lex_score ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* Above first, by fused score; then the rest by lexical score. */
static int by_fused(const void *a, const void *b)
{
    const struct mp_recall_fused *x = a, *y = b;
    if (x->above != y->above)
        return x->above ? -1 : 1;
    if (x->above && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return by_lex(a, b);
}

static struct mp_recall_fused *find(struct mp_recall_fused *v, size_t n, uint32_t item)
{
    struct mp_recall_fused key = {.item = item};
    return bsearch(&key, v, n, sizeof(*v), by_item);
}

/* The fused score of an entry whose list floors are known. */
static double fused(const struct mp_recall_fuse_params *p, const struct mp_recall_fused *f,
                    bool lex_above, bool dense_above, double best_lex, double floor,
                    double best_sim)
{
    double s = 0;
    if (p->method == MP_RECALL_FUSE_RRF) {
        if (lex_above)
            s += 1.0 / (p->rrf_k + f->lex_rank);
        if (dense_above)
            s += p->weight / (p->rrf_k + f->dense_rank);
        return s;
    }
    if (lex_above)
        s += f->lex_score / best_lex;
    if (dense_above)
        s += p->weight * (f->sim - floor) / (best_sim - floor);
    return s;
}

int mp_recall_fuse(enum mp_relevance_kind kind, const struct mp_relevance_hit *hits, size_t nhits,
                   const struct mp_recall_dense_list *dense, const struct mp_recall_fuse_params *p,
                   struct mp_recall_fused **out, size_t *n)
{
    size_t nd = dense != NULL ? dense->n : 0;
    if (nd > p->depth)
        nd = p->depth;
    if (p->weight <= 0)
        nd = 0;
    struct mp_recall_fused *v = calloc(nhits + nd + 1, sizeof(*v));
    if (v == NULL)
        return MP_ENOMEM;
    double best_lex = 0;
    for (size_t i = 0; i < nhits; i++) {
        v[i].item = hits[i].item;
        v[i].lex_score = hits[i].score;
        v[i].tokens = hits[i].tokens;
        v[i].holds = hits[i].holds;
        v[i].beside = hits[i].beside;
        best_lex = hits[i].score > best_lex ? hits[i].score : best_lex;
    }
    if (nhits > 1)
        qsort(v, nhits, sizeof(*v), by_lex);
    for (size_t i = 0; i < nhits; i++)
        v[i].lex_rank = (uint32_t)(i + 1);
    if (nhits > 1)
        qsort(v, nhits, sizeof(*v), by_item);
    size_t m = nhits;
    double floor = nd > 0 ? dense->mean + floor_sd(p, dense->n_scanned) * dense->sd : 0;
    double best_sim = nd > 0 ? dense->hits[0].sim : 0;
    for (size_t i = 0; i < nd; i++) {
        struct mp_recall_fused *f = find(v, nhits, dense->hits[i].item);
        if (f == NULL) {
            f = &v[m++];
            f->item = dense->hits[i].item;
        }
        if (f->dense_rank != 0)
            continue; /* an item twice in the list counts at its best */
        f->dense_rank = (uint32_t)(i + 1);
        f->sim = dense->hits[i].sim;
    }
    for (size_t i = 0; i < m; i++) {
        struct mp_recall_fused *f = &v[i];
        bool lex_above =
            f->lex_rank != 0 && mp_recall_above_floor(kind == MP_RELEVANCE_FACTS, f->lex_score,
                                                      best_lex, f->holds, f->beside);
        bool dense_above = f->dense_rank != 0 && best_sim > floor && f->sim > floor;
        f->above = lex_above || dense_above;
        f->score = f->above ? fused(p, f, lex_above, dense_above, best_lex, floor, best_sim) : 0;
    }
    if (m > 1)
        qsort(v, m, sizeof(*v), by_fused);
    if (m == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = m;
    return MP_OK;
}
