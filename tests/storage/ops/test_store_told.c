/* A store of format 10 opens as format 11 with the told records its facts
 * and history say (storage/ops/migrate_told.c), so that erasure follows
 * provenance in what was stored before too: a superseded value's turn,
 * found again by the request id its history entry kept, goes with the
 * fact; a statement kept out goes with its key; a message's erasure
 * retracts what rested on it alone.
 *
 * The fixture: tests/storage/data/format10/{clear,sealed}/data.mdb,
 * written by tests/storage/data/format10/make_format10.c with the code of
 * record format 10 (commit 3d7784f; make_format10.sh builds and runs it).
 * Users: "moves" (Paris in turn 1, tea in turn 2, Porto over Paris in
 * turn 3, the first four messages folded out of the buffer), "folded"
 * (Paris folded away before Porto came), "kept" (Rome kept out by a newer
 * correction to Lisbon), "resting" (Oslo told by turn 1, Rex by turns 2
 * and 3). On LMDB (in clear and sealed) and on PostgreSQL (the clear
 * file's records placed row by row). */
#include <check.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define NOW 1800000000000LL

static int erase_key(struct mp_store *s, const char *user, size_t ulen, const char *key)
{
    struct mp_op op = fx_delete_op(user, ulen, key, MP_ACTOR_USER, NOW);
    return fx_apply1(s, &op);
}

static int erase_message(struct mp_store *s, const char *user, size_t ulen, uint64_t seq)
{
    struct mp_op op = {.kind = MP_OP_DELETE_MESSAGE,
                       .user = user,
                       .user_len = ulen,
                       .now_ms = NOW,
                       .actor = MP_ACTOR_USER};
    op.u.seq = seq;
    return fx_apply1(s, &op);
}

/* Whether user keeps any of seqs[0..n) (buffer or archive). */
static bool keeps_any(struct mp_store *s, const char *user, size_t ulen, const uint64_t *seqs,
                      size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        any = any || fx_keeps(s, user, ulen, seqs[i]);
    return any;
}

static const char *fact_of(struct mp_usermem *um, const char *key)
{
    return fx_entity_value(um, key);
}

/* What the converted store does: every check reads the store as it is
 * then (each erases what the next does not read). */
static void erasure_follows_the_old_records(struct mp_store *s)
{
    ck_assert_uint_eq(fx_format(s), 12);
    ck_assert_uint_eq(MP_STORE_FORMAT_VERSION, 12);

    /* moves: the superseded Paris turn (archived only) goes with Porto's */
    static const uint64_t paris[] = {1, 2}, tea[] = {3, 4}, porto[] = {5, 6};
    ck_assert(keeps_any(s, U("moves"), paris, 2));
    ck_assert_int_eq(erase_key(s, U("moves"), "favorite_city"), MP_OK);
    ck_assert(!keeps_any(s, U("moves"), paris, 2));
    ck_assert(!keeps_any(s, U("moves"), porto, 2));
    ck_assert(fx_keeps(s, U("moves"), tea[0]) && fx_keeps(s, U("moves"), tea[1]));
    struct mp_usermem *um = fx_get(s, U("moves"));
    ck_assert_ptr_null(um->summary.text);
    ck_assert_str_eq(fact_of(um, "drink"), "tea");
    mp_usermem_free(um);

    /* folded: the same, the Paris turn folded out of the buffer earlier */
    ck_assert_int_eq(erase_key(s, U("folded"), "favorite_city"), MP_OK);
    ck_assert(!keeps_any(s, U("folded"), paris, 2));
    ck_assert(!keeps_any(s, U("folded"), tea, 2)); /* there, seqs 3 and 4 told Porto */

    /* kept: the turn of the statement kept out goes with the key */
    ck_assert(keeps_any(s, U("kept"), paris, 2));
    ck_assert_int_eq(erase_key(s, U("kept"), "city"), MP_OK);
    ck_assert(!keeps_any(s, U("kept"), paris, 2));

    /* resting: Oslo rested on its turn's words alone; Rex on two turns */
    ck_assert_int_eq(erase_message(s, U("resting"), 1), MP_OK);
    ck_assert_int_eq(erase_message(s, U("resting"), 3), MP_OK);
    um = fx_get(s, U("resting"));
    ck_assert_ptr_null(fact_of(um, "city"));
    ck_assert_str_eq(fact_of(um, "pet"), "Rex");
    mp_usermem_free(um);
    struct mp_history *h = fx_history(s, U("resting"));
    size_t retracted = 0;
    for (size_t i = 0; i < h->nitems; i++) {
        const struct mp_history_item *it = &h->items[i];
        if (it->event != MP_HIST_DELETED || it->item != MP_ITEM_FACT)
            continue;
        ck_assert_str_eq(it->entity.key, "city");
        ck_assert_int_eq(it->reason, MP_REASON_SOURCES_ERASED);
        retracted++;
    }
    ck_assert_uint_eq(retracted, 1);
    mp_history_free(h);
}

/* LMDB, clear (_i 0) and sealed (_i 1): converted at open, once. */
START_TEST(test_told_format10_lmdb_converts_at_open)
{
    const char *dir = MP_FORMAT_FIXTURE_DIR "/format10";
    struct mp_store *s =
        fx_open_fixture(dir, _i == 0 ? "clear" : "sealed", _i == 0 ? NULL : &fx_key_a);
    erasure_follows_the_old_records(s);
    s = fx_reopen(s, LMDB);
    ck_assert_uint_eq(fx_format(s), 12);
    fx_close_backend(s, LMDB);
}
END_TEST

START_TEST(test_told_format10_pg_converts_at_open)
{
    struct mp_store *s = fx_open_backend(PG);
    fx_place_lmdb_rows(s, MP_FORMAT_FIXTURE_DIR "/format10/clear/data.mdb");
    ck_assert_uint_eq(fx_format(s), 10);
    s = fx_reopen(s, PG);
    erasure_follows_the_old_records(s);
    s = fx_reopen(s, PG);
    ck_assert_uint_eq(fx_format(s), 12);
    fx_close_backend(s, PG);
}
END_TEST

/* The history entries of format 10 read as before: no reason. */
START_TEST(test_told_format10_history_reads_without_reasons)
{
    struct mp_store *s = fx_open_fixture(MP_FORMAT_FIXTURE_DIR "/format10", "clear", NULL);
    struct mp_history *h = fx_history(s, U("kept"));
    bool kept = false;
    for (size_t i = 0; i < h->nitems; i++) {
        ck_assert_int_eq(h->items[i].reason, MP_REASON_NONE);
        kept = kept || h->items[i].event == MP_HIST_KEPT;
    }
    ck_assert(kept);
    mp_history_free(h);
    fx_close_backend(s, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *su = suite_create("store_told");
    TCase *tc = tcase_create("format10");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_told_format10_lmdb_converts_at_open, 0, 2);
    tcase_add_test(tc, test_told_format10_pg_converts_at_open);
    tcase_add_test(tc, test_told_format10_history_reads_without_reasons);
    suite_add_tcase(su, tc);
    return su;
}
