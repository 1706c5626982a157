/* Tests for the user's own memory setting in storage/ops/store.h
 * (MP_OP_SET_USER_MODE, mp_store_user_mode, mp_store_view_user_mode): what
 * each mode holds back, what it never holds back, and that the setting
 * outlives erasure, reopening, compaction and sealing; and the revocation
 * of the user's page links (MP_OP_REVOKE_LINKS, mp_store_links_void),
 * which outlives erasure too; and the day's spend of memory-model tokens
 * (MP_OP_SPEND_TOKENS, mp_store_day_spend), which outlives reopening and
 * erasure, and which two handles on one PostgreSQL store share. Cases that run on
 * every backend use the loop index _i: 0 = mem, 1 = lmdb, 2 = pg. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

static int set_mode(struct mp_store *store, const char *user, size_t ulen, enum mp_user_mode m,
                    enum mp_actor actor, int64_t now)
{
    struct mp_op op = {
        .kind = MP_OP_SET_USER_MODE, .user = user, .user_len = ulen, .now_ms = now, .actor = actor};
    op.u.user_mode = m;
    return fx_apply1(store, &op);
}

static enum mp_user_mode mode_of(struct mp_store *store, const char *user, size_t ulen, int64_t *at)
{
    enum mp_user_mode m = (enum mp_user_mode)99;
    ck_assert_int_eq(mp_store_user_mode(store, user, ulen, &m, at), MP_OK);
    return m;
}

static size_t jobs_of(struct mp_store *store, const char *user)
{
    struct mp_job *jobs = NULL;
    size_t n = 0, mine = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &n), MP_OK);
    for (size_t i = 0; i < n; i++)
        mine += jobs[i].user_len == strlen(user) && memcmp(jobs[i].user, user, strlen(user)) == 0;
    free(jobs);
    return mine;
}

static int summarize_op(struct mp_store *store, const char *user, size_t ulen)
{
    return fx_summarize(store, user, ulen, "a summary", 2, 50);
}

START_TEST(test_settings_default_is_auto_and_round_trips)
{
    struct mp_store *store = fx_open_backend(_i);
    int64_t at = -1;
    ck_assert_int_eq(mode_of(store, U("nobody"), &at), MP_USER_MODE_AUTO);
    ck_assert_int_eq(at, 0);
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_READ, MP_ACTOR_USER, 1234), MP_OK);
    ck_assert_int_eq(mode_of(store, U("ann"), &at), MP_USER_MODE_READ);
    ck_assert_int_eq(at, 1234);
    ck_assert_int_eq(mode_of(store, U("bob"), NULL), MP_USER_MODE_AUTO); /* others untouched */
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_OFF, MP_ACTOR_ADMIN, 1300), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_int_eq(mode_of(store, U("ann"), &at), MP_USER_MODE_OFF);
    ck_assert_int_eq(at, 1300);
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_AUTO, MP_ACTOR_USER, 1400), MP_OK);
    ck_assert_int_eq(mode_of(store, U("ann"), &at), MP_USER_MODE_AUTO);
    ck_assert_int_eq(at, 0); /* auto is no record at all */
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_settings_op_is_checked)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(set_mode(store, U("ann"), (enum mp_user_mode)3, MP_ACTOR_USER, 1), MP_EINVAL);
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_OFF, MP_ACTOR_EXTRACTOR, 1), MP_EINVAL);
    ck_assert_int_eq(set_mode(store, "", 0, MP_USER_MODE_OFF, MP_ACTOR_USER, 1), MP_EINVAL);
    ck_assert_int_eq(mode_of(store, U("ann"), NULL), MP_USER_MODE_AUTO);
    fx_close_backend(store, _i);
}
END_TEST

/* read: nothing new is recorded, what was recorded is still worked on. */
START_TEST(test_settings_read_holds_back_new_turns_only)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "I live in Oslo", "Nice", 10, 10), MP_OK);
    uint64_t job = fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_READ, MP_ACTOR_USER, 20), MP_OK);
    ck_assert_uint_eq(jobs_of(store, "ann"), 1); /* read keeps pending work */
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "secret plan", "ok", 30, 30), MP_NOTFOUND);
    struct mp_usermem *um = fx_get(store, U("ann"));
    ck_assert_uint_eq(um->nmessages, 2); /* the first turn only */
    mp_usermem_free(um);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "city", "Oslo", MP_TRUST_STATED, 40), MP_OK);
    ck_assert_int_eq(summarize_op(store, U("ann")), MP_OK);
    struct mp_op done = {.kind = MP_OP_DONE_JOB};
    done.u.job_id = job;
    ck_assert_int_eq(fx_apply1(store, &done), MP_OK);
    /* a new job that rides on a held-back turn is held back with it */
    struct mp_mem_message m = fx_msg(MP_ROLE_USER, "more", 50);
    struct mp_op ops[2] = {fx_turn_op(U("ann"), 3, &m, 1, 50)};
    ops[1] = (struct mp_op){.kind = MP_OP_ADD_JOB, .now_ms = 50};
    ops[1].u.job = fx_job_for(U("ann"), MP_JOB_EXTRACT, 0);
    ops[1].u.job.from_seq = ops[1].u.job.through_seq = 0;
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert_int_eq(ops[0].result, MP_NOTFOUND);
    ck_assert_int_eq(ops[1].result, MP_NOTFOUND);
    ck_assert_uint_eq(jobs_of(store, "ann"), 0);
    um = fx_get(store, U("ann"));
    ck_assert_str_eq(fx_entity_value(um, "city"), "Oslo");
    ck_assert_str_eq(um->summary.text, "a summary");
    mp_usermem_free(um);
    fx_close_backend(store, _i);
}
END_TEST

/* off: nothing traffic would remember gets in, and pending jobs go; a
 * person's own changes still apply. */
START_TEST(test_settings_off_holds_back_traffic_and_drops_jobs)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "I live in Oslo", "Nice", 10, 10), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("bob"), 1, "hi", "hello", 10, 10), MP_OK);
    fx_add_job(store, fx_job_for(U("ann"), MP_JOB_EXTRACT, 2));
    fx_add_job(store, fx_job_for(U("ann"), MP_JOB_SUMMARIZE, 2));
    fx_add_job(store, fx_job_for(U("bob"), MP_JOB_EXTRACT, 2));
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_OFF, MP_ACTOR_USER, 20), MP_OK);
    ck_assert_uint_eq(jobs_of(store, "ann"), 0);
    ck_assert_uint_eq(jobs_of(store, "bob"), 1); /* another user's work goes on */
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "secret plan", "ok", 30, 30), MP_NOTFOUND);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "plan", "secret", MP_TRUST_STATED, 31),
                     MP_NOTFOUND);
    ck_assert_int_eq(fx_upsert(store, U("ann"), "mood", "meh", MP_TRUST_INFERRED, 31), MP_NOTFOUND);
    ck_assert_int_eq(summarize_op(store, U("ann")), MP_NOTFOUND);
    struct mp_op job = {.kind = MP_OP_ADD_JOB, .now_ms = 32};
    job.u.job = fx_job_for(U("ann"), MP_JOB_SUMMARIZE, 2);
    ck_assert_int_eq(fx_apply1(store, &job), MP_NOTFOUND);
    ck_assert_uint_eq(jobs_of(store, "ann"), 0);
    /* a person's value is no traffic */
    ck_assert_int_eq(fx_upsert(store, U("ann"), "city", "Bergen", MP_TRUST_CORRECTED, 40), MP_OK);
    struct mp_usermem *um = fx_get(store, U("ann"));
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_ptr_null(um->summary.text);
    ck_assert_ptr_null(fx_entity_value(um, "plan"));
    ck_assert_ptr_null(fx_entity_value(um, "mood"));
    ck_assert_str_eq(fx_entity_value(um, "city"), "Bergen");
    mp_usermem_free(um);
    /* back to auto: remembered again */
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_AUTO, MP_ACTOR_USER, 50), MP_OK);
    ck_assert_int_eq(fx_turn(store, U("ann"), 3, "back", "welcome", 60, 60), MP_OK);
    fx_close_backend(store, _i);
}
END_TEST

/* The setting is not memory: erasing the memory keeps the user's wish. */
START_TEST(test_settings_survive_erasure)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "I live in Oslo", "Nice", 10, 10), MP_OK);
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_OFF, MP_ACTOR_USER, 20), MP_OK);
    struct mp_op del = {.kind = MP_OP_DELETE_USER, .user = "ann", .user_len = 3, .now_ms = 30};
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    ck_assert(fx_absent(store, U("ann")));
    ck_assert_int_eq(mode_of(store, U("ann"), NULL), MP_USER_MODE_OFF);
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "again", "hm", 40, 40), MP_NOTFOUND);
    ck_assert(fx_absent(store, U("ann")));
    fx_close_backend(store, _i);
}
END_TEST

static int64_t links_void(struct mp_store *store, const char *user, size_t ulen)
{
    int64_t at = -1;
    ck_assert_int_eq(mp_store_links_void(store, user, ulen, &at), MP_OK);
    return at;
}

static int revoke(struct mp_store *store, const char *user, size_t ulen, int64_t now)
{
    struct mp_op op = {.kind = MP_OP_REVOKE_LINKS,
                       .user = user,
                       .user_len = ulen,
                       .now_ms = now,
                       .actor = MP_ACTOR_ADMIN};
    return fx_apply1(store, &op);
}

/* A user's page links void before a time (the links table, beside the
 * settings): apart from the mode, never moved back, and through erasure,
 * which revokes them too. */
START_TEST(test_settings_links_revoked_beside_the_mode_and_through_erasure)
{
    struct mp_store *store = fx_open_backend(_i);
    ck_assert_int_eq(links_void(store, U("nobody")), 0);
    ck_assert_int_eq(revoke(store, U("ann"), 500), MP_OK);
    ck_assert_int_eq(links_void(store, U("ann")), 500);
    ck_assert_int_eq(mode_of(store, U("ann"), NULL), MP_USER_MODE_AUTO);
    ck_assert_int_eq(links_void(store, U("bob")), 0); /* others untouched */
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_READ, MP_ACTOR_USER, 600), MP_OK);
    ck_assert_int_eq(revoke(store, U("ann"), 400), MP_OK); /* an older time changes nothing */
    ck_assert_int_eq(links_void(store, U("ann")), 500);
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_AUTO, MP_ACTOR_USER, 700), MP_OK);
    store = fx_reopen(store, _i);
    ck_assert_int_eq(links_void(store, U("ann")), 500); /* auto, but still revoked */
    ck_assert_int_eq(mode_of(store, U("ann"), NULL), MP_USER_MODE_AUTO);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "I live in Oslo", "Nice", 800, 800), MP_OK);
    struct mp_op del = {.kind = MP_OP_DELETE_USER, .user = "ann", .user_len = 3, .now_ms = 900};
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    ck_assert_int_eq(links_void(store, U("ann")), 900);
    ck_assert_int_eq(fx_turn(store, U("ann"), 2, "I moved to Lima", "Nice", 1000, 1000), MP_OK);
    ck_assert_int_eq(links_void(store, U("ann")), 900); /* new memory: the old links stay void */
    fx_close_backend(store, _i);
}
END_TEST

static uint64_t day_spend(struct mp_store *store, const char *user, size_t ulen, int64_t now)
{
    uint64_t tokens = 99;
    ck_assert_int_eq(mp_store_day_spend(store, user, ulen, now, &tokens), MP_OK);
    return tokens;
}

#define DAY 86400000LL

/* An import's apply: jobs EXTRACT jobs of user's (through seqs 2, 4, ...),
 * then the day's spend: op_tokens 100, 200, ... a job, two jobs a call,
 * 50 tokens a call. */
static int spend_within(struct mp_store *store, const char *user, size_t ulen, size_t jobs,
                        int64_t now, uint64_t limit)
{
    struct mp_op ops[4];
    uint64_t op_tokens[4] = {100, 200, 300, 0};
    ck_assert_uint_le(jobs, 3);
    memset(ops, 0, sizeof(ops));
    for (size_t i = 0; i < jobs; i++) {
        ops[i].kind = MP_OP_ADD_JOB;
        ops[i].u.job = fx_job_for(user, ulen, MP_JOB_EXTRACT, 2 * (i + 1));
    }
    struct mp_op *op = &ops[jobs];
    *op = (struct mp_op){.kind = MP_OP_SPEND_TOKENS, .user = user, .user_len = ulen, .now_ms = now};
    op->u.spend.op_tokens = op_tokens;
    op->u.spend.turns_per_call = 2;
    op->u.spend.call_tokens = 50;
    op->u.spend.limit = limit;
    int rc = mp_store_apply(store, ops, jobs + 1);
    if (rc == MP_OK)
        ck_assert_int_eq(op->result, MP_OK);
    return rc;
}

static int spend(struct mp_store *store, const char *user, size_t ulen, size_t jobs, int64_t now)
{
    return spend_within(store, user, ulen, jobs, now, 0);
}

/* The day's spend: the queued jobs' tokens and their calls', added in the
 * apply that queues them; per user and per UTC day (a new day starts from
 * 0); through reopening and erasure (erasing does not give the day back);
 * jobs held back by the user's setting spend nothing; on PostgreSQL a
 * second handle (another process) reads what the first wrote. */
START_TEST(test_settings_day_spend_outlives_reopening_and_erasure)
{
    struct mp_store *store = fx_open_backend(_i);
    int64_t t = 20000 * DAY + 1000;
    ck_assert_int_eq(day_spend(store, U("ann"), t), 0);
    ck_assert_int_eq(spend(store, U("ann"), 3, t), MP_OK); /* 600 + 2 calls of 50 */
    ck_assert_int_eq(day_spend(store, U("ann"), t), 700);
    ck_assert_int_eq(spend(store, U("ann"), 1, t + 10), MP_OK); /* 100 + 1 call */
    ck_assert_int_eq(day_spend(store, U("ann"), t + DAY - 2000), 850);
    ck_assert_int_eq(day_spend(store, U("bob"), t), 0);    /* others untouched */
    ck_assert_int_eq(spend(store, U("bob"), 0, t), MP_OK); /* nothing queued: nothing spent */
    ck_assert_int_eq(day_spend(store, U("bob"), t), 0);
    store = fx_reopen(store, _i);
    ck_assert_int_eq(day_spend(store, U("ann"), t), 850);
    struct mp_op del = {.kind = MP_OP_DELETE_USER, .user = "ann", .user_len = 3, .now_ms = t + 20};
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    ck_assert_int_eq(day_spend(store, U("ann"), t + 30), 850); /* erasure keeps the day */
    /* a limit the day would pass: nothing of the apply is written */
    size_t before = jobs_of(store, "ann");
    ck_assert_int_eq(spend_within(store, U("ann"), 1, t + 35, 999), MP_ECONFLICT); /* 850+150 */
    ck_assert_int_eq(day_spend(store, U("ann"), t + 35), 850);
    ck_assert_uint_eq(jobs_of(store, "ann"), before);
    ck_assert_int_eq(spend_within(store, U("ann"), 1, t + 36, 1000), MP_OK); /* up to it */
    ck_assert_int_eq(day_spend(store, U("ann"), t + 36), 1000);
    if (_i == PG) {
        struct mp_store *other = fx_open_pg_again();
        ck_assert_int_eq(day_spend(other, U("ann"), t), 1000);
        ck_assert_int_eq(spend(other, U("ann"), 2, t + 40), MP_OK); /* 300 + 1 call */
        ck_assert_int_eq(spend_within(other, U("ann"), 1, t + 41, 1400), MP_ECONFLICT);
        mp_store_free(other);
        ck_assert_int_eq(day_spend(store, U("ann"), t + 50), 1350);
    }
    uint64_t today = day_spend(store, U("ann"), t);
    ck_assert_int_eq(day_spend(store, U("ann"), t + DAY), 0); /* the next day starts again */
    ck_assert_int_eq(spend(store, U("ann"), 1, t + DAY), MP_OK);
    ck_assert_int_eq(day_spend(store, U("ann"), t + DAY), 150);
    ck_assert_int_eq(day_spend(store, U("ann"), t), 0); /* one record: the old day is gone */
    ck_assert_uint_ge(today, 1000);
    ck_assert_int_eq(set_mode(store, U("cat"), MP_USER_MODE_OFF, MP_ACTOR_USER, t), MP_OK);
    ck_assert_int_eq(spend(store, U("cat"), 2, t), MP_OK); /* held back: not queued */
    ck_assert_int_eq(day_spend(store, U("cat"), t), 0);
    struct mp_op bad = {.kind = MP_OP_SPEND_TOKENS, .user = "ann", .user_len = 3, .now_ms = t};
    ck_assert_int_eq(fx_apply1(store, &bad), MP_EINVAL); /* turns_per_call 0 */
    ck_assert_int_eq(mp_store_day_spend(store, "", 0, t, &today), MP_EINVAL);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_settings_view_reads_the_mode_with_the_head)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "hello", "hi", 10, 10), MP_OK);
    ck_assert_int_eq(mp_store_view_open(store, U("ann"), &v), MP_OK);
    ck_assert_int_eq(mp_store_view_user_mode(v), MP_USER_MODE_AUTO);
    mp_store_view_close(v);
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_READ, MP_ACTOR_ADMIN, 20), MP_OK);
    ck_assert_int_eq(mp_store_view_open(store, U("ann"), &v), MP_OK);
    ck_assert_int_eq(mp_store_view_user_mode(v), MP_USER_MODE_READ);
    ck_assert_uint_eq(mp_store_view_head(v)->nmessages, 2);
    mp_store_view_close(v);
    fx_close_backend(store, _i);
}
END_TEST

/* Sealed stores, compaction and encrypting a clear store keep it. */
START_TEST(test_settings_survive_compaction_and_sealing)
{
    struct mp_store *store = fx_open_backend(LMDB);
    char tk[64];
    size_t tlen = fx_tenant_key(tk, 0xB2, "carol");
    ck_assert_int_eq(set_mode(store, U("ann"), MP_USER_MODE_OFF, MP_ACTOR_USER, 20), MP_OK);
    ck_assert_int_eq(set_mode(store, tk, tlen, MP_USER_MODE_READ, MP_ACTOR_ADMIN, 21), MP_OK);
    ck_assert_int_eq(revoke(store, tk, tlen, 25), MP_OK);
    ck_assert_int_eq(spend(store, tk, tlen, 1, 26), MP_OK);
    fx_compact(store);
    ck_assert_int_eq(links_void(store, tk, tlen), 25);
    ck_assert_int_eq(day_spend(store, tk, tlen, 27), 150);
    ck_assert_int_eq(mode_of(store, U("ann"), NULL), MP_USER_MODE_OFF);
    mp_store_free(store);
    fx_rekey(NULL, &fx_key_a); /* the clear store becomes a sealed one */
    fx_opts.key = &fx_key_a;
    store = fx_open_existing();
    int64_t at = 0;
    ck_assert_int_eq(mode_of(store, U("ann"), &at), MP_USER_MODE_OFF);
    ck_assert_int_eq(at, 20);
    ck_assert_int_eq(mode_of(store, tk, tlen, NULL), MP_USER_MODE_READ);
    ck_assert_int_eq(links_void(store, tk, tlen), 25); /* the secret, so the links key, stays */
    ck_assert_int_eq(day_spend(store, tk, tlen, 27), 150);
    ck_assert_int_eq(fx_turn(store, U("ann"), 1, "hello", "hi", 30, 30), MP_NOTFOUND);
    mp_store_free(store);
    ck_assert(!fx_dir_has("carol")); /* the tenant's user id is hashed too */
    fx_remove_dir();
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_settings");
    TCase *tc = tcase_create("settings");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_add_loop_test(tc, test_settings_default_is_auto_and_round_trips, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_op_is_checked, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_read_holds_back_new_turns_only, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_off_holds_back_traffic_and_drops_jobs, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_survive_erasure, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_view_reads_the_mode_with_the_head, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_links_revoked_beside_the_mode_and_through_erasure, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_settings_day_spend_outlives_reopening_and_erasure, 0, FX_BACKENDS);
    tcase_add_test(tc, test_settings_survive_compaction_and_sealing);
    suite_add_tcase(s, tc);
    return s;
}
