/* RECORD_TURN of a known idempotency key (storage/ops/store_turn.c), on
 * every backend: another reply replaces the earlier turn's reply in the
 * buffer, the archive and its index (the user's messages kept once), the
 * facts that reply alone told go, the same reply changes nothing, and a
 * key past its window (or one that kept no seqs) is what it always was.
 * A turn kept without a reply gets the next one after its request. An
 * agent's tool loop: its final answer replaces the first round's reply
 * (or follows a request recorded without one), found by the loop's keys. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"
#include "view_probe.h"

Suite *mp_test_suite(void);

/* Records user's turn of said and reply under idem key idem at `at`:
 * the op as applied (which must succeed). */
static struct mp_op turn(struct mp_store *store, const char *user, uint8_t idem, const char *said,
                         const char *reply, int64_t at)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, reply, at)};
    struct mp_op op = fx_turn_op(user, strlen(user), idem, m, 2, at);
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    op.u.turn.messages = NULL; /* m is gone */
    return op;
}

/* turn() in conversation conv. */
static struct mp_op turn_in(struct mp_store *store, uint64_t conv, uint8_t idem, const char *said,
                            const char *reply, int64_t at)
{
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, reply, at)};
    m[0].conv = m[1].conv = conv;
    struct mp_op op = fx_turn_op(U("alice"), idem, m, 2, at);
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    op.u.turn.messages = NULL;
    return op;
}

/* m[0..n) as "role:text" joined by "|" into out. */
static void joined(const struct mp_mem_message *m, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%c:%s", i > 0 ? "|" : "",
                                m[i].role == MP_ROLE_USER ? 'u' : 'a', m[i].content);
}

/* The user's archive (at most 16 messages), joined(). */
static void archive_of(struct mp_store *store, const char *user, char *out, size_t cap)
{
    struct mp_mem_message *m = NULL;
    size_t n = 0;
    bool more = false;
    ck_assert_int_eq(mp_store_archive(store, user, strlen(user), 0, 16, &m, &n, &more), MP_OK);
    joined(m, n, out, cap);
    mp_store_messages_free(m, n);
}

/* The user's buffer, joined(). */
static void buffer_of(struct mp_store *store, const char *user, char *out, size_t cap)
{
    struct mp_usermem *um = fx_get(store, user, strlen(user));
    joined(um->messages, um->nmessages, out, cap);
    mp_usermem_free(um);
}

/* alice's buffer and archive both hold want (joined()). */
static void kept(struct mp_store *store, const char *want)
{
    char got[512];
    buffer_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, want);
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, want);
}

START_TEST(test_turn_another_reply_replaces_the_kept_one)
{
    struct mp_store *store = fx_open_backend(_i);
    turn(store, "alice", 9, "name a bird", "the heron", 10);
    struct mp_op op = turn(store, "alice", 9, "name a bird", "the kingfisher", 20);
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(op.u.turn.replaced);
    ck_assert_uint_eq(op.u.turn.first_seq, 1); /* the turn: its question through the new reply */
    ck_assert_uint_eq(op.u.turn.last_seq, 3);
    store = fx_reopen(store, _i);
    kept(store, "u:name a bird|a:the kingfisher");
    ck_assert_uint_eq(vp_df(store, "alice", 5, false, "heron"), 0);
    ck_assert_uint_eq(vp_df(store, "alice", 5, false, "kingfisher"), 1);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->messages[1].seq, 3);
    ck_assert_str_eq(um->messages[1].request_id, "req-10"); /* still that turn's */
    ck_assert_int_eq(um->messages[1].at_ms, 20);
    ck_assert_uint_eq(um->next_seq, 4);
    mp_usermem_free(um);
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 1); /* what erasing one message writes */
    ck_assert_int_eq(h->items[0].event, MP_HIST_DELETED);
    ck_assert_int_eq(h->items[0].item, MP_ITEM_MESSAGES);
    ck_assert_int_eq(h->items[0].actor, MP_ACTOR_USER);
    ck_assert_uint_eq(h->items[0].count, 1);
    mp_history_free(h);
    /* regenerated again: the record now names the new reply */
    op = turn(store, "alice", 9, "name a bird", "the wren", 30);
    ck_assert(op.u.turn.replaced);
    kept(store, "u:name a bird|a:the wren");
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_turn_the_same_reply_again_changes_nothing)
{
    char got[512];
    struct mp_store *store = fx_open_backend(_i);
    turn(store, "alice", 9, "name a bird", "the heron", 10);
    struct mp_usermem *before = fx_get(store, U("alice"));
    struct mp_op op = turn(store, "alice", 9, "name a bird", "the heron", 20);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    ck_assert(!op.u.turn.replaced);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->next_seq, 3);
    ck_assert_uint_eq(um->memory_epoch, before->memory_epoch);
    ck_assert_int_eq(um->messages[1].at_ms, 10);
    mp_usermem_free(um);
    mp_usermem_free(before);
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, "u:name a bird|a:the heron");
    struct mp_history *h = fx_history(store, U("alice"));
    ck_assert_uint_eq(h->nitems, 0);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

START_TEST(test_turn_an_expired_key_records_a_new_turn)
{
    char got[512];
    struct mp_store *store = fx_open_backend(_i);
    turn(store, "alice", 9, "name a bird", "the heron", 10);
    struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = "alice", .user_len = 5};
    sweep.now_ms = 1000;
    sweep.u.sweep.retention.idem_max_age_ms = 100;
    ck_assert_int_eq(fx_apply1(store, &sweep), MP_OK);
    ck_assert_uint_eq(sweep.u.sweep.counts.idem, 1);
    struct mp_op op = turn(store, "alice", 9, "name a bird", "the kingfisher", 2000);
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(!op.u.turn.replaced);
    ck_assert_uint_eq(op.u.turn.first_seq, 3);
    buffer_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, "u:name a bird|a:the heron|u:name a bird|a:the kingfisher");
    fx_close_backend(store, _i);
}
END_TEST

/* A key that kept no turn (an import's line id here; a turn recorded
 * before the seqs were kept is the same 8 bytes) records nothing. */
START_TEST(test_turn_a_key_without_seqs_records_nothing)
{
    char got[512];
    struct mp_store *store = fx_open_backend(_i);
    uint8_t key[MP_IDEM_KEY_LEN];
    memset(key, 9, sizeof(key));
    struct mp_mem_message m = fx_msg(MP_ROLE_USER, "imported words", 5);
    struct mp_op imp = {.kind = MP_OP_IMPORT_MESSAGE, .user = "alice", .user_len = 5};
    imp.now_ms = 5;
    imp.import_key = key;
    imp.u.turn.messages = &m;
    imp.u.turn.nmessages = 1;
    ck_assert_int_eq(fx_apply1(store, &imp), MP_OK);
    struct mp_op op = turn(store, "alice", 9, "name a bird", "the heron", 10);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, "u:imported words");
    fx_close_backend(store, _i);
}
END_TEST

static struct mp_op reply_fact(const char *key, const char *value, enum mp_role role,
                               uint64_t first, uint64_t last)
{
    enum mp_trust trust = role == MP_ROLE_USER ? MP_TRUST_STATED : MP_TRUST_INFERRED;
    struct mp_op op = fx_upsert_op(U("alice"), key, value, trust, 12);
    op.u.entity.source_role = role;
    op.u.entity.source_first_seq = first;
    op.u.entity.source_last_seq = last;
    return op;
}

/* The facts the rejected reply alone told go; the user's words' stay, and
 * so do the assistant's facts of other turns. */
START_TEST(test_turn_replacing_a_reply_drops_the_facts_it_alone_told)
{
    struct mp_store *store = fx_open_backend(_i);
    turn(store, "alice", 9, "name a bird", "the heron", 10);
    turn(store, "alice", 8, "and a fish", "a pike", 11);
    struct mp_op f[3] = {reply_fact("bird", "heron", MP_ROLE_ASSISTANT, 1, 2),
                         reply_fact("asks_about", "birds", MP_ROLE_USER, 1, 2),
                         reply_fact("fish", "pike", MP_ROLE_ASSISTANT, 3, 4)};
    ck_assert_int_eq(mp_store_apply(store, f, 3), MP_OK);
    struct mp_op op = turn(store, "alice", 9, "name a bird", "the kingfisher", 20);
    ck_assert(op.u.turn.replaced);
    store = fx_reopen(store, _i);
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_ptr_null(fx_entity_value(um, "bird"));
    ck_assert_str_eq(fx_entity_value(um, "asks_about"), "birds");
    ck_assert_str_eq(fx_entity_value(um, "fish"), "pike");
    mp_usermem_free(um);
    ck_assert_uint_eq(vp_df(store, "alice", 5, true, "heron"), 0);
    struct mp_history *h = fx_history(store, U("alice"));
    size_t deleted = 0;
    for (size_t i = 0; i < h->nitems; i++) {
        if (h->items[i].event == MP_HIST_DELETED && h->items[i].item == MP_ITEM_FACT) {
            ck_assert_str_eq(h->items[i].entity.key, "bird");
            ck_assert_int_eq(h->items[i].actor, MP_ACTOR_USER);
            deleted++;
        }
    }
    ck_assert_uint_eq(deleted, 1);
    mp_history_free(h);
    fx_close_backend(store, _i);
}
END_TEST

/* The new reply's extraction job takes the turn's seqs: its question
 * through the new reply, or the reply alone when another turn was
 * recorded in between (the extraction would read that one too). */
START_TEST(test_turn_a_replaced_turns_job_takes_its_seqs)
{
    struct mp_store *store = fx_open_backend(_i);
    turn(store, "alice", 9, "name a bird", "the heron", 10);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "name a bird", 20),
                                  fx_msg(MP_ROLE_ASSISTANT, "the kingfisher", 20)};
    struct mp_op ops[2] = {fx_turn_op(U("alice"), 9, m, 2, 20)};
    ops[1] = (struct mp_op){.kind = MP_OP_ADD_JOB, .now_ms = 20};
    ops[1].u.job = (struct mp_job){.kind = MP_JOB_EXTRACT, .user_len = 5};
    memcpy(ops[1].u.job.user, "alice", 5);
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert_int_eq(ops[1].result, MP_OK);
    ck_assert_uint_eq(ops[1].u.job.from_seq, 1);
    ck_assert_uint_eq(ops[1].u.job.through_seq, 3);
    turn(store, "alice", 8, "and a fish", "a pike", 30); /* seqs 4, 5 */
    m[1] = fx_msg(MP_ROLE_ASSISTANT, "the wren", 40);
    ops[0] = fx_turn_op(U("alice"), 9, m, 2, 40);
    ops[1].u.job.id = ops[1].u.job.from_seq = ops[1].u.job.through_seq = 0; /* inherits again */
    ck_assert_int_eq(mp_store_apply(store, ops, 2), MP_OK);
    ck_assert(ops[0].u.turn.replaced);
    ck_assert_uint_eq(ops[1].u.job.from_seq, 6);
    ck_assert_uint_eq(ops[1].u.job.through_seq, 6);
    fx_close_backend(store, _i);
}
END_TEST

/* An imported turn's extraction job takes the seqs of its messages
 * imported in the same apply (the IMPORT_MESSAGE ops right before it); a
 * turn imported before queues nothing, and a turn of which only a part is
 * new takes that part. */
START_TEST(test_turn_an_imported_turns_job_takes_its_imported_seqs)
{
    struct mp_store *store = fx_open_backend(_i);
    uint8_t keys[3][MP_IDEM_KEY_LEN];
    struct mp_mem_message m[3] = {fx_msg(MP_ROLE_USER, "I keep bees", 5),
                                  fx_msg(MP_ROLE_ASSISTANT, "How many hives?", 6),
                                  fx_msg(MP_ROLE_ASSISTANT, "And where?", 7)};
    struct mp_op ops[4];
    /* a turn before it without a job of its own is not its turn */
    struct mp_mem_message other = fx_msg(MP_ROLE_USER, "no job for me", 4);
    struct mp_op pre[3] = {{.kind = MP_OP_IMPORT_MESSAGE, .user = "bob", .user_len = 3},
                           {.kind = MP_OP_IMPORT_MESSAGE, .user = "bob", .user_len = 3},
                           {.kind = MP_OP_ADD_JOB, .import_turn_ops = 1}};
    pre[0].u.turn.messages = &other;
    pre[1].u.turn.messages = &m[0];
    pre[0].u.turn.nmessages = pre[1].u.turn.nmessages = 1;
    pre[2].u.job = (struct mp_job){.kind = MP_JOB_EXTRACT, .user_len = 3};
    memcpy(pre[2].u.job.user, "bob", 3);
    ck_assert_int_eq(mp_store_apply(store, pre, 3), MP_OK);
    ck_assert_uint_eq(pre[2].u.job.from_seq, 2);
    ck_assert_uint_eq(pre[2].u.job.through_seq, 2);
    for (int round = 0; round < 3; round++) {
        size_t n = round == 2 ? 3 : 2; /* the third round adds a message to the turn */
        for (size_t i = 0; i < n; i++) {
            memset(keys[i], (int)i + 1, MP_IDEM_KEY_LEN);
            ops[i] = (struct mp_op){.kind = MP_OP_IMPORT_MESSAGE,
                                    .user = "alice",
                                    .user_len = 5,
                                    .now_ms = 50,
                                    .import_key = keys[i]};
            ops[i].u.turn.messages = &m[i];
            ops[i].u.turn.nmessages = 1;
        }
        ops[n] = (struct mp_op){.kind = MP_OP_ADD_JOB, .now_ms = 50};
        ops[n].u.job = (struct mp_job){.kind = MP_JOB_EXTRACT, .user_len = 5, .created_ms = 50};
        memcpy(ops[n].u.job.user, "alice", 5);
        ck_assert_int_eq(mp_store_apply(store, ops, n + 1), MP_OK);
        if (round == 0) {
            ck_assert_int_eq(ops[n].result, MP_OK);
            ck_assert_uint_eq(ops[n].u.job.from_seq, 1);
            ck_assert_uint_eq(ops[n].u.job.through_seq, 2);
        } else if (round == 1) {
            ck_assert_int_eq(ops[n].result, MP_NOTFOUND); /* imported before */
        } else {
            ck_assert_int_eq(ops[n].result, MP_OK);
            ck_assert_uint_eq(ops[n].u.job.from_seq, 3);
            ck_assert_uint_eq(ops[n].u.job.through_seq, 3);
        }
    }
    struct mp_job *jobs = NULL;
    size_t njobs = 0;
    ck_assert_int_eq(mp_store_jobs(store, &jobs, &njobs), MP_OK);
    ck_assert_uint_eq(njobs, 3);
    free(jobs);
    fx_close_backend(store, _i);
}
END_TEST

/* The same request is the person saying it again (recorded as a new
 * turn, its words kept twice) when the conversation went on after it (a
 * stateless app's "yes", some turns later) or it comes in another
 * conversation (a new chat's first message, word for word); in the same
 * conversation with nothing after it, it is the same request sent again
 * (a regenerated reply replaces the kept one). */
START_TEST(test_turn_the_same_words_again_are_a_new_turn)
{
    struct mp_store *store = fx_open_backend(_i);
    turn_in(store, 7, 9, "yes", "Great, booked.", 10);
    turn_in(store, 7, 8, "and a table for two?", "Done.", 20);
    struct mp_op op = turn_in(store, 7, 9, "yes", "Booked too.", 30); /* the same body */
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(!op.u.turn.replaced);
    kept(store, "u:yes|a:Great, booked.|u:and a table for two?|a:Done.|u:yes|a:Booked too.");
    op = turn_in(store, 7, 9, "yes", "Booked, truly.", 40); /* right after it: regenerated */
    ck_assert(op.u.turn.replaced);
    op = turn_in(store, 5, 9, "yes", "A new chat's answer.", 50); /* another conversation */
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(!op.u.turn.replaced);
    char got[512];
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_ptr_nonnull(strstr(got, "u:yes|a:A new chat's answer."));
    fx_close_backend(store, _i);
}
END_TEST

/* A reply erased meanwhile is no longer kept: nothing to replace. */
START_TEST(test_turn_an_erased_reply_is_not_replaced)
{
    char got[512];
    struct mp_store *store = fx_open_backend(_i);
    turn(store, "alice", 9, "name a bird", "the heron", 10);
    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE, .user = "alice", .user_len = 5};
    del.now_ms = 15;
    del.actor = MP_ACTOR_USER;
    del.u.seq = 2;
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    struct mp_op op = turn(store, "alice", 9, "name a bird", "the kingfisher", 20);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, "u:name a bird");
    fx_close_backend(store, _i);
}
END_TEST

/* A turn kept without a reply (its reply had no words): the same request
 * again puts its reply after the user's words, as theirs; the same again
 * changes nothing, and a request the user erased gets none. */
START_TEST(test_turn_a_reply_follows_a_turn_kept_without_one)
{
    char got[512];
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message u = fx_msg(MP_ROLE_USER, "draw a heron", 10);
    u.conv = 77;
    struct mp_op op = fx_turn_op(U("alice"), 9, &u, 1, 10);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    op = turn(store, "alice", 9, "draw a heron", "here is a heron", 20);
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(!op.u.turn.replaced);
    ck_assert_uint_eq(op.u.turn.first_seq, 1); /* extracted with its request */
    ck_assert_uint_eq(op.u.turn.last_seq, 2);
    store = fx_reopen(store, _i);
    kept(store, "u:draw a heron|a:here is a heron");
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_str_eq(um->messages[1].request_id, "req-10"); /* the request's turn */
    ck_assert_uint_eq(um->messages[1].conv, 77);
    mp_usermem_free(um);
    op = turn(store, "alice", 9, "draw a heron", "here is a heron", 30);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    /* erased, the request gets no reply */
    u = fx_msg(MP_ROLE_USER, "draw a wren", 40);
    op = fx_turn_op(U("alice"), 8, &u, 1, 40);
    ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE, .user = "alice", .user_len = 5};
    del.now_ms = 45;
    del.actor = MP_ACTOR_USER;
    del.u.seq = 3;
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    op = turn(store, "alice", 8, "draw a wren", "here is a wren", 50);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, "u:draw a heron|a:here is a heron");
    fx_close_backend(store, _i);
}
END_TEST

/* ---- an agent's tool loop (store.h: RECORD_TURN's loop lists) ---- */

/* The user alice's archive is want (joined()). */
static void archived(struct mp_store *store, const char *want)
{
    char got[512];
    archive_of(store, "alice", got, sizeof(got));
    ck_assert_str_eq(got, want);
}

static const uint8_t loop_keys[3][MP_IDEM_KEY_LEN] = {{1}, {2}, {3}};

/* A loop's round: messages m[0..n) (none: a link), finding the turn by
 * loop_keys[find] (-1: a beginning) and keeping it under
 * loop_keys[keep] (-1: none); end: the final answer. The op as applied. */
static struct mp_op loop_op(struct mp_store *store, uint8_t idem, const struct mp_mem_message *m,
                            size_t n, int find, int keep, bool end, int64_t at)
{
    struct mp_op op = fx_turn_op(U("alice"), idem, m, n, at);
    if (find >= 0) {
        op.u.turn.loop_find = &loop_keys[find];
        op.u.turn.nloop_find = 1;
    }
    if (keep >= 0) {
        op.u.turn.loop_keep = &loop_keys[keep];
        op.u.turn.nloop_keep = 1;
    }
    op.u.turn.loop_end = end;
    ck_assert_int_eq(mp_store_apply(store, &op, 1), MP_OK);
    op.u.turn.messages = NULL;
    return op;
}

/* Begun with words, linked once (a Responses round), answered: the
 * answer is the request's reply, the first words gone, the request once. */
START_TEST(test_turn_a_loops_answer_replaces_its_first_words)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "why does CI fail", 10),
                                  fx_msg(MP_ROLE_ASSISTANT, "I'll check the logs", 10)};
    m[0].conv = m[1].conv = 77;
    m[0].conv_kind = m[1].conv_kind = 4;
    loop_op(store, 9, m, 2, -1, 0, false, 10);
    struct mp_op op = loop_op(store, 0, NULL, 0, 1, 2, false, 20); /* nothing under key 1 */
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    op = loop_op(store, 0, NULL, 0, 0, 1, false, 20); /* the link: key 1 names it too */
    ck_assert_int_eq(op.result, MP_OK);
    struct mp_mem_message a = fx_msg(MP_ROLE_ASSISTANT, "fixed: the lockfile was stale", 30);
    a.conv = 5;
    a.conv_kind = 2;
    a.reply_ref = 99;
    op = loop_op(store, 8, &a, 1, 1, -1, true, 30);
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(op.u.turn.replaced);
    ck_assert_uint_eq(op.u.turn.first_seq, 1);
    ck_assert_uint_eq(op.u.turn.last_seq, 3);
    store = fx_reopen(store, _i);
    archived(store, "u:why does CI fail|a:fixed: the lockfile was stale");
    struct mp_usermem *um = fx_get(store, U("alice"));
    ck_assert_uint_eq(um->nmessages, 2);
    ck_assert_str_eq(um->messages[1].request_id, "req-10"); /* the request's turn */
    ck_assert_uint_eq(um->messages[1].conv, 77);            /* in its conversation */
    ck_assert_uint_eq(um->messages[1].conv_kind, 4);
    ck_assert_uint_eq(um->messages[1].reply_ref, 99); /* the answer's own response */
    mp_usermem_free(um);
    /* the same answer again changes nothing */
    op = loop_op(store, 8, &a, 1, 1, -1, true, 40);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    archived(store, "u:why does CI fail|a:fixed: the lockfile was stale");
    fx_close_backend(store, _i);
}
END_TEST

/* Begun with a tool call alone (no reply recorded): the answer follows
 * the request, which the final round's own copy does not record again. */
START_TEST(test_turn_a_loop_begun_without_words_gets_its_answer)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message u = fx_msg(MP_ROLE_USER, "bump the SDK", 10);
    struct mp_op op = loop_op(store, 9, &u, 1, -1, 0, false, 10);
    ck_assert_int_eq(op.result, MP_OK);
    archived(store, "u:bump the SDK"); /* an abandoned loop keeps it */
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "bump the SDK", 20),
                                  fx_msg(MP_ROLE_ASSISTANT, "bumped to 2.1", 20)};
    op = loop_op(store, 0, m, 2, 0, -1, true, 20);
    ck_assert_int_eq(op.result, MP_OK);
    ck_assert(!op.u.turn.replaced);
    ck_assert_uint_eq(op.u.turn.first_seq, 1);
    ck_assert_uint_eq(op.u.turn.last_seq, 2);
    archived(store, "u:bump the SDK|a:bumped to 2.1");
    fx_close_backend(store, _i);
}
END_TEST

/* No turn under the keys (its first round was never recorded): the
 * answer is recorded with the request's words when the round has them,
 * else nothing; a request the user erased gets no answer. */
START_TEST(test_turn_a_loops_answer_without_its_beginning)
{
    struct mp_store *store = fx_open_backend(_i);
    struct mp_mem_message a = fx_msg(MP_ROLE_ASSISTANT, "done", 10);
    struct mp_op op = loop_op(store, 7, &a, 1, 2, -1, true, 10);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "rename the module", 20),
                                  fx_msg(MP_ROLE_ASSISTANT, "renamed", 20)};
    op = loop_op(store, 2, m, 2, 2, -1, true, 20); /* idem: key 2 itself */
    ck_assert_int_eq(op.result, MP_OK);
    archived(store, "u:rename the module|a:renamed");
    struct mp_mem_message b[2] = {fx_msg(MP_ROLE_USER, "drop the cache", 30),
                                  fx_msg(MP_ROLE_ASSISTANT, "looking", 30)};
    loop_op(store, 9, b, 2, -1, 0, false, 30); /* seqs 3, 4 */
    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE, .user = "alice", .user_len = 5};
    del.now_ms = 35;
    del.actor = MP_ACTOR_USER;
    del.u.seq = 3;
    ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
    a = fx_msg(MP_ROLE_ASSISTANT, "cache dropped", 40);
    op = loop_op(store, 6, &a, 1, 0, -1, true, 40);
    ck_assert_int_eq(op.result, MP_NOTFOUND);
    archived(store, "u:rename the module|a:renamed|a:looking");
    fx_close_backend(store, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_turn");
    TCase *tc = tcase_create("backends");
    tcase_set_timeout(tc, 20);
    tcase_add_unchecked_fixture(tc, vp_setup, vp_teardown);
    tcase_add_loop_test(tc, test_turn_another_reply_replaces_the_kept_one, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_the_same_reply_again_changes_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_an_expired_key_records_a_new_turn, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_a_key_without_seqs_records_nothing, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_replacing_a_reply_drops_the_facts_it_alone_told, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_an_imported_turns_job_takes_its_imported_seqs, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_a_replaced_turns_job_takes_its_seqs, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_an_erased_reply_is_not_replaced, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_the_same_words_again_are_a_new_turn, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_a_reply_follows_a_turn_kept_without_one, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_a_loops_answer_replaces_its_first_words, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_a_loop_begun_without_words_gets_its_answer, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_turn_a_loops_answer_without_its_beginning, 0, FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
