/* The fusion of a kind's lexical and dense hits (recall_fuse.h). */
#include "recall/recall_fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recall/recall.h"
#include "status.h"

/* Chosen on the development sets with multilingual-e5-small
 * (tests/bench/recall/README.md, "Hybrid retrieval"): LoCoMo's facts gain
 * most with a low floor (1 sd: +3.4, +2.1 and +1.5 points at 300, 500 and
 * 1,500 tokens, no cell more than 0.7 under lexical), its turns lose at
 * 2 sd and below (multi-hop at 500 tokens: -1.4 at 2, -2.7 at 1.5) and
 * gain a little at 3 (+1.0, +0.3, 0.0); 2.5 did as well on LoCoMo (+0.7,
 * +0.8, +0.1) but lost BEAM's preference and contradiction cells at 1,500
 * tokens (-16.7 and -7.1: one evidence turn each); weight 1 cost up to 4.4
 * points. Reciprocal rank
 * fusion lost 12 points of turns at 300 tokens. FUSE_FEW_SHARE: a user of
 * a dozen memories keeps a clear first (a model's similarities sit in a
 * narrow band; tests/proxy/plane/test_embeddings_read.py). */
#define FUSE_WEIGHT         0.5
#define FUSE_FLOOR_SD_FACTS 1.0
#define FUSE_FLOOR_SD_TURNS 3.0
/* When the words found nothing above their floor for the question: chosen
 * on the cross-language set (18 of 24 pairs within 10 points of the same
 * language at 1,500 tokens, against 17; pooled cross-language recall
 * 92.8 -> 94.7 with a dictionary, 84.7 -> 94.4 without), LoCoMo's and the
 * needles' cells unchanged (their questions almost always share a word). */
#define FUSE_FLOOR_SD_ALONE 1.0
#define FUSE_DEPTH          64
#define FUSE_FEW_SHARE      0.75

void mp_recall_fuse_defaults(struct mp_recall_fuse_params *p)
{
    *p = (struct mp_recall_fuse_params){.method = MP_RECALL_FUSE_CONVEX,
                                        .weight = FUSE_WEIGHT,
                                        .floor_sd = {FUSE_FLOOR_SD_FACTS, FUSE_FLOOR_SD_TURNS},
                                        .floor_sd_alone = FUSE_FLOOR_SD_ALONE,
                                        .depth = FUSE_DEPTH,
                                        .rrf_k = 60};
}

/* The dense floor in standard deviations for n similarities: p's, but
 * never past FUSE_FEW_SHARE of the most the best of n can stand above
 * their mean, (n - 1) / sqrt(n): a user with few items still has an
 * outlier to find. */
static double floor_sd(const struct mp_recall_fuse_params *p, enum mp_relevance_kind kind,
                       uint64_t n)
{
    double most = n > 1 ? (double)(n - 1) / sqrt((double)n) * FUSE_FEW_SHARE : 0;
    double sd = p->floor_sd[kind == MP_RELEVANCE_FACTS ? 0 : 1];
    return sd < most ? sd : most;
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
    size_t lex_above_n = 0;
    for (size_t i = 0; i < nhits; i++)
        lex_above_n += mp_recall_above_floor(kind == MP_RELEVANCE_FACTS, v[i].lex_score, best_lex,
                                             v[i].holds, v[i].beside);
    double zsd = nd > 0 ? floor_sd(p, kind, dense->n_scanned) : 0;
    if (lex_above_n == 0 && p->floor_sd_alone < zsd)
        zsd = p->floor_sd_alone; /* the words found nothing: meaning is all there is */
    double floor = nd > 0 ? dense->mean + zsd * dense->sd : 0;
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
