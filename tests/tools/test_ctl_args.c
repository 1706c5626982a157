/* Tests for tools/ctl/ctl_args.c: options with and without values, "--",
 * keeping unknown options for a second pass, and strict numbers. */
#include <check.h>
#include <string.h>

#include "ctl/ctl_args.h"

Suite *mp_test_suite(void);

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct mp_ctl_opt opts[3];

static void reset(void)
{
    memset(opts, 0, sizeof(opts));
    opts[0] = (struct mp_ctl_opt){.name = "--tenant", .takes_value = true};
    opts[1] = (struct mp_ctl_opt){.name = "--json"};
    opts[2] = (struct mp_ctl_opt){.name = "--config", .alias = "-c", .takes_value = true};
}

START_TEST(test_ctl_args_values_flags_and_positionals)
{
    const char *argv[] = {"alice", "--tenant", "ab", "--json", "-c=x.ini", "more"};
    const char *pos[4];
    size_t npos = 0;
    char err[128] = "";
    reset();
    ck_assert_int_eq(
        mp_ctl_args_parse(N(argv), argv, opts, 3, false, pos, 4, &npos, err, sizeof(err)), 0);
    ck_assert_uint_eq(npos, 2);
    ck_assert_str_eq(pos[0], "alice");
    ck_assert_str_eq(pos[1], "more");
    ck_assert(opts[0].seen && opts[1].seen && opts[2].seen);
    ck_assert_str_eq(opts[0].value, "ab");
    ck_assert_ptr_null(opts[1].value);
    ck_assert_str_eq(opts[2].value, "x.ini");
}
END_TEST

START_TEST(test_ctl_args_double_dash_ends_options)
{
    const char *argv[] = {"--", "--json", "-c"};
    const char *pos[4];
    size_t npos = 0;
    char err[128] = "";
    reset();
    ck_assert_int_eq(
        mp_ctl_args_parse(N(argv), argv, opts, 3, false, pos, 4, &npos, err, sizeof(err)), 0);
    ck_assert_uint_eq(npos, 2);
    ck_assert_str_eq(pos[0], "--json");
    ck_assert(!opts[1].seen);
}
END_TEST

START_TEST(test_ctl_args_keep_unknown_for_a_second_pass)
{
    const char *argv[] = {"users", "show", "--archive", "5", "--json", "bob", "--", "--tenant"};
    const char *pos[8];
    size_t npos = 0;
    char err[128] = "";
    reset();
    ck_assert_int_eq(
        mp_ctl_args_parse(N(argv), argv, opts, 3, true, pos, 8, &npos, err, sizeof(err)), 0);
    ck_assert(opts[1].seen);
    ck_assert(!opts[0].seen);
    ck_assert_uint_eq(npos, 7);
    const char *want[] = {"users", "show", "--archive", "5", "bob", "--", "--tenant"};
    for (size_t i = 0; i < 7; i++)
        ck_assert_str_eq(pos[i], want[i]);
}
END_TEST

static void refused(int argc, const char *const *argv, size_t maxpos, const char *why)
{
    const char *pos[4];
    size_t npos = 0;
    char err[128] = "";
    reset();
    ck_assert_int_eq(
        mp_ctl_args_parse(argc, argv, opts, 3, false, pos, maxpos, &npos, err, sizeof(err)), -1);
    ck_assert_str_eq(err, why);
}

START_TEST(test_ctl_args_refusals_say_why)
{
    const char *a1[] = {"--bogus"};
    refused(1, a1, 4, "unknown option '--bogus'");
    const char *a2[] = {"--tenant"};
    refused(1, a2, 4, "--tenant needs a value");
    const char *a3[] = {"--json=yes"};
    refused(1, a3, 4, "--json takes no value");
    const char *a4[] = {"--json", "--json"};
    refused(2, a4, 4, "--json given twice");
    const char *a5[] = {"a", "b"};
    refused(2, a5, 1, "unexpected argument 'b'");
    const char *a6[] = {"-c", "x", "--config=y"};
    refused(3, a6, 4, "--config given twice");
}
END_TEST

START_TEST(test_ctl_args_number_is_strict)
{
    unsigned long v = 7;
    ck_assert_int_eq(mp_ctl_args_number("1", 1, 1000, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(mp_ctl_args_number("1000", 1, 1000, &v), 0);
    ck_assert_uint_eq(v, 1000);
    ck_assert_int_eq(mp_ctl_args_number("0", 0, 5, &v), 0);
    ck_assert_uint_eq(v, 0);
    const char *bad[] = {
        "", "0", "1001", "-1", "+1", " 1", "1 ", "01", "1e3", "0x10", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        ck_assert_msg(mp_ctl_args_number(bad[i], 1, 1000, &v) == -1, "%s", bad[i]);
        ck_assert_uint_eq(v, 7);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ctl_args");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ctl_args_values_flags_and_positionals);
    tcase_add_test(tc, test_ctl_args_double_dash_ends_options);
    tcase_add_test(tc, test_ctl_args_keep_unknown_for_a_second_pass);
    tcase_add_test(tc, test_ctl_args_refusals_say_why);
    tcase_add_test(tc, test_ctl_args_number_is_strict);
    suite_add_tcase(s, tc);
    return s;
}
