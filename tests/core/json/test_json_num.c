/* core/json/json_num.c: number literals to doubles, correctly rounded where
 * the header promises, and the ends of the range left to the caller. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "json/json_num.h"

Suite *mp_test_suite(void);

static double num(const char *s)
{
    return mp_json_num_value(s, strlen(s));
}

START_TEST(test_json_num_correctly_rounded)
{
    ck_assert(num("0") == 0.0);
    ck_assert(num("-0.0123") == -0.0123);
    ck_assert(num("0.85") == 0.85);
    ck_assert(num("85e-2") == 0.85);
    ck_assert(num("1E3") == 1000.0);
    ck_assert(num("2.5e+1") == 25.0);
    ck_assert(num("-0.036511726") == -0.036511726);
}
END_TEST

START_TEST(test_json_num_past_the_range)
{
    ck_assert(isinf(num("1e999")) && num("1e999") > 0);
    ck_assert(isinf(num("-1e999")) && num("-1e999") < 0);
    ck_assert(num("1e-999") == 0.0);
    ck_assert(num("1e99999999999999999999") > 1e308);
    /* more than 19 digits: the rest only scale */
    ck_assert(fabs(num("123456789012345678901234") / 1.23456789012345678e23 - 1.0) < 1e-15);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("json_num");
    TCase *tc = tcase_create("json_num");
    tcase_add_test(tc, test_json_num_correctly_rounded);
    tcase_add_test(tc, test_json_num_past_the_range);
    suite_add_tcase(s, tc);
    return s;
}
