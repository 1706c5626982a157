/* Tests for job leases in storage/ops/store.h (MP_OP_CLAIM_JOB, the lease
 * fields of mp_store_jobs): on a store several processes share
 * (PostgreSQL), one owner at a time until the lease expires, and a lease
 * goes with its job; on a store one process opens at a time (mem, LMDB),
 * every claim succeeds and nothing is written. Every case runs on each
 * backend (loop index _i). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define OWNER_A 0xA1A1u
#define OWNER_B 0xB2B2u

static int claim(struct mp_store *store, uint64_t id, uint64_t owner, int64_t now, int64_t until,
                 int64_t *holder_until)
{
    struct mp_op op = {.kind = MP_OP_CLAIM_JOB, .now_ms = now};
    op.u.claim.job_id = id;
    op.u.claim.owner = owner;
    op.u.claim.until_ms = until;
    int rc = fx_apply1(store, &op);
    if (holder_until != NULL)
        *holder_until = op.u.claim.until_ms;
    return rc;
}

/* The job id's lease as mp_store_jobs() lists it (0, 0 when none). */
static void lease_of(struct mp_store *store, uint64_t id, uint64_t *owner, int64_t *until)
{
    struct mp_job *jobs = NULL;
    size_t n = 0;
    bool found = false;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].id == id) {
            *owner = jobs[i].lease_owner;
            *until = jobs[i].lease_until_ms;
            found = true;
        }
    }
    free(jobs);
    ck_assert_msg(found, "job %llu is not listed", (unsigned long long)id);
}

START_TEST(test_lease_one_owner_until_it_expires)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    uint64_t owner = 9;
    int64_t until = 9, held = 0;
    lease_of(store, id, &owner, &until);
    ck_assert_uint_eq(owner, 0);
    ck_assert_int_eq(until, 0);
    ck_assert_int_eq(claim(store, id, OWNER_A, 1000, 6000, NULL), MP_OK);
    if (_i != PG) { /* one process: no lease to hold, none written */
        ck_assert_int_eq(claim(store, id, OWNER_B, 2000, 7000, NULL), MP_OK);
        lease_of(store, id, &owner, &until);
        ck_assert_uint_eq(owner, 0);
        fx_close_backend(store, _i);
        return;
    }
    lease_of(store, id, &owner, &until);
    ck_assert_uint_eq(owner, OWNER_A);
    ck_assert_int_eq(until, 6000);
    /* another owner is refused while it lasts, and told until when */
    ck_assert_int_eq(claim(store, id, OWNER_B, 2000, 7000, &held), MP_ECONFLICT);
    ck_assert_int_eq(held, 6000);
    ck_assert_int_eq(claim(store, id, OWNER_B, 5999, 7000, NULL), MP_ECONFLICT);
    /* the owner renews it */
    ck_assert_int_eq(claim(store, id, OWNER_A, 3000, 8000, NULL), MP_OK);
    ck_assert_int_eq(claim(store, id, OWNER_B, 7999, 9000, NULL), MP_ECONFLICT);
    /* expired: taken over */
    ck_assert_int_eq(claim(store, id, OWNER_B, 8000, 13000, NULL), MP_OK);
    lease_of(store, id, &owner, &until);
    ck_assert_uint_eq(owner, OWNER_B);
    ck_assert_int_eq(until, 13000);
    ck_assert_int_eq(claim(store, id, OWNER_A, 9000, 14000, &held), MP_ECONFLICT);
    ck_assert_int_eq(held, 13000);
    store = fx_reopen(store, _i); /* it is stored, not remembered */
    lease_of(store, id, &owner, &until);
    ck_assert_uint_eq(owner, OWNER_B);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_lease_goes_with_its_job)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t done = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    uint64_t erased = fx_add_job(store, fx_job_for(U("bob"), MP_JOB_EXTRACT, 2));
    uint64_t kept = fx_add_job(store, fx_job_for(U("cy"), MP_JOB_EXTRACT, 2));
    for (uint64_t id = done; id <= kept; id++)
        ck_assert_int_eq(claim(store, id, OWNER_A, 1000, 60000, NULL), MP_OK);
    struct mp_op op = {.kind = MP_OP_DONE_JOB};
    op.u.job_id = done;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = (struct mp_op){.kind = MP_OP_DELETE_USER, .user = "bob", .user_len = 3, .now_ms = 2000};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    /* a job gone can be claimed by nobody; its id's lease is gone too */
    ck_assert_int_eq(claim(store, done, OWNER_B, 2000, 9000, NULL), MP_NOTFOUND);
    ck_assert_int_eq(claim(store, erased, OWNER_B, 2000, 9000, NULL), MP_NOTFOUND);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(jobs[0].id, kept);
    ck_assert_uint_eq(jobs[0].lease_owner, _i == PG ? OWNER_A : 0);
    free(jobs);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_lease_claim_is_checked)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    ck_assert_int_eq(claim(store, id, 0, 1000, 6000, NULL), MP_EINVAL);       /* no owner */
    ck_assert_int_eq(claim(store, id, OWNER_A, 6000, 6000, NULL), MP_EINVAL); /* expired */
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_lease");
    TCase *tc = tcase_create("lease");
    tcase_add_loop_test(tc, test_lease_one_owner_until_it_expires, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_lease_goes_with_its_job, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_lease_claim_is_checked, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
