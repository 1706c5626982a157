/* Tests for the governance half of storage/ops/store.h: the change history,
 * provenance, erasure, retention, the facts cap, the users listing and the
 * store's secret. Cases that run on both backends use the loop index _i:
 * 0 = mem, 1 = lmdb. Encryption at rest, compaction and key rotation are
 * in test_store_lmdb_rewrite.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

/* ---- helpers ---- */

static struct mp_op sweep_op(const char *user, size_t ulen, int64_t now, int64_t max_age,
                             int64_t pii_age, int64_t idem_age)
{
    struct mp_op op = {.kind = MP_OP_SWEEP_USER, .user = user, .user_len = ulen, .now_ms = now};
    op.u.sweep.retention = (struct mp_retention){max_age, pii_age, idem_age};
    return op;
}

static size_t njobs(struct mp_store *store)
{
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    free(jobs);
    return n;
}

/* Asserts entry i: seq, event, actor, item, at_ms; for facts the key,
 * revision and value ("" when the entry keeps none). */
static const struct mp_history_item *entry_is(const struct mp_history *h, size_t i, uint64_t seq,
                                              enum mp_history_event event, enum mp_actor actor,
                                              enum mp_item_kind item, int64_t at)
{
    ck_assert_uint_lt(i, h->nitems);
    const struct mp_history_item *it = &h->items[i];
    ck_assert_uint_eq(it->seq, seq);
    ck_assert_int_eq(it->event, event);
    ck_assert_int_eq(it->actor, actor);
    ck_assert_int_eq(it->item, item);
    ck_assert_int_eq(it->at_ms, at);
    if (item != MP_ITEM_FACT) {
        ck_assert_str_eq(it->entity.key, "");
        ck_assert_str_eq(it->entity.value, "");
    }
    return it;
}

static void fact_is(const struct mp_history_item *it, const char *key, uint32_t revision,
                    const char *value)
{
    ck_assert_str_eq(it->entity.key, key);
    ck_assert_uint_eq(it->entity.revision, revision);
    ck_assert_str_eq(it->entity.value, value);
    ck_assert_uint_eq(it->entity.value_len, strlen(value));
}

/* ---- change history ---- */

START_TEST(test_gov_history_insert_by_extractor_logs_added)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 1000), MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "lang", "C", MP_TRUST_INFERRED, 2000);
    op.u.entity.source_role = MP_ROLE_ASSISTANT;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 2);
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    const struct mp_history_item *it =
        entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 1005);
    fact_is(it, "city", 1, "");
    ck_assert_int_eq(it->entity.trust, MP_TRUST_STATED);
    ck_assert_int_eq(it->entity.observed_at_ms, 1000);
    ck_assert_int_eq(it->entity.recorded_at_ms, 1005);
    ck_assert_double_eq(it->entity.confidence, 0.75);
    ck_assert_str_eq(it->entity.request_id, "req-1000");
    ck_assert_str_eq(it->entity.model, "extractor-1");
    it = entry_is(h, 1, 2, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 2005);
    fact_is(it, "lang", 2, "");
    ck_assert_int_eq(it->entity.trust, MP_TRUST_INFERRED);
    ck_assert_int_eq(it->entity.source_role, MP_ROLE_ASSISTANT);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_correction_logs_corrected_by_user)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada", MP_TRUST_CORRECTED, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 200), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Nice", MP_TRUST_CORRECTED, 150), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4);
    fact_is(entry_is(h, 0, 1, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 105), "name", 1, "");
    fact_is(entry_is(h, 1, 2, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 205), "city", 2, "");
    fact_is(entry_is(h, 2, 3, MP_HIST_SUPERSEDED, MP_ACTOR_USER, MP_ITEM_FACT, 155), "city", 2,
            "Lyon");
    fact_is(entry_is(h, 3, 4, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 155), "city", 4, "");
    ck_assert_int_eq(h->items[3].entity.trust, MP_TRUST_CORRECTED);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_admin_trust_logs_corrected_by_admin)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "plan", "pro", MP_TRUST_ADMIN, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada", MP_TRUST_CORRECTED, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "name", "Ada L.", MP_TRUST_ADMIN, 100), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4);
    fact_is(entry_is(h, 0, 1, MP_HIST_CORRECTED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 105), "plan", 1, "");
    fact_is(entry_is(h, 1, 2, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 105), "name", 2, "");
    fact_is(entry_is(h, 2, 3, MP_HIST_SUPERSEDED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 105), "name", 2,
            "Ada");
    fact_is(entry_is(h, 3, 4, MP_HIST_CORRECTED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 105), "name", 4, "");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_replacement_keeps_old_value_in_superseded)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_op op = fx_upsert_op(U("alice"), "db", "Pinecone", MP_TRUST_STATED, 1000);
    op.u.entity.pii = true;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = fx_upsert_op(U("alice"), "db", "ChromaDB", MP_TRUST_INFERRED, 3000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND); /* weaker: nothing logged */
    op = fx_upsert_op(U("alice"), "db", "ChromaDB", MP_TRUST_STATED, 2000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 3);
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 3);
    fact_is(entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 1005), "db", 1, "");
    const struct mp_history_item *it =
        entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 2005);
    fact_is(it, "db", 1, "Pinecone");
    ck_assert_int_eq(it->entity.observed_at_ms, 1000); /* the displaced value's provenance */
    ck_assert_int_eq(it->entity.recorded_at_ms, 1005);
    ck_assert_str_eq(it->entity.request_id, "req-1000");
    ck_assert(it->entity.pii);
    it = entry_is(h, 2, 3, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 2005);
    fact_is(it, "db", 3, "");
    ck_assert_str_eq(it->entity.request_id, "req-2000");
    ck_assert(!it->entity.pii);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_refresh_logs_nothing)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "lang", "C", MP_TRUST_INFERRED, 1000), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "lang", "C", MP_TRUST_INFERRED, 2000), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "lang", "C", MP_TRUST_STATED, 3000), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1);
    mp_history_free(h);
    /* The next change takes the next seqs: refreshes used none. */
    struct mp_op op = fx_upsert_op(U("alice"), "lang", "Rust", MP_TRUST_STATED, 4000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 3);
    h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 3);
    fact_is(entry_is(h, 1, 2, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 4005), "lang",
            1, "C");
    ck_assert_int_eq(h->items[1].entity.observed_at_ms, 3000); /* as refreshed */
    ck_assert_int_eq(h->items[1].entity.trust, MP_TRUST_STATED);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_set_summary_logs_summarized)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q1", "a1", 100, 101), MP_OK); /* seqs 1, 2 */
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "q2", "a2", 200, 201), MP_OK); /* seqs 3, 4 */
    ck_assert_int_eq(fx_summarize(store, U("alice"), "first", 3, 900), MP_OK);
    struct mp_op trim = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5};
    trim.u.summary.through_seq = 3;
    ck_assert_int_eq(fx_apply1(store, &trim), MP_OK); /* logs nothing */
    ck_assert_int_eq(fx_summarize(store, U("alice"), "second", 4, 950), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    const struct mp_history_item *it =
        entry_is(h, 0, 1, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY, 900);
    ck_assert_str_eq(it->entity.request_id, "req-200"); /* seq 3: the newest folded turn */
    ck_assert_str_eq(it->entity.model, "summarizer-1");
    ck_assert_int_eq(it->entity.observed_at_ms, 200);
    it = entry_is(h, 1, 2, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY, 950);
    ck_assert_str_eq(it->entity.request_id, "req-200");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_capped_per_fact)
{
    struct mp_store *store = fx_open_backend(_i);
    char value[32];
    mp_store_set_history_cap(store, 4);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "other", "kept", MP_TRUST_STATED, 500), MP_OK);
    for (int v = 0; v < 10; v++) { /* each change: SUPERSEDED + ADDED */
        snprintf(value, sizeof(value), "value-%d", v);
        ck_assert_int_eq(fx_upsert(store, U("alice"), "city", value, MP_TRUST_STATED, 1000 + v),
                         MP_OK);
    }
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    /* "other" keeps its entry; "city" only its newest 4 */
    ck_assert_uint_eq(h->nitems, 5);
    fact_is(&h->items[0], "other", 1, "");
    size_t city = 0;
    for (size_t i = 1; i < h->nitems; i++) {
        ck_assert_str_eq(h->items[i].entity.key, "city");
        ck_assert_uint_gt(h->items[i].seq, h->items[i - 1].seq);
        city++;
    }
    ck_assert_uint_eq(city, 4);
    /* the newest: value-8 superseded by value-9 */
    ck_assert_int_eq(h->items[3].event, MP_HIST_SUPERSEDED);
    ck_assert_str_eq(h->items[3].entity.value, "value-8");
    ck_assert_int_eq(h->items[4].event, MP_HIST_ADDED);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_capped_for_summary)
{
    struct mp_store *store = fx_open_backend(_i);
    mp_store_set_history_cap(store, 2);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q1", "a1", 100, 101), MP_OK);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(fx_summarize(store, U("alice"), "sum", 1, 900 + k), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    entry_is(h, 0, 4, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY, 903);
    entry_is(h, 1, 5, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY, 904);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_history_uncapped_by_default)
{
    struct mp_store *store = fx_open_backend(_i);
    for (int v = 0; v < 30; v++) {
        char value[32];
        snprintf(value, sizeof(value), "v%d", v);
        ck_assert_int_eq(fx_upsert(store, U("alice"), "city", value, MP_TRUST_STATED, 1000 + v),
                         MP_OK);
    }
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1 + 2 * 29);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- provenance ---- */

START_TEST(test_gov_messages_keep_provenance)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "I am Ada", 700),
                                  fx_msg(MP_ROLE_ASSISTANT, "Hi Ada", 710)};
    m[0].pii = true;
    m[0].recorded_at_ms = 5; /* the store sets it */
    snprintf(m[0].model, sizeof(m[0].model), "chat-model-1");
    snprintf(m[1].model, sizeof(m[1].model), "chat-model-1");
    snprintf(m[1].request_id, sizeof(m[1].request_id), "req-700");
    struct mp_op op = fx_turn_op(U("alice"), 1, m, 2, 1234);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(um->messages[i].recorded_at_ms, 1234);
        ck_assert_str_eq(um->messages[i].request_id, "req-700");
        ck_assert_str_eq(um->messages[i].model, "chat-model-1");
    }
    ck_assert_int_eq(um->messages[0].at_ms, 700);
    ck_assert_int_eq(um->messages[1].at_ms, 710);
    ck_assert(um->messages[0].pii);
    ck_assert(!um->messages[1].pii);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_summary_takes_provenance_of_newest_folded_message)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q1", "a1", 100, 101), MP_OK); /* seqs 1, 2 */
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "q2", "a2", 200, 201), MP_OK); /* seqs 3, 4 */
    ck_assert_int_eq(fx_turn(store, U("alice"), 3, "q3", "a3", 300, 301), MP_OK); /* seqs 5, 6 */
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 900};
    op.u.summary.text = "Ada asked three things.";
    op.u.summary.text_len = strlen(op.u.summary.text);
    op.u.summary.through_seq = 4;
    op.u.summary.model = "summarizer-2";
    op.u.summary.pii = true;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "Ada asked three things.");
    ck_assert_str_eq(um->summary.model, "summarizer-2");
    ck_assert_str_eq(um->summary.request_id, "req-200");
    ck_assert_int_eq(um->summary.observed_at_ms, 200);
    ck_assert_int_eq(um->summary.updated_at_ms, 900);
    ck_assert_uint_eq(um->summary.covers_through_seq, 4);
    ck_assert(um->summary.pii);
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    op.u.summary.through_seq = 6;
    op.u.summary.model = NULL; /* "" */
    op.u.summary.pii = false;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.model, "");
    ck_assert_str_eq(um->summary.request_id, "req-300");
    ck_assert_int_eq(um->summary.observed_at_ms, 300);
    ck_assert(!um->summary.pii);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- erasure ---- */

START_TEST(test_gov_delete_entity_needs_user_or_admin_actor)
{
    struct mp_store *store = fx_open_backend(_i);
    const enum mp_actor others[3] = {MP_ACTOR_EXTRACTOR, MP_ACTOR_SUMMARIZER, MP_ACTOR_RETENTION};
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    for (size_t i = 0; i < 3; i++) {
        struct mp_op op = fx_delete_op(U("alice"), "pet", others[i], 50);
        ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_EINVAL);
        ck_assert_int_eq(op.result, MP_EINVAL);
    }
    struct mp_op op = fx_delete_op(U("alice"), "pet", MP_ACTOR_USER, 60);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = fx_delete_op(U("alice"), "city", MP_ACTOR_ADMIN, 70);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, 0);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 4);
    fact_is(entry_is(h, 2, 3, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_FACT, 60), "pet", 1, "");
    fact_is(entry_is(h, 3, 4, MP_HIST_DELETED, MP_ACTOR_ADMIN, MP_ITEM_FACT, 70), "city", 2, "");
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_strips_past_values_from_history)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Nice", MP_TRUST_STATED, 20), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "dog", MP_TRUST_STATED, 20), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Oslo", MP_TRUST_CORRECTED, 30), MP_OK);
    struct mp_op op = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, 99);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 9); /* the entries stay */
    fact_is(entry_is(h, 0, 1, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 15), "city", 1, "");
    fact_is(entry_is(h, 2, 3, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 25), "city", 1,
            "");
    fact_is(entry_is(h, 4, 5, MP_HIST_SUPERSEDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 25), "pet", 2,
            "cat"); /* another key keeps its past */
    fact_is(entry_is(h, 6, 7, MP_HIST_SUPERSEDED, MP_ACTOR_USER, MP_ITEM_FACT, 35), "city", 4, "");
    fact_is(entry_is(h, 7, 8, MP_HIST_CORRECTED, MP_ACTOR_USER, MP_ITEM_FACT, 35), "city", 8, "");
    fact_is(entry_is(h, 8, 9, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_FACT, 99), "city", 8, "");
    for (size_t i = 0; i < h->nitems; i++) {
        ck_assert(strstr(h->items[i].entity.value, "Lyon") == NULL);
        ck_assert(strstr(h->items[i].entity.value, "Nice") == NULL);
    }
    mp_history_free(h);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "city"));
    ck_assert_str_eq(fx_entity_value(um, "pet"), "dog");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_drops_summary_and_messages_that_tell_it)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "hello", "hi", 100, 100), MP_OK); /* 1, 2 */
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "I moved south", "noted", 200, 200), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 3, "LYON is lovely", "indeed", 300, 300), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 4, "Paris too", "sure, lYoN", 400, 400), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 200), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "Ada lives in Lyon.", 0, 500), MP_OK);
    struct mp_op op = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, 999);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_ptr_null(um->summary.text);
    ck_assert_ptr_null(fx_entity_value(um, "city"));
    ck_assert_str_eq(fx_entity_value(um, "pet"), "cat");
    /* gone: seqs 3, 4 (the fact's turn req-200), 5 ("LYON"), 8 ("lYoN") */
    ck_assert_uint_eq(um->nmessages, 4);
    const uint64_t seqs[4] = {1, 2, 6, 7};
    const char *texts[4] = {"hello", "hi", "indeed", "Paris too"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(um->messages[i].seq, seqs[i]);
        ck_assert_str_eq(um->messages[i].content, texts[i]);
    }
    ck_assert_uint_eq(um->next_seq, 9);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 6); /* ADDED x2, SUMMARIZED, then the erasure */
    const struct mp_history_item *it =
        entry_is(h, 3, 4, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_FACT, 999);
    fact_is(it, "city", 1, "");
    it = entry_is(h, 4, 5, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_MESSAGES, 999);
    ck_assert_uint_eq(it->count, 4);
    entry_is(h, 5, 6, MP_HIST_DELETED, MP_ACTOR_USER, MP_ITEM_SUMMARY, 999);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* A fact no extraction wrote (an admin's, an import's) is of no turn,
 * even when it carries a message's request id, as an import's facts and
 * messages all do: erasing it takes the messages that hold its value,
 * not the others of that request, from the buffer and the archive. */
START_TEST(test_gov_delete_entity_of_no_turn_keeps_the_request_s_messages)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I baked a pie for Sunday lunch",
                             "Our Sunday pie was great", 200, 200),
                     MP_OK); /* 1, 2: req-200 */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "food", "Sunday pie", MP_TRUST_ADMIN, 200),
                     MP_OK); /* req-200 too, no model */
    struct mp_op op = fx_delete_op(U("alice"), "food", MP_ACTOR_ADMIN, 999);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_str_eq(um->messages[0].content, "I baked a pie for Sunday lunch");
    mp_usermem_free(um);
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = true;
    ck_assert_int_eq(mp_store_archive(store, U("alice"), 0, 10, &m, &n, &more), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(m[0].seq, 1);
    ck_assert(!more);
    mp_store_messages_free(m, n);
    fx_close_backend(store, _i);
}
END_TEST

/* A fact no turn points at, erased: the user's turn (text and reply, seqs
 * 1 and 2) folded into the summary (its text summary), so only the
 * archive holds it; with
 * later, a newer turn (later and its reply, 3 and 4) left in the buffer;
 * then the admin sets key = value and the user deletes it. After a
 * reopen, the archive's messages in *m (*n of them; free with
 * mp_store_messages_free()). */
struct told {
    const char *user; /* U(name) fills both */
    size_t user_len;
    const char *text, *reply, *summary, *later, *later_reply, *key, *value;
};

static void erase_after_told(struct mp_store **store, int backend, const struct told *t,
                             struct mp_mem_message **m, size_t *n)
{
    ck_assert_int_eq(fx_turn(*store, t->user, t->user_len, 1, t->text, t->reply, 100, 100), MP_OK);
    ck_assert_int_eq(fx_summarize(*store, t->user, t->user_len, t->summary, 2, 150), MP_OK);
    if (t->later != NULL)
        ck_assert_int_eq(
            fx_turn(*store, t->user, t->user_len, 2, t->later, t->later_reply, 200, 200), MP_OK);
    ck_assert_int_eq(fx_upsert(*store, t->user, t->user_len, t->key, t->value, MP_TRUST_ADMIN, 300),
                     MP_OK);
    struct mp_op op = fx_delete_op(t->user, t->user_len, t->key, MP_ACTOR_USER, 999);
    ck_assert_int_eq(fx_apply1(*store, &op), MP_OK);
    *store = fx_reopen(*store, backend);
    bool more = true;
    *m = NULL;
    *n = 0;
    ck_assert_int_eq(mp_store_archive(*store, t->user, t->user_len, 0, 10, m, n, &more), MP_OK);
    ck_assert(!more);
}

/* Ayşe's Turkish turn, and with buffered a newer one, then the fact city =
 * Ankara erased: the seqs the archive keeps, into seqs[0..cap), how many. */
static size_t erase_ankara(struct mp_store **store, int backend, bool buffered, uint64_t *seqs,
                           size_t cap)
{
    const struct told t = {U("ayse"),
                           "Ankara'da yaşıyorum",
                           "Çok güzel bir şehir",
                           "Ayşe",
                           buffered ? "Bugün hava çok güzel ve ben evdeyim" : NULL,
                           "Ne güzel bir gün",
                           "city",
                           "Ankara"};
    struct mp_mem_message *m;
    size_t n;
    erase_after_told(store, backend, &t, &m, &n);
    ck_assert_uint_le(n, cap);
    for (size_t i = 0; i < n; i++)
        seqs[i] = m[i].seq;
    mp_store_messages_free(m, n);
    return n;
}

/* A message is indexed in its own language, the value alone in its own:
 * "Ankara'da" read as Turkish is the term "ankar", the value "Ankara" read
 * as English "ankara". Erasing the fact still takes the archived message
 * that holds it after it left the buffer, when the user writes Turkish. */
START_TEST(test_gov_delete_entity_finds_archived_messages_of_another_language)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t seqs[8];
    ck_assert_uint_eq(erase_ankara(&store, _i, true, seqs, 8), 3);
    ck_assert_uint_eq(seqs[0], 2);
    ck_assert_uint_eq(seqs[1], 3);
    ck_assert_uint_eq(seqs[2], 4);
    fx_close_backend(store, _i);
}
END_TEST

/* The same with nothing buffered: the user record's count of the
 * archive's languages tells Turkish. */
START_TEST(test_gov_delete_entity_finds_archived_messages_by_the_archive_s_languages)
{
    struct mp_store *store = fx_open_backend(_i);
    uint64_t seqs[8];
    ck_assert_uint_eq(erase_ankara(&store, _i, false, seqs, 8), 1);
    ck_assert_uint_eq(seqs[0], 2);
    fx_close_backend(store, _i);
}
END_TEST

/* A fact told in one case or width and erased in another: the user wrote
 * text, the fact holds value; returns how many archived messages are left
 * (the reply), none of them text. */
static size_t erase_told(struct mp_store **store, int backend, const char *text, const char *value)
{
    const struct told t = {U("olga"), text, "Noted", "Olga.", NULL, NULL, "code", value};
    struct mp_mem_message *m;
    size_t n;
    erase_after_told(store, backend, &t, &m, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_ne(m[i].content, text);
    mp_store_messages_free(m, n);
    return n;
}

/* The erased value is found in the message whatever its case in Cyrillic
 * (the byte compare matched only ASCII letters' case). */
START_TEST(test_gov_delete_entity_matches_the_value_in_any_case)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_uint_eq(erase_told(&store, _i, "Я живу в городе МОСКВА давно", "Москва"), 1);
    fx_close_backend(store, _i);
}
END_TEST

/* ... and whatever its width: full-width letters and digits are the ASCII
 * ones, as recall reads them. */
START_TEST(test_gov_delete_entity_matches_the_value_in_full_width)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_uint_eq(erase_told(&store, _i, "my locker code is ＡＢＣ１２３ now", "abc123"), 1);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_leaves_no_summary_provenance)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "hello", "hi", 100, 100), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "Ada greets.", 2, 150), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    struct mp_op op = fx_delete_op(U("alice"), "pet", MP_ACTOR_USER, 200);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    /* A new summary folding no buffered message has no source turn. */
    ck_assert_int_eq(fx_summarize(store, U("alice"), "Ada.", 2, 300), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "Ada.");
    ck_assert_str_eq(um->summary.request_id, "");
    ck_assert_int_eq(um->summary.observed_at_ms, 0);
    ck_assert_int_eq(um->summary.updated_at_ms, 300);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_delete_entity_absent_key_is_notfound)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "hello", "hi", 100, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "sum", 0, 150), MP_OK);
    struct mp_op op = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, 200);
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    op = fx_delete_op(U("ghost"), "city", MP_ACTOR_ADMIN, 200);
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND);
    ck_assert(fx_absent(store, U("ghost"))); /* not created by the attempt */
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->summary.text, "sum"); /* nothing erased */
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2); /* nothing logged */
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_if_match_on_another_revision_fails_the_apply)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 10), MP_OK);
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, "q: nice?", 20)};
    struct mp_op ops[2] = {fx_turn_op(U("alice"), 1, m, 1, 20),
                           fx_upsert_op(U("alice"), "city", "Nice", MP_TRUST_ADMIN, 20)};
    ops[1].if_match = true;
    ops[1].if_revision = 7;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_ECONFLICT);
    ops[1].if_revision = 0; /* "no current value" is a revision too */
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_ECONFLICT);
    struct mp_op del = fx_delete_op(U("alice"), "city", MP_ACTOR_ADMIN, 30);
    del.if_match = true;
    del.if_revision = 2;
    ck_assert_int_eq(mp_store_apply(store, &del, 1), MP_ECONFLICT);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 0); /* the turn went with the apply */
    ck_assert_str_eq(fx_entity_value(um, "city"), "Lyon");
    mp_usermem_free(um);
    ops[1].if_revision = 1;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert_uint_eq(ops[1].u.entity.revision, 3);
    struct mp_op pet = fx_upsert_op(U("alice"), "pet", "cat", MP_TRUST_ADMIN, 20);
    pet.if_match = true;
    pet.if_revision = 0;
    ck_assert_int_eq(fx_apply1(store, &pet), MP_OK);
    del.if_revision = 3;
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    /* ADDED, SUPERSEDED, CORRECTED, CORRECTED, DELETED, and DELETED for the
     * message that holds the value (an admin's value is of no turn, though
     * the fixture gives it the turn's request id, req-20) */
    ck_assert_uint_eq(h->nitems, 6);
    ck_assert_int_eq(h->items[5].item, MP_ITEM_MESSAGES);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- DELETE_USER ---- */

START_TEST(test_gov_delete_user_forgets_history_idem_keys_and_jobs)
{
    struct mp_store *store = fx_open_backend(_i);
    for (int u = 0; u < 2; u++) {
        const char *user = u == 0 ? "alice" : "bob";
        ck_assert_int_eq(fx_turn(store, user, strlen(user), 5, "q", "a", 10, 10), MP_OK);
        ck_assert_int_eq(fx_upsert(store, user, strlen(user), "pet", "cat", MP_TRUST_STATED, 10),
                         MP_OK);
        ck_assert_int_eq(fx_summarize(store, user, strlen(user), "sum", 0, 20), MP_OK);
        fx_add_job(store, fx_job_for(user, strlen(user), MP_JOB_SUMMARIZE, 2));
    }
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert(fx_absent(store, U("alice")));
    ck_assert_uint_eq(njobs(store), 1);
    struct mp_user_info list[4];
    ck_assert_uint_eq(fx_list_all(store, NULL, 10, list, 4), 1);
    ck_assert(fx_info_is(&list[0], U("bob")));
    /* The same turn (same idem key) is recorded again, as new. */
    ck_assert_int_eq(fx_turn(store, U("alice"), 5, "q", "a", 30, 30), MP_OK);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 0);
    mp_history_free(h);
    h = fx_history(store, U("bob"));
    ck_assert_uint_eq(h->nitems, 2);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- retention ---- */

#define NOW  1000000
#define KEEP 500000 /* max_age_ms in most sweeps: older than NOW - KEEP expires */

START_TEST(test_gov_sweep_purges_expired_items_and_logs_expired)
{
    struct mp_store *store = fx_open_backend(_i);
    /* Observed and recorded long ago (the old fact recorded at its own time,
     * as an import with retention=item does, by a recent op): the items
     * expire, the history entries of the recent ops do not. */
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "old q", "old a", 100, 100), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "new q", "new a", 900000, 990000), MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "old", "x", MP_TRUST_STATED, 100);
    op.now_ms = 990000;
    op.recorded_at_ms = 100;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = fx_upsert_op(U("alice"), "new", "y", MP_TRUST_STATED, 900000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "sum", 1, 990000), MP_OK); /* folds seq 1 */
    op = sweep_op(U("alice"), NOW, KEEP, 0, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    /* seq 1 and 2: seq 1 left the buffer for the summary, not the archive */
    ck_assert_uint_eq(op.u.sweep.counts.messages, 2);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 1);
    ck_assert_uint_eq(op.u.sweep.counts.summaries, 1); /* observed at 100 */
    ck_assert_uint_eq(op.u.sweep.counts.history, 0);
    ck_assert_uint_eq(op.u.sweep.counts.idem, 0);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_str_eq(um->messages[0].content, "new q");
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->entities[0].key, "new");
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 6); /* ADDED x2, SUMMARIZED, EXPIRED x3 */
    const struct mp_history_item *it =
        entry_is(h, 3, 4, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_MESSAGES, NOW);
    ck_assert_uint_eq(it->count, 2);
    fact_is(entry_is(h, 4, 5, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_FACT, NOW), "old", 1,
            "");
    entry_is(h, 5, 6, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_SUMMARY, NOW);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* The memory epoch (usermem.h): set with the user's record, kept by what
 * the memory jobs and traffic write, moved by a person's value, an
 * erasure and a purge, never given again to a user made anew. */
START_TEST(test_gov_memory_epoch_moves_with_a_persons_edit_or_a_purge)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "old q", "old a", 100, 100), MP_OK);
    struct mp_usermem *um = fx_get(store, U("alice"));
    uint64_t seen[6] = {um->memory_epoch};
    mp_usermem_free(um);
    ck_assert_uint_ne(seen[0], 0);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "new q", "new a", 900000, 990000), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 900000), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "dog", MP_TRUST_STATED, 900001), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "sum", 1, 990000), MP_OK);
    struct mp_op op = sweep_op(U("alice"), NOW, 0, 0, 0); /* no limits: nothing purged */
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->memory_epoch, seen[0]); /* jobs, traffic, an idle sweep */
    mp_usermem_free(um);
    struct mp_op edits[4] = {fx_upsert_op(U("alice"), "pet", "owl", MP_TRUST_CORRECTED, 900002),
                             fx_delete_op(U("alice"), "pet", MP_ACTOR_USER, 990001),
                             sweep_op(U("alice"), NOW, KEEP, 0, 0),
                             {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5}};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(fx_apply1(store, &edits[i]), MP_OK);
        if (i == 3) /* a user made anew after the erasure of everything */
            ck_assert_int_eq(fx_turn(store, U("alice"), 3, "q", "a", NOW, NOW), MP_OK);
        store = fx_reopen(store, _i);
        um = fx_get(store, U("alice"));
        seen[i + 1] = um->memory_epoch;
        mp_usermem_free(um);
        for (size_t k = 0; k <= i; k++)
            ck_assert_uint_ne(seen[i + 1], seen[k]);
    }
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_pii_items_expire_by_the_pii_limit)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "my phone is 555", 800000),
                                  fx_msg(MP_ROLE_ASSISTANT, "ok", 800000)};
    m[0].pii = true;
    struct mp_op op = fx_turn_op(U("alice"), 1, m, 2, 800000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = fx_upsert_op(U("alice"), "phone", "555", MP_TRUST_STATED, 800000);
    op.u.entity.pii = true;
    op.now_ms = 990000;
    op.recorded_at_ms = 800000;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = fx_upsert_op(U("alice"), "lang", "C", MP_TRUST_STATED, 800000);
    op.now_ms = 990000;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    /* max_age keeps all of it (800000 > NOW - KEEP); the pii limit does not. */
    op = sweep_op(U("alice"), NOW, KEEP, 100000, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.messages, 1);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 1);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_str_eq(um->messages[0].content, "ok");
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->entities[0].key, "lang");
    mp_usermem_free(um);
    /* A pii limit longer than max_age does not extend it: at NOW + 400000
     * the pii fact is past max_age (900000 > 800000), not past its own. */
    op = fx_upsert_op(U("bob"), "phone", "555", MP_TRUST_STATED, 800000);
    op.u.entity.pii = true;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = sweep_op(U("bob"), NOW + 400000, KEEP, 900000, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 1);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_pii_summary_expires_by_the_pii_limit)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q", "a", 800000, 800000), MP_OK);
    struct mp_op op = {.kind = MP_OP_SET_SUMMARY, .user = "alice", .user_len = 5, .now_ms = 990000};
    op.u.summary.text = "Ada's phone is 555";
    op.u.summary.text_len = strlen(op.u.summary.text);
    op.u.summary.through_seq = 2;
    op.u.summary.pii = true;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = sweep_op(U("alice"), NOW, KEEP, 300000, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.summaries, 0); /* observed 800000: young enough */
    op = sweep_op(U("alice"), NOW, KEEP, 100000, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.summaries, 1);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_purges_old_history_entries)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Nice", MP_TRUST_STATED, 200), MP_OK);
    struct mp_op op = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, 300);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 900000), MP_OK);
    op = sweep_op(U("alice"), NOW, KEEP, 0, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.history, 4); /* ADDED, SUPERSEDED, ADDED, DELETED */
    ck_assert_uint_eq(op.u.sweep.counts.facts, 0);
    store = fx_reopen(store, _i);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1);
    fact_is(entry_is(h, 0, 5, MP_HIST_ADDED, MP_ACTOR_EXTRACTOR, MP_ITEM_FACT, 900005), "pet", 5,
            "");
    mp_history_free(h);
    /* Seqs are not reused after a purge. */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Oslo", MP_TRUST_STATED, 900000), MP_OK);
    h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    ck_assert_uint_eq(h->items[1].seq, 6);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_purges_old_idem_keys)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q1", "a1", 100, 100), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "q2", "a2", 999500, 999500), MP_OK);
    struct mp_op op = sweep_op(U("alice"), NOW, 0, 0, 1000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.idem, 1);
    ck_assert_uint_eq(op.u.sweep.counts.messages, 0); /* no item limit */
    ck_assert_uint_eq(op.u.sweep.counts.history, 0);
    store = fx_reopen(store, _i);
    /* A retry of the old turn is recorded again; of the young one, not. */
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q1", "a1", 100, NOW), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "q2", "a2", 999500, NOW), MP_NOTFOUND);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 6);
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_zero_limits_expire_nothing)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, "old", 1)};
    m[0].pii = true;
    struct mp_op op = fx_turn_op(U("alice"), 1, m, 1, 1);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 1), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "sum", 0, 2), MP_OK);
    op = sweep_op(U("alice"), NOW, 0, 0, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.messages + op.u.sweep.counts.facts +
                          op.u.sweep.counts.summaries + op.u.sweep.counts.history +
                          op.u.sweep.counts.idem,
                      0);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 1);
    ck_assert_uint_eq(um->nentities, 1);
    ck_assert_str_eq(um->summary.text, "sum");
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2); /* no EXPIRED entry */
    mp_history_free(h);
    op = fx_turn_op(U("alice"), 1, m, 1, NOW); /* its key kept: not recorded twice */
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_user_left_with_nothing_disappears)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q", "a", 100, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("bob"), 1, "q", "a", NOW, NOW), MP_OK);
    struct mp_op op = sweep_op(U("alice"), NOW, 1000, 0, 1000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.history, 1);
    ck_assert_uint_eq(op.u.sweep.counts.idem, 1);
    /* The EXPIRED entries just logged keep the user for now. */
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 2);
    mp_history_free(h);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages + um->nentities, 0);
    mp_usermem_free(um);
    op = sweep_op(U("alice"), NOW + 2000, 1000, 0, 1000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.sweep.counts.history, 2);
    store = fx_reopen(store, _i);
    ck_assert(fx_absent(store, U("alice")));
    struct mp_user_info list[4];
    ck_assert_uint_eq(fx_list_all(store, NULL, 10, list, 4), 1);
    ck_assert(fx_info_is(&list[0], U("bob")));
    op = sweep_op(U("alice"), NOW + 3000, 1000, 0, 1000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_sweep_unknown_user_is_notfound)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_op op = sweep_op(U("ghost"), NOW, 1, 1, 1);
    op.u.sweep.counts.facts = 77;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    ck_assert_uint_eq(op.u.sweep.counts.facts, 77); /* not written */
    ck_assert(fx_absent(store, U("ghost")));
    op = sweep_op(U("ghost"), NOW, -1, 0, 0);
    ck_assert_int_eq(fx_apply1(store, &op), MP_EINVAL);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- facts cap ---- */

#define FACTS_CAP 256 /* [memory] max_facts_per_user of the test */

START_TEST(test_gov_facts_cap_refuses_a_new_key_past_the_max)
{
    struct mp_store *store = fx_open_backend(_i);
    mp_store_set_max_facts(store, FACTS_CAP);
    static struct mp_op ops[FACTS_CAP];
    static char keys[FACTS_CAP][8];
    for (size_t i = 0; i < FACTS_CAP; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%03zu", i);
        ops[i] = fx_upsert_op(U("alice"), keys[i], "v", MP_TRUST_STATED, 10);
    }
    ck_assert_int_eq(mp_store_apply(store, ops, FACTS_CAP), MP_OK);
    ck_assert_int_eq(ops[FACTS_CAP - 1].result, MP_OK);
    struct mp_op op = fx_upsert_op(U("alice"), "extra", "v", MP_TRUST_ADMIN, 20);
    op.u.entity.revision = 4242;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_ETOOBIG);
    ck_assert_uint_eq(op.u.entity.revision, 4242);
    /* An existing key still takes a new value. */
    ck_assert_int_eq(fx_upsert(store, U("alice"), "k000", "w", MP_TRUST_STATED, 30), MP_OK);
    store = fx_reopen(store, _i);
    mp_store_set_max_facts(store, FACTS_CAP);
    op = fx_upsert_op(U("alice"), "extra", "v", MP_TRUST_ADMIN, 40);
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    ck_assert_int_eq(op.result, MP_ETOOBIG); /* the count survives a reopen */
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nentities, FACTS_CAP);
    ck_assert_ptr_null(fx_entity_value(um, "extra"));
    ck_assert_str_eq(fx_entity_value(um, "k000"), "w");
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, FACTS_CAP + 2); /* nothing for "extra" */
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- listing ---- */

START_TEST(test_gov_users_lists_each_tenant_apart)
{
    struct mp_store *store = fx_open_backend(_i);
    char k[5][64];
    size_t kl[5];
    kl[0] = strlen(strcpy(k[0], "alice"));
    kl[1] = strlen(strcpy(k[1], "bob"));
    kl[2] = fx_tenant_key(k[2], 0xA1, "alice");
    kl[3] = fx_tenant_key(k[3], 0xA1, "carol");
    kl[4] = fx_tenant_key(k[4], 0xB2, "alice");
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(fx_turn(store, k[i], kl[i], 1, "q", "a", 1, 1), MP_OK);
    unsigned char t1[MP_TENANT_LEN], t2[MP_TENANT_LEN], t3[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    memset(t2, 0xB2, sizeof(t2));
    memset(t3, 0xC3, sizeof(t3));
    struct mp_user_info list[8];
    ck_assert_uint_eq(fx_list_all(store, NULL, 10, list, 8), 2);
    ck_assert(fx_info_is(&list[0], k[0], kl[0]) && fx_info_is(&list[1], k[1], kl[1]));
    ck_assert_uint_eq(fx_list_all(store, t1, 10, list, 8), 2);
    ck_assert(fx_info_is(&list[0], k[2], kl[2]) && fx_info_is(&list[1], k[3], kl[3]));
    ck_assert_uint_eq(fx_list_all(store, t2, 10, list, 8), 1);
    ck_assert(fx_info_is(&list[0], k[4], kl[4]));
    ck_assert_uint_eq(fx_list_all(store, t3, 10, list, 8), 0);
    ck_assert_uint_eq(fx_list_all(store, mp_store_all_tenants, 10, list, 8), 5);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_users_pages_cover_every_user_once_in_order)
{
    struct mp_store *store = fx_open_backend(_i);
    const char *ids[5] = {"u1", "u2", "u3", "u4", "u5"};
    char other[64];
    size_t olen = fx_tenant_key(other, 0xA1, "u0");
    for (size_t i = 5; i-- > 0;)
        ck_assert_int_eq(fx_turn(store, ids[i], 2, 1, "q", "a", 1, 1), MP_OK);
    ck_assert_int_eq(fx_turn(store, other, olen, 1, "q", "a", 1, 1), MP_OK);
    const size_t limits[4] = {1, 2, 5, 6};
    for (size_t l = 0; l < 4; l++) {
        struct mp_user_info list[8];
        ck_assert_uint_eq(fx_list_all(store, NULL, limits[l], list, 8), 5);
        for (size_t i = 0; i < 5; i++)
            ck_assert(fx_info_is(&list[i], ids[i], 2));
    }
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_users_cursor_of_another_tenant_is_einval)
{
    struct mp_store *store = fx_open_backend(_i);
    char k[4][64];
    size_t kl[4];
    kl[0] = fx_tenant_key(k[0], 0xA1, "alice");
    kl[1] = fx_tenant_key(k[1], 0xA1, "bob");
    kl[2] = strlen(strcpy(k[2], "carol"));
    kl[3] = strlen(strcpy(k[3], "dave"));
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(fx_turn(store, k[i], kl[i], 1, "q", "a", 1, 1), MP_OK);
    unsigned char t1[MP_TENANT_LEN], t2[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    memset(t2, 0xB2, sizeof(t2));
    unsigned char c1[MP_STORE_CURSOR_MAX], c0[MP_STORE_CURSOR_MAX], next[MP_STORE_CURSOR_MAX];
    size_t c1_len = 0, c0_len = 0, n = 0, next_len = 0;
    struct mp_user_info *page = NULL;
    ck_assert_int_eq(mp_store_users(store, t1, NULL, 0, 1, &page, &n, c1, &c1_len), MP_OK);
    free(page);
    ck_assert_uint_gt(c1_len, 0);
    ck_assert_int_eq(mp_store_users(store, NULL, NULL, 0, 1, &page, &n, c0, &c0_len), MP_OK);
    free(page);
    ck_assert_uint_gt(c0_len, 0);
    page = (struct mp_user_info *)&page;
    ck_assert_int_eq(mp_store_users(store, t2, c1, c1_len, 1, &page, &n, next, &next_len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_store_users(store, NULL, c1, c1_len, 1, &page, &n, next, &next_len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_store_users(store, t1, c0, c0_len, 1, &page, &n, next, &next_len),
                     MP_EINVAL);
    ck_assert_int_eq(mp_store_users(store, NULL, c0, c0_len, 0, &page, &n, next, &next_len),
                     MP_EINVAL); /* limit 0 */
    ck_assert_ptr_eq(page, (struct mp_user_info *)&page);
    /* Each cursor goes on within its own tenant. */
    ck_assert_int_eq(mp_store_users(store, t1, c1, c1_len, 5, &page, &n, next, &next_len), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(fx_info_is(&page[0], k[1], kl[1]));
    ck_assert_uint_eq(next_len, 0);
    free(page);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_users_info_counts_facts_messages_and_summary)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q", "a", 40, 50), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "q", "a", 45, 55), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 60), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lyon", MP_TRUST_STATED, 70), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "sum", 1, 777), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("bob"), 1, "q", "a", 1, 60), MP_OK);
    store = fx_reopen(store, _i);
    struct mp_user_info list[4];
    ck_assert_uint_eq(fx_list_all(store, NULL, 10, list, 4), 2);
    ck_assert(fx_info_is(&list[0], U("alice")));
    ck_assert_uint_eq(list[0].nfacts, 2);
    ck_assert_uint_eq(list[0].nmessages, 3);
    ck_assert(list[0].summary);
    ck_assert_int_eq(list[0].updated_at_ms, 777);
    ck_assert(fx_info_is(&list[1], U("bob")));
    ck_assert_uint_eq(list[1].nfacts, 0);
    ck_assert_uint_eq(list[1].nmessages, 2);
    ck_assert(!list[1].summary);
    ck_assert_int_eq(list[1].updated_at_ms, 60);
    /* Trimming the buffer is a change too. */
    struct mp_op trim = {.kind = MP_OP_TRIM_MESSAGES, .user = "alice", .user_len = 5};
    trim.now_ms = 800;
    trim.u.summary.through_seq = 4;
    ck_assert_int_eq(fx_apply1(store, &trim), MP_OK);
    ck_assert_uint_eq(fx_list_all(store, NULL, 10, list, 4), 2);
    ck_assert_uint_eq(list[0].nmessages, 0);
    ck_assert_int_eq(list[0].updated_at_ms, 800);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_user_info_is_the_listing_s_line)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_user_info one, list[2];
    ck_assert_int_eq(mp_store_user_info(store, U("alice"), &one), MP_NOTFOUND);
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "q", "a", 40, 50), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "cat", MP_TRUST_STATED, 60), MP_OK);
    ck_assert_int_eq(mp_store_user_info(store, U("alice"), &one), MP_OK);
    ck_assert_uint_eq(fx_list_all(store, NULL, 10, list, 2), 1);
    ck_assert(fx_info_is(&one, U("alice")));
    ck_assert_uint_eq(one.nfacts, list[0].nfacts);
    ck_assert_uint_eq(one.nfacts, 1);
    ck_assert_uint_eq(one.nmessages, list[0].nmessages);
    ck_assert_uint_eq(one.narchive, list[0].narchive);
    ck_assert_int_eq(one.updated_at_ms, list[0].updated_at_ms);
    ck_assert_int_eq(mp_store_user_info(store, "", 0, &one), MP_EINVAL);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_gov_lmdb_sealed_users_pages_cover_every_user_once)
{
    struct mp_store *store = fx_open_sealed();
    char k[7][64];
    size_t kl[7];
    for (size_t i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof(id), "user-%zu", i);
        kl[i] = i < 4 ? strlen(strcpy(k[i], id)) : fx_tenant_key(k[i], 0xA1, id);
        ck_assert_int_eq(fx_turn(store, k[i], kl[i], 1, "q", "a", 1, (int64_t)i + 10), MP_OK);
    }
    ck_assert_int_eq(fx_upsert(store, k[2], kl[2], "pet", "cat", MP_TRUST_STATED, 10), MP_OK);
    unsigned char t1[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    for (size_t limit = 1; limit <= 3; limit++) {
        struct mp_user_info list[8];
        size_t n = fx_list_all(store, NULL, limit, list, 8);
        ck_assert_uint_eq(n, 4);
        for (size_t i = 0; i < 4; i++) { /* each exactly once (hash order) */
            size_t seen = 0;
            for (size_t j = 0; j < n; j++) {
                if (!fx_info_is(&list[j], k[i], kl[i]))
                    continue;
                seen++;
                ck_assert_uint_eq(list[j].nfacts, i == 2 ? 1 : 0);
                ck_assert_uint_eq(list[j].nmessages, 2);
            }
            ck_assert_uint_eq(seen, 1);
        }
        ck_assert_uint_eq(fx_list_all(store, t1, limit, list, 8), 3);
        ck_assert_uint_eq(fx_list_all(store, mp_store_all_tenants, limit, list, 8), 7);
    }
    /* The cursor does not reveal the user id. */
    unsigned char cur[MP_STORE_CURSOR_MAX];
    size_t cur_len = 0, n = 0;
    struct mp_user_info *page = NULL;
    ck_assert_int_eq(mp_store_users(store, NULL, NULL, 0, 1, &page, &n, cur, &cur_len), MP_OK);
    ck_assert_uint_gt(cur_len, 0);
    ck_assert_ptr_null(memmem(cur, cur_len, page[0].user, page[0].user_len));
    free(page);
    fx_close_backend(store, LMDB);
}
END_TEST

/* ---- secret ---- */

START_TEST(test_gov_secret_is_32_random_bytes_per_store)
{
    struct mp_store *s1 = fx_open_backend(_i);
    char dir1[64];
    memcpy(dir1, fx_dir, sizeof(dir1));
    struct mp_store *s2 = fx_open_backend(_i);
    unsigned char a[MP_SEAL_KEY_LEN], again[MP_SEAL_KEY_LEN], b[MP_SEAL_KEY_LEN];
    unsigned char zero[MP_SEAL_KEY_LEN] = {0};
    ck_assert_int_eq(mp_store_secret(s1, a), MP_OK);
    ck_assert_int_eq(mp_store_secret(s1, again), MP_OK);
    ck_assert_int_eq(mp_store_secret(s2, b), MP_OK);
    ck_assert_mem_eq(a, again, MP_SEAL_KEY_LEN);
    ck_assert(memcmp(a, b, MP_SEAL_KEY_LEN) != 0);
    ck_assert(memcmp(a, zero, MP_SEAL_KEY_LEN) != 0);
    fx_close_backend(s2, _i);
    if (_i == LMDB)
        memcpy(fx_dir, dir1, sizeof(dir1));
    fx_close_backend(s1, _i);
}
END_TEST

START_TEST(test_gov_lmdb_secret_survives_reopen)
{
    for (int sealed = 0; sealed < 2; sealed++) {
        struct mp_store *store = sealed ? fx_open_sealed() : fx_open_backend(LMDB);
        unsigned char a[MP_SEAL_KEY_LEN], b[MP_SEAL_KEY_LEN];
        ck_assert_int_eq(mp_store_secret(store, a), MP_OK);
        store = fx_reopen(store, LMDB);
        ck_assert_int_eq(mp_store_secret(store, b), MP_OK);
        ck_assert_mem_eq(a, b, MP_SEAL_KEY_LEN);
        fx_close_backend(store, LMDB);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_governance");
    TCase *tc = tcase_create("governance");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_gov_history_insert_by_extractor_logs_added, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_correction_logs_corrected_by_user, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_admin_trust_logs_corrected_by_admin, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_replacement_keeps_old_value_in_superseded, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_refresh_logs_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_set_summary_logs_summarized, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_capped_per_fact, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_capped_for_summary, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_history_uncapped_by_default, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_messages_keep_provenance, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_summary_takes_provenance_of_newest_folded_message, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_needs_user_or_admin_actor, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_strips_past_values_from_history, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_drops_summary_and_messages_that_tell_it, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_of_no_turn_keeps_the_request_s_messages, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_finds_archived_messages_of_another_language, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc,
                        test_gov_delete_entity_finds_archived_messages_by_the_archive_s_languages,
                        0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_matches_the_value_in_any_case, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_matches_the_value_in_full_width, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_leaves_no_summary_provenance, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_entity_absent_key_is_notfound, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_if_match_on_another_revision_fails_the_apply, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_delete_user_forgets_history_idem_keys_and_jobs, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_purges_expired_items_and_logs_expired, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_memory_epoch_moves_with_a_persons_edit_or_a_purge, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_pii_items_expire_by_the_pii_limit, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_pii_summary_expires_by_the_pii_limit, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_purges_old_history_entries, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_purges_old_idem_keys, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_zero_limits_expire_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_user_left_with_nothing_disappears, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_sweep_unknown_user_is_notfound, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_facts_cap_refuses_a_new_key_past_the_max, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_users_lists_each_tenant_apart, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_users_pages_cover_every_user_once_in_order, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_users_cursor_of_another_tenant_is_einval, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_users_info_counts_facts_messages_and_summary, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_gov_user_info_is_the_listing_s_line, 0, FX_BACKENDS);
    tcase_add_test(tc, test_gov_lmdb_sealed_users_pages_cover_every_user_once);
    tcase_add_loop_test(tc, test_gov_secret_is_32_random_bytes_per_store, 0, FX_BACKENDS);
    tcase_add_test(tc, test_gov_lmdb_secret_survives_reopen);
    suite_add_tcase(s, tc);
    return s;
}
