/* struct mp_erased (storage/ops/store.h): what an erasure reports it
 * removed, the counts the memory page shows after a deletion. On every
 * backend (tests/storage/with_pg.sh gives PostgreSQL a cluster). */
#include <check.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

#define NOW 1000000

Suite *mp_test_suite(void);

/* A fact and the turn that told it: erasing the fact counts the fact,
 * the turn's messages and the summary it drops. */
START_TEST(test_erased_fact_counts_fact_messages_and_summary)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Oslo", "Oslo, noted", NOW, NOW),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "I like tea", "ok", NOW + 1, NOW + 1), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Oslo", MP_TRUST_STATED, NOW), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "Summary: lives in Oslo", 0, NOW + 2), MP_OK);
    struct mp_op del = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, NOW + 3);
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    ck_assert_int_eq(del.result, MP_OK);
    ck_assert_uint_eq(del.erased.facts, 1);
    ck_assert_uint_eq(del.erased.messages, 2); /* the Oslo turn, not the tea one */
    ck_assert_uint_eq(del.erased.summaries, 1);
    fx_close_backend(store, _i);
}
END_TEST

/* One message, and an absent one: counted as erased, or nothing. */
START_TEST(test_erased_message_counts_one)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "hello", "hi", NOW, NOW), MP_OK);
    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE,
                        .user = "alice",
                        .user_len = 5,
                        .now_ms = NOW + 1,
                        .actor = MP_ACTOR_USER};
    del.u.seq = 1;
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    ck_assert_int_eq(del.result, MP_OK);
    ck_assert_uint_eq(del.erased.messages, 1);
    ck_assert_uint_eq(del.erased.facts, 0);
    del.u.seq = 99;
    ck_assert_int_eq(fx_apply1(store, &del), MP_NOTFOUND); /* the op's result */
    ck_assert_uint_eq(del.erased.messages, 0);
    fx_close_backend(store, _i);
}
END_TEST

/* The whole user: what was there, though no history is left to say so. */
START_TEST(test_erased_user_counts_what_was_stored)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Oslo", "noted", NOW, NOW), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Oslo", MP_TRUST_STATED, NOW), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "drink", "tea", MP_TRUST_STATED, NOW), MP_OK);
    struct mp_op forget = {.kind = MP_OP_DELETE_USER,
                           .user = "alice",
                           .user_len = 5,
                           .now_ms = NOW + 1,
                           .actor = MP_ACTOR_USER};
    ck_assert_int_eq(fx_apply1(store, &forget), MP_OK);
    ck_assert_uint_eq(forget.erased.facts, 2);
    ck_assert_uint_eq(forget.erased.messages, 2);
    ck_assert_uint_eq(forget.erased.summaries, 0);
    ck_assert(fx_absent(store, U("alice")));
    ck_assert_int_eq(fx_apply1(store, &forget), MP_OK); /* nothing left: nothing counted */
    ck_assert_uint_eq(forget.erased.facts, 0);
    ck_assert_uint_eq(forget.erased.messages, 0);
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_erased");
    TCase *tc = tcase_create("erased");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_erased_fact_counts_fact_messages_and_summary, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_erased_message_counts_one, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_erased_user_counts_what_was_stored, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
