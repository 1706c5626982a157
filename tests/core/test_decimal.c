/* core/decimal.c: whole numbers in decimal, as printf writes them. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "decimal.h"

Suite *mp_test_suite(void);

/* mp_decimal_u64(v) must be what printf's %llu writes. */
static void is_printf_decimal(uint64_t v)
{
    char want[32], got[MP_DECIMAL_U64_MAX + 1];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    size_t k = mp_decimal_u64(v, got);
    got[k] = '\0';
    ck_assert_str_eq(got, want);
}

START_TEST(test_decimal_is_printf_llu)
{
    const uint64_t cases[] = {0,
                              1,
                              9,
                              10,
                              99,
                              100,
                              443,
                              8080,
                              65535,
                              99999,
                              100000,
                              4294967295u,
                              4294967296u,
                              UINT64_MAX / 10,
                              UINT64_MAX - 1,
                              UINT64_MAX};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_printf_decimal(cases[i]);
    /* every power of ten and its neighbours */
    for (uint64_t p = 1; p <= UINT64_MAX / 10; p *= 10) {
        is_printf_decimal(p - 1);
        is_printf_decimal(p);
        is_printf_decimal(p + 1);
    }
}
END_TEST

START_TEST(test_decimal_writes_no_nul)
{
    char out[MP_DECIMAL_U64_MAX + 1];
    out[3] = 'x';
    ck_assert_uint_eq(mp_decimal_u64(200, out), 3);
    ck_assert_int_eq(out[3], 'x');
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("decimal");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_decimal_is_printf_llu);
    tcase_add_test(tc, test_decimal_writes_no_nul);
    suite_add_tcase(s, tc);
    return s;
}
