/* Tests for the backend primitives (storage/ops/store_backend.h), the same
 * cases on every backend (the loop index _i: 0 = mem, 1 = lmdb): what the
 * op layer may rely on, whichever backend is underneath. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/index.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "pg/store_pg_conn.h"
#include "pg/store_pg_usnap.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

/* A string literal as (bytes, length), its NUL left out. */
#define K(s) (s), (sizeof(s) - 1)

static void begin(struct mp_store *s, bool write, struct mp_store_txn *txn)
{
    ck_assert_int_eq(s->be->begin(s, write, txn), MP_OK);
}

static void put(struct mp_store_txn *txn, enum mp_store_table t, const char *k, size_t klen,
                const char *v)
{
    ck_assert_int_eq(txn->store->be->put(txn, t, k, klen, v, strlen(v)), MP_OK);
}

/* The value under k as a string ("" when absent), read in its own read
 * transaction. */
static const char *read_back(struct mp_store *s, enum mp_store_table t, const char *k, size_t klen)
{
    static char out[256];
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n;
    begin(s, false, &txn);
    int rc = s->be->get(&txn, t, k, klen, &v, &n);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
    ck_assert(rc != MP_OK || n < sizeof(out));
    snprintf(out, sizeof(out), "%.*s", rc == MP_OK ? (int)n : 0,
             rc == MP_OK ? (const char *)v : "");
    ck_assert_int_eq(s->be->end(&txn, false), MP_OK);
    return out;
}

START_TEST(test_backend_put_get_del_and_commit)
{
    struct mp_store *s = fx_open_backend(_i);
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n;
    begin(s, true, &txn);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_USERS, K("ann"), &v, &n), MP_NOTFOUND);
    put(&txn, MP_TABLE_USERS, K("ann"), "one");
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_USERS, K("ann"), &v, &n), MP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(v, "one", 3);
    put(&txn, MP_TABLE_USERS, K("ann"), "two!"); /* replaces */
    put(&txn, MP_TABLE_USERS, K("bea"), "");     /* an empty value is a value */
    put(&txn, MP_TABLE_USERS, K("cid"), "gone");
    ck_assert_int_eq(s->be->del(&txn, MP_TABLE_USERS, K("cid")), MP_OK);
    ck_assert_int_eq(s->be->del(&txn, MP_TABLE_USERS, K("cid")), MP_NOTFOUND);
    ck_assert_int_eq(s->be->del(&txn, MP_TABLE_USERS, K("dan")), MP_NOTFOUND);
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);

    ck_assert_str_eq(read_back(s, MP_TABLE_USERS, K("ann")), "two!");
    begin(s, false, &txn);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_USERS, K("bea"), &v, &n), MP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_USERS, K("cid"), &v, &n), MP_NOTFOUND);
    ck_assert_int_eq(s->be->end(&txn, false), MP_OK);
    s = fx_reopen(s, _i); /* LMDB: what was committed is on disk */
    ck_assert_str_eq(read_back(s, MP_TABLE_USERS, K("ann")), "two!");
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_backend_abort_undoes_every_write)
{
    struct mp_store *s = fx_open_backend(_i);
    struct mp_store_txn txn;
    begin(s, true, &txn);
    put(&txn, MP_TABLE_JOBS, K("keep"), "old");
    put(&txn, MP_TABLE_JOBS, K("drop"), "old");
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
    for (int round = 0; round < 2; round++) {
        begin(s, true, &txn);
        put(&txn, MP_TABLE_JOBS, K("keep"), "new"); /* overwritten twice, then undone */
        put(&txn, MP_TABLE_JOBS, K("keep"), "newer");
        ck_assert_int_eq(s->be->del(&txn, MP_TABLE_JOBS, K("drop")), MP_OK);
        put(&txn, MP_TABLE_JOBS, K("drop"), "back");
        ck_assert_int_eq(s->be->del(&txn, MP_TABLE_JOBS, K("drop")), MP_OK);
        put(&txn, MP_TABLE_JOBS, K("fresh"), "x");
        ck_assert_int_eq(s->be->end(&txn, false), MP_OK);
    }
    ck_assert_str_eq(read_back(s, MP_TABLE_JOBS, K("keep")), "old");
    ck_assert_str_eq(read_back(s, MP_TABLE_JOBS, K("drop")), "old");
    ck_assert_str_eq(read_back(s, MP_TABLE_JOBS, K("fresh")), "");
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_backend_tables_are_apart)
{
    struct mp_store *s = fx_open_backend(_i);
    struct mp_store_txn txn;
    begin(s, true, &txn);
    put(&txn, MP_TABLE_HISTORY, K("k"), "history");
    put(&txn, MP_TABLE_IDEM, K("k"), "idem");
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
    ck_assert_str_eq(read_back(s, MP_TABLE_HISTORY, K("k")), "history");
    ck_assert_str_eq(read_back(s, MP_TABLE_IDEM, K("k")), "idem");
    ck_assert_str_eq(read_back(s, MP_TABLE_USERS, K("k")), "");
    fx_close_backend(s, _i);
}
END_TEST

struct seen {
    char keys[16][16];
    size_t n, stop_after;
    int fail_with;
};

static int on_rec(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    struct seen *sn = arg;
    ck_assert_uint_lt(sn->n, 16);
    ck_assert_uint_lt(klen, 16);
    ck_assert_uint_eq(vlen, 1);
    ck_assert_int_eq(val[0], 'v');
    for (size_t i = 0; i < klen; i++) /* NUL shown as '0' */
        sn->keys[sn->n][i] = key[i] == '\0' ? '0' : (char)key[i];
    sn->keys[sn->n][klen] = '\0';
    sn->n++;
    if (sn->fail_with != 0 && sn->n == sn->stop_after)
        return sn->fail_with;
    return sn->n == sn->stop_after ? MP_STORE_SCAN_STOP : MP_OK;
}

/* Scans from start with the prefix plen: the keys seen, joined by ','. */
static const char *scan(struct mp_store *s, const char *start, size_t slen, size_t plen,
                        size_t stop_after, int fail_with, int want)
{
    static char out[256];
    struct seen sn = {.stop_after = stop_after, .fail_with = fail_with};
    struct mp_store_txn txn;
    begin(s, false, &txn);
    ck_assert_int_eq(s->be->scan(&txn, MP_TABLE_HISTORY, start, slen, plen, on_rec, &sn), want);
    ck_assert_int_eq(s->be->end(&txn, false), MP_OK);
    out[0] = '\0';
    for (size_t i = 0; i < sn.n; i++) {
        strcat(out, i > 0 ? "," : "");
        strcat(out, sn.keys[i]);
    }
    return out;
}

START_TEST(test_backend_scan_in_byte_order_from_a_start_within_a_prefix)
{
    struct mp_store *s = fx_open_backend(_i);
    struct mp_store_txn txn;
    static const char *keys[] = {"b", "ab", "a", "abc", "b\x01", "ac", "a\xff"};
    begin(s, true, &txn);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_int_eq(s->be->put(&txn, MP_TABLE_HISTORY, keys[i], strlen(keys[i]), "v", 1),
                         MP_OK);
    ck_assert_int_eq(s->be->put(&txn, MP_TABLE_HISTORY, K("a\0"), "v", 1), MP_OK);
    ck_assert_int_eq(s->be->put(&txn, MP_TABLE_USERS, K("aa"), "v", 1), MP_OK);
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);

    /* memcmp order, a key before its extensions; other tables unseen */
    ck_assert_str_eq(scan(s, NULL, 0, 0, 0, 0, MP_OK), "a,a0,ab,abc,ac,a\xff,b,b\x01");
    ck_assert_str_eq(scan(s, K("ab"), 0, 0, 0, MP_OK), "ab,abc,ac,a\xff,b,b\x01");
    ck_assert_str_eq(scan(s, K("aba"), 0, 0, 0, MP_OK), "abc,ac,a\xff,b,b\x01");
    ck_assert_str_eq(scan(s, K("a"), 1, 0, 0, MP_OK), "a,a0,ab,abc,ac,a\xff");
    ck_assert_str_eq(scan(s, K("ab"), 2, 0, 0, MP_OK), "ab,abc");
    ck_assert_str_eq(scan(s, K("ab"), 1, 0, 0, MP_OK), "ab,abc,ac,a\xff");
    ck_assert_str_eq(scan(s, K("c"), 0, 0, 0, MP_OK), "");
    ck_assert_str_eq(scan(s, K("ba"), 1, 0, 0, MP_OK), "");
    /* stopped early, or by an error that becomes the scan's */
    ck_assert_str_eq(scan(s, NULL, 0, 0, 2, 0, MP_OK), "a,a0");
    ck_assert_str_eq(scan(s, K("a"), 1, 3, MP_ENOMEM, MP_ENOMEM), "a,a0,ab");
    fx_close_backend(s, _i);
}
END_TEST

/* The first two keys at or after a start of MP_TABLE_HISTORY's "k%05u"
 * keys, as numbers (-1: none), and, with nested_start, the first that a
 * scan of the same table started inside the first callback finds. */
struct first_keys {
    struct mp_store_txn *txn;
    unsigned nested_start; /* 0: no nested scan */
    long key[2], nested;
    size_t n;
};

static int on_first(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                    size_t vlen)
{
    struct first_keys *fk = arg;
    char digits[8];
    (void)val;
    (void)vlen;
    ck_assert_uint_eq(klen, 6);
    memcpy(digits, key + 1, 5);
    digits[5] = '\0';
    fk->key[fk->n++] = strtol(digits, NULL, 10);
    if (fk->n == 1 && fk->nested_start > 0) {
        struct first_keys in = {.txn = fk->txn, .key = {-1, -1}};
        char start[16];
        snprintf(start, sizeof(start), "k%05u", fk->nested_start);
        ck_assert_int_eq(
            fk->txn->store->be->scan(fk->txn, MP_TABLE_HISTORY, start, 6, 1, on_first, &in), MP_OK);
        fk->nested = in.key[0];
    }
    return fk->n == 2 ? MP_STORE_SCAN_STOP : MP_OK;
}

/* The first two keys from "k<from>" (*nested: the nested scan's first). */
static void first_two(struct mp_store_txn *txn, unsigned from, unsigned nested, long out[3])
{
    char start[16];
    struct first_keys fk = {.txn = txn, .nested_start = nested, .key = {-1, -1}, .nested = -1};
    snprintf(start, sizeof(start), "k%05u", from);
    ck_assert_int_eq(txn->store->be->scan(txn, MP_TABLE_HISTORY, start, 6, 1, on_first, &fk),
                     MP_OK);
    out[0] = fk.key[0];
    out[1] = fk.key[1];
    out[2] = fk.nested;
}

/* Many scans in one read transaction (LMDB keeps a table's cursor from one
 * scan to the next, positioned where the last one stopped): each finds
 * what it would alone, forward, backward, past the end, across many
 * pages, and with a scan of the same table inside its callback. */
START_TEST(test_backend_scans_in_one_read_find_what_each_would_alone)
{
    struct mp_store *s = fx_open_backend(_i);
    struct mp_store_txn txn;
    char key[16];
    begin(s, true, &txn);
    for (unsigned i = 2; i <= 6000; i += 2) { /* even numbers: many leaf pages */
        snprintf(key, sizeof(key), "k%05u", i);
        put(&txn, MP_TABLE_HISTORY, key, 6, "value of a few bytes");
    }
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);

    begin(s, false, &txn);
    static const unsigned from[] = {1, 3, 4, 2999, 3001, 17, 5997, 5999, 6001, 5000, 5001, 100, 99};
    long got[3];
    for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
        long first = from[i] > 6000 ? -1 : (long)(from[i] + from[i] % 2);
        first_two(&txn, from[i], 0, got);
        ck_assert_int_eq(got[0], first);
        ck_assert_int_eq(got[1], first < 0 || first == 6000 ? -1 : first + 2);
    }
    first_two(&txn, 4001, 11, got); /* the outer scan goes on after the nested one */
    ck_assert_int_eq(got[0], 4002);
    ck_assert_int_eq(got[1], 4004);
    ck_assert_int_eq(got[2], 12);
    ck_assert_int_eq(s->be->end(&txn, false), MP_OK);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_backend_store_ops_leave_the_records_of_the_format)
{
    struct mp_store *s = fx_open_backend(_i);
    const unsigned char *v;
    size_t n;
    struct mp_store_txn txn;
    ck_assert_int_eq(fx_turn(s, U("alice"), 7, "hello", "hi", 1, 2), MP_OK);
    fx_add_job(s, fx_job_for(U("alice"), MP_JOB_EXTRACT, 2));
    begin(s, false, &txn);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_META, K("format"), &v, &n), MP_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(v, "\x0c\x00\x00\x00", 4);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_META, K("next_job"), &v, &n), MP_OK);
    ck_assert_uint_eq(n, 8);
    ck_assert_mem_eq(v, "\x02\0\0\0\0\0\0\0", 8);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_META, K("secret"), &v, &n), MP_OK);
    ck_assert_uint_eq(n, MP_SEAL_KEY_LEN);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_USERS, K("alice"), &v, &n), MP_OK);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_JOBS, K("\0\0\0\0\0\0\0\x01"), &v, &n), MP_OK);
    unsigned char idem[2 + 5 + MP_IDEM_KEY_LEN] = {0, 5, 'a', 'l', 'i', 'c', 'e'};
    memset(idem + 7, 7, MP_IDEM_KEY_LEN);
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_IDEM, idem, sizeof(idem), &v, &n), MP_OK);
    ck_assert_uint_eq(n, 40); /* recorded at 2; the user's message 1..1, the reply 2..2 */
    ck_assert_mem_eq(v,
                     "\x02\0\0\0\0\0\0\0"
                     "\x01\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0"
                     "\x02\0\0\0\0\0\0\0\x02\0\0\0\0\0\0\0",
                     40);
    /* the archive under P | seq, its time key, a doc and the postings of "hello" */
    unsigned char arch[2 + 5 + 8] = {0, 5, 'a', 'l', 'i', 'c', 'e', 0, 0, 0, 0, 0, 0, 0, 1};
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_ARCHIVE, arch, sizeof(arch), &v, &n), MP_OK);
    unsigned char doc[2 + 5 + 1 + 4] = {0, 5, 'a', 'l', 'i', 'c', 'e', 1, 0, 0, 0, 1};
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_DOCS, doc, sizeof(doc), &v, &n), MP_OK);
    unsigned char post[2 + 5 + 1 + 1 + 5 + 4] = {0,   5,   'a', 'l', 'i', 'c', 'e', 6, 1,
                                                 'h', 'e', 'l', 'l', 'o', 0,   0,   0, 1};
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_POSTINGS, post, sizeof(post), &v, &n), MP_OK);
    ck_assert_uint_eq(n, MP_INDEX_POSTING_LEN);
    /* once in the content; the item's content length (one term) after it */
    ck_assert_mem_eq(v, "\x01\0\0\0\0\x01\0\0\0", MP_INDEX_POSTING_LEN);
    ck_assert_int_eq(s->be->end(&txn, false), MP_OK);
    fx_close_backend(s, _i);
}
END_TEST

/* The scan callback of the PostgreSQL case: appends "key=value;" (the
 * key's last byte) to the string arg. */
static int collect(void *arg, const unsigned char *k, size_t klen, const unsigned char *v,
                   size_t vlen)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 64 - n, "%c=%.*s;", k[klen - 1], (int)vlen, (const char *)v);
    return MP_OK;
}

/* PostgreSQL: a write transaction told its user (hint_user) reads the
 * user's snapshot once and answers from its copy, which follows its own
 * puts and deletes; the snapshot it writes at commit is byte for byte the
 * one the user's rows pack to (what a rebuild from the rows writes). */
START_TEST(test_backend_pg_write_copy_follows_its_writes_and_packs_as_the_rows)
{
    struct mp_store *s = fx_open_backend(PG);
    struct mp_store_txn txn;
    const unsigned char P[] = {0, 3, 'e', 'v', 'e'};
    unsigned char k[8];
    const unsigned char *v;
    size_t n;
    char scanned[64] = "";
    memcpy(k, P, sizeof(P));
    begin(s, true, &txn); /* no snapshot yet: built from the rows */
    for (char c = 'a'; c <= 'c'; c++) {
        k[5] = (unsigned char)c;
        char val[2] = {(char)(c - 'a' + '1'), 0};
        put(&txn, MP_TABLE_FACTS, (const char *)k, 6, val);
    }
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
    begin(s, true, &txn);
    s->be->hint_user(&txn, P, sizeof(P));
    k[5] = 'a';
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_FACTS, k, 6, &v, &n), MP_OK);
    ck_assert_mem_eq(v, "1", n);
    put(&txn, MP_TABLE_FACTS, (const char *)k, 6, "9");
    ck_assert_int_eq(s->be->get(&txn, MP_TABLE_FACTS, k, 6, &v, &n), MP_OK);
    ck_assert_mem_eq(v, "9", n);
    k[5] = 'd';
    put(&txn, MP_TABLE_FACTS, (const char *)k, 6, "4");
    k[5] = 'b';
    ck_assert_int_eq(s->be->del(&txn, MP_TABLE_FACTS, k, 6), MP_OK);
    ck_assert_int_eq(s->be->del(&txn, MP_TABLE_FACTS, k, 6), MP_NOTFOUND);
    ck_assert_int_eq(s->be->scan(&txn, MP_TABLE_FACTS, P, sizeof(P), sizeof(P), collect, scanned),
                     MP_OK);
    ck_assert_str_eq(scanned, "a=9;c=3;d=4;");
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
    k[5] = 'b';
    ck_assert_str_eq(read_back(s, MP_TABLE_FACTS, (const char *)k, 6), "");
    k[5] = 'a';
    ck_assert_str_eq(read_back(s, MP_TABLE_FACTS, (const char *)k, 6), "9");

    char err[128];
    PGconn *c = mp_pg_connect(getenv("MEMPROXY_TEST_POSTGRES_URL"), err, sizeof(err));
    ck_assert_ptr_nonnull(c);
    char sql[MP_PG_USNAP_SQL_MAX];
    mp_pg_usnap_rows_sql(sql, false);
    const char *values[2] = {(const char *)P, "true"};
    const int lengths[2] = {sizeof(P), 0}, formats[2] = {1, 0};
    PGresult *rows = mp_pq.execParams(c, sql, 2, NULL, values, lengths, formats, 1);
    PGresult *snap = mp_pq.execParams(c, "SELECT v FROM mp_usnap WHERE part = $1", 1, NULL, values,
                                      lengths, formats, 1);
    ck_assert_int_eq(mp_pq.ntuples(rows), 3);
    ck_assert_int_eq(mp_pq.ntuples(snap), 1);
    enum mp_pg_usnap_act act;
    unsigned char *want = NULL;
    size_t wlen = 0;
    ck_assert_int_eq(mp_pg_usnap_from_rows(rows, &act, &want, &wlen), MP_OK);
    ck_assert_int_eq(act, MP_PG_USNAP_PUT);
    ck_assert_uint_eq((size_t)mp_pq.getlength(snap, 0, 0), wlen);
    ck_assert_mem_eq(mp_pq.getvalue(snap, 0, 0), want, wlen);
    free(want);
    mp_pq.clear(rows);
    mp_pq.clear(snap);
    mp_pq.finish(c);
    fx_close_backend(s, PG);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_backend");
    TCase *tc = tcase_create("primitives");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_backend_put_get_del_and_commit, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_backend_abort_undoes_every_write, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_backend_tables_are_apart, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_backend_scan_in_byte_order_from_a_start_within_a_prefix, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_backend_scans_in_one_read_find_what_each_would_alone, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_backend_store_ops_leave_the_records_of_the_format, 0, FX_BACKENDS);
    tcase_add_test(tc, test_backend_pg_write_copy_follows_its_writes_and_packs_as_the_rows);
    suite_add_tcase(s, tc);
    return s;
}
