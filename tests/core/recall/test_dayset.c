/* Tests for core/recall/dayset.c: membership against a plain list for days
 * of every kind (the two ends of what a day may be included), the few kept in the
 * struct, growth into a table, repeats added once, and a freed set empty. */
#include <check.h>
#include <stdlib.h>

#include "recall/dayset.h"
#include "status.h"

Suite *mp_test_suite(void);

static bool listed(const int64_t *days, size_t n, int64_t day)
{
    for (size_t i = 0; i < n; i++)
        if (days[i] == day)
            return true;
    return false;
}

START_TEST(test_dayset_ends_and_zero)
{
    struct mp_dayset s = {0};
    const int64_t days[] = {INT64_MIN + 1, INT64_MAX, 0, -1, 1, 20000};
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++)
        ck_assert(!mp_dayset_has(&s, days[i]));
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        ck_assert_int_eq(mp_dayset_add(&s, days[i]), MP_OK);
        for (size_t j = 0; j < sizeof(days) / sizeof(days[0]); j++)
            ck_assert_int_eq(mp_dayset_has(&s, days[j]), j <= i);
    }
    ck_assert_ptr_null(s.slot); /* a few days: kept in the struct, nothing allocated */
    mp_dayset_free(&s);
    ck_assert(!mp_dayset_has(&s, INT64_MAX));
    ck_assert(!mp_dayset_has(&s, 0));
    ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(test_dayset_grows_and_agrees_with_a_list)
{
    /* days that collide in the table's low bits (multiples of 1024), runs
       of neighbours, and repeats: the set holds exactly what was added */
    enum { N = 3000 };
    static int64_t added[N];
    struct mp_dayset s = {0};
    size_t n = 0;
    uint32_t seed = 5;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t day = (seed >> 8) % 3 == 0   ? (int64_t)(seed % 64) * 1024
                      : (seed >> 8) % 3 == 1 ? 19000 + (int64_t)(seed % 500)
                                             : -(int64_t)(seed % 100);
        if (!listed(added, n, day))
            added[n++] = day;
        ck_assert_int_eq(mp_dayset_add(&s, day), MP_OK);
        ck_assert(mp_dayset_has(&s, day));
    }
    ck_assert_uint_eq(s.n, n);         /* repeats were added once */
    ck_assert_uint_le(2 * s.n, s.cap); /* the table, kept at most half full */
    for (int64_t day = -200; day < 70 * 1024; day++)
        ck_assert_int_eq(mp_dayset_has(&s, day), listed(added, n, day));
    mp_dayset_free(&s);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("dayset");
    TCase *tc = tcase_create("dayset");
    tcase_add_test(tc, test_dayset_ends_and_zero);
    tcase_add_test(tc, test_dayset_grows_and_agrees_with_a_list);
    suite_add_tcase(s, tc);
    return s;
}
