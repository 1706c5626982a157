/* The store's record encodings. Every variable field is preceded
 * by its length; numbers in values are little-endian, written byte by byte
 * (no struct memcpy). */
#include "format/codec.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wire/convid.h"
#include "recall/lang.h"
#include "status.h"
#include "wire/wire.h"

/* Smallest encodings, to refuse a count a corrupt record could not hold
 * (a message without its conversation). */
#define MESSAGE_MIN (1 + 8 + 8 + 8 + 1 + 1 + 1 + 4)

/* In a message's first byte, above its role: its conversation follows;
 * its reply's reference follows; its language follows (codec.h). */
#define MESSAGE_CONV 0x80u
#define MESSAGE_REF  0x40u
#define MESSAGE_LANG 0x20u
#define ENTITY_MIN   (1 + 1 + 4 + 8 + 8 + 8 + 1 + 1 + 1 + 4 + 1 + 1)

/* The head record's flags (version 5): a term filter follows; the
 * language tally follows; the facts stamp follows (store format 9;
 * codec.h). */
#define USER_FILTERED 0x1u
#define USER_LANGS    0x2u
#define USER_STAMPED  0x4u

_Static_assert(sizeof(double) == 8, "confidence is stored as 8 IEEE-754 bytes");

/* ---- encoding: with p == NULL only counts ---- */

struct enc {
    unsigned char *p;
    size_t n;
};

static void put_bytes(struct enc *e, const void *src, size_t n)
{
    if (e->p != NULL && n > 0)
        memcpy(e->p + e->n, src, n);
    e->n += n;
}

static void put_uint(struct enc *e, uint64_t v, size_t width)
{
    unsigned char b[8];
    mp_codec_le_put(b, v, width);
    put_bytes(e, b, width);
}

static void put_f64(struct enc *e, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    put_uint(e, u, 8);
}

static void put_str(struct enc *e, const char *s)
{
    size_t n = strlen(s);
    put_uint(e, n, 1);
    put_bytes(e, s, n);
}

/* A trust class's stored byte: the four first classes kept the bytes they
 * had (0 inferred, 1 stated, 2 corrected, 3 admin) when agent (4) and then
 * imported (5) came between them in enum mp_trust, so every record
 * written before reads the same. */
static const unsigned char trust_byte[] = {
    [MP_TRUST_INFERRED] = 0,  [MP_TRUST_AGENT] = 4, [MP_TRUST_STATED] = 1,
    [MP_TRUST_CORRECTED] = 2, [MP_TRUST_ADMIN] = 3, [MP_TRUST_IMPORTED] = 5};
static const enum mp_trust trust_of_byte[] = {MP_TRUST_INFERRED,  MP_TRUST_STATED,
                                              MP_TRUST_CORRECTED, MP_TRUST_ADMIN,
                                              MP_TRUST_AGENT,     MP_TRUST_IMPORTED};
_Static_assert(sizeof(trust_byte) == sizeof(trust_of_byte) / sizeof(trust_of_byte[0]),
               "one byte per class");

static void enc_entity(struct enc *e, const struct mp_mem_entity *en)
{
    put_str(e, en->key);
    put_uint(e, en->value_len, 4);
    put_bytes(e, en->value, en->value_len);
    put_f64(e, en->confidence);
    put_uint(e, (uint64_t)en->observed_at_ms, 8);
    put_uint(e, (uint64_t)en->recorded_at_ms, 8);
    put_uint(e, trust_byte[en->trust], 1);
    put_uint(e, (uint64_t)en->source_role, 1);
    put_uint(e, en->pii ? 1 : 0, 1);
    put_uint(e, en->revision, 4);
    put_str(e, en->request_id);
    put_str(e, en->model);
}

static void enc_summary(struct enc *e, const struct mp_mem_summary *s)
{
    put_uint(e, s->text != NULL ? s->text_len : 0, 4);
    if (s->text != NULL)
        put_bytes(e, s->text, s->text_len);
    put_uint(e, (uint64_t)s->updated_at_ms, 8);
    put_uint(e, (uint64_t)s->observed_at_ms, 8);
    put_uint(e, s->covers_through_seq, 8);
    put_str(e, s->request_id);
    put_str(e, s->model);
    put_uint(e, s->pii ? 1 : 0, 1);
}

static void enc_message(struct enc *e, const struct mp_mem_message *m)
{
    bool conv = m->conv != 0 || m->conv_kind != 0, ref = m->reply_ref != 0, lang = m->lang != 0;
    put_uint(e,
             (uint64_t)m->role | (conv ? MESSAGE_CONV : 0) | (ref ? MESSAGE_REF : 0) |
                 (lang ? MESSAGE_LANG : 0),
             1);
    if (conv) {
        put_uint(e, m->conv, 8);
        put_uint(e, m->conv_kind, 1);
    }
    if (ref)
        put_uint(e, m->reply_ref, 8);
    if (lang)
        put_uint(e, m->lang, 1);
    put_uint(e, m->seq, 8);
    put_uint(e, (uint64_t)m->at_ms, 8);
    put_uint(e, (uint64_t)m->recorded_at_ms, 8);
    put_uint(e, m->pii ? 1 : 0, 1);
    put_str(e, m->request_id);
    put_str(e, m->model);
    put_uint(e, m->content_len, 4);
    put_bytes(e, m->content, m->content_len);
}

size_t mp_codec_put_user(unsigned char *p, const struct mp_codec_user *meta,
                         const struct mp_usermem *um)
{
    struct enc e = {p, 0};
    put_uint(&e, MP_CODEC_USER_VERSION, 1);
    put_uint(&e, meta->user_len, 2);
    put_bytes(&e, meta->user, meta->user_len);
    put_uint(&e, (uint64_t)meta->updated_at_ms, 8);
    put_uint(&e, um->next_seq, 8);
    put_uint(&e, meta->next_hist, 8);
    enc_summary(&e, &um->summary);
    put_uint(&e, um->nmessages, 4);
    for (size_t i = 0; i < um->nmessages; i++)
        enc_message(&e, &um->messages[i]);
    put_uint(&e, meta->next_fact, 4);
    put_uint(&e, meta->nfacts, 4);
    put_uint(&e, meta->narchive, 8);
    for (size_t k = 0; k < MP_CODEC_KINDS; k++) {
        const struct mp_codec_kind_stats *ks = &meta->kinds[k];
        put_uint(&e, ks->ndocs, 4);
        put_uint(&e, ks->total_len, 8);
        put_uint(&e, (uint64_t)ks->last_at_ms, 8);
        put_uint(&e, ks->session, 4);
    }
    put_uint(&e, um->memory_epoch, 8);
    size_t nlangs = 0;
    for (size_t l = 1; l < MP_LANG_COUNT; l++)
        nlangs += meta->langs[l] != 0;
    /* no filter to write: never one that misses terms (mp_codec_user) */
    put_uint(&e,
             (meta->filtered ? USER_FILTERED : 0) | (nlangs > 0 ? USER_LANGS : 0) |
                 (meta->facts_stamp != 0 ? USER_STAMPED : 0),
             1);
    if (meta->filtered)
        put_bytes(&e, meta->filter.bits, sizeof(meta->filter.bits));
    if (nlangs > 0) {
        put_uint(&e, nlangs, 1);
        for (size_t l = 1; l < MP_LANG_COUNT; l++) {
            if (meta->langs[l] == 0)
                continue;
            put_uint(&e, l, 1);
            put_uint(&e, meta->langs[l], 4);
        }
    }
    if (meta->facts_stamp != 0)
        put_uint(&e, meta->facts_stamp, 8);
    return e.n;
}

int mp_codec_user_lang(const struct mp_codec_user *meta)
{
    int best = MP_LANG_NONE;
    uint32_t most = 0; /* best's count: the first of the most, and never 0, wins */
    for (int l = 1; l < MP_LANG_COUNT; l++) {
        if (meta->langs[l] > most) {
            most = meta->langs[l];
            best = l;
        }
    }
    return best;
}

void mp_codec_user_count_lang(struct mp_codec_user *meta, const struct mp_mem_message *m, int delta)
{
    if (m->role != MP_ROLE_USER || m->lang == MP_LANG_NONE || m->lang >= MP_LANG_COUNT)
        return;
    uint32_t *c = &meta->langs[m->lang];
    if (delta > 0 && *c < UINT32_MAX)
        (*c)++;
    else if (delta < 0 && *c > 0)
        (*c)--;
}

size_t mp_codec_put_fact(unsigned char *p, const struct mp_mem_entity *en)
{
    struct enc e = {p, 0};
    enc_entity(&e, en);
    put_uint(&e, en->source_first_seq, 8);
    put_uint(&e, en->source_last_seq, 8);
    return e.n;
}

size_t mp_codec_put_message(unsigned char *p, const struct mp_mem_message *m)
{
    return mp_codec_put_archived(p, m, NULL, 0);
}

size_t mp_codec_put_archived(unsigned char *p, const struct mp_mem_message *m, const char *keys,
                             size_t keys_len)
{
    struct enc e = {p, 0};
    enc_message(&e, m);
    if (keys_len > 0) {
        put_uint(&e, keys_len, 2);
        put_bytes(&e, keys, keys_len);
    }
    return e.n;
}

size_t mp_codec_put_doc(unsigned char *p, const struct mp_codec_doc *d)
{
    struct enc e = {p, 0};
    put_uint(&e, d->len, 4);
    put_uint(&e, d->session, 4);
    put_uint(&e, d->bytes, 4);
    put_uint(&e, d->timex ? 1 : 0, 1);
    put_uint(&e, (uint64_t)d->at_ms, 8);
    return e.n;
}

size_t mp_codec_put_terms(unsigned char *p, const struct mp_codec_term *t, size_t n)
{
    struct enc e = {p, 0};
    put_uint(&e, n, 4);
    for (size_t i = 0; i < n; i++) {
        put_uint(&e, t[i].len, 1);
        put_bytes(&e, t[i].t, t[i].len);
        put_uint(&e, t[i].tc, 2);
        put_uint(&e, t[i].tk, 2);
        put_uint(&e, t[i].td, 1);
    }
    return e.n;
}

size_t mp_codec_put_history(unsigned char *p, const struct mp_history_item *h)
{
    struct enc e = {p, 0};
    put_uint(&e, (uint64_t)h->event, 1);
    put_uint(&e, (uint64_t)h->actor, 1);
    put_uint(&e, (uint64_t)h->item, 1);
    put_uint(&e, (uint64_t)h->at_ms, 8);
    put_uint(&e, h->count, 4);
    enc_entity(&e, &h->entity);
    if (h->reason != MP_REASON_NONE) /* format 11: an entry without one is as before */
        put_uint(&e, (uint64_t)h->reason, 1);
    return e.n;
}

size_t mp_codec_put_told(unsigned char *p, const struct mp_codec_told *t)
{
    struct enc e = {p, 0};
    put_uint(&e, t->last_seq, 8);
    put_uint(&e, t->value_print, 8);
    put_uint(&e, (uint64_t)t->role, 1);
    put_str(&e, t->request_id);
    put_str(&e, t->key);
    return e.n;
}

/* A job's attempts word: the attempts in its low 16 bits, the unusable
 * answers in bits 16-23, the failure in bits 24-31. Records written before
 * failures were kept hold attempts below 16 (never more than 6), so they
 * read as they were: no format change. An older release reading a failed
 * job sees many attempts: it runs the job once more and drops it if that
 * fails too, as it drops any job out of attempts. */
static uint32_t job_attempts_word(const struct mp_job *j)
{
    uint32_t attempts = j->attempts > 0xffff ? 0xffff : j->attempts;
    return attempts | (uint32_t)j->malformed << 16 | (uint32_t)j->failed << 24;
}

size_t mp_codec_put_job(unsigned char *p, const struct mp_job *j)
{
    struct enc e = {p, 0};
    put_uint(&e, (uint64_t)j->kind, 1);
    put_uint(&e, j->user_len, 2);
    put_bytes(&e, j->user, j->user_len);
    put_uint(&e, j->through_seq, 8);
    put_uint(&e, j->from_seq, 8);
    put_uint(&e, job_attempts_word(j), 4);
    put_uint(&e, (uint64_t)j->not_before_ms, 8);
    put_uint(&e, (uint64_t)j->created_ms, 8);
    return e.n;
}

/* ---- decoding: any failure sets bad and later reads return zeros ---- */

struct dec {
    const unsigned char *p;
    size_t n, off;
    bool bad, oom;
    char *texts; /* NULL: get_text() allocates each text; else they go here */
    size_t texts_used;
};

static inline const unsigned char *take(struct dec *d, size_t n)
{
    const unsigned char *r;
    if (d->bad || n > d->n - d->off) {
        d->bad = true;
        return NULL;
    }
    r = d->p + d->off;
    d->off += n;
    return r;
}

static inline uint64_t get_uint(struct dec *d, size_t width)
{
    const unsigned char *b = take(d, width);
    return b == NULL ? 0 : mp_codec_le_get(b, width);
}

/* A length or enum field that must not exceed max. */
static inline size_t get_len(struct dec *d, size_t width, size_t max)
{
    uint64_t v = get_uint(d, width);
    if (v > max)
        d->bad = true;
    return d->bad ? 0 : (size_t)v;
}

static inline void check(struct dec *d, bool ok)
{
    if (!ok)
        d->bad = true;
}

static size_t left(const struct dec *d)
{
    return d->bad ? 0 : d->n - d->off;
}

/* An allocated NUL-terminated copy of the next len bytes, or NULL. */
static char *get_text(struct dec *d, size_t len)
{
    const unsigned char *b = take(d, len);
    char *s;
    if (b == NULL)
        return NULL;
    if (d->texts != NULL) { /* n bytes: room for every text (mp_codec_get_user_packed) */
        s = d->texts + d->texts_used;
        d->texts_used += len + 1;
        memcpy(s, b, len);
        s[len] = '\0';
        return s;
    }
    s = malloc(len + 1);
    if (s == NULL) {
        d->bad = d->oom = true;
        return NULL;
    }
    memcpy(s, b, len);
    s[len] = '\0';
    return s;
}

/* A u8-length string into a fixed array of cap bytes (NUL included). */
static void get_fixed(struct dec *d, char *dst, size_t cap)
{
    size_t len = get_len(d, 1, cap - 1);
    if (len == 0) { /* a model or request id not known: common */
        dst[0] = '\0';
        return;
    }
    const unsigned char *b = take(d, len);
    if (b == NULL || memchr(b, '\0', len) != NULL) {
        d->bad = true;
        dst[0] = '\0';
        return;
    }
    memmove(dst, b, len); /* not memcpy: GCC expands a memcpy of a byte-bounded
                             length into rep movsq, slow for these short strings */
    dst[len] = '\0';
}

static int dec_status(const struct dec *d)
{
    if (d->oom)
        return MP_ENOMEM;
    return d->bad || d->off != d->n ? MP_EIO : MP_OK;
}

/* A history entry may hold an empty value (erased or never kept). */
/* value_at NULL: the value is copied (en->value, caller frees); else it is
 * skipped (en->value stays NULL) and *value_at says where it is in d. */
static void dec_entity(struct dec *d, struct mp_mem_entity *en, bool value_required,
                       const unsigned char **value_at)
{
    uint64_t bits;
    /* each field is set below (a failed read gives zeros), so no memset of
       the whole struct: its fixed arrays, which a NUL ends, are most of it
       and a rep stos costs as much as the rest of the decode */
    en->value = NULL;
    en->source_first_seq = en->source_last_seq = 0;
    en->block_text = NULL;
    en->block_len = 0;
    get_fixed(d, en->key, sizeof(en->key));
    check(d, !value_required || en->key[0] != '\0');
    en->value_len = get_len(d, 4, MP_ENTITY_VALUE_MAX);
    check(d, !value_required || en->value_len > 0);
    if (value_at == NULL)
        en->value = get_text(d, en->value_len);
    else
        *value_at = take(d, en->value_len);
    bits = get_uint(d, 8);
    memcpy(&en->confidence, &bits, sizeof(bits));
    check(d, en->confidence >= 0.0 && en->confidence <= 1.0);
    en->observed_at_ms = (int64_t)get_uint(d, 8);
    en->recorded_at_ms = (int64_t)get_uint(d, 8);
    en->trust = trust_of_byte[get_len(d, 1, sizeof(trust_of_byte) / sizeof(trust_of_byte[0]) - 1)];
    en->source_role = (enum mp_role)get_len(d, 1, MP_ROLE_ASSISTANT);
    en->pii = get_len(d, 1, 1) == 1;
    en->revision = (uint32_t)get_uint(d, 4);
    get_fixed(d, en->request_id, sizeof(en->request_id));
    get_fixed(d, en->model, sizeof(en->model));
}

static void dec_summary(struct dec *d, struct mp_mem_summary *s)
{
    size_t len = get_len(d, 4, MP_STORE_SUMMARY_MAX);
    if (len > 0)
        s->text = get_text(d, len);
    s->text_len = s->text != NULL ? len : 0;
    s->updated_at_ms = (int64_t)get_uint(d, 8);
    s->observed_at_ms = (int64_t)get_uint(d, 8);
    s->covers_through_seq = get_uint(d, 8);
    get_fixed(d, s->request_id, sizeof(s->request_id));
    get_fixed(d, s->model, sizeof(s->model));
    s->pii = get_len(d, 1, 1) == 1;
}

static void dec_message(struct dec *d, struct mp_mem_message *m)
{
    size_t first = get_len(d, 1, MESSAGE_CONV | MESSAGE_REF | MESSAGE_LANG | MP_ROLE_ASSISTANT);
    m->role = (enum mp_role)(first & ~(size_t)(MESSAGE_CONV | MESSAGE_REF | MESSAGE_LANG));
    check(d, m->role <= MP_ROLE_ASSISTANT);
    m->conv = 0;
    m->conv_kind = 0;
    m->reply_ref = 0;
    m->lang = 0;
    if ((first & MESSAGE_CONV) != 0) {
        m->conv = get_uint(d, 8);
        m->conv_kind = (uint8_t)get_len(d, 1, MP_CONVID_KIND_MAX);
    }
    if ((first & MESSAGE_REF) != 0) {
        m->reply_ref = get_uint(d, 8);
        check(d, m->reply_ref != 0);
    }
    if ((first & MESSAGE_LANG) != 0) {
        m->lang = (uint8_t)get_len(d, 1, MP_LANG_COUNT - 1);
        check(d, m->lang != 0);
    }
    /* seq, at_ms, recorded_at_ms (u64 each) and pii (u8, 0 or 1): one take */
    const unsigned char *f = take(d, 25);
    m->seq = f != NULL ? mp_codec_le_get(f, 8) : 0;
    m->at_ms = f != NULL ? (int64_t)mp_codec_le_get(f + 8, 8) : 0;
    m->recorded_at_ms = f != NULL ? (int64_t)mp_codec_le_get(f + 16, 8) : 0;
    check(d, f == NULL || f[24] <= 1);
    m->pii = f != NULL && f[24] == 1;
    get_fixed(d, m->request_id, sizeof(m->request_id));
    get_fixed(d, m->model, sizeof(m->model));
    m->content_len = get_len(d, 4, MP_MESSAGE_CONTENT_MAX);
    m->content = get_text(d, m->content_len);
}

static void dec_messages(struct dec *d, struct mp_usermem *um)
{
    size_t n = get_len(d, 4, left(d) / MESSAGE_MIN);
    /* not calloc: dec_message sets every field, nmessages counts only the
       ones it reached, and zeroing their fixed arrays costs as much as
       decoding them */
    um->messages = malloc((n + 1) * sizeof(*um->messages));
    if (um->messages == NULL) {
        d->bad = d->oom = true;
        return;
    }
    for (size_t i = 0; i < n && !d->bad; i++) {
        struct mp_mem_message *m = &um->messages[i];
        dec_message(d, m);
        check(d, m->seq > (i > 0 ? m[-1].seq : 0) && m->seq < um->next_seq);
        if (m->content != NULL)
            um->nmessages++;
    }
}

static void dec_entities(struct dec *d, struct mp_usermem *um)
{
    size_t n = get_len(d, 4, left(d) / ENTITY_MIN);
    um->entities = calloc(n + 1, sizeof(*um->entities));
    if (um->entities == NULL) {
        d->bad = d->oom = true;
        return;
    }
    for (size_t i = 0; i < n && !d->bad; i++) {
        struct mp_mem_entity *en = &um->entities[i];
        dec_entity(d, en, true, NULL);
        if (en->value != NULL)
            um->nentities++;
        check(d, i == 0 || strcmp(en[-1].key, en->key) < 0);
    }
}

static void dec_counters(struct dec *d, struct mp_codec_user *m)
{
    m->next_fact = (uint32_t)get_uint(d, 4);
    m->nfacts = (uint32_t)get_uint(d, 4);
    m->narchive = get_uint(d, 8);
    check(d, m->next_fact >= 1);
    for (size_t k = 0; k < MP_CODEC_KINDS; k++) {
        struct mp_codec_kind_stats *ks = &m->kinds[k];
        ks->ndocs = (uint32_t)get_uint(d, 4);
        ks->total_len = get_uint(d, 8);
        ks->last_at_ms = (int64_t)get_uint(d, 8);
        ks->session = (uint32_t)get_uint(d, 4);
    }
}

/* The language tally (mp_codec_user): at least one language, ascending,
 * none counted 0. */
static void dec_langs(struct dec *d, struct mp_codec_user *m)
{
    size_t n = get_len(d, 1, MP_LANG_COUNT - 1), prev = MP_LANG_NONE;
    check(d, n > 0);
    for (size_t i = 0; i < n && !d->bad; i++) {
        size_t l = get_len(d, 1, MP_LANG_COUNT - 1);
        check(d, l > prev);
        m->langs[l] = (uint32_t)get_uint(d, 4);
        check(d, m->langs[l] != 0);
        prev = l;
    }
}

static void dec_meta(struct dec *d, struct mp_codec_user *meta)
{
    meta->version = (uint32_t)get_uint(d, 1);
    check(d, meta->version == 2 || (meta->version >= MP_CODEC_USER_VERSION_MIN &&
                                    meta->version <= MP_CODEC_USER_VERSION));
    meta->user_len = get_len(d, 2, MP_USER_KEY_MAX);
    check(d, meta->user_len > 0);
    const unsigned char *u = take(d, meta->user_len);
    if (u != NULL)
        memcpy(meta->user, u, meta->user_len);
    meta->updated_at_ms = (int64_t)get_uint(d, 8);
}

static int get_user(struct dec *d, struct mp_codec_user *meta, struct mp_usermem **out);
static void free_user(bool packed, struct mp_usermem *um);

int mp_codec_get_user(const unsigned char *p, size_t n, struct mp_codec_user *meta,
                      struct mp_usermem **out)
{
    struct dec d = {.p = p, .n = n};
    return get_user(&d, meta, out);
}

int mp_codec_get_user_packed(const unsigned char *p, size_t n, struct mp_codec_user *meta,
                             struct mp_usermem **out, char **texts)
{
    if (n == 0 || p[0] == 2) /* its facts' values would be texts to free one by one */
        return MP_EIO;
    /* every text follows a length of 4 bytes, more than its NUL needs: a
       record of n bytes holds texts and NULs of at most n bytes */
    struct dec d = {.p = p, .n = n, .texts = malloc(n)};
    if (d.texts == NULL)
        return MP_ENOMEM;
    int rc = get_user(&d, meta, out);
    if (rc != MP_OK) {
        free(d.texts);
        return rc;
    }
    *texts = d.texts;
    return MP_OK;
}

void mp_codec_free_packed(struct mp_usermem *um, char *texts)
{
    free_user(true, um);
    free(texts);
}

/* Frees um; packed: its texts are in one block (mp_codec_get_user_packed),
 * which the caller frees, so they are let go of first (mp_usermem_free()
 * would free them one by one). */
static void free_user(bool packed, struct mp_usermem *um)
{
    if (packed && um != NULL) {
        for (size_t i = 0; i < um->nmessages; i++)
            um->messages[i].content = NULL;
        um->summary.text = NULL;
    }
    mp_usermem_free(um);
}

static int get_user(struct dec *d, struct mp_codec_user *meta, struct mp_usermem **out)
{
    struct mp_codec_user m;
    struct mp_usermem *um;
    memset(&m, 0, sizeof(m));
    dec_meta(d, &m);
    if (out == NULL) {
        if (d->bad)
            return MP_EIO;
        *meta = m;
        return MP_OK;
    }
    um = mp_usermem_new();
    if (um == NULL)
        return MP_ENOMEM;
    um->next_seq = get_uint(d, 8);
    m.next_hist = get_uint(d, 8);
    check(d, um->next_seq >= 1 && m.next_hist >= 1);
    dec_summary(d, &um->summary);
    dec_messages(d, um);
    if (m.version == 2) {
        dec_entities(d, um); /* read for the conversion only */
        m.next_fact = 1;
    } else {
        dec_counters(d, &m);
    }
    size_t flags = m.version == 4 ? USER_FILTERED : 0;
    if (m.version >= 5) {
        um->memory_epoch = get_uint(d, 8);
        flags = get_len(d, 1, USER_FILTERED | USER_LANGS | USER_STAMPED);
    }
    m.filtered = (flags & USER_FILTERED) != 0;
    if (m.filtered) {
        const unsigned char *f = take(d, sizeof(m.filter.bits));
        if (f != NULL)
            memcpy(m.filter.bits, f, sizeof(m.filter.bits));
    }
    if (flags & USER_LANGS)
        dec_langs(d, &m);
    if (flags & USER_STAMPED) {
        m.facts_stamp = get_uint(d, 8);
        check(d, m.facts_stamp != 0);
    }
    int rc = dec_status(d);
    if (rc != MP_OK) {
        free_user(d->texts != NULL, um);
        return rc;
    }
    if (meta != NULL)
        *meta = m;
    *out = um;
    return MP_OK;
}

int mp_codec_get_history(const unsigned char *p, size_t n, struct mp_history_item *h)
{
    struct dec d = {.p = p, .n = n};
    h->event = (enum mp_history_event)get_len(&d, 1, MP_HIST_FILTERED);
    h->actor = (enum mp_actor)get_len(&d, 1, MP_ACTOR_CLIENT_TEXT);
    h->item = (enum mp_item_kind)get_len(&d, 1, MP_ITEM_MESSAGES);
    h->at_ms = (int64_t)get_uint(&d, 8);
    h->count = (uint32_t)get_uint(&d, 4);
    dec_entity(&d, &h->entity, false, NULL);
    bool has_reason = left(&d) > 0; /* format 11 */
    h->reason =
        has_reason ? (enum mp_hist_reason)get_len(&d, 1, MP_REASON_SOURCES_ERASED) : MP_REASON_NONE;
    check(&d, !has_reason || h->reason != MP_REASON_NONE); /* written only when there is one */
    int rc = dec_status(&d);
    if (rc != MP_OK) {
        free(h->entity.value);
        h->entity.value = NULL;
    }
    return rc;
}

int mp_codec_get_told(const unsigned char *p, size_t n, struct mp_codec_told *t)
{
    struct dec d = {.p = p, .n = n};
    t->last_seq = get_uint(&d, 8);
    t->value_print = get_uint(&d, 8);
    t->role = (enum mp_role)get_len(&d, 1, MP_ROLE_ASSISTANT);
    get_fixed(&d, t->request_id, sizeof(t->request_id));
    get_fixed(&d, t->key, sizeof(t->key));
    check(&d, t->key[0] != '\0');
    return dec_status(&d);
}

int mp_codec_get_fact_head(const unsigned char *p, size_t n, struct mp_mem_entity *e,
                           const unsigned char **value)
{
    struct dec d = {.p = p, .n = n};
    const unsigned char *at = NULL;
    dec_entity(&d, e, true, &at);
    if (value != NULL)
        *value = at;
    e->source_first_seq = get_uint(&d, 8);
    e->source_last_seq = get_uint(&d, 8);
    return dec_status(&d);
}

int mp_codec_get_fact(const unsigned char *p, size_t n, struct mp_mem_entity *e)
{
    struct dec d = {.p = p, .n = n};
    dec_entity(&d, e, true, NULL);
    e->source_first_seq = get_uint(&d, 8);
    e->source_last_seq = get_uint(&d, 8);
    int rc = dec_status(&d);
    if (rc != MP_OK) {
        free(e->value);
        e->value = NULL;
    }
    return rc;
}

/* An archived message's search keys after its text (none: nothing left);
 * *keys borrowed from the record. */
static void dec_keys(struct dec *d, const unsigned char **keys, size_t *len)
{
    *keys = NULL;
    *len = 0;
    if (d->bad || left(d) == 0)
        return;
    *len = get_len(d, 2, MP_MESSAGE_KEYS_MAX);
    *keys = take(d, *len);
    check(d, *len > 0);
}

int mp_codec_get_archived_keys(const unsigned char *p, size_t n, const unsigned char **keys,
                               size_t *len)
{
    struct dec d = {.p = p, .n = n};
    struct mp_mem_message m;
    memset(&m, 0, sizeof(m));
    dec_message(&d, &m);
    free(m.content);
    dec_keys(&d, keys, len);
    int rc = dec_status(&d);
    if (rc != MP_OK) {
        *keys = NULL;
        *len = 0;
    }
    return rc;
}

int mp_codec_get_message(const unsigned char *p, size_t n, struct mp_mem_message *m)
{
    struct dec d = {.p = p, .n = n};
    const unsigned char *keys;
    size_t klen;
    memset(m, 0, sizeof(*m));
    dec_message(&d, m);
    dec_keys(&d, &keys, &klen); /* an archived message's: read with get_archived_keys */
    int rc = dec_status(&d);
    if (rc != MP_OK) {
        free(m->content);
        m->content = NULL;
    }
    return rc;
}

int mp_codec_get_doc(const unsigned char *p, size_t n, struct mp_codec_doc *doc)
{
    struct dec d = {.p = p, .n = n};
    doc->len = (uint32_t)get_uint(&d, 4);
    doc->session = (uint32_t)get_uint(&d, 4);
    doc->bytes = (uint32_t)get_uint(&d, 4);
    doc->timex = get_len(&d, 1, 1) == 1;
    doc->at_ms = (int64_t)get_uint(&d, 8);
    return dec_status(&d);
}

int mp_codec_each_term(const unsigned char *p, size_t n, mp_codec_term_fn fn, void *arg)
{
    struct dec d = {.p = p, .n = n};
    size_t count = get_len(&d, 4, left(&d) / 6);
    int rc = MP_OK;
    for (size_t i = 0; i < count && !d.bad && rc == MP_OK; i++) {
        struct mp_codec_term t;
        t.len = (uint8_t)get_len(&d, 1, sizeof(t.t) - 1);
        const unsigned char *b = take(&d, t.len);
        t.tc = (uint16_t)get_uint(&d, 2);
        t.tk = (uint16_t)get_uint(&d, 2);
        t.td = (uint8_t)get_uint(&d, 1);
        if (b != NULL && !d.bad)
            rc = fn(arg, (const char *)b, &t);
    }
    return rc != MP_OK ? rc : dec_status(&d);
}

struct term_fill {
    struct mp_codec_term *t;
    size_t n, cap;
};

static int fill_term(void *arg, const char *term, const struct mp_codec_term *t)
{
    struct term_fill *f = arg;
    if (f->n == f->cap)
        return MP_EIO;
    f->t[f->n] = *t;
    memcpy(f->t[f->n].t, term, t->len);
    f->t[f->n].t[t->len] = '\0';
    f->n++;
    return MP_OK;
}

int mp_codec_get_terms(const unsigned char *p, size_t n, struct mp_codec_term **out, size_t *nt)
{
    struct dec d = {.p = p, .n = n};
    size_t count = get_len(&d, 4, left(&d) / 6);
    struct term_fill f = {count > 0 ? calloc(count, sizeof(*f.t)) : NULL, 0, count};
    *out = NULL;
    *nt = 0;
    if (count > 0 && f.t == NULL)
        return MP_ENOMEM;
    int rc = mp_codec_each_term(p, n, fill_term, &f);
    if (rc != MP_OK) {
        free(f.t);
        return rc;
    }
    *out = f.t;
    *nt = f.n;
    return MP_OK;
}

int mp_codec_get_job(const unsigned char *p, size_t n, struct mp_job *j)
{
    struct dec d = {.p = p, .n = n};
    const unsigned char *user;
    uint64_t id = j->id;
    memset(j, 0, sizeof(*j));
    j->id = id;
    j->kind = (enum mp_job_kind)get_len(&d, 1, MP_JOB_EXTRACT);
    j->user_len = get_len(&d, 2, MP_USER_KEY_MAX);
    check(&d, j->user_len > 0);
    user = take(&d, j->user_len);
    if (user != NULL)
        memcpy(j->user, user, j->user_len);
    j->through_seq = get_uint(&d, 8);
    j->from_seq = get_uint(&d, 8);
    uint32_t word = (uint32_t)get_uint(&d, 4);
    j->attempts = word & 0xffff;
    j->malformed = (uint8_t)(word >> 16);
    j->failed = (uint8_t)(word >> 24);
    if (j->failed >= MP_JOB_FAIL_COUNT) /* a newer release's reason: failed all the same */
        j->failed = MP_JOB_FAIL_UPSTREAM;
    j->not_before_ms = (int64_t)get_uint(&d, 8);
    j->created_ms = (int64_t)get_uint(&d, 8);
    return dec_status(&d);
}

/* ---- a conversation's state (store_conv.c) ---- */

#define CONV_HEAD_VERSION 2u /* 1: format 11's one record, head and tail (mp_codec_get_conv_v1) */
#define CONV_TAIL_VERSION 1u
#define CONV_HAS_TAIL     0x1u
#define CONV_CLEARED      0x2u
#define HEAD_FOLLOWS      0x1u
#define HEAD_SUMMARY      0x2u
#define HEAD_PII          0x4u
#define CONV_ITEMS_MAX    65536u      /* facts or past messages of a head or tail */
#define CONV_TEXT_MAX     (16u << 20) /* bytes of a head's text */

static void enc_head(struct enc *e, const struct mp_inject_head *h)
{
    if (e->p == NULL) { /* counted, not walked: a head's arrays are its bulk */
        e->n += 4 + h->len + 4 + 4 + 4 * h->nfacts + 4 + 24 * h->npast + 8 + 8 + 1 + 4 + 4;
        return;
    }
    put_uint(e, h->len, 4);
    put_bytes(e, h->text, h->len);
    put_uint(e, h->tokens, 4);
    put_uint(e, h->nfacts, 4);
    for (size_t i = 0; i < h->nfacts; i++)
        put_uint(e, h->fact_ids[i], 4);
    put_uint(e, h->npast, 4);
    for (size_t i = 0; i < h->npast; i++) {
        put_uint(e, h->past[i].hash, 8);
        put_uint(e, h->past[i].len, 8);
        put_uint(e, h->past[i].seq, 8);
    }
    put_uint(e, (uint64_t)h->summary_at_ms, 8);
    put_uint(e, h->memory_epoch, 8);
    put_uint(e,
             (h->follows_summary ? HEAD_FOLLOWS : 0) | (h->summary ? HEAD_SUMMARY : 0) |
                 (h->inject_pii ? HEAD_PII : 0),
             1);
    put_uint(e, (uint32_t)h->sections, 4);
    put_uint(e, h->budget_tokens, 4);
}

size_t mp_codec_put_conv_head(unsigned char *p, const struct mp_store_conv *c)
{
    struct enc e = {p, 0};
    put_uint(&e, CONV_HEAD_VERSION, 1);
    put_uint(&e, c->stamp, 8);
    put_uint(&e, (uint64_t)c->built_ms, 8);
    put_uint(&e, c->cleared ? CONV_CLEARED : 0, 1);
    enc_head(&e, &c->head);
    return e.n;
}

size_t mp_codec_put_conv_tail(unsigned char *p, const struct mp_store_conv *c, uint32_t head_bytes)
{
    struct enc e = {p, 0};
    put_uint(&e, CONV_TAIL_VERSION, 1);
    put_uint(&e, c->stamp, 8);
    put_uint(&e, head_bytes, 4);
    put_uint(&e, (uint64_t)c->written_ms, 8);
    put_uint(&e, c->has_tail ? CONV_HAS_TAIL : 0, 1);
    if (!c->has_tail)
        return e.n;
    enc_head(&e, &c->tail.part);
    put_uint(&e, c->tail.anchor_hash, 8);
    put_uint(&e, c->tail.anchor_at, 8);
    return e.n;
}

/* The head's text, fact ids and past messages, stored at text, facts and
 * past (h's counts of them), into one allocation (h->block): its past
 * messages first, then its fact ids, then its text and a NUL (aligned for
 * each as malloc's block is). None of them: no allocation. */
static void dec_head_arrays(struct dec *d, struct mp_inject_head *h, const unsigned char *text,
                            const unsigned char *facts, const unsigned char *past)
{
    size_t past_bytes = h->npast * sizeof(*h->past), fact_bytes = h->nfacts * sizeof(*h->fact_ids);
    if (d->bad || h->len + h->nfacts + h->npast == 0)
        return;
    unsigned char *b = malloc(past_bytes + fact_bytes + h->len + 1);
    if (b == NULL) {
        d->bad = d->oom = true;
        return;
    }
    h->block = b;
    h->past = h->npast > 0 ? (struct mp_inject_past *)(void *)b : NULL;
    h->fact_ids = h->nfacts > 0 ? (uint32_t *)(void *)(b + past_bytes) : NULL;
    h->text = h->len > 0 ? (char *)b + past_bytes + fact_bytes : NULL;
    for (size_t i = 0; i < h->npast; i++, past += 24) {
        h->past[i].hash = mp_codec_le_get(past, 8);
        h->past[i].len = (size_t)mp_codec_le_get(past + 8, 8);
        h->past[i].seq = mp_codec_le_get(past + 16, 8);
    }
    for (size_t i = 0; i < h->nfacts; i++)
        h->fact_ids[i] = (uint32_t)mp_codec_le_get(facts + 4 * i, 4);
    if (h->len > 0) {
        memcpy(h->text, text, h->len);
        h->text[h->len] = '\0';
    }
}

/* A head as enc_head wrote it into *h (zeroed by the caller): its arrays
 * taken from d first (each as one run of bytes), then copied out. */
static void dec_head(struct dec *d, struct mp_inject_head *h)
{
    h->len = get_len(d, 4, CONV_TEXT_MAX);
    const unsigned char *text = take(d, h->len);
    h->tokens = (uint32_t)get_uint(d, 4);
    h->nfacts = get_len(d, 4, CONV_ITEMS_MAX);
    const unsigned char *facts = take(d, h->nfacts * 4);
    h->npast = get_len(d, 4, CONV_ITEMS_MAX);
    const unsigned char *past = take(d, h->npast * 24);
    h->summary_at_ms = (int64_t)get_uint(d, 8);
    h->memory_epoch = get_uint(d, 8);
    unsigned flags = (unsigned)get_len(d, 1, HEAD_FOLLOWS | HEAD_SUMMARY | HEAD_PII);
    h->follows_summary = (flags & HEAD_FOLLOWS) != 0;
    h->summary = (flags & HEAD_SUMMARY) != 0;
    h->inject_pii = (flags & HEAD_PII) != 0;
    h->sections = (int)(int32_t)get_uint(d, 4);
    h->budget_tokens = (uint32_t)get_uint(d, 4);
    dec_head_arrays(d, h, text, facts, past);
}

static void dec_tail(struct dec *d, struct mp_inject_tail *t)
{
    dec_head(d, &t->part);
    t->anchor_hash = get_uint(d, 8);
    t->anchor_at = (size_t)get_uint(d, 8);
}

int mp_codec_get_conv_head(const unsigned char *p, size_t n, struct mp_store_conv *c)
{
    struct dec d = {.p = p, .n = n};
    memset(&c->head, 0, sizeof(c->head));
    check(&d, get_uint(&d, 1) == CONV_HEAD_VERSION);
    c->stamp = get_uint(&d, 8);
    c->built_ms = (int64_t)get_uint(&d, 8);
    c->cleared = (get_len(&d, 1, CONV_CLEARED) & CONV_CLEARED) != 0;
    dec_head(&d, &c->head);
    int rc = dec_status(&d);
    if (rc != MP_OK)
        mp_inject_head_cleanup(&c->head);
    return rc;
}

int mp_codec_get_conv_tail(const unsigned char *p, size_t n, struct mp_store_conv *c,
                           struct mp_codec_conv_tail *meta)
{
    struct dec d = {.p = p, .n = n};
    check(&d, get_uint(&d, 1) == CONV_TAIL_VERSION);
    meta->head_stamp = get_uint(&d, 8);
    meta->head_bytes = (uint32_t)get_uint(&d, 4);
    meta->written_ms = (int64_t)get_uint(&d, 8);
    bool has_tail = (get_len(&d, 1, CONV_HAS_TAIL) & CONV_HAS_TAIL) != 0;
    if (c == NULL)
        return d.bad ? MP_EIO : MP_OK; /* the rest is not read */
    memset(&c->tail, 0, sizeof(c->tail));
    c->written_ms = meta->written_ms;
    c->has_tail = has_tail;
    if (has_tail)
        dec_tail(&d, &c->tail);
    int rc = dec_status(&d);
    if (rc != MP_OK) {
        mp_inject_tail_cleanup(&c->tail);
        c->has_tail = false;
    }
    return rc;
}

/* Format 11's tail's replayed messages, walked over (none is kept now):
 * how many there were. */
static size_t skip_picks(struct dec *d)
{
    size_t n = get_len(d, 4, CONV_ITEMS_MAX);
    for (size_t i = 0; i < n && !d->bad; i++) {
        (void)get_len(d, 1, MP_ROLE_ASSISTANT);
        (void)get_len(d, 1, 1);
        (void)take(d, get_len(d, 4, CONV_TEXT_MAX));
    }
    return n;
}

int mp_codec_get_conv_v1(const unsigned char *p, size_t n, struct mp_store_conv *c)
{
    struct dec d = {.p = p, .n = n};
    memset(c, 0, sizeof(*c));
    check(&d, get_uint(&d, 1) == 1);
    c->stamp = get_uint(&d, 8);
    c->built_ms = (int64_t)get_uint(&d, 8);
    c->written_ms = (int64_t)get_uint(&d, 8);
    unsigned flags = (unsigned)get_len(&d, 1, CONV_HAS_TAIL | CONV_CLEARED);
    c->has_tail = (flags & CONV_HAS_TAIL) != 0;
    c->cleared = (flags & CONV_CLEARED) != 0;
    dec_head(&d, &c->head);
    if (c->has_tail) {
        dec_tail(&d, &c->tail);
        c->has_tail = skip_picks(&d) == 0;
    }
    int rc = dec_status(&d);
    if (rc != MP_OK || !c->has_tail)
        mp_inject_tail_cleanup(&c->tail);
    if (rc != MP_OK)
        mp_store_conv_cleanup(c);
    return rc;
}

size_t mp_codec_put_leads(unsigned char *p, const uint64_t *leads, size_t n)
{
    struct enc e = {p, 0};
    put_uint(&e, n, 1);
    for (size_t i = 0; i < n; i++)
        put_uint(&e, leads[i], 8);
    return e.n;
}

int mp_codec_get_leads(const unsigned char *p, size_t n, uint64_t *leads, size_t *nleads)
{
    struct dec d = {.p = p, .n = n};
    *nleads = get_len(&d, 1, MP_STORE_CONV_LEADS);
    for (size_t i = 0; i < *nleads; i++)
        leads[i] = get_uint(&d, 8);
    int rc = dec_status(&d);
    if (rc != MP_OK)
        *nleads = 0;
    return rc;
}
