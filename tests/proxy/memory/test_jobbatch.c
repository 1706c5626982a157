/* proxy/memory/jobbatch.c: the batches counted in one sweep equal what
 * memjob.c's collect_batch counts from each user's first waiting job (the
 * reference below is its loop), on random indexes of several users with
 * failed, held and summary jobs; a first job the table was not built with
 * is unknown, and taking one user's jobs out changes no other's batch. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/jobbatch.h"

Suite *mp_test_suite(void);

/* memjob.c's collect_batch, counting only. */
static size_t reference_batch(const struct mp_job *jobs, size_t n, size_t i, size_t max,
                              int64_t now)
{
    const struct mp_job *first = &jobs[i];
    size_t count = 0;
    for (size_t k = i; k < n && count < max; k++) {
        const struct mp_job *job = &jobs[k];
        if (job->user_len != first->user_len ||
            memcmp(job->user, first->user, job->user_len) != 0 || job->failed != MP_JOB_FAIL_NONE)
            continue;
        if (job->kind != MP_JOB_EXTRACT || job->not_before_ms > now)
            break;
        count++;
    }
    return count;
}

/* The index of the user's first job that has not failed, or n. */
static size_t first_waiting(const struct mp_job *jobs, size_t n, const struct mp_job *of)
{
    for (size_t k = 0; k < n; k++)
        if (jobs[k].user_len == of->user_len && memcmp(jobs[k].user, of->user, of->user_len) == 0 &&
            jobs[k].failed == MP_JOB_FAIL_NONE)
            return k;
    return n;
}

static void random_jobs(struct mp_job *jobs, size_t n, unsigned users, unsigned *seed)
{
    for (size_t k = 0; k < n; k++) {
        struct mp_job *job = &jobs[k];
        unsigned r = (unsigned)rand_r(seed);
        memset(job, 0, sizeof(*job));
        job->id = 1000 + k * 3;
        /* users of one length and one prefix ("u-" + a number): only the
           bytes at the end tell them apart */
        job->user_len = (size_t)snprintf(job->user, sizeof(job->user), "u-%06u", r % users);
        job->kind = r % 11 == 0 ? MP_JOB_SUMMARIZE : MP_JOB_EXTRACT;
        job->failed = (r >> 8) % 9 == 0 ? MP_JOB_FAIL_UPSTREAM : MP_JOB_FAIL_NONE;
        job->not_before_ms = (r >> 12) % 7 == 0 ? 5000 : 0; /* held past now (1000) */
    }
}

START_TEST(test_jobbatch_equals_the_scan)
{
    unsigned seed = 73;
    static struct mp_job jobs[600];
    for (unsigned round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)rand_r(&seed) % 600;
        unsigned users = 1 + (unsigned)rand_r(&seed) % 80;
        size_t max = 1 + (size_t)rand_r(&seed) % 30;
        random_jobs(jobs, n, users, &seed);
        struct mp_jobbatch b;
        ck_assert(mp_jobbatch_build(&b, jobs, n, max, 1000));
        for (size_t k = 0; k < n; k++) {
            size_t first = first_waiting(jobs, n, &jobs[k]);
            if (first == n)
                continue; /* all the user's jobs failed: no candidate */
            ck_assert_uint_eq(mp_jobbatch_find(&b, &jobs[first]),
                              reference_batch(jobs, n, first, max, 1000));
            if (first != k && jobs[k].failed == MP_JOB_FAIL_NONE) /* a later job is no first job */
                ck_assert_uint_eq(mp_jobbatch_find(&b, &jobs[k]), MP_JOBBATCH_UNKNOWN);
        }
        mp_jobbatch_free(&b);
    }
}
END_TEST

START_TEST(test_jobbatch_other_users_unchanged_after_a_take)
{
    unsigned seed = 7;
    static struct mp_job jobs[400];
    size_t n = 400;
    random_jobs(jobs, n, 40, &seed);
    struct mp_jobbatch b;
    ck_assert(mp_jobbatch_build(&b, jobs, n, 24, 1000));
    /* take user jobs[0]'s jobs out, as a started batch does */
    struct mp_job taken = jobs[0];
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (jobs[k].user_len != taken.user_len ||
            memcmp(jobs[k].user, taken.user, taken.user_len) != 0)
            jobs[m++] = jobs[k];
    for (size_t k = 0; k < m; k++) {
        size_t first = first_waiting(jobs, m, &jobs[k]);
        if (first < m)
            ck_assert_uint_eq(mp_jobbatch_find(&b, &jobs[first]),
                              reference_batch(jobs, m, first, 24, 1000));
    }
    /* a job put back at the head of a user (a new id) is not known */
    struct mp_job back = taken;
    back.id = 1;
    ck_assert_uint_eq(mp_jobbatch_find(&b, &back), MP_JOBBATCH_UNKNOWN);
    mp_jobbatch_free(&b);
}
END_TEST

START_TEST(test_jobbatch_many_users_grow_the_table)
{
    static struct mp_job jobs[5000];
    for (size_t k = 0; k < 5000; k++) {
        memset(&jobs[k], 0, sizeof(jobs[k]));
        jobs[k].id = k + 1;
        jobs[k].kind = MP_JOB_EXTRACT;
        jobs[k].user_len =
            (size_t)snprintf(jobs[k].user, sizeof(jobs[k].user), "bench-u%zu", k % 1000);
    }
    struct mp_jobbatch b;
    ck_assert(mp_jobbatch_build(&b, jobs, 5000, 24, 1000));
    for (size_t k = 0; k < 1000; k++)
        ck_assert_uint_eq(mp_jobbatch_find(&b, &jobs[k]), 5);
    ck_assert_uint_eq(mp_jobbatch_find(&b, &jobs[1000]),
                      MP_JOBBATCH_UNKNOWN); /* the users' second jobs */
    mp_jobbatch_free(&b);
    ck_assert_uint_eq(mp_jobbatch_find(&b, &jobs[0]), MP_JOBBATCH_UNKNOWN); /* freed: empty */
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("jobbatch");
    TCase *tc = tcase_create("jobbatch");
    tcase_add_test(tc, test_jobbatch_equals_the_scan);
    tcase_add_test(tc, test_jobbatch_other_users_unchanged_after_a_take);
    tcase_add_test(tc, test_jobbatch_many_users_grow_the_table);
    suite_add_tcase(s, tc);
    return s;
}
