/* Tests for core/memory/natid.c: UK National Insurance numbers and Spanish DNI/NIE,
 * their accepted layouts, check letters, prefix rules and token bounds. */
#include <check.h>
#include <string.h>

#include "memory/natid.h"

Suite *mp_test_suite(void);

/* The length of the id found at text[at], or 0 when there is none. */
static size_t id_len_at(const char *text, size_t at)
{
    size_t end = 12345;
    if (!mp_natid_at(text, strlen(text), at, &end)) {
        ck_assert_uint_eq(end, 12345); /* untouched on a miss */
        return 0;
    }
    return end - at;
}

START_TEST(test_natid_nino_unbroken_and_spaced)
{
    ck_assert_uint_eq(id_len_at("AB123456C", 0), 9);
    ck_assert_uint_eq(id_len_at("ni: ab123456d.", 4), 9);
    ck_assert_uint_eq(id_len_at("AB 12 34 56 C", 0), 13);
    ck_assert_uint_eq(id_len_at("JG 10 37 59 A is mine", 0), 13);
}
END_TEST

START_TEST(test_natid_nino_prefix_rules)
{
    ck_assert_uint_eq(id_len_at("DA123456A", 0), 0); /* D never first */
    ck_assert_uint_eq(id_len_at("QQ123456C", 0), 0); /* Q never first */
    ck_assert_uint_eq(id_len_at("AO123456A", 0), 0); /* O never second */
    ck_assert_uint_eq(id_len_at("GB123456A", 0), 0); /* administrative prefixes */
    ck_assert_uint_eq(id_len_at("NT123456A", 0), 0);
    ck_assert_uint_eq(id_len_at("ZZ123456A", 0), 0);
}
END_TEST

START_TEST(test_natid_nino_shape_near_misses)
{
    ck_assert_uint_eq(id_len_at("AB123456E", 0), 0);  /* suffix A-D only */
    ck_assert_uint_eq(id_len_at("AB12345C", 0), 0);   /* five digits */
    ck_assert_uint_eq(id_len_at("AB1234567C", 0), 0); /* seven digits */
    ck_assert_uint_eq(id_len_at("AB123456CX", 0), 0); /* longer token */
    ck_assert_uint_eq(id_len_at("XAB123456C", 1), 0); /* inside a token */
    ck_assert_uint_eq(id_len_at("AB 1234 56 C", 0), 0);
    ck_assert_uint_eq(id_len_at("AB 12 34 56C", 0), 0); /* mixed layout */
    ck_assert_uint_eq(id_len_at("AB 12 34 56", 0), 0);  /* cut short */
    ck_assert_uint_eq(id_len_at("AB 12 34 5", 0), 0);
}
END_TEST

/* 12345678 % 23 == 14 -> 'Z'; X1234567: 1234567 % 23 == 19 -> 'L'. */
START_TEST(test_natid_dni_and_nie_with_their_check_letter)
{
    ck_assert_uint_eq(id_len_at("12345678Z", 0), 9);
    ck_assert_uint_eq(id_len_at("DNI 12345678-z.", 4), 10);
    ck_assert_uint_eq(id_len_at("12345678 Z", 0), 10);
    ck_assert_uint_eq(id_len_at("X1234567L", 0), 9);
    ck_assert_uint_eq(id_len_at("Y1234567X", 0), 9); /* 11234567 % 23 == 10 -> 'X' */
}
END_TEST

START_TEST(test_natid_dni_and_nie_near_misses)
{
    ck_assert_uint_eq(id_len_at("12345678A", 0), 0);  /* wrong letter */
    ck_assert_uint_eq(id_len_at("X1234567Z", 0), 0);  /* wrong letter */
    ck_assert_uint_eq(id_len_at("1234567Z", 0), 0);   /* seven digits */
    ck_assert_uint_eq(id_len_at("123456789Z", 0), 0); /* nine digits */
    ck_assert_uint_eq(id_len_at("12345678ZZ", 0), 0); /* longer token */
    ck_assert_uint_eq(id_len_at("A1234567L", 0), 0);  /* NIE starts X/Y/Z */
    ck_assert_uint_eq(id_len_at("12345678--Z", 0), 0);
    ck_assert_uint_eq(id_len_at("12345678", 0), 0);
}
END_TEST

START_TEST(test_natid_out_of_range_start_is_a_miss)
{
    ck_assert_uint_eq(id_len_at("AB123456C", 9), 0);
    ck_assert_uint_eq(id_len_at("", 0), 0);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("natid");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_natid_nino_unbroken_and_spaced);
    tcase_add_test(tc, test_natid_nino_prefix_rules);
    tcase_add_test(tc, test_natid_nino_shape_near_misses);
    tcase_add_test(tc, test_natid_dni_and_nie_with_their_check_letter);
    tcase_add_test(tc, test_natid_dni_and_nie_near_misses);
    tcase_add_test(tc, test_natid_out_of_range_start_is_a_miss);
    suite_add_tcase(s, tc);
    return s;
}
