/* Tests for storage/ops/store.h: every case runs on each backend (loop index
 * _i: 0 = mem, 1 = lmdb). The lmdb-only cases at the end write raw records
 * with the mdb_* API to check that a corrupt or future record is refused. */
#include <check.h>
#include <lmdb.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

/* ---- helpers ---- */

/* The user deletes the fact key at `now`: fx_apply1()'s answer. */
static int del_entity(struct mp_store *store, const char *user, size_t ulen, const char *key,
                      int64_t now)
{
    struct mp_op op = fx_delete_op(user, ulen, key, MP_ACTOR_USER, now);
    return fx_apply1(store, &op);
}

/* Asserts history entry i exactly: its seq, event, actor, fact key,
 * revision and value ("" when the entry keeps none). */
static void fact_entry_is(const struct mp_history *h, size_t i, uint64_t seq,
                          enum mp_history_event event, enum mp_actor actor, const char *key,
                          uint32_t revision, const char *value)
{
    ck_assert_uint_lt(i, h->nitems);
    const struct mp_history_item *it = &h->items[i];
    ck_assert_uint_eq(it->seq, seq);
    ck_assert_int_eq(it->event, event);
    ck_assert_int_eq(it->actor, actor);
    ck_assert_int_eq(it->item, MP_ITEM_FACT);
    ck_assert_str_eq(it->entity.key, key);
    ck_assert_uint_eq(it->entity.revision, revision);
    ck_assert_str_eq(it->entity.value, value);
    ck_assert_uint_eq(it->entity.value_len, strlen(value));
}

/* ---- basics ---- */

START_TEST(test_store_open_ping_close)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(mp_store_ping(store), MP_OK);
    ck_assert_str_eq(mp_store_backend(store), _i == MEM ? "mem" : _i == LMDB ? "lmdb" : "postgres");
    fx_close_backend(store, _i);
}
END_TEST

/* One opener per LMDB directory: a second open is refused while the first
 * holds it, and succeeds once it is closed. A rewrite's leftovers are not
 * touched by the refused open. */
START_TEST(test_store_lmdb_second_open_of_one_directory_is_refused)
{
    struct mp_store *first = fx_open_backend(LMDB);
    struct mp_store *second = NULL;
    char err[256] = "";
    ck_assert_int_eq(mp_store_open_lmdb(&fx_opts, &second, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(second);
    ck_assert_msg(strstr(err, "in use by another memproxy process") != NULL, "err: %s", err);
    ck_assert_int_eq(mp_store_ping(first), MP_OK);
    mp_store_free(first);
    second = fx_open_existing();
    ck_assert_int_eq(mp_store_ping(second), MP_OK);
    fx_close_backend(second, LMDB);
}
END_TEST

START_TEST(test_store_free_null_is_noop)
{
    mp_store_free(NULL);
    mp_history_free(NULL);
}
END_TEST

START_TEST(test_store_get_unknown_user_is_notfound)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_usermem *um = (struct mp_usermem *)&um; /* untouched on a miss */
    ck_assert_int_eq(mp_store_get(store, U("nobody"), &um), MP_NOTFOUND);
    ck_assert_ptr_eq(um, (struct mp_usermem *)&um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_get_rejects_bad_user_key)
{
    struct mp_store *store = fx_open_backend(_i);
    char big[MP_USER_KEY_MAX + 1];
    struct mp_usermem *um = NULL;
    memset(big, 'u', sizeof(big));
    ck_assert_int_eq(mp_store_get(store, "", 0, &um), MP_EINVAL);
    ck_assert_int_eq(mp_store_get(store, big, sizeof(big), &um), MP_EINVAL);
    ck_assert_int_eq(mp_store_get(store, big, MP_USER_KEY_MAX, &um), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- turns ---- */

START_TEST(test_store_record_turn_assigns_increasing_seqs)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[3] = {fx_msg(MP_ROLE_USER, "my name is Ada", 100),
                                  fx_msg(MP_ROLE_USER, "I use ChromaDB", 100),
                                  fx_msg(MP_ROLE_ASSISTANT, "Noted, Ada.", 100)};
    struct mp_op op = fx_turn_op(U("alice"), 1, m, 3, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.turn.first_seq, 1);
    ck_assert_uint_eq(op.u.turn.last_seq, 3);
    op = fx_turn_op(U("alice"), 2, m, 2, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.turn.first_seq, 4);
    ck_assert_uint_eq(op.u.turn.last_seq, 5);

    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 5);
    ck_assert_uint_eq(um->next_seq, 6);
    ck_assert_ptr_null(um->summary.text);
    ck_assert_uint_eq(um->nentities, 0);
    const char *want[5] = {"my name is Ada", "I use ChromaDB", "Noted, Ada.", "my name is Ada",
                           "I use ChromaDB"};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(um->messages[i].seq, i + 1);
        ck_assert_str_eq(um->messages[i].content, want[i]);
        ck_assert_uint_eq(um->messages[i].content_len, strlen(want[i]));
        ck_assert_int_eq(um->messages[i].at_ms, 100);
        ck_assert_str_eq(um->messages[i].request_id, "req-100");
    }
    ck_assert_int_eq(um->messages[2].role, MP_ROLE_ASSISTANT);
    ck_assert_int_eq(um->messages[3].role, MP_ROLE_USER);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_record_turn_same_idem_key_records_nothing)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 9, "hi", "hello", 10, 1), MP_OK);
    /* the same reply again (another one replaces it: test_store_turn.c) */
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "hi", 10),
                                  fx_msg(MP_ROLE_ASSISTANT, "hello", 10)};
    struct mp_op op = fx_turn_op(U("alice"), 9, m, 2, 1);
    op.u.turn.first_seq = 77;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    ck_assert_uint_eq(op.u.turn.first_seq, 77); /* not given seqs */

    store = fx_reopen(store, _i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 9, "hi", "hello", 10, 1), MP_NOTFOUND);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_uint_eq(um->next_seq, 3);
    ck_assert_str_eq(um->messages[1].content, "hello");
    mp_usermem_free(um);
    /* The key is per user: another user may use the same bytes. */
    ck_assert_int_eq(fx_turn(store, U("bob"), 9, "hi", "hello", 10, 1), MP_OK);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_record_turn_empty_content_round_trips)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "", "reply", 10, 1), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_uint_eq(um->messages[0].content_len, 0);
    ck_assert_str_eq(um->messages[0].content, "");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- jobs ---- */

START_TEST(test_store_jobs_empty_list)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_job *jobs = (struct mp_job *)&jobs;
    size_t n = 99;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(jobs);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_add_job_assigns_increasing_ids_listed_in_order)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_uint_eq(fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2)), 1);
    ck_assert_uint_eq(fx_add_job(store, fx_job_for(U("bob"), MP_JOB_SUMMARIZE, 8)), 2);
    ck_assert_uint_eq(fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 4)), 3);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(jobs[0].id, 1);
    ck_assert_uint_eq(jobs[1].id, 2);
    ck_assert_uint_eq(jobs[2].id, 3);
    ck_assert_int_eq(jobs[1].kind, MP_JOB_SUMMARIZE);
    ck_assert_uint_eq(jobs[1].user_len, 3);
    ck_assert_mem_eq(jobs[1].user, "bob", 3);
    ck_assert_uint_eq(jobs[1].through_seq, 8);
    ck_assert_uint_eq(jobs[1].from_seq, 7);
    ck_assert_int_eq(jobs[1].created_ms, 7);
    ck_assert_uint_eq(jobs[2].through_seq, 4);
    free(jobs);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_done_job_removes_it)
{
    struct mp_store *store = fx_open_backend(_i);
    fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2));
    uint64_t id = fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 4));
    fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 6));
    struct mp_op op = {.kind = MP_OP_DONE_JOB, .u.job_id = id};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND); /* already gone */
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(jobs[0].id, 1);
    ck_assert_uint_eq(jobs[1].id, 3);
    free(jobs);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_update_job_rewrites_it)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_job j = fx_job_for(U("alice"), MP_JOB_EXTRACT, 2);
    j.id = fx_add_job(store, j);
    j.attempts = 3;
    j.not_before_ms = 123456789012345;
    struct mp_op op = {.kind = MP_OP_UPDATE_JOB, .u.job = j};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op.u.job.id = 42;
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(jobs[0].id, j.id);
    ck_assert_uint_eq(jobs[0].attempts, 3);
    ck_assert_int_eq(jobs[0].not_before_ms, 123456789012345);
    ck_assert_uint_eq(jobs[0].failed, MP_JOB_FAIL_NONE);
    free(jobs);
    /* a failed job (issue 51) keeps its reason and its unusable answers
       (in the attempts word: no format change), across a reopen */
    op.u.job = j;
    op.u.job.malformed = 3;
    op.u.job.failed = MP_JOB_FAIL_MALFORMED;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(jobs[0].attempts, 3);
    ck_assert_uint_eq(jobs[0].malformed, 3);
    ck_assert_uint_eq(jobs[0].failed, MP_JOB_FAIL_MALFORMED);
    free(jobs);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_jobs_survive_reopen_and_ids_keep_increasing)
{
    struct mp_store *store = fx_open_backend(_i);
    fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2));
    uint64_t id = fx_add_job(store, fx_job_for(U("alice"), MP_JOB_SUMMARIZE, 9));
    struct mp_op op = {.kind = MP_OP_DONE_JOB, .u.job_id = 1};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(jobs[0].id, id);
    ck_assert_int_eq(jobs[0].kind, MP_JOB_SUMMARIZE);
    ck_assert_uint_eq(jobs[0].through_seq, 9);
    free(jobs);
    /* An id is never reused, even once every job before it is done. */
    op.u.job_id = id;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_uint_eq(fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2)), 3);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_add_job_inherits_seqs_of_its_turn)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[3] = {fx_msg(MP_ROLE_USER, "q", 1), fx_msg(MP_ROLE_USER, "q2", 1),
                                  fx_msg(MP_ROLE_ASSISTANT, "a", 1)};
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "first", "turn", 1, 1), MP_OK); /* seqs 1..2 */
    struct mp_op ops[4];
    ops[0] = fx_turn_op(U("alice"), 2, m, 3, 1); /* seqs 3..5 */
    ops[1] = fx_turn_op(U("bob"), 2, m, 1, 1);
    ops[2] =
        (struct mp_op){.kind = MP_OP_ADD_JOB, .u.job = fx_job_for(U("alice"), MP_JOB_EXTRACT, 1)};
    ops[2].u.job.from_seq = ops[2].u.job.through_seq = 0;
    ops[3] =
        (struct mp_op){.kind = MP_OP_ADD_JOB, .u.job = fx_job_for(U("bob"), MP_JOB_SUMMARIZE, 1)};
    ops[3].u.job.from_seq = ops[3].u.job.through_seq = 0; /* SUMMARIZE: taken as given */
    ck_assert_int_eq(mp_store_apply(store, ops, 4), MP_OK);
    ck_assert_int_eq(ops[2].result, MP_OK);
    ck_assert_uint_eq(ops[2].u.job.from_seq, 3);
    ck_assert_uint_eq(ops[2].u.job.through_seq, 5);
    ck_assert_uint_eq(ops[2].u.job.id, 1);

    /* The client retries the turn: neither the turn nor its job again. */
    ops[2].u.job.from_seq = ops[2].u.job.through_seq = 0;
    ck_assert_int_eq(mp_store_apply(store, ops, 3), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_NOTFOUND);
    ck_assert_int_eq(ops[2].result, MP_NOTFOUND);

    store = fx_reopen(store, _i);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(jobs[0].from_seq, 3);
    ck_assert_uint_eq(jobs[0].through_seq, 5);
    ck_assert_mem_eq(jobs[0].user, "alice", 5);
    ck_assert_int_eq(jobs[1].kind, MP_JOB_SUMMARIZE);
    ck_assert_uint_eq(jobs[1].through_seq, 0);
    free(jobs);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_add_job_without_its_turn_is_einval)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, "q", 1)};
    struct mp_op ops[2];
    ops[0] = fx_turn_op(U("bob"), 1, m, 1, 1); /* another user's turn does not count */
    ops[1] =
        (struct mp_op){.kind = MP_OP_ADD_JOB, .u.job = fx_job_for(U("alice"), MP_JOB_EXTRACT, 1)};
    ops[1].u.job.from_seq = ops[1].u.job.through_seq = 0;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_EINVAL);
    ck_assert_int_eq(ops[1].result, MP_EINVAL);
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, U("bob"), &um), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- summary ---- */

START_TEST(test_store_set_summary_drops_covered_messages)
{
    struct mp_store *store = fx_open_backend(_i);
    for (uint8_t t = 1; t <= 3; t++)
        ck_assert_int_eq(fx_turn(store, U("alice"), t, "q", "a", t, 1), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 500};
    op.u.summary.text = "Ada builds a RAG app with ChromaDB.";
    op.u.summary.text_len = strlen(op.u.summary.text);
    op.u.summary.through_seq = 4;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "Ada builds a RAG app with ChromaDB.");
    ck_assert_uint_eq(um->summary.text_len, 35);
    ck_assert_int_eq(um->summary.updated_at_ms, 500);
    ck_assert_uint_eq(um->summary.covers_through_seq, 4);
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_uint_eq(um->messages[0].seq, 5);
    ck_assert_uint_eq(um->messages[1].seq, 6);
    ck_assert_uint_eq(um->next_seq, 7);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* A fold that started from another summary than the stored one is not
 * written over it (two processes folding one user's buffer at once). */
START_TEST(test_store_set_summary_refuses_a_stale_fold)
{
    struct mp_store *store = fx_open_backend(_i);
    for (uint8_t t = 1; t <= 3; t++)
        ck_assert_int_eq(fx_turn(store, U("ann"), t, "said", "reply", t, t), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "ann", .user_len = 3, .now_ms = 10};
    op.u.summary.text = "first fold";
    op.u.summary.text_len = 10;
    op.u.summary.through_seq = 2;
    op.u.summary.check_from = true; /* started with no summary: from 0, no text */
    struct mp_op late = op;         /* a second process started from the same state */
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    late.u.summary.text = "second fold";
    late.u.summary.text_len = 11;
    late.u.summary.through_seq = 4;
    ck_assert_int_eq(mp_store_apply(store, &late, 1), MP_ECONFLICT);
    struct mp_usermem *um = fx_get(store, U("ann"));
    ck_assert_str_eq(um->summary.text, "first fold");
    ck_assert_uint_eq(um->nmessages, 4); /* messages 3..6 stay: the late fold dropped none */
    mp_usermem_free(um);
    /* from the stored summary it goes through */
    late.u.summary.from_seq = 2;
    late.u.summary.from_text = true;
    ck_assert_int_eq(fx_apply1(store, &late), MP_OK);
    um = fx_get(store, U("ann"));
    ck_assert_str_eq(um->summary.text, "second fold");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_set_summary_unknown_user_is_notfound)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "ghost", .user_len = 5, .now_ms = 1};
    op.u.summary.text = "x";
    op.u.summary.text_len = 1;
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND);
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, U("ghost"), &um), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_set_summary_empty_text_clears_it)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q", "a", 1, 1), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 9};
    op.u.summary.text = "old";
    op.u.summary.text_len = 3;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op.u.summary.text = NULL;
    op.u.summary.text_len = 0;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_ptr_null(um->summary.text);
    ck_assert_uint_eq(um->summary.text_len, 0);
    ck_assert_uint_eq(um->nmessages, 2); /* through_seq 0 drops nothing */
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_trim_messages_keeps_summary)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q1", "a1", 1, 1), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "q2", "a2", 2, 1), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 9};
    op.u.summary.text = "sum";
    op.u.summary.text_len = 3;
    op.u.summary.through_seq = 0;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op.kind = MP_OP_TRIM_MESSAGES;
    op.u.summary.text = "ignored";
    op.u.summary.text_len = 7;
    op.u.summary.through_seq = 3;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "sum");
    ck_assert_uint_eq(um->summary.covers_through_seq, 0);
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_str_eq(um->messages[0].content, "a2");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* Applies op (a SET_SUMMARY or TRIM_MESSAGES of alice) and answers the
 * first seq alice still buffers (0: none). */
static uint64_t first_buffered_after(struct mp_store *store, struct mp_op *op)
{
    ck_assert_int_eq(fx_apply1(store, op), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    uint64_t first = um->nmessages > 0 ? um->messages[0].seq : 0;
    mp_usermem_free(um);
    return first;
}

/* Neither a trim nor a fold drops what a pending extraction of the user
 * still needs, whichever process queued it: a job above
 * jobs_known_through holds its messages until it is done; another user's
 * job, or a summary job, holds nothing. */
START_TEST(test_store_trim_keeps_what_a_pending_extraction_needs)
{
    struct mp_store *store = fx_open_backend(_i);
    for (int t = 1; t <= 3; t++)
        ck_assert_int_eq(fx_turn(store, U("alice"), (uint64_t)t, "q", "a", t, 1), MP_OK);
    uint64_t extract = fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 4));
    fx_add_job(store, fx_job_for(U("bob"), MP_JOB_EXTRACT, 2));
    fx_add_job(store, fx_job_for(U("alice"), MP_JOB_SUMMARIZE, 2));
    struct mp_op op = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5, .now_ms = 9};
    op.u.summary.through_seq = 6;
    ck_assert_uint_eq(first_buffered_after(store, &op), 3); /* the job's turn on */
    op.kind = MP_OP_SET_SUMMARY;
    op.u.summary.text = "sum";
    op.u.summary.text_len = 3;
    ck_assert_uint_eq(first_buffered_after(store, &op), 3);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->summary.covers_through_seq, 6);
    mp_usermem_free(um);
    op.kind = MP_OP_TRIM_MESSAGES;
    op.u.summary.jobs_known_through = extract; /* the caller holds it: not looked at */
    ck_assert_uint_eq(first_buffered_after(store, &op), 0);
    fx_close_backend(store, _i);
}
END_TEST

/* An extraction from seq 0 (a job stored with the seqs it was given) holds
 * the whole buffer, not none of it. */
START_TEST(test_store_an_extraction_from_seq_0_holds_everything)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q", "a", 1, 1), MP_OK);
    fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 1)); /* seqs 0..1 */
    struct mp_op op = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5, .now_ms = 9};
    op.u.summary.through_seq = 2;
    ck_assert_uint_eq(first_buffered_after(store, &op), 1);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_a_done_extraction_releases_its_messages)
{
    struct mp_store *store = fx_open_backend(_i);
    for (int t = 1; t <= 2; t++)
        ck_assert_int_eq(fx_turn(store, U("alice"), (uint64_t)t, "q", "a", t, 1), MP_OK);
    uint64_t id = fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2));
    struct mp_op op = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5, .now_ms = 9};
    op.u.summary.through_seq = 4;
    ck_assert_uint_eq(first_buffered_after(store, &op), 1);
    struct mp_op done = {.kind = MP_OP_DONE_JOB, .u.job_id = id};
    ck_assert_int_eq(fx_apply1(store, &done), MP_OK);
    ck_assert_uint_eq(first_buffered_after(store, &op), 0);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- entities ---- */

START_TEST(test_store_upsert_new_key_is_revision_1)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_op op = fx_upsert_op(U("alice"), "vector_db", "ChromaDB", MP_TRUST_STATED, 1000);
    op.u.entity.pii = true;
    op.u.entity.confidence = 0.9;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 1);
    ck_assert_int_eq(op.u.entity.recorded_at_ms, 1005);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 1);
    const struct mp_mem_entity *e = &um->entities[0];
    ck_assert_str_eq(e->key, "vector_db");
    ck_assert_str_eq(e->value, "ChromaDB");
    ck_assert_uint_eq(e->value_len, 8);
    ck_assert_double_eq(e->confidence, 0.9);
    ck_assert_int_eq(e->observed_at_ms, 1000);
    ck_assert_int_eq(e->recorded_at_ms, 1005);
    ck_assert_int_eq(e->trust, MP_TRUST_STATED);
    ck_assert_int_eq(e->source_role, MP_ROLE_USER);
    ck_assert(e->pii);
    ck_assert_uint_eq(e->revision, 1);
    ck_assert_str_eq(e->request_id, "req-1000");
    ck_assert_str_eq(e->model, "extractor-1");
    ck_assert_uint_eq(um->nmessages, 0);
    ck_assert_uint_eq(um->next_seq, 1);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_upsert_newer_value_supersedes)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "vector_db", "Pinecone", MP_TRUST_STATED, 1000),
                     MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "vector_db", "ChromaDB", MP_TRUST_STATED, 2000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 3); /* history: 1 ADDED, 2 SUPERSEDED, 3 ADDED */
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->entities[0].value, "ChromaDB");
    ck_assert_uint_eq(um->entities[0].revision, 3);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 3);
    fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "vector_db", 1, "");
    fact_entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, "vector_db", 1, "Pinecone");
    fact_entry_is(h, 2, 3, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "vector_db", 3, "");
    ck_assert_int_eq(h->items[0].at_ms, 1005);
    ck_assert_int_eq(h->items[1].at_ms, 2005);
    ck_assert_int_eq(h->items[1].entity.observed_at_ms, 1000); /* the old value's provenance */
    ck_assert_str_eq(h->items[1].entity.request_id, "req-1000");
    ck_assert_int_eq(h->items[2].entity.observed_at_ms, 2000);
    ck_assert_str_eq(h->items[2].entity.request_id, "req-2000");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_upsert_stale_value_is_ignored)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 2000), MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "city", "Paris", MP_TRUST_STATED, 1999);
    op.u.entity.revision = 55;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    ck_assert_uint_eq(op.u.entity.revision, 55); /* nothing assigned */
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "city"), "Lyon");
    ck_assert_uint_eq(um->entities[0].revision, 1);
    mp_usermem_free(um);
    /* the user's statement is kept out, not dropped without a trace: a
       KEPT entry with its value, the kept value's revision and why */
    ck_assert_int_eq(op.kept, MP_REASON_NEWER);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "city", 1, "");
    fact_entry_is(h, 1, 2, MP_HIST_KEPT, MP_ACTOR_EXTRACTOR, "city", 1, "Paris");
    ck_assert_int_eq(h->items[1].reason, MP_REASON_NEWER);
    ck_assert_int_eq(h->items[0].reason, MP_REASON_NONE);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_upsert_older_statement_never_replaces_correction)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada", MP_TRUST_CORRECTED, 1000), MP_OK);
    /* a turn said before the correction, extracted after it */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ava", MP_TRUST_STATED, 999),
                     MP_NOTFOUND);
    /* what only the assistant said, however new */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Eve", MP_TRUST_INFERRED, 9000),
                     MP_NOTFOUND);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "name"), "Ada");
    ck_assert_int_eq(um->entities[0].trust, MP_TRUST_CORRECTED);
    mp_usermem_free(um);
    /* the statement kept out is in the history */
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    fact_entry_is(h, 1, 2, MP_HIST_KEPT, MP_ACTOR_EXTRACTOR, "name", 1, "Ava");
    ck_assert_str_eq(h->items[1].entity.request_id, "req-999");
    ck_assert_int_eq(h->items[1].entity.trust, MP_TRUST_STATED);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_upsert_equal_or_higher_trust_replaces)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ava", MP_TRUST_INFERRED, 5000), MP_OK);
    /* A higher class wins even with an older observation. */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada", MP_TRUST_CORRECTED, 1000), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada L.", MP_TRUST_CORRECTED, 2000),
                     MP_OK);
    /* Same class, same time: the later write wins. */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada M.", MP_TRUST_CORRECTED, 2000),
                     MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada K.", MP_TRUST_ADMIN, 1500), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "name"), "Ada K.");
    ck_assert_uint_eq(um->entities[0].revision, 9);
    ck_assert_int_eq(um->entities[0].trust, MP_TRUST_ADMIN);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 9);
    fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "name", 1, "");
    fact_entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_USER, "name", 1, "Ava");
    fact_entry_is(h, 2, 3, MP_HIST_CORRECTED, MP_ACTOR_USER, "name", 3, "");
    fact_entry_is(h, 3, 4, MP_HIST_SUPERSEDED, MP_ACTOR_USER, "name", 3, "Ada");
    fact_entry_is(h, 4, 5, MP_HIST_CORRECTED, MP_ACTOR_USER, "name", 5, "");
    fact_entry_is(h, 5, 6, MP_HIST_SUPERSEDED, MP_ACTOR_USER, "name", 5, "Ada L.");
    fact_entry_is(h, 6, 7, MP_HIST_CORRECTED, MP_ACTOR_USER, "name", 7, "");
    fact_entry_is(h, 7, 8, MP_HIST_SUPERSEDED, MP_ACTOR_ADMIN, "name", 7, "Ada M.");
    fact_entry_is(h, 8, 9, MP_HIST_CORRECTED, MP_ACTOR_ADMIN, "name", 9, "");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_upsert_same_value_refreshes_without_history)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "lang", "C", MP_TRUST_INFERRED, 1000), MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "lang", "C", MP_TRUST_STATED, 3000);
    op.u.entity.confidence = 0.5;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 1);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->entities[0].revision, 1);
    ck_assert_int_eq(um->entities[0].trust, MP_TRUST_STATED);
    ck_assert_int_eq(um->entities[0].observed_at_ms, 3000);
    ck_assert_int_eq(um->entities[0].recorded_at_ms, 3005);
    ck_assert_double_eq(um->entities[0].confidence, 0.5);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1); /* the insert; the refresh logs nothing */
    fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "lang", 1, "");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_entities_sorted_by_key)
{
    struct mp_store *store = fx_open_backend(_i);
    const char *keys[] = {"tools", "name",   "vector_db",
                          "age",   "name_2", "\xE5\x90\x8D\xE5\x89\x8D"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(fx_upsert(store, U("alice"), keys[i], "v", MP_TRUST_STATED, 10), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 6);
    ck_assert_str_eq(um->entities[0].key, "age");
    ck_assert_str_eq(um->entities[1].key, "name");
    ck_assert_str_eq(um->entities[2].key, "name_2");
    ck_assert_str_eq(um->entities[3].key, "tools");
    ck_assert_str_eq(um->entities[4].key, "vector_db");
    ck_assert_str_eq(um->entities[5].key, "\xE5\x90\x8D\xE5\x89\x8D");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_delete_entity_removes_it_and_logs_deleted)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(del_entity(store, U("alice"), "city", 77), MP_OK);
    ck_assert_int_eq(del_entity(store, U("alice"), "city", 78), MP_NOTFOUND);
    ck_assert_int_eq(del_entity(store, U("nobody"), "city", 78), MP_NOTFOUND);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->entities[0].key, "pet");
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 3); /* no summary, no message told it: one DELETED */
    fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "city", 1, "");
    fact_entry_is(h, 1, 2, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "pet", 2, "");
    fact_entry_is(h, 2, 3, MP_HIST_DELETED, MP_ACTOR_USER, "city", 1, "");
    ck_assert_int_eq(h->items[2].at_ms, 77);
    ck_assert_str_eq(h->items[2].entity.request_id, "req-10");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_key_back_after_delete_continues_revisions)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Nice", MP_TRUST_STATED, 20), MP_OK);
    ck_assert_int_eq(del_entity(store, U("alice"), "city", 30), MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "city", "Oslo", MP_TRUST_STATED, 5);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK); /* no current value: nothing is stale */
    ck_assert_uint_eq(op.u.entity.revision, 5);     /* above every earlier revision */
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 5);
    fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "city", 1, "");
    fact_entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, "city", 1, ""); /* erased */
    fact_entry_is(h, 2, 3, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "city", 3, "");
    fact_entry_is(h, 3, 4, MP_HIST_DELETED, MP_ACTOR_USER, "city", 3, "");
    fact_entry_is(h, 4, 5, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "city", 5, "");
    mp_history_free(h);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "city"), "Oslo");
    ck_assert_uint_eq(um->entities[0].revision, 5);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_history_of_unknown_user_is_notfound)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_history *h = (struct mp_history *)&h; /* untouched on a miss */
    ck_assert_int_eq(mp_store_history(store, U("alice"), &h), MP_NOTFOUND);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("carol"), 1, "q", "a", 1, 1), MP_OK);
    ck_assert_int_eq(mp_store_history(store, U("alic"), &h), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_history(store, U("bob"), &h), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_history(store, "", 0, &h), MP_EINVAL);
    ck_assert_ptr_eq(h, (struct mp_history *)&h);
    store = fx_reopen(store, _i);
    h = fx_history(store, U("carol")); /* known, nothing logged yet: empty, not a miss */
    ck_assert_uint_eq(h->nitems, 0);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* Pages of facts (key order, limit kept, every fact once) and of the
 * history (seq order, from after a seq). */
START_TEST(test_store_facts_and_history_pages)
{
    struct mp_store *store = fx_open_backend(_i);
    static const char *const keys[] = {"m", "b", "zz", "a", "k1", "k10", "k2", "c", "y", "x",
                                       "k", "d", "e",  "f", "g",  "h",   "i",  "j", "l", "n"};
    size_t nkeys = sizeof(keys) / sizeof(keys[0]), seen = 0;
    for (size_t i = 0; i < nkeys; i++)
        ck_assert_int_eq(fx_upsert(store, U("alice"), keys[i], "v", MP_TRUST_STATED, 1), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice")); /* the order to page in */
    char after[MP_ENTITY_KEY_MAX + 1] = "";
    bool more = true;
    while (more) {
        struct mp_mem_entity *e = NULL;
        size_t n = 0;
        ck_assert_int_eq(mp_store_facts_page(store, U("alice"), after, 6, &e, &n, &more), MP_OK);
        ck_assert_uint_le(n, 6);
        for (size_t i = 0; i < n; i++)
            ck_assert_str_eq(e[i].key, um->entities[seen + i].key);
        seen += n;
        ck_assert(more == (seen < nkeys));
        if (n > 0)
            snprintf(after, sizeof(after), "%s", e[n - 1].key);
        mp_store_facts_free(e, n);
    }
    ck_assert_uint_eq(seen, nkeys);
    mp_usermem_free(um);
    struct mp_history *h = NULL;
    ck_assert_int_eq(mp_store_history_page(store, U("alice"), 5, 10, &h, &more), MP_OK);
    ck_assert_uint_eq(h->nitems, 10);
    ck_assert_uint_eq(h->items[0].seq, 6);
    ck_assert_uint_eq(h->items[9].seq, 15);
    ck_assert(more);
    mp_history_free(h);
    ck_assert_int_eq(mp_store_history_page(store, U("alice"), 15, 10, &h, &more), MP_OK);
    ck_assert_uint_eq(h->nitems, nkeys - 15);
    ck_assert(!more);
    mp_history_free(h);
    ck_assert_int_eq(mp_store_history_page(store, U("bob"), 0, 10, &h, &more), MP_NOTFOUND);
    struct mp_mem_entity *e = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_facts_page(store, U("bob"), "", 10, &e, &n, &more), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- users ---- */

START_TEST(test_store_delete_user_removes_everything_and_only_theirs)
{
    struct mp_store *store = fx_open_backend(_i);
    for (int u = 0; u < 2; u++) {
        const char *user = u == 0 ? "alice" : "bob";
        ck_assert_int_eq(fx_turn(store, user, strlen(user), 1, "q", "a", 1, 1), MP_OK);
        ck_assert_int_eq(fx_turn(store, user, strlen(user), 2, "q", "a", 2, 1), MP_OK);
        ck_assert_int_eq(fx_upsert(store, user, strlen(user), "city", "Lyon", MP_TRUST_STATED, 1),
                         MP_OK);
        ck_assert_int_eq(fx_upsert(store, user, strlen(user), "city", "Nice", MP_TRUST_STATED, 2),
                         MP_OK);
        fx_add_job(store, fx_job_for(user, strlen(user), MP_JOB_EXTRACT, 2));
    }
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);

    struct mp_usermem *um = NULL;
    struct mp_history *h = NULL;
    ck_assert_int_eq(mp_store_get(store, U("alice"), &um), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_history(store, U("alice"), &h), MP_NOTFOUND);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_mem_eq(jobs[0].user, "bob", 3);
    free(jobs);
    /* The idem keys went too: the same turn records again, from seq 1. */
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, "again", 3)};
    struct mp_op t = fx_turn_op(U("alice"), 1, m, 1, 1);
    ck_assert_int_eq(fx_apply1(store, &t), MP_OK);
    ck_assert_uint_eq(t.u.turn.first_seq, 1);

    um = fx_get(store, U("bob"));
    ck_assert_uint_eq(um->nmessages, 4);
    ck_assert_str_eq(fx_entity_value(um, "city"), "Nice");
    mp_usermem_free(um);
    h = fx_history(store, U("bob"));
    ck_assert_uint_eq(h->nitems, 3);
    fact_entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, "city", 1, "Lyon");
    mp_history_free(h);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK); /* deleting twice is fine */
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_users_with_prefix_ids_are_isolated)
{
    struct mp_store *store = fx_open_backend(_i);
    /* "a", "ab", "a\0b" and "b": none may see another's data, and a user
     * id plus an entity key must not alias another split ("a"+"bc" vs "ab"+"c"). */
    static const struct {
        const char *id;
        size_t len;
    } users[] = {{"a", 1}, {"ab", 2}, {"a\0b", 3}, {"b", 1}};
    char text[16];
    for (uint8_t u = 0; u < 4; u++) {
        snprintf(text, sizeof(text), "user-%u", u);
        ck_assert_int_eq(fx_turn(store, users[u].id, users[u].len, 1, text, text, u, 1), MP_OK);
        ck_assert_int_eq(fx_upsert(store, users[u].id, users[u].len, "c", text, MP_TRUST_STATED, 1),
                         MP_OK);
        ck_assert_int_eq(
            fx_upsert(store, users[u].id, users[u].len, "c", "new", MP_TRUST_STATED, 2), MP_OK);
    }
    ck_assert_int_eq(fx_upsert(store, U("a"), "bc", "x", MP_TRUST_STATED, 1), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("a"), "bc", "y", MP_TRUST_STATED, 2), MP_OK);
    struct mp_op del = {.kind = MP_OP_DELETE_USER, .user = "a", .user_len = 1};
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    store = fx_reopen(store, _i);

    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, U("a"), &um), MP_NOTFOUND);
    for (uint8_t u = 1; u < 4; u++) {
        struct mp_history *h = NULL;
        snprintf(text, sizeof(text), "user-%u", u);
        um = fx_get(store, users[u].id, users[u].len);
        ck_assert_uint_eq(um->nmessages, 2);
        ck_assert_str_eq(um->messages[0].content, text);
        ck_assert_uint_eq(um->nentities, 1);
        mp_usermem_free(um);
        h = fx_history(store, users[u].id, users[u].len);
        ck_assert_uint_eq(h->nitems, 3); /* not a's "bc" */
        fact_entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "c", 1, "");
        fact_entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, "c", 1, text);
        fact_entry_is(h, 2, 3, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, "c", 3, "");
        mp_history_free(h);
    }
    struct mp_history *h = NULL;
    ck_assert_int_eq(mp_store_history(store, U("a"), &h), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- apply ---- */

START_TEST(test_store_apply_is_all_or_nothing)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, "hello", 1)};
    struct mp_op ops[3];
    ops[0] = fx_turn_op(U("alice"), 1, m, 1, 1);
    ops[0].u.turn.first_seq = 99;
    ops[0].result = 12345;
    ops[1] =
        (struct mp_op){.kind = MP_OP_ADD_JOB, .u.job = fx_job_for(U("alice"), MP_JOB_EXTRACT, 1)};
    ops[2] = fx_upsert_op(U("alice"), "Vector DB", "x", MP_TRUST_STATED, 1); /* not normalized */
    ck_assert_int_eq(mp_store_apply(store, ops, 3), MP_EINVAL);
    ck_assert_int_eq(ops[2].result, MP_EINVAL);
    ck_assert_int_eq(ops[0].result, 12345);
    ck_assert_uint_eq(ops[0].u.turn.first_seq, 99);
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, U("alice"), &um), MP_NOTFOUND);
    struct mp_job *jobs = NULL;
    size_t n = 9;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 0);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_later_ops_see_earlier_ones)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "q", 1), fx_msg(MP_ROLE_ASSISTANT, "a", 1)};
    struct mp_op ops[5];
    ops[0] = fx_turn_op(U("alice"), 1, m, 2, 1);
    ops[1] = fx_turn_op(U("alice"), 1, m, 2, 1); /* same idem key in the same apply */
    ops[2] = fx_upsert_op(U("alice"), "pet", "cat", MP_TRUST_STATED, 1);
    ops[3] = fx_upsert_op(U("alice"), "pet", "dog", MP_TRUST_STATED, 2);
    ops[4] = (struct mp_op){.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5};
    ops[4].u.summary.through_seq = 1;
    ck_assert_int_eq(mp_store_apply(store, ops, 5), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_OK);
    ck_assert_int_eq(ops[1].result, MP_NOTFOUND);
    ck_assert_uint_eq(ops[2].u.entity.revision, 1);
    ck_assert_uint_eq(ops[3].u.entity.revision, 3);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4); /* ADDED, SUPERSEDED, ADDED, SUMMARIZED */
    ck_assert_int_eq(h->items[3].event, MP_HIST_SUMMARIZED);
    ck_assert_uint_eq(h->items[3].seq, 4);
    mp_history_free(h);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_str_eq(um->messages[0].content, "a");
    ck_assert_str_eq(fx_entity_value(um, "pet"), "dog");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_rejects_invalid_ops)
{
    struct mp_store *store = fx_open_backend(_i);
    char big[MP_MESSAGE_CONTENT_MAX + 2];
    char bigval[MP_ENTITY_VALUE_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memset(bigval, 'v', sizeof(bigval) - 1);
    bigval[sizeof(bigval) - 1] = '\0';
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, big, 1)};
    struct mp_op op = fx_turn_op(U("alice"), 1, m, 1, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL); /* content over the cap */
    op = fx_turn_op(U("alice"), 1, m, 0, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL); /* no messages */
    m[0] = fx_msg(MP_ROLE_USER, "ok", 1);
    op = fx_turn_op("", 0, 1, m, 1, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL); /* empty user */
    op = fx_turn_op(big, MP_USER_KEY_MAX + 1, 1, m, 1, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL); /* user too long */
    op = fx_upsert_op(U("alice"), "city", bigval, MP_TRUST_STATED, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    op = fx_upsert_op(U("alice"), "city", "", MP_TRUST_STATED, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    op = fx_upsert_op(U("alice"), "city", "Lyon", MP_TRUST_STATED, 1);
    op.u.entity.confidence = 1.5;
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    op.u.entity.confidence = NAN;
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    op = fx_upsert_op(U("alice"), "City", "Lyon", MP_TRUST_STATED, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL); /* keys arrive normalized */
    op = fx_upsert_op(U("alice"), "", "Lyon", MP_TRUST_STATED, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    op = (struct mp_op){.kind = MP_OP_DELETE_ENTITY, .user = "alice", .user_len = 5};
    snprintf(op.u.key, sizeof(op.u.key), "my city");
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    op = (struct mp_op){.kind = MP_OP_ADD_JOB};
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL); /* job without a user */
    op = (struct mp_op){.kind = (enum mp_op_kind)99, .user = "alice", .user_len = 5};
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(mp_store_get(store, U("alice"), &um), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_store_get_result_outlives_store)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "question", "answer", 1, 1), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 1), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    fx_close_backend(store, _i); /* a copy, not pointers into the map */
    ck_assert_str_eq(um->messages[0].content, "question");
    ck_assert_str_eq(um->entities[0].value, "cat");
    mp_usermem_free(um);
}
END_TEST

START_TEST(test_store_stats_report_map_and_readers)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_store_stats st;
    memset(&st, 0xAB, sizeof(st));
    ck_assert_int_eq(mp_store_stats(store, &st), MP_OK);
    if (_i == MEM) {
        ck_assert_uint_eq(st.map_size, 0);
        ck_assert_uint_eq(st.map_size_max, 0);
        ck_assert_uint_eq(st.map_used, 0);
        ck_assert_uint_eq(st.readers_used, 0);
        ck_assert_uint_eq(st.readers_max, 0);
    } else if (_i == PG) {
        /* the table's bytes; no cap; connections of the pool in use */
        ck_assert_uint_gt(st.map_used, 0);
        ck_assert_uint_eq(st.map_size, st.map_used);
        ck_assert_uint_eq(st.map_size_max, 0);
        ck_assert_uint_eq(st.readers_used, 0);
        ck_assert_uint_eq(st.readers_max, 4);
    } else {
        ck_assert_uint_eq(st.map_size, 1 << 20);
        ck_assert_uint_eq(st.map_size_max, 64 << 20); /* 0 means 64 x map_size */
        ck_assert_uint_gt(st.map_used, 0);
        ck_assert_uint_lt(st.map_used, st.map_size);
        ck_assert_uint_eq(st.readers_used, 0);
        ck_assert_uint_eq(st.readers_max, 512);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* LMDB ends a read reset, kept as a spare that the next read renews: the
 * renewed read sees what was written since, and a spare is not a reader
 * in the stats (an open view is). */
START_TEST(test_store_lmdb_spare_read_sees_later_writes)
{
    struct mp_store *store = fx_open_backend(LMDB);
    struct mp_store_stats st;
    ck_assert_int_eq(fx_turn(store, U("ada"), 1, "q1", "a1", 1, 1), MP_OK);
    struct mp_usermem *um = fx_get(store, U("ada"));
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    ck_assert_int_eq(fx_turn(store, U("ada"), 2, "q2", "a2", 2, 2), MP_OK);
    um = fx_get(store, U("ada"));
    ck_assert_uint_eq(um->nmessages, 4);
    ck_assert_str_eq(um->messages[3].content, "a2");
    mp_usermem_free(um);
    ck_assert_int_eq(mp_store_stats(store, &st), MP_OK);
    ck_assert_uint_eq(st.readers_used, 0);
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, U("ada"), &v), MP_OK);
    ck_assert_int_eq(mp_store_stats(store, &st), MP_OK);
    ck_assert_uint_eq(st.readers_used, 1);
    ck_assert_int_eq(fx_turn(store, U("ada"), 3, "q3", "a3", 3, 3), MP_OK);
    ck_assert_uint_eq(mp_store_view_head(v)->nmessages, 4); /* its snapshot */
    mp_store_view_close(v);
    um = fx_get(store, U("ada"));
    ck_assert_uint_eq(um->nmessages, 6);
    mp_usermem_free(um);
    ck_assert_int_eq(mp_store_stats(store, &st), MP_OK);
    ck_assert_uint_eq(st.readers_used, 0);
    fx_close_backend(store, LMDB);
}
END_TEST

/* ---- concurrency ---- */

struct reader_arg {
    struct mp_store *store;
    int bad;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    for (int i = 0; i < 150; i++) {
        struct mp_usermem *um = NULL;
        int rc = mp_store_get(a->store, U("alice"), &um);
        if (rc == MP_NOTFOUND)
            continue;
        /* Every turn adds two messages: a torn read would show an odd count. */
        if (rc != MP_OK || um->nmessages % 2 != 0 || um->next_seq != um->nmessages + 1)
            a->bad++;
        mp_usermem_free(um);
    }
    return NULL;
}

START_TEST(test_store_reads_on_many_threads_while_map_grows)
{
    struct mp_store *store = fx_open_sized(_i, 64 << 10, 0);
    struct reader_arg args[3];
    pthread_t th[3];
    char text[600];
    memset(text, 'z', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (int t = 0; t < 3; t++) {
        args[t] = (struct reader_arg){store, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, reader, &args[t]), 0);
    }
    for (int i = 0; i < 80; i++)
        ck_assert_int_eq(fx_turn(store, U("alice"), (uint8_t)i, text, text, i, 1), MP_OK);
    for (int t = 0; t < 3; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(args[t].bad, 0);
    }
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 160);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- LMDB only ---- */

START_TEST(test_store_lmdb_unopenable_path_is_eio)
{
    struct mp_store *store = NULL;
    char err[256] = "";
    struct mp_store_options o = {
        .path = "/proc/self/no/such/dir", .map_size = 1 << 20, .sync = MP_STORE_SYNC_FULL};
    ck_assert_int_eq(mp_store_open_lmdb(&o, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_ptr_nonnull(strstr(err, "/proc/self/no/such/dir"));
}
END_TEST

START_TEST(test_store_lmdb_each_sync_mode_persists)
{
    struct mp_store *store = fx_open_backend(LMDB);
    const enum mp_store_sync modes[3] = {MP_STORE_SYNC_FULL, MP_STORE_SYNC_META,
                                         MP_STORE_SYNC_NONE};
    for (uint8_t i = 0; i < 3; i++) {
        mp_store_free(store);
        fx_opts.sync = modes[i];
        store = fx_open_existing();
        ck_assert_int_eq(fx_turn(store, U("alice"), i, "q", "a", i, 1), MP_OK);
    }
    store = fx_reopen(store, LMDB);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 6);
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_store_lmdb_map_grows_on_demand)
{
    struct mp_store *store = fx_open_sized(LMDB, 64 << 10, 0);
    char text[1024];
    memset(text, 'm', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(fx_turn(store, U("alice"), (uint8_t)i, text, text, i, 1), MP_OK);
    struct mp_store_stats st;
    ck_assert_int_eq(mp_store_stats(store, &st), MP_OK);
    ck_assert_uint_gt(st.map_size, 64 << 10);
    ck_assert_uint_le(st.map_size, 4 << 20);
    store = fx_reopen(store, LMDB);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 200);
    ck_assert_str_eq(um->messages[199].content, text);
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_store_lmdb_full_map_at_cap_is_etoobig_and_writes_nothing)
{
    struct mp_store *store = fx_open_sized(LMDB, 64 << 10, 256 << 10);
    char text[4096];
    memset(text, 'f', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    int ok = 0, rc = MP_OK;
    while (ok < 200) {
        struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, text, ok),
                                      fx_msg(MP_ROLE_ASSISTANT, "a", ok)};
        struct mp_op ops[2] = {fx_turn_op(U("alice"), (uint8_t)ok, m, 2, 1),
                               {.kind = MP_OP_ADD_JOB}};
        ops[1].u.job = fx_job_for(U("alice"), MP_JOB_EXTRACT, 2);
        ops[0].u.turn.first_seq = 4242;
        rc = mp_store_apply(store, ops, 2);
        if (rc != MP_OK) {
            ck_assert_uint_eq(ops[0].u.turn.first_seq, 4242);
            break;
        }
        ok++;
    }
    ck_assert_int_eq(rc, MP_ETOOBIG);
    ck_assert_int_gt(ok, 3);
    struct mp_store_stats st;
    ck_assert_int_eq(mp_store_stats(store, &st), MP_OK);
    ck_assert_uint_eq(st.map_size, 256 << 10);
    store = fx_reopen(store, LMDB);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2 * (size_t)ok);
    ck_assert_uint_eq(um->next_seq, 2 * (uint64_t)ok + 1);
    mp_usermem_free(um);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, (size_t)ok);
    free(jobs);
    fx_close_backend(store, LMDB);
}
END_TEST

/* Raw access to the store's files, as a corrupt disk or a newer build
 * would leave them: one transaction from raw_begin() to raw_end(). */
struct raw {
    MDB_env *env;
    MDB_txn *txn;
};

static struct raw raw_begin(unsigned flags)
{
    struct raw r;
    ck_assert_int_eq(mdb_env_create(&r.env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(r.env, 8), 0);
    ck_assert_int_eq(mdb_env_open(r.env, fx_dir, MDB_NOTLS | MDB_NOSYNC | flags, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(r.env, NULL, flags, &r.txn), 0);
    return r;
}

static void raw_end(struct raw r)
{
    ck_assert_int_eq(mdb_txn_commit(r.txn), 0);
    mdb_env_close(r.env);
}

static MDB_dbi raw_db(struct raw r, const char *db)
{
    MDB_dbi dbi;
    ck_assert_int_eq(mdb_dbi_open(r.txn, db, 0, &dbi), 0);
    return dbi;
}

static void raw_put(struct raw r, const char *db, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    ck_assert_int_eq(mdb_put(r.txn, raw_db(r, db), &k, &v, 0), 0);
}

static size_t raw_get(const char *db, const void *key, size_t klen, void *out, size_t cap)
{
    struct raw r = raw_begin(MDB_RDONLY);
    MDB_val k = {klen, (void *)key}, v;
    ck_assert_int_eq(mdb_get(r.txn, raw_db(r, db), &k, &v), 0);
    ck_assert_uint_le(v.mv_size, cap);
    memcpy(out, v.mv_data, v.mv_size);
    raw_end(r);
    return v.mv_size;
}

/* An index record of alice's that no item of hers made: a conversion that
 * makes her index again (formats 3 to 7) drops it, one that leaves the
 * records as they are (format 8) keeps it. */
static const char stray_doc[] = "\x00\x05"
                                "alice\xff\xff\xff\xff";

static bool raw_has(const char *db, const void *key, size_t klen)
{
    struct raw r = raw_begin(MDB_RDONLY);
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(r.txn, raw_db(r, db), &k, &v);
    raw_end(r);
    return rc == 0;
}

/* A store with a turn of alice's and a stray index record of hers, its
 * format record set to format (4 bytes), opened again: it is then of this
 * build's format. before (4096 bytes, NULL: not wanted): alice's record as
 * it was before the open, *n its length. */
static struct mp_store *reopened_as(const char *format, unsigned char *before, size_t *n)
{
    struct mp_store *store = fx_open_backend(LMDB);
    ck_assert_int_eq(fx_turn(store, U("alice"), 7, "hello", "hi", 1, 2), MP_OK);
    mp_store_free(store);
    struct raw r = raw_begin(0);
    raw_put(r, "meta", "format", 6, format, 4);
    raw_put(r, "docs", stray_doc, sizeof(stray_doc) - 1, "x", 1);
    raw_end(r);
    if (before != NULL)
        *n = raw_get("users", "alice", 5, before, 4096);
    char err[256] = "";
    store = NULL;
    ck_assert_int_eq(mp_store_open_lmdb(&fx_opts, &store, err, sizeof(err)), MP_OK);
    unsigned char v[4];
    ck_assert_uint_eq(raw_get("meta", "format", 6, v, sizeof(v)), 4);
    ck_assert_mem_eq(v, "\x0c\x00\x00\x00", 4);
    return store;
}

/* Format 3's to 7's records are format 12's but the messages' languages
 * and the index's terms (a format-3 user record merely lacks the term
 * filter, codec.h; format 4's postings lack their item's length, index.h;
 * format 5 has no heads, heads.h; format 6's messages no conversation,
 * codec.h): opening one converts it (migrate.c; test_store_lang.c) and
 * reads them. */
START_TEST(test_store_lmdb_formats_3_to_7_open_as_format_8)
{
    static const char *const older[] = {"\x03\x00\x00\x00", "\x04\x00\x00\x00", "\x05\x00\x00\x00",
                                        "\x06\x00\x00\x00", "\x07\x00\x00\x00"};
    for (size_t i = 0; i < 5; i++) {
        struct mp_store *store = reopened_as(older[i], NULL, 0);
        ck_assert(!raw_has("docs", stray_doc, sizeof(stray_doc) - 1)); /* indexed again */
        struct mp_usermem *um = NULL;
        ck_assert_int_eq(mp_store_get(store, U("alice"), &um), MP_OK);
        ck_assert_uint_eq(um->nmessages, 2);
        mp_usermem_free(um);
        fx_close_backend(store, LMDB);
    }
}
END_TEST

/* Format 8's records are format 12's but that a user record may carry its
 * facts stamp (and recognition's tables and the told records start
 * empty; it has no conversations): opening one writes the told records its facts and history say
 * (none here) and the number, no other record again (a fact write stamps
 * its user record). */
START_TEST(test_store_lmdb_format_8_opens_as_format_12_untouched)
{
    static unsigned char before[4096], after[4096];
    size_t n = 0;
    struct mp_store *store = reopened_as("\x08\x00\x00\x00", before, &n);
    ck_assert_uint_eq(raw_get("users", "alice", 5, after, sizeof(after)), n);
    ck_assert_mem_eq(after, before, n);
    ck_assert(raw_has("docs", stray_doc, sizeof(stray_doc) - 1)); /* not indexed again */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 3), MP_OK);
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    n = raw_get("users", "alice", 5, after, sizeof(after));
    ck_assert_int_eq(mp_codec_get_user(after, n, &meta, &um), MP_OK);
    ck_assert_uint_ne(meta.facts_stamp, 0);
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_store_lmdb_future_format_is_refused)
{
    struct mp_store *store = fx_open_backend(LMDB);
    mp_store_free(store);
    struct raw r = raw_begin(0);
    raw_put(r, "meta", "format", 6, "\x0d\x00\x00\x00", 4); /* this build writes 12 */
    raw_end(r);
    char err[256] = "";
    store = NULL;
    ck_assert_int_eq(mp_store_open_lmdb(&fx_opts, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "version 13") != NULL && strstr(err, fx_dir) != NULL, "err: %s", err);
    fx_remove_dir();
}
END_TEST

START_TEST(test_store_lmdb_corrupt_user_record_is_eio)
{
    struct mp_store *store = fx_open_backend(LMDB);
    static unsigned char rec[4096], bad[4096];
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "question", "answer", 1, 1), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 1), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5};
    op.u.summary.text = "sum";
    op.u.summary.text_len = 3;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    mp_store_free(store);
    size_t len = raw_get("users", "alice", 5, rec, sizeof(rec));

    /* Every truncation, one trailing byte too many, and each length or count
     * field (at the offsets the layout essay gives) blown up to 0xFF.. */
    char user[32];
    struct raw r = raw_begin(0);
    for (size_t cut = 0; cut < len; cut++) {
        snprintf(user, sizeof(user), "t%zu", cut);
        raw_put(r, "users", user, strlen(user), rec, cut);
    }
    memcpy(bad, rec, len);
    bad[len] = 0;
    raw_put(r, "users", "extra", 5, bad, len + 1);
    memcpy(bad, rec, len);
    bad[0] = 2; /* record version (this build writes 3; 2 is only read to convert a store) */
    raw_put(r, "users", "ver", 3, bad, len);
    memcpy(bad, rec, len);
    /* u8 version | u16 user len | "alice" | i64 updated | u64 next_seq |
     * u64 next_hist: the summary's u32 length is at 32 */
    memset(bad + 32, 0xFF, 4); /* summary length */
    raw_put(r, "users", "sumlen", 6, bad, len);
    memcpy(bad, rec, len);
    /* summary: u32 len | "sum" | 3 x u64 | "" request_id | "" model | u8 pii */
    memset(bad + 32 + 4 + 3 + 24 + 3, 0xFF, 4); /* message count */
    raw_put(r, "users", "nmsg", 4, bad, len);
    memcpy(bad, rec, len);
    bad[32 + 4 + 3 + 24 + 3 + 4] = 7; /* first message's role */
    raw_put(r, "users", "role", 4, bad, len);
    raw_end(r);

    store = fx_open_existing();
    struct mp_usermem *um = NULL;
    for (size_t cut = 0; cut < len; cut++) {
        snprintf(user, sizeof(user), "t%zu", cut);
        ck_assert_msg(mp_store_get(store, user, strlen(user), &um) == MP_EIO, "cut %zu", cut);
    }
    ck_assert_int_eq(mp_store_get(store, U("extra"), &um), MP_EIO);
    ck_assert_int_eq(mp_store_get(store, U("ver"), &um), MP_EIO);
    ck_assert_int_eq(mp_store_get(store, U("sumlen"), &um), MP_EIO);
    ck_assert_int_eq(mp_store_get(store, U("nmsg"), &um), MP_EIO);
    ck_assert_int_eq(mp_store_get(store, U("role"), &um), MP_EIO);
    /* A write to a corrupt user fails without touching it; others go on. */
    ck_assert_int_eq(fx_turn(store, U("ver"), 1, "q", "a", 1, 1), MP_EIO);
    um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "sum");
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_store_lmdb_corrupt_job_and_history_are_eio)
{
    struct mp_store *store = fx_open_backend(LMDB);
    fx_add_job(store, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2));
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 1), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "dog", MP_TRUST_STATED, 2), MP_OK);
    mp_store_free(store);
    struct raw r = raw_begin(0);
    raw_put(r, "jobs", "\0\0\0\0\0\0\0\x01", 8,
            "\x01\x05\x00"
            "ali",
            6); /* ulen 5, only 3 bytes of user */
    /* history key: u16be 5 | "alice" | u64be seq 1 */
    raw_put(r, "history",
            "\x00\x05"
            "alice\0\0\0\0\0\0\0\x01",
            15, "\x00", 1);
    raw_end(r);
    store = fx_open_existing();
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_EIO);
    struct mp_history *h = NULL;
    ck_assert_int_eq(mp_store_history(store, U("alice"), &h), MP_EIO);
    fx_close_backend(store, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("backends");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_store_open_ping_close, 0, FX_BACKENDS);
    tcase_add_test(tc, test_store_lmdb_second_open_of_one_directory_is_refused);
    tcase_add_test(tc, test_store_free_null_is_noop);
    tcase_add_loop_test(tc, test_store_get_unknown_user_is_notfound, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_get_rejects_bad_user_key, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_record_turn_assigns_increasing_seqs, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_record_turn_same_idem_key_records_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_record_turn_empty_content_round_trips, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_jobs_empty_list, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_add_job_assigns_increasing_ids_listed_in_order, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_done_job_removes_it, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_update_job_rewrites_it, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_jobs_survive_reopen_and_ids_keep_increasing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_add_job_inherits_seqs_of_its_turn, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_add_job_without_its_turn_is_einval, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_set_summary_drops_covered_messages, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_set_summary_refuses_a_stale_fold, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_set_summary_unknown_user_is_notfound, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_set_summary_empty_text_clears_it, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_trim_messages_keeps_summary, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_trim_keeps_what_a_pending_extraction_needs, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_a_done_extraction_releases_its_messages, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_an_extraction_from_seq_0_holds_everything, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_upsert_new_key_is_revision_1, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_upsert_newer_value_supersedes, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_upsert_stale_value_is_ignored, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_upsert_older_statement_never_replaces_correction, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_upsert_equal_or_higher_trust_replaces, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_upsert_same_value_refreshes_without_history, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_entities_sorted_by_key, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_delete_entity_removes_it_and_logs_deleted, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_key_back_after_delete_continues_revisions, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_history_of_unknown_user_is_notfound, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_facts_and_history_pages, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_delete_user_removes_everything_and_only_theirs, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_users_with_prefix_ids_are_isolated, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_apply_is_all_or_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_later_ops_see_earlier_ones, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_rejects_invalid_ops, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_get_result_outlives_store, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_store_stats_report_map_and_readers, 0, FX_BACKENDS);
    tcase_add_test(tc, test_store_lmdb_spare_read_sees_later_writes);
    tcase_add_loop_test(tc, test_store_reads_on_many_threads_while_map_grows, 0, FX_BACKENDS);
    tcase_add_test(tc, test_store_lmdb_unopenable_path_is_eio);
    tcase_add_test(tc, test_store_lmdb_each_sync_mode_persists);
    tcase_add_test(tc, test_store_lmdb_map_grows_on_demand);
    tcase_add_test(tc, test_store_lmdb_full_map_at_cap_is_etoobig_and_writes_nothing);
    tcase_add_test(tc, test_store_lmdb_formats_3_to_7_open_as_format_8);
    tcase_add_test(tc, test_store_lmdb_format_8_opens_as_format_12_untouched);
    tcase_add_test(tc, test_store_lmdb_future_format_is_refused);
    tcase_add_test(tc, test_store_lmdb_corrupt_user_record_is_eio);
    tcase_add_test(tc, test_store_lmdb_corrupt_job_and_history_are_eio);
    suite_add_tcase(s, tc);
    return s;
}
