/* A recorded message's conversation (core/memory/usermem.h: conv and
 * conv_kind) and its reply's reference (reply_ref), on every backend: every read gives it back (the
 * buffer, the archive, the view, a snapshot of the store), after the store is opened again, after
 * the buffer's messages leave it for the archive, through search keys, imports, compaction, rekey
 * and a copy to another backend; and a store of format 6 opens as format 8 with its messages as
 * they were. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/convid.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "upkeep/store_copy.h"
#include "store_fixture.h"
#include "snap/store_snap.h"

Suite *mp_test_suite(void);

#define CONV_A 0x0123456789abcdefull
#define CONV_B 0xfedcba9876543210ull
#define CONV_C 0x00000000000000a5ull

/* What the messages of seqs 1..n should carry: conv[i], kind[i] and
 * ref[i] for seq i + 1 (0, 0 and 0: none). */
struct want {
    uint64_t conv[16];
    uint8_t kind[16];
    uint64_t ref[16];
    size_t n;
};

/* The reply reference of the turn of idem key idem (core/memory/usermem.h:
 * reply_ref): odd keys' replies have one (a Responses turn), even keys'
 * none. */
#define REF_OF(idem) ((idem) % 2 == 1 ? 0x5eed000000000000ull | (idem) : 0)

/* A turn of user in conversation conv of kind (0, 0: none), idem key
 * idem, at at: MP_OK. Both messages carry it; the reply REF_OF(idem). */
static void turn(struct mp_store *s, const char *user, uint8_t idem, uint64_t conv, uint8_t kind,
                 int64_t at, struct want *w)
{
    char said[64];
    snprintf(said, sizeof(said), "kayak question %u", idem);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, said, at),
                                  fx_msg(MP_ROLE_ASSISTANT, "kayak answer", at)};
    for (int i = 0; i < 2; i++) {
        m[i].conv = conv;
        m[i].conv_kind = kind;
    }
    m[1].reply_ref = REF_OF(idem);
    struct mp_op op = fx_turn_op(user, strlen(user), idem, m, 2, at + 1);
    ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
    for (uint64_t q = op.u.turn.first_seq; q <= op.u.turn.last_seq; q++) {
        ck_assert_uint_le(q, 16);
        w->conv[q - 1] = conv;
        w->kind[q - 1] = kind;
        w->ref[q - 1] = q == op.u.turn.last_seq ? m[1].reply_ref : 0;
        w->n = q > w->n ? q : w->n;
    }
}

static void is(const struct mp_mem_message *m, const struct want *w)
{
    ck_assert_uint_ge(m->seq, 1);
    ck_assert_uint_le(m->seq, w->n);
    ck_assert_msg(m->conv == w->conv[m->seq - 1], "seq %llu: conv %016llx, want %016llx",
                  (unsigned long long)m->seq, (unsigned long long)m->conv,
                  (unsigned long long)w->conv[m->seq - 1]);
    ck_assert_uint_eq(m->conv_kind, w->kind[m->seq - 1]);
    ck_assert_msg(m->reply_ref == w->ref[m->seq - 1], "seq %llu: reply_ref %016llx, want %016llx",
                  (unsigned long long)m->seq, (unsigned long long)m->reply_ref,
                  (unsigned long long)w->ref[m->seq - 1]);
}

/* The archive, page by page (pages of 3): every message as w says; how
 * many. */
static size_t archive_is(struct mp_store *s, const char *user, const struct want *w)
{
    uint64_t after = 0;
    size_t total = 0;
    for (bool more = true; more;) {
        struct mp_mem_message *page = NULL;
        size_t n = 0;
        ck_assert_int_eq(mp_store_archive(s, user, strlen(user), after, 3, &page, &n, &more),
                         MP_OK);
        for (size_t i = 0; i < n; i++)
            is(&page[i], w);
        after = n > 0 ? page[n - 1].seq : after;
        total += n;
        mp_store_messages_free(page, n);
    }
    return total;
}

/* The view's head and its archived messages, one by one: the buffer's
 * size. */
static size_t view_is(struct mp_store *s, const char *user, const struct want *w)
{
    struct mp_store_view *v = NULL;
    ck_assert_int_eq(mp_store_view_open(s, user, strlen(user), &v), MP_OK);
    const struct mp_usermem *h = mp_store_view_head(v);
    for (size_t i = 0; i < h->nmessages; i++)
        is(&h->messages[i], w);
    size_t n = h->nmessages;
    for (uint64_t q = 1; q <= w->n; q++) {
        struct mp_mem_message m;
        int rc = mp_store_view_message(v, q, &m);
        ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
        if (rc == MP_OK)
            is(&m, w);
        free(rc == MP_OK ? m.content : NULL);
    }
    mp_store_view_close(v);
    return n;
}

/* The same through a snapshot of s (how the request path reads
 * PostgreSQL), fetching its misses until a run has none. */
static void snapshot_is(struct mp_store *s, const char *user, const struct want *w)
{
    struct mp_store *snap = NULL;
    const struct mp_snap_range *m;
    ck_assert_int_eq(mp_store_snap_new(s, &snap), MP_OK);
    for (int round = 1;; round++) {
        ck_assert_int_le(round, 64);
        mp_store_snap_run_begin(snap);
        struct mp_store_view *v = NULL;
        int rc = mp_store_view_open(snap, user, strlen(user), &v);
        if (mp_store_snap_misses(snap, &m) == 0) {
            ck_assert_int_eq(rc, MP_OK);
            const struct mp_usermem *h = mp_store_view_head(v);
            ck_assert_uint_gt(h->nmessages, 0);
            for (size_t i = 0; i < h->nmessages; i++)
                is(&h->messages[i], w);
            mp_store_view_close(v);
            break;
        }
        mp_store_view_close(v);
        ck_assert_int_eq(mp_store_snap_fetch_from(snap, s), MP_OK);
    }
    mp_store_free(snap);
}

/* Every read of user's messages: the buffer (mp_store_get and the view),
 * the archive (listed and one by one), a snapshot. buffered, archived:
 * how many each holds. */
static void reads_are(struct mp_store *s, const char *user, const struct want *w, size_t buffered,
                      size_t archived)
{
    struct mp_usermem *um = fx_get(s, user, strlen(user));
    ck_assert_uint_eq(um->nmessages, buffered);
    for (size_t i = 0; i < um->nmessages; i++)
        is(&um->messages[i], w);
    mp_usermem_free(um);
    ck_assert_uint_eq(view_is(s, user, w), buffered);
    ck_assert_uint_eq(archive_is(s, user, w), archived);
    if (buffered > 0)
        snapshot_is(s, user, w);
}

/* Three turns: two conversations and one not known; the first's and the
 * third's replies with a reference (one in a conversation, one in none),
 * the second's without. */
static void three_turns(struct mp_store *s, struct want *w)
{
    turn(s, "ann", 1, CONV_A, MP_CONVID_CHAIN, 10, w);
    turn(s, "ann", 2, CONV_B, MP_CONVID_SESSION, 20, w);
    turn(s, "ann", 3, 0, 0, 30, w);
}

START_TEST(test_conv_a_turn_keeps_its_conversation_in_buffer_and_archive)
{
    struct mp_store *s = fx_open_backend(_i);
    struct want w = {.n = 0};
    three_turns(s, &w);
    reads_are(s, "ann", &w, 6, 6);
    s = fx_reopen(s, _i);
    reads_are(s, "ann", &w, 6, 6);
    fx_close_backend(s, _i);
}
END_TEST

/* The buffer's oldest messages leave it (a summary folds them; the buffer
 * modes trim it): the archive still gives their conversation, and so it
 * does after a message gets search keys (its record written again). */
START_TEST(test_conv_survives_the_buffer_leaving_for_the_archive)
{
    struct mp_store *s = fx_open_backend(_i);
    struct want w = {.n = 0};
    three_turns(s, &w);
    turn(s, "ann", 4, CONV_A, MP_CONVID_CLIENT, 40, &w);
    ck_assert_int_eq(fx_summarize(s, U("ann"), "ann kayaks", 4, 50), MP_OK);
    reads_are(s, "ann", &w, 4, 8);
    struct mp_op trim = {.kind = MP_OP_TRIM_MESSAGES, .user = "ann", .user_len = 3, .now_ms = 60};
    trim.u.summary.through_seq = 6;
    ck_assert_int_eq(fx_apply1(s, &trim), MP_OK);
    reads_are(s, "ann", &w, 2, 8);
    struct mp_op keys = {.kind = MP_OP_SET_MESSAGE_KEYS, .user = "ann", .user_len = 3};
    keys.now_ms = 70;
    keys.u.keys.seq = 1;
    keys.u.keys.text = "boats, lakes";
    keys.u.keys.text_len = strlen(keys.u.keys.text);
    ck_assert_int_eq(fx_apply1(s, &keys), MP_OK);
    s = fx_reopen(s, _i);
    reads_are(s, "ann", &w, 2, 8);
    fx_close_backend(s, _i);
}
END_TEST

/* An imported message keeps the conversation it is given, or none. */
START_TEST(test_conv_an_imported_message_keeps_its_own)
{
    struct mp_store *s = fx_open_backend(_i);
    struct want w = {.n = 0};
    for (uint64_t i = 0; i < 2; i++) {
        struct mp_mem_message m = fx_msg(MP_ROLE_USER, "an imported kayak", 5);
        m.conv = i == 0 ? CONV_C : 0;
        m.conv_kind = i == 0 ? MP_CONVID_LEADING : 0;
        m.reply_ref = i == 0 ? REF_OF(7) : 0;
        struct mp_op op = {.kind = MP_OP_IMPORT_MESSAGE, .user = "bo", .user_len = 2};
        op.now_ms = 6;
        op.actor = MP_ACTOR_ADMIN;
        op.u.turn.messages = &m;
        op.u.turn.nmessages = 1;
        ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
        w.conv[op.u.turn.first_seq - 1] = m.conv;
        w.kind[op.u.turn.first_seq - 1] = m.conv_kind;
        w.ref[op.u.turn.first_seq - 1] = m.reply_ref;
        w.n = op.u.turn.first_seq;
    }
    ck_assert_uint_eq(w.n, 2);
    s = fx_reopen(s, _i);
    ck_assert_uint_eq(archive_is(s, "bo", &w), 2);
    ck_assert_uint_eq(view_is(s, "bo", &w), 0);
    fx_close_backend(s, _i);
}
END_TEST

/* A rule the store does not know is refused with the op. */
START_TEST(test_conv_an_unknown_rule_is_einval)
{
    struct mp_store *s = fx_open_backend(_i);
    struct mp_mem_message m[2] = {fx_msg(MP_ROLE_USER, "q", 1), fx_msg(MP_ROLE_ASSISTANT, "a", 1)};
    m[1].conv = CONV_A;
    m[1].conv_kind = MP_CONVID_KIND_MAX + 1;
    struct mp_op op = fx_turn_op(U("cy"), 1, m, 2, 2);
    ck_assert_int_eq(fx_apply1(s, &op), MP_EINVAL);
    ck_assert(fx_absent(s, U("cy")));
    fx_close_backend(s, _i);
}
END_TEST

/* The format number of s. */
static void set_format(struct mp_store *s, uint32_t f)
{
    struct mp_store_txn txn;
    unsigned char b[4] = {(unsigned char)f, 0, 0, 0};
    ck_assert_int_eq(s->be->begin(s, true, &txn), MP_OK);
    ck_assert_int_eq(s->be->put(&txn, MP_TABLE_META, "format", 6, b, 4), MP_OK);
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
}

/* A store of format 6 (its messages without a conversation, which are the
 * bytes format 6 wrote: tests/storage/ops/test_store_format.c holds stores
 * that format's code wrote) opens as format 8: its messages read as they
 * were, new turns keep their conversation. LMDB and PostgreSQL. */
START_TEST(test_conv_a_store_of_format_6_opens_as_format_8)
{
    int which = _i == 0 ? LMDB : PG;
    struct mp_store *s = fx_open_backend(which);
    struct want w = {.n = 0};
    turn(s, "dee", 1, 0, 0, 10, &w);
    turn(s, "dee", 2, 0, 0, 20, &w);
    set_format(s, 6);
    s = fx_reopen(s, which);
    ck_assert_uint_eq(fx_format(s), MP_STORE_FORMAT_VERSION);
    ck_assert_uint_eq(MP_STORE_FORMAT_VERSION, 12);
    reads_are(s, "dee", &w, 4, 4);
    turn(s, "dee", 3, CONV_B, MP_CONVID_CLIENT, 30, &w);
    s = fx_reopen(s, which);
    reads_are(s, "dee", &w, 6, 6);
    fx_close_backend(s, which);
}
END_TEST

/* Compaction and rekey rewrite every LMDB record, and a copy moves them to
 * PostgreSQL: the conversations go with them. */
START_TEST(test_conv_survives_compaction_rekey_and_a_copy)
{
    struct mp_store *s = fx_open_backend(LMDB);
    struct want w = {.n = 0};
    three_turns(s, &w);
    ck_assert_int_eq(fx_summarize(s, U("ann"), "ann kayaks", 2, 50), MP_OK);
    fx_compact(s);
    reads_are(s, "ann", &w, 4, 6);
    struct mp_store *pg = fx_open_backend(PG);
    struct mp_store_copy_counts counts;
    char err[256] = "";
    ck_assert_msg(mp_store_copy(s, pg, &counts, err, sizeof(err)) == MP_OK, "%s", err);
    reads_are(pg, "ann", &w, 4, 6);
    fx_close_backend(pg, PG);
    mp_store_free(s);
    fx_rekey(NULL, &fx_key_a);
    fx_opts.key = &fx_key_a;
    s = fx_open_existing();
    reads_are(s, "ann", &w, 4, 6);
    fx_close_backend(s, LMDB);
    fx_opts.key = NULL;
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_conv");
    TCase *tc = tcase_create("conv");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_conv_a_turn_keeps_its_conversation_in_buffer_and_archive, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_conv_survives_the_buffer_leaving_for_the_archive, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_conv_an_imported_message_keeps_its_own, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_conv_an_unknown_rule_is_einval, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_conv_a_store_of_format_6_opens_as_format_8, 0, 2);
    tcase_add_test(tc, test_conv_survives_compaction_rekey_and_a_copy);
    suite_add_tcase(s, tc);
    return s;
}
