/* core/keystrength.c: a key that could have come from a random generator
 * passes; the shapes people type do not. */
#include <check.h>
#include <string.h>

#include "keystrength.h"

Suite *mp_test_suite(void);

static const char *check_key(const char *k)
{
    return mp_keystrength_check(k, strlen(k));
}

START_TEST(test_keystrength_random_hex_and_base64_pass)
{
    /* openssl rand -hex 16, -hex 32, -base64 24 */
    ck_assert_ptr_null(check_key("3f9c2a7be1d04856af17c3e9205db6a4"));
    ck_assert_ptr_null(
        check_key("b7e14c0f9a2d6e3851c7f0ab94d2e6183a5c07f1e9b24d6a8c3f5e7019b2d4c6"));
    ck_assert_ptr_null(check_key("q8Zk3Vd0Xw+7bR2nYp/Lf9TgHc4sJm1a"));
}
END_TEST

START_TEST(test_keystrength_short_keys_are_refused)
{
    ck_assert_str_eq(check_key("a"), "shorter than 32 bytes");
    ck_assert_str_eq(check_key("changeme"), "shorter than 32 bytes");
    /* 31 random hex digits: one short */
    ck_assert_str_eq(check_key("3f9c2a7be1d04856af17c3e9205db6a"), "shorter than 32 bytes");
    ck_assert_str_eq(mp_keystrength_check(NULL, 0), "shorter than 32 bytes");
}
END_TEST

START_TEST(test_keystrength_low_variety_and_repeats_are_refused)
{
    ck_assert_str_eq(check_key("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                     "too few different characters");
    ck_assert_str_eq(check_key("abababababababababababababababab"), "too few different characters");
    ck_assert_str_eq(check_key("0000000000000000000000000123456789ab"),
                     "one character is a third of it");
    ck_assert_str_eq(check_key("0123456789abcdef0123456789abcdef"), "a shorter text repeated");
    ck_assert_str_eq(check_key("password1password1password1password1"), "a shorter text repeated");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("keystrength");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_keystrength_random_hex_and_base64_pass);
    tcase_add_test(tc, test_keystrength_short_keys_are_refused);
    tcase_add_test(tc, test_keystrength_low_variety_and_repeats_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
