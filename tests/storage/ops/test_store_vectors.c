/* The vectors table (storage/ops/store_vectors.h): vectors put in one
 * apply read back byte for byte, newest first; the items without a
 * current vector are exactly the pending ones, and a model change makes
 * every item pending again; every erasure path takes an item's vector in
 * its write; sealed on disk; counted in the store's size. Cases run on
 * every backend (_i: FX_BACKENDS) but the LMDB-only disk checks. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed_scan.h"
#include "embed/embed_vec.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_vectors.h"
#include "store_fixture.h"

Suite *mp_test_suite(void);

#define T0   1000000
#define DIMS 384

/* A record of model name for item seed: codes the canary's bytes when
 * canary is not NULL, else a vector made from seed. */
static size_t make_rec(unsigned char *out, const char *model, unsigned seed, const char *canary)
{
    uint64_t h = mp_embed_vec_model_hash(model, strlen(model));
    size_t n = 0;
    if (canary == NULL) {
        float v[DIMS];
        for (unsigned i = 0; i < DIMS; i++)
            v[i] = (float)((i * 7 + seed * 13) % 29) - 14.0f + 0.5f;
        ck_assert_int_eq(mp_embed_vec_encode(v, DIMS, h, out, MP_EMBED_VEC_SIZE(DIMS), &n), MP_OK);
        return n;
    }
    memset(out, 0, MP_EMBED_VEC_SIZE(DIMS));
    out[0] = MP_EMBED_VEC_VERSION;
    out[1] = DIMS & 0xff;
    out[2] = DIMS >> 8;
    for (int i = 0; i < 8; i++)
        out[3 + i] = (unsigned char)(h >> (8 * i));
    float scale = 0.01f;
    memcpy(out + 11, &scale, 4); /* the machines the tests run on are little-endian */
    for (unsigned i = 0; i < DIMS; i++)
        out[MP_EMBED_VEC_HEAD + i] = (unsigned char)canary[i % strlen(canary)];
    return MP_EMBED_VEC_SIZE(DIMS);
}

static struct mp_vec_model model_of(const char *name)
{
    return (struct mp_vec_model){mp_embed_vec_model_hash(name, strlen(name)), DIMS};
}

/* PUT_VECTORS of items (kind, id) with model's records: the count written. */
static uint32_t put(struct mp_store *s, const char *user, size_t ulen, const char *model,
                    const struct mp_vec_item *items, size_t n, const char *canary)
{
    static unsigned char recs[8][MP_EMBED_VEC_SIZE(DIMS)];
    struct mp_store_vector v[8];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        v[i].item = items[i];
        v[i].rec = recs[i];
        v[i].len = make_rec(recs[i], model, (unsigned)(items[i].kind * 1000 + items[i].id), canary);
    }
    struct mp_op op = {.kind = MP_OP_PUT_VECTORS, .user = user, .user_len = ulen, .now_ms = T0};
    op.u.vectors.items = v;
    op.u.vectors.nitems = n;
    op.u.vectors.model = model_of(model);
    ck_assert_int_eq(fx_apply1(s, &op), MP_OK);
    return op.u.vectors.count;
}

/* The pending items of alice's for model (at most 16). */
static size_t pending(struct mp_store *s, const char *model, struct mp_vec_item *out)
{
    struct mp_vec_model m = model_of(model);
    struct mp_vec_pending *p = NULL;
    size_t n = 0;
    bool more = true;
    ck_assert_int_eq(mp_store_vectors_pending(s, U("alice"), &m, NULL, 16, &p, &n, &more), MP_OK);
    ck_assert(!more);
    for (size_t i = 0; i < n; i++)
        out[i] = p[i].item;
    mp_store_vectors_pending_free(p, n);
    uint64_t count = 0;
    ck_assert_int_eq(mp_store_vectors_pending_count(s, U("alice"), &m, &count), MP_OK);
    ck_assert_uint_eq(count, n);
    return n;
}

static uint64_t nvectors(struct mp_store *s, const char *user, size_t ulen)
{
    uint64_t n = 0, bytes = 0;
    ck_assert_int_eq(mp_store_vectors_size(s, user, ulen, &n, &bytes), MP_OK);
    return n;
}

/* alice: turn 1 "I live in Oslo" (seqs 1, 2) at T0, turn 2 "I like tea"
 * (3, 4) at T0 + 10, search keys on seq 1, fact city = Oslo: the fact's id. */
static uint64_t seed(struct mp_store *s)
{
    ck_assert_int_eq(fx_turn(s, U("alice"), 1, "I live in Oslo", "noted", T0, T0), MP_OK);
    ck_assert_int_eq(fx_turn(s, U("alice"), 2, "I like tea", "nice", T0 + 10, T0 + 10), MP_OK);
    struct mp_op k = {.kind = MP_OP_SET_MESSAGE_KEYS, .user = "alice", .user_len = 5, .now_ms = T0};
    k.u.keys.seq = 1;
    k.u.keys.text = "home, city";
    k.u.keys.text_len = strlen(k.u.keys.text);
    ck_assert_int_eq(fx_apply1(s, &k), MP_OK);
    ck_assert_int_eq(fx_upsert(s, U("alice"), "city", "Oslo", MP_TRUST_STATED, T0 + 20), MP_OK);
    struct mp_vec_item items[16];
    ck_assert_uint_eq(pending(s, "m1", items), 6);
    ck_assert_uint_eq(items[0].kind, MP_VEC_FACT);
    return items[0].id;
}

/* Vectors for every item of seed(): the fact, messages 1 to 4, keys of 1. */
static void put_all(struct mp_store *s, const char *model, uint64_t fid)
{
    struct mp_vec_item all[6] = {{MP_VEC_FACT, fid},  {MP_VEC_MESSAGE, 1}, {MP_VEC_MESSAGE, 2},
                                 {MP_VEC_MESSAGE, 3}, {MP_VEC_MESSAGE, 4}, {MP_VEC_KEYS, 1}};
    ck_assert_uint_eq(put(s, U("alice"), model, all, 6, NULL), 6);
}

static bool has_item(const struct mp_store_vecs *v, uint8_t kind, uint64_t id)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].kind == kind && v->items[i].id == id)
            return true;
    return false;
}

START_TEST(test_vectors_round_trip_bytes_equal_newest_first)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t fid = seed(s);
    put_all(s, "m1", fid);
    s = fx_reopen(s, _i);
    struct mp_vec_model m = model_of("m1");
    struct mp_store_vecs v;
    ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m, 100, &v), MP_OK);
    ck_assert_uint_eq(v.n, 6);
    ck_assert_uint_eq(v.dims, DIMS);
    ck_assert_uint_eq(v.items[0].kind, MP_VEC_FACT); /* observed last */
    for (size_t i = 1; i < v.n; i++)
        ck_assert_int_ge(v.at_ms[i - 1], v.at_ms[i]);
    for (size_t i = 0; i < v.n; i++) {
        unsigned char rec[MP_EMBED_VEC_SIZE(DIMS)];
        make_rec(rec, "m1", (unsigned)(v.items[i].kind * 1000 + v.items[i].id), NULL);
        struct mp_embed_vec ev;
        ck_assert_int_eq(mp_embed_vec_view(rec, sizeof(rec), &ev), MP_OK);
        ck_assert(memcmp(v.codes + i * DIMS, ev.codes, DIMS) == 0);
        ck_assert(v.scales[i] == ev.scale);
    }
    mp_store_vecs_cleanup(&v);
    /* a bound keeps the newest */
    ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m, 2, &v), MP_OK);
    ck_assert_uint_eq(v.n, 2);
    ck_assert(has_item(&v, MP_VEC_FACT, fid));
    ck_assert(has_item(&v, MP_VEC_MESSAGE, 3) || has_item(&v, MP_VEC_MESSAGE, 4));
    mp_store_vecs_cleanup(&v);
    /* another user reads none */
    ck_assert_int_eq(mp_store_vectors_read(s, U("bob"), &m, 10, &v), MP_OK);
    ck_assert_uint_eq(v.n, 0);
    mp_store_vecs_cleanup(&v);
    fx_close_backend(s, _i);
}
END_TEST

/* The decoded vector of an item put by put_all(), as a unit query. */
static void query_of(uint8_t kind, uint64_t id, float *q)
{
    unsigned char rec[MP_EMBED_VEC_SIZE(DIMS)];
    struct mp_embed_vec ev;
    make_rec(rec, "m1", (unsigned)(kind * 1000 + id), NULL);
    ck_assert_int_eq(mp_embed_vec_view(rec, sizeof(rec), &ev), MP_OK);
    mp_embed_vec_decode(&ev, q);
}

START_TEST(test_vectors_top_scores_in_place_best_first)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t fid = seed(s);
    put_all(s, "m1", fid);
    struct mp_vec_model m = model_of("m1");
    float q[DIMS];
    int16_t q16[DIMS];
    struct mp_embed_query eq;
    query_of(MP_VEC_MESSAGE, 3, q);
    ck_assert_int_eq(mp_embed_scan_query(q, DIMS, q16, &eq), MP_OK);
    struct mp_store_dense d;
    ck_assert_int_eq(mp_store_vectors_top(s, U("alice"), &m, &eq, 4, 100, 8, &d), MP_OK);
    ck_assert_uint_eq(d.scanned, 6);
    ck_assert(!d.capped);
    ck_assert_uint_eq(d.nfacts, 1);
    ck_assert_uint_eq(d.facts[0].item, fid);
    /* messages 1..4, the keys of 1 folded into 1: four turns, 3 first */
    ck_assert_uint_eq(d.nturns, 4);
    ck_assert_uint_eq(d.turns[0].item, 3);
    ck_assert_float_eq_tol(d.turns[0].sim, 1.0f, 1e-3f);
    for (size_t i = 1; i < d.nturns; i++)
        ck_assert(d.turns[i - 1].sim >= d.turns[i].sim);
    ck_assert_uint_eq(d.counted[1], 5);
    ck_assert(d.sd[1] > 0 && d.mean[1] < d.turns[0].sim);
    mp_store_dense_cleanup(&d);
    /* the ceiling: the fact, the newest keys (seq 1's are older: none),
       then the newest messages with all the keys left */
    ck_assert_int_eq(mp_store_vectors_top(s, U("alice"), &m, &eq, 4, 3, 8, &d), MP_OK);
    ck_assert(d.capped);
    ck_assert_uint_eq(d.scanned, 3);
    ck_assert_uint_eq(d.nfacts, 1);
    ck_assert_uint_eq(d.nturns, 2);
    ck_assert(d.turns[0].item >= 3 && d.turns[1].item >= 3);
    mp_store_dense_cleanup(&d);
    /* room for the keys of seq 1: they come first, the text of the newest after */
    ck_assert_int_eq(mp_store_vectors_top(s, U("alice"), &m, &eq, 4, 9, 8, &d), MP_OK);
    ck_assert(!d.capped);
    ck_assert_uint_eq(d.scanned, 6);
    mp_store_dense_cleanup(&d);
    /* another model's vectors are not scored; another user has none */
    struct mp_vec_model m2 = model_of("m2");
    ck_assert_int_eq(mp_store_vectors_top(s, U("alice"), &m2, &eq, 4, 100, 8, &d), MP_OK);
    ck_assert_uint_eq(d.scanned, 0);
    mp_store_dense_cleanup(&d);
    ck_assert_int_eq(mp_store_vectors_top(s, U("bob"), &m, &eq, 4, 100, 8, &d), MP_OK);
    ck_assert_uint_eq(d.nfacts + d.nturns, 0);
    mp_store_dense_cleanup(&d);
    ck_assert_int_eq(mp_store_vectors_top(s, U("alice"), &m, &eq, 4, 100, 0, &d), MP_EINVAL);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_vectors_pending_shrinks_as_vectors_are_put)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t fid = seed(s);
    struct mp_vec_item items[16];
    struct mp_vec_item two[2] = {{MP_VEC_MESSAGE, 2}, {MP_VEC_KEYS, 1}};
    ck_assert_uint_eq(put(s, U("alice"), "m1", two, 2, NULL), 2);
    ck_assert_uint_eq(pending(s, "m1", items), 4);
    struct mp_vec_item want[4] = {
        {MP_VEC_FACT, fid}, {MP_VEC_MESSAGE, 1}, {MP_VEC_MESSAGE, 3}, {MP_VEC_MESSAGE, 4}};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(items[i].kind, want[i].kind);
        ck_assert_uint_eq(items[i].id, want[i].id);
    }
    /* a page after an item, with its text */
    struct mp_vec_model m = model_of("m1");
    struct mp_vec_pending *p = NULL;
    size_t n = 0;
    bool more = false;
    struct mp_vec_item after = {MP_VEC_MESSAGE, 1};
    ck_assert_int_eq(mp_store_vectors_pending(s, U("alice"), &m, &after, 1, &p, &n, &more), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert(more);
    ck_assert_uint_eq(p[0].item.id, 3);
    ck_assert_str_eq(p[0].text, "I like tea");
    mp_store_vectors_pending_free(p, n);
    ck_assert_int_eq(mp_store_vectors_pending(s, U("alice"), &m, NULL, 1, &p, &n, &more), MP_OK);
    ck_assert_str_eq(p[0].key, "city");
    ck_assert_str_eq(p[0].text, "Oslo");
    mp_store_vectors_pending_free(p, n);
    /* an item that is not there gets no vector */
    struct mp_vec_item gone[2] = {{MP_VEC_MESSAGE, 99}, {MP_VEC_KEYS, 3}};
    ck_assert_uint_eq(put(s, U("alice"), "m1", gone, 2, NULL), 0);
    ck_assert_uint_eq(put(s, U("nobody"), "m1", gone, 1, NULL), 0);
    put_all(s, "m1", fid);
    ck_assert_uint_eq(pending(s, "m1", items), 0);
    uint64_t all = 9;
    ck_assert_int_eq(mp_store_vectors_pending_count(s, NULL, 0, &m, &all), MP_OK);
    ck_assert_uint_eq(all, 0);
    ck_assert_int_eq(fx_turn(s, U("bob"), 1, "hello", "hi", T0, T0), MP_OK);
    ck_assert_int_eq(mp_store_vectors_pending_count(s, NULL, 0, &m, &all), MP_OK);
    ck_assert_uint_eq(all, 2);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_vectors_model_change_makes_every_item_pending)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t fid = seed(s);
    put_all(s, "m1", fid);
    struct mp_vec_item items[16];
    ck_assert_uint_eq(pending(s, "m2", items), 6);
    struct mp_vec_model m1 = model_of("m1"), m2 = model_of("m2"), wide = {m1.hash, DIMS / 2};
    uint64_t c = 0;
    ck_assert_int_eq(mp_store_vectors_pending_count(s, U("alice"), &wide, &c), MP_OK);
    ck_assert_uint_eq(c, 6); /* other dimensions: not current either */
    struct mp_vec_item one[1] = {{MP_VEC_MESSAGE, 3}};
    ck_assert_uint_eq(put(s, U("alice"), "m2", one, 1, NULL), 1); /* replaces m1's */
    ck_assert_uint_eq(pending(s, "m2", items), 5);
    struct mp_op drop = {.kind = MP_OP_DROP_VECTORS, .user = "alice", .user_len = 5, .now_ms = T0};
    drop.u.vectors.model = m2;
    ck_assert_int_eq(fx_apply1(s, &drop), MP_OK);
    ck_assert_uint_eq(drop.u.vectors.count, 5);
    ck_assert_uint_eq(nvectors(s, U("alice")), 1);
    struct mp_store_vecs v;
    ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m1, 10, &v), MP_OK);
    ck_assert_uint_eq(v.n, 0);
    mp_store_vecs_cleanup(&v);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_vectors_op_is_checked)
{
    struct mp_store *s = fx_open_backend(_i);
    unsigned char rec[MP_EMBED_VEC_SIZE(DIMS)];
    struct mp_store_vector v = {{MP_VEC_MESSAGE, 1}, rec, make_rec(rec, "m1", 1, NULL)};
    struct mp_op op = {.kind = MP_OP_PUT_VECTORS, .user = "alice", .user_len = 5, .now_ms = T0};
    op.u.vectors.items = &v;
    op.u.vectors.nitems = 1;
    op.u.vectors.model = model_of("m2"); /* not the record's */
    ck_assert_int_eq(fx_apply1(s, &op), MP_EINVAL);
    op.u.vectors.model = model_of("m1");
    v.len--;
    ck_assert_int_eq(fx_apply1(s, &op), MP_EINVAL);
    v.len++;
    v.item.kind = MP_VEC_KINDS;
    ck_assert_int_eq(fx_apply1(s, &op), MP_EINVAL);
    v.item.kind = MP_VEC_MESSAGE;
    op.u.vectors.nitems = 0;
    ck_assert_int_eq(fx_apply1(s, &op), MP_EINVAL);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- erasure ---- */

START_TEST(test_vectors_go_with_a_deleted_message)
{
    struct mp_store *s = fx_open_backend(_i);
    put_all(s, "m1", seed(s));
    struct mp_op del = {.kind = MP_OP_DELETE_MESSAGE,
                        .user = "alice",
                        .user_len = 5,
                        .now_ms = T0 + 100,
                        .actor = MP_ACTOR_USER};
    del.u.seq = 3;
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    struct mp_vec_model m = model_of("m1");
    struct mp_store_vecs v;
    ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m, 100, &v), MP_OK);
    ck_assert_uint_eq(v.n, 5);
    ck_assert(!has_item(&v, MP_VEC_MESSAGE, 3));
    mp_store_vecs_cleanup(&v);
    fx_close_backend(s, _i);
}
END_TEST

/* Erasing the fact follows provenance: the turn that holds "Oslo" goes,
 * message and search keys, with every vector of theirs. */
START_TEST(test_vectors_go_with_a_deleted_fact_and_its_turn)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t fid = seed(s);
    put_all(s, "m1", fid);
    struct mp_op del = fx_delete_op(U("alice"), "city", MP_ACTOR_USER, T0 + 100);
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    ck_assert(!fx_keeps(s, U("alice"), 1));
    struct mp_vec_model m = model_of("m1");
    struct mp_store_vecs v;
    ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m, 100, &v), MP_OK);
    ck_assert(!has_item(&v, MP_VEC_FACT, fid));
    ck_assert(!has_item(&v, MP_VEC_MESSAGE, 1));
    ck_assert(!has_item(&v, MP_VEC_KEYS, 1));
    ck_assert(has_item(&v, MP_VEC_MESSAGE, 3));
    ck_assert_uint_eq(v.n, nvectors(s, U("alice")));
    mp_store_vecs_cleanup(&v);
    fx_close_backend(s, _i);
}
END_TEST

/* A superseded value is a new fact: the old value's vector goes. */
START_TEST(test_vectors_go_with_a_superseded_value)
{
    struct mp_store *s = fx_open_backend(_i);
    uint64_t fid = seed(s);
    put_all(s, "m1", fid);
    ck_assert_int_eq(fx_upsert(s, U("alice"), "city", "Bergen", MP_TRUST_STATED, T0 + 50), MP_OK);
    struct mp_vec_item items[16];
    ck_assert_uint_eq(pending(s, "m1", items), 1);
    ck_assert_uint_eq(items[0].kind, MP_VEC_FACT);
    ck_assert_uint_ne(items[0].id, fid);
    ck_assert_uint_eq(nvectors(s, U("alice")), 5);
    fx_close_backend(s, _i);
}
END_TEST

START_TEST(test_vectors_go_with_the_user_and_by_retention)
{
    struct mp_store *s = fx_open_backend(_i);
    put_all(s, "m1", seed(s));
    ck_assert_int_eq(fx_turn(s, U("bob"), 1, "hello", "hi", T0, T0), MP_OK);
    struct mp_vec_item b[1] = {{MP_VEC_MESSAGE, 1}};
    ck_assert_uint_eq(put(s, U("bob"), "m1", b, 1, NULL), 1);
    /* retention: turn 1 (T0) expires, turn 2 (T0 + 10) and the fact stay */
    struct mp_op sw = {
        .kind = MP_OP_SWEEP_USER, .user = "alice", .user_len = 5, .now_ms = T0 + 1005};
    sw.u.sweep.retention.max_age_ms = 1000;
    ck_assert_int_eq(fx_apply1(s, &sw), MP_OK);
    ck_assert_uint_eq(nvectors(s, U("alice")), 3);
    struct mp_op del = {.kind = MP_OP_DELETE_USER, .user = "alice", .user_len = 5, .now_ms = T0};
    ck_assert_int_eq(fx_apply1(s, &del), MP_OK);
    ck_assert_uint_eq(nvectors(s, U("alice")), 0);
    ck_assert_uint_eq(nvectors(s, U("bob")), 1);
    ck_assert_uint_eq(nvectors(s, NULL, 0), 1);
    fx_close_backend(s, _i);
}
END_TEST

/* ---- disk ---- */

#define CANARY "VECTORCANARYCODES"

/* LMDB: clear, the codes are on disk as they are; sealed, not a trace,
 * and each value is MP_SEAL_OVERHEAD longer. */
START_TEST(test_vectors_sealed_on_disk)
{
    uint64_t bytes[2];
    for (int sealed = 0; sealed < 2; sealed++) {
        struct mp_store *s = sealed ? fx_open_sealed() : fx_open_backend(LMDB);
        ck_assert_int_eq(fx_turn(s, U("alice"), 1, "I live in Oslo", "noted", T0, T0), MP_OK);
        struct mp_vec_item one[1] = {{MP_VEC_MESSAGE, 1}};
        ck_assert_uint_eq(put(s, U("alice"), "m1", one, 1, CANARY), 1);
        s = fx_reopen(s, LMDB);
        uint64_t n = 0;
        ck_assert_int_eq(mp_store_vectors_size(s, U("alice"), &n, &bytes[sealed]), MP_OK);
        ck_assert_uint_eq(n, 1);
        ck_assert(fx_dir_has(CANARY) == !sealed);
        struct mp_vec_model m = model_of("m1");
        struct mp_store_vecs v;
        ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m, 10, &v), MP_OK);
        ck_assert_uint_eq(v.n, 1);
        ck_assert(memcmp(v.codes, CANARY, strlen(CANARY)) == 0);
        mp_store_vecs_cleanup(&v);
        fx_close_backend(s, LMDB);
    }
    /* keys: "alice" clear (2 + 5 + 9), hashed sealed (2 + 33 + 9) */
    ck_assert_uint_eq(bytes[0], 16 + MP_STORE_VEC_VALUE_HEAD + MP_EMBED_VEC_SIZE(DIMS));
    ck_assert_uint_eq(bytes[1],
                      44 + MP_STORE_VEC_VALUE_HEAD + MP_EMBED_VEC_SIZE(DIMS) + MP_SEAL_OVERHEAD);
}
END_TEST

/* A clear LMDB store sealed by a rewrite (and compacted): its vectors
 * read back, the codes no longer on disk in clear. */
START_TEST(test_vectors_through_compaction_and_sealing)
{
    struct mp_store *s = fx_open_backend(LMDB);
    ck_assert_int_eq(fx_turn(s, U("alice"), 1, "I live in Oslo", "noted", T0, T0), MP_OK);
    struct mp_vec_item one[1] = {{MP_VEC_MESSAGE, 2}};
    ck_assert_uint_eq(put(s, U("alice"), "m1", one, 1, CANARY), 1);
    fx_compact(s);
    ck_assert(fx_dir_has(CANARY));
    mp_store_free(s);
    fx_rekey(NULL, &fx_key_a);
    fx_opts.key = &fx_key_a;
    s = fx_open_existing();
    struct mp_vec_model m = model_of("m1");
    struct mp_store_vecs v;
    ck_assert_int_eq(mp_store_vectors_read(s, U("alice"), &m, 10, &v), MP_OK);
    ck_assert_uint_eq(v.n, 1);
    ck_assert_uint_eq(v.items[0].id, 2);
    ck_assert(memcmp(v.codes, CANARY, strlen(CANARY)) == 0);
    mp_store_vecs_cleanup(&v);
    mp_store_free(s);
    ck_assert(!fx_dir_has(CANARY));
    fx_remove_dir();
}
END_TEST

/* The store's size (LMDB's pages in use, measured compacted: no free
 * page of earlier writes taken back) holds the vectors. */
START_TEST(test_vectors_counted_in_the_store_size)
{
    struct mp_store *s = fx_open_sized(LMDB, 4u << 20, 0);
    for (uint8_t t = 1; t <= 64; t++)
        ck_assert_int_eq(fx_turn(s, U("alice"), t, "a message", "a reply", T0 + t, T0 + t), MP_OK);
    struct mp_store_stats before, after;
    fx_compact(s);
    ck_assert_int_eq(mp_store_stats(s, &before), MP_OK);
    for (uint64_t seq = 1; seq <= 128; seq += 8) {
        struct mp_vec_item items[8];
        for (uint64_t j = 0; j < 8; j++)
            items[j] = (struct mp_vec_item){MP_VEC_MESSAGE, seq + j};
        ck_assert_uint_eq(put(s, U("alice"), "m1", items, 8, NULL), 8);
    }
    fx_compact(s);
    ck_assert_int_eq(mp_store_stats(s, &after), MP_OK);
    uint64_t n = 0, bytes = 0;
    ck_assert_int_eq(mp_store_vectors_size(s, NULL, 0, &n, &bytes), MP_OK);
    ck_assert_uint_eq(n, 128);
    ck_assert_uint_ge(after.map_used, before.map_used + bytes);
    fx_close_backend(s, LMDB);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_vectors");
    TCase *tc = tcase_create("vectors");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, fx_setup_keys, NULL);
    tcase_add_loop_test(tc, test_vectors_round_trip_bytes_equal_newest_first, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_top_scores_in_place_best_first, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_pending_shrinks_as_vectors_are_put, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_model_change_makes_every_item_pending, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_op_is_checked, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_go_with_a_deleted_message, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_go_with_a_deleted_fact_and_its_turn, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_go_with_a_superseded_value, 0, FX_BACKENDS);
    tcase_add_loop_test(tc, test_vectors_go_with_the_user_and_by_retention, 0, FX_BACKENDS);
    tcase_add_test(tc, test_vectors_sealed_on_disk);
    tcase_add_test(tc, test_vectors_through_compaction_and_sealing);
    tcase_add_test(tc, test_vectors_counted_in_the_store_size);
    suite_add_tcase(s, tc);
    return s;
}
