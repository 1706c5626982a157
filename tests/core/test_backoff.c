/* core/backoff.c: a peer's refusals wait longer each time after the free
 * ones, up to a cap; other peers are not touched; an idle peer is
 * forgiven; the table stays bounded. */
#include <check.h>
#include <string.h>

#include "backoff.h"

Suite *mp_test_suite(void);

static struct mp_backoff table;

static void addr_of(unsigned n, unsigned char a[MP_BACKOFF_ADDR_LEN])
{
    memset(a, 0, MP_BACKOFF_ADDR_LEN);
    a[10] = a[11] = 0xff;
    a[12] = 10;
    a[13] = (unsigned char)(n >> 16);
    a[14] = (unsigned char)(n >> 8);
    a[15] = (unsigned char)n;
}

START_TEST(test_backoff_doubles_after_the_free_failures_up_to_the_cap)
{
    unsigned char a[MP_BACKOFF_ADDR_LEN];
    static const unsigned want[] = {0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000, 8000};
    mp_backoff_init(&table);
    addr_of(1, a);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_uint_eq(mp_backoff_fail(&table, a, 1000 + (int64_t)i, 250), want[i]);
}
END_TEST

START_TEST(test_backoff_other_peers_and_idle_peers_start_from_none)
{
    unsigned char a[MP_BACKOFF_ADDR_LEN], b[MP_BACKOFF_ADDR_LEN];
    mp_backoff_init(&table);
    addr_of(1, a);
    addr_of(2, b);
    for (int i = 0; i < 5; i++)
        mp_backoff_fail(&table, a, 1000, 100);
    ck_assert_uint_eq(mp_backoff_fail(&table, b, 1000, 100), 0);
    ck_assert_uint_eq(mp_backoff_fail(&table, a, 1000, 100), 400);
    /* idle past the forget time: free again */
    ck_assert_uint_eq(mp_backoff_fail(&table, a, 1000 + MP_BACKOFF_FORGET_MS + 1, 100), 0);
    /* base 0: off */
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(mp_backoff_fail(&table, b, 2000, 0), 0);
}
END_TEST

START_TEST(test_backoff_table_is_bounded_and_evicts_the_oldest)
{
    unsigned char a[MP_BACKOFF_ADDR_LEN];
    mp_backoff_init(&table);
    for (unsigned n = 0; n < 4 * MP_BACKOFF_PEERS; n++) {
        addr_of(n, a);
        mp_backoff_fail(&table, a, (int64_t)n, 100);
    }
    /* the newest peers are kept, each with one failure */
    addr_of(4 * MP_BACKOFF_PEERS - 1, a);
    for (int i = 0; i < 2; i++)
        mp_backoff_fail(&table, a, 5000, 100);
    ck_assert_uint_eq(mp_backoff_fail(&table, a, 5000, 100), 100);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_backoff_doubles_after_the_free_failures_up_to_the_cap);
    tcase_add_test(tc, test_backoff_other_peers_and_idle_peers_start_from_none);
    tcase_add_test(tc, test_backoff_table_is_bounded_and_evicts_the_oldest);
    suite_add_tcase(s, tc);
    return s;
}
