/* core/fnv1a.h: FNV-1a's published values, and a hash carried on from
 * one piece to the next equals the hash of the pieces as one. */
#include <check.h>
#include <string.h>

#include "fnv1a.h"

Suite *mp_test_suite(void);

START_TEST(test_fnv1a_published_values)
{
    ck_assert_uint_eq(mp_fnv1a32(MP_FNV1A32_BASIS, "", 0), 0x811c9dc5u);
    ck_assert_uint_eq(mp_fnv1a32(MP_FNV1A32_BASIS, "a", 1), 0xe40c292cu);
    ck_assert_uint_eq(mp_fnv1a32(MP_FNV1A32_BASIS, "foobar", 6), 0xbf9cf968u);
    ck_assert_uint_eq(mp_fnv1a64(MP_FNV1A64_BASIS, "", 0), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(mp_fnv1a64(MP_FNV1A64_BASIS, "a", 1), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(mp_fnv1a64(MP_FNV1A64_BASIS, "foobar", 6), 0x85944171f73967e8ULL);
}
END_TEST

START_TEST(test_fnv1a_goes_on_from_a_piece)
{
    const char *text = "caf\xc3\xa9 au lait";
    size_t n = strlen(text);
    for (size_t cut = 0; cut <= n; cut++) {
        ck_assert_uint_eq(mp_fnv1a32(mp_fnv1a32(MP_FNV1A32_BASIS, text, cut), text + cut, n - cut),
                          mp_fnv1a32(MP_FNV1A32_BASIS, text, n));
        ck_assert_uint_eq(mp_fnv1a64(mp_fnv1a64(MP_FNV1A64_BASIS, text, cut), text + cut, n - cut),
                          mp_fnv1a64(MP_FNV1A64_BASIS, text, n));
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("fnv1a");
    TCase *tc = tcase_create("fnv1a");
    tcase_add_test(tc, test_fnv1a_published_values);
    tcase_add_test(tc, test_fnv1a_goes_on_from_a_piece);
    suite_add_tcase(s, tc);
    return s;
}
