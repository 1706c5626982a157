/* core/rfc3339.c: RFC 3339 date-times to epoch milliseconds. */
#include <check.h>
#include <string.h>

#include "rfc3339.h"
#include "status.h"

Suite *mp_test_suite(void);

static int64_t ms_of(const char *s)
{
    int64_t ms = -1;
    ck_assert_msg(mp_rfc3339_parse(s, strlen(s), &ms) == MP_OK, "%s refused", s);
    return ms;
}

static void refused(const char *s)
{
    int64_t ms = 42;
    ck_assert_msg(mp_rfc3339_parse(s, strlen(s), &ms) == MP_EINVAL, "%s accepted", s);
    ck_assert_int_eq(ms, 42);
}

START_TEST(test_rfc3339_known_instants)
{
    ck_assert_int_eq(ms_of("1970-01-01T00:00:00Z"), 0);
    ck_assert_int_eq(ms_of("2023-05-08T13:56:00Z"), 1683554160000LL);
    ck_assert_int_eq(ms_of("2023-05-08t13:56:00z"), 1683554160000LL);
    ck_assert_int_eq(ms_of("2023-05-08 13:56:00Z"), 1683554160000LL);
    ck_assert_int_eq(ms_of("2023-05-08T15:56:00+02:00"), 1683554160000LL);
    ck_assert_int_eq(ms_of("2023-05-08T08:26:00-05:30"), 1683554160000LL);
    ck_assert_int_eq(ms_of("2023-05-08T13:56:00.5Z"), 1683554160500LL);
    ck_assert_int_eq(ms_of("2023-05-08T13:56:00.123987Z"), 1683554160123LL);
    ck_assert_int_eq(ms_of("2024-02-29T00:00:00Z"), 1709164800000LL); /* leap day */
    ck_assert_int_eq(ms_of("2000-02-29T23:59:59Z"), 951868799000LL);
    ck_assert_int_eq(ms_of("2016-12-31T23:59:60Z"), 1483228799999LL); /* leap second */
}
END_TEST

START_TEST(test_rfc3339_refuses_what_is_not_one)
{
    refused("");
    refused("2023-05-08");
    refused("2023-05-08T13:56:00");       /* no offset */
    refused("2023-05-08T13:56Z");         /* no seconds */
    refused("2023-13-08T13:56:00Z");      /* month */
    refused("2023-02-29T00:00:00Z");      /* not a leap year */
    refused("1900-02-29T00:00:00Z");      /* nor this one */
    refused("2023-04-31T00:00:00Z");      /* April has 30 days */
    refused("2023-05-08T24:00:00Z");      /* hour */
    refused("2023-05-08T13:60:00Z");      /* minute */
    refused("2023-05-08T13:56:61Z");      /* second */
    refused("2023-05-08T13:56:00.Z");     /* empty fraction */
    refused("2023-05-08T13:56:00Z ");     /* trailing byte */
    refused("2023-05-08T13:56:00+0200");  /* offset without colon */
    refused("2023-05-08T13:56:00+24:00"); /* offset hour */
    refused("1969-12-31T23:59:59Z");      /* before the epoch */
    refused("1970-01-01T00:30:00+01:00"); /* before the epoch too */
    refused("2023-05-08X13:56:00Z");      /* separator */
    refused("+023-05-08T13:56:00Z");      /* sign in the year */
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("rfc3339");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_rfc3339_known_instants);
    tcase_add_test(tc, test_rfc3339_refuses_what_is_not_one);
    suite_add_tcase(s, tc);
    return s;
}
