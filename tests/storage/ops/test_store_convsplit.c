/* A conversation's head and tail in two records (storage/ops/store_conv.c,
 * store format 12), on every backend: a tail written alone (PUT_CONV
 * tail_only, a turn under a kept head) leaves the head record as it was,
 * byte for byte, and follows only the head it was built under; a new
 * epoch clears the tail with the head; the bounds drop both records; a
 * store of format 11 (one record for both) is split at open and its heads
 * are still reused. The records' fields and the rest of the bounds:
 * test_store_convstate.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define NOW         1000000
#define TAIL_CANARY "zq9tail-of-a-cleared-head"

static const unsigned char *conv_key(unsigned char k[MP_STORE_CONV_KEY_LEN], unsigned char c)
{
    memset(k, c, MP_STORE_CONV_KEY_LEN);
    return k;
}

/* A conversation of head text and tail text (NULL: none). Its texts
 * borrowed: never cleaned up. */
static struct mp_store_conv conv_of(const char *head, const char *tail)
{
    struct mp_store_conv c = {.built_ms = NOW - 5};
    c.head.text = (char *)head;
    c.head.len = strlen(head);
    c.head.tokens = 7;
    c.head.memory_epoch = 3;
    c.head.sections = 5;
    c.has_tail = tail != NULL;
    if (tail != NULL) {
        c.tail.part.text = (char *)tail;
        c.tail.part.len = strlen(tail);
        c.tail.part.tokens = 2;
        c.tail.anchor_hash = 0xabcdef;
        c.tail.anchor_at = 3;
    }
    return c;
}

static int put(struct mp_store *s, const char *user, const unsigned char *key,
               struct mp_store_conv *rec, bool tail_only, int64_t now, uint32_t *evicted)
{
    struct mp_op op = {
        .kind = MP_OP_PUT_CONV, .user = user, .user_len = strlen(user), .now_ms = now};
    op.u.conv.key = key;
    op.u.conv.rec = rec;
    op.u.conv.tail_only = tail_only;
    int rc = fx_apply1(s, &op);
    if (evicted != NULL)
        *evicted = op.u.conv.evicted;
    return rc;
}

/* A tail-only PUT_CONV under the head of stamp: tail text at now. */
static int put_tail(struct mp_store *s, const char *user, const unsigned char *key, uint64_t stamp,
                    const char *tail, int64_t now)
{
    struct mp_store_conv c = conv_of("", tail);
    c.head.len = 0; /* not read: a tail alone */
    c.stamp = stamp;
    return put(s, user, key, &c, true, now, NULL);
}

static int conv_read(struct mp_store *s, const char *user, const unsigned char *key,
                     struct mp_store_conv *out)
{
    struct mp_store_view *v = NULL;
    memset(out, 0, sizeof(*out));
    int rc = mp_store_view_open(s, user, strlen(user), &v);
    if (rc == MP_OK)
        rc = mp_store_view_conv(v, key, out);
    mp_store_view_close(v);
    return rc;
}

/* The user's conversation under key reads with head text head, tail text
 * tail (NULL: none), stamp and written_ms. */
static void reads(struct mp_store *s, const char *user, const unsigned char *key, const char *head,
                  const char *tail, uint64_t stamp, int64_t written)
{
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, user, key, &got), MP_OK);
    ck_assert(!got.cleared);
    ck_assert_uint_eq(got.head.len, strlen(head));
    ck_assert_mem_eq(got.head.text, head, strlen(head));
    ck_assert_uint_eq(got.stamp, stamp);
    ck_assert_int_eq(got.written_ms, written);
    ck_assert_int_eq(got.has_tail, tail != NULL);
    if (tail != NULL) {
        ck_assert_uint_eq(got.tail.part.len, strlen(tail));
        ck_assert_mem_eq(got.tail.part.text, tail, strlen(tail));
        ck_assert_uint_eq(got.tail.anchor_hash, 0xabcdef);
        ck_assert_uint_eq(got.tail.anchor_at, 3);
    }
    mp_store_conv_cleanup(&got);
}

/* The key of user's record of kind (0 head, 2 tail) under key, into k. */
static size_t raw_key(struct mp_store *s, const char *user, uint8_t kind, const unsigned char *key,
                      unsigned char *k)
{
    size_t n = mp_store_backend_user_prefix(s, k, user, strlen(user));
    k[n] = kind;
    memcpy(k + n + 1, key, MP_STORE_CONV_KEY_LEN);
    return n + 1 + MP_STORE_CONV_KEY_LEN;
}

/* The bytes stored (sealed in a sealed store) of user's record of kind
 * under key, into out (room for cap): their number, 0 when there is none. */
static size_t raw_get(struct mp_store *s, const char *user, uint8_t kind, const unsigned char *key,
                      unsigned char *out, size_t cap)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_txn txn;
    const unsigned char *v;
    size_t n = 0, kn = raw_key(s, user, kind, key, k);
    ck_assert_int_eq(s->be->begin(s, false, &txn), MP_OK);
    if (s->be->get(&txn, MP_TABLE_CONVS, k, kn, &v, &n) != MP_OK)
        n = 0;
    ck_assert_uint_le(n, cap);
    if (n > 0)
        memcpy(out, v, n);
    s->be->end(&txn, false);
    return n;
}

static void make_user(struct mp_store *s, const char *user, uint8_t idem, int64_t at)
{
    ck_assert_int_eq(fx_turn(s, user, strlen(user), idem, "hello there", "hi", at, at), MP_OK);
}

/* The store of backend _i (FX_BACKENDS: a sealed LMDB store) and the
 * backend to reopen it with. */
static struct mp_store *open_any(int i, int *which)
{
    *which = i < FX_BACKENDS ? i : LMDB;
    return i < FX_BACKENDS ? fx_open_backend(i) : fx_open_sealed();
}

/* ---- 1. a tail alone ---- */

START_TEST(test_convsplit_a_tail_alone_leaves_the_head_record_as_it_was)
{
    int which;
    struct mp_store *s = open_any(_i, &which);
    unsigned char k[MP_STORE_CONV_KEY_LEN], h1[4096], h2[4096], t1[4096], t2[4096];
    conv_key(k, 0x31);
    make_user(s, "ann", 1, NOW);
    struct mp_store_conv c = conv_of("the head of ann's chat", "the first question's tail");
    ck_assert_int_eq(put(s, "ann", k, &c, false, NOW + 10, NULL), MP_OK);
    uint64_t stamp = c.stamp;
    size_t hn1 = raw_get(s, "ann", 0, k, h1, sizeof(h1));
    size_t tn1 = raw_get(s, "ann", 2, k, t1, sizeof(t1));
    ck_assert_uint_gt(hn1, 0);
    ck_assert_uint_gt(tn1, 0);

    /* the next turn, under the kept head: its tail alone */
    ck_assert_int_eq(put_tail(s, "ann", k, stamp, "the second question's tail", NOW + 20), MP_OK);
    size_t hn2 = raw_get(s, "ann", 0, k, h2, sizeof(h2));
    size_t tn2 = raw_get(s, "ann", 2, k, t2, sizeof(t2));
    ck_assert_uint_eq(hn2, hn1); /* not written: the same bytes (a sealed write's differ) */
    ck_assert_mem_eq(h2, h1, hn1);
    ck_assert(tn2 != tn1 || memcmp(t2, t1, tn1) != 0);
    reads(s, "ann", k, "the head of ann's chat", "the second question's tail", stamp, NOW + 20);
    s = fx_reopen(s, which);
    reads(s, "ann", k, "the head of ann's chat", "the second question's tail", stamp, NOW + 20);
    ck_assert_uint_eq(raw_get(s, "ann", 0, k, h2, sizeof(h2)), hn1);
    ck_assert_mem_eq(h2, h1, hn1);
    fx_close_backend(s, which);
}
END_TEST

/* A tail built under a head that is no longer the stored one (another
 * worker built a new head meanwhile, or none is stored) is not written. */
START_TEST(test_convsplit_a_tail_follows_only_the_head_it_was_built_under)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k[MP_STORE_CONV_KEY_LEN], kn[MP_STORE_CONV_KEY_LEN], b[4096];
    conv_key(k, 0x41);
    conv_key(kn, 0x42);
    make_user(s, "ann", 1, NOW);
    struct mp_store_conv a = conv_of("head a", "tail a"), bb = conv_of("head b", NULL);
    ck_assert_int_eq(put(s, "ann", k, &a, false, NOW + 10, NULL), MP_OK);
    uint64_t old = a.stamp;
    ck_assert_int_eq(put(s, "ann", k, &bb, false, NOW + 20, NULL), MP_OK);
    ck_assert_uint_ne(bb.stamp, old);
    ck_assert_int_eq(put_tail(s, "ann", k, old, "a tail for head a", NOW + 30), MP_NOTFOUND);
    ck_assert_int_eq(put_tail(s, "ann", k, 0, "a tail for no head", NOW + 30), MP_NOTFOUND);
    reads(s, "ann", k, "head b", NULL, bb.stamp, NOW + 20);
    ck_assert_int_eq(put_tail(s, "ann", k, bb.stamp, "a tail for head b", NOW + 40), MP_OK);
    reads(s, "ann", k, "head b", "a tail for head b", bb.stamp, NOW + 40);
    /* no head under the key: nothing written */
    ck_assert_int_eq(put_tail(s, "ann", kn, bb.stamp, "a tail for no head", NOW + 50), MP_NOTFOUND);
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, "ann", kn, &got), MP_NOTFOUND);
    ck_assert_uint_eq(raw_get(s, "ann", 2, kn, b, sizeof(b)), 0);
    fx_close_backend(s, _i);
}
END_TEST

/* A person's change (a new epoch) clears the tail with the head: no value
 * waits in either, and a tail of the old head is not written after it. */
START_TEST(test_convsplit_an_epoch_clears_the_tail_too)
{
    int which;
    struct mp_store *s = open_any(_i, &which);
    unsigned char k[MP_STORE_CONV_KEY_LEN];
    conv_key(k, 0x51);
    make_user(s, "ann", 1, NOW);
    ck_assert_int_eq(fx_upsert(s, U("ann"), "city", "Oslo", MP_TRUST_STATED, NOW), MP_OK);
    struct mp_store_conv c = conv_of("ann lives in Oslo", "Oslo again " TAIL_CANARY);
    ck_assert_int_eq(put(s, "ann", k, &c, false, NOW + 10, NULL), MP_OK);
    struct mp_op del = fx_delete_op(U("ann"), "city", MP_ACTOR_USER, NOW + 100);
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, "ann", k, &got), MP_OK);
    ck_assert(got.cleared);
    ck_assert(!got.has_tail);
    ck_assert_uint_eq(got.head.len, 0);
    ck_assert_uint_eq(got.tail.part.len, 0);
    mp_store_conv_cleanup(&got);
    ck_assert_int_eq(put_tail(s, "ann", k, c.stamp, "a tail of the old head", NOW + 110),
                     MP_NOTFOUND);
    if (which == LMDB && _i < FX_BACKENDS) {
        fx_compact(s);
        ck_assert(!fx_dir_has(TAIL_CANARY));
    }
    fx_close_backend(s, which);
}
END_TEST

/* The codec's counting pass (p NULL: a head's size by arithmetic) is the
 * size its writing pass writes, heads and tails of every array. */
START_TEST(test_convsplit_the_counted_size_is_the_written_size)
{
    static unsigned char buf[8192];
    uint32_t facts[3] = {1, 2, 3};
    struct mp_inject_past past[2] = {{.hash = 1, .len = 2, .seq = 3},
                                     {.hash = 4, .len = 5, .seq = 6}};
    for (int shape = 0; shape < 4; shape++) {
        struct mp_store_conv c = conv_of("a head with arrays", shape & 1 ? "a tail" : NULL);
        c.head.fact_ids = facts;
        c.head.nfacts = shape & 2 ? 3 : 0;
        c.head.past = past;
        c.head.npast = shape & 2 ? 2 : 1;
        c.tail.part.fact_ids = facts;
        c.tail.part.nfacts = 2;
        c.tail.part.past = past;
        c.tail.part.npast = shape & 2 ? 1 : 2;
        size_t hn = mp_codec_put_conv_head(NULL, &c), tn = mp_codec_put_conv_tail(NULL, &c, 9);
        ck_assert_uint_le(hn, sizeof(buf));
        ck_assert_uint_eq(mp_codec_put_conv_head(buf, &c), hn);
        struct mp_store_conv got = {.stamp = 0};
        ck_assert_int_eq(mp_codec_get_conv_head(buf, hn, &got), MP_OK);
        ck_assert_uint_eq(got.head.npast, c.head.npast);
        ck_assert_uint_le(tn, sizeof(buf));
        ck_assert_uint_eq(mp_codec_put_conv_tail(buf, &c, 9), tn);
        struct mp_codec_conv_tail meta;
        ck_assert_int_eq(mp_codec_get_conv_tail(buf, tn, &got, &meta), MP_OK);
        ck_assert_uint_eq(meta.head_bytes, 9);
        ck_assert_int_eq(got.has_tail, c.has_tail);
        mp_store_conv_cleanup(&got);
    }
}
END_TEST

/* ---- 2. the bounds ---- */

/* One conversation counts once and goes whole: the count bound drops
 * both records of the least recently written, and a tail written alone
 * makes its conversation the most recently written. */
START_TEST(test_convsplit_the_bounds_drop_both_records_of_the_oldest)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char k[4][MP_STORE_CONV_KEY_LEN], b[4096];
    struct mp_store_conv c[4];
    make_user(s, "ann", 1, NOW);
    mp_store_set_conversations(s, 2, 1u << 20);
    for (unsigned char i = 1; i <= 3; i++) {
        conv_key(k[i], i);
        c[i] = conv_of("a head", "a tail");
    }
    uint32_t evicted = 9;
    ck_assert_int_eq(put(s, "ann", k[1], &c[1], false, NOW + 10, &evicted), MP_OK);
    ck_assert_uint_eq(evicted, 0);
    ck_assert_int_eq(put(s, "ann", k[2], &c[2], false, NOW + 20, &evicted), MP_OK);
    ck_assert_uint_eq(evicted, 0);
    /* 1's tail alone: 2 is now the least recently written */
    ck_assert_int_eq(put_tail(s, "ann", k[1], c[1].stamp, "a newer tail", NOW + 30), MP_OK);
    ck_assert_int_eq(put(s, "ann", k[3], &c[3], false, NOW + 40, &evicted), MP_OK);
    ck_assert_uint_eq(evicted, 1);
    ck_assert_uint_eq(raw_get(s, "ann", 0, k[2], b, sizeof(b)), 0);
    ck_assert_uint_eq(raw_get(s, "ann", 2, k[2], b, sizeof(b)), 0);
    reads(s, "ann", k[1], "a head", "a newer tail", c[1].stamp, NOW + 30);
    reads(s, "ann", k[3], "a head", "a tail", c[3].stamp, NOW + 40);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- 3. a store of format 11 ---- */

/* Format 11's one record of a conversation, as its code wrote it
 * (codec.h: mp_codec_get_conv_v1), little-endian. */
struct v1 {
    unsigned char b[4096];
    size_t n;
};

static void le(struct v1 *o, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        o->b[o->n++] = (unsigned char)(v >> (8 * i));
}

static void v1_head(struct v1 *o, const struct mp_inject_head *h)
{
    le(o, h->len, 4);
    memcpy(o->b + o->n, h->text, h->len);
    o->n += h->len;
    le(o, h->tokens, 4);
    le(o, 0, 4); /* facts */
    le(o, 0, 4); /* past messages */
    le(o, (uint64_t)h->summary_at_ms, 8);
    le(o, h->memory_epoch, 8);
    le(o, 0, 1);
    le(o, (uint32_t)h->sections, 4);
    le(o, h->budget_tokens, 4);
}

/* c as format 11 wrote it, with npicks replayed messages in its tail. */
static void v1_of(struct v1 *o, const struct mp_store_conv *c, size_t npicks)
{
    o->n = 0;
    le(o, 1, 1);
    le(o, c->stamp, 8);
    le(o, (uint64_t)c->built_ms, 8);
    le(o, (uint64_t)c->written_ms, 8);
    le(o, c->has_tail ? 1 : 0, 1);
    v1_head(o, &c->head);
    if (!c->has_tail)
        return;
    v1_head(o, &c->tail.part);
    le(o, c->tail.anchor_hash, 8);
    le(o, c->tail.anchor_at, 8);
    le(o, npicks, 4);
    for (size_t i = 0; i < npicks; i++) {
        le(o, MP_ROLE_USER, 1);
        le(o, 0, 1);
        le(o, 5, 4);
        memcpy(o->b + o->n, "older", 5);
        o->n += 5;
    }
}

/* The user's conversations as format 11 kept them: every record of
 * theirs in the convs table replaced by recs[0..n) (plain, sealed as the
 * store seals), under keys[0..n), and the store's format 11. */
static void write_format11(struct mp_store *s, const char *user, const unsigned char (*keys)[32],
                           const struct v1 *recs, size_t n)
{
    unsigned char k[MP_STORE_KEY_MAX], b[4] = {11, 0, 0, 0};
    struct mp_store_txn txn;
    ck_assert_int_eq(s->be->begin(s, true, &txn), MP_OK);
    for (size_t i = 0; i < n; i++) {
        size_t kn = raw_key(s, user, 2, keys[i], k);
        int rc = s->be->del(&txn, MP_TABLE_CONVS, k, kn);
        ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
        kn = raw_key(s, user, 0, keys[i], k);
        ck_assert_int_eq(mp_store_backend_put(&txn, MP_TABLE_CONVS, k, kn, recs[i].b, recs[i].n),
                         MP_OK);
    }
    ck_assert_int_eq(s->be->put(&txn, MP_TABLE_META, "format", 6, b, 4), MP_OK);
    ck_assert_int_eq(s->be->end(&txn, true), MP_OK);
}

/* LMDB, PostgreSQL, a sealed LMDB store: each conversation of a store of
 * format 11 opens as its two records, the head with its stamp (a tail
 * written alone under it is taken: the head is reused), the tail and the
 * time as they were; a tail that replayed messages (none is kept now) is
 * dropped, a record that does not decode goes. */
START_TEST(test_convsplit_a_store_of_format_11_is_split_at_open)
{
    int which = _i == 0 ? LMDB : _i == 1 ? PG : LMDB;
    struct mp_store *s = _i == 2 ? fx_open_sealed() : fx_open_backend(which);
    unsigned char keys[4][32], b[4096];
    for (unsigned char i = 0; i < 4; i++)
        conv_key(keys[i], (unsigned char)(0x61 + i));
    make_user(s, "ann", 1, NOW);
    struct mp_store_conv c[3] = {conv_of("head zero", "tail zero"), conv_of("head one", NULL),
                                 conv_of("head two", "tail two")};
    struct v1 recs[4];
    for (int i = 0; i < 3; i++) {
        c[i].stamp = 0x1111111111111111ull * (uint64_t)(i + 1);
        c[i].written_ms = NOW + 10 * (i + 1);
        v1_of(&recs[i], &c[i], i == 2 ? 2 : 0);
    }
    memcpy(recs[3].b, "\x01garbage", 8);
    recs[3].n = 8;
    write_format11(s, "ann", (const unsigned char(*)[32])keys, recs, 4);
    ck_assert_uint_eq(fx_format(s), 11);
    s = fx_reopen(s, which);
    ck_assert_uint_eq(fx_format(s), MP_STORE_FORMAT_VERSION);
    ck_assert_uint_eq(MP_STORE_FORMAT_VERSION, 12);
    reads(s, "ann", keys[0], "head zero", "tail zero", c[0].stamp, NOW + 10);
    reads(s, "ann", keys[1], "head one", NULL, c[1].stamp, NOW + 20);
    reads(s, "ann", keys[2], "head two", NULL, c[2].stamp, NOW + 30);
    struct mp_store_conv got;
    ck_assert_int_eq(conv_read(s, "ann", keys[3], &got), MP_NOTFOUND);
    ck_assert_uint_eq(raw_get(s, "ann", 0, keys[3], b, sizeof(b)), 0);
    /* the next turn under head zero reuses it: its tail alone is taken */
    size_t hn = raw_get(s, "ann", 0, keys[0], b, sizeof(b));
    unsigned char again[4096];
    ck_assert_int_eq(put_tail(s, "ann", keys[0], c[0].stamp, "tail zero, again", NOW + 50), MP_OK);
    ck_assert_uint_eq(raw_get(s, "ann", 0, keys[0], again, sizeof(again)), hn);
    ck_assert_mem_eq(again, b, hn);
    s = fx_reopen(s, which);
    reads(s, "ann", keys[0], "head zero", "tail zero, again", c[0].stamp, NOW + 50);
    ck_assert_uint_eq(fx_format(s), MP_STORE_FORMAT_VERSION);
    fx_close_backend(s, which);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *su = suite_create("store_convsplit");
    TCase *tc = tcase_create("convsplit");
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_convsplit_a_tail_alone_leaves_the_head_record_as_it_was, 0,
                        FX_BACKENDS + 1);
    tcase_add_loop_test(tc, test_convsplit_a_tail_follows_only_the_head_it_was_built_under, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convsplit_an_epoch_clears_the_tail_too, 0, FX_BACKENDS + 1);
    tcase_add_test(tc, test_convsplit_the_counted_size_is_the_written_size);
    tcase_add_loop_test(tc, test_convsplit_the_bounds_drop_both_records_of_the_oldest, 0,
                        FX_BACKENDS);
    tcase_add_loop_test(tc, test_convsplit_a_store_of_format_11_is_split_at_open, 0, 3);
    suite_add_tcase(su, tc);
    return su;
}
