/* Tests for core/memory/heldjobs.c: which memory jobs held for a
 * credential leave (expired, over a user's bound, over the total bound). */
#include <check.h>
#include <string.h>

#include "memory/heldjobs.h"
#include "status.h"

Suite *mp_test_suite(void);

#define HOUR (3600 * 1000LL)
#define NOW  (1000 * HOUR)

static struct mp_heldjob jobs[16];
static size_t njobs;

static void setup(void)
{
    memset(jobs, 0, sizeof(jobs));
    njobs = 0;
}

/* A held job of user queued hours_ago hours before NOW (add them oldest first). */
static void add(const char *user, int64_t hours_ago)
{
    jobs[njobs] = (struct mp_heldjob){.user = user,
                                      .user_len = strlen(user),
                                      .created_ms = NOW - hours_ago * HOUR,
                                      .at = njobs,
                                      .fate = MP_HELDJOB_OVER_TOTAL};
    njobs++;
}

/* Checks each job's fate, in order. */
static void expect(const enum mp_heldjob_fate *want)
{
    for (size_t i = 0; i < njobs; i++)
        ck_assert_int_eq(jobs[i].fate, want[i]);
}

#define K          MP_HELDJOB_KEEP
#define E          MP_HELDJOB_EXPIRED
#define U          MP_HELDJOB_OVER_USER
#define T          MP_HELDJOB_OVER_TOTAL
#define FATES(...) ((const enum mp_heldjob_fate[]){__VA_ARGS__})

static size_t decide(uint32_t max, uint32_t per_user, int64_t ttl_hours)
{
    struct mp_heldjob_limits lim = {max, per_user, ttl_hours * HOUR};
    size_t leave = 99;
    ck_assert_int_eq(mp_heldjobs_decide(jobs, njobs, &lim, NOW, &leave), MP_OK);
    return leave;
}

START_TEST(test_heldjobs_within_bounds_all_stay)
{
    add("ann", 5);
    add("bob", 4);
    add("ann", 3);
    ck_assert_uint_eq(decide(10, 10, 24), 0); /* none: leave is 0, not untouched */
    expect(FATES(K, K, K));
}
END_TEST

START_TEST(test_heldjobs_expire_at_the_ttl)
{
    add("ann", 30);
    add("bob", 24); /* exactly the ttl: expired */
    add("ann", 23);
    ck_assert_uint_eq(decide(10, 10, 24), 2);
    expect(FATES(E, E, K));
}
END_TEST

START_TEST(test_heldjobs_a_user_keeps_its_newest)
{
    add("ann", 6);
    add("bob", 5);
    add("ann", 4);
    add("ann", 3);
    add("bob", 2);
    ck_assert_uint_eq(decide(10, 2, 24), 1);
    expect(FATES(U, K, K, K, K)); /* ann's oldest of three */
}
END_TEST

START_TEST(test_heldjobs_the_total_keeps_the_newest_of_all)
{
    add("ann", 6);
    add("bob", 5);
    add("cy", 4);
    add("ann", 3);
    ck_assert_uint_eq(decide(2, 10, 24), 2);
    expect(FATES(T, T, K, K));
}
END_TEST

START_TEST(test_heldjobs_rules_in_order_expired_user_total)
{
    add("ann", 40); /* expired, whatever the bounds */
    add("bob", 9);
    add("ann", 8);
    add("ann", 7);
    add("bob", 1);
    /* per user 1: ann keeps 7 h, bob keeps 1 h; total 1: only bob's 1 h */
    ck_assert_uint_eq(decide(1, 1, 24), 4);
    expect(FATES(E, U, U, T, K));
}
END_TEST

START_TEST(test_heldjobs_zero_bounds_hold_nothing)
{
    add("ann", 1);
    add("bob", 0);
    ck_assert_uint_eq(decide(0, 10, 24), 2);
    expect(FATES(T, T));
    ck_assert_uint_eq(decide(10, 0, 24), 2);
    expect(FATES(U, U));
}
END_TEST

START_TEST(test_heldjobs_busy_jobs_stay_and_do_not_count)
{
    add("ann", 48); /* another process runs it: not this one's to drop */
    jobs[0].busy = true;
    add("ann", 3);
    add("ann", 2);
    ck_assert_uint_eq(decide(10, 2, 24), 0);
    expect(FATES(K, K, K));
}
END_TEST

START_TEST(test_heldjobs_users_told_apart_by_their_whole_id)
{
    /* same length, same first bytes: two users, one job each */
    add("user-0001", 2);
    add("user-0002", 1);
    ck_assert_uint_eq(decide(10, 1, 24), 0);
    expect(FATES(K, K));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("heldjobs");
    TCase *tc = tcase_create("decide");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_heldjobs_within_bounds_all_stay);
    tcase_add_test(tc, test_heldjobs_expire_at_the_ttl);
    tcase_add_test(tc, test_heldjobs_a_user_keeps_its_newest);
    tcase_add_test(tc, test_heldjobs_the_total_keeps_the_newest_of_all);
    tcase_add_test(tc, test_heldjobs_rules_in_order_expired_user_total);
    tcase_add_test(tc, test_heldjobs_zero_bounds_hold_nothing);
    tcase_add_test(tc, test_heldjobs_busy_jobs_stay_and_do_not_count);
    tcase_add_test(tc, test_heldjobs_users_told_apart_by_their_whole_id);
    suite_add_tcase(s, tc);
    return s;
}
