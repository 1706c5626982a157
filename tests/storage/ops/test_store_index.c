/* Tests for the store's episodic archive and relevance index (storage/format/index.h,
 * store_archive.c, store_view.c) as the request path reads them: through
 * mp_store_view_index() and mp_store_archive(). Every store op must keep
 * the index in step with what it writes, on each backend (loop index _i:
 * 0 = mem, 1 = lmdb). The LMDB-only cases check the files' bytes (erasure,
 * encryption at rest), compaction and key rotation, the format-2 fixtures
 * of test_store_format.c, and one user with 100,000 facts. */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/codec.h"
#include "ops/index.h"
#include "recall/memblock.h"
#include "recall/relevance.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "store_fixture.h"
#include "format/termfilter.h"
#include "view_probe.h"

Suite *mp_test_suite(void);

#ifndef MP_FORMAT_FIXTURE_DIR
#error "the build passes the fixture directory"
#endif

#define MAY23 1683547200000LL /* 2023-05-08 12:00 UTC */
#define JAN24 1704067200000LL /* 2024-01-01 00:00 UTC */
#define HOUR  3600000LL
#define DAY   (24 * HOUR)

/* ---- ops ---- */

/* UPSERT_ENTITY whose source turn is the messages first..last. */
static int upsert_from(struct mp_store *store, const char *user, size_t ulen, const char *key,
                       const char *value, int64_t observed, uint64_t first, uint64_t last)
{
    struct mp_op op = fx_upsert_op(user, ulen, key, value, MP_TRUST_STATED, observed);
    op.u.entity.source_first_seq = first;
    op.u.entity.source_last_seq = last;
    return fx_apply1(store, &op);
}

static int del_entity(struct mp_store *store, const char *user, size_t ulen, const char *key,
                      int64_t now)
{
    struct mp_op op = fx_delete_op(user, ulen, key, MP_ACTOR_USER, now);
    return fx_apply1(store, &op);
}

/* A turn whose user message is pii (its reply is not). */
static int pii_turn(struct mp_store *store, const char *user, size_t ulen, uint8_t idem,
                    const char *said, const char *reply, int64_t at)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, reply, at)};
    m[0].pii = true;
    struct mp_op op = fx_turn_op(user, ulen, idem, m, 2, at);
    return fx_apply1(store, &op);
}

/* ---- upkeep through every op ---- */

START_TEST(test_index_upsert_indexes_value_key_and_date_terms)
{
    struct mp_store *store = fx_open_backend(_i);
    char buf[512];
    ck_assert_int_eq(fx_upsert(store, U("ann"), "favourite_city", "Lisbon city, Lisbon harbour",
                               MP_TRUST_STATED, MAY23),
                     MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, U("ann"), "trip", "Porto next summer", MP_TRUST_STATED, JAN24 + HOUR),
        MP_OK);
    store = fx_reopen(store, _i);
    /* fact 1: value terms in tc, key words in tk, one posting per term */
    struct mp_relevance_posting p = vp_only_hit(store, U("ann"), true, "Lisbon");
    ck_assert_uint_eq(p.item, 1);
    ck_assert_uint_eq(p.tc, 2);
    ck_assert_uint_eq(p.tk, 0);
    ck_assert_uint_eq(p.td, 0);
    p = vp_only_hit(store, U("ann"), true, "favourite");
    ck_assert_uint_eq(p.item, 1);
    ck_assert_uint_eq(p.tc, 0);
    ck_assert_uint_eq(p.tk, 1);
    p = vp_only_hit(store, U("ann"), true, "city"); /* in both fields */
    ck_assert_uint_eq(p.tc, 1);
    ck_assert_uint_eq(p.tk, 1);
    p = vp_only_hit(store, U("ann"), true, "@may");
    ck_assert_uint_eq(p.item, 1);
    ck_assert_uint_eq(p.tc, 0);
    ck_assert_uint_eq(p.tk, 0);
    ck_assert_uint_eq(p.td, 1);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "@2023").item, 1);
    /* fact 2 */
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "summer").item, 2);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "trip").item, 2);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "@january").item, 2);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "@2024").item, 2);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "@2022"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "Lisbon"), 0); /* facts only */
    /* items: content length in terms, a session each (far apart), timex */
    vp_item_is(store, U("ann"), true, 1, 4, 1, false, 27 + 14);
    vp_item_is(store, U("ann"), true, 2, 3, 2, true, 17 + 4);
    ck_assert_str_eq(vp_item_terms(store, U("ann"), true, 1, buf, sizeof(buf)),
                     "citi:1 harbour:1 lisbon:2");
    ck_assert_str_eq(vp_item_terms(store, U("ann"), true, 2, buf, sizeof(buf)),
                     "next:1 porto:1 summer:1");
    struct vp_ixstats s = vp_stats(store, U("ann"), true);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_double_eq_tol(s.avglen, 3.5, 1e-9);
    ck_assert_uint_eq(vp_stats(store, U("ann"), false).n, 0);
    struct mp_relevance_item it;
    ck_assert_int_eq(vp_item(store, U("ann"), true, 3, &it), MP_NOTFOUND);
    ck_assert_uint_eq(vp_df(store, U("bob"), true, "Lisbon"), 0); /* no such user */
    fx_close_backend(store, _i);
}
END_TEST

static int set_keys(struct mp_store *store, const char *user, size_t ulen, uint64_t seq,
                    const char *keys)
{
    struct mp_op op = {
        .kind = MP_OP_SET_MESSAGE_KEYS, .user = user, .user_len = ulen, .now_ms = JAN24};
    op.u.keys.seq = seq;
    op.u.keys.text = keys;
    op.u.keys.text_len = strlen(keys);
    return fx_apply1(store, &op);
}

START_TEST(test_index_search_keys_are_a_field_of_their_own_erased_with_their_message)
{
    struct mp_store *store = fx_open_backend(_i);
    char buf[512];
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 1, "My daughter played at her recital.", "Lovely.", MAY23, MAY23),
        MP_OK);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 2, "We painted the hall.", "Nice.", MAY23 + HOUR, MAY23 + HOUR),
        MP_OK);
    ck_assert_int_eq(set_keys(store, U("ann"), 1, "music, child, recital"), MP_OK);
    ck_assert_int_eq(set_keys(store, U("ann"), 1, "again"), MP_NOTFOUND); /* written once */
    ck_assert_int_eq(set_keys(store, U("ann"), 99, "music"), MP_NOTFOUND);
    ck_assert_int_eq(set_keys(store, U("bob"), 1, "music"), MP_NOTFOUND);
    store = fx_reopen(store, _i);
    struct mp_relevance_posting p = vp_only_hit(store, U("ann"), false, "music");
    ck_assert_uint_eq(p.item, 1);
    ck_assert_uint_eq(p.tc, 0);
    ck_assert_uint_eq(p.tk, 0);
    ck_assert_uint_eq(p.td, 0);
    ck_assert_uint_eq(p.ts, 1);
    p = vp_only_hit(store, U("ann"), false, "recital"); /* in the text and a key */
    ck_assert_uint_eq(p.tc, 1);
    ck_assert_uint_eq(p.ts, 1);
    p = vp_hits_of(store, U("ann"), false, "@may").p[0];
    ck_assert_uint_eq(p.td, 1);
    ck_assert_uint_eq(p.ts, 0);
    /* the content (its length, its terms) is the message's alone */
    vp_item_is(store, U("ann"), false, 1, 3, 1, false, 34);
    ck_assert_str_eq(vp_item_terms(store, U("ann"), false, 1, buf, sizeof(buf)),
                     "daughter:1 play:1 recit:1");
    /* the archived message reads as before */
    struct mp_mem_message *am = NULL;
    size_t nam = 0;
    bool more = true;
    ck_assert_int_eq(mp_store_archive(store, U("ann"), 0, 10, &am, &nam, &more), MP_OK);
    ck_assert_uint_eq(nam, 4);
    ck_assert_str_eq(am[0].content, "My daughter played at her recital.");
    mp_store_messages_free(am, nam);
    /* erasing the fact of that turn erases the message, its keys with it */
    ck_assert_int_eq(upsert_from(store, U("ann"), "child", "a daughter", MAY23, 1, 2), MP_OK);
    ck_assert_int_eq(del_entity(store, U("ann"), "child", JAN24), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "music"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "recital"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "hall"), 1);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_index_supersede_moves_the_terms_to_a_new_fact_id)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_relevance_item it;
    struct mp_store_view *v = NULL;
    const struct mp_mem_entity *e;
    char buf[256];
    struct mp_op first = fx_upsert_op(U("ann"), "pet", "tabby cat", MP_TRUST_STATED, MAY23);
    ck_assert_int_eq(fx_apply1(store, &first), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "home", "Lisbon", MP_TRUST_STATED, MAY23), MP_OK);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "cat").item, 1);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "pet", "old dog", MP_TRUST_STATED, MAY23 + HOUR),
                     MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "cat"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "tabby"), 0);
    struct mp_relevance_posting p = vp_only_hit(store, U("ann"), true, "dog");
    ck_assert_uint_eq(p.item, 3); /* a new id: the old one is never reused */
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "pet").item, 3);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "@may"), 2);
    ck_assert_int_eq(vp_item(store, U("ann"), true, 1, &it), MP_NOTFOUND);
    ck_assert_str_eq(vp_item_terms(store, U("ann"), true, 3, buf, sizeof(buf)), "dog:1 old:1");
    struct vp_ixstats s = vp_stats(store, U("ann"), true);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_double_eq_tol(s.avglen, 1.5, 1e-9); /* "old dog" and "Lisbon" */
    ck_assert_int_eq(mp_store_view_open(store, U("ann"), &v), MP_OK);
    ck_assert_int_eq(mp_store_view_fact_ref(v, 1, &e), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_view_fact_ref(v, 3, &e), MP_OK);
    ck_assert_str_eq(e->key, "pet");
    ck_assert_str_eq(e->value, "old dog");
    ck_assert_uint_gt(e->revision, first.u.entity.revision);
    mp_store_view_close(v);
    /* outranked: nothing changes */
    ck_assert_int_eq(fx_upsert(store, U("ann"), "pet", "parrot", MP_TRUST_INFERRED, MAY23 + DAY),
                     MP_NOTFOUND);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "parrot"), 0);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "dog").item, 3);
    vp_index_consistent(store, U("ann"), true, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

static const char *const pet_words[] = {"dog", "old", "pet", "cat", "@may", "@2023", "Lisbon"};
#define NPET (sizeof(pet_words) / sizeof(pet_words[0]))

START_TEST(test_index_refresh_leaves_the_index_as_it_was)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "pet", "old dog", MP_TRUST_STATED, MAY23), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "home", "Lisbon", MP_TRUST_STATED, MAY23), MP_OK);
    char *before = vp_dump(store, U("ann"), pet_words, NPET);
    struct mp_history *h = fx_history(store, U("ann"));
    size_t nh = h->nitems;
    mp_history_free(h);
    /* the same value again, trust higher, a minute later: a refresh */
    struct mp_op op = fx_upsert_op(U("ann"), "pet", "old dog", MP_TRUST_CORRECTED, MAY23 + 60000);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_uint_eq(op.u.entity.revision, 1);
    store = fx_reopen(store, _i);
    h = fx_history(store, U("ann"));
    ck_assert_uint_eq(h->nitems, nh); /* the refresh path, no replacement */
    mp_history_free(h);
    char *after = vp_dump(store, U("ann"), pet_words, NPET);
    ck_assert_str_eq(after, before);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "dog").item, 1);
    free(before);
    free(after);
    vp_index_consistent(store, U("ann"), true, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_index_delete_entity_erases_the_fact_and_its_messages)
{
    struct mp_store *store = fx_open_backend(_i);
    int64_t t = MAY23;
    /* the source turn (seqs 1, 2; only 1 holds the value), then turns that
       do not tell it, one that holds the value in capitals, one more */
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 1, "we call him Zorblaxing", "a wonderful name", t, t), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "I like tea", "tea is good", t + 1, t + 1), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 3, "ZORBLAXING barks", "loud kettle", t + 2, t + 2),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 4, "kettle boils", "fine", t + 3, t + 3), MP_OK);
    ck_assert_int_eq(upsert_from(store, U("ann"), "dog_name", "Zorblaxing", t, 1, 2), MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "drink", "tea", MP_TRUST_STATED, t), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "ann has a dog", 4, t + 5), MP_OK);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "Zorblaxing"), 2);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "wonderful"), 1);
    ck_assert_uint_eq(vp_stats(store, U("ann"), false).n, 8);
    ck_assert_int_eq(del_entity(store, U("ann"), "dog_name", t + 10), MP_OK);
    store = fx_reopen(store, _i);
    /* the fact's terms, its key words and its date terms are gone */
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "Zorblaxing"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "dog"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "name"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "@may"), 1);
    ck_assert_uint_eq(vp_stats(store, U("ann"), true).n, 1);
    /* the source turn (by its seqs: 2 does not hold the value) and message
       5 (holds it, folded out of the buffer) leave the archive */
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "Zorblaxing"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "wonderful"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "barks"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "tea"), 2);
    struct vp_hits h = vp_hits_of(store, U("ann"), false, "kettle");
    ck_assert_uint_eq(h.df, 2);
    ck_assert_uint_eq(h.p[0].item, 6);
    ck_assert_uint_eq(h.p[1].item, 7);
    vp_archive_is(store, U("ann"), (uint64_t[]){3, 4, 6, 7, 8, 0});
    ck_assert_uint_eq(vp_stats(store, U("ann"), false).n, 5);
    vp_index_consistent(store, U("ann"), false, "@2023");
    vp_index_consistent(store, U("ann"), true, "@2023");
    ck_assert_int_eq(del_entity(store, U("ann"), "dog_name", t + 11), MP_NOTFOUND);
    fx_close_backend(store, _i);
}
END_TEST

static int del_message(struct mp_store *store, const char *user, size_t ulen, uint64_t seq,
                       int64_t now)
{
    struct mp_op op = {.kind = MP_OP_DELETE_MESSAGE,
                       .user = user,
                       .user_len = ulen,
                       .now_ms = now,
                       .actor = MP_ACTOR_USER,
                       .u.seq = seq};
    return fx_apply1(store, &op);
}

static bool buffered(const struct mp_usermem *um, uint64_t seq)
{
    for (size_t i = 0; i < um->nmessages; i++) {
        if (um->messages[i].seq == seq)
            return true;
    }
    return false;
}

START_TEST(test_index_delete_message_erases_it_from_archive_index_buffer_and_summary)
{
    struct mp_store *store = fx_open_backend(_i);
    int64_t t = MAY23;
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "Zorblaxing lives in Quito", "nice", t, t), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "I like tea", "tea is good", t + 1, t + 1), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 3, "kettle boils", "fine", t + 2, t + 2), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "ann knows Zorblaxing", 2, t + 3), MP_OK);
    struct mp_usermem *um = fx_get(store, U("ann"));
    uint64_t epoch = um->memory_epoch;
    ck_assert(!buffered(um, 1) && buffered(um, 5));
    mp_usermem_free(um);
    /* seq 1: archived only (folded), the summary covers it: both go */
    ck_assert_int_eq(del_message(store, U("ann"), 1, t + 10), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "Zorblaxing"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "Quito"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "nice"), 1);
    vp_archive_is(store, U("ann"), (uint64_t[]){2, 3, 4, 5, 6, 0});
    um = fx_get(store, U("ann"));
    ck_assert_ptr_null(um->summary.text);
    ck_assert_uint_gt(um->memory_epoch, epoch); /* a head that held it is not reused */
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("ann"));
    ck_assert_uint_ge(h->nitems, 2);
    const struct mp_history_item *a = &h->items[h->nitems - 2], *b = &h->items[h->nitems - 1];
    ck_assert_int_eq(a->event, MP_HIST_DELETED);
    ck_assert_int_eq(a->item, MP_ITEM_MESSAGES);
    ck_assert_uint_eq(a->count, 1);
    ck_assert_int_eq(a->actor, MP_ACTOR_USER);
    ck_assert_int_eq(b->event, MP_HIST_DELETED);
    ck_assert_int_eq(b->item, MP_ITEM_SUMMARY);
    mp_history_free(h);
    /* seq 5: buffered and archived, past the summary: both copies go */
    ck_assert_int_eq(del_message(store, U("ann"), 5, t + 11), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kettle"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "fine"), 1);
    vp_archive_is(store, U("ann"), (uint64_t[]){2, 3, 4, 6, 0});
    um = fx_get(store, U("ann"));
    ck_assert(!buffered(um, 5) && buffered(um, 6));
    mp_usermem_free(um);
    vp_index_consistent(store, U("ann"), false, "@2023");
    /* gone, never kept, another user's: not found, nothing changes */
    ck_assert_int_eq(del_message(store, U("ann"), 5, t + 12), MP_NOTFOUND);
    ck_assert_int_eq(del_message(store, U("ann"), 99, t + 12), MP_NOTFOUND);
    ck_assert_int_eq(del_message(store, U("bob"), 2, t + 12), MP_NOTFOUND);
    ck_assert_int_eq(del_message(store, U("ann"), 0, t + 12), MP_EINVAL);
    /* a message recorded with the archive off lives in the buffer alone */
    mp_store_set_archive(store, false);
    ck_assert_int_eq(fx_turn(store, U("ann"), 4, "unarchived words", "ok", t + 13, t + 13), MP_OK);
    ck_assert_int_eq(del_message(store, U("ann"), 7, t + 14), MP_OK);
    um = fx_get(store, U("ann"));
    ck_assert(!buffered(um, 7) && buffered(um, 8));
    mp_usermem_free(um);
    vp_archive_is(store, U("ann"), (uint64_t[]){2, 3, 4, 6, 0});
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_index_delete_entity_of_stop_words_looks_through_the_whole_archive)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "I saw THE WHO live", "great band", MAY23, MAY23),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "who is there", "the cat", MAY23 + 1, MAY23 + 1),
                     MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "band", "the who", MP_TRUST_STATED, MAY23 + 9),
                     MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "ann likes bands", 4, MAY23 + 10), MP_OK);
    ck_assert_int_eq(del_entity(store, U("ann"), "band", MAY23 + 20), MP_OK);
    vp_archive_is(store, U("ann"), (uint64_t[]){2, 3, 4, 0});
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "saw"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "great"), 1);
    vp_index_consistent(store, U("ann"), false, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

/* A message at the length cap with over 4,096 distinct words (the terms an
 * item kept, in byte order, before MP_INDEX_TERMS_MAX covered every word),
 * the value's word last and after all the others in byte order. */
static char *many_words_message(const char *last)
{
    static const char cs[] = "0123456789abcdefghijklmnopqrstuvwxy"; /* no z: all sort first */
    size_t cap = MP_MESSAGE_CONTENT_MAX, n = 0, tail = strlen(last) + 1;
    char *m = malloc(cap + 1);
    ck_assert_ptr_nonnull(m);
    for (size_t len = 2; len <= 3; len++) {
        size_t combos = len == 2 ? 35 * 35 : 35 * 35 * 35;
        for (size_t c = 0; c < combos && n + len + 1 + tail <= cap; c++) {
            char w[4];
            bool digit = false;
            for (size_t k = 0, x = c; k < len; k++, x /= 35) {
                w[k] = cs[x % 35];
                digit = digit || (w[k] >= '0' && w[k] <= '9');
            }
            if (!digit)
                continue; /* a word with a digit is never a stop word, nor stemmed */
            memcpy(m + n, w, len);
            n += len;
            m[n++] = ' ';
        }
    }
    memcpy(m + n, last, tail - 1);
    n += tail - 1;
    m[n] = '\0';
    return m;
}

START_TEST(test_index_delete_entity_finds_its_value_in_a_message_of_many_words)
{
    struct mp_store *store = fx_open_backend(_i);
    char buf[64];
    char *text = many_words_message("Zorblaxing");
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, text, "ok", MAY23, MAY23), MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, U("ann"), "dog_name", "Zorblaxing", MP_TRUST_STATED, MAY23 + DAY), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "ann talks", 2, MAY23 + DAY), MP_OK);
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    ck_assert_int_eq(mp_store_view_open(store, U("ann"), &v), MP_OK);
    mp_store_view_index(v, false, &ix);
    size_t nterms = vp_view_item_terms(&ix, 1, buf, sizeof(buf));
    mp_store_view_close(v);
    ck_assert_uint_gt(nterms, 4096); /* every one indexed */
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "Zorblaxing"), 1);
    ck_assert_int_eq(del_entity(store, U("ann"), "dog_name", MAY23 + 2 * DAY), MP_OK);
    vp_archive_is(store, U("ann"), (uint64_t[]){2, 0});
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "a1"), 0);
    free(text);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_index_sweep_drops_expired_items_pii_sooner)
{
    struct mp_store *store = fx_open_backend(_i);
    int64_t now = MAY23 + 30 * DAY;
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 1, "we talked about kayaks", "kayaks are fun", MAY23, MAY23),
        MP_OK);
    ck_assert_int_eq(pii_turn(store, U("ann"), 2, "my passport number is secret", "noted passport",
                              MAY23 + 20 * DAY),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 3, "fresh words about lanterns", "lanterns glow",
                             MAY23 + 29 * DAY, MAY23 + 29 * DAY),
                     MP_OK);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "boat", "kayak", MP_TRUST_STATED, MAY23), MP_OK);
    struct mp_op op = fx_upsert_op(U("ann"), "doc", "passport", MP_TRUST_STATED, MAY23 + 20 * DAY);
    op.u.entity.pii = true;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, U("ann"), "home", "lantern house", MP_TRUST_STATED, MAY23 + 20 * DAY),
        MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "ann boats", 4, now - DAY), MP_OK);
    ck_assert_uint_eq(vp_stats(store, U("ann"), false).n, 6);
    ck_assert_uint_eq(vp_stats(store, U("ann"), true).n, 3);
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = "ann", .user_len = 3, .now_ms = now};
    sweep.u.sweep.retention.max_age_ms = 25 * DAY;
    sweep.u.sweep.retention.pii_max_age_ms = 5 * DAY;
    ck_assert_int_eq(fx_apply1(store, &sweep), MP_OK);
    ck_assert_uint_eq(sweep.u.sweep.counts.messages, 3);
    ck_assert_uint_eq(sweep.u.sweep.counts.facts, 2);
    store = fx_reopen(store, _i);
    /* past max_age: the first turn and the kayak; past the pii limit: the
       pii message and the pii fact, not the reply beside it */
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayak"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "kayak"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "secret"), 0);
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), false, "passport").item, 4);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "passport"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "doc"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "lantern"), 2);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "lantern"), 1);
    vp_archive_is(store, U("ann"), (uint64_t[]){4, 5, 6, 0});
    ck_assert_uint_eq(vp_stats(store, U("ann"), true).n, 1);
    vp_index_consistent(store, U("ann"), false, "@2023");
    vp_index_consistent(store, U("ann"), true, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

/* Messages in the archive only (folded) and in the buffer only (recorded
 * with the archive off) are different messages: a sweep counts them all. */
START_TEST(test_index_sweep_counts_archived_and_buffered_messages_apart)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "old kayak", "old reply", MAY23, MAY23), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "kayaks", 2, MAY23 + 1), MP_OK);
    mp_store_set_archive(store, false);
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "old canoe", "canoe reply", MAY23 + 2, MAY23 + 2),
                     MP_OK);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 3, "new canoe", "fine", MAY23 + 20 * DAY, MAY23 + 20 * DAY),
        MP_OK);
    vp_archive_is(store, U("ann"), (uint64_t[]){1, 2, 0});
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = "ann", .user_len = 3};
    sweep.now_ms = MAY23 + 21 * DAY;
    sweep.u.sweep.retention.max_age_ms = 10 * DAY;
    ck_assert_int_eq(fx_apply1(store, &sweep), MP_OK);
    ck_assert_uint_eq(sweep.u.sweep.counts.messages, 4);
    vp_archive_is(store, U("ann"), (uint64_t[]){0});
    struct mp_usermem *um = fx_get(store, U("ann"));
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("ann"));
    size_t logged = 0;
    for (size_t i = 0; i < h->nitems; i++) {
        if (h->items[i].event != MP_HIST_EXPIRED || h->items[i].item != MP_ITEM_MESSAGES)
            continue;
        ck_assert_uint_eq(h->items[i].count, 4);
        logged++;
    }
    ck_assert_uint_eq(logged, 1);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- delete user: every table, raw ---- */

/* Records that name a user: keys under its prefix (users: its physical
 * key) and values holding its id (a clear store's jobs). */
struct user_scan {
    const unsigned char *prefix, *id;
    size_t plen, idlen;
    enum mp_store_table t;
    size_t count[MP_TABLE_COUNT];
};

static void scan_record(struct user_scan *us, const unsigned char *k, size_t klen,
                        const unsigned char *v, size_t vlen)
{
    bool mine = us->t == MP_TABLE_USERS
                    ? klen == us->plen - 2 && memcmp(k, us->prefix + 2, klen) == 0
                    : klen >= us->plen && memcmp(k, us->prefix, us->plen) == 0;
    if (!mine && vlen >= us->idlen)
        mine = memmem(v, vlen, us->id, us->idlen) != NULL;
    us->count[us->t] += mine;
}

static int on_mem_record(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                         size_t vlen)
{
    scan_record(arg, key, klen, val, vlen);
    return MP_OK;
}

/* Every record of every table, through the backend's own primitives (mem,
 * PostgreSQL). */
static void scan_mem(struct mp_store *store, struct user_scan *us)
{
    struct mp_store_txn txn;
    ck_assert_int_eq(store->be->begin(store, false, &txn), MP_OK);
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        us->t = (enum mp_store_table)t;
        ck_assert_int_eq(store->be->scan(&txn, us->t, NULL, 0, 0, on_mem_record, us), MP_OK);
    }
    ck_assert_int_eq(store->be->end(&txn, false), MP_OK);
}

/* Every record of every DB of the closed LMDB store in fx_dir. */
static void scan_lmdb(struct user_scan *us)
{
    MDB_env *env;
    MDB_txn *txn;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, MP_TABLE_COUNT + 2), 0);
    ck_assert_int_eq(mdb_env_open(env, fx_dir, MDB_NOTLS | MDB_RDONLY, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        MDB_dbi dbi;
        MDB_cursor *c;
        MDB_val k, v;
        us->t = (enum mp_store_table)t;
        ck_assert_int_eq(mdb_dbi_open(txn, mp_store_table_names[t], 0, &dbi), 0);
        ck_assert_int_eq(mdb_cursor_open(txn, dbi, &c), 0);
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            scan_record(us, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* The records of user per table into count; an LMDB store is closed for
 * the raw read and opened again: the store to go on with. */
static struct mp_store *count_user(struct mp_store *store, int which, const char *user, size_t ulen,
                                   size_t count[MP_TABLE_COUNT])
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    struct user_scan us;
    memset(&us, 0, sizeof(us));
    us.plen = mp_store_backend_user_prefix(store, prefix, user, ulen);
    us.prefix = prefix;
    us.id = (const unsigned char *)user;
    us.idlen = ulen;
    if (which != LMDB) {
        scan_mem(store, &us); /* PG too: every row of every table, through its primitives */
    } else {
        mp_store_free(store);
        scan_lmdb(&us);
        store = fx_open_existing();
    }
    memcpy(count, us.count, sizeof(us.count));
    return store;
}

/* Every kind of record of user: turns (buffer, archive, index, idem),
 * facts with history (superseded and current), a summary and a job. */
static void fill_user(struct mp_store *store, const char *user, size_t ulen)
{
    ck_assert_int_eq(fx_turn(store, user, ulen, 1, "I keep bees", "bees are great", MAY23, MAY23),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, user, ulen, 2, "honey again", "sweet", MAY23 + 1, MAY23 + 1),
                     MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, ulen, "hobby", "bees", MP_TRUST_STATED, MAY23), MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, ulen, "hobby", "honey", MP_TRUST_STATED, MAY23 + 1),
                     MP_OK);
    ck_assert_int_eq(fx_summarize(store, user, ulen, "keeps bees", 2, MAY23 + 2), MP_OK);
    fx_add_job(store, fx_job_for(user, ulen, MP_JOB_SUMMARIZE, 4));
}

START_TEST(test_index_delete_user_leaves_no_record_in_any_table)
{
    struct mp_store *store = fx_open_backend(_i);
    size_t mine[MP_TABLE_COUNT], other[MP_TABLE_COUNT];
    fill_user(store, U("ursula-7"));
    fill_user(store, U("victor"));
    store = count_user(store, _i, U("ursula-7"), mine);
    /* all but meta (the scan sees them) and settings (a user's own setting is
       no memory and outlives erasure: test_store_settings.c) */
    for (int t = 1; t < MP_TABLE_SETTINGS; t++)
        ck_assert_msg(mine[t] > 0, "%s: nothing before", mp_store_table_names[t]);
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "ursula-7", .user_len = 8};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    store = count_user(store, _i, U("ursula-7"), mine);
    for (int t = 0; t < MP_TABLE_COUNT; t++)
        ck_assert_msg(mine[t] == 0, "%s: %zu left", mp_store_table_names[t], mine[t]);
    store = count_user(store, _i, U("victor"), other);
    for (int t = 1; t < MP_TABLE_SETTINGS; t++)
        ck_assert_msg(other[t] > 0, "%s: victor's gone", mp_store_table_names[t]);
    ck_assert_int_eq(mp_store_view_open(store, U("ursula-7"), &(struct mp_store_view *){NULL}),
                     MP_NOTFOUND);
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(store, U("ursula-7"), 0, 10, &m, &n, &more), MP_NOTFOUND);
    ck_assert_uint_eq(vp_df(store, U("victor"), false, "bees"), 2);
    ck_assert_uint_eq(vp_df(store, U("victor"), true, "honey"), 1);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- recording turns ---- */

START_TEST(test_index_record_turn_archives_and_indexes_its_messages)
{
    struct mp_store *store = fx_open_backend(_i);
    char buf[256];
    const char *said = "Caroline: I went to the support group";
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, said, "That sounds helpful", MAY23, MAY23), MP_OK);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 2, "Yesterday we hiked", "nice hike", MAY23 + HOUR, MAY23 + HOUR),
        MP_OK);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 3, "later kettle", "kettle", MAY23 + 6 * HOUR, MAY23 + 6 * HOUR),
        MP_OK);
    store = fx_reopen(store, _i);
    vp_archive_is(store, U("ann"), (uint64_t[]){1, 2, 3, 4, 5, 6, 0});
    /* the speaker label is the key field, the rest the content */
    struct mp_relevance_posting p = vp_only_hit(store, U("ann"), false, "support");
    ck_assert_uint_eq(p.item, 1);
    ck_assert_uint_eq(p.tc, 1);
    ck_assert_uint_eq(p.tk, 0);
    p = vp_only_hit(store, U("ann"), false, "Caroline");
    ck_assert_uint_eq(p.item, 1);
    ck_assert_uint_eq(p.tc, 0);
    ck_assert_uint_eq(p.tk, 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "@may"), 6);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "hike"), 2);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "hike"), 0);
    ck_assert_str_eq(vp_item_terms(store, U("ann"), false, 1, buf, sizeof(buf)),
                     "group:1 support:1 went:1");
    vp_item_is(store, U("ann"), false, 1, 3, 1, false, strlen(said));
    vp_item_is(store, U("ann"), false, 3, 2, 1, true, 18); /* an hour later */
    vp_item_is(store, U("ann"), false, 5, 2, 2, true, 12); /* 5 hours on: a new session */
    vp_item_is(store, U("ann"), false, 6, 1, 2, false, 6);
    /* folding into the summary keeps the archive and its index */
    ck_assert_int_eq(fx_summarize(store, U("ann"), "Caroline went", 4, MAY23 + 7 * HOUR), MP_OK);
    struct mp_usermem *um = fx_get(store, U("ann"));
    ck_assert_uint_eq(um->nmessages, 2);
    mp_usermem_free(um);
    vp_archive_is(store, U("ann"), (uint64_t[]){1, 2, 3, 4, 5, 6, 0});
    ck_assert_uint_eq(vp_only_hit(store, U("ann"), false, "support").item, 1);
    ck_assert_uint_eq(vp_stats(store, U("ann"), false).n, 6);
    vp_index_consistent(store, U("ann"), false, "@2023");
    /* archive off: buffered only */
    mp_store_set_archive(store, false);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 4, "walrus", "walrus too", MAY23 + 8 * HOUR, MAY23 + 8 * HOUR),
        MP_OK);
    um = fx_get(store, U("ann"));
    ck_assert_uint_eq(um->nmessages, 4);
    ck_assert_str_eq(um->messages[2].content, "walrus");
    mp_usermem_free(um);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "walrus"), 0);
    vp_archive_is(store, U("ann"), (uint64_t[]){1, 2, 3, 4, 5, 6, 0});
    ck_assert_uint_eq(vp_stats(store, U("ann"), false).n, 6);
    mp_store_set_archive(store, true);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 5, "otter", "otter too", MAY23 + 9 * HOUR, MAY23 + 9 * HOUR),
        MP_OK);
    vp_archive_is(store, U("ann"), (uint64_t[]){1, 2, 3, 4, 5, 6, 9, 10, 0});
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "otter"), 2);
    /* an idem key seen before archives nothing */
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 5, "otter", "otter too", MAY23 + 9 * HOUR, MAY23 + 9 * HOUR),
        MP_NOTFOUND);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "otter"), 2);
    vp_index_consistent(store, U("ann"), false, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

/* A word met again in an item adds to its term's counts as the first
 * time did: in the content, in the speaker label (the same term in both
 * fields merges into one posting), in the search keys; the time word
 * after many repeated ones still marks the item. */
START_TEST(test_index_a_word_met_again_counts_each_time)
{
    struct mp_store *store = fx_open_backend(_i);
    char buf[512];
    const char *said = "Sam: lorem ipsum lorem, Sam walks lorem ipsum and sam went Tuesday";
    ck_assert_int_eq(fx_turn(store, U("bo"), 1, said, "lorem lorem", MAY23, MAY23), MP_OK);
    ck_assert_int_eq(set_keys(store, U("bo"), 1, "music, lorem, music"), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_str_eq(vp_item_terms(store, U("bo"), false, 1, buf, sizeof(buf)),
                     "ipsum:2 lorem:3 sam:2 tuesday:1 walk:1 went:1");
    vp_item_is(store, U("bo"), false, 1, 10, 1, true, strlen(said));
    struct mp_relevance_posting p = vp_only_hit(store, U("bo"), false, "sam");
    ck_assert_uint_eq(p.tc, 2);
    ck_assert_uint_eq(p.tk, 1);
    p = vp_only_hit(store, U("bo"), false, "music");
    ck_assert_uint_eq(p.tc, 0);
    ck_assert_uint_eq(p.ts, 2);
    struct vp_hits h = vp_hits_of(store, U("bo"), false, "lorem");
    ck_assert_uint_eq(h.n, 2);
    ck_assert_uint_eq(h.p[0].item, 1);
    ck_assert_uint_eq(h.p[0].tc, 3);
    ck_assert_uint_eq(h.p[0].ts, 1);
    ck_assert_uint_eq(h.p[1].item, 2);
    ck_assert_uint_eq(h.p[1].tc, 2);
    vp_item_is(store, U("bo"), false, 2, 2, 1, false, 11);
    vp_index_consistent(store, U("bo"), false, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

/* More distinct words than the item's table of words met remembers (600
 * two-letter words in 1.8 KB: it keeps 512): a word met again past that
 * is counted the plain way, with the same result. */
START_TEST(test_index_words_past_the_table_count_the_same)
{
    struct mp_store *store = fx_open_backend(_i);
    char said[2048];
    size_t n = 0;
    for (int w = 0; w < 600; w++) {
        said[n++] = (char)('a' + w / 26);
        said[n++] = (char)('a' + w % 26);
        said[n++] = ' ';
    }
    memcpy(said + n, "xb ab xb", 9); /* "xb" is the 600th word, "ab" the 2nd */
    ck_assert_int_eq(fx_turn(store, U("cy"), 1, said, "ok", MAY23, MAY23), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_uint_eq(vp_only_hit(store, U("cy"), false, "xb").tc, 3);
    ck_assert_uint_eq(vp_only_hit(store, U("cy"), false, "ab").tc, 2);
    ck_assert_uint_eq(vp_only_hit(store, U("cy"), false, "wz").tc, 1);
    vp_index_consistent(store, U("cy"), false, "@2023");
    fx_close_backend(store, _i);
}
END_TEST

/* ---- one script, the same answers ---- */

/* A bit of everything: turns, facts superseded, refreshed and erased, a
 * summary, a sweep. */
static void write_script(struct mp_store *store, const char *user, size_t ulen)
{
    ck_assert_int_eq(fx_turn(store, user, ulen, 1, "Mel: my dog Rex loves the park",
                             "Rex sounds fun", MAY23, MAY23),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, user, ulen, 2, "we went to Lisbon in June", "lovely trip",
                             MAY23 + 3 * DAY, MAY23 + 3 * DAY),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, user, ulen, 3, "the quokkafarm code is 12345", "stored",
                             MAY23 + 4 * DAY, MAY23 + 4 * DAY),
                     MP_OK);
    ck_assert_int_eq(upsert_from(store, user, ulen, "dog_name", "Rex", MAY23, 1, 2), MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, ulen, "city", "Lisbon", MP_TRUST_STATED, MAY23 + DAY),
                     MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, user, ulen, "city", "Porto", MP_TRUST_STATED, MAY23 + 3 * DAY), MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, user, ulen, "city", "Porto", MP_TRUST_CORRECTED, MAY23 + 4 * DAY), MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, user, ulen, "quokkafarm_code", "12345", MP_TRUST_STATED, MAY23 + 4 * DAY),
        MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, ulen, "old_thing", "dusty park bench", MP_TRUST_STATED,
                               MAY23 - 200 * DAY),
                     MP_OK);
    ck_assert_int_eq(fx_summarize(store, user, ulen, "a dog and a city", 4, MAY23 + 5 * DAY),
                     MP_OK);
    ck_assert_int_eq(del_entity(store, user, ulen, "dog_name", MAY23 + 6 * DAY), MP_OK);
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = user, .user_len = ulen};
    sweep.now_ms = MAY23 + 7 * DAY;
    sweep.u.sweep.retention.max_age_ms = 100 * DAY;
    ck_assert_int_eq(fx_apply1(store, &sweep), MP_OK);
    ck_assert_int_eq(fx_turn(store, user, ulen, 4, "Mel: park again, no dog", "ok", MAY23 + 8 * DAY,
                             MAY23 + 8 * DAY),
                     MP_OK);
}

static const char *const script_words[] = {"dog",   "Rex",        "park",   "Lisbon",     "Porto",
                                           "city",  "quokkafarm", "12345",  "bench",      "Mel",
                                           "june",  "trip",       "@may",   "@june",      "@2023",
                                           "@2022", "code",       "stored", "Zorblaxing", "lovely"};
#define NSCRIPT (sizeof(script_words) / sizeof(script_words[0]))

/* Opens user's view with relevance's ceiling max (its sample half of it)
 * and its archive's index in *ix. */
static struct mp_store_view *view_with_ceiling(struct mp_store *store, const char *user,
                                               size_t ulen, uint32_t max,
                                               struct mp_relevance_index *ix)
{
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_set_max_postings(v, max);
    mp_store_view_index(v, false, ix);
    ck_assert_uint_eq(ix->max_postings, max);
    ck_assert_uint_eq(ix->sample, max / 2);
    return v;
}

/* Records turns 1..last of user: "the kettle again" in the turns listed
 * in turns[0..n) (ascending), "tea" in the others. */
static void record_kettle_turns(struct mp_store *store, const char *user, size_t ulen,
                                const uint8_t *turns, size_t n, uint8_t last)
{
    size_t k = 0;
    for (unsigned i = 1; i <= last; i++) {
        bool holds = k < n && turns[k] == i;
        k += holds;
        ck_assert_int_eq(fx_turn(store, user, ulen, (uint8_t)i, holds ? "the kettle again" : "tea",
                                 "yes", MAY23 + i, MAY23 + i),
                         MP_OK);
    }
}

/* Scoring q over the open view's archive (the turns preset, no feedback):
 * the view's work for it, its hit count, and whether each of items[0..n)
 * (n at most 4) is a hit. */
struct view_score {
    uint64_t scored;
    unsigned capped;
    size_t nh;
    bool hit[4];
};

static struct view_score score_view(struct mp_store_view *v, const char *q, const uint32_t *items,
                                    size_t n)
{
    struct view_score out = {0};
    struct mp_relevance_index ix;
    struct mp_terms *t = NULL;
    struct mp_relevance_params p;
    struct mp_relevance_hit *h = NULL;
    ck_assert_uint_le(n, 4);
    mp_store_view_index(v, false, &ix);
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    p.prf_docs = 0;
    ck_assert_int_eq(mp_relevance_score(t, &ix, &p, q, strlen(q), NULL, 0, &h, &out.nh), MP_OK);
    mp_store_view_work(v, &out.scored, &out.capped);
    for (size_t k = 0; k < out.nh; k++)
        for (size_t j = 0; j < n; j++)
            out.hit[j] = out.hit[j] || h[k].item == items[j];
    free(h);
    mp_terms_free(t);
    return out;
}

/* Relevance's ceiling through the view (store.h: mp_store_view_set_max_postings):
 * the view's sample is half the ceiling, a term of more postings is read
 * to one past it and sampled, scoring reads the rare term and the first
 * common one's sample and skips the second's, which what is left of the
 * ceiling does not afford, and the view tells the work. */
START_TEST(test_index_view_reads_a_term_to_one_past_the_ceiling)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_relevance_index ix;
    for (uint8_t i = 1; i <= 10; i++) {
        const char *said = i == 7 ? "the kettle and the otter" : "the kettle whistled";
        ck_assert_int_eq(fx_turn(store, U("kim"), i, said, "yes", MAY23 + i, MAY23 + i), MP_OK);
    }
    ck_assert_uint_eq(vp_df(store, U("kim"), false, "kettle"), 10); /* the default: all */
    struct mp_store_view *v = view_with_ceiling(store, U("kim"), 4, &ix);
    char kettle[MP_TERMS_MAX + 1];
    vp_term_of("kettle", kettle);
    ck_assert_uint_eq(ix.df_upto(ix.ctx, kettle, strlen(kettle), 1), 2); /* one past: read short */
    ck_assert_uint_gt(ix.df(ix.ctx, kettle, strlen(kettle)), 2);         /* sampled: an estimate */
    const uint32_t otter = 13;                                           /* turn 7's user message */
    struct view_score got = score_view(v, "otter kettle whistled", &otter, 1);
    ck_assert_uint_eq(got.scored, 3); /* the otter's, and the kettle's sample */
    ck_assert_uint_eq(got.capped, 1); /* whistled's sample did not fit */
    ck_assert_uint_ge(got.nh, 1);
    ck_assert(got.hit[0]);
    mp_store_view_close(v);
    fx_close_backend(store, _i);
}
END_TEST

/* The seqs of the user messages of turns[0..n) (fx_turn: turn i's user
 * message is seq 2i - 1), the newest want of them into out, ascending. */
static size_t newest_seqs(const uint8_t *turns, size_t n, size_t want, uint32_t *out)
{
    size_t from = n > want ? n - want : 0;
    for (size_t i = from; i < n; i++)
        out[i - from] = 2u * turns[i] - 1;
    return n - from;
}

/* A term more items hold than the view's sample (half the ceiling:
 * 8 here) is read through its newest 8 postings, ids ascending, and its df
 * is estimated from the density of the oldest and newest reads: spread
 * evenly, a few late after many early (the windows reach back to the
 * oldest read: the count is exact), and many late after a few early (a
 * window too wide is narrowed). */
START_TEST(test_index_view_samples_the_newest_postings_of_a_common_term)
{
    struct mp_store *store = fx_open_backend(_i);
    static const struct {
        const char *user;
        uint8_t turns[64];
        size_t n;
        uint32_t df_lo, df_hi; /* the estimate's bounds */
    } shapes[] = {
        {"even",
         {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
          21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40},
         40,
         36,
         44},
        {"early", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 37, 40}, 18, 18, 18},
        {"late",
         {1,  2,  30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
          44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59},
         32,
         16,
         48},
    };
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const char *u = shapes[s].user;
        size_t ulen = strlen(u);
        record_kettle_turns(store, u, ulen, shapes[s].turns, shapes[s].n,
                            shapes[s].turns[shapes[s].n - 1]);
        struct mp_relevance_index ix;
        struct mp_store_view *v = view_with_ceiling(store, u, ulen, 16, &ix);
        char kettle[MP_TERMS_MAX + 1];
        vp_term_of("kettle", kettle);
        size_t kl = strlen(kettle);
        ck_assert_uint_eq(ix.df_upto(ix.ctx, kettle, kl, 8), 9); /* more than 8: all it asks */
        uint32_t df = ix.df(ix.ctx, kettle, kl);
        ck_assert_uint_ge(df, shapes[s].df_lo);
        ck_assert_uint_le(df, shapes[s].df_hi);
        struct vp_hits h = vp_view_sample(v, false, "kettle");
        ck_assert_uint_eq(h.df, df); /* one estimate */
        uint32_t want[8];
        size_t nwant = newest_seqs(shapes[s].turns, shapes[s].n, 8, want);
        ck_assert_uint_eq(h.n, nwant);
        for (size_t i = 0; i < nwant; i++)
            ck_assert_uint_eq(h.p[i].item, want[i]);
        mp_store_view_close(v);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* Whether turn i (1-based) of shape holds the word, for the shapes of the
 * test below: 250 turns each. */
static bool shape_holds(int shape, unsigned i)
{
    switch (shape) {
    case 0: /* nine spread thin, sparser, then every turn: each window measures the
               density below the densest part, and the reads spend their budget */
        return i == 1 || (i % 20 == 0 && i <= 160) || (i > 160 && i % 5 == 0) || i > 230;
    case 1: /* nine early, a long silence, four at the end: windows widen to the edge */
        return i <= 9 || i > 246;
    default: /* blocks of ten among silences of thirty: density jumps at every step */
        return i <= 9 || i % 40 < 10;
    }
}

/* However a common word's postings lie, the view reads at most five
 * samples' worth for it (relevance.h, the ceiling): its first read (the
 * oldest sample + 1) and windows that stop at four samples. The sample is
 * ascending and every posting in it is the word's; where the windows
 * reach the first read, it is the newest 8 exactly and the df is exact. */
START_TEST(test_index_view_sample_reads_at_most_five_samples)
{
    struct mp_store *store = fx_open_backend(_i);
    static const char *const users[] = {"thin-then-dense", "silence", "blocks"};
    for (int sh = 0; sh < 3; sh++) {
        size_t ulen = strlen(users[sh]), n = 0;
        uint8_t turns[250];
        uint32_t newest[8];
        for (unsigned i = 1; i <= 250; i++)
            if (shape_holds(sh, i))
                turns[n++] = (uint8_t)i;
        record_kettle_turns(store, users[sh], ulen, turns, n, 250);
        ck_assert_uint_eq(newest_seqs(turns, n, 8, newest), 8);
        struct mp_relevance_index ix;
        struct mp_store_view *v = view_with_ceiling(store, users[sh], ulen, 16, &ix);
        ck_assert_uint_eq(mp_store_view_postings_read(v), 0);
        struct vp_hits h = vp_view_sample(v, false, "kettle");
        uint64_t read = mp_store_view_postings_read(v);
        ck_assert_msg(read <= 5 * 8 + 2, "%s: %llu postings read", users[sh],
                      (unsigned long long)read);
        ck_assert_msg(read > 9, "%s: the windows read nothing", users[sh]);
        ck_assert_uint_eq(h.n, 8);
        for (size_t k = 0; k < h.n; k++) {
            ck_assert(k == 0 || h.p[k - 1].item < h.p[k].item);
            ck_assert_uint_eq(h.p[k].item % 2, 1); /* a user message */
            ck_assert(shape_holds(sh, (h.p[k].item + 1) / 2));
        }
        if (sh == 1) { /* the windows met the first read: exact */
            ck_assert_uint_eq(h.df, n);
            for (size_t k = 0; k < 8; k++)
                ck_assert_uint_eq(h.p[k].item, newest[k]);
        }
        mp_store_view_close(v);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* Scoring reads a common term through its sample and charges the ceiling
 * the sample's postings: the rarer term still fits, the newest items of
 * the common one are found, an old item that holds only the common term is
 * not read at all, and no term was skipped. */
START_TEST(test_index_scoring_reads_a_sampled_term_within_the_ceiling)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_relevance_index ix;
    for (uint8_t i = 1; i <= 40; i++) {
        const char *said = i == 3 ? "the kettle and the otter" : "the kettle again";
        ck_assert_int_eq(fx_turn(store, U("kim"), i, said, "yes", MAY23 + i, MAY23 + i), MP_OK);
    }
    struct mp_store_view *v = view_with_ceiling(store, U("kim"), 17, &ix);
    /* turn 3's user message (the otter), turn 40's (the newest), turn 21's
       (not in the sample) */
    const uint32_t items[] = {5, 79, 41};
    struct view_score got = score_view(v, "kettle otter", items, 3);
    ck_assert_uint_eq(got.scored, 9); /* the kettle's 8 and the otter's */
    ck_assert_uint_eq(got.capped, 0);
    ck_assert(got.hit[0]);
    ck_assert(got.hit[1]);
    ck_assert(!got.hit[2]);
    mp_store_view_close(v);
    fx_close_backend(store, _i);
}
END_TEST

/* A term read short (df_upto) and asked again for more goes on after the
 * last posting it read: every posting once, in id order, the count exact. */
START_TEST(test_index_view_goes_on_from_a_short_read)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    for (uint8_t i = 1; i <= 10; i++)
        ck_assert_int_eq(
            fx_turn(store, U("kim"), i, "the kettle again", "yes", MAY23 + i, MAY23 + i), MP_OK);
    ck_assert_int_eq(mp_store_view_open(store, U("kim"), &v), MP_OK);
    mp_store_view_index(v, false, &ix);
    char kettle[MP_TERMS_MAX + 1];
    vp_term_of("kettle", kettle);
    size_t kl = strlen(kettle);
    ck_assert_uint_eq(ix.df_upto(ix.ctx, kettle, kl, 0), 1);
    ck_assert_uint_eq(ix.df_upto(ix.ctx, kettle, kl, 3), 4);
    ck_assert_uint_eq(ix.df_upto(ix.ctx, kettle, kl, 3), 4); /* kept, not read again */
    ck_assert_uint_eq(ix.df_upto(ix.ctx, kettle, kl, 100), 10);
    /* df and postings agree, ids ascending: no posting twice */
    ck_assert_uint_eq(vp_view_hits(v, false, "kettle").n, 10);
    mp_store_view_close(v);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- postings written before they carried their item's length ---- */

#define OLD_POSTINGS_MAX 256

struct old_postings {
    unsigned char k[OLD_POSTINGS_MAX][MP_STORE_KEY_MAX];
    size_t klen[OLD_POSTINGS_MAX];
    unsigned char v[OLD_POSTINGS_MAX][MP_INDEX_POSTING_LEN];
    size_t n;
};

static int on_posting_record(void *arg, const unsigned char *key, size_t klen,
                             const unsigned char *val, size_t vlen)
{
    struct old_postings *o = arg;
    ck_assert_uint_lt(o->n, OLD_POSTINGS_MAX);
    ck_assert_uint_eq(vlen, MP_INDEX_POSTING_LEN); /* written with the length */
    memcpy(o->k[o->n], key, klen);
    o->klen[o->n] = klen;
    memcpy(o->v[o->n], val, vlen);
    o->n++;
    return MP_OK;
}

/* Rewrites every posting of user as a store written before the length
 * did: its first MP_INDEX_POSTING_LEN_OLD bytes. */
static void postings_to_old_format(struct mp_store *store, const char *user, size_t ulen)
{
    static struct old_postings o;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, ulen);
    struct mp_store_txn txn;
    o.n = 0;
    ck_assert_int_eq(store->be->begin(store, true, &txn), MP_OK);
    ck_assert_int_eq(
        store->be->scan(&txn, MP_TABLE_POSTINGS, prefix, plen, plen, on_posting_record, &o), MP_OK);
    ck_assert_uint_gt(o.n, 0);
    for (size_t i = 0; i < o.n; i++)
        ck_assert_int_eq(store->be->put(&txn, MP_TABLE_POSTINGS, o.k[i], o.klen[i], o.v[i],
                                        MP_INDEX_POSTING_LEN_OLD),
                         MP_OK);
    ck_assert_int_eq(store->be->end(&txn, true), MP_OK);
}

/* user's hits for q with the request path's presets, into h[0..*nh). */
static void score_turns(struct mp_store *store, const char *user, size_t ulen, const char *q,
                        struct mp_relevance_hit **h, size_t *nh)
{
    struct mp_store_view *v = NULL;
    struct mp_relevance_index ix;
    struct mp_relevance_params p;
    struct mp_terms *t = NULL;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_index(v, false, &ix);
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    p.survivors = 3; /* fewer than the candidates: the survivors' path too */
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &ix, &p, q, strlen(q), NULL, 0, h, nh), MP_OK);
    mp_terms_free(t);
    mp_store_view_close(v);
}

START_TEST(test_index_postings_without_their_length_score_the_same)
{
    struct mp_store *store = fx_open_backend(_i);
    static const char *const said[] = {
        "the kettle boiled over",    "an otter by the river", "the kettle and the otter",
        "river stones and a kettle", "nothing of note",       "the otter swam the river twice"};
    for (uint8_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
        ck_assert_int_eq(fx_turn(store, U("lee"), (uint8_t)(i + 1), said[i], "I see",
                                 MAY23 + i * HOUR, MAY23 + i * HOUR),
                         MP_OK);
    struct mp_relevance_posting one = vp_only_hit(store, U("lee"), false, "boiled");
    struct mp_relevance_item it;
    ck_assert(one.has_len);
    ck_assert_int_eq(vp_item(store, U("lee"), false, one.item, &it), MP_OK);
    ck_assert_uint_eq(one.len, it.len); /* the item's content length, stop words aside */
    ck_assert_uint_eq(it.len, 2);
    struct mp_relevance_hit *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    score_turns(store, U("lee"), "kettle otter river", &a, &na);
    postings_to_old_format(store, U("lee"));
    score_turns(store, U("lee"), "kettle otter river", &b, &nb);
    ck_assert_uint_gt(na, 3);
    ck_assert_uint_eq(na, nb);
    for (size_t k = 0; k < na; k++) {
        ck_assert_uint_eq(a[k].item, b[k].item);
        ck_assert(a[k].score == b[k].score);
    }
    free(a);
    free(b);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_index_same_ops_give_the_same_answers)
{
    struct mp_store *a = fx_open_backend(_i), *b;
    char first[64];
    write_script(a, U("mel"));
    char *da = vp_dump(a, U("mel"), script_words, NSCRIPT);
    ck_assert_ptr_nonnull(strstr(da, "city=Porto rev"));
    ck_assert_uint_eq(vp_df(a, U("mel"), false, "Rex"), 0);  /* erased */
    ck_assert_uint_eq(vp_df(a, U("mel"), true, "bench"), 0); /* swept */
    memcpy(first, fx_dir, sizeof(first));
    b = fx_open_backend(_i);
    write_script(b, U("mel"));
    char *db = vp_dump(b, U("mel"), script_words, NSCRIPT);
    ck_assert_str_eq(da, db);
    fx_close_backend(b, _i);
    free(db);
    /* and the other backend answers the same */
    b = fx_open_backend(1 - _i);
    write_script(b, U("mel"));
    db = vp_dump(b, U("mel"), script_words, NSCRIPT);
    ck_assert_str_eq(da, db);
    fx_close_backend(b, 1 - _i);
    free(da);
    free(db);
    memcpy(fx_dir, first, sizeof(fx_dir));
    fx_close_backend(a, _i);
}
END_TEST

START_TEST(test_index_lmdb_compaction_and_rekey_keep_the_answers)
{
    struct mp_store *store = fx_open_backend(LMDB);
    write_script(store, U("mel"));
    char *before = vp_dump(store, U("mel"), script_words, NSCRIPT);
    fx_compact(store);
    char *after = vp_dump(store, U("mel"), script_words, NSCRIPT);
    ck_assert_str_eq(after, before);
    free(after);
    /* clear to sealed: every term gets its tag under the new key */
    mp_store_free(store);
    ck_assert(fx_dir_has_fold("quokkafarm"));
    fx_rekey(NULL, &fx_key_a);
    ck_assert(!fx_dir_has_fold("quokkafarm"));
    fx_opts.key = &fx_key_a;
    store = fx_open_existing();
    after = vp_dump(store, U("mel"), script_words, NSCRIPT);
    ck_assert_str_eq(after, before);
    free(after);
    ck_assert_uint_eq(vp_df(store, U("mel"), true, "quokkafarm"), 1);
    /* and writes after it index under the same tags */
    ck_assert_int_eq(fx_upsert(store, U("mel"), "pet", "wombat", MP_TRUST_STATED, MAY23 + 9 * DAY),
                     MP_OK);
    ck_assert_uint_eq(vp_df(store, U("mel"), true, "wombat"), 1);
    mp_store_free(store);
    /* sealed to sealed */
    fx_rekey(&fx_key_a, &fx_key_b);
    fx_opts.key = &fx_key_b;
    store = fx_open_existing();
    ck_assert_uint_eq(vp_df(store, U("mel"), true, "wombat"), 1);
    ck_assert_int_eq(del_entity(store, U("mel"), "pet", MAY23 + 10 * DAY), MP_OK);
    after = vp_dump(store, U("mel"), script_words, NSCRIPT);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    fx_close_backend(store, LMDB);
}
END_TEST

/* The longest keys of the format: a user key of MP_USER_KEY_MAX bytes, a
 * fact key of MP_ENTITY_KEY_MAX and a term of MP_TERMS_MAX (factkeys, histx
 * and postings keys of MP_STORE_KEY_MAX bytes or near it). */
START_TEST(test_index_lmdb_longest_keys_survive_compaction_and_rekey)
{
    static char user[MP_USER_KEY_MAX];
    char key[MP_ENTITY_KEY_MAX + 1], word[MP_TERMS_MAX + 1];
    memset(user, 'u', sizeof(user));
    memset(key, 'k', MP_ENTITY_KEY_MAX);
    key[MP_ENTITY_KEY_MAX] = '\0';
    memset(word, 'w', MP_TERMS_MAX);
    word[MP_TERMS_MAX] = '\0';
    const char *const words[] = {word, key, "fine", "@may"};
    struct mp_store *store = fx_open_backend(LMDB);
    ck_assert_int_eq(fx_turn(store, user, sizeof(user), 1, word, "fine", MAY23, MAY23), MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, sizeof(user), key, word, MP_TRUST_STATED, MAY23),
                     MP_OK);
    char *before = vp_dump(store, user, sizeof(user), words, 4);
    ck_assert_uint_eq(vp_df(store, user, sizeof(user), true, word), 1);
    ck_assert_uint_eq(vp_df(store, user, sizeof(user), true, key), 1);
    fx_compact(store);
    char *after = vp_dump(store, user, sizeof(user), words, 4);
    ck_assert_str_eq(after, before);
    free(after);
    mp_store_free(store);
    fx_rekey(NULL, &fx_key_a);
    fx_opts.key = &fx_key_a;
    store = fx_open_existing();
    after = vp_dump(store, user, sizeof(user), words, 4);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    fx_close_backend(store, LMDB);
}
END_TEST

/* ---- canaries in the files (LMDB) ---- */

START_TEST(test_index_lmdb_erased_fact_leaves_no_word_in_the_files)
{
    struct mp_store *store = fx_open_backend(LMDB);
    int64_t t = MAY23;
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "we call him ZORBLAXING", "what a name", t, t),
                     MP_OK);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 2, "zorblaxing again and again", "sure", t + HOUR, t + HOUR),
        MP_OK);
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 3, "the kettle", "kettle", t + 2 * HOUR, t + 2 * HOUR), MP_OK);
    ck_assert_int_eq(upsert_from(store, U("ann"), "dog_name", "Zorblaxing", t, 1, 2), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("ann"), "ann has a dog", 4, t + 3 * HOUR), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("bob"), 1, "bob's kettle", "ok", t, t), MP_OK);
    ck_assert(fx_dir_has_fold("zorblaxing"));
    ck_assert(fx_dir_has_fold("zorblax")); /* the stem: a term of the index */
    ck_assert_int_eq(del_entity(store, U("ann"), "dog_name", t + 4 * HOUR), MP_OK);
    fx_compact(store);
    ck_assert(!fx_dir_has_fold("zorblax"));
    store = fx_reopen(store, LMDB);
    ck_assert(!fx_dir_has_fold("zorblax"));
    ck_assert(fx_dir_has_fold("kettle"));
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kettle"), 2);
    ck_assert_uint_eq(vp_df(store, U("bob"), false, "kettle"), 1);
    fx_close_backend(store, LMDB);
}
END_TEST

/* A fact and two messages with a canary word, its stem and key. */
static void fill_secret(struct mp_store *store)
{
    ck_assert_int_eq(
        fx_turn(store, U("ann"), 1, "my word is Zorblaxing", "Zorblaxing, noted", MAY23, MAY23),
        MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, U("ann"), "quokkafarm_code", "Zorblaxing", MP_TRUST_STATED, MAY23), MP_OK);
}

START_TEST(test_index_lmdb_sealed_store_keeps_no_word_stem_or_key)
{
    static const char *const secrets[] = {"zorblaxing", "zorblax", "quokkafarm"};
    for (int sealed = 0; sealed < 2; sealed++) {
        struct mp_store *store = sealed ? fx_open_sealed() : fx_open_backend(LMDB);
        fill_secret(store);
        store = fx_reopen(store, LMDB);
        ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "Zorblaxing").tc, 1);
        ck_assert_uint_eq(vp_only_hit(store, U("ann"), true, "quokkafarm").tk, 1);
        ck_assert_uint_eq(vp_df(store, U("ann"), false, "Zorblaxing"), 2);
        mp_store_free(store);
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
            ck_assert_msg(fx_dir_has_fold(secrets[i]) == !sealed, "%s, sealed %d", secrets[i],
                          sealed);
        fx_remove_dir();
    }
}
END_TEST

/* ---- format 2 fixtures (test_store_format.c) ---- */

static size_t fact_entries(struct mp_store *store, const char *user, size_t ulen, const char *key)
{
    struct mp_history *h = fx_history(store, user, ulen);
    size_t n = 0;
    for (size_t i = 0; i < h->nitems; i++)
        n += h->items[i].item == MP_ITEM_FACT && strcmp(h->items[i].entity.key, key) == 0;
    mp_history_free(h);
    return n;
}

START_TEST(test_index_format_v2_converts_into_archive_and_index)
{
    struct mp_store *store =
        fx_open_fixture(MP_FORMAT_FIXTURE_DIR, _i ? "sealed" : "clear", _i ? &fx_key_a : NULL);
    struct mp_store_view *v = NULL;
    const struct mp_mem_entity *e;
    /* alice's buffer (seqs 3 and 4; 1 and 2 were folded before the
       archive existed) entered the archive and its index */
    vp_archive_is(store, U("alice"), (uint64_t[]){3, 4, 0});
    struct mp_relevance_posting p = vp_only_hit(store, U("alice"), false, "Paris");
    ck_assert_uint_eq(p.item, 3);
    ck_assert_uint_eq(p.tc, 1);
    ck_assert_uint_eq(vp_df(store, U("alice"), false, "@1970"), 2);
    ck_assert_uint_eq(vp_df(store, U("alice"), false, "Tom"), 0);
    ck_assert_uint_eq(vp_stats(store, U("alice"), false).n, 2);
    struct mp_user_info list[8];
    size_t n = fx_list_all(store, mp_store_all_tenants, 3, list, 8);
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        if (!fx_info_is(&list[i], U("alice")))
            continue;
        seen = true;
        ck_assert_uint_eq(list[i].narchive, 2);
        ck_assert_uint_eq(list[i].nfacts, 2);
    }
    ck_assert(seen);
    /* the facts are records, indexed: value and key words */
    p = vp_only_hit(store, U("alice"), true, "dog");
    ck_assert_int_eq(mp_store_view_open(store, U("alice"), &v), MP_OK);
    ck_assert_int_eq(mp_store_view_fact_ref(v, p.item, &e), MP_OK);
    ck_assert_str_eq(e->key, "pet");
    ck_assert_str_eq(e->value, "dog");
    mp_store_view_close(v);
    ck_assert_uint_eq(vp_only_hit(store, U("alice"), true, "pet").tk, 1);
    p = vp_only_hit(store, U("alice"), true, "Paris");
    ck_assert_uint_eq(p.tc, 1);
    ck_assert_uint_eq(vp_stats(store, U("alice"), true).n, 2);
    ck_assert_uint_eq(vp_df(store, U("alice"), true, "cat"), 0); /* a past value */
    vp_index_consistent(store, U("alice"), true, "@1970");
    vp_index_consistent(store, U("alice"), false, "@1970");
    /* a tenant's user too */
    char carol[64];
    size_t clen = fx_tenant_key(carol, 0x11, "carol");
    ck_assert_uint_eq(vp_df(store, carol, clen, false, "tenant"), 2);
    ck_assert_uint_eq(vp_df(store, carol, clen, true, "blue"), 1);
    /* the history cap reaches a converted fact's old entries (histx) */
    ck_assert_uint_eq(fact_entries(store, U("alice"), "pet"), 3);
    mp_store_set_history_cap(store, 2);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "pet", "parrot", MP_TRUST_STATED, 900), MP_OK);
    ck_assert_uint_eq(fact_entries(store, U("alice"), "pet"), 2);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_str_eq(h->items[h->nitems - 2].entity.value, "dog"); /* SUPERSEDED */
    mp_history_free(h);
    ck_assert_uint_eq(vp_only_hit(store, U("alice"), true, "parrot").item, 3);
    ck_assert_uint_eq(vp_df(store, U("alice"), true, "dog"), 0);
    /* an erasure reaches a converted message */
    ck_assert_int_eq(del_entity(store, U("alice"), "city", 950), MP_OK);
    vp_archive_is(store, U("alice"), (uint64_t[]){4, 0});
    ck_assert_uint_eq(vp_df(store, U("alice"), false, "Paris"), 0);
    fx_close_backend(store, LMDB);
}
END_TEST

/* ---- the archive, page by page ---- */

#define PAGED_TURNS 150

START_TEST(test_index_archive_pages_oldest_first_and_the_cursor_continues)
{
    struct mp_store *store = fx_open_backend(_i);
    static struct mp_mem_message msgs[PAGED_TURNS][2];
    static char text[PAGED_TURNS][2][32];
    static struct mp_op ops[PAGED_TURNS];
    for (int i = 0; i < PAGED_TURNS; i++) {
        for (int k = 0; k < 2; k++) {
            snprintf(text[i][k], sizeof(text[i][k]), "message %d", 2 * i + k + 1);
            msgs[i][k] = fx_msg(k == 0 ? MP_ROLE_USER : MP_ROLE_ASSISTANT, text[i][k], MAY23 + i);
        }
        ops[i] = fx_turn_op(U("ann"), (uint8_t)i, msgs[i], 2, MAY23 + i);
    }
    ck_assert_int_eq(mp_store_apply(store, ops, PAGED_TURNS / 2), MP_OK);
    ck_assert_int_eq(mp_store_apply(store, ops + PAGED_TURNS / 2, PAGED_TURNS / 2), MP_OK);
    static uint64_t seqs[2 * PAGED_TURNS];
    size_t limits[] = {1, 7, 100, 300, 1000};
    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        size_t n = vp_archive_seqs(store, U("ann"), limits[l], seqs, 2 * PAGED_TURNS);
        ck_assert_uint_eq(n, 2 * PAGED_TURNS);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(seqs[i], i + 1);
    }
    /* one page in detail: contents, oldest first, from a cursor mid-way */
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(store, U("ann"), 150, 5, &m, &n, &more), MP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert(more);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "message %zu", 151 + i);
        ck_assert_uint_eq(m[i].seq, 151 + i);
        ck_assert_str_eq(m[i].content, want);
        ck_assert_int_eq(m[i].role, i % 2 == 0 ? MP_ROLE_USER : MP_ROLE_ASSISTANT);
    }
    mp_store_messages_free(m, n);
    /* the last page exactly: no more */
    ck_assert_int_eq(mp_store_archive(store, U("ann"), 290, 10, &m, &n, &more), MP_OK);
    ck_assert_uint_eq(n, 10);
    ck_assert(!more);
    ck_assert_uint_eq(m[9].seq, 300);
    mp_store_messages_free(m, n);
    ck_assert_int_eq(mp_store_archive(store, U("ann"), 300, 10, &m, &n, &more), MP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert(!more);
    mp_store_messages_free(m, n);
    ck_assert_int_eq(mp_store_archive(store, U("ann"), UINT64_MAX, 10, &m, &n, &more), MP_OK);
    ck_assert_uint_eq(n, 0);
    mp_store_messages_free(m, n);
    /* gaps: erased messages are skipped, the cursor still continues */
    ck_assert_int_eq(fx_upsert(store, U("ann"), "m", "message 42", MP_TRUST_STATED, MAY23 + DAY),
                     MP_OK);
    ck_assert_int_eq(del_entity(store, U("ann"), "m", MAY23 + 2 * DAY), MP_OK);
    n = vp_archive_seqs(store, U("ann"), 4, seqs, 2 * PAGED_TURNS);
    ck_assert_uint_eq(n, 2 * PAGED_TURNS - 1);
    ck_assert_uint_eq(seqs[40], 41);
    ck_assert_uint_eq(seqs[41], 43);
    /* misses and bad input */
    ck_assert_int_eq(mp_store_archive(store, U("nobody"), 0, 10, &m, &n, &more), MP_NOTFOUND);
    ck_assert_int_eq(mp_store_archive(store, U("ann"), 0, 0, &m, &n, &more), MP_EINVAL);
    ck_assert_int_eq(mp_store_archive(store, "", 0, 0, 10, &m, &n, &more), MP_EINVAL);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- scale (LMDB) ---- */

#define SCALE_FACTS  100000u
#define SCALE_BATCH  1000u
#define SCALE_STRONG (SCALE_FACTS / 2) /* the one CORRECTED fact */
#define SCALE_RARE   (SCALE_FACTS - 22223)

#define RANK_KEYS 256 /* keys a rank_count keeps */

/* A ranked walk that keeps the first RANK_KEYS keys and stops after
 * stop_at facts (0: never). */
struct rank_count {
    size_t calls, stop_at;
    char keys[RANK_KEYS][MP_ENTITY_KEY_MAX + 1];
};

/* A fact the view hands out carries its block text, as the memory block
 * writes it (written when offered, on a replay too). */
static void assert_block_text(const struct mp_mem_entity *e)
{
    char text[MP_MEMBLOCK_FACT_TEXT_MAX];
    ck_assert_ptr_nonnull(e->block_text);
    size_t n = mp_memblock_fact_text(e, text);
    ck_assert_uint_eq(e->block_len, n);
    ck_assert(memcmp(e->block_text, text, n) == 0);
}

static int on_ranked(void *arg, const struct mp_mem_entity *e)
{
    struct rank_count *rc = arg;
    assert_block_text(e);
    if (rc->calls < RANK_KEYS)
        snprintf(rc->keys[rc->calls], sizeof(rc->keys[0]), "%s", e->key);
    rc->calls++;
    return rc->calls == rc->stop_at ? 1 : 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(test_index_lmdb_user_of_100k_facts)
{
    struct mp_store *store = fx_open_sized(LMDB, 64ull << 20, 16ull << 30);
    static struct mp_op ops[SCALE_BATCH];
    static char values[SCALE_BATCH][64];
    struct timespec t0;
    char key[16];
    mp_store_set_max_facts(store, SCALE_FACTS);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t b = 0; b < SCALE_FACTS; b += SCALE_BATCH) {
        for (uint32_t j = 0; j < SCALE_BATCH; j++) {
            uint32_t i = b + j;
            snprintf(values[j], sizeof(values[j]),
                     i == SCALE_RARE ? "quetzalcoatl feather %u" : "value %u of blue green item",
                     i);
            snprintf(key, sizeof(key), "k%06u", i);
            ops[j] =
                fx_upsert_op(U("atlas"), key, values[j],
                             i == SCALE_STRONG ? MP_TRUST_CORRECTED : MP_TRUST_STATED, MAY23 + i);
        }
        ck_assert_int_eq(mp_store_apply(store, ops, SCALE_BATCH), MP_OK);
        for (uint32_t j = 0; j < SCALE_BATCH; j++)
            ck_assert_int_eq(ops[j].result, MP_OK);
    }
    double load = seconds_since(&t0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* the count, and the cap on new keys */
    struct mp_user_info list[2];
    ck_assert_uint_eq(fx_list_all(store, NULL, 2, list, 2), 1);
    ck_assert_uint_eq(list[0].nfacts, SCALE_FACTS);
    ck_assert_uint_eq(vp_stats(store, U("atlas"), true).n, SCALE_FACTS);
    ck_assert_int_eq(fx_upsert(store, U("atlas"), "one_more", "v", MP_TRUST_ADMIN, MAY23),
                     MP_ETOOBIG);
    /* the strongest first, and a walk that stops reads no further */
    struct rank_count rc = {.stop_at = 5};
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, U("atlas"), &v), MP_OK);
    ck_assert_int_eq(mp_store_view_ranked_facts(v, on_ranked, &rc), MP_OK);
    ck_assert_uint_eq(rc.calls, 5);
    snprintf(key, sizeof(key), "k%06u", SCALE_STRONG);
    ck_assert_str_eq(rc.keys[0], key);
    for (uint32_t k = 1; k < 5; k++) {
        snprintf(key, sizeof(key), "k%06u", SCALE_FACTS - k); /* then the newest */
        ck_assert_str_eq(rc.keys[k], key);
    }
    /* one fact by its rare word */
    struct vp_hits h = vp_view_hits(v, true, "quetzalcoatl");
    ck_assert_uint_eq(h.df, 1);
    const struct mp_mem_entity *e;
    ck_assert_int_eq(mp_store_view_fact_ref(v, h.p[0].item, &e), MP_OK);
    snprintf(key, sizeof(key), "k%06u", SCALE_RARE);
    ck_assert_str_eq(e->key, key);
    snprintf(key, sizeof(key), "k%06u", SCALE_RARE);
    ck_assert_uint_eq(vp_view_hits(v, true, key).df, 1);
    mp_store_view_close(v);
    double reads = seconds_since(&t0);
    /* an existing key still takes a new value at the cap */
    snprintf(key, sizeof(key), "k%06u", SCALE_RARE);
    ck_assert_int_eq(
        fx_upsert(store, U("atlas"), key, "plain feather", MP_TRUST_STATED, MAY23 + SCALE_FACTS),
        MP_OK);
    ck_assert_uint_eq(vp_df(store, U("atlas"), true, "quetzalcoatl"), 0);
    /* and all of it goes in one DELETE_USER */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct mp_op gone = {.kind = MP_OP_DELETE_USER, .user = "atlas", .user_len = 5};
    ck_assert_int_eq(fx_apply1(store, &gone), MP_OK);
    double del = seconds_since(&t0);
    ck_assert(fx_absent(store, U("atlas")));
    ck_assert_uint_eq(fx_list_all(store, NULL, 2, list, 2), 0);
    fprintf(stderr, "100k facts: load %.2f s, reads %.3f s, delete %.2f s\n", load, reads, del);
    fx_close_backend(store, LMDB);
}
END_TEST

/* A view reads the same whether its backend fetched the user whole at open
 * (PostgreSQL, up to 256 facts and archived messages) or reads as it
 * goes (a bigger user): both sides of that line, on every backend. */
START_TEST(test_index_view_reads_alike_below_and_above_the_whole_user_fetch)
{
    struct mp_store *store = fx_open_backend(_i);
    static const struct {
        const char *user;
        int turns; /* 2 archived messages each */
    } users[] = {{"small", 20}, {"big", 140}};
    for (size_t u = 0; u < 2; u++) {
        size_t ulen = strlen(users[u].user);
        char said[64];
        for (int t = 1; t <= users[u].turns; t++) {
            snprintf(said, sizeof(said), "turn %d about kayaks", t);
            ck_assert_int_eq(fx_turn(store, users[u].user, ulen, (uint8_t)t, said, "noted", t, t),
                             MP_OK);
        }
        ck_assert_int_eq(fx_upsert(store, users[u].user, ulen, "boat", "kayak", MP_TRUST_STATED, 9),
                         MP_OK);
        struct mp_store_view *v = NULL;
        struct mp_mem_message m;
        struct mp_relevance_index ix;
        ck_assert_int_eq(mp_store_view_open(store, users[u].user, ulen, &v), MP_OK);
        uint64_t last = 2 * (uint64_t)users[u].turns;
        ck_assert_int_eq(mp_store_view_message(v, last - 1, &m), MP_OK);
        snprintf(said, sizeof(said), "turn %d about kayaks", users[u].turns);
        ck_assert_uint_eq(m.content_len, strlen(said));
        ck_assert(memcmp(m.content, said, m.content_len) == 0);
        free(m.content);
        ck_assert_int_eq(mp_store_view_message(v, last + 1, &m), MP_NOTFOUND);
        mp_store_view_index(v, false, &ix);
        ck_assert_uint_eq(ix.n, last);
        ck_assert_uint_eq(ix.df(ix.ctx, "kayak", 5), (uint32_t)users[u].turns); /* postings */
        mp_store_view_close(v);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* The recent order, read two ways: a user of at most 256 facts has them
 * read whole and sorted by the view, a bigger one walks factrank. Both
 * give the factrank order: trust, confidence as factrank scales it (0.5
 * and 0.500001 tie), observed time, then the key by length and bytes. */
START_TEST(test_index_ranked_order_alike_below_and_above_the_whole_facts_read)
{
    struct mp_store *store = fx_open_backend(_i);
    static const struct {
        const char *key;
        enum mp_trust trust;
        double confidence;
        int64_t observed;
    } facts[] = {
        {"abc", MP_TRUST_STATED, 0.5, 100},   {"q", MP_TRUST_STATED, 0.49999, 100},
        {"inf", MP_TRUST_INFERRED, 1.0, 100}, {"b", MP_TRUST_STATED, 0.5, 100},
        {"old", MP_TRUST_STATED, 0.5, 50},    {"ab", MP_TRUST_STATED, 0.500001, 100},
        {"corr", MP_TRUST_CORRECTED, 0.3, 1}, {"z", MP_TRUST_STATED, 0.50001, 100},
        {"aa", MP_TRUST_STATED, 0.5, 100},    {"sure", MP_TRUST_STATED, 0.9, 10},
    };
    static const char *const order[] = {"corr", "sure", "b",   "z", "aa",
                                        "ab",   "abc",  "old", "q", "inf"};
    static const struct {
        const char *user;
        unsigned fillers; /* weaker facts after the ten */
    } users[] = {{"small", 0}, {"big", 250}};
    char key[16], value[32];
    for (size_t u = 0; u < 2; u++) {
        size_t ulen = strlen(users[u].user);
        for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
            struct mp_op op = fx_upsert_op(users[u].user, ulen, facts[i].key, "v", facts[i].trust,
                                           facts[i].observed);
            op.u.entity.confidence = facts[i].confidence;
            ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
        }
        for (unsigned f = 0; f < users[u].fillers; f++) {
            snprintf(key, sizeof(key), "f%03u", f);
            snprintf(value, sizeof(value), "filler %u", f);
            struct mp_op op = fx_upsert_op(users[u].user, ulen, key, value, MP_TRUST_INFERRED, 1);
            op.u.entity.confidence = 0.2;
            ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
        }
        struct rank_count rc = {.stop_at = 0};
        struct mp_store_view *v = NULL;
        ck_assert_int_eq(mp_store_view_open(store, users[u].user, ulen, &v), MP_OK);
        ck_assert_int_eq(mp_store_view_ranked_facts(v, on_ranked, &rc), MP_OK);
        ck_assert_uint_eq(rc.calls, 10 + users[u].fillers);
        for (size_t k = 0; k < 10; k++)
            ck_assert_str_eq(rc.keys[k], order[k]);
        /* a second walk replays the same facts, the view's own */
        struct rank_count again = {.stop_at = 3};
        ck_assert_int_eq(mp_store_view_ranked_facts(v, on_ranked, &again), MP_OK);
        ck_assert_uint_eq(again.calls, 3);
        ck_assert_str_eq(again.keys[2], "b");
        const struct mp_mem_entity *e = NULL, *e2 = NULL;
        struct vp_hits h = vp_view_hits(v, true, "filler");
        if (users[u].fillers > 0) {
            ck_assert_uint_gt(h.n, 0);
            ck_assert_int_eq(mp_store_view_fact_ref(v, h.p[0].item, &e), MP_OK);
            ck_assert_int_eq(mp_store_view_fact_ref(v, h.p[0].item, &e2), MP_OK);
            ck_assert_ptr_eq(e, e2); /* decoded once per view */
            ck_assert(strncmp(e->value, "filler ", 7) == 0);
            assert_block_text(e);
        }
        mp_store_view_close(v);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* The whole read's sort against the order computed here: 200 facts in a
 * scrambled order of trust, confidence, time and key length (ties on all
 * but the key among them), read back in the recent order. */
struct order_fact {
    char key[16];
    enum mp_trust trust;
    double confidence;
    int64_t observed;
};

static int order_fact_cmp(const void *pa, const void *pb)
{
    const struct order_fact *a = pa, *b = pb;
    long ca = lround(a->confidence * 65535.0), cb = lround(b->confidence * 65535.0);
    size_t la = strlen(a->key), lb = strlen(b->key);
    if (a->trust != b->trust)
        return a->trust > b->trust ? -1 : 1;
    if (ca != cb)
        return ca > cb ? -1 : 1;
    if (a->observed != b->observed)
        return a->observed > b->observed ? -1 : 1;
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a->key, b->key);
}

START_TEST(test_index_whole_read_sorts_many_facts_in_the_recent_order)
{
    struct mp_store *store = fx_open_backend(_i);
    static const enum mp_trust trusts[] = {MP_TRUST_INFERRED, MP_TRUST_STATED, MP_TRUST_CORRECTED};
    static const double confs[] = {0.3, 0.6, 0.9, 0.6000001};
    static struct order_fact f[200];
    static struct rank_count w;
    uint32_t x = 12345;
    for (size_t i = 0; i < 200; i++) {
        x = x * 1103515245u + 12345u; /* a fixed scramble */
        uint32_t r = x >> 8;
        snprintf(f[i].key, sizeof(f[i].key), "%.*sk%zu", (int)(r % 4), "xyz", i);
        f[i].trust = trusts[(r >> 2) % 3];
        f[i].confidence = confs[(r >> 4) % 4];
        f[i].observed = 1000 + (int64_t)((r >> 6) % 5);
        struct mp_op op = fx_upsert_op("many", 4, f[i].key, "v", f[i].trust, f[i].observed);
        op.u.entity.confidence = f[i].confidence;
        ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    }
    qsort(f, 200, sizeof(f[0]), order_fact_cmp);
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, "many", 4, &v), MP_OK);
    w = (struct rank_count){.stop_at = 0};
    ck_assert_int_eq(mp_store_view_ranked_facts(v, on_ranked, &w), MP_OK);
    ck_assert_uint_eq(w.calls, 200);
    for (size_t i = 0; i < 200; i++)
        ck_assert_str_eq(w.keys[i], f[i].key);
    mp_store_view_close(v);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- the term filter ---- */

/* The head record of user in a transaction of its own (write: to put it
 * back, the transaction left open), decoded; *k its key of *klen bytes. */
static struct mp_usermem *head_of(struct mp_store *store, bool write, struct mp_store_txn *txn,
                                  const char *user, size_t ulen, unsigned char *k, size_t *klen,
                                  struct mp_codec_user *meta)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, ulen);
    struct mp_store_plain pv;
    struct mp_usermem *um = NULL;
    *klen = plen - 2;
    memcpy(k, prefix + 2, *klen);
    ck_assert_int_eq(store->be->begin(store, write, txn), MP_OK);
    ck_assert_int_eq(mp_store_backend_get_plain(txn, MP_TABLE_USERS, k, *klen, &pv), MP_OK);
    ck_assert_int_eq(mp_codec_get_user(pv.p, pv.n, meta, &um), MP_OK);
    mp_store_backend_plain_done(&pv);
    if (!write)
        ck_assert_int_eq(store->be->end(txn, false), MP_OK);
    return um;
}

static struct mp_codec_user user_meta(struct mp_store *store, const char *user, size_t ulen)
{
    unsigned char k[MP_STORE_USER_PREFIX_MAX];
    size_t klen;
    struct mp_store_txn txn;
    struct mp_codec_user meta;
    mp_usermem_free(head_of(store, false, &txn, user, ulen, k, &klen, &meta));
    return meta;
}

/* Writes user's head record back with its filter set to *f (NULL: none,
 * which the codec writes as a record of version 3). */
static void put_user_filter(struct mp_store *store, const char *user, size_t ulen,
                            const struct mp_termfilter *f)
{
    unsigned char k[MP_STORE_USER_PREFIX_MAX];
    size_t klen;
    struct mp_store_txn txn;
    struct mp_codec_user meta;
    struct mp_usermem *um = head_of(store, true, &txn, user, ulen, k, &klen, &meta);
    meta.filtered = f != NULL;
    if (f != NULL)
        meta.filter = *f;
    size_t n = mp_codec_put_user(NULL, &meta, um);
    unsigned char *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    mp_codec_put_user(b, &meta, um);
    ck_assert_int_eq(mp_store_backend_put(&txn, MP_TABLE_USERS, k, klen, b, n), MP_OK);
    ck_assert_int_eq(store->be->end(&txn, true), MP_OK);
    free(b);
    mp_usermem_free(um);
}

/* ann: a fact and a turn, so both kinds hold terms. */
static void write_filter_user(struct mp_store *store)
{
    ck_assert_int_eq(fx_upsert(store, U("ann"), "favorite_color", "blue", MP_TRUST_STATED, MAY23),
                     MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "We went kayaking", "Sounds fun", MAY23, MAY23),
                     MP_OK);
}

START_TEST(test_index_term_filter_holds_what_was_added_and_few_others)
{
    struct mp_termfilter f;
    char t[32];
    memset(&f, 0, sizeof(f));
    ck_assert(!mp_termfilter_may_hold(&f, 0, "blue", 4));
    for (int i = 0; i < 200; i++) {
        int n = snprintf(t, sizeof(t), "term%d", i);
        mp_termfilter_add(&f, (unsigned)(i % 2), t, (size_t)n);
    }
    unsigned maybe = 0, other_kind = 0;
    for (int i = 0; i < 200; i++) {
        int n = snprintf(t, sizeof(t), "term%d", i);
        ck_assert(mp_termfilter_may_hold(&f, (unsigned)(i % 2), t, (size_t)n));
        other_kind += mp_termfilter_may_hold(&f, (unsigned)(1 - i % 2), t, (size_t)n);
    }
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(t, sizeof(t), "absent%d", i);
        maybe += mp_termfilter_may_hold(&f, (unsigned)(i % 2), t, (size_t)n);
    }
    /* 200 pairs in 2,048 bits, 3 probes: about 1.6% answer "maybe" */
    ck_assert_uint_le(maybe, 400);
    ck_assert_uint_le(other_kind, 8); /* the kind is part of the pair */
}
END_TEST

/* The view asks the user's filter before the postings: a filter that
 * lacks a term hides it (which is why every write must keep it whole). */
START_TEST(test_index_term_filter_is_asked_before_the_postings)
{
    struct mp_store *store = fx_open_backend(_i);
    write_filter_user(store);
    struct mp_codec_user meta = user_meta(store, U("ann"));
    ck_assert(meta.filtered);
    ck_assert_uint_eq(meta.version, MP_CODEC_USER_VERSION);
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_FACT, "blue", 4));
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_FACT, "color", 5)); /* key */
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_MESSAGE, "kayak", 5));
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_MESSAGE, "@may", 4));
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "blue"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayaking"), 1);
    struct mp_termfilter empty;
    memset(&empty, 0, sizeof(empty));
    put_user_filter(store, U("ann"), &empty);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "blue"), 0);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayaking"), 0);
    put_user_filter(store, U("ann"), &meta.filter);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "blue"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayaking"), 1);
    fx_close_backend(store, _i);
}
END_TEST

/* A head record without a filter (as version 3, written before the
 * filter, is read: test_store_format.c) is read with a lookup per term,
 * and its next write gives it a filter that holds the terms indexed
 * before it too. */
START_TEST(test_index_user_record_without_filter_gets_one_at_its_next_write)
{
    struct mp_store *store = fx_open_backend(_i);
    write_filter_user(store);
    put_user_filter(store, U("ann"), NULL);
    struct mp_codec_user meta = user_meta(store, U("ann"));
    ck_assert(!meta.filtered);
    ck_assert_uint_eq(meta.version, MP_CODEC_USER_VERSION);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "blue"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayaking"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "wombat"), 0);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "pet", "wombat", MP_TRUST_STATED, MAY23 + DAY),
                     MP_OK);
    meta = user_meta(store, U("ann"));
    ck_assert(meta.filtered);
    ck_assert_uint_eq(meta.version, MP_CODEC_USER_VERSION);
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_FACT, "blue", 4));
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_FACT, "wombat", 6));
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_MESSAGE, "kayak", 5));
    ck_assert(mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_MESSAGE, "fun", 3));
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "blue"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "wombat"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayaking"), 1);
    unsigned maybe = 0;
    char t[32];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(t, sizeof(t), "absent%d", i);
        maybe += mp_termfilter_may_hold(&meta.filter, MP_CODEC_KIND_FACT, t, (size_t)n);
    }
    ck_assert_uint_le(maybe, 5); /* a handful of pairs: next to no bit is set */
    fx_close_backend(store, _i);
}
END_TEST

/* A user past MP_INDEX_FILTER_ITEMS_MAX items gets a full filter (every
 * term looked up) at its next write instead of one read from its terms. */
START_TEST(test_index_big_user_without_filter_gets_a_full_one)
{
    enum { FACTS = MP_INDEX_FILTER_ITEMS_MAX + 1 };
    static struct mp_op ops[FACTS];
    static char values[FACTS][32], keys[FACTS][16];
    struct mp_store *store = fx_open_backend(_i);
    mp_store_set_max_facts(store, 2 * FACTS);
    for (int i = 0; i < FACTS; i++) {
        snprintf(values[i], sizeof(values[i]), "gadget%d", i);
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        ops[i] = fx_upsert_op(U("ann"), keys[i], values[i], MP_TRUST_STATED, MAY23 + i);
    }
    ck_assert_int_eq(mp_store_apply(store, ops, FACTS), MP_OK);
    struct mp_codec_user meta = user_meta(store, U("ann"));
    ck_assert(meta.filtered);
    size_t full = 0;
    for (size_t b = 0; b < sizeof(meta.filter.bits); b++)
        full += meta.filter.bits[b] == 0xff;
    ck_assert_uint_lt(full, sizeof(meta.filter.bits)); /* written term by term: not full */
    put_user_filter(store, U("ann"), NULL);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "pet", "wombat", MP_TRUST_STATED, MAY23), MP_OK);
    meta = user_meta(store, U("ann"));
    ck_assert(meta.filtered);
    for (size_t b = 0; b < sizeof(meta.filter.bits); b++)
        ck_assert_uint_eq(meta.filter.bits[b], 0xff);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "gadget7"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), true, "wombat"), 1);
    ck_assert_uint_eq(vp_df(store, U("ann"), false, "kayak"), 0);
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_index");
    TCase *tc = tcase_create("index");
    tcase_add_unchecked_fixture(tc, vp_setup, vp_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_index_upsert_indexes_value_key_and_date_terms, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_supersede_moves_the_terms_to_a_new_fact_id, 0, FX_BACKENDS);
    tcase_add_loop_test(tc,
                        test_index_search_keys_are_a_field_of_their_own_erased_with_their_message,
                        0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_view_reads_alike_below_and_above_the_whole_user_fetch, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_ranked_order_alike_below_and_above_the_whole_facts_read, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_whole_read_sorts_many_facts_in_the_recent_order, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_refresh_leaves_the_index_as_it_was, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_delete_entity_erases_the_fact_and_its_messages, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc,
                        test_index_delete_message_erases_it_from_archive_index_buffer_and_summary,
                        0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_delete_entity_of_stop_words_looks_through_the_whole_archive,
                        0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_delete_entity_finds_its_value_in_a_message_of_many_words, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_sweep_drops_expired_items_pii_sooner, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_sweep_counts_archived_and_buffered_messages_apart, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_delete_user_leaves_no_record_in_any_table, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_record_turn_archives_and_indexes_its_messages, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_a_word_met_again_counts_each_time, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_words_past_the_table_count_the_same, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_same_ops_give_the_same_answers, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_postings_without_their_length_score_the_same, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_view_reads_a_term_to_one_past_the_ceiling, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_view_goes_on_from_a_short_read, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_view_samples_the_newest_postings_of_a_common_term, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_scoring_reads_a_sampled_term_within_the_ceiling, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_view_sample_reads_at_most_five_samples, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_archive_pages_oldest_first_and_the_cursor_continues, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_format_v2_converts_into_archive_and_index, 0, FX_BACKENDS);
    tcase_add_test(tc, test_index_term_filter_holds_what_was_added_and_few_others);
    tcase_add_loop_test(tc, test_index_term_filter_is_asked_before_the_postings, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_user_record_without_filter_gets_one_at_its_next_write, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_index_big_user_without_filter_gets_a_full_one, 0, FX_BACKENDS);
    tcase_add_test(tc, test_index_lmdb_compaction_and_rekey_keep_the_answers);
    tcase_add_test(tc, test_index_lmdb_longest_keys_survive_compaction_and_rekey);
    tcase_add_test(tc, test_index_lmdb_erased_fact_leaves_no_word_in_the_files);
    tcase_add_test(tc, test_index_lmdb_sealed_store_keeps_no_word_stem_or_key);
    suite_add_tcase(s, tc);
    TCase *scale = tcase_create("scale");
    tcase_add_unchecked_fixture(scale, vp_setup, vp_teardown);
    tcase_set_timeout(scale, 300);
    tcase_add_test(scale, test_index_lmdb_user_of_100k_facts);
    suite_add_tcase(s, scale);
    return s;
}
