/* Tests for the survivors of core/recall/relevance.c (relevance.h: survive):
 * on generated indexes of many shapes (seeded, so a failure names its case),
 * scoring with a bound on the candidates that go on past BM25F against
 * scoring every candidate:
 *   - with every stage after BM25F off, the hits are exactly the exhaustive
 *     hits' best `survivors` (the same items, the same scores);
 *   - with smoothing on, a survivor's score is its exhaustive score, and no
 *     item scores above its exhaustive score;
 *   - with survivors at least the candidates, every stage on, the hits are
 *     the exhaustive hits, byte for byte;
 *   - postings that carry their item's length score as postings that do not
 *     (the item read instead), with any survivors;
 *   - feedback's candidates learn their dfs within their own ceilings,
 *     however many common terms the best items hold;
 *   - feedback keeps a term held by MP_RELEVANCE_PRF_DF_MAX items and leaves
 *     out one held by one more. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/relevance.h"
#include "status.h"
#include "recall/terms.h"

/* ---- feedback's reads: an index where the best items hold many common
 * terms (each a feedback candidate), the view counting what df_upto
 * reads: min(df, cap + 1) postings, as the store's view does ---- */

#define COMMON 40 /* candidate terms c0 .. c39, each in 9 of 10 items */
#define WIDE_N 3000
static uint32_t df_reads;

/* Whether t[0..len) is word. */
static bool is(const char *t, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(t, word, len) == 0;
}

static uint32_t wide_df(void *ctx, const char *t, size_t len)
{
    (void)ctx;
    if (is(t, len, "rare"))
        return 10;
    return len >= 2 && t[0] == 'c' ? WIDE_N - WIDE_N / 10 : 0;
}

static bool wide_holds(const char *t, size_t len, uint32_t id)
{
    if (is(t, len, "rare"))
        return id % (WIDE_N / 10) == 0;
    return len >= 2 && t[0] == 'c' && id % 10 != 9;
}

static uint32_t read_of[COMMON + 1]; /* what each term's reads reached, as a view caches them */

static uint32_t wide_df_upto(void *ctx, const char *t, size_t len, uint32_t cap)
{
    uint32_t df = wide_df(ctx, t, len), got = df > cap ? cap + 1 : df;
    uint32_t *had = len >= 2 && t[0] == 'c' ? &read_of[atoi(t + 1) % COMMON] : &read_of[COMMON];
    if (got > *had) {
        df_reads += got - *had;
        *had = got;
    }
    return df;
}

/* fn once per item of 0..n that holds(t, len, id), ascending: a content
 * count of 1 and a length of 8, as every item of these indexes has. */
static int postings_where(bool (*holds)(const char *, size_t, uint32_t), uint32_t n, const char *t,
                          size_t len, mp_relevance_posting_fn fn, void *arg)
{
    for (uint32_t id = 0; id < n; id++) {
        struct mp_relevance_posting p = {id, 1, 0, 0, 0, 8, true};
        if (!holds(t, len, id))
            continue;
        int rc = fn(arg, &p);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int wide_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn,
                         void *arg)
{
    (void)ctx;
    return postings_where(wide_holds, WIDE_N, t, len, fn, arg);
}

static int wide_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    (void)ctx;
    if (id >= WIDE_N)
        return MP_NOTFOUND;
    *out = (struct mp_relevance_item){8, id / 20, 12, false};
    return MP_OK;
}

static int wide_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    char t[8];
    (void)ctx;
    for (int k = 0; k < COMMON; k++) {
        int n = snprintf(t, sizeof(t), "c%d", k);
        if (wide_holds(t, (size_t)n, id))
            fn(arg, t, (size_t)n, 1);
    }
    return MP_OK;
}

static bool wide_capped;
static void wide_work(void *ctx, uint32_t postings, bool capped)
{
    (void)ctx;
    (void)postings;
    wide_capped = capped;
}

START_TEST(test_feedback_candidates_read_within_their_ceilings)
{
    static const uint32_t ceilings[] = {100, 1000, 5000};
    for (size_t c = 0; c < sizeof(ceilings) / sizeof(ceilings[0]); c++) {
        uint32_t max = ceilings[c];
        struct mp_relevance_index v = {
            NULL, WIDE_N,     8.0, wide_df,   wide_postings, NULL, wide_item, wide_item_terms,
            NULL, WIDE_N - 1, max, wide_work, wide_df_upto,  0};
        struct mp_relevance_params p;
        mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
        struct mp_terms *t = NULL;
        struct mp_relevance_hit *h = NULL;
        size_t nh = 0;
        df_reads = 0;
        memset(read_of, 0, sizeof(read_of));
        wide_capped = false;
        ck_assert_int_eq(mp_terms_new(&t), MP_OK);
        ck_assert_int_eq(mp_relevance_score(t, &v, &p, "rare", 4, NULL, 0, &h, &nh), MP_OK);
        mp_terms_free(t);
        /* 40 candidates of 2,700 postings: 108,000 reads unbounded */
        ck_assert_msg(df_reads <= (MP_RELEVANCE_PRF_DF_CEILINGS + 1) * (max + 1) + 64,
                      "ceiling %u: %u postings read for dfs", max, df_reads);
        /* each candidate reads no more than one past the feedback's bound */
        ck_assert_uint_le(df_reads, COMMON * (MP_RELEVANCE_PRF_DF_MAX + 1) + 64);
        /* capped only where the candidates' ceilings cannot afford what the
           bound lets each read (40 x 129 = 5,160 postings): above that
           the bound alone leaves the common candidates out (the method,
           not a cap) */
        bool short_of_bound =
            (uint64_t)COMMON * (MP_RELEVANCE_PRF_DF_MAX + 1) > MP_RELEVANCE_PRF_DF_CEILINGS * max;
        ck_assert_msg(wide_capped == short_of_bound, "ceiling %u: capped %d", max, wide_capped);
        ck_assert_uint_gt(nh, 0); /* the rare term's items are found all the same */
        free(h);
    }
}
END_TEST

/* ---- feedback's bound on a candidate's items: an index where the four
 * items of "rare" also hold "kept", in MP_RELEVANCE_PRF_DF_MAX items, and
 * "left", in one more; every item its own session (no smoothing between
 * them). edge_drop takes one of the two out of the index. ---- */

#define EDGE_N      1000
#define EDGE_KEPT   500 /* "kept" alone from here */
#define EDGE_LEFT   700 /* "left" alone from here */
#define EDGE_SHARED 4   /* items 0..3 hold all three */

static const char *edge_drop; /* a term no item holds; NULL: none */

static bool edge_holds(const char *t, size_t len, uint32_t id)
{
    uint32_t from, own; /* the term's items past the shared ones */
    if (edge_drop != NULL && is(t, len, edge_drop))
        return false;
    if (is(t, len, "rare"))
        return id < EDGE_SHARED;
    if (is(t, len, "kept")) {
        from = EDGE_KEPT;
        own = MP_RELEVANCE_PRF_DF_MAX - EDGE_SHARED;
    } else if (is(t, len, "left")) {
        from = EDGE_LEFT;
        own = MP_RELEVANCE_PRF_DF_MAX + 1 - EDGE_SHARED;
    } else {
        return false;
    }
    return id < EDGE_SHARED || (id >= from && id < from + own);
}

static uint32_t edge_df_of(const char *t, size_t len)
{
    uint32_t df = 0;
    for (uint32_t id = 0; id < EDGE_N; id++)
        df += edge_holds(t, len, id);
    return df;
}

static uint32_t edge_reads; /* postings df_upto read for "left" */

static uint32_t edge_df(void *ctx, const char *t, size_t len)
{
    (void)ctx;
    return edge_df_of(t, len);
}

static uint32_t edge_df_upto(void *ctx, const char *t, size_t len, uint32_t cap)
{
    uint32_t df = edge_df_of(t, len), got = df > cap ? cap + 1 : df;
    (void)ctx;
    if (is(t, len, "left") && got > edge_reads)
        edge_reads = got;
    return df;
}

static int edge_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn,
                         void *arg)
{
    (void)ctx;
    return postings_where(edge_holds, EDGE_N, t, len, fn, arg);
}

static int edge_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    (void)ctx;
    if (id >= EDGE_N)
        return MP_NOTFOUND;
    *out = (struct mp_relevance_item){8, id, 12, false};
    return MP_OK;
}

static int edge_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    (void)ctx;
    if (id >= EDGE_SHARED)
        return MP_OK;
    static const char *const terms[] = {"rare", "kept", "left"};
    int rc = MP_OK;
    for (size_t i = 0; i < 3 && rc == MP_OK; i++)
        if (edge_holds(terms[i], 4, (uint32_t)id))
            rc = fn(arg, terms[i], 4, 1);
    return rc;
}

/* The score of item 0 (a "rare" item), edge_drop out of the index. */
static double edge_score(const char *drop)
{
    struct mp_relevance_index v = {
        NULL, EDGE_N,     8.0, edge_df, edge_postings, NULL, edge_item, edge_item_terms,
        NULL, EDGE_N - 1, 0,   NULL,    edge_df_upto,  0};
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    p.survivors = 0; /* every candidate a hit: none hidden behind the survivors */
    struct mp_terms *t = NULL;
    struct mp_relevance_hit *h = NULL;
    size_t nh = 0;
    double s = -1.0;
    edge_drop = drop;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, "rare", 4, NULL, 0, &h, &nh), MP_OK);
    mp_terms_free(t);
    edge_drop = NULL;
    for (size_t i = 0; i < nh; i++) {
        ck_assert_uint_lt(h[i].item, EDGE_SHARED); /* feedback makes no new candidate */
        s = h[i].item == 0 ? h[i].score : s;
    }
    free(h);
    ck_assert(s > 0);
    return s;
}

START_TEST(test_feedback_leaves_out_a_term_past_its_bound)
{
    edge_reads = 0;
    double full = edge_score(NULL);
    ck_assert_uint_le(edge_reads, MP_RELEVANCE_PRF_DF_MAX + 1); /* "left" costs one past it */
    /* "kept", at the bound, joins: without it the rare items score less */
    ck_assert(edge_score("kept") < full);
    /* "left", one past it, does not: without it they score the same */
    ck_assert(edge_score("left") == full);
}
END_TEST

Suite *mp_test_suite(void);

#define VOCAB 12 /* w0 .. w11: w0 in most items, w11 in few */
#define CASES 300

struct gpost {
    uint32_t term, item, tc, tk, td;
};

struct gix {
    struct gpost *p; /* by term, then item */
    size_t np;
    struct mp_relevance_item *it;
    uint32_t n;
    bool with_len; /* postings carry has_len */
    bool mixed;    /* ... but those of every third item (written before) */
};

static uint64_t rng;

static uint32_t next(uint32_t below)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return below > 0 ? (uint32_t)(rng % below) : 0;
}

static int term_of(const char *t, size_t len)
{
    if (len < 2 || len > 3 || t[0] != 'w')
        return -1;
    int v = 0;
    for (size_t i = 1; i < len; i++)
        v = v * 10 + (t[i] - '0');
    return v < VOCAB ? v : -1;
}

static uint32_t g_df(void *ctx, const char *t, size_t len)
{
    const struct gix *x = ctx;
    int term = term_of(t, len);
    uint32_t df = 0;
    for (size_t k = 0; term >= 0 && k < x->np; k++)
        df += x->p[k].term == (uint32_t)term;
    return df;
}

static int g_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn, void *arg)
{
    const struct gix *x = ctx;
    int term = term_of(t, len);
    for (size_t k = 0; term >= 0 && k < x->np; k++) {
        const struct gpost *g = &x->p[k];
        if (g->term != (uint32_t)term)
            continue;
        struct mp_relevance_posting p = {g->item, g->tc, g->tk, g->td, 0, 0, false};
        p.has_len = x->with_len && !(x->mixed && g->item % 3 == 0);
        p.len = p.has_len ? x->it[g->item].len : 0;
        int rc = fn(arg, &p);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int g_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    const struct gix *x = ctx;
    if (id >= x->n || x->it[id].tokens == 0) /* tokens 0: a gap */
        return MP_NOTFOUND;
    *out = x->it[id];
    return MP_OK;
}

static int g_items(void *ctx, uint32_t lo, uint32_t hi, mp_relevance_item_fn fn, void *arg)
{
    const struct gix *x = ctx;
    for (uint32_t id = lo; id <= hi && id < x->n; id++) {
        if (x->it[id].tokens == 0)
            continue;
        int rc = fn(arg, id, &x->it[id]);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int g_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    const struct gix *x = ctx;
    char t[4];
    for (size_t k = 0; k < x->np; k++)
        if (x->p[k].item == id && x->p[k].tc > 0) {
            int n = snprintf(t, sizeof(t), "w%u", (unsigned)x->p[k].term);
            int rc = fn(arg, t, (size_t)n, x->p[k].tc);
            if (rc != MP_OK)
                return rc;
        }
    return MP_OK;
}

/* A generated index: n items in sessions of random lengths, some gaps;
 * term w<v> in an item with a chance falling with v; counts 1-3 in the
 * content, some in the key, a few dates; then a few items gone, their
 * postings left (stale: scoring must skip them). */
static void generate(struct gix *x)
{
    x->n = 30 + next(600);
    x->it = calloc(x->n, sizeof(*x->it));
    x->p = calloc((size_t)x->n * VOCAB, sizeof(*x->p));
    ck_assert(x->it != NULL && x->p != NULL);
    uint32_t session = 0, left = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        if (left-- == 0) {
            session++;
            left = 1 + next(25);
        }
        if (next(10) == 0)
            continue; /* a gap: tokens 0 */
        x->it[i] = (struct mp_relevance_item){
            .len = 3 + next(60), .session = session, .tokens = 5 + next(80), .timex = next(5) == 0};
    }
    unsigned spread = 2 + next(8); /* how fast the chance falls */
    for (uint32_t v = 0; v < VOCAB; v++)
        for (uint32_t i = 0; i < x->n; i++) {
            if (x->it[i].tokens == 0 || next(100) >= 95 / (1 + v * spread / 4))
                continue;
            x->p[x->np++] = (struct gpost){v, i, next(4), next(6) == 0, next(12) == 0};
            if (x->p[x->np - 1].tc + x->p[x->np - 1].tk + x->p[x->np - 1].td == 0)
                x->p[x->np - 1].tc = 1;
        }
    for (uint32_t i = 0; i < x->n; i++) /* items gone since: their postings are stale */
        if (next(25) == 0)
            x->it[i].tokens = 0;
}

static struct mp_relevance_index view(struct gix *x)
{
    double total = 0;
    uint32_t items = 0;
    for (uint32_t i = 0; i < x->n; i++)
        if (x->it[i].tokens > 0) {
            total += x->it[i].len;
            items++;
        }
    struct mp_relevance_index v = {x,
                                   items,
                                   items ? total / items : 1.0,
                                   g_df,
                                   g_postings,
                                   g_items,
                                   g_item,
                                   g_item_terms,
                                   NULL,
                                   x->n - 1,
                                   0,
                                   NULL,
                                   NULL,
                                   0};
    return v;
}

/* A question of 1-4 words of the vocabulary. */
static void question(char *q, size_t cap)
{
    size_t at = 0;
    unsigned words = 1 + next(4);
    for (unsigned k = 0; k < words; k++)
        at += (size_t)snprintf(q + at, cap - at, "%sw%u", k ? " " : "", (unsigned)next(VOCAB));
}

static void score(struct gix *x, const struct mp_relevance_params *p, const char *q,
                  struct mp_relevance_hit **h, size_t *nh)
{
    struct mp_terms *t = NULL;
    struct mp_relevance_index v = view(x);
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, p, q, strlen(q), NULL, 0, h, nh), MP_OK);
    mp_terms_free(t);
}

static const struct mp_relevance_hit *find(const struct mp_relevance_hit *h, size_t nh, uint32_t id)
{
    for (size_t k = 0; k < nh; k++)
        if (h[k].item == id)
            return &h[k];
    return NULL;
}

/* Field by field (a hit has padding). */
static bool same_hits(const struct mp_relevance_hit *a, const struct mp_relevance_hit *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k].item != b[k].item || a[k].score != b[k].score || a[k].tokens != b[k].tokens)
            return false;
    return true;
}

static int cmp_best(const void *a, const void *b)
{
    const struct mp_relevance_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* The params of a case: kind's preset, stages off as asked. */
static struct mp_relevance_params params(bool smooth, bool feedback, bool boosts)
{
    struct mp_relevance_params p;
    mp_relevance_preset(next(2) ? MP_RELEVANCE_TURNS : MP_RELEVANCE_FACTS, &p);
    if (!smooth) {
        p.nb_prev = p.nb_next = p.sess_w = 0;
        p.nb_window = 0;
    }
    if (!feedback)
        p.prf_docs = 0;
    if (!boosts)
        p.spk_boost = p.temp_boost = 0;
    return p;
}

static void release(struct gix *x)
{
    free(x->p);
    free(x->it);
    memset(x, 0, sizeof(*x));
}

/* Case c of a test (salt: the test's): its index and question. */
static void start_case(int c, uint64_t salt, struct gix *x, char *q, size_t cap)
{
    rng = salt ^ (uint64_t)(c + 1);
    memset(x, 0, sizeof(*x));
    generate(x);
    x->with_len = next(2);
    question(q, cap);
}

START_TEST(test_bm25f_alone_keeps_exactly_the_best)
{
    for (int c = 0; c < CASES; c++) {
        struct gix x;
        char q[64];
        start_case(c, 0x9e3779b97f4a7c15ULL, &x, q, sizeof(q));
        struct mp_relevance_params p = params(false, false, false);
        struct mp_relevance_hit *all = NULL, *kept = NULL;
        size_t nall = 0, nkept = 0;
        p.survivors = 0;
        score(&x, &p, q, &all, &nall);
        p.survivors = 1 + next(40);
        score(&x, &p, q, &kept, &nkept);
        size_t want = nall < p.survivors ? nall : p.survivors;
        ck_assert_msg(nkept == want, "case %d: %zu hits, want %zu", c, nkept, want);
        if (nall > 0)
            qsort(all, nall, sizeof(*all), cmp_best);
        for (size_t k = 0; k < want; k++) {
            const struct mp_relevance_hit *h = find(kept, nkept, all[k].item);
            ck_assert_msg(h != NULL, "case %d: item %u (rank %zu) not kept", c, all[k].item, k);
            ck_assert_msg(h->score == all[k].score, "case %d: item %u scores differ", c,
                          all[k].item);
        }
        free(all);
        free(kept);
        release(&x);
    }
}
END_TEST

START_TEST(test_a_survivor_scores_as_with_every_candidate)
{
    for (int c = 0; c < CASES; c++) {
        struct gix x;
        char q[64];
        start_case(c, 0xd1b54a32d192ed03ULL, &x, q, sizeof(q));
        struct mp_relevance_params p = params(true, false, true), bm = p;
        bm.nb_prev = bm.nb_next = bm.sess_w = 0;
        bm.nb_window = 0;
        bm.spk_boost = bm.temp_boost = 0;
        unsigned k = 1 + next(40);
        struct mp_relevance_hit *first = NULL, *all = NULL, *kept = NULL;
        size_t nfirst = 0, nall = 0, nkept = 0;
        bm.survivors = 0; /* BM25F alone, every candidate: who survives */
        score(&x, &bm, q, &first, &nfirst);
        p.survivors = 0;
        score(&x, &p, q, &all, &nall);
        p.survivors = k;
        score(&x, &p, q, &kept, &nkept);
        for (size_t j = 0; j < nkept; j++) {
            const struct mp_relevance_hit *e = find(all, nall, kept[j].item);
            ck_assert_msg(e != NULL && kept[j].score <= e->score * (1 + 1e-12),
                          "case %d: item %u above its exhaustive score", c, kept[j].item);
        }
        if (nfirst > 0)
            qsort(first, nfirst, sizeof(*first), cmp_best);
        for (size_t j = 0; j < nfirst && j < k; j++) {
            const struct mp_relevance_hit *h = find(kept, nkept, first[j].item);
            const struct mp_relevance_hit *e = find(all, nall, first[j].item);
            ck_assert_msg(h != NULL && e != NULL && h->score == e->score,
                          "case %d: survivor %u scores %g, %g with every candidate", c,
                          first[j].item, h != NULL ? h->score : -1.0, e != NULL ? e->score : -1.0);
        }
        free(first);
        free(all);
        free(kept);
        release(&x);
    }
}
END_TEST

START_TEST(test_enough_survivors_change_nothing)
{
    for (int c = 0; c < CASES; c++) {
        struct gix x;
        char q[64];
        start_case(c, 0xa0761d6478bd642fULL, &x, q, sizeof(q));
        struct mp_relevance_params p = params(true, true, true);
        struct mp_relevance_hit *all = NULL, *kept = NULL;
        size_t nall = 0, nkept = 0;
        p.survivors = 0;
        score(&x, &p, q, &all, &nall);
        p.survivors = x.n; /* at least the candidates */
        score(&x, &p, q, &kept, &nkept);
        ck_assert_msg(nkept == nall, "case %d", c);
        ck_assert_msg(same_hits(all, kept, nall), "case %d", c);
        free(all);
        free(kept);
        release(&x);
    }
}
END_TEST

START_TEST(test_posting_lengths_score_as_item_reads)
{
    for (int c = 0; c < CASES; c++) {
        struct gix x;
        char q[64];
        start_case(c, 0xe7037ed1a0b428dbULL, &x, q, sizeof(q));
        struct mp_relevance_params p = params(true, true, true);
        p.survivors = next(3) == 0 ? 0 : 1 + next(40);
        struct mp_relevance_hit *read = NULL, *carried = NULL, *mixed = NULL;
        size_t nread = 0, ncarried = 0, nmixed = 0;
        x.with_len = false;
        score(&x, &p, q, &read, &nread);
        x.with_len = true;
        score(&x, &p, q, &carried, &ncarried);
        x.mixed = true; /* an upgraded store: old postings among new ones */
        score(&x, &p, q, &mixed, &nmixed);
        ck_assert_msg(nread == ncarried, "case %d: %zu vs %zu hits", c, nread, ncarried);
        ck_assert_msg(same_hits(read, carried, nread), "case %d", c);
        ck_assert_msg(nread == nmixed && same_hits(read, mixed, nread), "case %d, mixed", c);
        free(read);
        free(carried);
        free(mixed);
        release(&x);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("relevance_survivors");
    TCase *tc = tcase_create("survivors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bm25f_alone_keeps_exactly_the_best);
    tcase_add_test(tc, test_a_survivor_scores_as_with_every_candidate);
    tcase_add_test(tc, test_enough_survivors_change_nothing);
    tcase_add_test(tc, test_posting_lengths_score_as_item_reads);
    tcase_add_test(tc, test_feedback_candidates_read_within_their_ceilings);
    tcase_add_test(tc, test_feedback_leaves_out_a_term_past_its_bound);
    suite_add_tcase(s, tc);
    return s;
}
