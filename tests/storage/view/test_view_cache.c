/* Tests for the views' cache of a user's facts (storage/view/view_cache.h):
 * a user's next view borrows the facts the last one built, by the facts
 * stamp without reading them again, and any change of the stored facts (a
 * new value, the same value stated again, an erasure, a new fact) is read,
 * never the cached copy; a user record without a stamp (store format 8) is
 * checked record by record; a view keeps what it borrowed while another
 * replaces it; entries past the bound are let go; each thread has its own.
 * The same for the user records (test_view_cache_user_*): a user's next
 * view borrows the record the last one decoded while its stored bytes are
 * the same, and decodes any write (a turn, a summary, in a sealed store
 * too), within the same bound and per thread. Every case runs on every backend (_i: FX_BACKENDS).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "store_fixture.h"
#include "snap/store_snap.h"
#include "memory/usermem.h"
#include "view/view_cache.h"

Suite *mp_test_suite(void);

#define NOW 1760000000000LL

static int on_fact(void *arg, const struct mp_mem_entity *e)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 1024 - n, "%s=%s|%.*s;", e->key, e->value, (int)e->block_len, e->block_text);
    return 0;
}

/* The open view's facts in the recent order, "key=value|block text;"... */
static void ranked_of(struct mp_store_view *v, char out[1024])
{
    out[0] = '\0';
    ck_assert_int_eq(mp_store_view_ranked_facts(v, on_fact, out), MP_OK);
}

/* ranked_of() through a fresh view of user. */
static void ranked(struct mp_store *store, const char *user, size_t ulen, char out[1024])
{
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    ranked_of(v, out);
    mp_store_view_close(v);
}

struct counts {
    uint64_t hits, checked, misses;
    uint64_t user_hits, user_versioned, user_misses; /* the user records' */
};

static struct counts counts(void)
{
    struct counts c;
    mp_view_cache_counts(&c.hits, &c.checked, &c.misses);
    mp_view_cache_user_counts(&c.user_hits, &c.user_versioned, &c.user_misses);
    return c;
}

/* The hits and misses since before: exactly these. */
static void counted(struct counts before, uint64_t hits, uint64_t misses)
{
    struct counts now = counts();
    ck_assert_uint_eq(now.hits - before.hits, hits);
    ck_assert_uint_eq(now.misses - before.misses, misses);
}

/* The user record hits and misses since before: exactly these. */
static void user_counted(struct counts before, uint64_t hits, uint64_t misses)
{
    struct counts now = counts();
    ck_assert_uint_eq(now.user_hits - before.user_hits, hits);
    ck_assert_uint_eq(now.user_misses - before.user_misses, misses);
}

/* The hits since before that read the user's fact records: exactly n. */
static void checked(struct counts before, uint64_t n)
{
    ck_assert_uint_eq(counts().checked - before.checked, n);
}

/* ranked() of user, which must have been a hit (the cached facts
 * borrowed) or a miss (built), nothing else. */
static void ranked_counted(struct mp_store *store, const char *user, size_t ulen, char out[1024],
                           bool hit)
{
    struct counts c = counts();
    ranked(store, user, ulen, out);
    counted(c, hit ? 1 : 0, hit ? 0 : 1);
}

static struct mp_store *open_with_facts(int which)
{
    mp_view_cache_clear(); /* another backend's store of the same user went before */
    struct mp_store *store = fx_open_backend(which);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Lisbon", MP_TRUST_STATED, NOW), MP_OK);
    ck_assert_int_eq(
        fx_upsert(store, U("alice"), "pet", "a cat named Miso", MP_TRUST_STATED, NOW + 1), MP_OK);
    return store;
}

START_TEST(test_view_cache_next_view_borrows)
{
    struct mp_store *store = open_with_facts(_i);
    char first[1024], second[1024];
    struct counts c = counts();
    ranked_counted(store, U("alice"), first, false);
    user_counted(c, 0, 1); /* the user record too */
    ck_assert_ptr_nonnull(strstr(first, "city=Lisbon|"));
    ck_assert_ptr_nonnull(strstr(first, "pet=a cat named Miso|"));
    c = counts();
    ranked_counted(store, U("alice"), second, true);
    user_counted(c, 1, 0);
    ck_assert_str_eq(second, first);
    fx_close_backend(store, _i);
}
END_TEST

/* Writes that leave the facts alone (a turn recorded, a summary) leave
 * their stamp: the next views borrow without reading a fact record. */
START_TEST(test_view_cache_same_stamp_reads_no_record)
{
    struct mp_store *store = open_with_facts(_i);
    char first[1024], got[1024];
    ranked_counted(store, U("alice"), first, false);
    struct counts c = counts();
    ranked_counted(store, U("alice"), got, true);
    checked(c, 0);
    ck_assert_int_eq(
        fx_turn(store, U("alice"), 1, "I moved last week", "Noted", NOW + 10, NOW + 11), MP_OK);
    ck_assert_int_eq(fx_summarize(store, U("alice"), "Alice moved.", 2, NOW + 12), MP_OK);
    c = counts();
    ranked_counted(store, U("alice"), got, true);
    checked(c, 0);
    ck_assert_str_eq(got, first);
    fx_close_backend(store, _i);
}
END_TEST

/* user's record as a store of format 8 left it: no facts stamp (its
 * facts as they are). */
static void unstamp(struct mp_store *store, const char *user, size_t ulen)
{
    unsigned char phys[MP_STORE_PHYS_USER_MAX];
    size_t n = mp_store_backend_phys_user(store, user, ulen, phys);
    struct mp_store_txn txn;
    struct mp_store_plain pv;
    struct mp_codec_user meta;
    struct mp_usermem *um = NULL;
    ck_assert_int_eq(store->be->begin(store, true, &txn), MP_OK);
    ck_assert_int_eq(mp_store_backend_get_plain(&txn, MP_TABLE_USERS, phys, n, &pv), MP_OK);
    ck_assert_int_eq(mp_codec_get_user(pv.p, pv.n, &meta, &um), MP_OK);
    mp_store_backend_plain_done(&pv);
    ck_assert_uint_ne(meta.facts_stamp, 0); /* every fact write stamps */
    meta.facts_stamp = 0;
    size_t len = mp_codec_put_user(NULL, &meta, um);
    unsigned char *rec = malloc(len);
    ck_assert_ptr_nonnull(rec);
    mp_codec_put_user(rec, &meta, um);
    ck_assert_int_eq(mp_store_backend_put(&txn, MP_TABLE_USERS, phys, n, rec, len), MP_OK);
    ck_assert_int_eq(store->be->end(&txn, true), MP_OK);
    free(rec);
    mp_usermem_free(um);
}

/* Without a stamp every view compares the records: a change is read, and
 * the same records are borrowed after a check. */
START_TEST(test_view_cache_no_stamp_checks_the_records)
{
    struct mp_store *store = open_with_facts(_i);
    char got[1024], again[1024];
    ranked(store, U("alice"), got);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Porto", MP_TRUST_CORRECTED, NOW + 5),
                     MP_OK);
    unstamp(store, U("alice"));
    ranked_counted(store, U("alice"), got, false);
    ck_assert_ptr_nonnull(strstr(got, "city=Porto|"));
    ck_assert_ptr_null(strstr(got, "Lisbon"));
    for (int k = 0; k < 2; k++) {
        struct counts c = counts();
        ranked_counted(store, U("alice"), again, true);
        checked(c, 1);
        ck_assert_str_eq(again, got);
    }
    fx_close_backend(store, _i);
}
END_TEST

/* PostgreSQL's hot path reads through a snapshot store in runs: a run
 * over a partial copy (the facts not fetched yet) builds an entry of what
 * it found, is thrown away, and the next run, over the whole copy, must
 * not borrow that entry by its stamp: a snapshot store keeps none, so
 * every view compares the records. */
START_TEST(test_view_cache_partial_run_is_not_kept_by_its_stamp)
{
    struct mp_store *src = open_with_facts(_i), *snap = NULL;
    ck_assert_int_eq(mp_store_snap_new(src, &snap), MP_OK);
    char got[1024] = "";
    int runs = 0, partial = 0;
    for (;; runs++) {
        ck_assert_int_lt(runs, 8);
        mp_store_snap_run_begin(snap);
        struct mp_store_view *v = NULL;
        int rc = mp_store_view_open(snap, U("alice"), &v);
        ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
        if (rc == MP_OK) {
            ranked_of(v, got);
            mp_store_view_close(v);
        }
        const struct mp_snap_range *m;
        if (mp_store_snap_misses(snap, &m) == 0)
            break;
        partial += rc == MP_OK; /* opened, facts missed: an entry of none */
        ck_assert_int_eq(mp_store_snap_fetch_from(snap, src), MP_OK);
    }
    ck_assert_int_ge(partial, 1);
    ck_assert_ptr_nonnull(strstr(got, "city=Lisbon|"));
    ck_assert_ptr_nonnull(strstr(got, "pet=a cat named Miso|"));
    struct counts c = counts();
    ranked_counted(snap, U("alice"), got, true);
    checked(c, 1);
    mp_store_free(snap);
    fx_close_backend(src, _i);
}
END_TEST

/* Each change of alice's stored facts, made after a view cached them: the
 * next view builds anew and reads it (want in, gone out), and the one after
 * borrows that. */
static const struct change {
    const char *key, *value; /* NULL value: the fact erased */
    enum mp_trust trust;
    int64_t at;
    const char *want[2]; /* in the facts read next */
    const char *gone;    /* not in them (NULL: nothing) */
} changes[] = {
    /* a new value */
    {"city",
     "Porto",
     MP_TRUST_CORRECTED,
     NOW + 5,
     {"city=Porto|", "pet=a cat named Miso|"},
     "Lisbon"},
    /* an erasure */
    {"pet", NULL, MP_TRUST_CORRECTED, NOW + 5, {"city=Lisbon|", "city=Lisbon|"}, "Miso"},
    /* a fact added */
    {"job", "nurse", MP_TRUST_CORRECTED, NOW + 5, {"job=nurse|", "pet=a cat named Miso|"}, NULL},
    /* the same value stated again, days later: its record rewritten in
       place (a newer observed time, the same fact id) */
    {"city", "Lisbon", MP_TRUST_STATED, NOW + 3 * 86400000LL, {"city=Lisbon|", "pet=a cat"}, NULL},
};

START_TEST(test_view_cache_change_is_read)
{
    for (size_t k = 0; k < sizeof(changes) / sizeof(changes[0]); k++) {
        const struct change *ch = &changes[k];
        struct mp_store *store = open_with_facts(_i);
        char got[1024], again[1024];
        ranked(store, U("alice"), got);
        if (ch->value != NULL) {
            ck_assert_int_eq(fx_upsert(store, U("alice"), ch->key, ch->value, ch->trust, ch->at),
                             MP_OK);
        } else {
            struct mp_op del = fx_delete_op(U("alice"), ch->key, MP_ACTOR_USER, NOW + 5);
            ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
        }
        ranked_counted(store, U("alice"), got, false);
        for (int w = 0; w < 2; w++)
            ck_assert_msg(strstr(got, ch->want[w]) != NULL, "change %zu: %s", k, got);
        ck_assert_msg(ch->gone == NULL || strstr(got, ch->gone) == NULL, "change %zu: %s", k, got);
        ranked_counted(store, U("alice"), again, true);
        ck_assert_str_eq(again, got);
        fx_close_backend(store, _i);
    }
}
END_TEST

/* A view that borrowed an entry keeps reading it (its own snapshot's
 * facts) after a newer view replaced the entry in the cache. LMDB and
 * PostgreSQL: the in-memory store writes only with no view open. */
START_TEST(test_view_cache_borrowed_entry_outlives_its_replacement)
{
    struct mp_store *store = open_with_facts(_i);
    char before[1024], got[1024];
    ranked(store, U("alice"), before);
    struct mp_store_view *old = NULL;
    ck_assert_int_eq(mp_store_view_open(store, U("alice"), &old), MP_OK);
    struct counts c = counts();
    ranked_of(old, got); /* borrows the entry */
    counted(c, 1, 0);
    ck_assert_str_eq(got, before);
    ck_assert_int_eq(fx_upsert(store, U("alice"), "city", "Porto", MP_TRUST_CORRECTED, NOW + 5),
                     MP_OK);
    ranked_counted(store, U("alice"), got, false); /* builds, and puts in its place */
    ck_assert_ptr_nonnull(strstr(got, "city=Porto|"));
    ranked_of(old, got); /* the replaced entry, still whole */
    ck_assert_str_eq(got, before);
    mp_store_view_close(old);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_view_cache_least_recent_let_go)
{
    mp_view_cache_clear();
    struct mp_store *store = fx_open_sized(_i, 16u << 20, 0);
    char user[16], got[1024], want[64];
    for (int u = 0; u <= VIEW_CACHE_ENTRIES_MAX; u++) {
        int n = snprintf(user, sizeof(user), "user%d", u);
        snprintf(want, sizeof(want), "value %d", u);
        ck_assert_int_eq(fx_upsert(store, user, (size_t)n, "city", want, MP_TRUST_STATED, NOW),
                         MP_OK);
        ranked(store, user, (size_t)n, got);
    }
    _Static_assert(VIEW_CACHE_USERS_MAX == VIEW_CACHE_ENTRIES_MAX, "one bound let go of below");
    struct counts c = counts();
    ranked_counted(store, U("user1"), got, true); /* kept: the oldest of the bound's newest */
    user_counted(c, 1, 0);
    ck_assert_ptr_nonnull(strstr(got, "city=value 1|"));
    c = counts();
    ranked_counted(store, U("user0"), got, false); /* the least recent, let go */
    user_counted(c, 0, 1);
    ck_assert_ptr_nonnull(strstr(got, "city=value 0|"));
    fx_close_backend(store, _i);
}
END_TEST

struct other_thread {
    struct mp_store *store;
    char got[1024];
    struct counts delta;
};

static void *view_in_other_thread(void *arg)
{
    struct other_thread *t = arg;
    struct counts c = counts();
    ranked(t->store, U("alice"), t->got);
    struct counts now = counts();
    t->delta.hits = now.hits - c.hits;
    t->delta.misses = now.misses - c.misses;
    t->delta.user_hits = now.user_hits - c.user_hits;
    t->delta.user_misses = now.user_misses - c.user_misses;
    return NULL;
}

START_TEST(test_view_cache_each_thread_its_own)
{
    struct mp_store *store = open_with_facts(_i);
    char mine[1024];
    ranked(store, U("alice"), mine);
    struct other_thread t = {.store = store};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, view_in_other_thread, &t), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_uint_eq(t.delta.hits, 0); /* its own cache: built there */
    ck_assert_uint_eq(t.delta.misses, 1);
    ck_assert_uint_eq(t.delta.user_hits, 0); /* and its own user record */
    ck_assert_uint_eq(t.delta.user_misses, 1);
    ck_assert_str_eq(t.got, mine);
    struct counts c = counts();
    ranked_counted(store, U("alice"), mine, true); /* this thread's entry is untouched */
    user_counted(c, 1, 0);
    fx_close_backend(store, _i);
}
END_TEST

/* ---- user records ---- */

/* What a view of user shows of its record: the summary and each buffered
 * message, "summary|seq:content;"... */
static void head_of(struct mp_store_view *v, char out[1024])
{
    const struct mp_usermem *h = mp_store_view_head(v);
    int n = snprintf(out, 1024, "%.*s|", (int)h->summary.text_len,
                     h->summary.text != NULL ? h->summary.text : "");
    for (size_t i = 0; i < h->nmessages && n > 0 && n < 1024; i++)
        n += snprintf(out + n, 1024 - (size_t)n, "%llu:%s;", (unsigned long long)h->messages[i].seq,
                      h->messages[i].content);
}

/* head_of() through a fresh view of user, which must have been a hit (the
 * thread's record borrowed) or a miss (decoded), nothing else. */
static void head_counted(struct mp_store *store, const char *user, size_t ulen, char out[1024],
                         bool hit)
{
    struct counts c = counts();
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    head_of(v, out);
    mp_store_view_close(v);
    user_counted(c, hit ? 1 : 0, hit ? 0 : 1);
}

static struct mp_store *open_with_turn(struct mp_store *store)
{
    mp_view_cache_clear();
    ck_assert_int_eq(fx_turn(store, U("alice"), 1, "I live in Lisbon", "Noted", NOW, NOW + 1),
                     MP_OK);
    return store;
}

/* Each write of alice's record after a view decoded it (a turn, a
 * summary, a fact, whose counters are in the record): the next view
 * decodes it and shows it; the one after borrows that. */
START_TEST(test_view_cache_user_change_is_read)
{
    for (int k = 0; k < 3; k++) {
        struct mp_store *store = open_with_turn(fx_open_backend(_i));
        char got[1024], again[1024];
        head_counted(store, U("alice"), got, false);
        const char *want = NULL;
        if (k == 0) {
            ck_assert_int_eq(
                fx_turn(store, U("alice"), 2, "I moved to Porto", "Noted", NOW + 10, NOW + 11),
                MP_OK);
            want = ":I moved to Porto;";
        } else if (k == 1) {
            ck_assert_int_eq(fx_summarize(store, U("alice"), "Alice lives in Lisbon.", 2, NOW + 12),
                             MP_OK);
            want = "Alice lives in Lisbon.|";
        } else {
            ck_assert_int_eq(
                fx_upsert(store, U("alice"), "city", "Porto", MP_TRUST_STATED, NOW + 5), MP_OK);
            want = ":I live in Lisbon;"; /* the head as it was, from the new bytes */
        }
        head_counted(store, U("alice"), got, false);
        ck_assert_msg(strstr(got, want) != NULL, "change %d: %s", k, got);
        head_counted(store, U("alice"), again, true);
        ck_assert_str_eq(again, got);
        ranked(store, U("alice"), got); /* the record's fact count, read anew */
        ck_assert_msg(k < 2 || strstr(got, "city=Porto|") != NULL, "change %d: %s", k, got);
        fx_close_backend(store, _i);
    }
}
END_TEST

/* The user's setting as a view shows it (the user's own, or NULL: none). */
static enum mp_user_mode view_mode(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    enum mp_user_mode m = mp_store_view_user_mode(v);
    mp_store_view_close(v);
    return m;
}

/* The setting kept with a record read under a store version is read again
 * once a commit (the setting's own, here: the user record's bytes stay
 * as they were) moves the version. */
START_TEST(test_view_cache_user_setting_is_read)
{
    struct mp_store *store = open_with_turn(fx_open_backend(_i));
    ck_assert_int_eq(view_mode(store, U("alice")), MP_USER_MODE_AUTO);
    struct counts c = counts();
    ck_assert_int_eq(view_mode(store, U("alice")), MP_USER_MODE_AUTO);
    ck_assert_uint_eq(counts().user_versioned - c.user_versioned, _i == LMDB ? 1 : 0);
    struct mp_op op = {.kind = MP_OP_SET_USER_MODE,
                       .user = "alice",
                       .user_len = 5,
                       .now_ms = NOW + 20,
                       .actor = MP_ACTOR_USER};
    op.u.user_mode = MP_USER_MODE_OFF;
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    c = counts();
    ck_assert_int_eq(view_mode(store, U("alice")), MP_USER_MODE_OFF);
    ck_assert_uint_eq(counts().user_versioned - c.user_versioned, 0);
    ck_assert_int_eq(view_mode(store, U("alice")), MP_USER_MODE_OFF);
    fx_close_backend(store, _i);
}
END_TEST

/* The version the store's read transactions see now. */
static struct mp_store_version version_now(struct mp_store *store)
{
    struct mp_store_txn txn;
    struct mp_store_version at = {0};
    ck_assert_int_eq(store->be->begin(store, false, &txn), MP_OK);
    ck_assert(store->be->version(&txn, &at));
    store->be->end(&txn, false);
    return at;
}

/* A compaction swaps in another environment, whose commits are counted
 * anew: a record read under the old one at the same count is not taken
 * for the new one's (a turn recorded since, in the new one, is read). */
START_TEST(test_view_cache_user_version_of_another_environment)
{
    struct mp_store *store = open_with_turn(fx_open_backend(LMDB));
    for (uint8_t k = 2; k < 12; k++)
        ck_assert_int_eq(fx_turn(store, U("alice"), k, "more", "Noted", NOW + k, NOW + k), MP_OK);
    char before[1024], got[1024];
    head_counted(store, U("alice"), before, false);
    head_counted(store, U("alice"), got, true); /* by the version */
    struct mp_store_version was = version_now(store);
    fx_compact(store);
    struct mp_store_version now = version_now(store);
    ck_assert_uint_ne(now.env, was.env);
    ck_assert_uint_lt(now.txn, was.txn);
    for (uint8_t k = 12; version_now(store).txn < was.txn; k++)
        ck_assert_int_eq(fx_turn(store, U("alice"), k, "later", "Noted", NOW + k, NOW + k), MP_OK);
    ck_assert_uint_eq(version_now(store).txn, was.txn);
    struct counts c = counts();
    head_counted(store, U("alice"), got, false);
    ck_assert_uint_eq(counts().user_versioned - c.user_versioned, 0);
    ck_assert_ptr_nonnull(strstr(got, ":later;"));
    ck_assert_str_ne(got, before);
    fx_close_backend(store, LMDB);
}
END_TEST

/* A sealed store: a record borrowed by its sealed bytes, and a turn's new
 * seal decoded. */
START_TEST(test_view_cache_user_sealed)
{
    struct mp_store *store = open_with_turn(fx_open_sealed());
    char got[1024], again[1024];
    head_counted(store, U("alice"), got, false);
    head_counted(store, U("alice"), again, true);
    ck_assert_str_eq(again, got);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "I moved to Porto", "Noted", NOW + 10, NOW + 11),
                     MP_OK);
    head_counted(store, U("alice"), got, false);
    ck_assert_ptr_nonnull(strstr(got, ":I moved to Porto;"));
    fx_close_backend(store, LMDB);
}
END_TEST

/* A view keeps the record it borrowed (its snapshot's) after a newer view
 * decoded the user's next one in its place. LMDB and PostgreSQL. */
START_TEST(test_view_cache_user_borrowed_outlives_its_replacement)
{
    struct mp_store *store = open_with_turn(fx_open_backend(_i));
    char before[1024], got[1024];
    head_counted(store, U("alice"), before, false);
    struct mp_store_view *old = NULL;
    struct counts c = counts();
    ck_assert_int_eq(mp_store_view_open(store, U("alice"), &old), MP_OK);
    user_counted(c, 1, 0);
    ck_assert_int_eq(fx_turn(store, U("alice"), 2, "I moved to Porto", "Noted", NOW + 10, NOW + 11),
                     MP_OK);
    head_counted(store, U("alice"), got, false);
    ck_assert_ptr_nonnull(strstr(got, ":I moved to Porto;"));
    head_of(old, got);
    ck_assert_str_eq(got, before);
    mp_store_view_close(old);
    head_counted(store, U("alice"), got, true); /* the newer one, kept */
    ck_assert_ptr_nonnull(strstr(got, ":I moved to Porto;"));
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("view_cache");
    TCase *tc = tcase_create("view_cache");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_add_loop_test(tc, test_view_cache_next_view_borrows, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_change_is_read, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_same_stamp_reads_no_record, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_no_stamp_checks_the_records, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_partial_run_is_not_kept_by_its_stamp, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_borrowed_entry_outlives_its_replacement, LMDB,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_least_recent_let_go, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_each_thread_its_own, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_view_cache_user_change_is_read, 0, FX_BACKENDS);
    tcase_add_test(tc, test_view_cache_user_sealed);
    tcase_add_loop_test(tc, test_view_cache_user_setting_is_read, 0, FX_BACKENDS);
    tcase_add_test(tc, test_view_cache_user_version_of_another_environment);
    tcase_add_loop_test(tc, test_view_cache_user_borrowed_outlives_its_replacement, LMDB,
                        FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
