/* Tests for the LMDB store's rewrites of its own files (storage/ops/store.h):
 * encryption at rest, compaction and key rotation, checked against the
 * bytes of the store's files. The one case that holds on every backend
 * (compaction keeps live data) uses the loop index _i: 0 = mem, 1 = lmdb. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define CANARY      "CANARY-7f3a9"
#define CANARY_USER "ada-" CANARY

/* ---- helpers ---- */

/* Opens the LMDB store at fx_dir with key (NULL: clear): the status, with
 * the reason in err. */
static int try_open(const struct mp_seal_key *key, struct mp_store **out, char *err, size_t cap)
{
    struct mp_store_options o = fx_opts;
    o.key = key;
    err[0] = '\0';
    return mp_store_open_lmdb(&o, out, err, cap);
}

static struct mp_store *open_with(const struct mp_seal_key *key)
{
    struct mp_store *store = NULL;
    char err[256];
    int rc = try_open(key, &store, err, sizeof(err));
    ck_assert_msg(rc == MP_OK, "open: %s", err);
    return store;
}

/* ---- encryption at rest ---- */

/* The canary in every kind of record of user: two messages, a fact and
 * its past value, the summary; plus a job naming the user. */
static void fill_canary(struct mp_store *store, const char *user, size_t ulen)
{
    ck_assert_int_eq(
        fx_turn(store, user, ulen, 1, "my code is " CANARY, "noted: " CANARY, 100, 100), MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, ulen, "code", CANARY "-old", MP_TRUST_STATED, 90),
                     MP_OK);
    ck_assert_int_eq(fx_upsert(store, user, ulen, "code", CANARY, MP_TRUST_STATED, 100), MP_OK);
    ck_assert_int_eq(fx_summarize(store, user, ulen, "Ada's code is " CANARY, 0, 200), MP_OK);
    fx_add_job(store, fx_job_for(user, ulen, MP_JOB_SUMMARIZE, 2));
}

/* What fill_canary() wrote reads back intact. */
static void check_canary(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = fx_get(store, user, ulen);
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_str_eq(um->messages[0].content, "my code is " CANARY);
    ck_assert_str_eq(um->messages[1].content, "noted: " CANARY);
    ck_assert_str_eq(fx_entity_value(um, "code"), CANARY);
    ck_assert_str_eq(um->summary.text, "Ada's code is " CANARY);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, user, ulen);
    ck_assert_uint_eq(h->nitems, 4);
    ck_assert_str_eq(h->items[1].entity.value, CANARY "-old");
    mp_history_free(h);
    struct mp_job *jobs = NULL;
    size_t n = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(jobs[0].user_len, ulen);
    ck_assert_mem_eq(jobs[0].user, user, ulen);
    free(jobs);
    /* the idem key too: the same turn again records nothing */
    ck_assert_int_eq(
        fx_turn(store, user, ulen, 1, "my code is " CANARY, "noted: " CANARY, 100, 300),
        MP_NOTFOUND);
}

/* Nothing of what fill_canary() wrote is left in the live data. */
static void check_no_live_canary(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_usermem *um = NULL;
    if (mp_store_get(store, user, ulen, &um) == MP_OK) {
        for (size_t i = 0; i < um->nmessages; i++)
            ck_assert_ptr_null(strstr(um->messages[i].content, CANARY));
        for (size_t i = 0; i < um->nentities; i++)
            ck_assert_ptr_null(strstr(um->entities[i].value, CANARY));
        ck_assert_ptr_null(um->summary.text);
        mp_usermem_free(um);
    }
    struct mp_history *h = NULL;
    if (mp_store_history(store, user, ulen, &h) == MP_OK) {
        for (size_t i = 0; i < h->nitems; i++)
            ck_assert_ptr_null(strstr(h->items[i].entity.value, CANARY));
        mp_history_free(h);
    }
}

START_TEST(test_gov_lmdb_sealed_store_keeps_no_clear_text)
{
    for (int sealed = 0; sealed < 2; sealed++) {
        struct mp_store *store = sealed ? fx_open_sealed() : fx_open_backend(LMDB);
        char tk[64];
        size_t tlen = fx_tenant_key(tk, 0xA1, CANARY_USER);
        fill_canary(store, U(CANARY_USER));
        ck_assert_int_eq(fx_turn(store, tk, tlen, 1, "q", "a", 1, 1), MP_OK);
        mp_store_free(store);
        /* In clear the canary is there (the check is meaningful); sealed, not. */
        ck_assert_int_eq(fx_dir_has(CANARY), !sealed);
        ck_assert_int_eq(fx_dir_has(CANARY_USER), !sealed);
        ck_assert_int_eq(fx_dir_has("summarizer-1"), !sealed);
        fx_remove_dir();
    }
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_reads_back_with_its_key)
{
    struct mp_store *store = fx_open_sealed();
    fill_canary(store, U(CANARY_USER));
    store = fx_reopen(store, LMDB);
    check_canary(store, U(CANARY_USER));
    struct mp_user_info list[2];
    ck_assert_uint_eq(fx_list_all(store, NULL, 5, list, 2), 1);
    ck_assert(fx_info_is(&list[0], U(CANARY_USER)));
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_without_key_is_eio)
{
    struct mp_store *store = fx_open_sealed();
    fill_canary(store, U("alice"));
    mp_store_free(store);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(NULL, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "encryption_key_file") != NULL, "err: %s", err);
    fx_remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_with_another_key_is_eio)
{
    struct mp_store *store = fx_open_sealed();
    fill_canary(store, U("alice"));
    mp_store_free(store);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(&fx_key_b, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "key id") != NULL, "err: %s", err);
    fx_remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_clear_store_with_a_key_is_eio)
{
    struct mp_store *store = fx_open_backend(LMDB);
    fill_canary(store, U("alice"));
    mp_store_free(store);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(&fx_key_a, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(err, "rotate") != NULL, "err: %s", err);
    store = open_with(NULL); /* refused, not changed */
    check_canary(store, U("alice"));
    fx_close_backend(store, LMDB);
}
END_TEST

/* data.mdb's permission bits. */
static unsigned data_mode(void)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", fx_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 0777u;
}

START_TEST(test_gov_lmdb_rewritten_file_stays_private)
{
    mode_t old = umask(022);
    struct mp_store *store = fx_open_backend(LMDB);
    fill_canary(store, U("alice"));
    ck_assert_uint_eq(data_mode(), 0600);
    fx_compact(store);
    ck_assert_uint_eq(data_mode(), 0600);
    mp_store_free(store);
    fx_rekey(NULL, &fx_key_a);
    ck_assert_uint_eq(data_mode(), 0600);
    umask(old);
    fx_remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_erased_fact_leaves_the_files_only_with_compaction)
{
    struct mp_store *store = fx_open_backend(LMDB);
    fill_canary(store, U("alice"));
    ck_assert_int_eq(fx_turn(store, U("bob"), 1, "bob's data", "kept", 5, 5), MP_OK);
    struct mp_op op = fx_delete_op(U("alice"), "code", MP_ACTOR_USER, 500);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    check_no_live_canary(store, U("alice"));
    /* Erased from the live data, yet still in freed pages of the file. */
    ck_assert(fx_dir_has(CANARY));
    fx_compact(store);
    ck_assert(!fx_dir_has(CANARY));
    ck_assert(fx_dir_has("bob's data"));
    struct mp_usermem *um = fx_get(store, U("bob"));
    ck_assert_str_eq(um->messages[0].content, "bob's data");
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 7); /* ADDED, SUPERSEDED, ADDED, SUMMARIZED, DELETED x3 */
    mp_history_free(h);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_deleted_user_leaves_the_files_only_with_compaction)
{
    struct mp_store *store = fx_open_backend(LMDB);
    fill_canary(store, U("alice"));
    ck_assert_int_eq(fx_turn(store, U("bob"), 1, "bob's data", "kept", 5, 5), MP_OK);
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    ck_assert(fx_absent(store, U("alice")));
    ck_assert(fx_dir_has(CANARY));
    fx_compact(store);
    ck_assert(!fx_dir_has(CANARY));
    store = fx_reopen(store, LMDB);
    ck_assert(!fx_dir_has(CANARY));
    struct mp_usermem *um = fx_get(store, U("bob"));
    ck_assert_str_eq(um->messages[0].content, "bob's data");
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_compaction_keeps_live_data_and_the_store_works)
{
    struct mp_store *store = fx_open_backend(_i);
    fill_canary(store, U("alice"));
    ck_assert_int_eq(fx_turn(store, U("bob"), 7, "bob's data", "kept", 5, 5), MP_OK);
    unsigned char before[MP_SEAL_KEY_LEN], after[MP_SEAL_KEY_LEN];
    ck_assert_int_eq(mp_store_secret(store, before), MP_OK);
    fx_compact(store);
    fx_compact(store); /* twice in a row is fine */
    check_canary(store, U("alice"));
    ck_assert_int_eq(mp_store_secret(store, after), MP_OK);
    ck_assert_mem_eq(before, after, MP_SEAL_KEY_LEN);
    ck_assert_int_eq(fx_turn(store, U("bob"), 7, "bob's data", "kept", 5, 6), MP_NOTFOUND);
    /* Writes go on: seqs, history seqs and job ids continue. */
    struct mp_mem_message m[1] = {fx_msg(MP_ROLE_USER, "after", 9)};
    struct mp_op ops[2] = {fx_turn_op(U("bob"), 8, m, 1, 9), {.kind = MP_OP_ADD_JOB}};
    ops[1].u.job.kind = MP_JOB_EXTRACT;
    memcpy(ops[1].u.job.user, "bob", 3);
    ops[1].u.job.user_len = 3;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert_uint_eq(ops[0].u.turn.first_seq, 3);
    ck_assert_uint_eq(ops[1].u.job.id, 2);
    struct mp_op up = fx_upsert_op(U("alice"), "pet", "cat", MP_TRUST_STATED, 10);
    ck_assert_int_eq(fx_apply1(store, &up), MP_OK);
    ck_assert_uint_eq(up.u.entity.revision, 5);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("bob"));
    ck_assert_uint_eq(um->nmessages, 3);
    ck_assert_str_eq(um->messages[2].content, "after");
    mp_usermem_free(um);
    ck_assert_int_eq(mp_store_ping(store), MP_OK);
    fx_close_backend(store, _i);
}
END_TEST

struct reader_arg {
    struct mp_store *store;
    atomic_bool *stop;
    int reads, bad;
};

/* Reads until told to stop. */
static void *reader(void *p)
{
    struct reader_arg *a = p;
    while (!atomic_load(a->stop)) {
        struct mp_usermem *um = NULL;
        int rc = mp_store_get(a->store, U("alice"), &um);
        a->reads++;
        /* every turn adds two messages: a torn read would show an odd count */
        if (rc != MP_OK || um->nmessages % 2 != 0 || um->nmessages == 0)
            a->bad++;
        mp_usermem_free(um);
    }
    return NULL;
}

START_TEST(test_gov_lmdb_reads_go_on_during_compaction)
{
    struct mp_store *store = fx_open_sealed();
    struct reader_arg args[3];
    pthread_t th[3];
    atomic_bool stop = false;
    ck_assert_int_eq(fx_turn(store, U("alice"), 0, "q", "a", 1, 1), MP_OK);
    for (int t = 0; t < 3; t++) {
        args[t] = (struct reader_arg){store, &stop, 0, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, reader, &args[t]), 0);
    }
    for (uint8_t i = 1; i <= 6; i++) {
        ck_assert_int_eq(fx_turn(store, U("alice"), i, "q", "a", i, i), MP_OK);
        fx_compact(store);
    }
    atomic_store(&stop, true);
    for (int t = 0; t < 3; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_gt(args[t].reads, 0);
        ck_assert_int_eq(args[t].bad, 0);
    }
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 14);
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_sealed_store_compacts_and_reads_back)
{
    struct mp_store *store = fx_open_sealed();
    fill_canary(store, U(CANARY_USER));
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = "gone", .user_len = 4};
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    fx_compact(store);
    check_canary(store, U(CANARY_USER));
    store = fx_reopen(store, LMDB);
    check_canary(store, U(CANARY_USER));
    mp_store_free(store);
    ck_assert(!fx_dir_has(CANARY));
    char err[256];
    ck_assert_int_eq(try_open(NULL, &store, err, sizeof(err)), MP_EIO);
    fx_remove_dir();
}
END_TEST

START_TEST(test_gov_lmdb_rekey_encrypts_a_clear_store)
{
    struct mp_store *store = fx_open_backend(LMDB);
    char tk[64];
    size_t tlen = fx_tenant_key(tk, 0xA1, CANARY_USER);
    fill_canary(store, U(CANARY_USER));
    ck_assert_int_eq(fx_turn(store, tk, tlen, 1, "tenant q", "a", 1, 1), MP_OK);
    unsigned char before[MP_SEAL_KEY_LEN], after[MP_SEAL_KEY_LEN];
    ck_assert_int_eq(mp_store_secret(store, before), MP_OK);
    mp_store_free(store);
    ck_assert(fx_dir_has(CANARY));
    fx_rekey(NULL, &fx_key_a);
    ck_assert(!fx_dir_has(CANARY));
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(NULL, &store, err, sizeof(err)), MP_EIO);
    ck_assert_int_eq(try_open(&fx_key_b, &store, err, sizeof(err)), MP_EIO);
    ck_assert_ptr_null(store);
    store = open_with(&fx_key_a);
    check_canary(store, U(CANARY_USER));
    ck_assert_int_eq(mp_store_secret(store, after), MP_OK);
    ck_assert_mem_eq(before, after, MP_SEAL_KEY_LEN);
    unsigned char t1[MP_TENANT_LEN];
    memset(t1, 0xA1, sizeof(t1));
    struct mp_user_info list[2];
    ck_assert_uint_eq(fx_list_all(store, t1, 5, list, 2), 1);
    ck_assert(fx_info_is(&list[0], tk, tlen));
    struct mp_usermem *um = fx_get(store, tk, tlen);
    ck_assert_str_eq(um->messages[0].content, "tenant q");
    mp_usermem_free(um);
    fx_close_backend(store, LMDB);
}
END_TEST

START_TEST(test_gov_lmdb_rekey_rotates_to_a_new_key)
{
    struct mp_store *store = fx_open_backend(LMDB);
    fill_canary(store, U(CANARY_USER));
    mp_store_free(store);
    fx_rekey(NULL, &fx_key_a);
    fx_rekey(&fx_key_a, &fx_key_b);
    char err[256];
    store = NULL;
    ck_assert_int_eq(try_open(&fx_key_a, &store, err, sizeof(err)), MP_EIO);
    ck_assert_msg(strstr(err, "key id") != NULL, "err: %s", err);
    ck_assert_ptr_null(store);
    struct mp_store_options o = fx_opts;
    o.key = &fx_key_a; /* the old key no longer reads it: nothing is rewritten */
    ck_assert_int_eq(mp_store_rekey_lmdb(&o, &fx_key_b, err, sizeof(err)), MP_EIO);
    o.key = &fx_key_b; /* no new key: refused, not decrypted into a clear store */
    ck_assert_int_eq(mp_store_rekey_lmdb(&o, NULL, err, sizeof(err)), MP_EIO);
    store = open_with(&fx_key_b);
    check_canary(store, U(CANARY_USER)); /* the same user id finds its memory */
    mp_store_free(store);
    ck_assert(!fx_dir_has(CANARY));
    store = open_with(&fx_key_b);
    fx_close_backend(store, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_lmdb_rewrite");
    TCase *tc = tcase_create("rewrite");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_keeps_no_clear_text);
    tcase_add_test(tc, test_gov_lmdb_rewritten_file_stays_private);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_reads_back_with_its_key);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_without_key_is_eio);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_with_another_key_is_eio);
    tcase_add_test(tc, test_gov_lmdb_clear_store_with_a_key_is_eio);
    tcase_add_test(tc, test_gov_lmdb_erased_fact_leaves_the_files_only_with_compaction);
    tcase_add_test(tc, test_gov_lmdb_deleted_user_leaves_the_files_only_with_compaction);
    tcase_add_loop_test(tc, test_gov_compaction_keeps_live_data_and_the_store_works, 0, 2);
    tcase_add_test(tc, test_gov_lmdb_sealed_store_compacts_and_reads_back);
    tcase_add_test(tc, test_gov_lmdb_reads_go_on_during_compaction);
    tcase_add_test(tc, test_gov_lmdb_rekey_encrypts_a_clear_store);
    tcase_add_test(tc, test_gov_lmdb_rekey_rotates_to_a_new_key);
    suite_add_tcase(s, tc);
    return s;
}
