/* core/embed/embed_vec.c: the vector record's bytes, the quantization's
 * error bound on random unit vectors, and the records refused. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "embed/embed_request.h"
#include "embed/embed_vec.h"
#include "embed_rand.h"
#include "status.h"

Suite *mp_test_suite(void);

#define DIMS 384

static double cosine(const float *a, const float *b, unsigned dims)
{
    double ab = 0, aa = 0, bb = 0;
    for (unsigned i = 0; i < dims; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

START_TEST(test_embed_vec_round_trip_keeps_direction)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    double worst = 1.0;
    for (int n = 0; n < 500; n++) {
        float v[DIMS], back[DIMS];
        unsigned char rec[MP_EMBED_VEC_SIZE(DIMS)];
        size_t len = 0;
        struct mp_embed_vec view;
        embed_rand_unit(&seed, v, DIMS);
        ck_assert_int_eq(mp_embed_vec_encode(v, DIMS, 7, rec, sizeof(rec), &len), MP_OK);
        ck_assert_uint_eq(len, 399);
        ck_assert_int_eq(mp_embed_vec_view(rec, len, &view), MP_OK);
        mp_embed_vec_decode(&view, back);
        double c = cosine(v, back, DIMS);
        worst = c < worst ? c : worst;
        double norm = 0;
        for (unsigned i = 0; i < DIMS; i++)
            norm += (double)back[i] * back[i];
        ck_assert_double_eq_tol(norm, 1.0, 1e-5);
    }
    ck_assert_double_ge(worst, 0.999);
}
END_TEST

START_TEST(test_embed_vec_record_layout)
{
    float v[3] = {0.5f, -1.0f, 0.25f};
    unsigned char rec[32];
    size_t len = 0;
    uint64_t h = mp_embed_vec_model_hash("foobar", 6);
    ck_assert_uint_eq(h, 0x85944171f73967e8ULL);
    ck_assert_int_eq(mp_embed_vec_encode(v, 3, h, rec, sizeof(rec), &len), MP_OK);
    ck_assert_uint_eq(len, MP_EMBED_VEC_HEAD + 3);
    ck_assert_uint_eq(rec[0], MP_EMBED_VEC_VERSION);
    ck_assert_uint_eq(rec[1], 3);
    ck_assert_uint_eq(rec[2], 0);
    const unsigned char hash_le[8] = {0xe8, 0x67, 0x39, 0xf7, 0x71, 0x41, 0x94, 0x85};
    ck_assert_mem_eq(rec + 3, hash_le, 8);
    ck_assert_int_eq((int8_t)rec[15], 64); /* round(0.5 * 127) */
    ck_assert_int_eq((int8_t)rec[16], -127);
    ck_assert_int_eq((int8_t)rec[17], 32); /* round(31.75) */
    float scale;
    uint32_t bits = (uint32_t)rec[11] | (uint32_t)rec[12] << 8 | (uint32_t)rec[13] << 16 |
                    (uint32_t)rec[14] << 24;
    memcpy(&scale, &bits, sizeof(scale));
    ck_assert_float_eq_tol(scale, (float)(1.0 / sqrt(64.0 * 64 + 127 * 127 + 32 * 32)), 1e-9f);
    struct mp_embed_vec view;
    ck_assert_int_eq(mp_embed_vec_view(rec, len, &view), MP_OK);
    ck_assert_uint_eq(view.dims, 3);
    ck_assert_uint_eq(view.model_hash, h);
    ck_assert_ptr_eq(view.codes, (const int8_t *)(rec + 15));
}
END_TEST

START_TEST(test_embed_vec_encode_refusals)
{
    float ok[2] = {1, 0}, zero[2] = {0, -0.0f}, nan[2] = {1, NAN}, inf[2] = {INFINITY, 0};
    unsigned char rec[32];
    size_t len = 99;
    ck_assert_int_eq(mp_embed_vec_encode(ok, 0, 1, rec, sizeof(rec), &len), MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_encode(ok, MP_EMBED_DIMS_MAX + 1, 1, rec, sizeof(rec), &len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_encode(zero, 2, 1, rec, sizeof(rec), &len), MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_encode(nan, 2, 1, rec, sizeof(rec), &len), MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_encode(inf, 2, 1, rec, sizeof(rec), &len), MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_encode(ok, 2, 1, rec, MP_EMBED_VEC_SIZE(2) - 1, &len),
                     MP_ETOOBIG);
    ck_assert_uint_eq(len, 99);
}
END_TEST

START_TEST(test_embed_vec_view_refusals)
{
    float v[4] = {0.1f, 0.2f, -0.3f, 0.4f};
    unsigned char rec[MP_EMBED_VEC_SIZE(4)], bad[sizeof(rec)];
    size_t len = 0;
    struct mp_embed_vec view = {.dims = 77};
    ck_assert_int_eq(mp_embed_vec_encode(v, 4, 1, rec, sizeof(rec), &len), MP_OK);
    ck_assert_int_eq(mp_embed_vec_view(NULL, 0, &view), MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_view(rec, len - 1, &view), MP_EINVAL);
    ck_assert_int_eq(mp_embed_vec_view(rec, 3, &view), MP_EINVAL);
    memcpy(bad, rec, len);
    bad[0] = 2; /* a version from the future */
    ck_assert_int_eq(mp_embed_vec_view(bad, len, &view), MP_EINVAL);
    memcpy(bad, rec, len);
    bad[1] = 0; /* zero dimensions */
    ck_assert_int_eq(mp_embed_vec_view(bad, MP_EMBED_VEC_HEAD, &view), MP_EINVAL);
    memcpy(bad, rec, len);
    memset(bad + 11, 0, 4); /* scale 0 */
    ck_assert_int_eq(mp_embed_vec_view(bad, len, &view), MP_EINVAL);
    memcpy(bad, rec, len);
    memset(bad + 11, 0xff, 4); /* scale NaN */
    ck_assert_int_eq(mp_embed_vec_view(bad, len, &view), MP_EINVAL);
    memcpy(bad, rec, len);
    bad[11] = 0, bad[12] = 0, bad[13] = 0x80, bad[14] = 0x7f; /* scale +inf */
    ck_assert_int_eq(mp_embed_vec_view(bad, len, &view), MP_EINVAL);
    memcpy(bad, rec, len);
    bad[MP_EMBED_VEC_HEAD + 2] = 0x80; /* -128: never written */
    ck_assert_int_eq(mp_embed_vec_view(bad, len, &view), MP_EINVAL);
    ck_assert_uint_eq(view.dims, 77);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("embed_vec");
    TCase *tc = tcase_create("embed_vec");
    tcase_add_test(tc, test_embed_vec_round_trip_keeps_direction);
    tcase_add_test(tc, test_embed_vec_record_layout);
    tcase_add_test(tc, test_embed_vec_encode_refusals);
    tcase_add_test(tc, test_embed_vec_view_refusals);
    suite_add_tcase(s, tc);
    return s;
}
