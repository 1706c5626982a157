/* Tests for core/relevance.c: BM25F and each later stage with exact scores on
 * hand-built tiny indexes, packing, determinism, the no-match case. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "relevance.h"
#include "status.h"
#include "terms.h"

Suite *mp_test_suite(void);

/* ---- a tiny index in arrays: postings sorted by term, then item ---- */

struct tpost {
    const char *t;
    uint32_t item, tc, tk, td;
};

struct tix {
    const struct tpost *p;
    size_t np;
    const struct mp_relevance_item *it;
    uint32_t n;
    const char *const *surface; /* word, stem, word, stem, ..., NULL */
};

static bool term_is(const struct tpost *p, const char *t, size_t len)
{
    return strlen(p->t) == len && memcmp(p->t, t, len) == 0;
}

static uint32_t t_df(void *ctx, const char *t, size_t len)
{
    const struct tix *x = ctx;
    uint32_t df = 0;
    for (size_t k = 0; k < x->np; k++)
        df += term_is(&x->p[k], t, len);
    return df;
}

static int t_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn, void *arg)
{
    const struct tix *x = ctx;
    for (size_t k = 0; k < x->np; k++) {
        struct mp_relevance_posting p = {x->p[k].item, x->p[k].tc, x->p[k].tk, x->p[k].td};
        if (!term_is(&x->p[k], t, len))
            continue;
        int rc = fn(arg, &p);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int t_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    const struct tix *x = ctx;
    *out = x->it[id];
    return MP_OK;
}

static int t_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    const struct tix *x = ctx;
    for (size_t k = 0; k < x->np; k++)
        if (x->p[k].item == id && x->p[k].tc > 0)
            fn(arg, x->p[k].t, strlen(x->p[k].t), x->p[k].tc);
    return MP_OK;
}

static int t_surface(void *ctx, mp_relevance_surface_fn fn, void *arg)
{
    const struct tix *x = ctx;
    for (size_t k = 0; x->surface != NULL && x->surface[k] != NULL; k += 2)
        fn(arg, x->surface[k], strlen(x->surface[k]), x->surface[k + 1], strlen(x->surface[k + 1]));
    return MP_OK;
}

static struct mp_relevance_index view(struct tix *x)
{
    double total = 0;
    for (uint32_t i = 0; i < x->n; i++)
        total += x->it[i].len;
    struct mp_relevance_index v = {
        x, x->n, x->n ? total / x->n : 1.0, t_df, t_postings, t_item, t_item_terms, t_surface};
    return v;
}

/* The TURNS set with every stage after BM25F off. */
static struct mp_relevance_params plain(void)
{
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    p.nb_prev = p.nb_next = p.sess_w = p.spk_boost = p.temp_boost = 0;
    p.prf_docs = 0;
    return p;
}

static void score(struct tix *x, const struct mp_relevance_params *p, const char *q, double *s)
{
    struct mp_terms *t = NULL;
    struct mp_relevance_index v = view(x);
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, p, q, strlen(q), NULL, 0, s), MP_OK);
    mp_terms_free(t);
}

/* BM25 of one posting: w * idf * tf (k1 + 1) / (tf + k1 (1 - b + b len/avglen)). */
static double bm25(const struct mp_relevance_params *p, double w, uint32_t n, uint32_t df,
                   double tf, double len, double avglen)
{
    double idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
    return w * idf * tf * (p->k1 + 1.0) / (tf + p->k1 * (1.0 - p->b + p->b * len / avglen));
}

#define EQ(a, b) ck_assert_double_eq_tol((a), (b), 1e-12)

/* four items in two sessions: 0 1 2 | 3 */
static const struct mp_relevance_item items4[] = {
    {2, 1, 10, false}, {4, 1, 10, false}, {2, 1, 10, true}, {4, 2, 10, false}};

START_TEST(test_relevance_bm25f_fields_and_length)
{
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"cat", 1, 2, 1, 0}, {"dog", 2, 1, 0, 0}, {"dog", 3, 1, 0, 0}};
    struct tix x = {ps, 4, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "the cats", s);
    /* avglen 3; tf of item 1 = 1 * 2 (content) + 2 * 1 (key) */
    EQ(s[0], bm25(&p, 1, 4, 2, 1, 2, 3));
    EQ(s[1], bm25(&p, 1, 4, 2, 4, 4, 3));
    EQ(s[2], 0);
    EQ(s[3], 0);
}
END_TEST

START_TEST(test_relevance_group_takes_its_best_member)
{
    /* mom = mother in the lexicon: an item holding both counts the best once */
    static const struct tpost ps[] = {{"mom", 0, 1, 0, 0},
                                      {"mother", 0, 1, 0, 0},
                                      {"mother", 1, 1, 0, 0},
                                      {"tea", 2, 1, 0, 0},
                                      {"tea", 3, 1, 0, 0}};
    struct tix x = {ps, 5, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "mom", s);
    double own = bm25(&p, 1, 4, 1, 1, 2, 3);
    double rel0 = bm25(&p, p.lex_w, 4, 2, 1, 2, 3);
    ck_assert(own > rel0);
    EQ(s[0], own);
    EQ(s[1], bm25(&p, p.lex_w, 4, 2, 1, 4, 3));
}
END_TEST

START_TEST(test_relevance_groups_add_up)
{
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"dog", 0, 1, 0, 0}, {"dog", 1, 1, 0, 0}};
    struct tix x = {ps, 3, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "cat and dog", s);
    EQ(s[0], bm25(&p, 1, 4, 1, 1, 2, 3) + bm25(&p, 1, 4, 2, 1, 2, 3));
}
END_TEST

START_TEST(test_relevance_spelling_neighbour_only_for_unknown_words)
{
    static const struct tpost ps[] = {{"guitar", 1, 1, 0, 0}, {"violin", 2, 1, 0, 0}};
    static const char *const surface[] = {"guitar", "guitar", "violin", "violin", NULL};
    struct tix x = {ps, 2, items4, 4, surface};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "guittar", s);
    EQ(s[1], bm25(&p, p.fuzzy_w, 4, 1, 1, 4, 3));
    EQ(s[2], 0);
    score(&x, &p, "gitar", s); /* deletion neighbour too; "guit" would be too short */
    EQ(s[1], bm25(&p, p.fuzzy_w, 4, 1, 1, 4, 3));
    score(&x, &p, "guit", s);
    EQ(s[1], 0);
}
END_TEST

START_TEST(test_relevance_date_groups_need_a_capital)
{
    static const struct tpost ps[] = {
        {"@2023", 0, 0, 0, 1}, {"@may", 0, 0, 0, 1}, {"@june", 1, 0, 0, 1}, {"@june", 2, 0, 0, 1}};
    struct tix x = {ps, 4, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "what may happen in 2023", s);
    EQ(s[0], bm25(&p, 1, 4, 1, p.w_date, 2, 3));
    score(&x, &p, "in May", s);
    EQ(s[0], bm25(&p, 1, 4, 1, p.w_date, 2, 3));
    EQ(s[1], 0);
}
END_TEST

START_TEST(test_relevance_smoothing_stays_in_the_session)
{
    static const struct tpost ps[] = {{"cat", 2, 1, 0, 0}};
    struct tix x = {ps, 1, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    p.nb_prev = 0.5;
    p.nb_next = 0.25;
    p.nb_decay = 0.5;
    p.sess_w = 0.1;
    double s[4];
    score(&x, &p, "cat", s);
    double v = bm25(&p, 1, 4, 1, 1, 2, 3);
    EQ(s[2], v + 0.1 * v);
    EQ(s[1], 0.25 * v + 0.1 * v);       /* the next item's share */
    EQ(s[0], 0.25 * 0.5 * v + 0.1 * v); /* two steps: one decay */
    EQ(s[3], 0);                        /* another session */
}
END_TEST

START_TEST(test_relevance_speaker_boost_on_the_key)
{
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"melani", 1, 0, 1, 0}, {"tea", 1, 1, 0, 0}, {"tea", 3, 1, 0, 0}};
    struct tix x = {ps, 4, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    p.spk_boost = 1.0;
    double s[4];
    score(&x, &p, "Melanie tea", s);
    double key = bm25(&p, 1, 4, 1, p.w_key, 4, 3);
    EQ(s[1], 2.0 * (key + bm25(&p, 1, 4, 2, 1, 4, 3)));
    EQ(s[3], bm25(&p, 1, 4, 2, 1, 4, 3));
}
END_TEST

START_TEST(test_relevance_feedback_adds_shared_terms)
{
    /* items 0 and 1 hold the question word and "zebra"; item 3 only "zebra" */
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0},   {"cat", 1, 1, 0, 0},
                                      {"zebra", 0, 1, 0, 0}, {"zebra", 1, 1, 0, 0},
                                      {"zebra", 3, 1, 0, 0}, {"lion", 0, 1, 0, 0}};
    struct tix x = {ps, 6, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    p.prf_docs = 8;
    p.prf_terms = 5;
    p.prf_min_docs = 2;
    p.prf_w = 0.2;
    double s[4];
    score(&x, &p, "cat", s);
    /* zebra is the only term held by 2 of the best items: weight prf_w */
    double z = bm25(&p, p.prf_w, 4, 3, 1, 4, 3);
    EQ(s[3], z);
    EQ(s[0], bm25(&p, 1, 4, 2, 1, 2, 3) + bm25(&p, p.prf_w, 4, 3, 1, 2, 3));
    EQ(s[2], 0);
}
END_TEST

START_TEST(test_relevance_temporal_question_boosts_time_expressions)
{
    static const struct tpost ps[] = {{"cat", 1, 1, 0, 0}, {"cat", 2, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL};
    struct mp_relevance_params p = plain();
    p.temp_boost = 0.5;
    double s[4], t[4];
    score(&x, &p, "Where is the cat?", s);
    score(&x, &p, "  When did the cat come?", t);
    EQ(t[1], s[1]);
    EQ(t[2], 1.5 * s[2]);
    score(&x, &p, "For how long has the cat stayed?", t);
    EQ(t[2], 1.5 * s[2]);
    score(&x, &p, "Whenever the cat", t);
    EQ(t[2], s[2]);
}
END_TEST

START_TEST(test_relevance_pack_fits_the_budget_and_skips)
{
    static const struct mp_relevance_item it[] = {
        {1, 1, 50, false}, {1, 1, 30, false}, {1, 1, 30, false}, {1, 1, 10, false}};
    static const struct tpost ps[] = {{"x", 0, 1, 0, 0}};
    struct tix x = {ps, 1, it, 4, NULL};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    p.pack_pow = 0;
    double s[4] = {4.0, 3.0, 3.0, 0.0};
    uint32_t out[4];
    size_t n = 9;
    uint32_t used = 9;
    /* 50 fits, the first 30 does not, the second neither; 0-score item never */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, s, 70, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(used, 50);
    /* 50 does not fit: skipped, not a stop; the first 30 fits, the second not */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, s, 40, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(used, 30);
    s[0] = 1.0; /* now the 30s come first, ties by id */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, s, 65, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 2);
    ck_assert_uint_le(used, 65);
}
END_TEST

START_TEST(test_relevance_pack_by_value_per_token)
{
    static const struct mp_relevance_item it[] = {{1, 1, 50, false}, {1, 1, 30, false}};
    struct tix x = {NULL, 0, it, 2, NULL};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    double s[2] = {4.0, 3.0};
    uint32_t out[2], used = 0;
    size_t n = 0;
    p.pack_pow = 1.0; /* 4/50 < 3/30 */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, s, 100, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 0);
    ck_assert_uint_eq(used, 80);
}
END_TEST

START_TEST(test_relevance_no_match_selects_nothing)
{
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0}, {"dog", 3, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_FACTS, &p);
    double s[4];
    uint32_t out[4], used = 7;
    size_t n = 7;
    score(&x, &p, "When did the parrot sing?", s);
    for (int i = 0; i < 4; i++)
        EQ(s[i], 0);
    ck_assert_int_eq(mp_relevance_pack(&v, &p, s, 1500, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(used, 0);
    score(&x, &p, "", s); /* an empty question and an empty index alike */
    EQ(s[0], 0);
    struct tix e = {NULL, 0, NULL, 0, NULL};
    score(&e, &p, "cat", s);
}
END_TEST

START_TEST(test_relevance_full_method_is_deterministic_and_within_budget)
{
    static const struct tpost ps[] = {
        {"@2023", 0, 0, 0, 1},  {"@2023", 1, 0, 0, 1},  {"@2023", 2, 0, 0, 1},
        {"@2023", 3, 0, 0, 1},  {"cat", 0, 1, 0, 0},    {"cat", 2, 2, 0, 0},
        {"melani", 0, 0, 1, 0}, {"melani", 2, 0, 1, 0}, {"tea", 1, 1, 0, 0},
        {"tea", 2, 1, 0, 0},    {"tea", 3, 1, 0, 0}};
    struct tix x = {ps, 11, items4, 4, NULL};
    struct mp_relevance_index v = view(&x);
    for (int kind = 0; kind < 2; kind++) {
        struct mp_relevance_params p;
        mp_relevance_preset(kind == 0 ? MP_RELEVANCE_FACTS : MP_RELEVANCE_TURNS, &p);
        double a[4], b[4];
        score(&x, &p, "When did Melanie's cat drink tea in 2023?", a);
        score(&x, &p, "When did Melanie's cat drink tea in 2023?", b);
        ck_assert_mem_eq(a, b, sizeof(a));
        for (uint32_t budget = 0; budget <= 45; budget += 5) {
            uint32_t out[4], used = 0;
            size_t n = 0;
            ck_assert_int_eq(mp_relevance_pack(&v, &p, a, budget, out, &n, &used), MP_OK);
            ck_assert_uint_le(used, budget);
            ck_assert_uint_eq(used, 10 * n);
        }
    }
}
END_TEST

START_TEST(test_relevance_previous_turn_weighs_less)
{
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0}, {"dog", 3, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    struct mp_terms *t = NULL;
    double s[4];
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, "cat", 3, "the dog and the cat", 19, s), MP_OK);
    mp_terms_free(t);
    EQ(s[0], bm25(&p, 1, 4, 1, 1, 2, 3)); /* cat already asked: once, at 1 */
    EQ(s[3], bm25(&p, p.prev_w, 4, 1, 1, 4, 3));
}
END_TEST

START_TEST(test_relevance_posting_out_of_range_is_rejected)
{
    static const struct tpost ps[] = {{"cat", 9, 1, 0, 0}};
    struct tix x = {ps, 1, items4, 4, NULL};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    struct mp_terms *t = NULL;
    double s[4];
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, "cat", 3, NULL, 0, s), MP_EINVAL);
    mp_terms_free(t);
}
END_TEST

START_TEST(test_relevance_index_helpers)
{
    struct mp_terms *t = NULL;
    bool tx = true;
    char mon[MP_RELEVANCE_DATE_MAX], yr[MP_RELEVANCE_DATE_MAX], sw[MP_TERMS_MAX];
    size_t n = 0;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_timex(t, "I ran a race", 12, &tx), MP_OK);
    ck_assert(!tx);
    ck_assert_int_eq(mp_relevance_timex(t, "after the race", 14, &tx), MP_OK);
    ck_assert(tx); /* a stop word, still a time word */
    ck_assert_int_eq(mp_relevance_timex(t, "in 1999!", 8, &tx), MP_OK);
    ck_assert(tx);
    mp_terms_free(t);
    ck_assert_int_eq(mp_relevance_date_terms(2023, 5, mon, yr), MP_OK);
    ck_assert_str_eq(mon, "@may");
    ck_assert_str_eq(yr, "@2023");
    ck_assert_int_eq(mp_relevance_date_terms(2023, 13, mon, yr), MP_EINVAL);
    ck_assert(mp_relevance_surface_word("caroline's", 10, sw, &n));
    ck_assert_uint_eq(n, 8);
    ck_assert(mp_relevance_surface_word("o'neil", 6, sw, &n));
    ck_assert_int_eq(memcmp(sw, "oneil", 5), 0);
    ck_assert(!mp_relevance_surface_word("8th", 3, sw, &n));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("relevance");
    TCase *tc = tcase_create("relevance");
    tcase_add_test(tc, test_relevance_bm25f_fields_and_length);
    tcase_add_test(tc, test_relevance_group_takes_its_best_member);
    tcase_add_test(tc, test_relevance_groups_add_up);
    tcase_add_test(tc, test_relevance_spelling_neighbour_only_for_unknown_words);
    tcase_add_test(tc, test_relevance_date_groups_need_a_capital);
    tcase_add_test(tc, test_relevance_smoothing_stays_in_the_session);
    tcase_add_test(tc, test_relevance_speaker_boost_on_the_key);
    tcase_add_test(tc, test_relevance_feedback_adds_shared_terms);
    tcase_add_test(tc, test_relevance_temporal_question_boosts_time_expressions);
    tcase_add_test(tc, test_relevance_pack_fits_the_budget_and_skips);
    tcase_add_test(tc, test_relevance_pack_by_value_per_token);
    tcase_add_test(tc, test_relevance_no_match_selects_nothing);
    tcase_add_test(tc, test_relevance_full_method_is_deterministic_and_within_budget);
    tcase_add_test(tc, test_relevance_previous_turn_weighs_less);
    tcase_add_test(tc, test_relevance_posting_out_of_range_is_rejected);
    tcase_add_test(tc, test_relevance_index_helpers);
    suite_add_tcase(s, tc);
    return s;
}
