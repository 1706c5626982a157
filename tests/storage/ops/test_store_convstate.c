/* The conversation state the store keeps per user (storage/ops/store.h:
 * struct mp_store_conv, PUT_CONV, NOTE_LEAD; store_conv.c), on every
 * backend: a record reads back as written, the bounds drop the least
 * recently written, a client id's beginnings are kept in order, a person's
 * change of the user's memory turns every record into a tombstone, and the
 * user's erasure takes them all. Not the proxy's use of them (tests/proxy). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "status.h"
#include "ops/store.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define NOW  1000000
#define HOUR (3600 * 1000)
#define DAY  (24 * HOUR)

/* A head's text with bytes past ASCII (UTF-8, and one byte that is not)
 * that nothing else in a store holds: the canary of the LMDB scans. */
#define HEAD_TEXT                                                                                  \
    "Profile: Zo\xc3\xab rows in Troms\xc3\xb8 \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac \xff qvxhead"
#define HEAD_CANARY "qvxhead"

/* A conversation key of one byte c, repeated. */
static const unsigned char *conv_key(unsigned char k[MP_STORE_CONV_KEY_LEN], unsigned char c)
{
    memset(k, c, MP_STORE_CONV_KEY_LEN);
    return k;
}

/* A record and the arrays it borrows; filled in place, never copied. */
struct rec {
    struct mp_store_conv c;
    uint32_t facts[3];
    struct mp_inject_past past[2];
    uint32_t tail_facts[1];
    struct mp_inject_past tail_past[1];
};

/* A record of text with a head of every field and no tail. */
static void bare_rec(struct rec *r, const char *text)
{
    memset(r, 0, sizeof(*r));
    r->c.built_ms = NOW - 7;
    r->c.head.text = (char *)text;
    r->c.head.len = strlen(text);
    r->c.head.tokens = 4000000001u;
    r->facts[0] = 1;
    r->facts[1] = 0xdeadbeefu;
    r->facts[2] = 77;
    r->c.head.fact_ids = r->facts;
    r->c.head.nfacts = 3;
    r->past[0] = (struct mp_inject_past){.hash = UINT64_MAX, .len = 12, .seq = 3};
    r->past[1] = (struct mp_inject_past){
        .hash = 0x0123456789abcdefull, .len = 5000000000ull, .seq = 0x1122334455667788ull};
    r->c.head.past = r->past;
    r->c.head.npast = 2;
    r->c.head.summary_at_ms = 1700000000123;
    r->c.head.memory_epoch = 0x8000000000000001ull;
    r->c.head.follows_summary = true;
    r->c.head.summary = false;
    r->c.head.inject_pii = true;
    r->c.head.sections = -3;
    r->c.head.budget_tokens = 3000000000u;
}

/* bare_rec() with a tail: its part's flags the head's reversed. */
static void full_rec(struct rec *r, const char *text)
{
    bare_rec(r, text);
    struct mp_inject_head *p = &r->c.tail.part;
    r->c.has_tail = true;
    p->text = (char *)"Also: tea, not coffee \xc3\xa9";
    p->len = strlen(p->text);
    p->tokens = 9;
    r->tail_facts[0] = 4294967295u;
    p->fact_ids = r->tail_facts;
    p->nfacts = 1;
    r->tail_past[0] = (struct mp_inject_past){.hash = 42, .len = 7, .seq = 9};
    p->past = r->tail_past;
    p->npast = 1;
    p->summary_at_ms = -1;
    p->memory_epoch = 5;
    p->follows_summary = false;
    p->summary = true;
    p->inject_pii = false;
    p->sections = 6;
    p->budget_tokens = 1;
    r->c.tail.anchor_hash = 0xfeedfacecafebeefull;
    r->c.tail.anchor_at = (size_t)1 << 40;
}

/* PUT_CONV of rec under key for user at now: fx_apply1()'s answer, the
 * records it evicted into *evicted (NULL: not wanted). */
static int put(struct mp_store *s, const char *user, const unsigned char *key,
               struct mp_store_conv *rec, int64_t now, uint32_t *evicted)
{
    struct mp_op op = {
        .kind = MP_OP_PUT_CONV, .user = user, .user_len = strlen(user), .now_ms = now};
    op.u.conv.key = key;
    op.u.conv.rec = rec;
    int rc = fx_apply1(s, &op);
    if (evicted != NULL)
        *evicted = op.u.conv.evicted;
    return rc;
}

/* NOTE_LEAD of lead under key for user at now: fx_apply1()'s answer. */
static int note(struct mp_store *s, const char *user, const unsigned char *key, uint64_t lead,
                int64_t now)
{
    struct mp_op op = {
        .kind = MP_OP_NOTE_LEAD, .user = user, .user_len = strlen(user), .now_ms = now};
    op.u.lead.key = key;
    op.u.lead.lead = lead;
    return fx_apply1(s, &op);
}

/* The user's record under key into *out (cleaned up by the caller), as a
 * request's view reads it: the view's answer, or view_open's. */
static int conv_read(struct mp_store *s, const char *user, const unsigned char *key,
                     struct mp_store_conv *out)
{
    struct mp_store_view *v = NULL;
    memset(out, 0, sizeof(*out));
    int rc = mp_store_view_open(s, user, strlen(user), &v);
    if (rc != MP_OK)
        return rc;
    rc = mp_store_view_conv(v, key, out);
    mp_store_view_close(v);
    return rc;
}

/* The user's leads under key into leads and *n: the view's answer. */
static int leads_read(struct mp_store *s, const char *user, const unsigned char *key,
                      uint64_t leads[MP_STORE_CONV_LEADS], size_t *n)
{
    struct mp_store_view *v = NULL;
    *n = 99;
    int rc = mp_store_view_open(s, user, strlen(user), &v);
    if (rc != MP_OK)
        return rc;
    rc = mp_store_view_leads(v, key, leads, n);
    mp_store_view_close(v);
    return rc;
}

/* Whether user has a record under key. */
static bool conv_there(struct mp_store *s, const char *user, const unsigned char *key)
{
    struct mp_store_conv got;
    int rc = conv_read(s, user, key, &got);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
    mp_store_conv_cleanup(&got);
    return rc == MP_OK;
}

static void head_is(const struct mp_inject_head *got, const struct mp_inject_head *want)
{
    ck_assert_uint_eq(got->len, want->len);
    if (want->len > 0)
        ck_assert_mem_eq(got->text, want->text, want->len);
    ck_assert_uint_eq(got->tokens, want->tokens);
    ck_assert_uint_eq(got->nfacts, want->nfacts);
    for (size_t i = 0; i < want->nfacts; i++)
        ck_assert_uint_eq(got->fact_ids[i], want->fact_ids[i]);
    ck_assert_uint_eq(got->npast, want->npast);
    for (size_t i = 0; i < want->npast; i++) {
        ck_assert_uint_eq(got->past[i].hash, want->past[i].hash);
        ck_assert_uint_eq(got->past[i].len, want->past[i].len);
        ck_assert_uint_eq(got->past[i].seq, want->past[i].seq);
    }
    ck_assert_int_eq(got->summary_at_ms, want->summary_at_ms);
    ck_assert_uint_eq(got->memory_epoch, want->memory_epoch);
    ck_assert_int_eq(got->follows_summary, want->follows_summary);
    ck_assert_int_eq(got->summary, want->summary);
    ck_assert_int_eq(got->inject_pii, want->inject_pii);
    ck_assert_int_eq(got->sections, want->sections);
    ck_assert_uint_eq(got->budget_tokens, want->budget_tokens);
}

/* The user's record under key is want, field by field. */
static void conv_is(struct mp_store *s, const char *user, const unsigned char *key,
                    const struct mp_store_conv *want)
{
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, user, key, &got), MP_OK);
    ck_assert_int_eq(got.cleared, want->cleared);
    ck_assert_uint_eq(got.stamp, want->stamp);
    ck_assert_int_eq(got.built_ms, want->built_ms);
    ck_assert_int_eq(got.written_ms, want->written_ms);
    head_is(&got.head, &want->head);
    ck_assert_int_eq(got.has_tail, want->has_tail);
    if (want->has_tail) {
        const struct mp_inject_tail *t = &got.tail, *w = &want->tail;
        head_is(&t->part, &w->part);
        ck_assert_uint_eq(t->anchor_hash, w->anchor_hash);
        ck_assert_uint_eq(t->anchor_at, w->anchor_at);
        ck_assert_uint_eq(t->npicks, 0); /* no tail keeps replayed messages */
    } else {
        ck_assert_uint_eq(got.tail.npicks, 0);
        ck_assert_uint_eq(got.tail.part.len, 0);
    }
    mp_store_conv_cleanup(&got);
}

/* The user's record under key is a tombstone: cleared, no head, no text,
 * no tail. */
static void conv_cleared(struct mp_store *s, const char *user, const unsigned char *key)
{
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, user, key, &got), MP_OK);
    ck_assert(got.cleared);
    ck_assert_uint_eq(got.head.len, 0);
    ck_assert_ptr_null(got.head.text);
    ck_assert_uint_eq(got.head.nfacts, 0);
    ck_assert_uint_eq(got.head.npast, 0);
    ck_assert(!got.has_tail);
    ck_assert_uint_eq(got.tail.npicks, 0);
    mp_store_conv_cleanup(&got);
}

/* The user's leads under key are want[0..n). */
static void leads_are(struct mp_store *s, const char *user, const unsigned char *key,
                      const uint64_t *want, size_t n)
{
    uint64_t got[MP_STORE_CONV_LEADS];
    size_t gn = 0;
    ck_assert_int_eq(leads_read(s, user, key, got, &gn), MP_OK);
    ck_assert_uint_eq(gn, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(got[i], want[i]);
}

/* A user made by a turn of theirs. */
static void make_user(struct mp_store *s, const char *user, uint8_t idem, int64_t at)
{
    ck_assert_int_eq(fx_turn(s, user, strlen(user), idem, "hello there", "hi", at, at), MP_OK);
}

/* The bytes a conversation takes in a store in clear: its head and tail
 * records. */
static size_t rec_bytes(const struct mp_store_conv *c)
{
    return mp_codec_put_conv_head(NULL, c) + mp_codec_put_conv_tail(NULL, c, 0);
}

/* ---- 1. a record as written ---- */

START_TEST(test_convstate_a_record_reads_back_field_by_field)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k1[MP_STORE_CONV_KEY_LEN], k2[MP_STORE_CONV_KEY_LEN];
    conv_key(k1, 0xa1);
    conv_key(k2, 0xa2);
    struct rec r;
    full_rec(&r, HEAD_TEXT);
    /* a conversation's state never makes a user */
    ck_assert_int_eq(put(s, "nobody", k1, &r.c, NOW, NULL), MP_NOTFOUND);
    ck_assert(fx_absent(s, U("nobody")));
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, "nobody", k1, &got), MP_NOTFOUND);

    make_user(s, "ann", 1, NOW);
    ck_assert_int_eq(put(s, "ann", k1, &r.c, NOW + 10, NULL), MP_OK);
    ck_assert_uint_ne(r.c.stamp, 0);
    ck_assert_int_eq(r.c.written_ms, NOW + 10);
    uint64_t first = r.c.stamp;
    conv_is(s, "ann", k1, &r.c);
    ck_assert_int_eq(conv_read(s, "ann", k2, &got), MP_NOTFOUND);
    s = fx_reopen(s, _i);
    conv_is(s, "ann", k1, &r.c);
    ck_assert_int_eq(conv_read(s, "ann", k2, &got), MP_NOTFOUND);

    /* the key written again: the new record, tail and all, replaces it */
    struct rec r2;
    bare_rec(&r2, "a second head");
    r2.c.built_ms = NOW + 15;
    r2.c.head.nfacts = 1;
    r2.c.head.npast = 0;
    ck_assert_int_eq(put(s, "ann", k1, &r2.c, NOW + 20, NULL), MP_OK);
    ck_assert_uint_ne(r2.c.stamp, first);
    ck_assert_int_eq(r2.c.written_ms, NOW + 20);
    conv_is(s, "ann", k1, &r2.c);
    s = fx_reopen(s, _i);
    conv_is(s, "ann", k1, &r2.c);
    ck_assert_int_eq(conv_read(s, "ann", k2, &got), MP_NOTFOUND);
    fx_close_backend(s, _i);
}
END_TEST

/* A sealed LMDB store: the record reads back, its text never in clear. */
START_TEST(test_convstate_a_sealed_store_keeps_the_record_sealed)
{
    struct mp_store *s = fx_open_sealed();
    unsigned char k[MP_STORE_CONV_KEY_LEN];
    conv_key(k, 0xb1);
    struct rec r;
    full_rec(&r, HEAD_TEXT);
    make_user(s, "ann", 1, NOW);
    ck_assert_int_eq(put(s, "ann", k, &r.c, NOW + 10, NULL), MP_OK);
    s = fx_reopen(s, LMDB);
    conv_is(s, "ann", k, &r.c);
    ck_assert(!fx_dir_has(HEAD_CANARY));
    fx_close_backend(s, LMDB);
}
END_TEST

/* ---- 2. the bounds ---- */

START_TEST(test_convstate_past_the_count_the_least_recently_written_go)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k[7][MP_STORE_CONV_KEY_LEN];
    struct rec r[7];
    for (unsigned char i = 1; i < 7; i++) {
        conv_key(k[i], i);
        bare_rec(&r[i], "a small head");
    }
    make_user(s, "ann", 1, NOW);
    ck_assert_int_eq(note(s, "ann", k[1], 11, NOW), MP_OK); /* leads are not conversations */
    mp_store_set_conversations(s, 3, 1u << 20);
    uint32_t evicted = 0, total = 0;
    for (int i = 1; i <= 5; i++) {
        ck_assert_int_eq(put(s, "ann", k[i], &r[i].c, NOW + 100 * i, &evicted), MP_OK);
        ck_assert_uint_eq(evicted, i <= 3 ? 0 : 1);
        total += evicted;
    }
    ck_assert_uint_eq(total, 2);
    for (int i = 1; i <= 5; i++)
        ck_assert_int_eq(conv_there(s, "ann", k[i]), i >= 3);
    /* the oldest written again is the newest: the next goes instead */
    ck_assert_int_eq(put(s, "ann", k[3], &r[3].c, NOW + 600, &evicted), MP_OK);
    ck_assert_uint_eq(evicted, 0);
    ck_assert_int_eq(put(s, "ann", k[6], &r[6].c, NOW + 700, &evicted), MP_OK);
    ck_assert_uint_eq(evicted, 1);
    s = fx_reopen(s, _i);
    for (int i = 1; i <= 6; i++)
        ck_assert_int_eq(conv_there(s, "ann", k[i]), i == 3 || i == 5 || i == 6);
    conv_is(s, "ann", k[3], &r[3].c);
    uint64_t l = 11;
    leads_are(s, "ann", k[1], &l, 1);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_convstate_past_the_bytes_the_least_recently_written_go)
{
    struct mp_store *s = fx_open_backend(_i);
    char big_text[1001];
    memset(big_text, 'b', sizeof(big_text) - 1);
    big_text[sizeof(big_text) - 1] = '\0';
    unsigned char k[6][MP_STORE_CONV_KEY_LEN];
    struct rec r[6];
    for (unsigned char i = 1; i < 6; i++) {
        conv_key(k[i], i);
        bare_rec(&r[i], i == 4 ? "small" : big_text);
    }
    size_t big = rec_bytes(&r[1].c), small = rec_bytes(&r[4].c);
    ck_assert_uint_le(small, big / 2);
    make_user(s, "ann", 1, NOW);
    mp_store_set_conversations(s, 32, (uint32_t)(2 * big + big / 2));
    uint32_t evicted = 0;
    uint32_t want[6] = {0, 0, 0, 1, 0, 1}; /* 3: 1 goes; 4 fits; 5: 2 goes */
    for (int i = 1; i <= 5; i++) {
        ck_assert_int_eq(put(s, "ann", k[i], &r[i].c, NOW + 100 * i, &evicted), MP_OK);
        ck_assert_uint_eq(evicted, want[i]);
    }
    for (int i = 1; i <= 5; i++)
        ck_assert_int_eq(conv_there(s, "ann", k[i]), i >= 3);
    fx_close_backend(s, _i);
}
END_TEST

/* store.h: PUT_CONV is MP_NOTFOUND when "the bounds keep none": a record
 * larger than the bytes bound, a bound of 0 bytes, or max 0. Nothing is
 * written, and the user's other records are not dropped for it. */
START_TEST(test_convstate_a_record_the_bounds_cannot_hold_is_not_kept)
{
    struct mp_store *s = fx_open_backend(_i);
    char big_text[3001];
    memset(big_text, 'x', sizeof(big_text) - 1);
    big_text[sizeof(big_text) - 1] = '\0';
    unsigned char k[4][MP_STORE_CONV_KEY_LEN];
    struct rec r[4];
    for (unsigned char i = 0; i < 4; i++) {
        conv_key(k[i], 0x40 + i);
        bare_rec(&r[i], i == 3 ? big_text : "a small head");
    }
    make_user(s, "ann", 1, NOW);
    uint32_t bound = (uint32_t)(rec_bytes(&r[3].c) - 1000);
    mp_store_set_conversations(s, 32, bound);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(put(s, "ann", k[i], &r[i].c, NOW + 100 * i, NULL), MP_OK);
    ck_assert_int_eq(put(s, "ann", k[3], &r[3].c, NOW + 500, NULL), MP_NOTFOUND);
    ck_assert(!conv_there(s, "ann", k[3]));
    for (int i = 0; i < 3; i++)
        conv_is(s, "ann", k[i], &r[i].c);
    /* bounds of no bytes, or no conversations, keep none */
    struct rec other;
    bare_rec(&other, "another head");
    unsigned char ko[MP_STORE_CONV_KEY_LEN];
    conv_key(ko, 0x4f);
    mp_store_set_conversations(s, 32, 0);
    ck_assert_int_eq(put(s, "ann", ko, &other.c, NOW + 600, NULL), MP_NOTFOUND);
    mp_store_set_conversations(s, 0, 1u << 20);
    ck_assert_int_eq(put(s, "ann", ko, &other.c, NOW + 700, NULL), MP_NOTFOUND);
    ck_assert(!conv_there(s, "ann", ko));
    for (int i = 0; i < 3; i++)
        conv_is(s, "ann", k[i], &r[i].c);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- 3. a client id's beginnings ---- */

START_TEST(test_convstate_leads_keep_the_first_distinct_beginnings_in_order)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k[MP_STORE_CONV_KEY_LEN], kn[MP_STORE_CONV_KEY_LEN];
    conv_key(k, 0xc1);
    conv_key(kn, 0xc2);
    ck_assert_int_eq(MP_STORE_CONV_LEADS, 4);
    const uint64_t l[5] = {UINT64_MAX, 1, 0x8000000000000000ull, 0x0102030405060708ull, 77};
    ck_assert_int_eq(note(s, "ann", k, l[0], NOW), MP_NOTFOUND); /* no lead makes a user */
    ck_assert(fx_absent(s, U("ann")));
    make_user(s, "ann", 1, NOW);
    leads_are(s, "ann", k, NULL, 0);
    ck_assert_int_eq(note(s, "ann", k, l[0], NOW + 1), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, l[1], NOW + 2), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, l[0], NOW + 3), MP_NOTFOUND); /* kept already */
    leads_are(s, "ann", k, l, 2);
    /* the conversation's record under the same key is another record */
    struct rec r;
    full_rec(&r, HEAD_TEXT);
    ck_assert_int_eq(put(s, "ann", k, &r.c, NOW + 4, NULL), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, l[2], NOW + 5), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, l[3], NOW + 6), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, l[1], NOW + 7), MP_NOTFOUND);
    ck_assert_int_eq(note(s, "ann", k, l[4], NOW + 8), MP_NOTFOUND); /* past the max */
    leads_are(s, "ann", k, l, 4);
    conv_is(s, "ann", k, &r.c);
    s = fx_reopen(s, _i);
    leads_are(s, "ann", k, l, 4);
    leads_are(s, "ann", kn, NULL, 0);
    ck_assert_int_eq(note(s, "ann", k, l[4], NOW + 9), MP_NOTFOUND);
    leads_are(s, "ann", k, l, 4);
    conv_is(s, "ann", k, &r.c);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- 4. a new memory epoch ---- */

/* ann's records under ka and kb (full, bare), leads under ka, and bob's
 * under ka; ann has the fact city = Oslo. */
struct epoch_world {
    unsigned char ka[MP_STORE_CONV_KEY_LEN], kb[MP_STORE_CONV_KEY_LEN];
    struct rec a, b, bob;
    uint64_t leads[2];
};

static void epoch_world(struct mp_store *s, struct epoch_world *w)
{
    conv_key(w->ka, 0xd1);
    conv_key(w->kb, 0xd2);
    full_rec(&w->a, HEAD_TEXT);
    bare_rec(&w->b, "ann's other head");
    full_rec(&w->bob, "bob's head");
    w->leads[0] = 5;
    w->leads[1] = 6;
    make_user(s, "ann", 1, NOW);
    make_user(s, "bob", 1, NOW);
    ck_assert_int_eq(fx_upsert(s, U("ann"), "city", "Oslo", MP_TRUST_STATED, NOW), MP_OK);
    ck_assert_int_eq(put(s, "ann", w->ka, &w->a.c, NOW + 10, NULL), MP_OK);
    ck_assert_int_eq(put(s, "ann", w->kb, &w->b.c, NOW + 20, NULL), MP_OK);
    ck_assert_int_eq(put(s, "bob", w->ka, &w->bob.c, NOW + 30, NULL), MP_OK);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(note(s, "ann", w->ka, w->leads[i], NOW + 40 + i), MP_OK);
}

/* ann's records are tombstones, her leads and bob's record as they were. */
static void epoch_cleared(struct mp_store *s, const struct epoch_world *w)
{
    conv_cleared(s, "ann", w->ka);
    conv_cleared(s, "ann", w->kb);
    leads_are(s, "ann", w->ka, w->leads, 2);
    conv_is(s, "bob", w->ka, &w->bob.c);
}

START_TEST(test_convstate_a_persons_erasure_turns_every_record_into_a_tombstone)
{
    struct mp_store *s = fx_open_backend(_i);
    struct epoch_world w;
    epoch_world(s, &w);
    /* traffic and the memory jobs keep the epoch, and the heads */
    make_user(s, "ann", 2, NOW + 50);
    ck_assert_int_eq(fx_upsert(s, U("ann"), "drink", "tea", MP_TRUST_STATED, NOW + 50), MP_OK);
    ck_assert_int_eq(fx_summarize(s, U("ann"), "ann likes tea", 2, NOW + 60), MP_OK);
    conv_is(s, "ann", w.ka, &w.a.c);
    conv_is(s, "ann", w.kb, &w.b.c);
    /* the person erases a fact: a new epoch */
    struct mp_op del = fx_delete_op(U("ann"), "city", MP_ACTOR_USER, NOW + 100);
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    epoch_cleared(s, &w);
    s = fx_reopen(s, _i);
    epoch_cleared(s, &w);
    /* a record written since holds its head */
    ck_assert_int_eq(put(s, "ann", w.ka, &w.a.c, NOW + 200, NULL), MP_OK);
    conv_is(s, "ann", w.ka, &w.a.c);
    conv_cleared(s, "ann", w.kb);
    fx_close_backend(s, _i);
}
END_TEST

/* Each change store.h and docs/memory-conversations.md name as moving the epoch: a
 * correction, an admin's erasure of a message, a retention purge. */
START_TEST(test_convstate_every_epoch_move_clears_the_records)
{
    for (int how = 0; how < 3; how++) {
        struct mp_store *s = fx_open_backend(_i);
        struct epoch_world w;
        epoch_world(s, &w);
        struct mp_op op;
        if (how == 0) {
            op = fx_upsert_op(U("ann"), "city", "Bergen", MP_TRUST_CORRECTED, NOW + 100);
            op.actor = MP_ACTOR_USER;
        } else if (how == 1) {
            op = (struct mp_op){.kind = MP_OP_DELETE_MESSAGE,
                                .user = "ann",
                                .user_len = 3,
                                .now_ms = NOW + 100,
                                .actor = MP_ACTOR_ADMIN};
            op.u.seq = 1;
        } else {
            op = (struct mp_op){.kind = MP_OP_SWEEP_USER,
                                .user = "ann",
                                .user_len = 3,
                                .now_ms = NOW + DAY,
                                .actor = MP_ACTOR_RETENTION};
            op.u.sweep.retention.max_age_ms = HOUR;
        }
        ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
        ck_assert_msg(!fx_absent(s, U("ann")), "how %d", how);
        epoch_cleared(s, &w);
        fx_close_backend(s, _i);
    }
}
END_TEST

/* More records than one clearing pass takes at once (store_user.c:
 * CONV_CLEAR_MAX): every one of them still goes. MEM and LMDB (a put
 * scans the user's records: thousands of round trips on PostgreSQL). */
START_TEST(test_convstate_an_epoch_clears_every_record_however_many)
{
    int which = _i == 0 ? MEM : LMDB;
    struct mp_store *s = fx_open_sized(which, 16u << 20, 0);
    enum { N = 1100 };
    struct rec r;
    bare_rec(&r, "h");
    r.c.head.nfacts = 0;
    r.c.head.npast = 0;
    make_user(s, "ann", 1, NOW);
    ck_assert_int_eq(fx_upsert(s, U("ann"), "city", "Oslo", MP_TRUST_STATED, NOW), MP_OK);
    mp_store_set_conversations(s, 2 * N, 64u << 20);
    unsigned char k[MP_STORE_CONV_KEY_LEN];
    memset(k, 0, sizeof(k));
    for (int i = 0; i < N; i++) {
        k[0] = (unsigned char)(i >> 8);
        k[1] = (unsigned char)i;
        ck_assert_int_eq(put(s, "ann", k, &r.c, NOW + i, NULL), MP_OK);
    }
    struct mp_op del = fx_delete_op(U("ann"), "city", MP_ACTOR_USER, NOW + N);
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    size_t held = 0;
    for (int i = 0; i < N; i++) {
        k[0] = (unsigned char)(i >> 8);
        k[1] = (unsigned char)i;
        struct mp_store_conv got;
        int rc = conv_read(s, "ann", k, &got);
        ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
        held += rc == MP_OK && got.head.len > 0;
        mp_store_conv_cleanup(&got);
    }
    ck_assert_uint_eq(held, 0);
    fx_close_backend(s, which);
}
END_TEST

/* ---- 5. the user's erasure ---- */

/* A key of ASCII bytes and a lead of ASCII bytes (little-endian, as the
 * codec writes it), for the scans of the LMDB files. */
#define KEY_CANARY  "convkey-of-an-erased-user-zq9x01"
#define LEAD_CANARY "zq9lead7"

static uint64_t lead_canary(void)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | (unsigned char)LEAD_CANARY[i];
    return v;
}

START_TEST(test_convstate_the_users_erasure_takes_records_and_leads)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k[MP_STORE_CONV_KEY_LEN];
    memcpy(k, KEY_CANARY, MP_STORE_CONV_KEY_LEN);
    struct rec r, rb;
    full_rec(&r, HEAD_TEXT);
    full_rec(&rb, "bob's head");
    make_user(s, "ann", 1, NOW);
    make_user(s, "bob", 1, NOW);
    ck_assert_int_eq(put(s, "ann", k, &r.c, NOW + 10, NULL), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, lead_canary(), NOW + 11), MP_OK);
    ck_assert_int_eq(put(s, "bob", k, &rb.c, NOW + 12, NULL), MP_OK);
    ck_assert_int_eq(note(s, "bob", k, 3, NOW + 13), MP_OK);
    if (_i == LMDB) {
        ck_assert(fx_dir_has(HEAD_CANARY));
        ck_assert(fx_dir_has(LEAD_CANARY));
    }
    struct mp_op forget = {
        .kind = MP_OP_DELETE_USER, .user = "ann", .user_len = 3, .now_ms = NOW + 20};
    forget.actor = MP_ACTOR_USER;
    ck_assert_int_eq(fx_apply1(s, &forget), MP_OK);
    ck_assert(fx_absent(s, U("ann")));
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, "ann", k, &got), MP_NOTFOUND);
    if (_i == LMDB) {
        fx_compact(s);
        ck_assert(!fx_dir_has(HEAD_CANARY));
        ck_assert(!fx_dir_has(LEAD_CANARY));
    }
    s = fx_reopen(s, _i);
    /* made again by a turn: nothing of the erased user comes back */
    make_user(s, "ann", 2, NOW + 30);
    ck_assert(!conv_there(s, "ann", k));
    leads_are(s, "ann", k, NULL, 0);
    conv_is(s, "bob", k, &rb.c);
    uint64_t three = 3;
    leads_are(s, "bob", k, &three, 1);
    fx_close_backend(s, _i);
}
END_TEST

/* Retention that leaves nothing of a user removes the user (store.h,
 * SWEEP_USER): their records and leads go with them. */
START_TEST(test_convstate_retention_removing_the_user_takes_records_and_leads)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k[MP_STORE_CONV_KEY_LEN];
    memcpy(k, KEY_CANARY, MP_STORE_CONV_KEY_LEN);
    struct rec r;
    full_rec(&r, HEAD_TEXT);
    make_user(s, "ann", 1, NOW);
    ck_assert_int_eq(put(s, "ann", k, &r.c, NOW + 10, NULL), MP_OK);
    ck_assert_int_eq(note(s, "ann", k, lead_canary(), NOW + 11), MP_OK);
    for (int64_t at = NOW + DAY; at <= NOW + 3 * DAY; at += 2 * DAY) {
        struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = "ann", .user_len = 3, .now_ms = at};
        sweep.actor = MP_ACTOR_RETENTION;
        sweep.u.sweep.retention.max_age_ms = HOUR;
        sweep.u.sweep.retention.idem_max_age_ms = HOUR;
        ck_assert_int_eq(fx_apply1(s, &sweep), MP_OK);
    }
    ck_assert(fx_absent(s, U("ann")));
    if (_i == LMDB) {
        fx_compact(s);
        ck_assert(!fx_dir_has(HEAD_CANARY));
        ck_assert(!fx_dir_has(LEAD_CANARY));
        ck_assert(!fx_dir_has(KEY_CANARY));
    }
    make_user(s, "ann", 2, NOW + 4 * DAY);
    ck_assert(!conv_there(s, "ann", k));
    leads_are(s, "ann", k, NULL, 0);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- 6. users apart ---- */

START_TEST(test_convstate_users_keep_their_own_records_under_one_key)
{
    struct mp_store *s = fx_open_backend(_i);
    char tenant_ann[1 + MP_TENANT_LEN + 3];
    size_t tlen = fx_tenant_key(tenant_ann, 0x7e, "ann");
    ck_assert_uint_eq(tlen, sizeof(tenant_ann));
    char tann[sizeof(tenant_ann) + 1];
    memcpy(tann, tenant_ann, tlen);
    tann[tlen] = '\0';
    /* user keys as the helpers take them: NUL-terminated, none inside */
    ck_assert_uint_eq(strlen(tann), tlen);
    const char *users[4] = {"ann", "anne", "bob", tann};
    const char *texts[4] = {"ann's head", "anne's head", "bob's head", "the tenant's ann's head"};
    unsigned char k[4][MP_STORE_CONV_KEY_LEN];
    struct rec r[4], extra[2];
    for (int u = 0; u < 4; u++)
        make_user(s, users[u], 1, NOW);
    conv_key(k[0], 0xe0);
    for (int u = 0; u < 4; u++) {
        full_rec(&r[u], texts[u]);
        ck_assert_int_eq(put(s, users[u], k[0], &r[u].c, NOW + 10 + u, NULL), MP_OK);
        ck_assert_int_eq(note(s, users[u], k[0], 100 + (uint64_t)u, NOW + 20 + u), MP_OK);
    }
    /* bounds are each user's: ann's newer records evict ann's own */
    mp_store_set_conversations(s, 2, 1u << 20);
    for (int i = 0; i < 2; i++) {
        conv_key(k[1 + i], (unsigned char)(0xe1 + i));
        bare_rec(&extra[i], "ann's newer head");
        ck_assert_int_eq(put(s, "ann", k[1 + i], &extra[i].c, NOW + 100 + i, NULL), MP_OK);
    }
    s = fx_reopen(s, _i);
    ck_assert(!conv_there(s, "ann", k[0]));
    conv_is(s, "ann", k[1], &extra[0].c);
    conv_is(s, "ann", k[2], &extra[1].c);
    for (int u = 1; u < 4; u++) {
        conv_is(s, users[u], k[0], &r[u].c);
        ck_assert(!conv_there(s, users[u], k[1]));
    }
    for (int u = 0; u < 4; u++) {
        uint64_t l = 100 + (uint64_t)u;
        leads_are(s, users[u], k[0], &l, 1);
    }
    fx_close_backend(s, _i);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_convstate");
    TCase *tc = tcase_create("convstate");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_convstate_a_record_reads_back_field_by_field, 0, FX_BACKENDS);
    tcase_add_test(tc, test_convstate_a_sealed_store_keeps_the_record_sealed);
    tcase_add_loop_test(tc, test_convstate_past_the_count_the_least_recently_written_go, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_past_the_bytes_the_least_recently_written_go, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_a_record_the_bounds_cannot_hold_is_not_kept, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_leads_keep_the_first_distinct_beginnings_in_order, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_a_persons_erasure_turns_every_record_into_a_tombstone, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_every_epoch_move_clears_the_records, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_an_epoch_clears_every_record_however_many, 0, 2);
    tcase_add_loop_test(tc, test_convstate_the_users_erasure_takes_records_and_leads, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_retention_removing_the_user_takes_records_and_leads, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convstate_users_keep_their_own_records_under_one_key, 0,
                        FX_BACKENDS);
    suite_add_tcase(s, tc);
    return s;
}
