/* Relevance scoring and packing over an abstract index (see relevance.h). It
 * neither builds nor stores the index, and renders nothing.
 *
 * Sparse: nothing is sized by the index. The postings of the question's terms
 * name the candidates; each item looked at (a candidate, or a neighbour probed
 * for smoothing) is read once through ix->item into a per-call table
 * (relevance_items.c), and every later stage walks that table only. The cost
 * of a call is the postings read plus the candidates times the neighbour
 * window, whatever ix->n; the only pass over the whole index is the optional
 * spelling-neighbour lookup, which the view answers as it can. The ceiling
 * (relevance.h) bounds the postings: a member too common for what is left of
 * it is skipped whole, so that what is scored is scored exactly; with a
 * sample (relevance.h), a member more common than it is read through it.
 *
 * The order of floating-point operations follows the reference (recall.py) so
 * that the C and Python figures agree: group contributions are added to an
 * item's score in group order; smoothing takes the best neighbour, then adds the
 * session share. The one departure is the session share, given only to the
 * items looked at (relevance.h). */
#include "recall/relevance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recall/relevance_items.h"
#include "recall/relevance_lex.h"
#include "status.h"

void mp_relevance_preset(enum mp_relevance_kind kind, struct mp_relevance_params *out)
{
    static const struct mp_relevance_params facts = {
        .k1 = 0.8,
        .b = 0.5,
        .w_content = 1.0,
        .w_key = 2.0,
        .w_date = 0.5,
        .w_search = 0.5,
        .prev_w = 0.3,
        .lex_w = 0.5,
        .xlate_w = 0.6,
        .fuzzy_w = 0.8,
        .fuzzy_minlen = 5,
        .nb_prev = 0.35,
        .nb_next = 0.5,
        .nb_decay = 0.5,
        .nb_window = 3,
        .nb_reach = 12,
        .sess_w = 0.0,
        .spk_boost = 1.0,
        .prf_docs = 5,
        .prf_terms = 8,
        .prf_min_docs = 2,
        .prf_w = 0.3,
        .temp_boost = 0.5,
        .pack_pow = 0.4,
        .survivors = 64,
    };
    static const struct mp_relevance_params turns = {
        .k1 = 1.2,
        .b = 0.75,
        .w_content = 1.0,
        .w_key = 2.0,
        .w_date = 2.0,
        .w_search = 0.5,
        .prev_w = 0.3,
        .lex_w = 0.7,
        .xlate_w = 0.6,
        .fuzzy_w = 0.8,
        .fuzzy_minlen = 5,
        .nb_prev = 0.5,
        .nb_next = 0.5,
        .nb_decay = 0.8,
        .nb_window = 3,
        .nb_reach = 12,
        .sess_w = 0.05,
        .spk_boost = 1.0,
        .prf_docs = 8,
        .prf_terms = 5,
        .prf_min_docs = 2,
        .prf_w = 0.2,
        .temp_boost = 0.5,
        .pack_pow = 0.2,
        .survivors = 64,
    };
    *out = kind == MP_RELEVANCE_FACTS ? facts : turns;
}

unsigned mp_relevance_survivors_for(enum mp_relevance_kind kind, uint64_t budget_tokens)
{
    uint64_t k = budget_tokens / (kind == MP_RELEVANCE_FACTS ? MP_RELEVANCE_SURVIVOR_TOKENS_FACTS
                                                             : MP_RELEVANCE_SURVIVOR_TOKENS_TURNS);
    if (k < MP_RELEVANCE_SURVIVORS_MIN)
        return MP_RELEVANCE_SURVIVORS_MIN;
    return k > MP_RELEVANCE_SURVIVORS_MAX ? MP_RELEVANCE_SURVIVORS_MAX : (unsigned)k;
}

/* a and b differ by exactly one insertion, deletion, substitution or adjacent
 * swap (bytes). */
static bool edit1(const char *a, size_t la, const char *b, size_t lb)
{
    if ((la > lb ? la - lb : lb - la) > 1 || (la == lb && memcmp(a, b, la) == 0))
        return false;
    size_t i = 0;
    while (i < la && i < lb && a[i] == b[i])
        i++;
    if (la == lb) {
        if (memcmp(a + i + 1, b + i + 1, la - i - 1) == 0)
            return true;
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
               memcmp(a + i + 2, b + i + 2, la - i - 2) == 0;
    }
    if (la > lb)
        return memcmp(a + i + 1, b + i, lb - i) == 0;
    return memcmp(a + i, b + i + 1, la - i) == 0;
}

/* ---- the query ---- */

/* The df of term, or any value above cap when more items hold it. */
static uint32_t df_upto(const struct mp_relevance_index *ix, const char *t, size_t len,
                        uint32_t cap)
{
    return ix->df_upto != NULL ? ix->df_upto(ix->ctx, t, len, cap) : ix->df(ix->ctx, t, len);
}

struct member {
    char t[MP_TERMS_MAX + 1];
    uint8_t len;
    double w;
    /* the round's plan (plan_reads): whether it is read, and its df */
    bool take;
    bool sampled; /* read through the index's sample (relevance.h) */
    uint32_t df;
};

/* Members grow as they are added (a question has a few dozen; the cap is
 * MP_RELEVANCE_MAX_MEMBERS), so that a call allocates kilobytes, not the
 * cap: allocations that large go back to the system between calls and
 * fault their pages in again on every request. The first FIRST_MEMBERS
 * are the caller's, on its stack: most questions need no allocation. */
struct query {
    struct member *m;
    size_t cap;
    bool heap; /* m is allocated (else the caller's first FIRST_MEMBERS) */
    uint32_t gstart[MP_RELEVANCE_MAX_GROUPS + 1]; /* group g: m[gstart[g]..gstart[g+1]) */
    size_t ng, nm;
    int err; /* MP_ENOMEM once a member could not be added: the call fails */
};

#define FIRST_MEMBERS 32

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

/* Is t one of the members m[from..to)? */
static bool query_has(const struct query *qy, const char *t, size_t n, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++)
        if (qy->m[k].len == n && memcmp(qy->m[k].t, t, n) == 0)
            return true;
    return false;
}

static bool query_seen(const struct query *qy, const char *t, size_t n)
{
    for (size_t g = 0; g < qy->ng; g++) {
        const struct member *m = &qy->m[qy->gstart[g]];
        if (m->len == n && memcmp(m->t, t, n) == 0)
            return true;
    }
    return false;
}

static bool group_open(struct query *qy)
{
    if (qy->ng >= MP_RELEVANCE_MAX_GROUPS || qy->nm >= MP_RELEVANCE_MAX_MEMBERS)
        return false;
    qy->gstart[qy->ng] = (uint32_t)qy->nm;
    qy->ng++;
    qy->gstart[qy->ng] = (uint32_t)qy->nm;
    return true;
}

/* Adds t to the open (last) group unless it is already in it. */
static void group_add(struct query *qy, const char *t, size_t n, double w)
{
    if (n > MP_TERMS_MAX || qy->nm >= MP_RELEVANCE_MAX_MEMBERS || qy->err != MP_OK)
        return;
    if (query_has(qy, t, n, qy->gstart[qy->ng - 1], qy->nm))
        return;
    if (qy->nm == qy->cap) {
        size_t cap = 2 * qy->cap;
        struct member *mm =
            qy->heap ? realloc(qy->m, cap * sizeof(*mm)) : malloc(cap * sizeof(*mm));
        if (mm == NULL) {
            qy->err = MP_ENOMEM;
            return;
        }
        if (!qy->heap)
            memcpy(mm, qy->m, qy->nm * sizeof(*mm));
        qy->m = mm;
        qy->cap = cap;
        qy->heap = true;
    }
    struct member *m = &qy->m[qy->nm++];
    memcpy(m->t, t, n);
    m->len = (uint8_t)n;
    m->w = w;
    qy->gstart[qy->ng] = (uint32_t)qy->nm;
}

#define MAX_NEIGHBOURS 64

struct neighbours {
    const char *word;
    size_t wlen;
    struct member m[MAX_NEIGHBOURS];
    size_t n;
};

static int on_surface(void *arg, const char *word, size_t wlen, const char *stem, size_t slen)
{
    struct neighbours *nb = arg;
    if (nb->n >= MAX_NEIGHBOURS || slen > MP_TERMS_MAX || !edit1(nb->word, nb->wlen, word, wlen))
        return MP_OK;
    for (size_t k = 0; k < nb->n; k++)
        if (nb->m[k].len == slen && memcmp(nb->m[k].t, stem, slen) == 0)
            return MP_OK; /* the view may give a word twice */
    memcpy(nb->m[nb->n].t, stem, slen);
    nb->m[nb->n].len = (uint8_t)slen;
    nb->n++;
    return MP_OK;
}

static int cmp_member(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    return cmp_bytes(x->t, x->len, y->t, y->len);
}

/* The stems of the index's surface words one edit away from word, in byte
 * order, into the open group. The view may offer more words than those: they
 * are filtered here. */
static int add_neighbours(struct query *qy, const struct mp_relevance_index *ix, const char *word,
                          size_t wlen, double w)
{
    struct neighbours nb = {.word = word, .wlen = wlen, .n = 0};
    int rc = ix->surface(ix->ctx, word, wlen, on_surface, &nb);
    if (rc != MP_OK)
        return rc;
    qsort(nb.m, nb.n, sizeof(nb.m[0]), cmp_member);
    for (size_t k = 0; k < nb.n; k++)
        group_add(qy, nb.m[k].t, nb.m[k].len, w);
    return MP_OK;
}

/* One group for word i of qn: its stem, its lexicon relations, its
 * translations and, when no item holds it, its spelling neighbours; none
 * when its stem has one already. */
static int add_word(struct query *qy, const struct mp_relevance_question *qn, size_t i,
                    const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                    double w0)
{
    const struct mp_relevance_qword *w = &qn->w[i];
    if (query_seen(qy, w->term, w->len) || !group_open(qy))
        return MP_OK;
    group_add(qy, w->term, w->len, w0);
    for (size_t k = 0; w->lex != NULL && k < w->lex->nrel; k++)
        group_add(qy, w->lex->rel[k], strlen(w->lex->rel[k]),
                  w0 * p->lex_w * mp_relevance_lex_weight(w->lex, k));
    for (size_t k = 0; k < qn->nx; k++)
        if (qn->x[k].group == i)
            group_add(qy, qn->x[k].term, qn->x[k].len,
                      w0 * (qn->x[k].same ? 1.0 : p->xlate_w) * qn->x[k].w);
    if (!w->alpha || w->slen < p->fuzzy_minlen || ix->surface == NULL)
        return MP_OK;
    if (df_upto(ix, w->term, w->len, 0) > 0)
        return MP_OK;
    return add_neighbours(qy, ix, w->surface, w->slen, w0 * p->fuzzy_w);
}

/* The groups of the question's words, then of its date terms, then of the
 * previous turn's words. */
static int build_query(struct query *qy, const struct mp_relevance_question *qn,
                       const struct mp_relevance_index *ix, const struct mp_relevance_params *p)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < qn->nq; i++)
        rc = add_word(qy, qn, i, ix, p, 1.0);
    for (size_t i = 0; rc == MP_OK && i < qn->ndates; i++)
        if (!query_seen(qy, qn->date[i], qn->dlen[i]) && group_open(qy))
            group_add(qy, qn->date[i], qn->dlen[i], 1.0);
    for (size_t i = qn->nq; rc == MP_OK && i < qn->n; i++)
        rc = add_word(qy, qn, i, ix, p, p->prev_w);
    return rc != MP_OK ? rc : qy->err;
}

/* ---- scoring ---- */

struct run {
    const struct mp_relevance_index *ix;
    const struct mp_relevance_params *p;
    struct mp_relevance_items t;   /* every id looked at */
    struct mp_relevance_items acc; /* BM25F sums (s0, best, key) of every candidate */
    size_t *top;                   /* the survivors, indexes into acc */
    size_t cap_top;
    size_t *touched; /* acc records the open group has reached */
    size_t ntouched, captouched;
    size_t *ord, *tmp; /* the present records by id; scratch */
    size_t nord, cap_ord;
    uint32_t *ids; /* ids whose windows are to be read, by id */
    size_t nids, cap_ids;
    double w, idf; /* of the member being read */
    bool own;      /* the member is its group's own term */
    uint32_t max;  /* the ceiling (relevance.h) */
    uint32_t left; /* postings the ceiling still allows */
    bool capped;   /* a term was skipped for it */
    bool closed;   /* the feedback round: postings add to the first round's candidates only */
    size_t nsurv;  /* the survivors of the latest round */
    bool same;     /* they are those of the round before: its walks and order stand */
};

static uint32_t reach_of(const struct mp_relevance_params *p)
{
    return p->nb_reach > p->nb_window ? p->nb_reach : p->nb_window;
}

static double idf_of(const struct mp_relevance_index *ix, uint32_t df)
{
    return log(1.0 + ((double)ix->n - (double)df + 0.5) / ((double)df + 0.5));
}

static int touch(struct run *r, size_t k)
{
    if (r->ntouched == r->captouched) {
        size_t cap = r->captouched ? 2 * r->captouched : 64;
        size_t *tk = realloc(r->touched, cap * sizeof(*tk));
        if (tk == NULL)
            return MP_ENOMEM;
        r->touched = tk;
        r->captouched = cap;
    }
    r->touched[r->ntouched++] = k;
    return MP_OK;
}

/* *len = the content length of the posting's item: the posting's own, or
 * its item's. MP_NOTFOUND: the view no longer has the item (a stale
 * posting, skipped). */
static int posting_len(struct run *r, const struct mp_relevance_posting *ps, uint32_t *len)
{
    size_t k;
    if (ps->has_len) {
        *len = ps->len;
        return MP_OK;
    }
    int rc = mp_relevance_items_get(&r->t, r->ix, ps->item, &k);
    if (rc != MP_OK)
        return rc;
    if (!r->t.rec[k].present)
        return MP_NOTFOUND;
    *len = r->t.rec[k].f.len;
    return MP_OK;
}

double mp_relevance_impact(const struct mp_relevance_params *p,
                           const struct mp_relevance_posting *x, double avglen)
{
    double tf = p->w_content * x->tc + p->w_key * x->tk + p->w_date * x->td + p->w_search * x->ts;
    double len = x->has_len ? (double)x->len : avglen;
    if (tf <= 0)
        return 0.0;
    return tf * (p->k1 + 1.0) / (tf + p->k1 * (1.0 - p->b + p->b * len / avglen));
}

/* Adds the posting to its item's sums in r->acc (the survivors' items are
 * read later: survive()); in the feedback round, only to an item there
 * already. The key flag of the speaker boost is read here, from the own
 * term's postings, so that no stage reads postings twice. */
static int on_posting(void *arg, const struct mp_relevance_posting *ps)
{
    struct run *r = arg;
    const struct mp_relevance_params *p = r->p;
    double tf =
        p->w_content * ps->tc + p->w_key * ps->tk + p->w_date * ps->td + p->w_search * ps->ts;
    bool key = r->own && ps->tk > 0;
    size_t k;
    uint32_t ilen;
    if ((tf <= 0 && !key) || (r->closed && mp_relevance_items_find(&r->acc, ps->item, &k) != MP_OK))
        return MP_OK;
    int rc = posting_len(r, ps, &ilen);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    struct mp_relevance_item f = {.len = ilen};
    rc = mp_relevance_items_put(&r->acc, ps->item, &f, &k);
    if (rc != MP_OK)
        return rc;
    struct mp_relevance_rec *e = &r->acc.rec[k];
    e->key = e->key || key;
    if (tf <= 0)
        return MP_OK;
    double len = (double)ilen;
    double v = r->w * r->idf * tf * (p->k1 + 1.0) /
               (tf + p->k1 * (1.0 - p->b + p->b * len / r->ix->avglen));
    if (!(v > e->best)) /* NaN too, from a view with avglen 0 */
        return MP_OK;
    rc = e->best == 0.0 ? touch(r, k) : MP_OK;
    if (rc == MP_OK)
        e->best = v;
    return rc;
}

/* Whether smoothing reads the candidates' windows. */
static bool walks(const struct mp_relevance_params *p)
{
    return p->nb_window > 0 && (p->nb_prev > 0 || p->nb_next > 0 || p->sess_w > 0);
}

struct prefetch {
    struct mp_relevance_items *t;
    uint32_t next; /* the next id of the range not answered yet */
};

static int on_prefetched(void *arg, uint32_t id, const struct mp_relevance_item *it)
{
    struct prefetch *pf = arg;
    size_t at;
    for (; pf->next < id; pf->next++) /* the ids skipped are gaps */
        if (mp_relevance_items_put(pf->t, pf->next, NULL, &at) != MP_OK)
            return MP_ENOMEM;
    pf->next = id + 1;
    return mp_relevance_items_put(pf->t, id, it, &at);
}

/* The most ids prefetch_windows reserves table room for at once (a bigger
 * span grows the table as it goes). */
#define PREFETCH_RESERVE_MAX (1u << 16)

/* With ix->items: the nb_window ids on each side of r->ids[0..nids) (sorted,
 * distinct), in one range read per run of overlapping windows, so that the
 * stages mostly find the items in the table instead of reading them one by
 * one (a window that reaches past a gap still reads one id at a time). */
static int prefetch_windows(struct run *r)
{
    uint32_t w = r->p->nb_window;
    size_t most = r->nids * (2 * (size_t)w + 1); /* ids the ranges span: the table grows once */
    if (r->ix->items != NULL && most <= PREFETCH_RESERVE_MAX &&
        mp_relevance_items_reserve(&r->t, most) != MP_OK)
        return MP_ENOMEM;
    for (size_t i = 0; r->ix->items != NULL && i < r->nids;) {
        uint32_t id = r->ids[i];
        uint32_t lo = id > w ? id - w : 0, hi = id < UINT32_MAX - w ? id + w : UINT32_MAX;
        size_t k = i + 1;
        for (; k < r->nids && r->ids[k] - w <= hi; k++)
            hi = r->ids[k] < UINT32_MAX - w ? r->ids[k] + w : UINT32_MAX;
        if (r->ix->last != 0 && hi > r->ix->last)
            hi = r->ix->last > lo ? r->ix->last : lo; /* gaps past the last item */
        struct prefetch pf = {&r->t, lo};
        int rc = r->ix->items(r->ix->ctx, lo, hi, on_prefetched, &pf);
        for (size_t at; rc == MP_OK && pf.next <= hi && pf.next >= lo; pf.next++) {
            rc = mp_relevance_items_put(&r->t, pf.next, NULL, &at);
            if (pf.next == UINT32_MAX)
                break;
        }
        if (rc != MP_OK)
            return rc;
        i = k;
    }
    for (size_t i = 0; i < r->nids; i++) {
        size_t at;
        if (mp_relevance_items_find(&r->t, r->ids[i], &at) == MP_OK)
            r->t.rec[at].window = true;
    }
    return MP_OK;
}

/* Adds id to r->ids unless its window has been read. */
static int want_window(struct run *r, uint32_t id)
{
    size_t at;
    if (mp_relevance_items_find(&r->t, id, &at) == MP_OK && r->t.rec[at].window)
        return MP_OK;
    if (r->nids == r->cap_ids) {
        size_t cap = r->cap_ids ? 2 * r->cap_ids : 256;
        uint32_t *ids = realloc(r->ids, cap * sizeof(*ids));
        if (ids == NULL)
            return MP_ENOMEM;
        r->ids = ids;
        r->cap_ids = cap;
    }
    r->ids[r->nids++] = id;
    return MP_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts r->ids and folds duplicates. */
static void ids_sort(struct run *r)
{
    size_t m = 0;
    if (r->nids > 1)
        qsort(r->ids, r->nids, sizeof(*r->ids), cmp_u32);
    for (size_t i = 0; i < r->nids; i++)
        if (m == 0 || r->ids[m - 1] != r->ids[i])
            r->ids[m++] = r->ids[i];
    r->nids = m;
}

/* df_upto() of t[0..len) within left, asked no further than the sample
 * when left affords it: *sampled then says the index samples the term
 * (the answer is only "more than the sample"). Reads no sample. */
static uint32_t probe_df(const struct mp_relevance_index *ix, const char *t, size_t len,
                         uint32_t left, bool *sampled)
{
    uint32_t s = ix->sample;
    uint32_t cap = s > 0 && s <= left ? s : left;
    uint32_t df = df_upto(ix, t, len, cap);
    *sampled = s > 0 && s <= left && df > s;
    return df;
}

/* The df of member t[0..len) for its idf, *sampled whether it is read
 * through the index's sample, and *cost: the postings reading it takes
 * (its df, or ix->sample when sampled; relevance.h). When that is more
 * than left, *cost is some value above left and the df is not known. */
static uint32_t member_df(const struct mp_relevance_index *ix, const char *t, size_t len,
                          uint32_t left, uint32_t *cost, bool *sampled)
{
    uint32_t df = probe_df(ix, t, len, left, sampled);
    *cost = *sampled ? ix->sample : df;                     /* whole, or more than left */
    return *sampled ? df_upto(ix, t, len, UINT32_MAX) : df; /* the sample's estimate */
}

/* Whether a member whose read costs cost postings fits in *left (taken
 * from it); one that does not is skipped whole and the call is capped. */
static bool affordable(uint32_t cost, uint32_t *left, bool *capped)
{
    if (cost > *left) {
        *capped = true;
        return false;
    }
    *left -= cost;
    return true;
}

/* on_posting_id's stop at a posting that carries its length (not an error). */
#define LENGTHS_FROM_HERE 1

/* A term's postings without has_len are those of items indexed before the
 * postings carried it (store format 5): the lowest ids, first in the
 * natural order. The first posting with has_len ends the term's read, so
 * that a store written since costs no pass over its postings here; an
 * older posting after it (another order) is read for its length later,
 * one lookup instead of a range: the same scores. */
static int on_posting_id(void *arg, const struct mp_relevance_posting *ps)
{
    struct run *r = arg;
    const struct mp_relevance_params *p = r->p;
    double tf =
        p->w_content * ps->tc + p->w_key * ps->tk + p->w_date * ps->td + p->w_search * ps->ts;
    size_t k;
    if (ps->has_len)
        return LENGTHS_FROM_HERE;
    if (r->closed && mp_relevance_items_find(&r->acc, ps->item, &k) != MP_OK)
        return MP_OK; /* not a candidate: the feedback round makes none */
    return tf > 0 ? want_window(r, ps->item) : MP_OK;
}

/* Which members of groups from..ng the ceiling affords (m->take, m->df;
 * r->left and r->capped follow): first those read whole, in group order,
 * then the sampled ones (relevance.h) with what is left, so that common
 * words never crowd out a rarer one. Returns the postings the taken
 * members read. */
static uint64_t plan_reads(struct run *r, struct query *qy, size_t from)
{
    const struct mp_relevance_index *ix = r->ix;
    uint64_t taken = 0;
    for (size_t k = qy->gstart[from]; k < qy->nm; k++) {
        struct member *m = &qy->m[k];
        uint32_t cost;
        m->df = member_df(ix, m->t, m->len, r->left, &cost, &m->sampled);
        m->take = m->df > 0 && !m->sampled && affordable(cost, &r->left, &r->capped);
        taken += m->take ? cost : 0;
    }
    for (size_t k = qy->gstart[from]; k < qy->nm; k++) {
        struct member *m = &qy->m[k];
        m->take = m->take || (m->sampled && affordable(ix->sample, &r->left, &r->capped));
        taken += m->sampled && m->take ? ix->sample : 0;
    }
    return taken;
}

/* Reads the windows of the items the postings without has_len of the
 * taken members of groups from..ng score before scoring them: each such
 * item is read for its length, and reading the windows in id order first
 * spares a lookup per posting. */
static int read_windows(struct run *r, const struct query *qy, size_t from)
{
    const struct mp_relevance_index *ix = r->ix;
    int rc = MP_OK;
    if (ix->items == NULL || !walks(r->p))
        return MP_OK;
    r->nids = 0;
    for (size_t k = qy->gstart[from]; rc == MP_OK && k < qy->nm; k++) {
        if (qy->m[k].take)
            rc = ix->postings(ix->ctx, qy->m[k].t, qy->m[k].len, on_posting_id, r);
        rc = rc == LENGTHS_FROM_HERE ? MP_OK : rc;
    }
    if (rc != MP_OK)
        return rc;
    ids_sort(r);
    return prefetch_windows(r);
}

/* s0 += the best member's BM25F value, for the groups from..ng in group
 * order: the feedback round adds its groups to the first round's sums. */
static int bm25f(struct run *r, struct query *qy, size_t from)
{
    const struct mp_relevance_index *ix = r->ix;
    uint64_t most = plan_reads(r, qy, from); /* the candidates the groups can make */
    int prc = read_windows(r, qy, from);
    if (prc == MP_OK)
        prc = mp_relevance_items_reserve(&r->acc, (size_t)most);
    if (prc != MP_OK)
        return prc;
    for (size_t g = from; g < qy->ng; g++) {
        r->ntouched = 0;
        for (size_t k = qy->gstart[g]; k < qy->gstart[g + 1]; k++) {
            uint32_t df = qy->m[k].df;
            if (!qy->m[k].take)
                continue;
            r->w = qy->m[k].w;
            r->idf = idf_of(ix, df);
            r->own = k == qy->gstart[g];
            int rc = ix->postings(ix->ctx, qy->m[k].t, qy->m[k].len, on_posting, r);
            if (rc != MP_OK)
                return rc;
        }
        for (size_t k = 0; k < r->ntouched; k++) {
            struct mp_relevance_rec *e = &r->acc.rec[r->touched[k]];
            e->s0 += e->best;
            e->best = 0.0;
        }
    }
    return MP_OK;
}

/* Reads the items of r->acc.rec[r->top[0..m)] into r->t (their windows
 * first, in ranges, when smoothing reads them); a candidate whose item the
 * view no longer has loses its sum. *gone: one did. */
static int read_survivors(struct run *r, size_t m, bool *gone)
{
    int rc = MP_OK;
    *gone = false;
    r->nids = 0;
    for (size_t i = 0; rc == MP_OK && walks(r->p) && i < m; i++)
        rc = want_window(r, r->acc.rec[r->top[i]].id);
    if (rc == MP_OK && r->nids > 0) {
        ids_sort(r);
        rc = prefetch_windows(r);
    }
    for (size_t i = 0; rc == MP_OK && i < m; i++) {
        size_t at;
        struct mp_relevance_rec *a = &r->acc.rec[r->top[i]];
        rc = mp_relevance_items_get(&r->t, r->ix, a->id, &at);
        if (rc == MP_OK && !r->t.rec[at].present) {
            a->s0 = 0.0;
            *gone = true;
        }
    }
    return rc;
}

/* The survivors of the sums so far (relevance.h): their items read, and
 * the survivor flag on them alone. */
static int survive(struct run *r)
{
    size_t m = 0; /* set by the first round (gcc cannot tell, inlined in some builds) */
    bool gone = true;
    if (r->acc.n > r->cap_top) {
        size_t *top = realloc(r->top, r->acc.n * sizeof(*top));
        if (top == NULL)
            return MP_ENOMEM;
        r->top = top;
        r->cap_top = r->acc.n;
    }
    for (int rc; gone;) { /* each round drops a stale candidate: it ends */
        m = mp_relevance_items_top(&r->acc, r->p->survivors, r->top);
        if ((rc = read_survivors(r, m, &gone)) != MP_OK)
            return rc;
    }
    r->same = r->nsurv > 0 && m == r->nsurv;
    for (size_t i = 0; r->same && i < m; i++) {
        size_t at;
        r->same = mp_relevance_items_find(&r->t, r->acc.rec[r->top[i]].id, &at) == MP_OK &&
                  r->t.rec[at].survivor;
    }
    r->nsurv = m;
    if (r->same)
        return MP_OK; /* the flags stand */
    for (size_t k = 0; k < r->t.n; k++)
        r->t.rec[k].survivor = false;
    for (size_t i = 0; i < m; i++) {
        size_t at;
        if (mp_relevance_items_find(&r->t, r->acc.rec[r->top[i]].id, &at) == MP_OK)
            r->t.rec[at].survivor = true;
    }
    return MP_OK;
}

/* Room for t.n indexes in r->ord and r->tmp. */
static int ord_room(struct run *r)
{
    if (r->t.n <= r->cap_ord)
        return MP_OK;
    size_t cap = r->t.n + r->t.n / 2;
    size_t *ord = malloc(cap * sizeof(*ord)), *tmp = malloc(cap * sizeof(*tmp));
    if (ord == NULL || tmp == NULL) {
        free(ord);
        free(tmp);
        return MP_ENOMEM;
    }
    free(r->ord);
    free(r->tmp);
    r->ord = ord;
    r->tmp = tmp;
    r->cap_ord = cap;
    return MP_OK;
}

/* Probes the ids next to candidate cand[i] on one side (dir -1 before, +1
 * after) until the table holds its nb_window nearest items of its session:
 * gaps are skipped, at most nb_reach ids away, and the first item of another
 * session ends the walk (sessions are runs of ids). cand[0..m) are the
 * candidates being walked, by id: stepping onto one needs no lookup. */
static int walk(struct run *r, const size_t *cand, size_t m, size_t i, int dir)
{
    const struct mp_relevance_params *p = r->p;
    uint32_t id = r->t.rec[cand[i]].id, session = r->t.rec[cand[i]].f.session;
    uint32_t found = 0;
    size_t q = i; /* the last candidate stepped onto */
    for (uint32_t d = 1; d <= reach_of(p) && found < p->nb_window; d++) {
        size_t j, nq = dir < 0 ? q - 1 : q + 1;
        if (dir < 0 ? id < d : id > UINT32_MAX - d)
            break;
        uint32_t x = dir < 0 ? id - d : id + d;
        if (dir > 0 && r->ix->last != 0 && x > r->ix->last)
            break; /* gaps to the end */
        if ((dir < 0 ? q > 0 : nq < m) && r->t.rec[cand[nq]].id == x) {
            j = cand[nq];
            q = nq;
        } else {
            int rc = mp_relevance_items_get(&r->t, r->ix, x, &j);
            if (rc != MP_OK)
                return rc;
        }
        if (!r->t.rec[j].present)
            continue;
        if (r->t.rec[j].f.session != session)
            break;
        r->t.rec[j].inwin = true;
        found++;
    }
    return MP_OK;
}

/* Walks the windows of the survivors, in id order, marking the items in
 * them (inwin); a feedback round walks its survivors again (the items met
 * before are in the table: no reads). */
static int walk_windows(struct run *r)
{
    int rc = ord_room(r);
    size_t m = 0;
    for (size_t k = 0; rc == MP_OK && k < r->t.n; k++) {
        struct mp_relevance_rec *e = &r->t.rec[k];
        e->inwin = false;
        if (e->survivor)
            r->ord[m++] = k;
    }
    if (rc == MP_OK)
        mp_relevance_items_sort(&r->t, r->ord, m, r->tmp);
    r->nids = 0;
    for (size_t i = 0; rc == MP_OK && r->ix->items != NULL && i < m; i++)
        if (!r->t.rec[r->ord[i]].window)
            rc = want_window(r, r->t.rec[r->ord[i]].id);
    if (rc == MP_OK)
        rc = prefetch_windows(r);
    for (size_t i = 0; rc == MP_OK && i < m; i++) {
        rc = walk(r, r->ord, m, i, -1);
        if (rc == MP_OK)
            rc = walk(r, r->ord, m, i, 1);
    }
    return rc;
}

/* e's stage fields reset, its sums taken from r->acc (0 when not a
 * candidate). */
static void take_sums(struct run *r, struct mp_relevance_rec *e)
{
    size_t at;
    bool summed = mp_relevance_items_find(&r->acc, e->id, &at) == MP_OK;
    e->s0 = summed ? r->acc.rec[at].s0 : 0.0;
    e->key = summed && r->acc.rec[at].key;
    e->nb = 0.0;
    e->beside = false;
    e->near = e->s0 > 0;
}

/* r->ord = the survivors and the items of their windows sorted by id, their
 * sums taken from r->acc and their stage fields reset (the table may hold
 * other items: those read for their lengths, postings without has_len). */
static int order(struct run *r)
{
    int rc = ord_room(r);
    if (rc != MP_OK)
        return rc;
    r->nord = 0;
    for (size_t k = 0; k < r->t.n; k++) {
        struct mp_relevance_rec *e = &r->t.rec[k];
        if (!e->present || !(e->survivor || e->inwin))
            continue;
        take_sums(r, e);
        r->ord[r->nord++] = k;
    }
    mp_relevance_items_sort(&r->t, r->ord, r->nord, r->tmp);
    return MP_OK;
}

/* order() when the survivors are those of the round before (r->same): the
 * same items in the same order, their sums taken again. */
static void order_again(struct run *r)
{
    for (size_t a = 0; a < r->nord; a++)
        take_sums(r, &r->t.rec[r->ord[a]]);
}

/* The neighbour at distance d on side dir of r->ord[a], or NULL past the
 * window's ends: r->ord holds every item the walks met, so that the d-th
 * present record on a side is the d-th item (see walk). */
static struct mp_relevance_rec *neighbour(struct run *r, size_t a, uint32_t d, int dir)
{
    if (dir < 0 ? a < d : a + d >= r->nord)
        return NULL;
    const struct mp_relevance_rec *c = &r->t.rec[r->ord[a]];
    struct mp_relevance_rec *e = &r->t.rec[r->ord[dir < 0 ? a - d : a + d]];
    uint32_t dist = dir < 0 ? c->id - e->id : e->id - c->id;
    return dist <= reach_of(r->p) && e->f.session == c->f.session ? e : NULL;
}

/* Offers each candidate's decayed share to its window: dir -1, the items
 * before it (it is their next item), +1 after. A survivor offers it to
 * every item of its window; a candidate in a survivor's window only to
 * the survivors (its other neighbours may not have been read, so that
 * only the ids between it and a survivor are sure to be counted). */
static void spread(struct run *r)
{
    const struct mp_relevance_params *p = r->p;
    for (size_t a = 0; a < r->nord; a++) {
        double s0 = r->t.rec[r->ord[a]].s0;
        bool survivor = r->t.rec[r->ord[a]].survivor;
        if (s0 <= 0)
            continue;
        for (int dir = -1; dir <= 1; dir += 2) {
            double coef = dir < 0 ? p->nb_next : p->nb_prev, f = 1.0;
            for (uint32_t d = 1; d <= p->nb_window; d++) {
                struct mp_relevance_rec *e = neighbour(r, a, d, dir);
                if (e == NULL)
                    break;
                if (!survivor && !e->survivor) {
                    f *= p->nb_decay;
                    continue;
                }
                e->near = true;
                e->beside = e->beside || d == 1;
                if (coef * f * s0 > e->nb)
                    e->nb = coef * f * s0;
                f *= p->nb_decay;
            }
        }
    }
}

/* s += sess_w * the best s0 of the session, for the records near a candidate
 * (the others were never looked at). The best is exact: every item with
 * s0 > 0 is a candidate, and sessions are runs of ids. */
static void session_share(struct run *r)
{
    for (size_t a = 0; a < r->nord;) {
        uint32_t session = r->t.rec[r->ord[a]].f.session;
        size_t e = a;
        double m = 0.0;
        for (; e < r->nord && r->t.rec[r->ord[e]].f.session == session; e++)
            m = r->t.rec[r->ord[e]].s0 > m ? r->t.rec[r->ord[e]].s0 : m;
        for (; a < e; a++)
            if (r->t.rec[r->ord[a]].near)
                r->t.rec[r->ord[a]].s += r->p->sess_w * m;
    }
}

/* s = s0 + the best decayed neighbour's share + the session share, for the
 * candidates (s0 > 0) and the items in their windows; 0 for the rest. */
static int smooth(struct run *r)
{
    const struct mp_relevance_params *p = r->p;
    bool walks_ = walks(p);
    int rc = walks_ && !r->same ? walk_windows(r) : MP_OK;
    if (rc == MP_OK && r->same)
        order_again(r);
    else if (rc == MP_OK)
        rc = order(r);
    if (rc != MP_OK)
        return rc;
    if (walks_)
        spread(r);
    for (size_t a = 0; a < r->nord; a++) {
        struct mp_relevance_rec *e = &r->t.rec[r->ord[a]];
        e->s = e->near ? e->s0 + e->nb : 0.0;
    }
    if (p->sess_w > 0)
        session_share(r);
    return MP_OK;
}

/* The scores of the groups from..ng added: BM25F, the survivors, smoothing,
 * speaker boost. */
static int rank(struct run *r, struct query *qy, size_t from)
{
    int rc = bm25f(r, qy, from);
    if (rc == MP_OK)
        rc = survive(r);
    if (rc == MP_OK)
        rc = smooth(r);
    for (size_t a = 0; rc == MP_OK && a < r->nord; a++) {
        struct mp_relevance_rec *e = &r->t.rec[r->ord[a]];
        if (e->near && e->key)
            e->s = e->s * (1.0 + r->p->spk_boost);
    }
    return rc;
}

/* ---- feedback ---- */

#define MAX_PRF_DOCS 64

struct cand {
    char t[MP_TERMS_MAX + 1];
    uint8_t len;
    uint32_t c;
    double v;
};

struct prf_arg {
    const struct query *qy;
    struct cand *c; /* grows as terms come, up to MP_RELEVANCE_MAX_PRF_CAND */
    size_t n, cap;
};

static int on_item_term(void *arg, const char *term, size_t len, uint32_t tc)
{
    struct prf_arg *a = arg;
    if (tc == 0 || len > MP_TERMS_MAX || a->n >= MP_RELEVANCE_MAX_PRF_CAND)
        return MP_OK;
    if (query_has(a->qy, term, len, 0, a->qy->nm))
        return MP_OK;
    if (a->n == a->cap) {
        size_t cap = a->cap > 0 ? 2 * a->cap : 128;
        struct cand *c = realloc(a->c, cap * sizeof(*c));
        if (c == NULL)
            return MP_ENOMEM;
        a->c = c;
        a->cap = cap;
    }
    memcpy(a->c[a->n].t, term, len);
    a->c[a->n].len = (uint8_t)len;
    a->c[a->n].c = 1;
    a->n++;
    return MP_OK;
}

static int cmp_member_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return cmp_bytes(x->t, x->len, y->t, y->len);
}

static int cmp_cand_value(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return cmp_bytes(x->t, x->len, y->t, y->len);
}

/* Is record a ranked above b: higher s, ties by lower id? */
static bool above(const struct mp_relevance_rec *a, const struct mp_relevance_rec *b)
{
    return a->s > b->s || (a->s == b->s && a->id < b->id);
}

/* The records of the k best scores > 0, best first. */
static size_t top_items(const struct run *r, size_t *top, size_t k)
{
    const struct mp_relevance_items *t = &r->t;
    size_t m = 0;
    for (size_t a = 0; k > 0 && a < r->nord; a++) {
        size_t i = r->ord[a];
        const struct mp_relevance_rec *e = &t->rec[i];
        if (!e->near || e->s <= 0 || (m == k && !above(e, &t->rec[top[m - 1]])))
            continue;
        size_t j = m < k ? m++ : m - 1;
        while (j > 0 && above(e, &t->rec[top[j - 1]])) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return m;
}

/* Counts the candidate terms (sorted, duplicates folded into c), values them
 * c * idf and keeps those held by prf_min_docs items, best first. Learning
 * a candidate's df reads its postings (up to one past what is asked): the
 * reads of all candidates together stop at the ceiling, and a candidate
 * the ceiling does not afford (more postings than is left of it, for the
 * scoring or for these reads) is not kept: the call is capped. Nor is a
 * candidate held by more than MP_RELEVANCE_PRF_DF_MAX items, or one the
 * index would sample (relevance.h): those are left out, not capped. */
static int value_cands(struct run *r, struct prf_arg *a)
{
    const struct mp_relevance_index *ix = r->ix;
    const struct mp_relevance_params *p = r->p;
    if (a->n == 0) /* none read (a->c is NULL) */
        return MP_OK;
    qsort(a->c, a->n, sizeof(a->c[0]), cmp_member_cand);
    size_t m = 0;
    for (size_t k = 0; k < a->n; k++) {
        if (m > 0 && cmp_bytes(a->c[m - 1].t, a->c[m - 1].len, a->c[k].t, a->c[k].len) == 0) {
            a->c[m - 1].c++;
            continue;
        }
        a->c[m++] = a->c[k];
    }
    size_t kept = 0;
    uint32_t reads = r->max <= UINT32_MAX / MP_RELEVANCE_PRF_DF_CEILINGS
                         ? r->max * MP_RELEVANCE_PRF_DF_CEILINGS
                         : UINT32_MAX; /* what the candidates' dfs may still read */
    for (size_t k = 0; k < m; k++) {
        if (a->c[k].c < p->prf_min_docs)
            continue;
        uint32_t cap = r->left < reads ? r->left : reads;
        bool common = MP_RELEVANCE_PRF_DF_MAX <= cap; /* the method's bound, not the ceiling */
        if (common)
            cap = MP_RELEVANCE_PRF_DF_MAX;
        bool sampled;
        uint32_t df = probe_df(ix, a->c[k].t, a->c[k].len, cap, &sampled);
        uint32_t asked = sampled ? ix->sample : cap;
        reads -= df > asked ? asked : df;
        if (sampled || df > cap) { /* a common word is left out, not capped */
            r->capped = r->capped || !(common || (sampled && ix->sample < cap));
            continue;
        }
        a->c[kept] = a->c[k];
        a->c[kept].v = a->c[k].c * idf_of(ix, df);
        kept++;
    }
    qsort(a->c, kept, sizeof(a->c[0]), cmp_cand_value);
    a->n = kept;
    return MP_OK;
}

/* One round of pseudo-relevance feedback: new groups of one term each. */
static int prf(struct run *r, struct query *qy)
{
    const struct mp_relevance_params *p = r->p;
    size_t top[MAX_PRF_DOCS];
    size_t k = p->prf_docs < MAX_PRF_DOCS ? p->prf_docs : MAX_PRF_DOCS;
    size_t ntop = top_items(r, top, k);
    /* candidates are written whole as they are added */
    struct prf_arg a = {qy, NULL, 0, 0};
    int rc = MP_OK;
    for (size_t j = 0; j < ntop && rc == MP_OK; j++)
        rc = r->ix->item_terms(r->ix->ctx, r->t.rec[top[j]].id, on_item_term, &a);
    if (rc == MP_OK)
        rc = value_cands(r, &a);
    size_t nt =
        p->prf_terms < MP_RELEVANCE_MAX_PRF_TERMS ? p->prf_terms : MP_RELEVANCE_MAX_PRF_TERMS;
    for (size_t j = 0; rc == MP_OK && j < a.n && j < nt; j++) {
        if (!group_open(qy))
            break;
        group_add(qy, a.c[j].t, a.c[j].len, p->prf_w * a.c[j].v / a.c[0].v);
    }
    free(a.c);
    return rc != MP_OK ? rc : qy->err;
}

/* ---- the entry points ---- */

static void temporal(struct run *r, const struct mp_relevance_question *qn)
{
    if (!qn->temporal)
        return;
    for (size_t a = 0; a < r->nord; a++) {
        struct mp_relevance_rec *e = &r->t.rec[r->ord[a]];
        if (e->near && e->f.timex)
            e->s *= 1.0 + r->p->temp_boost;
    }
}

/* The records with s > 0 as hits, by id. */
static int collect(const struct run *r, struct mp_relevance_hit **hits, size_t *nhits)
{
    size_t m = 0;
    for (size_t a = 0; a < r->nord; a++)
        m += r->t.rec[r->ord[a]].near && r->t.rec[r->ord[a]].s > 0;
    struct mp_relevance_hit *h = m > 0 ? malloc(m * sizeof(*h)) : NULL;
    if (m > 0 && h == NULL)
        return MP_ENOMEM;
    m = 0;
    for (size_t a = 0; a < r->nord; a++) {
        const struct mp_relevance_rec *e = &r->t.rec[r->ord[a]];
        if (e->near && e->s > 0)
            h[m++] = (struct mp_relevance_hit){e->id, e->s, e->f.tokens, e->s0 > 0, e->beside};
    }
    *hits = h;
    *nhits = m;
    return MP_OK;
}

int mp_relevance_score_kind(const struct mp_relevance_question *qn,
                            const struct mp_relevance_index *ix, enum mp_relevance_kind kind,
                            unsigned survivors, struct mp_relevance_params *p,
                            struct mp_relevance_hit **hits, size_t *nhits)
{
    *hits = NULL;
    *nhits = 0;
    mp_relevance_preset(kind, p);
    if (survivors > 0)
        p->survivors = survivors;
    if (ix == NULL || ix->n == 0)
        return MP_OK;
    return mp_relevance_score_question(qn, ix, p, hits, nhits);
}

int mp_relevance_score_question(const struct mp_relevance_question *qn,
                                const struct mp_relevance_index *ix,
                                const struct mp_relevance_params *p, struct mp_relevance_hit **hits,
                                size_t *nhits)
{
    uint32_t max = ix->max_postings > 0 ? ix->max_postings : MP_RELEVANCE_MAX_POSTINGS;
    struct run r = {.ix = ix, .p = p, .max = max, .left = max};
    struct member first[FIRST_MEMBERS];
    struct query qy = {.m = first, .cap = FIRST_MEMBERS};
    mp_relevance_items_init(&r.t);
    mp_relevance_items_init(&r.acc);
    int rc = build_query(&qy, qn, ix, p);
    if (rc == MP_OK)
        rc = rank(&r, &qy, 0);
    if (rc == MP_OK && p->prf_docs > 0) {
        size_t ng = qy.ng;
        rc = prf(&r, &qy);
        r.closed = true;
        if (rc == MP_OK && qy.ng > ng)
            rc = rank(&r, &qy, ng);
    }
    if (rc == MP_OK) {
        temporal(&r, qn);
        rc = collect(&r, hits, nhits);
    }
    if (rc == MP_OK && ix->work != NULL)
        ix->work(ix->ctx, r.max - r.left, r.capped);
    if (qy.heap)
        free(qy.m);
    free(r.touched);
    free(r.ids);
    free(r.ord);
    free(r.tmp);
    free(r.top);
    mp_relevance_items_cleanup(&r.t);
    mp_relevance_items_cleanup(&r.acc);
    return rc;
}

int mp_relevance_score(struct mp_terms *terms, const struct mp_relevance_index *ix,
                       const struct mp_relevance_params *p, const char *q, size_t qlen,
                       const char *prev, size_t prevlen, struct mp_relevance_hit **hits,
                       size_t *nhits)
{
    struct mp_relevance_question *qn = malloc(sizeof(*qn));
    if (qn == NULL)
        return MP_ENOMEM;
    int rc = mp_relevance_question_parse(terms, q, qlen, prev, prevlen, NULL, qn);
    if (rc == MP_OK)
        rc = mp_relevance_score_question(qn, ix, p, hits, nhits);
    free(qn);
    return rc;
}
