/* core/embed/embed_scan.c: the dot product, the top-K order (ties by the
 * lower item), and the work ceiling that stops a scan. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_request.h"
#include "embed/embed_scan.h"
#include "embed/embed_vec.h"
#include "embed_rand.h"
#include "status.h"

Suite *mp_test_suite(void);

START_TEST(test_embed_scan_dot_exact)
{
    const float q[19] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5f, 1, 1, 1, 1, 1, -1, 10, 2};
    const int8_t c[19] = {1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 127, 0, 0, 0, 0, 0, 3, 1, -1};
    int16_t q16[19];
    struct mp_embed_query eq;
    ck_assert_int_eq(mp_embed_scan_query(q, 19, q16, &eq), MP_OK);
    ck_assert_int_eq(q16[9], 32767); /* the largest at the top of the scale */
    ck_assert_int_eq(q16[10], 1638); /* round(0.05 * 32767) */
    /* 16 in the vectorized body, 3 in the tail: -5 + 63.5 + 0 - 3 + 10 - 2;
     * each coordinate is off by at most half a step of 10 / 32767 */
    double want = -5.0 + 63.5 - 3 + 10 - 2, sum_c = 10 + 127 + 5;
    ck_assert_double_eq_tol((double)eq.unit * mp_embed_scan_dot(&eq, c), want,
                            0.5 * 10.0 / 32767 * sum_c);
    /* the integer sum itself is exact */
    int32_t exact = 0;
    for (int i = 0; i < 19; i++)
        exact += q16[i] * c[i];
    ck_assert_int_eq(mp_embed_scan_dot(&eq, c), exact);
}
END_TEST

START_TEST(test_embed_scan_query_refusals_and_no_overflow)
{
    static float q[MP_EMBED_DIMS_MAX];
    static int16_t q16[MP_EMBED_DIMS_MAX];
    static int8_t c[MP_EMBED_DIMS_MAX];
    struct mp_embed_query eq = {.dims = 77};
    ck_assert_int_eq(mp_embed_scan_query(q, 4, q16, &eq), MP_EINVAL); /* all zeros */
    q[0] = NAN;
    ck_assert_int_eq(mp_embed_scan_query(q, 4, q16, &eq), MP_EINVAL);
    q[0] = 1;
    ck_assert_int_eq(mp_embed_scan_query(q, 0, q16, &eq), MP_EINVAL);
    ck_assert_int_eq(mp_embed_scan_query(q, MP_EMBED_DIMS_MAX + 1, q16, &eq), MP_EINVAL);
    ck_assert_uint_eq(eq.dims, 77);
    /* the largest sum there can be, at the most dimensions: no overflow */
    for (unsigned i = 0; i < MP_EMBED_DIMS_MAX; i++) {
        q[i] = -1;
        c[i] = -127;
    }
    ck_assert_int_eq(mp_embed_scan_query(q, MP_EMBED_DIMS_MAX, q16, &eq), MP_OK);
    int32_t dot = mp_embed_scan_dot(&eq, c);
    ck_assert_int_gt(dot, 0);
    ck_assert_double_eq_tol((double)eq.unit * dot, 127.0 * MP_EMBED_DIMS_MAX, 127.0 * 8192 * 1e-3);
}
END_TEST

/* Six 2-dimensional vectors with known similarities to q = (1, 0):
 * items 1 and 4 are tied at the top. */
static const int8_t codes6[12] = {0, 127, 127, 0, -127, 0, 90, 90, 127, 0, 64, 0};
static const float scales6[6] = {1.0f / 127, 1.0f / 127, 1.0f / 127, 1.0f / 127.27922061357855f,
                                 1.0f / 127, 1.0f / 64};

START_TEST(test_embed_scan_topk_order_and_ties)
{
    const float qf[2] = {1, 0};
    int16_t q16[2];
    struct mp_embed_query q;
    struct mp_embed_hit out[6];
    size_t scanned = 0;
    ck_assert_int_eq(mp_embed_scan_query(qf, 2, q16, &q), MP_OK);
    size_t n = mp_embed_scan_topk(&q, codes6, scales6, 6, 100, out, 4, &scanned);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(scanned, 6);
    /* 1, 4 and 5 have similarity 1 (ties by item), then 3 (0.707) */
    ck_assert_uint_eq(out[0].item, 1);
    ck_assert_uint_eq(out[1].item, 4);
    ck_assert_uint_eq(out[2].item, 5);
    ck_assert_uint_eq(out[3].item, 3);
    ck_assert_float_eq_tol(out[0].sim, 1.0f, 1e-6f);
    ck_assert_float_eq_tol(out[3].sim, 0.70710678f, 1e-3f);
    /* k past n: every vector, the opposite one last */
    n = mp_embed_scan_topk(&q, codes6, scales6, 6, 100, out, 6, NULL);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(out[4].item, 0);
    ck_assert_uint_eq(out[5].item, 2);
    ck_assert_float_eq_tol(out[5].sim, -1.0f, 1e-6f);
}
END_TEST

START_TEST(test_embed_scan_work_ceiling)
{
    const float qf[2] = {1, 0};
    int16_t q16[2];
    struct mp_embed_query q;
    struct mp_embed_hit out[6];
    size_t scanned = 0;
    ck_assert_int_eq(mp_embed_scan_query(qf, 2, q16, &q), MP_OK);
    /* the ceiling stops before items 4 and 5: item 1 leads, 3 follows */
    size_t n = mp_embed_scan_topk(&q, codes6, scales6, 6, 4, out, 3, &scanned);
    ck_assert_uint_eq(scanned, 4);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(out[0].item, 1);
    ck_assert_uint_eq(out[1].item, 3);
    ck_assert_uint_eq(out[2].item, 0);
    n = mp_embed_scan_topk(&q, codes6, scales6, 6, 0, out, 3, &scanned);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(scanned, 0);
    n = mp_embed_scan_topk(&q, codes6, scales6, 6, 100, out, 0, &scanned);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(scanned, 0);
}
END_TEST

static int by_sim(const void *pa, const void *pb)
{
    const struct mp_embed_hit *a = pa, *b = pb;
    if (a->sim != b->sim)
        return a->sim > b->sim ? -1 : 1;
    return (a->item > b->item) - (a->item < b->item);
}

START_TEST(test_embed_scan_topk_equals_a_full_sort)
{
    enum { DIMS = 384, N = 300, K = 17 };
    static int8_t codes[N * DIMS];
    static float scales[N];
    static struct mp_embed_hit all[N], out[K];
    float qf[DIMS], v[DIMS];
    int16_t q16[DIMS];
    struct mp_embed_query q;
    uint64_t seed = 42;
    unsigned char rec[MP_EMBED_VEC_SIZE(DIMS)];
    size_t len;
    struct mp_embed_vec view;

    embed_rand_unit(&seed, qf, DIMS);
    ck_assert_int_eq(mp_embed_scan_query(qf, DIMS, q16, &q), MP_OK);
    for (uint32_t i = 0; i < N; i++) {
        embed_rand_unit(&seed, v, DIMS);
        ck_assert_int_eq(mp_embed_vec_encode(v, DIMS, 1, rec, sizeof(rec), &len), MP_OK);
        ck_assert_int_eq(mp_embed_vec_view(rec, len, &view), MP_OK);
        memcpy(codes + (size_t)i * DIMS, view.codes, DIMS);
        scales[i] = view.scale;
        float dot = (float)mp_embed_scan_dot(&q, view.codes);
        all[i] = (struct mp_embed_hit){i, view.scale * q.unit * dot};
        /* the integer query's cosine is the float one's to 1e-4 */
        double exact = 0;
        for (unsigned d = 0; d < DIMS; d++)
            exact += (double)qf[d] * view.codes[d] * view.scale;
        ck_assert_double_eq_tol(all[i].sim, exact, 1e-4);
    }
    qsort(all, N, sizeof(all[0]), by_sim);
    ck_assert_uint_eq(mp_embed_scan_topk(&q, codes, scales, N, N, out, K, NULL), K);
    for (size_t i = 0; i < K; i++) {
        ck_assert_uint_eq(out[i].item, all[i].item);
        ck_assert_float_eq(out[i].sim, all[i].sim);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("embed_scan");
    TCase *tc = tcase_create("embed_scan");
    tcase_add_test(tc, test_embed_scan_dot_exact);
    tcase_add_test(tc, test_embed_scan_query_refusals_and_no_overflow);
    tcase_add_test(tc, test_embed_scan_topk_order_and_ties);
    tcase_add_test(tc, test_embed_scan_work_ceiling);
    tcase_add_test(tc, test_embed_scan_topk_equals_a_full_sort);
    suite_add_tcase(s, tc);
    return s;
}
