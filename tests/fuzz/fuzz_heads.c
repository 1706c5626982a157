/* libFuzzer target for the heads of common terms (storage/ops/heads.h):
 * the input is a history of store ops on one user of an in-memory store
 * (messages imported, search keys set, messages deleted, facts upserted,
 * superseded and erased, retention sweeps, the user deleted), over a small
 * vocabulary, and after every op each word's record must hold what it
 * stands for and the view must read the word as ranking every posting
 * would (tests/storage/heads_check.h, the contract test_store_heads checks
 * on generated histories). After the user's deletion no record is left.
 *
 * The build scales the heads down (tests/fuzz/meson.build: a head kept of
 * 8, read of 4, one add in 2 sampled, ...) and the view's sample to 8, so
 * that a history of a few dozen ops builds heads, takes tails in, loses
 * entries and is read through them: every state a release reaches with
 * thousands of items. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heads_check.h"
#include "status.h"
#include "ops/store.h"
#include "recall/terms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks use assert(): the fuzz build is a debug build. */
#define CHECK(cond) assert(cond)

/* The view's ceiling: a sample of half of it (store.h). */
#define MAX_POSTINGS 16u

#define USER      "fuzz"
#define ULEN      (sizeof(USER) - 1)
#define DAY       (24LL * 3600 * 1000)
#define T0        (19500LL * DAY)
#define FACT_KEYS 12

static const char *const words[] = {"kayak", "otter", "lantern", "meadow", "harbor", "falcon"};
#define NWORDS (sizeof(words) / sizeof(words[0]))
static const char *const fillers[] = {"river",  "stone",  "bread",  "cloud",
                                      "window", "garden", "pencil", "candle"};
#define NFILLERS (sizeof(fillers) / sizeof(fillers[0]))

static char terms_of[NWORDS][MP_TERMS_MAX + 1]; /* each word's index term */

static int on_first_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    (void)pos;
    snprintf(arg, MP_TERMS_MAX + 1, "%.*s", (int)len, term);
    return 1;
}

static void init_terms(void)
{
    static int done;
    struct mp_terms *t;
    if (done)
        return;
    CHECK(mp_terms_new(&t) == MP_OK);
    for (size_t w = 0; w < NWORDS; w++) {
        mp_terms_each(t, words[w], strlen(words[w]), on_first_term, terms_of[w]);
        CHECK(terms_of[w][0] != '\0');
    }
    mp_terms_free(t);
    done = 1;
}

/* The input, read a byte at a time (0 past its end). */
struct input {
    const uint8_t *p;
    size_t n, at;
};

static uint8_t next(struct input *in)
{
    return in->at < in->n ? in->p[in->at++] : 0;
}

/* Every text is this many terms long, so that the mean length never
 * moves and a head's best stay the best (heads_check.h: exact). */
#define TEXT_TERMS (2 * NWORDS + 2)

/* A text of the words in mask (bit w: words[w], twice when bit w of twice),
 * then fillers up to TEXT_TERMS terms. */
static void make_text(char *out, size_t cap, uint8_t mask, uint8_t twice)
{
    size_t n = 0, terms = 0;
    out[0] = '\0';
    for (size_t w = 0; w < NWORDS; w++)
        for (unsigned k = 0; (mask >> w & 1) && k < 1u + (twice >> w & 1); k++, terms++)
            n += (size_t)snprintf(out + n, cap - n, "%s ", words[w]);
    for (unsigned f = 0; terms < TEXT_TERMS; f++, terms++)
        n += (size_t)snprintf(out + n, cap - n, "%s ", fillers[(f * 5 + mask) % NFILLERS]);
}

/* The history so far. */
struct history {
    struct mp_store *store;
    uint64_t nseq; /* messages imported since the user began */
    int64_t at;    /* the newest message's time */
    unsigned imports;
};

static int apply(struct history *h, struct mp_op *op)
{
    int rc = mp_store_apply(h->store, op, 1);
    return rc == MP_OK ? op->result : rc;
}

static void import(struct history *h, struct input *in)
{
    char text[256];
    uint8_t mask = next(in), twice = next(in);
    make_text(text, sizeof(text), mask, twice);
    struct mp_mem_message m = {.role = mask & 0x80 ? MP_ROLE_ASSISTANT : MP_ROLE_USER};
    h->at += 60 * 1000;
    m.at_ms = h->at;
    m.content = text;
    m.content_len = strlen(text);
    snprintf(m.request_id, sizeof(m.request_id), "req-%lld", (long long)h->at);
    struct mp_op op = {.kind = MP_OP_IMPORT_MESSAGE, .user = USER, .user_len = ULEN};
    op.now_ms = h->at;
    op.u.turn.messages = &m;
    op.u.turn.nmessages = 1;
    CHECK(apply(h, &op) == MP_OK);
    h->nseq++;
}

/* An earlier message's seq (it may be gone: deleted, swept). */
static uint64_t some_seq(const struct history *h, struct input *in)
{
    return h->nseq == 0 ? 1 : 1 + next(in) % h->nseq;
}

static void set_keys(struct history *h, struct input *in)
{
    char text[256];
    uint64_t seq = some_seq(h, in);
    make_text(text, sizeof(text), next(in), 0);
    struct mp_op op = {.kind = MP_OP_SET_MESSAGE_KEYS, .user = USER, .user_len = ULEN};
    op.now_ms = h->at;
    op.u.keys.seq = seq;
    op.u.keys.text = text;
    op.u.keys.text_len = strlen(text);
    int rc = apply(h, &op);
    CHECK(rc == MP_OK || rc == MP_NOTFOUND);
}

static void delete_message(struct history *h, struct input *in)
{
    struct mp_op op = {.kind = MP_OP_DELETE_MESSAGE, .user = USER, .user_len = ULEN};
    op.now_ms = h->at;
    op.actor = MP_ACTOR_USER;
    op.u.seq = some_seq(h, in);
    int rc = apply(h, &op);
    CHECK(rc == MP_OK || rc == MP_NOTFOUND);
}

/* A fact of key f<k>, told in the newest message's turn (so that erasing
 * it erases that message too); a new value supersedes the old one. */
static void upsert_fact(struct history *h, struct input *in)
{
    char text[256];
    unsigned k = next(in) % FACT_KEYS;
    uint8_t mask = next(in);
    make_text(text, sizeof(text), mask, mask >> 3);
    struct mp_op op = {.kind = MP_OP_UPSERT_ENTITY, .user = USER, .user_len = ULEN};
    op.now_ms = h->at + 5;
    snprintf(op.u.entity.key, sizeof(op.u.entity.key), "f%u", k);
    op.u.entity.value = text;
    op.u.entity.value_len = strlen(text);
    op.u.entity.confidence = 0.75;
    op.u.entity.observed_at_ms = h->at;
    op.u.entity.trust = MP_TRUST_STATED;
    op.u.entity.source_role = MP_ROLE_USER;
    snprintf(op.u.entity.request_id, sizeof(op.u.entity.request_id), "req-%lld", (long long)h->at);
    snprintf(op.u.entity.model, sizeof(op.u.entity.model), "extractor-1");
    CHECK(apply(h, &op) == MP_OK);
}

static void erase_fact(struct history *h, struct input *in)
{
    struct mp_op op = {.kind = MP_OP_DELETE_ENTITY, .user = USER, .user_len = ULEN};
    op.now_ms = h->at;
    op.actor = MP_ACTOR_USER;
    snprintf(op.u.key, sizeof(op.u.key), "f%u", next(in) % FACT_KEYS);
    int rc = apply(h, &op);
    CHECK(rc == MP_OK || rc == MP_NOTFOUND);
}

/* Purges the oldest share (byte / 256) of the history's span. */
static void sweep(struct history *h, struct input *in)
{
    struct mp_op op = {.kind = MP_OP_SWEEP_USER, .user = USER, .user_len = ULEN};
    op.now_ms = h->at;
    op.u.sweep.retention.max_age_ms = 1 + (h->at - T0) * (256 - next(in)) / 256;
    int rc = apply(h, &op);
    CHECK(rc == MP_OK || rc == MP_NOTFOUND);
}

static void delete_user(struct history *h)
{
    struct mp_op op = {.kind = MP_OP_DELETE_USER, .user = USER, .user_len = ULEN};
    op.now_ms = h->at;
    int rc = apply(h, &op);
    CHECK(rc == MP_OK || rc == MP_NOTFOUND);
    CHECK(hc_head_records(h->store, USER, ULEN) == 0);
    h->nseq = 0;
}

static void check_words(struct history *h)
{
    char why[256];
    struct hc_found f;
    for (int kind = 0; kind < 2; kind++) {
        enum mp_codec_kind k = kind ? MP_CODEC_KIND_FACT : MP_CODEC_KIND_MESSAGE;
        for (size_t w = 0; w < NWORDS; w++) {
            bool ok = hc_check_term(h->store, USER, ULEN, k, terms_of[w], strlen(terms_of[w]),
                                    MAX_POSTINGS, HC_ENTRIES_BEST, &f, why, sizeof(why));
            if (!ok)
                fprintf(stderr, "heads: %s\n", why);
            CHECK(ok);
        }
    }
}

/* Applies the op the input names next: whether to check the words after
 * it (every op but an import; an import one in eight, as most ops are). */
static bool step(struct history *h, struct input *in)
{
    switch (next(in) % 16) {
    case 8:
        set_keys(h, in);
        return true;
    case 9:
    case 10:
        delete_message(h, in);
        return true;
    case 11:
        upsert_fact(h, in);
        return true;
    case 12:
        erase_fact(h, in);
        return true;
    case 13:
        sweep(h, in);
        return true;
    case 14:
        delete_user(h);
        return true;
    case 15:
        return true; /* a check alone */
    default:
        import(h, in);
        return ++h->imports % 8 == 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct history h = {.at = T0};
    init_terms();
    CHECK(mp_store_open_mem(&h.store) == MP_OK);
    while (in.at < in.n)
        if (step(&h, &in) || in.at >= in.n)
            check_words(&h);
    mp_store_free(h.store);
    return 0;
}
