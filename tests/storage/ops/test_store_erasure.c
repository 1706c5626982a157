/* MP_OP_CHECK_EPOCH (storage/ops/store.h): a memory job's result, applied
 * after an erasure that came while its call was in flight, writes nothing:
 * not the fact erased, not a fold, not search keys, not the jobs' end. On
 * every backend (tests/storage/with_pg.sh gives PostgreSQL a cluster). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

#define NOW 1000000

/* The user's memory epoch as a job reads it when its call starts. */
static uint64_t epoch_of(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get_head(store, user, ulen, &um), MP_OK);
    uint64_t e = um->memory_epoch;
    mp_usermem_free(um);
    return e;
}

static struct mp_op check_op(const char *user, size_t ulen, uint64_t epoch)
{
    struct mp_op op = {.kind = MP_OP_CHECK_EPOCH, .user = user, .user_len = ulen, .now_ms = NOW};
    op.u.epoch = epoch;
    return op;
}

/* What an extraction batch applies: the fact, a fold over the turn (kept
 * buffer), the turn's search keys, its job done; the guard where it is
 * placed (0: first, 4: last). */
static void batch_ops(struct mp_op *ops, const char *user, size_t ulen, uint64_t epoch,
                      uint64_t job_id, size_t guard_at)
{
    struct mp_op body[4];
    body[0] = fx_upsert_op(user, ulen, "city", "Oslo", MP_TRUST_STATED, NOW);
    body[1] =
        (struct mp_op){.kind = MP_OP_SET_SUMMARY, .user = user, .user_len = ulen, .now_ms = NOW};
    body[1].u.summary.text = "Summary: lives in Oslo";
    body[1].u.summary.text_len = strlen(body[1].u.summary.text);
    body[1].u.summary.through_seq = 2;
    body[1].u.summary.keep_messages = true;
    body[1].u.summary.jobs_known_through = UINT64_MAX;
    body[2] = (struct mp_op){
        .kind = MP_OP_SET_MESSAGE_KEYS, .user = user, .user_len = ulen, .now_ms = NOW};
    body[2].u.keys.seq = 1;
    body[2].u.keys.text = "travel, nordic";
    body[2].u.keys.text_len = strlen(body[2].u.keys.text);
    body[3] = (struct mp_op){.kind = MP_OP_DONE_JOB, .user = user, .user_len = ulen, .now_ms = NOW};
    body[3].u.job_id = job_id;
    for (size_t i = 0, k = 0; i < 5; i++)
        ops[i] = i == guard_at ? check_op(user, ulen, epoch) : body[k++];
}

static size_t njobs(struct mp_store *store)
{
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    free(jobs);
    return n;
}

/* The user's turn "I live in Oslo" and its extraction job: the job's id. */
static uint64_t turn_and_job(struct mp_store *store)
{
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Oslo", "noted", NOW, NOW), MP_OK);
    return fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2));
}

/* Nothing moved: the guard passes and the whole result is written. */
START_TEST(test_erasure_epoch_unchanged_applies_the_result)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = turn_and_job(store);
    struct mp_op ops[5];
    batch_ops(ops, U("alice"), epoch_of(store, U("alice")), id, 0);
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(ops[i].result, MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "city"), "Oslo");
    ck_assert_ptr_nonnull(um->summary.text);
    mp_usermem_free(um);
    ck_assert_uint_eq(njobs(store), 0);
    fx_close_backend(store, _i);
}
END_TEST

/* A fact erased while the call was in flight: the result that would
 * bring it back writes nothing (guard first or last). */
START_TEST(test_erasure_fact_deleted_during_the_call_is_not_restored)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = turn_and_job(store);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Oslo", MP_TRUST_STATED, NOW - 5), MP_OK);
    uint64_t read = epoch_of(store, U("alice")); /* the call starts */
    struct mp_op del = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, NOW + 1);
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    for (size_t at = 0; at < 5; at += 4) {
        struct mp_op ops[5];
        batch_ops(ops, U("alice"), read, id, at);
        ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
        for (size_t i = 0; i < 5; i++)
            ck_assert_int_eq(ops[i].result, i == at ? MP_ECONFLICT : MP_NOTFOUND);
        store = fx_reopen(store, _i);
        struct mp_usermem *um = fx_get(store, U("alice"));
        ck_assert_ptr_null(fx_entity_value(um, "city"));
        ck_assert_ptr_null(um->summary.text);
        mp_usermem_free(um);
        /* nothing of it done; and the erasure itself took the job: the
           turn it extracts holds the value, so it went (store.h,
           DELETE_ENTITY), nothing of it left to run again */
        ck_assert_uint_eq(njobs(store), 0);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* A message erased while the call was in flight: neither a fold that read
 * it nor its search keys nor a fact from it are written, though the
 * summary (covering nothing of it) was not dropped. */
START_TEST(test_erasure_message_deleted_during_the_call_is_not_restored)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = turn_and_job(store);
    uint64_t read = epoch_of(store, U("alice"));
    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE,
                        .user = "alice",
                        .user_len = 5,
                        .now_ms = NOW + 1,
                        .actor = MP_ACTOR_USER};
    del.u.seq = 1;
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    struct mp_op ops[5];
    batch_ops(ops, U("alice"), read, id, 0);
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_ECONFLICT);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 0);
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    ck_assert_uint_eq(njobs(store), 1);
    fx_close_backend(store, _i);
}
END_TEST

/* The user erased whole (and even made anew by a later turn) while the
 * call was in flight: the result never makes the user again. */
START_TEST(test_erasure_user_forgotten_during_the_call_is_not_made_again)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = turn_and_job(store);
    uint64_t read = epoch_of(store, U("alice"));
    struct mp_op forget = {.kind = MP_OP_DELETE_USER,
                           .user = "alice",
                           .user_len = 5,
                           .now_ms = NOW + 1,
                           .actor = MP_ACTOR_USER};
    ck_assert_int_eq(fx_apply1(store, &forget), MP_OK);
    struct mp_op ops[5];
    batch_ops(ops, U("alice"), read, id, 0);
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_ECONFLICT);
    ck_assert(fx_absent(store, U("alice")));
    /* a new turn makes the user again: still another epoch */
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "hello", "hi", NOW + 2, NOW + 2), MP_OK);
    batch_ops(ops, U("alice"), read, id, 4);
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    ck_assert_int_eq(ops[4].result, MP_ECONFLICT);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 0);
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* What traffic and the memory jobs write keeps the epoch: a turn recorded
 * and another job's result between the read and the apply do not stop it. */
START_TEST(test_erasure_traffic_and_jobs_do_not_stop_a_result)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = turn_and_job(store);
    uint64_t read = epoch_of(store, U("alice"));
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "I like tea", "ok", NOW + 1, NOW + 1), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "drink", "tea", MP_TRUST_STATED, NOW + 1), MP_OK);
    struct mp_op ops[5];
    batch_ops(ops, U("alice"), read, id, 0);
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_OK);
    ck_assert_int_eq(ops[1].result, MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "city"), "Oslo");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* The guard is checked for its own user: another user's erasure does not
 * stop it; a stopped apply leaves another user's ops unapplied too. */
START_TEST(test_erasure_guard_is_per_user)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t id = turn_and_job(store);
    ck_assert_int_eq(fx_turn(store, U("bob"), 3, "I live in Rome", "ok", NOW, NOW), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("bob"), "city", "Rome", MP_TRUST_STATED, NOW), MP_OK);
    uint64_t read = epoch_of(store, U("alice"));
    struct mp_op del = fx_delete_op(U("bob"), "city", MP_ACTOR_ADMIN, NOW + 1);
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    struct mp_op ops[5];
    batch_ops(ops, U("alice"), read, id, 0);
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_OK);
    struct mp_op two[2] = {check_op(U("bob"), read),
                           fx_upsert_op(U("alice"), "pet", "cat", MP_TRUST_STATED, NOW + 2)};
    ck_assert_int_eq(mp_store_apply(store, two, 2), MP_OK);
    ck_assert_int_eq(two[0].result, MP_ECONFLICT);
    ck_assert_int_eq(two[1].result, MP_NOTFOUND);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "pet"));
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void);
Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_erasure");
    TCase *tc = tcase_create("erasure");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_erasure_epoch_unchanged_applies_the_result, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_erasure_fact_deleted_during_the_call_is_not_restored, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_erasure_message_deleted_during_the_call_is_not_restored, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_erasure_user_forgotten_during_the_call_is_not_made_again, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_erasure_traffic_and_jobs_do_not_stop_a_result, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_erasure_guard_is_per_user, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
