/* core/recall/recall_fuse.c: the convex fusion against values worked by
 * hand, the floors of both lists, the dense floor for few items, no dense
 * list (the lexical order exactly), weight 0, and reciprocal rank fusion. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "recall/recall.h"
#include "recall/recall_fuse.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Facts: 1 (score 10, holds), 2 (5, holds), 3 (0.5, holds: under the
 * facts' floor of 10% of the best). */
static const struct mp_relevance_hit lex[3] = {
    {.item = 2, .score = 5, .holds = true},
    {.item = 1, .score = 10, .holds = true},
    {.item = 3, .score = 0.5, .holds = true},
};

/* 1,000 similarities of mean 0.5 and sd 0.1: floor 0.5 + 3 * 0.1 = 0.8. */
static const struct mp_embed_hit dense_hits[4] = {{7, 0.9f}, {2, 0.85f}, {8, 0.81f}, {9, 0.7f}};

static struct mp_recall_dense_list dense(void)
{
    return (struct mp_recall_dense_list){dense_hits, 4, 0.5, 0.1, 1000};
}

static const struct mp_recall_fused *of(const struct mp_recall_fused *f, size_t n, uint32_t item)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].item == item)
            return &f[i];
    return NULL;
}

START_TEST(test_recall_fuse_convex_by_hand)
{
    struct mp_recall_fuse_params p;
    mp_recall_fuse_defaults(&p);
    p.weight = 0.5;
    p.floor_sd[0] = p.floor_sd[1] = 3;
    struct mp_recall_dense_list d = dense();
    struct mp_recall_fused *f = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_FACTS, lex, 3, &d, &p, &f, &n), MP_OK);
    ck_assert_uint_eq(n, 6); /* 1, 2, 3, 7, 8, 9 */
    /* floor 0.8, best 0.9: 7 -> 0.5 * 1, 2 -> 5/10 + 0.5 * 0.5, 8 -> 0.5 * 0.1; 9 under */
    const struct mp_recall_fused *x1 = of(f, n, 1), *x2 = of(f, n, 2), *x7 = of(f, n, 7);
    const struct mp_recall_fused *x8 = of(f, n, 8), *x9 = of(f, n, 9), *x3 = of(f, n, 3);
    ck_assert_double_eq_tol(x1->score, 1.0, 1e-6);
    ck_assert_double_eq_tol(x2->score, 0.75, 1e-6);
    ck_assert_double_eq_tol(x7->score, 0.5, 1e-6);
    ck_assert_double_eq_tol(x8->score, 0.05, 1e-6);
    ck_assert(!x9->above && x9->score == 0 && x9->dense_rank == 4);
    ck_assert(!x3->above && x3->lex_rank == 3);
    ck_assert_uint_eq(x2->lex_rank, 2);
    ck_assert_uint_eq(x2->dense_rank, 2);
    ck_assert_float_eq(x2->sim, 0.85f);
    ck_assert_uint_eq(x7->lex_rank, 0);
    /* above first by fused score, then the rest */
    const uint32_t order[6] = {1, 2, 7, 8, 3, 9};
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(f[i].item, order[i]);
    free(f);
}
END_TEST

START_TEST(test_recall_fuse_no_dense_is_the_lexical_order)
{
    struct mp_recall_fuse_params p;
    mp_recall_fuse_defaults(&p);
    struct mp_recall_fused *f = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_FACTS, lex, 3, NULL, &p, &f, &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(f[0].item, 1);
    ck_assert_uint_eq(f[1].item, 2);
    ck_assert(f[0].above && f[1].above && !f[2].above);
    ck_assert_double_eq_tol(f[1].score / f[0].score, 0.5, 1e-12); /* proportional */
    free(f);
    /* weight 0: the dense list is not looked at */
    struct mp_recall_dense_list d = dense();
    p.weight = 0;
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_FACTS, lex, 3, &d, &p, &f, &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(f[1].dense_rank, 0);
    free(f);
}
END_TEST

START_TEST(test_recall_fuse_few_items_still_have_an_outlier)
{
    /* 4 similarities: the best of 4 stands at most 1.5 sd above their
     * mean, so 3 sd would admit nothing: the floor is 0.75 * 1.5 sd */
    static const struct mp_embed_hit h[2] = {{5, 0.9f}, {6, 0.6f}};
    struct mp_recall_dense_list d = {h, 2, 0.6, 0.15, 4};
    struct mp_recall_fuse_params p;
    mp_recall_fuse_defaults(&p);
    struct mp_recall_fused *f = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_TURNS, NULL, 0, &d, &p, &f, &n), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(f[0].item == 5 && f[0].above);  /* 0.9 > 0.6 + 1.125 * 0.15 */
    ck_assert(f[1].item == 6 && !f[1].above); /* 0.6: the mean */
    free(f);
    /* one item: no spread, no floor to pass */
    struct mp_recall_dense_list one = {h, 1, 0.9, 0, 1};
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_TURNS, NULL, 0, &one, &p, &f, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(!f[0].above);
    free(f);
}
END_TEST

START_TEST(test_recall_fuse_floor_when_words_find_nothing)
{
    /* turns' floor 3 sd (0.5 + 0.3 = 0.8 with sd 0.1); no lexical hit
     * above its floor: 1 sd (0.6), so 0.7 passes */
    static const struct mp_embed_hit h[2] = {{5, 0.9f}, {6, 0.7f}};
    struct mp_recall_dense_list d = {h, 2, 0.5, 0.1, 1000};
    struct mp_recall_fuse_params p;
    mp_recall_fuse_defaults(&p);
    struct mp_recall_fused *f = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_TURNS, NULL, 0, &d, &p, &f, &n), MP_OK);
    ck_assert(of(f, n, 6)->above);
    free(f);
    /* with a lexical hit above its floor, 3 sd holds: 0.7 is kept out */
    static const struct mp_relevance_hit one[1] = {{.item = 1, .score = 3, .holds = true}};
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_TURNS, one, 1, &d, &p, &f, &n), MP_OK);
    ck_assert(!of(f, n, 6)->above);
    ck_assert(of(f, n, 5)->above && of(f, n, 1)->above);
    free(f);
}
END_TEST

START_TEST(test_recall_fuse_rrf)
{
    struct mp_recall_fuse_params p;
    mp_recall_fuse_defaults(&p);
    p.method = MP_RECALL_FUSE_RRF;
    p.weight = 1;
    p.floor_sd[0] = p.floor_sd[1] = 3;
    struct mp_recall_dense_list d = dense();
    struct mp_recall_fused *f = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_recall_fuse(MP_RELEVANCE_FACTS, lex, 3, &d, &p, &f, &n), MP_OK);
    ck_assert_double_eq_tol(of(f, n, 2)->score, 1.0 / 62 + 1.0 / 62, 1e-12);
    ck_assert_double_eq_tol(of(f, n, 1)->score, 1.0 / 61, 1e-12);
    ck_assert_double_eq_tol(of(f, n, 7)->score, 1.0 / 61, 1e-12);
    ck_assert_uint_eq(f[0].item, 2);
    free(f);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("recall_fuse");
    TCase *tc = tcase_create("recall_fuse");
    tcase_add_test(tc, test_recall_fuse_convex_by_hand);
    tcase_add_test(tc, test_recall_fuse_no_dense_is_the_lexical_order);
    tcase_add_test(tc, test_recall_fuse_few_items_still_have_an_outlier);
    tcase_add_test(tc, test_recall_fuse_floor_when_words_find_nothing);
    tcase_add_test(tc, test_recall_fuse_rrf);
    suite_add_tcase(s, tc);
    return s;
}
