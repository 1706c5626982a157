/* core/embed/embed_fuse.c: reciprocal rank fusion against an example
 * worked by hand, its tie rules, repeated ids, and the output's cap. */
#include <check.h>

#include "embed/embed_fuse.h"
#include "status.h"

Suite *mp_test_suite(void);

/* lex 10, 20, 30, 50; dense 30, 40, 10. With k = 60:
 *   10: 1/61 + 1/63 = 0.0322664   30: 1/63 + 1/61 (a tie with 10)
 *   20: 1/62        = 0.0161290   40: 1/62        (a tie with 20)
 *   50: 1/64        = 0.015625
 * Ties: 10 and 30 both have a best rank of 1 and a lexical rank: the lower
 * id first; 20 and 40 both have a best rank of 2: the lexical one first. */
static const uint32_t lex[4] = {10, 20, 30, 50};
static const struct mp_embed_hit dense[3] = {{30, 0.9f}, {40, 0.8f}, {10, 0.7f}};

START_TEST(test_embed_fuse_hand_computed)
{
    struct mp_embed_fused out[7];
    size_t n = 0;
    ck_assert_int_eq(mp_embed_fuse_rrf(lex, 4, dense, 3, MP_EMBED_RRF_K, out, 7, &n), MP_OK);
    ck_assert_uint_eq(n, 5);
    const uint32_t items[5] = {10, 30, 20, 40, 50};
    const uint32_t lr[5] = {1, 3, 2, 0, 4}, dr[5] = {3, 1, 0, 2, 0};
    const float sims[5] = {0.7f, 0.9f, 0, 0.8f, 0};
    const double scores[5] = {1.0 / 61 + 1.0 / 63, 1.0 / 63 + 1.0 / 61, 1.0 / 62, 1.0 / 62,
                              1.0 / 64};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(out[i].item, items[i]);
        ck_assert_uint_eq(out[i].lex_rank, lr[i]);
        ck_assert_uint_eq(out[i].dense_rank, dr[i]);
        ck_assert_float_eq(out[i].sim, sims[i]);
        ck_assert_double_eq_tol(out[i].score, scores[i], 1e-12);
    }
    ck_assert_double_eq_tol(out[0].score, 0.0322664, 1e-7);
}
END_TEST

START_TEST(test_embed_fuse_k_is_a_parameter)
{
    struct mp_embed_fused out[7];
    size_t n = 0;
    /* k = 0: 10 and 30 score 1 + 1/3, 20 and 40 one half, 50 a quarter */
    ck_assert_int_eq(mp_embed_fuse_rrf(lex, 4, dense, 3, 0, out, 7, &n), MP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_double_eq_tol(out[0].score, 1.0 + 1.0 / 3, 1e-12);
    ck_assert_double_eq_tol(out[2].score, 0.5, 1e-12);
    ck_assert_uint_eq(out[4].item, 50);
    ck_assert_double_eq_tol(out[4].score, 0.25, 1e-12);
}
END_TEST

START_TEST(test_embed_fuse_one_list_keeps_its_order)
{
    struct mp_embed_fused out[4];
    size_t n = 0;
    ck_assert_int_eq(mp_embed_fuse_rrf(lex, 4, NULL, 0, 60, out, 4, &n), MP_OK);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(out[i].item, lex[i]);
        ck_assert_uint_eq(out[i].dense_rank, 0);
    }
    ck_assert_int_eq(mp_embed_fuse_rrf(NULL, 0, dense, 3, 60, out, 4, &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0].item, 30);
    ck_assert_uint_eq(out[2].item, 10);
    ck_assert_uint_eq(out[2].lex_rank, 0);
    ck_assert_int_eq(mp_embed_fuse_rrf(NULL, 0, NULL, 0, 60, out, 0, &n), MP_OK);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_embed_fuse_repeated_id_counts_at_first_rank)
{
    const uint32_t rep[3] = {7, 8, 7};
    const struct mp_embed_hit drep[2] = {{8, 0.5f}, {8, 0.4f}};
    struct mp_embed_fused out[5];
    size_t n = 0;
    ck_assert_int_eq(mp_embed_fuse_rrf(rep, 3, drep, 2, 60, out, 5, &n), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0].item, 8);
    ck_assert_uint_eq(out[0].lex_rank, 2);
    ck_assert_uint_eq(out[0].dense_rank, 1);
    ck_assert_float_eq(out[0].sim, 0.5f);
    ck_assert_uint_eq(out[1].item, 7);
    ck_assert_uint_eq(out[1].lex_rank, 1);
}
END_TEST

START_TEST(test_embed_fuse_cap_short)
{
    struct mp_embed_fused out[6];
    size_t n = 99;
    ck_assert_int_eq(mp_embed_fuse_rrf(lex, 4, dense, 3, 60, out, 6, &n), MP_ETOOBIG);
    ck_assert_uint_eq(n, 99);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("embed_fuse");
    TCase *tc = tcase_create("embed_fuse");
    tcase_add_test(tc, test_embed_fuse_hand_computed);
    tcase_add_test(tc, test_embed_fuse_k_is_a_parameter);
    tcase_add_test(tc, test_embed_fuse_one_list_keeps_its_order);
    tcase_add_test(tc, test_embed_fuse_repeated_id_counts_at_first_rank);
    tcase_add_test(tc, test_embed_fuse_cap_short);
    suite_add_tcase(s, tc);
    return s;
}
