/* The heads of common terms (storage/ops/heads.h), on every backend:
 * what a head holds against the postings it stands for, kept through every
 * store op (import, search keys, message deletion, fact upsert and
 * supersede, erasure, sweep, compaction, rekey, user deletion), built for a
 * store of an older format, and the view's read of a common term through
 * it: the same postings as ranking every posting of the term, the work
 * bounded also for a history made to leave a term without a head.
 *
 * Histories are generated (a seeded generator, several shapes): messages
 * over a small vocabulary of common words with skewed frequencies and
 * counts, and fillers of varying number, so that lengths and impacts
 * vary. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/heads.h"
#include "heads_check.h"
#include "ops/index.h"
#include "recall/relevance.h"
#include "status.h"
#include "ops/store.h"
#include "ops/store_backend.h"
#include "store_fixture.h"
#include "view_probe.h"

#define DAY   (24LL * 3600 * 1000)
#define START (19500LL * DAY) /* 2023 */

/* The common words, each in a share of the messages (per mille). */
static const char *const common[] = {"kayak", "otter", "lantern", "meadow", "harbor", "falcon"};
static const unsigned share[] = {950, 800, 600, 420, 250, 60};
#define NCOMMON (sizeof(common) / sizeof(common[0]))

static const char *const fillers[] = {"river",  "stone",  "bread",  "cloud",  "window", "garden",
                                      "pencil", "candle", "mirror", "bottle", "ladder", "basket",
                                      "carpet", "orange", "saddle", "button", "hammer", "pillow",
                                      "rocket", "violin", "tunnel", "marble", "copper", "velvet"};
#define NFILLERS (sizeof(fillers) / sizeof(fillers[0]))

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13; /* xorshift64 */
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* A message of shape: the common words it holds (some twice or three
 * times), among 0 .. 3 + 9 * shape fillers; shape -1: "kayak" and one
 * filler. */
static void make_text(char *out, size_t cap, int shape)
{
    size_t n = 0;
    out[0] = '\0';
    if (shape < 0) { /* the shortest: the word and one other */
        snprintf(out, cap, "kayak %s", fillers[rnd(NFILLERS)]);
        return;
    }
    for (size_t w = 0; w < NCOMMON; w++) {
        if (rnd(1000) >= share[w])
            continue;
        unsigned times = 1 + (rnd(4) == 0) + (rnd(8) == 0);
        for (unsigned t = 0; t < times; t++)
            n += (size_t)snprintf(out + n, cap - n, "%s ", common[w]);
    }
    unsigned nf = rnd(4 + 9 * (unsigned)shape);
    for (unsigned f = 0; f < nf; f++)
        n += (size_t)snprintf(out + n, cap - n, "%s ", fillers[rnd(NFILLERS)]);
    n += (size_t)snprintf(out + n, cap - n, "end");
}

/* Imports n generated messages of shape for user, in batches of one
 * transaction each, at one a minute from *at (which moves on); next_seq is
 * the seq the first one gets. avoid_term: when not NULL, a message whose
 * add of that term the store would sample (heads.h) is "otter end"
 * instead, so that the term gets no head (a history made to defeat
 * them). */
static void import_messages(struct mp_store *store, const char *user, size_t ulen, size_t n,
                            int shape, int64_t *at, const char *avoid_term, uint64_t next_seq)
{
    enum { BATCH = 200 };
    static char texts[BATCH][1024];
    struct mp_mem_message m[BATCH];
    struct mp_op ops[BATCH];
    for (size_t done = 0; done < n;) {
        size_t b = n - done < BATCH ? n - done : BATCH;
        for (size_t i = 0; i < b; i++) {
            make_text(texts[i], sizeof(texts[i]), shape);
            uint64_t seq = next_seq + done + i;
            if (avoid_term != NULL && mp_heads_sampled(store, MP_CODEC_KIND_MESSAGE, avoid_term,
                                                       strlen(avoid_term), (uint32_t)seq))
                snprintf(texts[i], sizeof(texts[i]), "%s", "otter end");
            m[i] = fx_msg(i % 2 ? MP_ROLE_ASSISTANT : MP_ROLE_USER, texts[i], *at);
            *at += 60 * 1000;
            ops[i] = (struct mp_op){.kind = MP_OP_IMPORT_MESSAGE, .user = user, .user_len = ulen};
            ops[i].now_ms = *at;
            ops[i].u.turn.messages = &m[i];
            ops[i].u.turn.nmessages = 1;
        }
        ck_assert_int_eq(mp_store_apply(store, ops, b), MP_OK);
        for (size_t i = 0; i < b; i++)
            ck_assert_int_eq(ops[i].result, MP_OK);
        done += b;
    }
}

/* ---- what a head must hold (heads_check.h) ---- */

/* hc_check_term() of word (kind), and a head for a word held twice as
 * often as a count builds one (the generated histories never starve a
 * common word of sampled adds): true when the view read it through its
 * head. */
static bool check_word(struct mp_store *store, const char *user, size_t ulen,
                       enum mp_codec_kind kind, const char *word)
{
    char term[MP_TERMS_MAX + 1], why[256];
    struct hc_found f;
    size_t tlen = strlen(vp_term_of(word, term));
    ck_assert_msg(hc_check_term(store, user, ulen, kind, term, tlen, 0, 0, &f, why, sizeof(why)),
                  "%s", why);
    if (f.postings >= 2 * MP_HEADS_BUILD_AT)
        ck_assert_msg(f.head, "%s: held %zu times, no head", word, f.postings);
    return f.through_head;
}

/* check_word() for every common word of kind: how many the view read
 * through their heads. */
static size_t check_words(struct mp_store *store, const char *user, size_t ulen,
                          enum mp_codec_kind kind)
{
    size_t through = 0;
    for (size_t w = 0; w < NCOMMON; w++)
        through += check_word(store, user, ulen, kind, common[w]);
    return through;
}

static size_t head_records(struct mp_store *store, const char *user, size_t ulen)
{
    size_t n = hc_head_records(store, user, ulen);
    ck_assert_uint_ne(n, SIZE_MAX);
    return n;
}

/* Up to KEYS_MAX keys of a scan (the rest are left for the next one). */
#define KEYS_MAX 64
struct key_batch {
    unsigned char k[KEYS_MAX][MP_STORE_KEY_MAX];
    size_t klen[KEYS_MAX];
    size_t n;
};

static int on_key(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    struct key_batch *b = arg;
    (void)val;
    (void)vlen;
    ck_assert_uint_le(klen, MP_STORE_KEY_MAX);
    memcpy(b->k[b->n], key, klen);
    b->klen[b->n] = klen;
    return ++b->n < KEYS_MAX ? MP_OK : MP_STORE_SCAN_STOP;
}

/* Deletes every record of the user's heads (a store before heads). */
static void drop_heads(struct mp_store *store, const char *user, size_t ulen)
{
    struct mp_store_txn txn;
    unsigned char prefix[MP_STORE_USER_PREFIX_MAX];
    size_t plen = mp_store_backend_user_prefix(store, prefix, user, ulen);
    for (;;) {
        struct key_batch b = {0};
        ck_assert_int_eq(store->be->begin(store, false, &txn), MP_OK);
        ck_assert_int_eq(store->be->scan(&txn, MP_TABLE_HEADS, prefix, plen, plen, on_key, &b),
                         MP_OK);
        store->be->end(&txn, false);
        if (b.n == 0)
            break;
        ck_assert_int_eq(store->be->begin(store, true, &txn), MP_OK);
        for (size_t i = 0; i < b.n; i++)
            ck_assert_int_eq(store->be->del(&txn, MP_TABLE_HEADS, b.k[i], b.klen[i]), MP_OK);
        ck_assert_int_eq(store->be->end(&txn, true), MP_OK);
    }
    ck_assert_uint_eq(head_records(store, user, ulen), 0);
}

/* Writes the store's format number (4 bytes, little-endian). */
static void set_format(struct mp_store *store, const char *version)
{
    struct mp_store_txn txn;
    ck_assert_int_eq(store->be->begin(store, true, &txn), MP_OK);
    ck_assert_int_eq(store->be->put(&txn, MP_TABLE_META, "format", 6, version, 4), MP_OK);
    ck_assert_int_eq(store->be->end(&txn, true), MP_OK);
}

/* ---- ops ---- */

static void set_keys(struct mp_store *store, const char *user, size_t ulen, uint64_t seq,
                     const char *keys)
{
    struct mp_op op = {.kind = MP_OP_SET_MESSAGE_KEYS, .user = user, .user_len = ulen};
    op.now_ms = START;
    op.u.keys.seq = seq;
    op.u.keys.text = keys;
    op.u.keys.text_len = strlen(keys);
    int rc = fx_apply1(store, &op);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND); /* a message deleted before */
}

static void delete_message(struct mp_store *store, const char *user, size_t ulen, uint64_t seq)
{
    struct mp_op op = {.kind = MP_OP_DELETE_MESSAGE, .user = user, .user_len = ulen};
    op.now_ms = START;
    op.actor = MP_ACTOR_USER;
    op.u.seq = seq;
    int rc = fx_apply1(store, &op);
    ck_assert(rc == MP_OK || rc == MP_NOTFOUND);
}

/* n facts "f<i>" of generated values, from first on, observed from *at. */
static void upsert_facts(struct mp_store *store, const char *user, size_t ulen, unsigned first,
                         unsigned n, int64_t *at)
{
    enum { BATCH = 100 };
    static char values[BATCH][512], keys[BATCH][16];
    struct mp_op ops[BATCH];
    for (unsigned done = 0; done < n;) {
        unsigned b = n - done < BATCH ? n - done : BATCH;
        for (unsigned i = 0; i < b; i++) {
            make_text(values[i], sizeof(values[i]), 0);
            snprintf(keys[i], sizeof(keys[i]), "f%u", first + done + i);
            *at += 60 * 1000;
            ops[i] = fx_upsert_op(user, ulen, keys[i], values[i], MP_TRUST_STATED, *at);
        }
        ck_assert_int_eq(mp_store_apply(store, ops, b), MP_OK);
        done += b;
    }
}

/* ---- the tests ---- */

/* A history's heads hold what they stand for after each op that changes
 * its postings, and the view reads a common word through its head as
 * ranking every posting would: imports (the heads built, their tails
 * taken in), search keys, deletions (a head losing entries, built again),
 * facts upserted and superseded, erasure of a fact with its messages, a
 * retention sweep, and the user's deletion (no record left). Three
 * shapes of lengths, one per seed (LMDB: the middle one, for time; the
 * upkeep is the op layer's). The in-memory store and LMDB: the
 * upkeep is the op layer's, the same over every backend
 * (test_heads_on_postgresql: PostgreSQL's writes are too slow for it). */
START_TEST(test_heads_hold_their_postings_through_every_op)
{
    for (int shape = _i == MEM ? 0 : 1; shape < (_i == MEM ? 3 : 2); shape++) {
        struct mp_store *store = fx_open_sized(_i, 64u << 20, 0);
        int64_t at = START;
        rng_state = 0x9e3779b97f4a7c15ULL * (uint64_t)(shape + 1);
        import_messages(store, U("ann"), 1300, shape, &at, NULL, 1);
        ck_assert_uint_ge(check_words(store, U("ann"), MP_CODEC_KIND_MESSAGE), 2);
        for (int i = 0; i < 60; i++) /* search keys on old messages: rewrites */
            set_keys(store, U("ann"), 1 + rnd(1300), i % 2 ? "kayak, meadow trip" : "otter");
        check_words(store, U("ann"), MP_CODEC_KIND_MESSAGE);
        for (int i = 0; i < 200; i++) /* deletions: heads lose entries */
            delete_message(store, U("ann"), 1 + rnd(1300));
        check_words(store, U("ann"), MP_CODEC_KIND_MESSAGE);
        import_messages(store, U("ann"), 400, shape, &at, NULL, 1301); /* tails, rebuilds */
        ck_assert_uint_ge(check_words(store, U("ann"), MP_CODEC_KIND_MESSAGE), 2);
        upsert_facts(store, U("ann"), 0, 1000, &at);
        upsert_facts(store, U("ann"), 0, 200, &at); /* superseded: new ids */
        ck_assert_uint_ge(check_words(store, U("ann"), MP_CODEC_KIND_FACT), 1);
        struct mp_op del = fx_delete_op(U("ann"), "f7", MP_ACTOR_USER, at); /* erasure */
        ck_assert_int_eq(fx_apply1(store, &del), MP_OK);
        check_words(store, U("ann"), MP_CODEC_KIND_FACT);
        check_words(store, U("ann"), MP_CODEC_KIND_MESSAGE);
        struct mp_op sweep = {.kind = MP_OP_SWEEP_USER, .user = "ann", .user_len = 3};
        sweep.now_ms = START + 2 * DAY + 12 * 3600 * 1000LL;
        sweep.u.sweep.retention.max_age_ms = 2 * DAY; /* the first half day's messages */
        ck_assert_int_eq(fx_apply1(store, &sweep), MP_OK);
        ck_assert_uint_gt(sweep.u.sweep.counts.messages, 500);
        check_words(store, U("ann"), MP_CODEC_KIND_MESSAGE);
        check_words(store, U("ann"), MP_CODEC_KIND_FACT);
        ck_assert_uint_gt(head_records(store, U("ann")), 0);
        struct mp_op gone = {.kind = MP_OP_DELETE_USER, .user = "ann", .user_len = 3};
        gone.now_ms = at;
        ck_assert_int_eq(fx_apply1(store, &gone), MP_OK);
        ck_assert_uint_eq(head_records(store, U("ann")), 0);
        fx_close_backend(store, _i);
    }
}
END_TEST

/* Compaction and rekey (clear to sealed, whose keys are tags) carry the
 * heads over: the same checks hold, and the view reads as before. */
START_TEST(test_heads_survive_compaction_and_rekey)
{
    struct mp_store *store = fx_open_sized(LMDB, 64u << 20, 0);
    int64_t at = START;
    rng_state = 77;
    import_messages(store, U("bo"), 1300, 1, &at, NULL, 1);
    char term[MP_TERMS_MAX + 1];
    size_t tlen = strlen(vp_term_of("kayak", term));
    struct hc_term before, after;
    ck_assert_int_eq(hc_read_term(store, U("bo"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &before),
                     MP_OK);
    ck_assert_uint_gt(check_words(store, U("bo"), MP_CODEC_KIND_MESSAGE), 1);
    fx_compact(store);
    ck_assert_uint_gt(check_words(store, U("bo"), MP_CODEC_KIND_MESSAGE), 1);
    mp_store_free(store);
    fx_rekey(NULL, &fx_key_a);
    fx_opts.key = &fx_key_a;
    store = fx_open_existing();
    ck_assert_uint_gt(check_words(store, U("bo"), MP_CODEC_KIND_MESSAGE), 1);
    ck_assert_int_eq(hc_read_term(store, U("bo"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &after),
                     MP_OK);
    ck_assert_uint_eq(after.view_df, before.view_df);
    ck_assert_uint_eq(after.view.n, before.view.n);
    for (size_t i = 0; i < after.view.n; i++)
        ck_assert(hc_same_posting(&after.view.p[i], &before.view.p[i]));
    hc_term_free(&before);
    hc_term_free(&after);
    fx_close_backend(store, LMDB);
    fx_opts.key = NULL;
}
END_TEST

/* A store of format 5 (no heads) gets them built at open: the records a
 * store of this format would hold, the view reading through them. */
START_TEST(test_heads_built_for_a_store_of_format_5)
{
    struct mp_store *store = fx_open_sized(LMDB, 64u << 20, 0);
    struct mp_store_txn txn;
    int64_t at = START;
    rng_state = 5;
    import_messages(store, U("cy"), 1300, 2, &at, NULL, 1);
    upsert_facts(store, U("cy"), 0, 900, &at);
    ck_assert_uint_gt(head_records(store, U("cy")), 0);
    drop_heads(store, U("cy")); /* as format 5 left it */
    set_format(store, "\x05\x00\x00\x00");
    store = fx_reopen(store, LMDB);
    const unsigned char *v;
    size_t n;
    ck_assert_int_eq(store->be->begin(store, false, &txn), MP_OK);
    ck_assert_int_eq(store->be->get(&txn, MP_TABLE_META, "format", 6, &v, &n), MP_OK);
    ck_assert_mem_eq(v, "\x0c\x00\x00\x00", 4);
    store->be->end(&txn, false);
    ck_assert_uint_gt(head_records(store, U("cy")), 0);
    ck_assert_uint_ge(check_words(store, U("cy"), MP_CODEC_KIND_MESSAGE), 2);
    ck_assert_uint_ge(check_words(store, U("cy"), MP_CODEC_KIND_FACT), 1);
    fx_close_backend(store, LMDB);
}
END_TEST

/* The ceiling: a history made to leave its most common word without a
 * head (the word only in messages the store does not sample), or with a
 * tail too long to read (added after its head so that no add takes it
 * in), is read through the view's sample: at most five samples' postings
 * for the word, whatever its df. */
START_TEST(test_heads_a_history_that_defeats_them_keeps_the_ceiling)
{
    char term[MP_TERMS_MAX + 1];
    size_t tlen = strlen(vp_term_of("kayak", term));
    uint64_t bound = 5 * (uint64_t)MP_RELEVANCE_SAMPLE + 2;
    struct mp_store *store = fx_open_sized(_i, 64u << 20, 0);
    int64_t at = START;
    rng_state = 11;
    import_messages(store, U("dee"), 1600, 0, &at, term, 1); /* never sampled */
    struct hc_term t;
    ck_assert_int_eq(hc_read_term(store, U("dee"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert(!t.found);
    ck_assert_uint_gt(t.all.n, MP_RELEVANCE_SAMPLE + 256);
    ck_assert_uint_le(t.view_read, bound);
    ck_assert_uint_eq(t.view.n, MP_RELEVANCE_SAMPLE); /* the sample */
    hc_term_free(&t);
    /* a head, then a tail past what a reader reads */
    import_messages(store, U("eve"), 1300, 0, &at, NULL, 1);
    ck_assert_int_eq(hc_read_term(store, U("eve"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert(t.found && t.r.head);
    hc_term_free(&t);
    import_messages(store, U("eve"), 400, 0, &at, term, 1301);
    ck_assert_int_eq(hc_read_term(store, U("eve"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert_uint_le(t.view_read, bound + MP_HEADS_KEEP + MP_HEADS_TAIL_MAX + 1);
    ck_assert_uint_eq(t.view.n, MP_RELEVANCE_SAMPLE);
    hc_term_free(&t);
    fx_close_backend(store, _i);
}
END_TEST

/* PostgreSQL keeps and reads the heads as the other backends (the upkeep
 * is theirs: the tests above): a short history whose every message holds
 * the word, its head built by the adds and again by the conversion of a
 * store of format 5, the view reading the word through it. */
START_TEST(test_heads_on_postgresql)
{
    struct mp_store *store = fx_open_sized(PG, 0, 0);
    char term[MP_TERMS_MAX + 1];
    size_t tlen = strlen(vp_term_of("kayak", term));
    int64_t at = START;
    rng_state = 3;
    import_messages(store, U("pat"), 1100, -1, &at, NULL, 1);
    ck_assert(check_word(store, U("pat"), MP_CODEC_KIND_MESSAGE, "kayak"));
    drop_heads(store, U("pat"));
    struct hc_term t;
    ck_assert_int_eq(hc_read_term(store, U("pat"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert_uint_eq(t.view.n, MP_RELEVANCE_SAMPLE); /* no head: the sample */
    hc_term_free(&t);
    set_format(store, "\x05\x00\x00\x00");
    store = fx_reopen(store, PG);
    ck_assert(check_word(store, U("pat"), MP_CODEC_KIND_MESSAGE, "kayak"));
    fx_close_backend(store, PG);
}
END_TEST

/* A head that removals left with fewer entries than a read takes, while
 * more items hold its word, is not read (its best are no longer all in it:
 * the word is read through the sample) until a sampled add builds it
 * again; and a head's entries stay the best of what it covers. Every
 * message is "kayak" and one other word, so the mean length never moves
 * (heads_check.h: HC_ENTRIES_BEST). */
START_TEST(test_heads_a_head_removals_left_short_is_not_read)
{
    struct mp_store *store = fx_open_sized(_i, 64u << 20, 0);
    char term[MP_TERMS_MAX + 1], why[256];
    size_t tlen = strlen(vp_term_of("kayak", term));
    int64_t at = START;
    struct hc_term t;
    struct hc_found f;
    rng_state = 21;
    import_messages(store, U("gus"), 1300, -1, &at, NULL, 1);
    ck_assert_int_eq(hc_read_term(store, U("gus"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert(t.r.head && t.r.n > MP_HEADS_READ && t.r.count > t.r.n);
    uint32_t drop = t.r.n - MP_HEADS_READ + 1, ids[MP_HEADS_KEEP];
    for (uint32_t i = 0; i < drop; i++)
        ids[i] = t.r.p[i].item; /* a message's item is its seq */
    hc_term_free(&t);
    for (uint32_t i = 0; i < drop; i++)
        delete_message(store, U("gus"), ids[i]);
    ck_assert(hc_check_term(store, U("gus"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, HC_ENTRIES_BEST,
                            &f, why, sizeof(why)));
    ck_assert(f.head && !f.through_head);
    ck_assert_int_eq(hc_read_term(store, U("gus"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert_uint_eq(t.r.n, MP_HEADS_READ - 1);
    ck_assert_uint_eq(t.view.n, MP_RELEVANCE_SAMPLE); /* the sample, not the head */
    hc_term_free(&t);
    import_messages(store, U("gus"), 200, -1, &at, NULL, 1301); /* a sampled add rebuilds it */
    ck_assert_msg(hc_check_term(store, U("gus"), MP_CODEC_KIND_MESSAGE, term, tlen, 0,
                                HC_ENTRIES_BEST, &f, why, sizeof(why)),
                  "%s", why);
    ck_assert(f.through_head);
    fx_close_backend(store, _i);
}
END_TEST

/* How many more than cap items hold word by a fresh view's df_upto
 * (0: at most cap), and *read the postings it read for that. */
static uint32_t bounded_df(struct mp_store *store, const char *user, size_t ulen, const char *word,
                           uint32_t cap, uint64_t *read)
{
    char term[MP_TERMS_MAX + 1];
    struct mp_store_view *v;
    struct mp_relevance_index ix;
    ck_assert_int_eq(mp_store_view_open(store, user, ulen, &v), MP_OK);
    mp_store_view_index(v, false, &ix);
    ck_assert_uint_lt(cap, ix.sample); /* below the sample: read whole or not at all */
    uint32_t df = ix.df_upto(ix.ctx, term, strlen(vp_term_of(word, term)), cap);
    *read = mp_store_view_postings_read(v);
    mp_store_view_close(v);
    return df;
}

/* A bounded df (feedback's: is a word held by more than 128 items?) of a
 * word with a head reads MP_HEADS_COUNT_AT of its postings and answers
 * from the head's count; a word without one is read to cap + 1, a rarer
 * one whole, as without heads; the answers are what reading every
 * posting gives. */
START_TEST(test_heads_count_answers_a_bounded_df)
{
    struct mp_store *store = fx_open_sized(_i, 64u << 20, 0);
    int64_t at = START;
    uint64_t read;
    uint32_t cap = 128, with_head = 0;
    rng_state = 13;
    import_messages(store, U("hal"), 1300, 0, &at, NULL, 1);
    for (size_t w = 0; w < NCOMMON; w++) {
        char term[MP_TERMS_MAX + 1];
        struct hc_term t;
        size_t tlen = strlen(vp_term_of(common[w], term));
        ck_assert_int_eq(hc_read_term(store, U("hal"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                         MP_OK);
        uint32_t df = bounded_df(store, U("hal"), common[w], cap, &read);
        if (t.all.n <= cap) { /* whole */
            ck_assert_uint_eq(df, t.all.n);
            ck_assert_uint_eq(read, t.all.n);
        } else if (t.r.head && t.r.count > cap) { /* the head's count */
            ck_assert_uint_gt(df, cap);
            ck_assert_uint_le(read, MP_HEADS_COUNT_AT);
            with_head++;
        } else { /* no head that answers: cap + 1 */
            ck_assert_uint_gt(df, cap);
            ck_assert_uint_le(read, cap + 1);
        }
        hc_term_free(&t);
    }
    ck_assert_uint_ge(with_head, 2); /* kayak, otter, ... */
    drop_heads(store, U("hal"));     /* no head answers: read to cap + 1 */
    ck_assert_uint_gt(bounded_df(store, U("hal"), "kayak", cap, &read), cap);
    ck_assert_uint_eq(read, cap + 1);
    ck_assert_uint_eq(bounded_df(store, U("hal"), "zanzibarite", cap, &read), 0);
    fx_close_backend(store, _i);
}
END_TEST

/* Erasure leaves no record keyed by a word no item holds any more: a
 * word counted once (its one add sampled), its message deleted. */
START_TEST(test_heads_an_erased_word_leaves_no_record)
{
    struct mp_store *store = fx_open_backend(_i);
    char term[MP_TERMS_MAX + 1];
    size_t tlen = strlen(vp_term_of("zanzibarite", term));
    uint32_t seq = 1;
    while (!mp_heads_sampled(store, MP_CODEC_KIND_MESSAGE, term, tlen, seq))
        seq++;
    for (uint32_t i = 1; i <= seq; i++) {
        struct mp_mem_message m =
            fx_msg(MP_ROLE_USER, i == seq ? "zanzibarite end" : "otter end", START + i);
        struct mp_op op = {.kind = MP_OP_IMPORT_MESSAGE, .user = "fay", .user_len = 3};
        op.now_ms = START + i;
        op.u.turn.messages = &m;
        op.u.turn.nmessages = 1;
        ck_assert_int_eq(fx_apply1(store, &op), MP_OK);
    }
    struct hc_term t;
    ck_assert_int_eq(hc_read_term(store, U("fay"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert(t.found && !t.r.head); /* counted */
    hc_term_free(&t);
    delete_message(store, U("fay"), seq);
    ck_assert_int_eq(hc_read_term(store, U("fay"), MP_CODEC_KIND_MESSAGE, term, tlen, 0, &t),
                     MP_OK);
    ck_assert(!t.found);
    hc_term_free(&t);
    fx_close_backend(store, _i);
}
END_TEST

/* The record's codec: what a head writes reads back; a record of another
 * shape is refused. */
START_TEST(test_heads_record_decode_refuses_other_shapes)
{
    struct mp_heads_record r;
    static const unsigned char counter[5] = {0, 48, 0, 0, 0};
    ck_assert_int_eq(mp_heads_decode(counter, sizeof(counter), &r), MP_OK);
    ck_assert(!r.head);
    ck_assert_uint_eq(r.count, 48);
    static const unsigned char bad_type[5] = {2, 48, 0, 0, 0};
    ck_assert_int_eq(mp_heads_decode(bad_type, sizeof(bad_type), &r), MP_EIO);
    static const unsigned char short_head[11 + 12] = {1, 9, 0, 0, 0, 9, 0, 0, 0, 1, 0};
    ck_assert_int_eq(mp_heads_decode(short_head, sizeof(short_head), &r), MP_EIO);
    static const unsigned char head[11 + 13] = {1, 9, 0, 0, 0, 7, 0, 0, 0, 1, 0, 7,
                                                0, 0, 0, 2, 0, 1, 0, 3, 5, 0, 0, 0};
    ck_assert_int_eq(mp_heads_decode(head, sizeof(head), &r), MP_OK);
    ck_assert(r.head);
    ck_assert_uint_eq(r.count, 9);
    ck_assert_uint_eq(r.covered, 7);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.p[0].item, 7);
    ck_assert_uint_eq(r.p[0].tc, 2);
    ck_assert_uint_eq(r.p[0].tk, 1);
    ck_assert_uint_eq(r.p[0].td, 1);
    ck_assert_uint_eq(r.p[0].ts, 1);
    ck_assert_uint_eq(r.p[0].len, 5);
    ck_assert(r.p[0].has_len);
    free(r.p);
}
END_TEST

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("store_heads");
    TCase *tc = tcase_create("heads");
    tcase_add_unchecked_fixture(tc, vp_setup, vp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_heads_hold_their_postings_through_every_op, MEM, PG);
    tcase_add_test(tc, test_heads_on_postgresql);
    tcase_add_test(tc, test_heads_survive_compaction_and_rekey);
    tcase_add_test(tc, test_heads_built_for_a_store_of_format_5);
    tcase_add_loop_test(tc, test_heads_a_history_that_defeats_them_keeps_the_ceiling, MEM, PG);
    tcase_add_loop_test(tc, test_heads_a_head_removals_left_short_is_not_read, MEM, PG);
    tcase_add_loop_test(tc, test_heads_count_answers_a_bounded_df, MEM, PG);
    tcase_add_loop_test(tc, test_heads_an_erased_word_leaves_no_record, 0, FX_BACKENDS);
    tcase_add_test(tc, test_heads_record_decode_refuses_other_shapes);
    suite_add_tcase(s, tc);
    return s;
}
