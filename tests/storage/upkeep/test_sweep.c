/* Tests for storage/upkeep/sweep.c: retention passes over a whole store, whole or
 * a page at a time, on both backends (loop index _i: 0 = mem, 1 = lmdb). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"
#include "upkeep/sweep.h"

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

/* Imported items whose own time is day 1, received on day 500: a message
 * and a fact age from their receipt, a message recorded at its own time
 * (recorded_at_ms) from day 1; a line id remembered at an earlier time
 * (import_key_at_ms) goes by that time. */
START_TEST(test_sweep_imported_items_age_from_their_receipt)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_retention r = one_year();
    struct mp_sweep_counts c = {0};
    uint8_t key[MP_IDEM_KEY_LEN];
    memset(key, 7, sizeof(key));
    struct mp_mem_message m = fx_msg(MP_ROLE_USER, "old words", DAY);
    struct mp_op op = {.kind = MP_OP_IMPORT_MESSAGE, .user = "imp", .user_len = 3};
    op.now_ms = 500 * DAY;
    op.import_key = key;
    op.import_key_at_ms = 200 * DAY;
    op.u.turn.messages = &m;
    op.u.turn.nmessages = 1;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op.import_key = NULL;
    op.recorded_at_ms = DAY;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    struct mp_op f = fx_upsert_op("imp", 3, "city", "Graz", MP_TRUST_STATED, DAY);
    f.now_ms = 500 * DAY;
    ck_assert_int_eq(fx_apply1(store, &f), MP_OK);
    ck_assert_int_eq(mp_sweep_run(store, 500 * DAY + DAY / 2, &r, &c), MP_OK);
    ck_assert_uint_eq(c.messages, 1);
    ck_assert_uint_eq(c.facts, 0);
    ck_assert_uint_eq(c.idem, 1);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_sweep_run(store, 864 * DAY, &r, &c), MP_OK);
    ck_assert_uint_eq(c.messages + c.facts, 0);
    ck_assert_int_eq(mp_sweep_run(store, 866 * DAY, &r, &c), MP_OK);
    ck_assert_uint_eq(c.messages, 1);
    ck_assert_uint_eq(c.facts, 1);
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
    tcase_add_loop_test(tc, test_sweep_imported_items_age_from_their_receipt, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
