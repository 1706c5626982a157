/* Tests for core/json/ascii.h: classes and case folding over every byte value. */
#include <check.h>

#include "json/ascii.h"

Suite *mp_test_suite(void);

START_TEST(test_ascii_classes_over_every_byte)
{
    for (int c = 0; c < 256; c++) {
        bool digit = c >= '0' && c <= '9';
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        ck_assert_msg(mp_ascii_is_digit((unsigned char)c) == digit, "digit %d", c);
        ck_assert_msg(mp_ascii_is_alpha((unsigned char)c) == alpha, "alpha %d", c);
        ck_assert_msg(mp_ascii_is_alnum((unsigned char)c) == (digit || alpha), "alnum %d", c);
    }
}
END_TEST

START_TEST(test_ascii_case_folds_only_ascii_letters)
{
    for (int c = 0; c < 256; c++) {
        unsigned char b = (unsigned char)c;
        unsigned char lo = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : b;
        unsigned char up = c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : b;
        ck_assert_uint_eq(mp_ascii_lower(b), lo);
        ck_assert_uint_eq(mp_ascii_upper(b), up);
    }
    ck_assert_uint_eq(mp_ascii_lower(0xC3), 0xC3); /* a UTF-8 lead byte stays */
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ascii");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ascii_classes_over_every_byte);
    tcase_add_test(tc, test_ascii_case_folds_only_ascii_letters);
    suite_add_tcase(s, tc);
    return s;
}
