/* Tests for one memory job read by its id (storage/ops/store.h:
 * mp_store_job), as the admin API's job routes read it: the record and its
 * lease as mp_store_jobs() lists them, a job gone read as not found, and
 * the fields UPDATE_JOB rewrites (a failure kept, a re-run) read back.
 * Every case runs on each backend (loop index _i). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define OWNER 0xC3C3u

static struct mp_job read_job(struct mp_store *store, uint64_t id)
{
    struct mp_job job;
    memset(&job, 0, sizeof(job));
    ck_assert_int_eq(mp_store_job(store, id, &job), MP_OK);
    ck_assert_uint_eq(job.id, id);
    return job;
}

/* The job as mp_store_jobs() lists it. */
static struct mp_job listed(struct mp_store *store, uint64_t id)
{
    struct mp_job *jobs = NULL, found;
    size_t n = 0;
    bool seen = false;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].id == id) {
            found = jobs[i];
            seen = true;
        }
    }
    free(jobs);
    ck_assert_msg(seen, "job %llu is not listed", (unsigned long long)id);
    return found;
}

START_TEST(test_job_read_by_id_as_listed)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t a = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 4));
    uint64_t b = fx_add_job(store, fx_job_for(U("\x01"
                                                "0123456789abcdefbob"),
                                              MP_JOB_SUMMARIZE, 9));
    struct mp_job ja = read_job(store, a), jb = read_job(store, b);
    ck_assert_int_eq(ja.kind, MP_JOB_EXTRACT);
    ck_assert_uint_eq(ja.user_len, 3);
    ck_assert_mem_eq(ja.user, "ann", 3);
    ck_assert_uint_eq(ja.from_seq, 3);
    ck_assert_uint_eq(ja.through_seq, 4);
    ck_assert_int_eq(ja.created_ms, 7);
    ck_assert_uint_eq(ja.attempts, 0);
    ck_assert_uint_eq(ja.failed, MP_JOB_FAIL_NONE);
    ck_assert_int_eq(jb.kind, MP_JOB_SUMMARIZE);
    ck_assert_uint_eq(jb.user_len, 20); /* a tenant's key, byte for byte */
    ck_assert_mem_eq(jb.user,
                     "\x01"
                     "0123456789abcdefbob",
                     20);
    struct mp_job la = listed(store, a);
    ck_assert_uint_eq(la.user_len, ja.user_len);
    ck_assert_mem_eq(la.user, ja.user, la.user_len);
    ck_assert_uint_eq(la.from_seq, ja.from_seq);
    ck_assert_uint_eq(la.through_seq, ja.through_seq);
    ck_assert_int_eq(la.created_ms, ja.created_ms);
    ck_assert_int_eq(la.kind, ja.kind);
    store = fx_reopen(store, _i); /* stored, not remembered */
    ja = read_job(store, a);
    ck_assert_uint_eq(ja.through_seq, 4);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_job_unknown_or_gone_is_not_found)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_job out;
    memset(&out, 0x5a, sizeof(out));
    ck_assert_int_eq(mp_store_job(store, 1, &out), MP_NOTFOUND);
    ck_assert_uint_eq(out.id, 0x5a5a5a5a5a5a5a5aULL); /* untouched */
    uint64_t done = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    uint64_t erased = fx_add_job(store, fx_job_for(U("bob"), MP_JOB_EXTRACT, 2));
    uint64_t kept = fx_add_job(store, fx_job_for(U("cy"), MP_JOB_EXTRACT, 2));
    struct mp_op op = {.kind = MP_OP_DONE_JOB};
    op.u.job_id = done;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = (struct mp_op){.kind = MP_OP_DELETE_USER, .user = "bob", .user_len = 3, .now_ms = 20};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_int_eq(mp_store_job(store, done, &out), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_job(store, erased, &out), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_job(store, kept + 1, &out), MP_NOTFOUND);
    ck_assert_uint_eq(read_job(store, kept).id, kept);
    fx_close_backend(store, _i);
}
END_TEST

/* What the worker writes when a batch gives up (kept failed, with when it
 * failed in not_before_ms) and when it runs again, read back by id. */
START_TEST(test_job_failure_and_rerun_read_back)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    struct mp_op op = {.kind = MP_OP_UPDATE_JOB, .now_ms = 5000};
    op.u.job = read_job(store, id);
    op.u.job.attempts = 6;
    op.u.job.malformed = 2;
    op.u.job.failed = MP_JOB_FAIL_REJECTED;
    op.u.job.not_before_ms = 4999;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    struct mp_job j = read_job(store, id);
    ck_assert_uint_eq(j.failed, MP_JOB_FAIL_REJECTED);
    ck_assert_uint_eq(j.attempts, 6);
    ck_assert_uint_eq(j.malformed, 2);
    ck_assert_int_eq(j.not_before_ms, 4999);
    ck_assert_int_eq(j.created_ms, 7);
    op.u.job = j;
    op.u.job.failed = MP_JOB_FAIL_NONE;
    op.u.job.attempts = 0;
    op.u.job.malformed = 0;
    op.u.job.not_before_ms = 0;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    j = read_job(store, id);
    ck_assert_uint_eq(j.failed, MP_JOB_FAIL_NONE);
    ck_assert_uint_eq(j.attempts, 0);
    ck_assert_int_eq(j.not_before_ms, 0);
    fx_close_backend(store, _i);
}
END_TEST

/* A claimed job's lease, where the store keeps leases (PostgreSQL). */
START_TEST(test_job_read_carries_its_lease)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    struct mp_op op = {.kind = MP_OP_CLAIM_JOB, .now_ms = 1000};
    op.u.claim.job_id = id;
    op.u.claim.owner = OWNER;
    op.u.claim.until_ms = 9000;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    struct mp_job j = read_job(store, id);
    ck_assert_uint_eq(j.lease_owner, _i == PG ? OWNER : 0);
    ck_assert_int_eq(j.lease_until_ms, _i == PG ? 9000 : 0);
    struct mp_job l = listed(store, id);
    ck_assert_uint_eq(l.lease_owner, j.lease_owner);
    ck_assert_int_eq(l.lease_until_ms, j.lease_until_ms);
    fx_close_backend(store, _i);
}
END_TEST

/* Sealed: the record is opened, the user key given back in clear. */
START_TEST(test_job_read_from_a_sealed_store)
{
    struct mp_store *store = fx_open_sealed();
    uint64_t id = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    struct mp_job j = read_job(store, id);
    ck_assert_uint_eq(j.user_len, 3);
    ck_assert_mem_eq(j.user, "ann", 3);
    store = fx_reopen(store, LMDB);
    ck_assert_mem_eq(read_job(store, id).user, "ann", 3);
    fx_close_backend(store, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_jobs");
    TCase *tc = tcase_create("jobs");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_add_loop_test(tc, test_job_read_by_id_as_listed, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_job_unknown_or_gone_is_not_found, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_job_failure_and_rerun_read_back, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_job_read_carries_its_lease, 0, FX_BACKENDS);
    tcase_add_test(tc, test_job_read_from_a_sealed_store);
    suite_add_tcase(s, tc);
    return s;
}
