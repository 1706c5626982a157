/* The PostgreSQL link's read cache (storage/pg/store_pg_rcache.h): a user's
 * kept snapshot is lent only for the version it was kept with, a
 * newer version replaces it, and the least recently read users go out
 * past MP_PG_RCACHE_USERS or MP_PG_RCACHE_BYTES. (The version checked by
 * the server, through two proxies: tests/proxy/process/test_postgres.py.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/store.h"
#include "pg/store_pg_rcache.h"
#include "snap/store_snap.h"
#include "status.h"

Suite *mp_test_suite(void);

static const struct mp_store like; /* a clear store's sealing */

#define V(s) (const unsigned char *)(s), strlen(s)

/* A snapshot store holding META's key k with value v, covered. */
static struct mp_store *snap_with(const char *k, const char *v)
{
    struct mp_store *s = NULL;
    ck_assert_int_eq(mp_store_snap_new(&like, &s), MP_OK);
    ck_assert_int_eq(mp_store_snap_add(s, MP_TABLE_META, V(k), V(v)), MP_OK);
    ck_assert_int_eq(mp_store_snap_cover(s, MP_TABLE_META, NULL, 0, NULL, 0), MP_OK);
    return s;
}

/* META's key k in snapshot s: its value ("" when absent). */
static char *value_in(struct mp_store *s, const char *k)
{
    static char out[64];
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n = 0;
    out[0] = '\0';
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    if (s->be->get(&txn, MP_TABLE_META, k, strlen(k), &v, &n) == MP_OK) {
        memcpy(out, v, n);
        out[n] = '\0';
    }
    s->be->end(&txn, false);
    return out;
}

static struct mp_store *lend(struct mp_pg_rcache *c, const char *user, const char *ver)
{
    return mp_pg_rcache_lend(c, V(user), V(ver));
}

START_TEST(test_rcache_hands_out_only_the_version_kept)
{
    struct mp_pg_rcache *c = NULL;
    struct mp_store *a1 = snap_with("city", "Aarhus"), *a2 = snap_with("city", "Odense"), *got;
    const unsigned char *ver;
    ck_assert_int_eq(mp_pg_rcache_new(&c), MP_OK);
    ck_assert_uint_eq(mp_pg_rcache_version(c, V("ada"), &ver), 0);
    ck_assert_int_eq(mp_pg_rcache_keep(c, V("ada"), V("741.90"), a1), MP_OK);
    mp_store_free(a1); /* kept as a copy */
    ck_assert_uint_eq(mp_pg_rcache_version(c, V("ada"), &ver), 6);
    ck_assert_int_eq(memcmp(ver, "741.90", 6), 0);
    ck_assert_ptr_nonnull(got = lend(c, "ada", "741.90"));
    ck_assert_str_eq(value_in(got, "city"), "Aarhus");
    ck_assert_ptr_eq(lend(c, "ada", "741.90"), got); /* the one kept, lent again: no copy */
    /* another version, or another user: nothing lent */
    ck_assert_ptr_null(lend(c, "ada", "742.90"));
    ck_assert_ptr_null(lend(c, "bob", "741.90"));
    /* a newer version replaces the old one */
    ck_assert_int_eq(mp_pg_rcache_keep(c, V("ada"), V("802.91"), a2), MP_OK);
    ck_assert_ptr_null(lend(c, "ada", "741.90"));
    ck_assert_ptr_nonnull(got = lend(c, "ada", "802.91"));
    ck_assert_str_eq(value_in(got, "city"), "Odense");
    char longver[MP_PG_RCACHE_VER_MAX + 2];
    memset(longver, '7', sizeof(longver) - 1);
    longver[sizeof(longver) - 1] = '\0';
    ck_assert_int_eq(mp_pg_rcache_keep(c, V("ada"), V(longver), a2), MP_EINVAL);
    ck_assert_uint_eq(mp_pg_rcache_version(c, V("ada"), &ver), 0); /* the older one went too */
    mp_store_free(a2);
    mp_pg_rcache_free(c);
}
END_TEST

START_TEST(test_rcache_keeps_the_recently_read_users_within_bounds)
{
    struct mp_pg_rcache *c = NULL;
    struct mp_store *s = snap_with("k", "v");
    const unsigned char *ver;
    char user[16];
    ck_assert_int_eq(mp_pg_rcache_new(&c), MP_OK);
    for (int i = 0; i < MP_PG_RCACHE_USERS; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        ck_assert_int_eq(mp_pg_rcache_keep(c, V(user), V("1.1"), s), MP_OK);
    }
    ck_assert_ptr_nonnull(lend(c, "u0", "1.1")); /* u0 read: u1 is the oldest now */
    ck_assert_int_eq(mp_pg_rcache_keep(c, V("new"), V("1.1"), s), MP_OK);
    ck_assert_uint_gt(mp_pg_rcache_version(c, V("u0"), &ver), 0);
    ck_assert_uint_eq(mp_pg_rcache_version(c, V("u1"), &ver), 0);
    ck_assert_uint_gt(mp_pg_rcache_version(c, V("u2"), &ver), 0);
    ck_assert_uint_gt(mp_pg_rcache_version(c, V("new"), &ver), 0);
    /* a snapshot bigger than the whole cache is not kept, and takes no one out */
    static char big[64 * 1024];
    memset(big, 'x', sizeof(big) - 1);
    struct mp_store *huge = NULL;
    ck_assert_int_eq(mp_store_snap_new(&like, &huge), MP_OK);
    for (int i = 0; (size_t)i * sizeof(big) <= MP_PG_RCACHE_BYTES; i++) {
        snprintf(user, sizeof(user), "h%05d", i);
        ck_assert_int_eq(mp_store_snap_add(huge, MP_TABLE_META, V(user), V(big)), MP_OK);
    }
    ck_assert_int_eq(mp_pg_rcache_keep(c, V("huge"), V("1.1"), huge), MP_EINVAL);
    ck_assert_uint_eq(mp_pg_rcache_version(c, V("huge"), &ver), 0);
    ck_assert_uint_gt(mp_pg_rcache_version(c, V("u2"), &ver), 0);
    mp_store_free(huge);
    mp_store_free(s);
    mp_pg_rcache_free(c);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("pg_rcache");
    TCase *tc = tcase_create("rcache");
    tcase_add_test(tc, test_rcache_hands_out_only_the_version_kept);
    tcase_add_test(tc, test_rcache_keeps_the_recently_read_users_within_bounds);
    suite_add_tcase(s, tc);
    return s;
}
