/* Tests for core/status.c. */
#include <check.h>
#include <string.h>

#include "status.h"

Suite *mp_test_suite(void);

START_TEST(test_status_names_are_distinct_and_known)
{
    static const int all[] = {MP_OK,     MP_AGAIN, MP_NOTFOUND,  MP_EINVAL,    MP_ETOOBIG,
                              MP_ENOMEM, MP_EIO,   MP_EUPSTREAM, MP_ETIMEDOUT, MP_EUNSUPPORTED};
    size_t n = sizeof(all) / sizeof(all[0]);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(mp_status_name(all[i]), "unknown");
        for (size_t j = i + 1; j < n; j++)
            ck_assert_str_ne(mp_status_name(all[i]), mp_status_name(all[j]));
    }
    ck_assert_str_eq(mp_status_name(MP_NOTFOUND), "notfound");
}
END_TEST

START_TEST(test_status_unknown_value)
{
    ck_assert_str_eq(mp_status_name(12345), "unknown");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_status_names_are_distinct_and_known);
    tcase_add_test(tc, test_status_unknown_value);
    suite_add_tcase(s, tc);
    return s;
}
