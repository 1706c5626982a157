/* Tests for core/errtext.c: formatting into a bounded why-buffer. */
#include <check.h>
#include <string.h>

#include "errtext.h"

Suite *mp_test_suite(void);

START_TEST(test_errtext_formats_into_the_buffer)
{
    char why[64];
    mp_errtext_format(why, sizeof(why), "%s:%u: %s", "memproxy.ini", 12u, "bad value");
    ck_assert_str_eq(why, "memproxy.ini:12: bad value");
}
END_TEST

START_TEST(test_errtext_cuts_to_fit_and_terminates)
{
    char why[8];
    memset(why, 'x', sizeof(why));
    mp_errtext_format(why, sizeof(why), "key file %s is unreadable", "/etc/k");
    ck_assert_str_eq(why, "key fil");
}
END_TEST

START_TEST(test_errtext_null_or_empty_buffer_writes_nothing)
{
    char why[4] = "abc";
    mp_errtext_format(NULL, 16, "%d", 1);
    mp_errtext_format(why, 0, "%d", 1);
    ck_assert_str_eq(why, "abc");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("errtext");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_errtext_formats_into_the_buffer);
    tcase_add_test(tc, test_errtext_cuts_to_fit_and_terminates);
    tcase_add_test(tc, test_errtext_null_or_empty_buffer_writes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
