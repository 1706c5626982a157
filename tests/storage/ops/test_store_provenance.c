/* Erasure follows provenance (storage/ops/store_erase.c, store_told.c;
 * store.h: DELETE_ENTITY, DELETE_MESSAGE; issue 65): deleting a fact
 * erases every turn that told any value it had (superseded, corrected
 * over, kept out, beyond the history cap) from the buffer, the archive,
 * the index and the summary, and the extraction jobs that would send them;
 * deleting a message retracts the facts that rested on it alone, and
 * those alone; a statement kept out by a stronger value leaves a KEPT
 * entry saying why. Every case runs on every backend (_i: FX_BACKENDS). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "store_fixture.h"
#include "view_probe.h"

Suite *mp_test_suite(void);

#define T0 1000000 /* the first turn's time, ms */

/* ---- writing ---- */

/* A turn of alice's at `at` (idem byte idem): its first seq (the user's
 * message; the reply is the next). */
static uint64_t turn(struct mp_store *s, uint8_t idem, const char *said, const char *reply,
                     int64_t at)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, reply, at)};
    struct mp_op op = fx_turn_op(U("alice"), idem, m, 2, at + 1);
    ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
    ck_assert_uint_eq(op.u.turn.last_seq, op.u.turn.first_seq + 1);
    return op.u.turn.first_seq;
}

/* The extraction of key = value from the turn of first (and its reply),
 * at `at`, as the memory worker applies it (the user's words: stated). */
static struct mp_op told_op(const char *key, const char *value, int64_t at, uint64_t first)
{
    struct mp_op op = fx_upsert_op(U("alice"), key, value, MP_TRUST_STATED, at);
    op.u.entity.source_first_seq = first;
    op.u.entity.source_last_seq = first + 1;
    return op;
}

static int told(struct mp_store *s, const char *key, const char *value, int64_t at, uint64_t first)
{
    struct mp_op op = told_op(key, value, at, first);
    return fx_apply1(s, &op);
}

static int erase_key(struct mp_store *s, const char *key, enum mp_actor actor, int64_t now)
{
    struct mp_op op = fx_delete_op(U("alice"), key, actor, now);
    return fx_apply1(s, &op);
}

static int erase_message(struct mp_store *s, uint64_t seq, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_DELETE_MESSAGE,
                       .user = "alice",
                       .user_len = 5,
                       .now_ms = now,
                       .actor = MP_ACTOR_USER};
    op.u.seq = seq;
    return fx_apply1(s, &op);
}

static void summarize(struct mp_store *s, const char *text, uint64_t through, int64_t now)
{
    ck_assert_int_eq(fx_summarize(s, U("alice"), text, through, now), MP_OK);
}

/* ---- reading ---- */

/* Whether alice's buffer or archive keeps message seq. */
static bool kept(struct mp_store *s, uint64_t seq)
{
    return fx_keeps(s, U("alice"), seq);
}

/* Whether word (any case) is anywhere in what alice's memory answers: the
 * summary, the buffer, the archive, the facts. */
static bool anywhere(struct mp_store *s, const char *word)
{
    struct mp_usermem *um = fx_get(s, U("alice"));
    bool found = um->summary.text != NULL && strcasestr(um->summary.text, word) != NULL;
    for (size_t i = 0; i < um->nmessages; i++)
        found = found || strcasestr(um->messages[i].content, word) != NULL;
    for (size_t i = 0; i < um->nentities; i++)
        found = found || strcasestr(um->entities[i].value, word) != NULL;
    mp_usermem_free(um);
    uint64_t seqs[64];
    size_t n = vp_archive_seqs(s, U("alice"), 100, seqs, 64);
    struct mp_mem_message *page = NULL;
    size_t np = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(s, U("alice"), 0, 100, &page, &np, &more), MP_OK);
    ck_assert_uint_eq(np, n);
    for (size_t i = 0; i < np; i++)
        found = found || strcasestr(page[i].content, word) != NULL;
    mp_store_messages_free(page, np);
    return found;
}

/* The archive index's documents of word (0: the search finds nothing). */
static uint32_t archive_df(struct mp_store *s, const char *word)
{
    return vp_df(s, U("alice"), false, word);
}

static const struct mp_history_item *last_of(const struct mp_history *h,
                                             enum mp_history_event event, enum mp_item_kind item)
{
    for (size_t i = h->nitems; i-- > 0;)
        if (h->items[i].event == event && h->items[i].item == item)
            return &h->items[i];
    ck_abort_msg("no such history entry");
    return NULL;
}

static void no_value_of(const struct mp_history *h, const char *key)
{
    for (size_t i = 0; i < h->nitems; i++)
        if (h->items[i].item == MP_ITEM_FACT && strcmp(h->items[i].entity.key, key) == 0)
            ck_assert_uint_eq(h->items[i].entity.value_len, 0);
}

static size_t njobs(struct mp_store *s)
{
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(s, &jobs, &n), MP_OK);
    free(jobs);
    return n;
}

/* Paris (turn 1), tea (turn 2), Porto over Paris (turn 3): their first
 * seqs into f[0..3). */
static void paris_then_porto(struct mp_store *s, uint64_t f[3])
{
    f[0] = turn(s, 1, "My favorite city is Paris.", "Lovely.", T0);
    ck_assert_int_eq(told(s, "favorite_city", "Paris", T0, f[0]), MP_OK);
    f[1] = turn(s, 2, "I drink green tea.", "Nice.", T0 + 100);
    ck_assert_int_eq(told(s, "drink", "green tea", T0 + 100, f[1]), MP_OK);
    f[2] = turn(s, 3, "My favorite city is Porto now.", "Noted.", T0 + 200);
    ck_assert_int_eq(told(s, "favorite_city", "Porto", T0 + 200, f[2]), MP_OK);
}

/* ---- deleting a fact ---- */

/* The Paris/Porto report of issue 65: the turn that told the superseded
 * value goes with the current value's, from the buffer and the archive;
 * the turn of another fact stays. */
START_TEST(test_provenance_superseded_value_turn_is_erased)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t f[3];
    paris_then_porto(s, f);
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 300), MP_OK);
    s = fx_reopen(s, _i);
    for (int t = 0; t < 3; t++) {
        ck_assert_int_eq(kept(s, f[t]), t == 1);
        ck_assert_int_eq(kept(s, f[t] + 1), t == 1);
    }
    ck_assert(!anywhere(s, "Paris"));
    ck_assert(!anywhere(s, "Porto"));
    ck_assert(anywhere(s, "green tea"));
    struct mp_history *h = fx_history(s, U("alice"));
    const struct mp_history_item *m = last_of(h, MP_HIST_DELETED, MP_ITEM_MESSAGES);
    ck_assert_uint_eq(m->count, 4);
    ck_assert_int_eq(m->reason, MP_REASON_FACT_ERASED);
    ck_assert_int_eq(m->actor, MP_ACTOR_USER);
    ck_assert_int_eq(last_of(h, MP_HIST_DELETED, MP_ITEM_FACT)->reason, MP_REASON_NONE);
    no_value_of(h, "favorite_city"); /* the SUPERSEDED entry lost Paris */
    mp_history_free(h);
    /* erased already: nothing of the key is kept */
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 400), MP_NOTFOUND);
    fx_close_backend(s, _i);
}
END_TEST

/* The summary may restate any value the key had: it goes at once, with a
 * DELETED entry saying why; no later fold is needed to lose them. */
START_TEST(test_provenance_summary_keeps_nothing_of_the_values)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t f[3];
    paris_then_porto(s, f);
    summarize(s, "Summary: loved Paris / drinks green tea / now Porto", 0, T0 + 250);
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_ADMIN, T0 + 300), MP_OK);
    struct mp_usermem *um = fx_get(s, U("alice"));
    ck_assert_ptr_null(um->summary.text);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(s, U("alice"));
    const struct mp_history_item *d = last_of(h, MP_HIST_DELETED, MP_ITEM_SUMMARY);
    ck_assert_int_eq(d->reason, MP_REASON_FACT_ERASED);
    ck_assert_int_eq(d->actor, MP_ACTOR_ADMIN);
    mp_history_free(h);
    fx_close_backend(s, _i);
}
END_TEST

/* The index forgets the erased turns' words, their search keys too: the
 * search finds none of them, and still finds what another turn said. */
START_TEST(test_provenance_index_and_search_keys_forget_the_turns)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t f[3];
    paris_then_porto(s, f);
    struct mp_op keys = {.kind = MP_OP_SET_MESSAGE_KEYS, .user = "alice", .user_len = 5};
    keys.now_ms = T0 + 250;
    keys.u.keys.seq = f[0];
    keys.u.keys.text = "travel, france";
    keys.u.keys.text_len = strlen(keys.u.keys.text);
    ck_assert_int_eq(fx_apply1(s, &keys), MP_OK);
    ck_assert_uint_eq(archive_df(s, "france"), 1);
    ck_assert_uint_eq(archive_df(s, "paris"), 1);
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 300), MP_OK);
    s = fx_reopen(s, _i);
    ck_assert_uint_eq(archive_df(s, "france"), 0);
    ck_assert_uint_eq(archive_df(s, "paris"), 0);
    ck_assert_uint_eq(archive_df(s, "porto"), 0);
    ck_assert_uint_eq(archive_df(s, "lovely"), 0); /* the reply went with its turn */
    ck_assert_uint_eq(archive_df(s, "tea"), 1);
    ck_assert_uint_eq(vp_df(s, U("alice"), true, "paris"), 0);
    fx_close_backend(s, _i);
}
END_TEST

/* A value the user corrected away: the turn that told it goes, and so do
 * the messages that hold the corrected value (which no turn told). A
 * correction that confirms the stated value keeps its turn known. */
START_TEST(test_provenance_corrected_value_keeps_the_turns_it_displaced)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t a = turn(s, 1, "I live in Paris.", "Nice.", T0);
    ck_assert_int_eq(told(s, "city", "Paris", T0, a), MP_OK);
    uint64_t b = turn(s, 2, "Lyon has good food.", "It does.", T0 + 100);
    ck_assert_int_eq(fx_upsert(s, U("alice"), "city", "Lyon", MP_TRUST_CORRECTED, T0 + 200), MP_OK);
    uint64_t c = turn(s, 3, "My pet is a small hound.", "Cute.", T0 + 300);
    ck_assert_int_eq(told(s, "pet", "beagle", T0 + 300, c), MP_OK);
    /* a correction that says what the turn told: the same value, its turn known */
    ck_assert_int_eq(fx_upsert(s, U("alice"), "pet", "beagle", MP_TRUST_CORRECTED, T0 + 400),
                     MP_OK);
    struct mp_usermem *um = fx_get(s, U("alice"));
    for (size_t i = 0; i < um->nentities; i++)
        if (strcmp(um->entities[i].key, "pet") == 0) /* the correction's provenance */
            ck_assert_str_eq(um->entities[i].model, "");
    mp_usermem_free(um);
    ck_assert_int_eq(erase_key(s, "city", MP_ACTOR_USER, T0 + 500), MP_OK);
    ck_assert(!kept(s, a) && !kept(s, a + 1)); /* the displaced value's turn */
    ck_assert(!kept(s, b));                    /* holds the corrected value */
    ck_assert(kept(s, b + 1));                 /* "It does.": holds nothing of it */
    ck_assert(!anywhere(s, "Paris") && !anywhere(s, "Lyon"));
    ck_assert_int_eq(erase_key(s, "pet", MP_ACTOR_USER, T0 + 600), MP_OK);
    ck_assert(!kept(s, c) && !kept(s, c + 1));
    fx_close_backend(s, _i);
}
END_TEST

/* A statement kept out by an admin's value told a value of the key too:
 * its turn goes with the key. */
START_TEST(test_provenance_statement_kept_out_turn_is_erased)
{
    struct mp_store *s = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(s, U("alice"), "team", "blue", MP_TRUST_ADMIN, T0), MP_OK);
    uint64_t a = turn(s, 1, "I am on the red team.", "Go red.", T0 + 100);
    struct mp_op op = told_op("team", "red", T0 + 100, a);
    ck_assert_int_eq(fx_apply1(s, &op), MP_NOTFOUND);
    ck_assert_int_eq(op.kept, MP_REASON_ADMIN);
    ck_assert_int_eq(erase_key(s, "team", MP_ACTOR_ADMIN, T0 + 200), MP_OK);
    ck_assert(!kept(s, a) && !kept(s, a + 1));
    struct mp_history *h = fx_history(s, U("alice"));
    ck_assert_int_eq(last_of(h, MP_HIST_KEPT, MP_ITEM_FACT)->reason, MP_REASON_ADMIN);
    no_value_of(h, "team"); /* the kept statement's value stripped */
    mp_history_free(h);
    fx_close_backend(s, _i);
}
END_TEST

/* history_per_fact drops old entries, not what erasure follows: every
 * turn that told a value still goes. */
START_TEST(test_provenance_capped_history_still_reaches_every_turn)
{
    struct mp_store *s = fx_open_backend(_i);
    static const char *const moods[] = {"calm", "sleepy", "cheerful", "curious"};
    uint64_t f[4];
    mp_store_set_history_cap(s, 1);
    for (int i = 0; i < 4; i++) {
        char said[64];
        snprintf(said, sizeof(said), "Today I feel %s.", moods[i]);
        f[i] = turn(s, (uint8_t)(i + 1), said, "Okay.", T0 + 100 * i);
        ck_assert_int_eq(told(s, "mood", moods[i], T0 + 100 * i, f[i]), MP_OK);
    }
    struct mp_history *h = fx_history(s, U("alice"));
    ck_assert_uint_le(h->nitems, 2);
    mp_history_free(h);
    ck_assert_int_eq(erase_key(s, "mood", MP_ACTOR_USER, T0 + 500), MP_OK);
    for (int i = 0; i < 4; i++)
        ck_assert(!kept(s, f[i]) && !kept(s, f[i] + 1));
    ck_assert(!anywhere(s, "calm") && !anywhere(s, "sleepy"));
    mp_store_set_history_cap(s, 0);
    fx_close_backend(s, _i);
}
END_TEST

/* Other facts an erased turn told stay: the user asked to forget one. */
START_TEST(test_provenance_other_facts_of_the_turn_stay)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t a = turn(s, 1, "I live in Paris and I work as a nurse.", "Great.", T0);
    ck_assert_int_eq(told(s, "city", "Paris", T0, a), MP_OK);
    ck_assert_int_eq(told(s, "job", "nurse", T0, a), MP_OK);
    ck_assert_int_eq(erase_key(s, "city", MP_ACTOR_USER, T0 + 100), MP_OK);
    ck_assert(!kept(s, a));
    struct mp_usermem *um = fx_get(s, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "city"));
    ck_assert_str_eq(fx_entity_value(um, "job"), "nurse");
    mp_usermem_free(um);
    fx_close_backend(s, _i);
}
END_TEST

/* A pending extraction of an erased turn goes (nothing of it is left to
 * send): a re-run of a told turn's, one of a turn that holds the current
 * value and was not read yet. One of a turn that keeps messages stays,
 * and what it reads when it runs (the buffer, else the archive, by its
 * seqs) holds none of the erased words; a summary job reads the buffer,
 * which holds none either. */
START_TEST(test_provenance_queued_job_sends_nothing_erased)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t f[3];
    paris_then_porto(s, f);
    uint64_t late = turn(s, 4, "Porto again: I love Porto.", "I see.", T0 + 300);
    uint64_t other = turn(s, 5, "I like jazz.", "Cool.", T0 + 400);
    fx_add_job(s, fx_job_for(U("alice"), MP_JOB_EXTRACT, f[0] + 1)); /* a failed one's re-run */
    fx_add_job(s, fx_job_for(U("alice"), MP_JOB_EXTRACT, late + 1)); /* not run yet */
    fx_add_job(s, fx_job_for(U("alice"), MP_JOB_EXTRACT, other + 1));
    fx_add_job(s, fx_job_for(U("alice"), MP_JOB_SUMMARIZE, other + 1));
    ck_assert_uint_eq(njobs(s), 4);
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 500), MP_OK);
    s = fx_reopen(s, _i);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(s, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 2); /* the extractions of the erased turns are gone */
    for (size_t i = 0; i < n; i++) {
        ck_assert(jobs[i].kind == MP_JOB_SUMMARIZE || jobs[i].from_seq == other);
        /* what the job reads when it runs: the buffer through its seq, and
           its turn's archived messages */
        struct mp_usermem *um = NULL;
        ck_assert_int_eq(mp_store_get_head(s, U("alice"), &um), MP_OK);
        for (size_t k = 0; k < um->nmessages; k++) {
            ck_assert_ptr_null(strcasestr(um->messages[k].content, "Paris"));
            ck_assert_ptr_null(strcasestr(um->messages[k].content, "Porto"));
        }
        ck_assert_ptr_null(um->summary.text);
        mp_usermem_free(um);
        struct mp_mem_message *page = NULL;
        size_t np = 0;
        bool more = false;
        ck_assert_int_eq(mp_store_archive(s, U("alice"), jobs[i].from_seq - 1,
                                          (size_t)(jobs[i].through_seq - jobs[i].from_seq + 1),
                                          &page, &np, &more),
                         MP_OK);
        for (size_t k = 0; k < np; k++)
            ck_assert_ptr_null(strcasestr(page[k].content, "Paris"));
        mp_store_messages_free(page, np);
    }
    free(jobs);
    fx_close_backend(s, _i);
}
END_TEST

/* A value whose current value was retracted (its turn erased) leaves the
 * turns of its earlier values: erasing the key still reaches them, once. */
START_TEST(test_provenance_retracted_key_is_erased_later)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t f[3];
    paris_then_porto(s, f);
    ck_assert_int_eq(erase_message(s, f[2], T0 + 300), MP_OK); /* "... Porto now." */
    struct mp_usermem *um = fx_get(s, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "favorite_city"));
    mp_usermem_free(um);
    ck_assert(kept(s, f[0]));
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 400), MP_OK);
    ck_assert(!kept(s, f[0]) && !kept(s, f[0] + 1) && !kept(s, f[2] + 1));
    ck_assert(kept(s, f[1]));
    ck_assert(!anywhere(s, "Paris"));
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 500), MP_NOTFOUND);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- deleting a message ---- */

/* The user's words that alone told a fact: the fact is retracted (DELETED,
 * actor user, reason sources_erased), its value leaves the summary; the
 * facts of other turns stay. */
static void retracts_what_rested_on_it(struct mp_store *s, int which)
{
    uint64_t f[3];
    paris_then_porto(s, f);
    summarize(s, "Likes Porto. Drinks green tea.", 0, T0 + 250);
    ck_assert_int_eq(erase_message(s, f[2], T0 + 300), MP_OK);
    s = fx_reopen(s, which);
    struct mp_usermem *um = fx_get(s, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "favorite_city"));
    ck_assert_str_eq(fx_entity_value(um, "drink"), "green tea");
    ck_assert_ptr_nonnull(um->summary.text); /* it covers no message: kept, filtered */
    ck_assert_ptr_null(strstr(um->summary.text, "Porto"));
    ck_assert_ptr_nonnull(strstr(um->summary.text, "green tea"));
    mp_usermem_free(um);
    struct mp_history *h = fx_history(s, U("alice"));
    const struct mp_history_item *d = last_of(h, MP_HIST_DELETED, MP_ITEM_FACT);
    ck_assert_str_eq(d->entity.key, "favorite_city");
    ck_assert_int_eq(d->actor, MP_ACTOR_USER);
    ck_assert_int_eq(d->reason, MP_REASON_SOURCES_ERASED);
    ck_assert_uint_eq(last_of(h, MP_HIST_FILTERED, MP_ITEM_SUMMARY)->count, 1);
    ck_assert_uint_eq(last_of(h, MP_HIST_DELETED, MP_ITEM_MESSAGES)->count, 1);
    mp_history_free(h);
    fx_close_backend(s, which);
}

START_TEST(test_provenance_message_erasure_retracts_the_fact_resting_on_it)
{
    retracts_what_rested_on_it(fx_open_backend(_i), _i);
}
END_TEST

/* The same in a sealed store, whose told records' keys are tags. */
START_TEST(test_provenance_message_erasure_retracts_in_a_sealed_store)
{
    retracts_what_rested_on_it(fx_open_sealed(), LMDB);
}
END_TEST

/* A fact another kept turn told stays; so does a stated fact whose reply
 * alone was erased, and a value a person gave outright. */
START_TEST(test_provenance_message_erasure_keeps_a_fact_with_another_source)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t a = turn(s, 1, "My dog is Rex.", "Hi Rex.", T0);
    ck_assert_int_eq(told(s, "pet", "Rex", T0, a), MP_OK);
    uint64_t b = turn(s, 2, "Rex is my dog, yes.", "Sure.", T0 + 100);
    ck_assert_int_eq(told(s, "pet", "Rex", T0 + 100, b), MP_OK); /* the same value again */
    uint64_t c = turn(s, 3, "I live in Oslo.", "Cold.", T0 + 200);
    ck_assert_int_eq(told(s, "city", "Oslo", T0 + 200, c), MP_OK);
    ck_assert_int_eq(fx_upsert(s, U("alice"), "city", "Oslo", MP_TRUST_CORRECTED, T0 + 300), MP_OK);
    ck_assert_int_eq(erase_message(s, a, T0 + 400), MP_OK);     /* one source of two */
    ck_assert_int_eq(erase_message(s, b + 1, T0 + 410), MP_OK); /* the reply: not the words */
    ck_assert_int_eq(erase_message(s, c, T0 + 420), MP_OK);     /* a person's word stays */
    struct mp_usermem *um = fx_get(s, U("alice"));
    ck_assert_str_eq(fx_entity_value(um, "pet"), "Rex");
    ck_assert_str_eq(fx_entity_value(um, "city"), "Oslo");
    mp_usermem_free(um);
    struct mp_history *h = fx_history(s, U("alice"));
    for (size_t i = 0; i < h->nitems; i++)
        ck_assert(h->items[i].event != MP_HIST_DELETED || h->items[i].item != MP_ITEM_FACT);
    mp_history_free(h);
    ck_assert_int_eq(erase_message(s, b, T0 + 430), MP_OK); /* the last of its words */
    um = fx_get(s, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "pet"));
    mp_usermem_free(um);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- newest wins, never silently ---- */

/* A statement kept out says why: a newer value (an import's later time),
 * a value given outright after its turn, an admin's. */
START_TEST(test_provenance_statement_kept_out_says_why)
{
    struct mp_store *s = fx_open_backend(_i);
    static const struct {
        const char *key;
        enum mp_trust trust;
        int64_t at;
        enum mp_hist_reason why;
    } cases[] = {{"city", MP_TRUST_STATED, T0 + 86400000, MP_REASON_NEWER},
                 {"food", MP_TRUST_CORRECTED, T0 + 500, MP_REASON_GIVEN},
                 {"team", MP_TRUST_ADMIN, T0 - 500, MP_REASON_ADMIN}};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(
            fx_upsert(s, U("alice"), cases[i].key, "held", cases[i].trust, cases[i].at), MP_OK);
        uint64_t a = turn(s, (uint8_t)(i + 1), "something else", "ok", T0 + (int64_t)i);
        struct mp_op op = told_op(cases[i].key, "said", T0 + (int64_t)i, a);
        ck_assert_int_eq(fx_apply1(s, &op), MP_NOTFOUND);
        ck_assert_int_eq(op.kept, cases[i].why);
        struct mp_history *h = fx_history(s, U("alice"));
        const struct mp_history_item *k = last_of(h, MP_HIST_KEPT, MP_ITEM_FACT);
        ck_assert_str_eq(k->entity.key, cases[i].key);
        ck_assert_str_eq(k->entity.value, "said");
        ck_assert_int_eq(k->reason, cases[i].why);
        mp_history_free(h);
    }
    /* the same value again (older) is no statement kept out */
    uint64_t b = turn(s, 9, "held", "ok", T0 + 10);
    struct mp_op op = told_op("city", "held", T0 + 10, b);
    ck_assert_int_eq(fx_apply1(s, &op), MP_NOTFOUND);
    ck_assert_int_eq(op.kept, MP_REASON_NONE);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- retention ---- */

static int on_record(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                     size_t vn)
{
    (void)key;
    (void)klen;
    (void)v;
    (void)vn;
    (*(size_t *)arg)++;
    return MP_OK;
}

/* The told records the store holds (every user's). */
static size_t told_records(struct mp_store *s)
{
    struct mp_store_txn txn;
    size_t n = 0;
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    ck_assert_int_eq(s->be->scan(&txn, MP_TABLE_TOLD, NULL, 0, 0, on_record, &n), MP_OK);
    s->be->end(&txn, false);
    return n;
}

/* Retention that purges a turn's messages takes its told records with
 * them; a kept turn's stay (and still lead its fact's erasure). */
START_TEST(test_provenance_retention_takes_the_told_records)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t a = turn(s, 1, "My favorite city is Paris.", "Lovely.", 5);
    ck_assert_int_eq(told(s, "favorite_city", "Paris", 5, a), MP_OK);
    uint64_t b = turn(s, 2, "My favorite city is Porto now.", "Noted.", 500);
    ck_assert_int_eq(told(s, "favorite_city", "Porto", 500, b), MP_OK);
    ck_assert_uint_eq(told_records(s), 2);
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = "alice", .user_len = 5, .now_ms = 600};
    sweep.u.sweep.retention.max_age_ms = 300;
    ck_assert_int_eq(fx_apply1(s, &sweep), MP_OK);
    ck_assert_uint_eq(sweep.u.sweep.counts.messages, 2);
    ck_assert_uint_eq(told_records(s), 1);
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, 700), MP_OK);
    ck_assert(!kept(s, b) && !kept(s, b + 1));
    ck_assert_uint_eq(told_records(s), 0);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- no byte left ---- */

/* After the erasure and a compaction, the store's files hold no byte of
 * the erased turns (LMDB, in clear: the canary is readable otherwise). */
START_TEST(test_provenance_compacted_store_holds_no_erased_word)
{
    struct mp_store *s = fx_open_backend(LMDB);
    uint64_t a = turn(s, 1, "My favorite city is Quokkaville.", "Lovely.", T0);
    ck_assert_int_eq(told(s, "favorite_city", "Quokkaville", T0, a), MP_OK);
    uint64_t b = turn(s, 2, "My favorite city is Zorblaxton now.", "Noted.", T0 + 100);
    ck_assert_int_eq(told(s, "favorite_city", "Zorblaxton", T0 + 100, b), MP_OK);
    fx_compact(s);
    ck_assert(fx_dir_has_fold("quokkaville"));
    ck_assert_int_eq(erase_key(s, "favorite_city", MP_ACTOR_USER, T0 + 200), MP_OK);
    fx_compact(s);
    ck_assert(!fx_dir_has_fold("quokkaville"));
    ck_assert(!fx_dir_has_fold("zorblaxton"));
    fx_close_backend(s, LMDB);
}
END_TEST

/* A value's holders are its whole words, in the buffer and the archive
 * alike (core/recall/wordhold.h): erasing "Go", "AI" and "7" leaves the
 * messages that hold them only inside longer words; the turns of the
 * first half are archived only (folded out of the buffer), the others
 * are in both. */
START_TEST(test_provenance_short_values_take_whole_words_only)
{
    static const struct {
        const char *said;
        bool holds;
    } turns[] = {
        {"I write Go every day.", true},
        {"I am going home.", false},
        {"good morning", false},
        {"two days ago", false},
        {"Cargo builds it", false},
        {"I work in AI.", true},
        {"my AIM handle", false},
        {"she said so", false},
        {"I have 7 cats", true},
        {"17 dogs", false},
        {"the 7th floor", false},
        {"version 7.5", false},
        {"Go, then.", true},
        {"Ankara'da AI ile", true},
        {"Gone fishing", false},
        {"7", true},
    };
    const size_t n = sizeof(turns) / sizeof(turns[0]);
    uint64_t first[sizeof(turns) / sizeof(turns[0])];
    struct mp_store *s = fx_open_backend(_i);
    for (size_t i = 0; i < n; i++)
        first[i] = turn(s, (uint8_t)(i + 1), turns[i].said, "noted", T0 + 10 * (int64_t)i);
    summarize(s, "Summary", first[n / 2] - 1, T0 + 500); /* the first half: archived only */
    const char *const values[][2] = {{"lang", "Go"}, {"field", "AI"}, {"cats", "7"}};
    for (size_t v = 0; v < 3; v++)
        ck_assert_int_eq(
            fx_upsert(s, U("alice"), values[v][0], values[v][1], MP_TRUST_CORRECTED, T0 + 600),
            MP_OK);
    for (size_t v = 0; v < 3; v++)
        ck_assert_int_eq(erase_key(s, values[v][0], MP_ACTOR_USER, T0 + 700 + (int64_t)v), MP_OK);
    s = fx_reopen(s, _i);
    for (size_t i = 0; i < n; i++) {
        if (kept(s, first[i]) == turns[i].holds)
            ck_abort_msg("turn %zu (\"%s\"): %s", i, turns[i].said,
                         turns[i].holds ? "kept, but holds the value"
                                        : "erased, but does not hold it");
        ck_assert(kept(s, first[i] + 1)); /* its reply told nothing */
    }
    fx_close_backend(s, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *su = suite_create("store_provenance");
    TCase *tc = tcase_create("provenance");
    tcase_add_unchecked_fixture(tc, vp_setup, vp_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_provenance_superseded_value_turn_is_erased, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_summary_keeps_nothing_of_the_values, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_index_and_search_keys_forget_the_turns, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_corrected_value_keeps_the_turns_it_displaced, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_statement_kept_out_turn_is_erased, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_capped_history_still_reaches_every_turn, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_other_facts_of_the_turn_stay, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_queued_job_sends_nothing_erased, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_retracted_key_is_erased_later, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_message_erasure_retracts_the_fact_resting_on_it, 0,
                        FX_BACKENDS);
    tcase_add_test(tc, test_provenance_message_erasure_retracts_in_a_sealed_store);
    tcase_add_loop_test(tc, test_provenance_message_erasure_keeps_a_fact_with_another_source, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_statement_kept_out_says_why, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_short_values_take_whole_words_only, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_provenance_retention_takes_the_told_records, 0, FX_BACKENDS);
    tcase_add_test(tc, test_provenance_compacted_store_holds_no_erased_word);
    suite_add_tcase(su, tc);
    return su;
}
