/* The snapshot store (storage/snap/store_snap.h): the ranges it covers, the
 * misses a run notes, and, on every backend, clear and sealed, that a read
 * run over a snapshot until it misses nothing answers exactly what the
 * source store answers (the view, the memory, the setting, the users). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/relevance.h"
#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"
#include "snap/store_snap.h"
#include "recall/terms.h"
#include "view_probe.h"

Suite *mp_test_suite(void);

/* ---- ranges and misses ---- */

static const unsigned char *K(const char *s)
{
    return (const unsigned char *)s;
}

static int on_collect(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                      size_t vlen)
{
    (void)val, (void)vlen;
    strncat(arg, (const char *)key, klen);
    strcat(arg, " ");
    return MP_OK;
}

/* The keys a scan of table jobs over prefix p delivers, and the misses. */
static size_t scan_keys(struct mp_store *snap, const char *p, char *out)
{
    struct mp_store_txn txn;
    out[0] = '\0';
    mp_store_snap_run_begin(snap);
    ck_assert_int_eq(snap->be->begin(snap, false, &txn), MP_OK);
    ck_assert_int_eq(snap->be->scan(&txn, MP_TABLE_JOBS, p, strlen(p), strlen(p), on_collect, out),
                     MP_OK);
    snap->be->end(&txn, false);
    const struct mp_snap_range *m;
    return mp_store_snap_misses(snap, &m);
}

START_TEST(test_snap_scans_what_is_covered_and_notes_the_first_gap)
{
    struct mp_store *src = fx_open_backend(MEM), *snap = NULL;
    ck_assert_int_eq(mp_store_snap_new(src, &snap), MP_OK);
    const char *keys[] = {"a1", "a2", "a3", "a4", "b1"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(mp_store_snap_add(snap, MP_TABLE_JOBS, K(keys[i]), 2, K("v"), 1), MP_OK);
    char got[64];
    /* nothing covered: the scan delivers nothing and asks for its range */
    ck_assert_uint_eq(scan_keys(snap, "a", got), 1);
    ck_assert_str_eq(got, "");
    const struct mp_snap_range *m;
    mp_store_snap_misses(snap, &m);
    ck_assert_uint_eq(m[0].lolen, 1);
    ck_assert_uint_eq(m[0].hilen, 1);
    ck_assert_int_eq(m[0].hi[0], 'b');
    ck_assert_uint_eq(m[0].limit, MP_SNAP_FETCH_ROWS);
    /* [a1, a3) and [a3, b): touching spans merge; the scan crosses them */
    ck_assert_int_eq(mp_store_snap_cover(snap, MP_TABLE_JOBS, K("a1"), 2, K("a3"), 2), MP_OK);
    ck_assert_uint_eq(scan_keys(snap, "a", got), 1); /* "a" itself is not covered */
    ck_assert_int_eq(mp_store_snap_cover(snap, MP_TABLE_JOBS, K("a"), 1, K("a1"), 2), MP_OK);
    ck_assert_uint_eq(scan_keys(snap, "a", got), 1); /* a gap from a3 */
    ck_assert_str_eq(got, "a1 a2 ");
    mp_store_snap_misses(snap, &m);
    ck_assert_uint_eq(m[0].lolen, 2);
    ck_assert(memcmp(m[0].lo, "a3", 2) == 0);
    ck_assert_int_eq(mp_store_snap_cover(snap, MP_TABLE_JOBS, K("a3"), 2, K("b"), 1), MP_OK);
    ck_assert_uint_eq(scan_keys(snap, "a", got), 0);
    ck_assert_str_eq(got, "a1 a2 a3 a4 "); /* not b1: past the prefix */
    /* a get inside a span answers absent without a miss; outside, a miss */
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t vn, n;
    mp_store_snap_run_begin(snap);
    ck_assert_int_eq(snap->be->begin(snap, false, &txn), MP_OK);
    ck_assert_int_eq(snap->be->get(&txn, MP_TABLE_JOBS, "a2", 2, &v, &vn), MP_OK);
    ck_assert_int_eq(snap->be->get(&txn, MP_TABLE_JOBS, "a25", 3, &v, &vn), MP_NOTFOUND);
    ck_assert_uint_eq(mp_store_snap_misses(snap, &m), 0);
    ck_assert_int_eq(snap->be->get(&txn, MP_TABLE_JOBS, "b1", 2, &v, &vn), MP_NOTFOUND);
    ck_assert_int_eq(snap->be->get(&txn, MP_TABLE_JOBS, "b1", 2, &v, &vn), MP_NOTFOUND);
    n = mp_store_snap_misses(snap, &m);
    ck_assert_uint_eq(n, 1); /* noted once */
    ck_assert_uint_eq(m[0].limit, 1);
    ck_assert_uint_eq(m[0].hilen, 3); /* "b1\0": just that key */
    /* writes are refused */
    ck_assert_int_eq(snap->be->put(&txn, MP_TABLE_JOBS, "c", 1, "v", 1), MP_EIO);
    snap->be->end(&txn, false);
    ck_assert_int_eq(snap->be->begin(snap, true, &txn), MP_EIO);
    /* a fetch that came back full covers up to its last key only */
    struct mp_snap_range r = {.t = MP_TABLE_JOBS, .lolen = 1, .hilen = 0, .limit = 2};
    r.lo[0] = 'b';
    ck_assert_int_eq(mp_store_snap_cover_fetched(snap, &r, 2, K("b1"), 2), MP_OK);
    mp_store_snap_run_begin(snap);
    ck_assert_int_eq(snap->be->begin(snap, false, &txn), MP_OK);
    ck_assert_int_eq(snap->be->get(&txn, MP_TABLE_JOBS, "b1", 2, &v, &vn), MP_OK);
    ck_assert_int_eq(snap->be->get(&txn, MP_TABLE_JOBS, "b2", 2, &v, &vn), MP_NOTFOUND);
    ck_assert_uint_eq(mp_store_snap_misses(snap, &m), 1);
    snap->be->end(&txn, false);
    /* clear forgets records and spans */
    mp_store_snap_clear(snap);
    ck_assert_uint_eq(scan_keys(snap, "a", got), 1);
    ck_assert_str_eq(got, "");
    mp_store_free(snap);
    fx_close_backend(src, MEM);
}
END_TEST

/* ---- a snapshot answers as its source ---- */

static int on_fact(void *arg, const struct mp_mem_entity *e)
{
    fprintf(arg, "fact %s=%s rev %u conf %.3f\n", e->key, e->value, e->revision, e->confidence);
    return 0;
}

struct posting_dump {
    FILE *f;
    struct mp_relevance_index *ix;
    struct mp_store_view *v;
    bool facts;
};

static int on_posting(void *arg, const struct mp_relevance_posting *p)
{
    struct posting_dump *d = arg;
    struct mp_relevance_item it = {0};
    int rc = d->ix->item(d->ix->ctx, p->item, &it);
    fprintf(d->f, "  %u %u/%u/%u item %d len %u session %u tokens %u\n", p->item, p->tc, p->tk,
            p->td, rc, it.len, it.session, it.tokens);
    if (d->facts) {
        const struct mp_mem_entity *e = NULL;
        rc = mp_store_view_fact_ref(d->v, p->item, &e);
        fprintf(d->f, "   %d %s=%s\n", rc, rc == MP_OK ? e->key : "", rc == MP_OK ? e->value : "");
    } else {
        struct mp_mem_message m = {0};
        rc = mp_store_view_message(d->v, p->item, &m);
        fprintf(d->f, "   %d %s\n", rc, rc == MP_OK ? m.content : "");
        if (rc == MP_OK)
            free(m.content);
    }
    return MP_OK;
}

/* Everything a view of user answers for words, as text, errors included
 * (a run over a partial snapshot may meet any). */
static void dump_view(FILE *f, struct mp_store *store, const char *user, const char *const *words)
{
    struct mp_store_view *v = NULL;
    int rc = mp_store_view_open(store, user, strlen(user), &v);
    fprintf(f, "open %d\n", rc);
    if (rc != MP_OK)
        return;
    const struct mp_usermem *h = mp_store_view_head(v);
    fprintf(f, "mode %d summary %s\n", (int)mp_store_view_user_mode(v),
            h->summary.text != NULL ? h->summary.text : "-");
    for (size_t i = 0; i < h->nmessages; i++)
        fprintf(f, "buffer %llu %s\n", (unsigned long long)h->messages[i].seq,
                h->messages[i].content);
    fprintf(f, "ranked %d\n", mp_store_view_ranked_facts(v, on_fact, f));
    for (int k = 0; k < 2; k++) {
        struct mp_relevance_index ix;
        mp_store_view_index(v, k == 0, &ix);
        fprintf(f, "%s n=%u avglen=%.9g\n", k == 0 ? "facts" : "archive", ix.n, ix.avglen);
        for (size_t w = 0; words[w] != NULL; w++) {
            char term[MP_TERMS_MAX + 1];
            size_t tlen = strlen(vp_term_of(words[w], term));
            struct posting_dump d = {f, &ix, v, k == 0};
            fprintf(f, " %s df=%u\n", words[w], ix.df(ix.ctx, term, tlen));
            fprintf(f, " postings %d\n", ix.postings(ix.ctx, term, tlen, on_posting, &d));
        }
    }
    mp_store_view_close(v);
}

/* What the other reads answer: the whole memory, the setting, the users. */
static void dump_reads(FILE *f, struct mp_store *store, const char *user)
{
    struct mp_usermem *um = NULL;
    int rc = mp_store_get(store, user, strlen(user), &um);
    fprintf(f, "get %d\n", rc);
    for (size_t i = 0; rc == MP_OK && i < um->nentities; i++)
        fprintf(f, " %s=%s\n", um->entities[i].key, um->entities[i].value);
    mp_usermem_free(um);
    enum mp_user_mode mode = MP_USER_MODE_AUTO;
    int64_t at = 0;
    rc = mp_store_user_mode(store, user, strlen(user), &mode, &at);
    fprintf(f, "user mode %d %d %lld\n", rc, (int)mode, (long long)at);
    struct mp_user_info *list = NULL;
    unsigned char next[MP_STORE_CURSOR_MAX];
    size_t n = 0, next_len = 0;
    rc = mp_store_users(store, mp_store_all_tenants, NULL, 0, 2, &list, &n, next, &next_len);
    fprintf(f, "users %d %zu more %d\n", rc, n, next_len > 0);
    free(list);
}

/* dump_view() (and, with reads, dump_reads()) as a string (caller frees). */
static char *text_of(struct mp_store *store, const char *user, const char *const *words, bool reads)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    dump_view(f, store, user, words);
    if (reads)
        dump_reads(f, store, user);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* text_of() with reads over a snapshot of src, fetching its misses round
 * by round until a run has none: that run's text. *rounds: how many runs
 * it took. */
static char *dump_through_snapshot(struct mp_store *src, const char *user, const char *const *words,
                                   int *rounds)
{
    struct mp_store *snap = NULL;
    const struct mp_snap_range *m;
    ck_assert_int_eq(mp_store_snap_new(src, &snap), MP_OK);
    for (*rounds = 1;; (*rounds)++) {
        ck_assert_int_le(*rounds, 64);
        mp_store_snap_run_begin(snap);
        char *d = text_of(snap, user, words, true);
        if (mp_store_snap_misses(snap, &m) == 0) {
            mp_store_free(snap);
            return d;
        }
        free(d);
        ck_assert_int_eq(mp_store_snap_fetch_from(snap, src), MP_OK);
    }
}

static void load_user(struct mp_store *s, const char *user, int turns, int facts)
{
    size_t ulen = strlen(user);
    char said[96], key[32], value[32];
    for (int t = 1; t <= turns; t++) {
        snprintf(said, sizeof(said), "turn %d: my kayak trip to lake %d was great", t, t % 7);
        ck_assert_int_eq(fx_turn(s, user, ulen, (uint8_t)t, said, "noted, kayak lover", t, t),
                         MP_OK);
    }
    for (int i = 0; i < facts; i++) {
        snprintf(key, sizeof(key), "pet_%d", i);
        snprintf(value, sizeof(value), "kayak dog %d", i);
        ck_assert_int_eq(fx_upsert(s, user, ulen, key, value, MP_TRUST_STATED, 100 + i), MP_OK);
    }
    if (turns > 2)
        ck_assert_int_eq(fx_summarize(s, user, ulen, "likes kayaks", 2, 1000), MP_OK);
}

static void snapshot_answers_as_source(struct mp_store *s)
{
    static const char *const words[] = {"kayak", "lake", "dog", "absent", NULL};
    static const struct {
        const char *user;
        int turns, facts;
    } users[] = {{"small", 6, 4}, {"big", 200, 300}};
    for (size_t u = 0; u < 2; u++)
        load_user(s, users[u].user, users[u].turns, users[u].facts);
    struct mp_op set = {.kind = MP_OP_SET_USER_MODE,
                        .user = "small",
                        .user_len = 5,
                        .now_ms = 77,
                        .actor = MP_ACTOR_USER};
    set.u.user_mode = MP_USER_MODE_READ;
    ck_assert_int_eq(fx_apply1(s, &set), MP_OK);
    const char *all[] = {"small", "big", "nobody"};
    for (size_t u = 0; u < 3; u++) {
        int rounds = 0;
        char *want = text_of(s, all[u], words, true);
        char *got = dump_through_snapshot(s, all[u], words, &rounds);
        ck_assert_str_eq(got, want);
        ck_assert_ptr_nonnull(strstr(want, u < 2 ? "open 0" : "open -2"));
        ck_assert_int_gt(rounds, 1); /* it did start empty */
        free(want);
        free(got);
    }
}

START_TEST(test_snap_answers_as_its_source_on_every_backend)
{
    struct mp_store *s = fx_open_backend(_i);
    snapshot_answers_as_source(s);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_snap_of_a_sealed_store_answers_as_its_source)
{
    struct mp_store *s = fx_open_sealed();
    snapshot_answers_as_source(s);
    fx_close_backend(s, LMDB);
}
END_TEST

/* A user's rows covered at once (as the PostgreSQL reader's first fetch
 * does) answer the view in one run, with no miss. */
START_TEST(test_snap_whole_user_cover_needs_no_second_round)
{
    struct mp_store *s = fx_open_backend(_i), *snap = NULL;
    load_user(s, "small", 6, 4);
    static const char *const words[] = {"kayak", "dog", NULL};
    ck_assert_int_eq(mp_store_snap_new(s, &snap), MP_OK);
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = mp_store_backend_user_prefix(s, prefix, "small", 5);
    for (int t = 0; t < MP_TABLE_COUNT; t++)
        if (mp_store_table_shapes[t] != MP_KEY_OPAQUE)
            ck_assert_int_eq(mp_store_snap_cover_user(snap, (enum mp_store_table)t, prefix, plen),
                             MP_OK);
    /* covered but empty: the view answers "nothing stored" without a miss */
    const struct mp_snap_range *m;
    mp_store_snap_run_begin(snap);
    char *d = text_of(snap, "small", words, false);
    ck_assert_uint_eq(mp_store_snap_misses(snap, &m), 0);
    ck_assert_str_eq(d, "open -2\n");
    free(d);
    mp_store_free(snap);
    fx_close_backend(s, _i);
}
END_TEST

static int on_posting_row(void *arg, const unsigned char *key, size_t klen,
                          const unsigned char *val, size_t vlen)
{
    FILE *f = arg;
    for (size_t i = 0; i < klen; i++)
        fprintf(f, "%02x", key[i]);
    fputc('=', f);
    for (size_t i = 0; i < vlen; i++)
        fprintf(f, "%02x", val[i]);
    fputc('\n', f);
    return MP_OK;
}

/* Every posting of the user of prefix P in store, as hex lines. */
static char *postings_of(struct mp_store *store, const unsigned char *prefix, size_t plen)
{
    char *buf = NULL;
    size_t len = 0;
    struct mp_store_txn txn;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(store->be->begin(store, false, &txn), MP_OK);
    ck_assert_int_eq(
        store->be->scan(&txn, MP_TABLE_POSTINGS, prefix, plen, plen, on_posting_row, f), MP_OK);
    store->be->end(&txn, false);
    fclose(f);
    return buf;
}

struct copy_arg {
    struct mp_store *snap;
    enum mp_store_table t;
};

static int on_copy(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                   size_t vlen)
{
    struct copy_arg *c = arg;
    return mp_store_snap_add(c->snap, c->t, key, klen, val, vlen);
}

/* The user's records of every table but the postings and the facts'
 * recent order, copied from src and covered, as the PostgreSQL reader
 * fetches a clear store's user. */
static void copy_user_but_derived(struct mp_store *src, struct mp_store *snap,
                                  const unsigned char *prefix, size_t plen)
{
    struct mp_store_txn txn;
    ck_assert_int_eq(src->be->begin(src, false, &txn), MP_OK);
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        enum mp_store_table tt = (enum mp_store_table)t;
        if (mp_store_table_shapes[t] == MP_KEY_OPAQUE || tt == MP_TABLE_POSTINGS ||
            tt == MP_TABLE_FACTRANK)
            continue;
        struct copy_arg c = {snap, tt};
        if (mp_store_table_shapes[t] == MP_KEY_USER) {
            const unsigned char *v;
            size_t vn;
            if (src->be->get(&txn, tt, prefix + 2, plen - 2, &v, &vn) == MP_OK)
                ck_assert_int_eq(mp_store_snap_add(snap, tt, prefix + 2, plen - 2, v, vn), MP_OK);
        } else {
            ck_assert_int_eq(src->be->scan(&txn, tt, prefix, plen, plen, on_copy, &c), MP_OK);
        }
        ck_assert_int_eq(mp_store_snap_cover_user(snap, tt, prefix, plen), MP_OK);
    }
    src->be->end(&txn, false);
}

/* A snapshot of the user "small" (turns, facts) of s with every record but
 * the derived tables (copy_user_but_derived()); its prefix into prefix. */
static struct mp_store *snap_but_derived(struct mp_store *s, int turns, int facts,
                                         unsigned char *prefix, size_t *plen)
{
    struct mp_store *snap = NULL;
    load_user(s, "small", turns, facts);
    *plen = mp_store_backend_user_prefix(s, prefix, "small", 5);
    ck_assert_int_eq(mp_store_snap_new(s, &snap), MP_OK);
    copy_user_but_derived(s, snap, prefix, *plen);
    return snap;
}

/* A clear store's postings, derived from the user's dterms, answer as the
 * stored ones: the view reads alike, and without a miss. */
START_TEST(test_snap_postings_derived_from_the_dterms_answer_as_stored)
{
    static const char *const words[] = {"kayak", "lake", "dog", "turn", "absent", NULL};
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = 0;
    struct mp_store *s = fx_open_backend(_i), *snap = snap_but_derived(s, 12, 20, prefix, &plen);
    ck_assert_int_eq(mp_store_snap_derive_postings(snap, prefix, plen), MP_OK);
    ck_assert_int_eq(mp_store_snap_derive_factrank(snap, prefix, plen), MP_OK);
    const struct mp_snap_range *m;
    char *want = text_of(s, "small", words, false);
    mp_store_snap_run_begin(snap);
    char *got = text_of(snap, "small", words, false);
    ck_assert_uint_eq(mp_store_snap_misses(snap, &m), 0);
    ck_assert_str_eq(got, want);
    ck_assert_ptr_nonnull(strstr(want, " kayak df=")); /* postings were read */
    free(want);
    free(got);
    /* a scan of another shape (all the user's postings) sees them as rows */
    char *all_src = postings_of(s, prefix, plen), *all_snap = postings_of(snap, prefix, plen);
    ck_assert_uint_gt(strlen(all_src), 100);
    ck_assert_str_eq(all_snap, all_src);
    free(all_src);
    free(all_snap);
    mp_store_free(snap);
    fx_close_backend(s, _i);
}
END_TEST

/* A copy of a built snapshot (records, ranges, derived postings) answers
 * as its source after the source is cleared and filled with another
 * user's records (the copy points at none of the source's bytes), and a
 * copy into a store that held other records holds only the source's. */
START_TEST(test_snap_copy_answers_as_its_source_alone)
{
    static const char *const words[] = {"kayak", "lake", "dog", "turn", "absent", NULL};
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX], other[MP_STORE_USER_PREFIX_MAX];
    size_t plen = 0;
    struct mp_store *s = fx_open_backend(_i), *snap = snap_but_derived(s, 12, 20, prefix, &plen);
    struct mp_store *copy = NULL, *again = NULL;
    ck_assert_int_eq(mp_store_snap_derive_postings(snap, prefix, plen), MP_OK);
    ck_assert_int_eq(mp_store_snap_derive_factrank(snap, prefix, plen), MP_OK);
    ck_assert_int_eq(mp_store_snap_new(s, &copy), MP_OK);
    ck_assert_int_eq(mp_store_snap_new(s, &again), MP_OK);
    load_user(s, "other", 3, 3);
    size_t olen = mp_store_backend_user_prefix(s, other, "other", 5);
    copy_user_but_derived(s, copy, other, olen); /* held before: forgotten by the copy */
    ck_assert_int_eq(mp_store_snap_copy(copy, snap), MP_OK);
    ck_assert_uint_gt(mp_store_snap_bytes(copy), 1000);
    mp_store_snap_clear(snap);
    copy_user_but_derived(s, snap, other, olen); /* the source's bytes now hold another user */
    ck_assert_int_eq(mp_store_snap_derive_postings(snap, other, olen), MP_OK);
    ck_assert_int_eq(mp_store_snap_copy(again, copy), MP_OK); /* a copy of a copy */
    const struct mp_snap_range *m;
    char *want = text_of(s, "small", words, false);
    for (int i = 0; i < 2; i++) {
        struct mp_store *c = i == 0 ? copy : again;
        mp_store_snap_run_begin(c);
        char *got = text_of(c, "small", words, false);
        ck_assert_uint_eq(mp_store_snap_misses(c, &m), 0);
        ck_assert_str_eq(got, want);
        free(got);
        char *all_src = postings_of(s, prefix, plen), *all_copy = postings_of(c, prefix, plen);
        ck_assert_str_eq(all_copy, all_src);
        free(all_src);
        free(all_copy);
        char *none = text_of(c, "other", words, false);
        ck_assert_uint_gt(mp_store_snap_misses(c, &m), 0); /* the other user is not in it */
        free(none);
    }
    ck_assert_ptr_nonnull(strstr(want, " kayak df="));
    free(want);
    mp_store_free(snap);
    mp_store_free(copy);
    mp_store_free(again);
    fx_close_backend(s, _i);
}
END_TEST

/* A sealed store's postings are keyed hashes, sealed: not derived. */
START_TEST(test_snap_postings_of_a_sealed_store_are_not_derived)
{
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = 0;
    struct mp_store *s = fx_open_sealed(), *snap = snap_but_derived(s, 2, 2, prefix, &plen);
    ck_assert_int_eq(mp_store_snap_derive_postings(snap, prefix, plen), MP_EUNSUPPORTED);
    ck_assert_int_eq(mp_store_snap_derive_factrank(snap, prefix, plen), MP_EUNSUPPORTED);
    mp_store_free(snap);
    fx_close_backend(s, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_snap");
    TCase *tc = tcase_create("snap");
    tcase_add_unchecked_fixture(tc, vp_setup, vp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_snap_scans_what_is_covered_and_notes_the_first_gap);
    tcase_add_loop_test(tc, test_snap_answers_as_its_source_on_every_backend, 0, FX_BACKENDS);
    tcase_add_test(tc, test_snap_of_a_sealed_store_answers_as_its_source);
    tcase_add_loop_test(tc, test_snap_whole_user_cover_needs_no_second_round, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_snap_postings_derived_from_the_dterms_answer_as_stored, 0,
                        FX_BACKENDS);
    tcase_add_test(tc, test_snap_postings_of_a_sealed_store_are_not_derived);
    tcase_add_loop_test(tc, test_snap_copy_answers_as_its_source_alone, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
