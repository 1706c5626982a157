/* Tests for storage/sweep.c: retention passes over a whole store, whole or
 * a page at a time, on both backends (loop index _i: 0 = mem, 1 = lmdb). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "store.h"
#include "store_fixture.h"
#include "sweep.h"

Suite *mp_test_suite(void);

#define DAY   (24LL * 3600 * 1000)
#define USERS 600 /* more than two pages of MP_SWEEP_PAGE */

static size_t user_name(char *out, size_t cap, int i)
{
    return (size_t)snprintf(out, cap, "sweep-user-%04d", i);
}

/* USERS users, each with one fact observed at day 1. */
static void fill(struct mp_store *store)
{
    char name[32];
    for (int i = 0; i < USERS; i++) {
        size_t n = user_name(name, sizeof(name), i);
        ck_assert_int_eq(fx_upsert(store, name, n, "city", "Oslo", MP_TRUST_STATED, DAY), MP_OK);
    }
}

static struct mp_retention one_year(void)
{
    struct mp_retention r;
    mp_sweep_retention_days(365, 30, 24, &r);
    return r;
}

START_TEST(test_sweep_retention_days_in_ms)
{
    struct mp_retention r;
    mp_sweep_retention_days(365, 30, 24, &r);
    ck_assert_int_eq(r.max_age_ms, 365 * DAY);
    ck_assert_int_eq(r.pii_max_age_ms, 30 * DAY);
    ck_assert_int_eq(r.idem_max_age_ms, DAY);
    mp_sweep_retention_days(0, 0, 2, &r);
    ck_assert_int_eq(r.max_age_ms, 0);
    ck_assert_int_eq(r.pii_max_age_ms, 0);
    ck_assert_int_eq(r.idem_max_age_ms, 2 * 3600 * 1000);
}
END_TEST

START_TEST(test_sweep_steps_page_by_page_over_every_user)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_sweep_pass pass;
    struct mp_retention r = one_year();
    fill(store);
    mp_sweep_begin(&pass, 400 * DAY, &r);
    ck_assert_int_eq(mp_sweep_step(store, &pass, MP_SWEEP_PAGE), MP_AGAIN);
    ck_assert_uint_eq(pass.counts.facts, MP_SWEEP_PAGE);
    ck_assert_int_eq(mp_sweep_step(store, &pass, MP_SWEEP_PAGE), MP_AGAIN);
    ck_assert_uint_eq(pass.counts.facts, 2 * MP_SWEEP_PAGE);
    ck_assert_int_eq(mp_sweep_step(store, &pass, MP_SWEEP_PAGE), MP_OK);
    ck_assert_uint_eq(pass.counts.facts, USERS);
    char name[32];
    for (int i = 0; i < USERS; i += 97) {
        size_t n = user_name(name, sizeof(name), i);
        struct mp_usermem *um = fx_get(store, name, n);
        ck_assert_uint_eq(um->nentities, 0);
        mp_usermem_free(um);
    }
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_sweep_run_counts_and_a_later_pass_removes_the_users)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_retention r = one_year();
    struct mp_sweep_counts c = {0};
    char name[32];
    fill(store);
    ck_assert_int_eq(mp_sweep_run(store, 400 * DAY, &r, &c), MP_OK);
    ck_assert_uint_eq(c.facts, USERS);
    size_t n = user_name(name, sizeof(name), 7);
    ck_assert(!fx_absent(store, name, n)); /* its EXPIRED entries are history */
    /* a year on, that history is past retention too: the users go */
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_sweep_run(store, 800 * DAY, &r, &c), MP_OK);
    ck_assert_uint_eq(c.facts, 0);
    ck_assert_uint_ge(c.history, USERS);
    ck_assert(fx_absent(store, name, n));
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_sweep_before_the_limit_purges_nothing)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_retention r = one_year();
    struct mp_sweep_counts c = {0};
    char name[32];
    fill(store);
    ck_assert_int_eq(mp_sweep_run(store, 300 * DAY, &r, &c), MP_OK);
    ck_assert_uint_eq(c.facts + c.messages + c.summaries + c.history + c.idem, 0);
    size_t n = user_name(name, sizeof(name), 599);
    struct mp_usermem *um = fx_get(store, name, n);
    ck_assert_str_eq(fx_entity_value(um, "city"), "Oslo");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_sweep_of_an_empty_store_is_one_step)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_sweep_pass pass;
    struct mp_retention r = one_year();
    mp_sweep_begin(&pass, 400 * DAY, &r);
    ck_assert_int_eq(mp_sweep_step(store, &pass, MP_SWEEP_PAGE), MP_OK);
    ck_assert_uint_eq(pass.counts.facts, 0);
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sweep_retention_days_in_ms);
    tcase_add_loop_test(tc, test_sweep_steps_page_by_page_over_every_user, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_sweep_run_counts_and_a_later_pass_removes_the_users, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_sweep_before_the_limit_purges_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_sweep_of_an_empty_store_is_one_step, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
