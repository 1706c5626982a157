/* Tests for "newest truth" in storage/ops (lifecycle.c, store_facts.c):
 * between the user's own words and what was set for them the newer value
 * wins, the agent class below the user's words, the KEPT history of a
 * statement kept out, and the summary losing what a given value displaced,
 * at the correction and at the next fold. Every case runs on every
 * backend (_i: FX_BACKENDS). */
#include <check.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

static const struct mp_history_item *entry(const struct mp_history *h, size_t i,
                                           enum mp_history_event event, enum mp_actor actor,
                                           enum mp_item_kind item)
{
    ck_assert_uint_lt(i, h->nitems);
    ck_assert_int_eq(h->items[i].event, event);
    ck_assert_int_eq(h->items[i].actor, actor);
    ck_assert_int_eq(h->items[i].item, item);
    return &h->items[i];
}

static void summary_is(struct mp_store *store, const char *want)
{
    struct mp_usermem *um = fx_get(store, U("alice"));
    if (want == NULL) {
        ck_assert_ptr_null(um->summary.text);
    } else {
        ck_assert_ptr_nonnull(um->summary.text);
        ck_assert_str_eq(um->summary.text, want);
        ck_assert_uint_eq(um->summary.text_len, strlen(want));
    }
    mp_usermem_free(um);
}

static void fact_is(struct mp_store *store, const char *key, const char *value, enum mp_trust trust)
{
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, key), value);
    for (size_t i = 0; i < um->nentities; i++)
        if (strcmp(um->entities[i].key, key) == 0)
            ck_assert_int_eq(um->entities[i].trust, trust);
    mp_usermem_free(um);
}

START_TEST(test_truth_newer_statement_supersedes_correction)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Paris", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Berlin", MP_TRUST_CORRECTED, 200),
                     MP_OK);
    /* the user says where they live now, in a turn after the correction */
    struct mp_op op = fx_upsert_op(U("alice"), "city", "Lisbon", MP_TRUST_STATED, 300);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert(op.met_given); /* a correction met, and superseded */
    fact_is(store, "city", "Lisbon", MP_TRUST_STATED);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 5);
    const struct mp_history_item *it =
        entry(h, 3, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT);
    ck_assert_str_eq(it->entity.value, "Berlin"); /* the correction, superseded */
    ck_assert_int_eq(it->entity.trust, MP_TRUST_CORRECTED);
    it = entry(h, 4, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT);
    ck_assert_str_eq(it->entity.request_id, "req-300");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_truth_statement_of_the_correction_time_loses_by_class)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Berlin", MP_TRUST_CORRECTED, 200),
                     MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "city", "Lisbon", MP_TRUST_STATED, 200);
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND);
    ck_assert(op.met_given);
    fact_is(store, "city", "Berlin", MP_TRUST_CORRECTED);
    /* a correction is the user's word of now, whatever a turn's clock says */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 900), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Nice", MP_TRUST_CORRECTED, 500), MP_OK);
    fact_is(store, "city", "Nice", MP_TRUST_CORRECTED);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_truth_agent_class_below_the_users_words)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_AGENT, 1000), MP_OK);
    fact_is(store, "city", "Lyon", MP_TRUST_AGENT); /* read back as agent */
    struct mp_history *h = fx_history(store, U("alice"));
    const struct mp_history_item *it = entry(h, 0, MP_HIST_ADDED, MP_ACTOR_USER, MP_ITEM_FACT);
    ck_assert_int_eq(it->entity.trust, MP_TRUST_AGENT);
    mp_history_free(h);
    /* the same age: the user's words win */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Nice", MP_TRUST_STATED, 1000), MP_OK);
    fact_is(store, "city", "Nice", MP_TRUST_STATED);
    /* a newer agent value wins; an older statement then does not */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Oslo", MP_TRUST_AGENT, 2000), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Rome", MP_TRUST_STATED, 1500),
                     MP_NOTFOUND);
    /* what only the assistant said never replaces it */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Bonn", MP_TRUST_INFERRED, 9000),
                     MP_NOTFOUND);
    fact_is(store, "city", "Oslo", MP_TRUST_AGENT);
    /* the user's newer statement supersedes the agent's value */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Graz", MP_TRUST_STATED, 3000), MP_OK);
    fact_is(store, "city", "Graz", MP_TRUST_STATED);
    h = fx_history(store, U("alice"));
    ck_assert_str_eq(
        entry(h, h->nitems - 3, MP_HIST_KEPT, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT)->entity.value,
        "Rome");
    it = entry(h, h->nitems - 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT);
    ck_assert_str_eq(it->entity.value, "Oslo");
    ck_assert_int_eq(it->entity.trust, MP_TRUST_AGENT);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_truth_admin_value_is_kept_against_a_newer_statement)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "plan", "pro", MP_TRUST_ADMIN, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "plan", "free", MP_TRUST_STATED, 9000),
                     MP_NOTFOUND);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "plan", "team", MP_TRUST_CORRECTED, 9000),
                     MP_NOTFOUND);
    fact_is(store, "plan", "pro", MP_TRUST_ADMIN);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2); /* CORRECTED by admin, KEPT of the statement */
    entry(h, 1, MP_HIST_KEPT, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_truth_correction_filters_the_summary)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Paris", "ok", 100, 101), MP_OK);
    ck_assert_int_eq(
        fx_summarize(store, U("alice"), "The user lives in Paris. The user likes tea.", 2, 150),
        MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Paris", MP_TRUST_STATED, 100), MP_OK);
    /* an extracted value displacing another leaves the summary to the fold */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "tea", "green", MP_TRUST_STATED, 110), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "tea", "tea", MP_TRUST_STATED, 120), MP_OK);
    summary_is(store, "The user lives in Paris. The user likes tea.");
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Berlin", MP_TRUST_CORRECTED, 200),
                     MP_OK);
    summary_is(store, "The user likes tea.");
    struct mp_history *h = fx_history(store, U("alice"));
    const struct mp_history_item *it =
        entry(h, h->nitems - 1, MP_HIST_FILTERED, MP_ACTOR_USER, MP_ITEM_SUMMARY);
    ck_assert_uint_eq(it->count, 1);
    size_t n = h->nitems;
    mp_history_free(h);
    /* nothing of the new displaced value in it: unchanged, no entry */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Rome", MP_TRUST_CORRECTED, 300), MP_OK);
    summary_is(store, "The user likes tea.");
    h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, n + 2); /* SUPERSEDED, CORRECTED */
    mp_history_free(h);
    /* an agent's value filters too; a summary left empty goes */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "drink", "tea", MP_TRUST_STATED, 300), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "drink", "coffee", MP_TRUST_AGENT, 400), MP_OK);
    summary_is(store, NULL);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_truth_fold_after_a_correction_drops_the_old_value)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Paris", "ok", 100, 101), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Paris", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Berlin", MP_TRUST_CORRECTED, 200),
                     MP_OK);
    /* the fold of the turn said before the correction, written after it */
    ck_assert_int_eq(
        fx_summarize(store, U("alice"), "The user lives in Paris. The user likes tea.", 2, 300),
        MP_OK);
    summary_is(store, "The user likes tea.");
    struct mp_history *h = fx_history(store, U("alice"));
    entry(h, h->nitems - 2, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY);
    ck_assert_uint_eq(
        entry(h, h->nitems - 1, MP_HIST_FILTERED, MP_ACTOR_USER, MP_ITEM_SUMMARY)->count, 1);
    mp_history_free(h);
    /* a fold of turns said after the correction keeps what they say */
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "I visited Paris", "nice", 400, 401), MP_OK);
    ck_assert_int_eq(
        fx_summarize(store, U("alice"), "The user likes tea. The user visited Paris.", 4, 500),
        MP_OK);
    summary_is(store, "The user likes tea. The user visited Paris.");
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_truth_fold_does_not_carry_a_statement_kept_out)
{
    struct mp_store *store = fx_open_backend(_i);
    /* said before the correction; extracted and folded after it */
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Paris", "ok", 100, 101), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Berlin", MP_TRUST_CORRECTED, 200),
                     MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Paris", MP_TRUST_STATED, 100),
                     MP_NOTFOUND);
    ck_assert_int_eq(
        fx_summarize(store, U("alice"), "The user lives in Paris. The user likes tea.", 2, 300),
        MP_OK);
    summary_is(store, "The user likes tea.");
    /* erasing the key strips the kept value from the history too */
    struct mp_op del = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, 400);
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    for (size_t i = 0; i < h->nitems; i++)
        ck_assert_uint_eq(h->items[i].entity.value_len, 0);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_truth");
    TCase *tc = tcase_create("store_truth");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_truth_newer_statement_supersedes_correction, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_truth_statement_of_the_correction_time_loses_by_class, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_truth_agent_class_below_the_users_words, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_truth_admin_value_is_kept_against_a_newer_statement, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_truth_correction_filters_the_summary, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_truth_fold_after_a_correction_drops_the_old_value, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_truth_fold_does_not_carry_a_statement_kept_out, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
