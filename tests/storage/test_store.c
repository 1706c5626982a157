/* Tests for storage/store.h: every case runs on each backend. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "status.h"
#include "store.h"

Suite *mp_test_suite(void);

static char tmpdir[256];

static struct mp_store *open_backend(int which)
{
    struct mp_store *store = NULL;
    char err[256] = "";
    if (which == 0) {
        ck_assert_int_eq(mp_store_open_mem(&store), MP_OK);
        return store;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mp_store_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    struct mp_store_options opts = {
        .path = tmpdir, .map_size = 1 << 20, .sync = MP_STORE_SYNC_NONE};
    ck_assert_int_eq(mp_store_open_lmdb(&opts, &store, err, sizeof(err)), MP_OK);
    return store;
}

static void close_backend(struct mp_store *store, int which)
{
    char cmd[300];
    mp_store_free(store);
    if (which == 1) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
    }
}

START_TEST(test_store_open_ping_close)
{
    struct mp_store *store = open_backend(_i);
    ck_assert_int_eq(mp_store_ping(store), MP_OK);
    ck_assert_str_eq(mp_store_backend(store), _i == 0 ? "mem" : "lmdb");
    close_backend(store, _i);
}
END_TEST

START_TEST(test_store_free_null_is_noop)
{
    mp_store_free(NULL);
}
END_TEST

START_TEST(test_store_lmdb_unopenable_path_is_eio)
{
    struct mp_store *store = NULL;
    char err[256] = "";
    struct mp_store_options opts = {
        .path = "/proc/self/no/such/dir", .map_size = 1 << 20, .sync = MP_STORE_SYNC_FULL};
    ck_assert_int_eq(mp_store_open_lmdb(&opts, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_ptr_nonnull(strstr(err, "/proc/self/no/such/dir"));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("backends");
    tcase_add_loop_test(tc, test_store_open_ping_close, 0, 2);
    tcase_add_test(tc, test_store_free_null_is_noop);
    tcase_add_test(tc, test_store_lmdb_unopenable_path_is_eio);
    suite_add_tcase(s, tc);
    return s;
}
