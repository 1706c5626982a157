/* The episodic archive of the op layer: every recorded message under its
 * seq, listed by time in atime, indexed for relevance (index.c). Folding
 * the buffer into the summary leaves it alone; erasure and retention
 * remove from it (store.h). */
#include <stdlib.h>
#include <string.h>

#include "ops/index.h"
#include "recall/lang.h"
#include "ops/lifecycle.h"
#include "status.h"
#include "ops/store_archive.h"
#include "ops/store_vectors.h"
#include "recall/terms.h"
#include "recall/wordhold.h"

#define TIME_BIAS ((uint64_t)1 << 63)

static size_t archive_key(const struct mp_ops_ctx *w, unsigned char *k, uint64_t seq)
{
    unsigned char b[8];
    mp_codec_be_put(b, seq, 8);
    return mp_ops_key(w, k, b, 8);
}

static size_t atime_key(const struct mp_ops_ctx *w, unsigned char *k, int64_t at_ms, uint64_t seq)
{
    unsigned char b[16];
    mp_codec_be_put(b, (uint64_t)at_ms + TIME_BIAS, 8);
    mp_codec_be_put(b + 8, seq, 8);
    return mp_ops_key(w, k, b, 16);
}

static int put_message(struct mp_ops_ctx *w, const struct mp_mem_message *m)
{
    unsigned char k[MP_STORE_KEY_MAX];
    size_t n = mp_codec_put_message(NULL, m);
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_message(buf, m);
    int rc = mp_store_backend_put(w->txn, MP_TABLE_ARCHIVE, k, archive_key(w, k, m->seq), buf, n);
    free(buf);
    if (rc == MP_OK)
        rc = mp_store_backend_put_raw(w->txn, MP_TABLE_ATIME, k, atime_key(w, k, m->at_ms, m->seq));
    struct mp_index_item it = {MP_CODEC_KIND_MESSAGE,
                               (uint32_t)m->seq,
                               m->content,
                               m->content_len,
                               NULL,
                               m->at_ms,
                               m->lang};
    if (rc == MP_OK && m->seq <= UINT32_MAX)
        rc = mp_index_add(w->txn, w->prefix, w->plen, &w->meta, &it);
    if (rc == MP_OK) {
        w->meta.narchive++;
        mp_codec_user_count_lang(&w->meta, m, 1);
    }
    return rc;
}

int mp_ops_archive_import(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t *seq)
{
    struct mp_mem_message m = op->u.turn.messages[0];
    m.seq = w->um->next_seq;
    m.recorded_at_ms = op->recorded_at_ms > 0 ? op->recorded_at_ms : op->now_ms;
    mp_lifecycle_identify(&m, 1, MP_LANG_NONE);
    int rc = put_message(w, &m);
    if (rc != MP_OK)
        return rc;
    w->um->next_seq++;
    *seq = m.seq;
    return MP_OK;
}

int mp_ops_archive_turn(struct mp_ops_ctx *w, size_t from)
{
    int rc = MP_OK;
    if (!w->s->archive)
        return MP_OK;
    for (size_t i = from; rc == MP_OK && i < w->um->nmessages; i++)
        rc = put_message(w, &w->um->messages[i]);
    return rc;
}

static int get_message(struct mp_ops_ctx *w, uint64_t seq, struct mp_mem_message *m)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    int rc = mp_ops_get_plain(w, MP_TABLE_ARCHIVE, k, archive_key(w, k, seq), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_message(pv.p, pv.n, m);
    mp_store_backend_plain_done(&pv);
    return rc;
}

static int remove_message(struct mp_ops_ctx *w, const struct mp_mem_message *m)
{
    unsigned char k[MP_STORE_KEY_MAX];
    int rc = w->s->be->del(w->txn, MP_TABLE_ARCHIVE, k, archive_key(w, k, m->seq));
    if (rc == MP_OK) {
        rc = w->s->be->del(w->txn, MP_TABLE_ATIME, k, atime_key(w, k, m->at_ms, m->seq));
        rc = rc == MP_NOTFOUND ? MP_OK : rc;
    }
    if (rc == MP_OK && m->seq <= UINT32_MAX)
        rc = mp_index_remove(w->txn, w->prefix, w->plen, &w->meta, MP_CODEC_KIND_MESSAGE,
                             (uint32_t)m->seq);
    if (rc == MP_OK)
        rc = mp_vectors_erase(w, MP_VEC_MESSAGE, m->seq); /* and its search keys' */
    if (rc == MP_OK && w->meta.narchive > 0)
        w->meta.narchive--;
    if (rc == MP_OK)
        mp_codec_user_count_lang(&w->meta, m, -1);
    return rc;
}

int mp_ops_archive_rewrite(struct mp_ops_ctx *w, uint64_t seq, const char *content, size_t len)
{
    struct mp_mem_message m;
    int rc = get_message(w, seq, &m);
    if (rc != MP_OK)
        return rc;
    rc = remove_message(w, &m);
    char *old = m.content;
    m.content = (char *)content;
    m.content_len = len;
    if (rc == MP_OK)
        rc = put_message(w, &m); /* search keys are the model's of the old words: gone */
    free(old);
    return rc;
}

/* The archived message seq, when filed under from, filed under to as kind,
 * its search keys kept: whether it moved (*moved). */
static int archive_refile(struct mp_ops_ctx *w, uint64_t seq, uint64_t from, uint64_t to,
                          uint8_t kind, bool *moved)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    struct mp_mem_message m = {0};
    const unsigned char *keys = NULL;
    size_t keys_len = 0, klen = archive_key(w, k, seq);
    unsigned char *held = NULL, *buf = NULL;
    *moved = false;
    int rc = mp_ops_get_plain(w, MP_TABLE_ARCHIVE, k, klen, &pv);
    if (rc == MP_NOTFOUND)
        return MP_OK;
    if (rc == MP_OK)
        rc = mp_codec_get_archived_keys(pv.p, pv.n, &keys, &keys_len);
    if (rc == MP_OK && keys_len > 0) /* borrowed from the read: copied before it ends */
        rc = (held = malloc(keys_len)) != NULL ? MP_OK : MP_ENOMEM;
    if (rc == MP_OK && keys_len > 0)
        memcpy(held, keys, keys_len);
    if (rc == MP_OK)
        rc = mp_codec_get_message(pv.p, pv.n, &m);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK && m.conv == from) {
        m.conv = to;
        m.conv_kind = kind;
        size_t n = mp_codec_put_archived(NULL, &m, (const char *)held, keys_len);
        rc = (buf = malloc(n)) != NULL ? MP_OK : MP_ENOMEM;
        if (rc == MP_OK) {
            mp_codec_put_archived(buf, &m, (const char *)held, keys_len);
            rc = mp_store_backend_put(w->txn, MP_TABLE_ARCHIVE, k, klen, buf, n);
        }
        *moved = rc == MP_OK;
    }
    free(buf);
    free(held);
    free(m.content);
    return rc;
}

int mp_ops_refile(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    bool any = false;
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; w->exists && i < w->um->nmessages; i++) {
        struct mp_mem_message *m = &w->um->messages[i];
        if (m->seq < op->u.refile.first_seq || m->seq > op->u.refile.last_seq ||
            m->conv != op->u.refile.from)
            continue;
        m->conv = op->u.refile.to;
        m->conv_kind = op->u.refile.kind;
        w->dirty = any = true;
    }
    for (uint64_t s = op->u.refile.first_seq;
         w->exists && rc == MP_OK && s <= op->u.refile.last_seq; s++) {
        bool moved;
        rc = archive_refile(w, s, op->u.refile.from, op->u.refile.to, op->u.refile.kind, &moved);
        any = any || moved;
    }
    out->result = any ? MP_OK : MP_NOTFOUND;
    return rc;
}

int mp_ops_archive_set_keys(struct mp_ops_ctx *w, const struct mp_op *op)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    struct mp_mem_message m;
    const unsigned char *had;
    size_t had_len, klen = archive_key(w, k, op->u.keys.seq);
    if (op->u.keys.seq > UINT32_MAX)
        return MP_NOTFOUND; /* never indexed */
    int rc = mp_ops_get_plain(w, MP_TABLE_ARCHIVE, k, klen, &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_archived_keys(pv.p, pv.n, &had, &had_len);
    if (rc == MP_OK)
        rc = had_len > 0 ? MP_NOTFOUND : mp_codec_get_message(pv.p, pv.n, &m);
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK)
        return rc;
    size_t n = mp_codec_put_archived(NULL, &m, op->u.keys.text, op->u.keys.text_len);
    unsigned char *buf = malloc(n);
    rc = buf != NULL ? MP_OK : MP_ENOMEM;
    if (rc == MP_OK) {
        mp_codec_put_archived(buf, &m, op->u.keys.text, op->u.keys.text_len);
        rc = mp_store_backend_put(w->txn, MP_TABLE_ARCHIVE, k, klen, buf, n);
    }
    if (rc == MP_OK)
        rc = mp_index_add_keys(w->txn, w->prefix, w->plen, &w->meta, MP_CODEC_KIND_MESSAGE,
                               (uint32_t)op->u.keys.seq, m.lang, op->u.keys.text,
                               op->u.keys.text_len);
    free(buf);
    free(m.content);
    return rc;
}

/* ---- erasure ---- */

struct seqs {
    uint64_t *v;
    size_t n, cap;
};

static int push(struct seqs *s, uint64_t seq)
{
    if (mp_store_backend_grow(&s->v, &s->cap, s->n, sizeof(*s->v)) != MP_OK)
        return MP_ENOMEM;
    s->v[s->n++] = seq;
    return MP_OK;
}

struct id_scan {
    size_t plen;  /* key bytes before the id (postings) or the seq (archive) */
    size_t width; /* 4: a posting's item id; 8: an archive seq */
    struct seqs *out;
    size_t count; /* postings seen */
};

static int on_id(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                 size_t vlen)
{
    struct id_scan *is = arg;
    (void)val;
    (void)vlen;
    if (klen != is->plen + is->width)
        return MP_STORE_SCAN_STOP;
    is->count++;
    return is->out != NULL ? push(is->out, mp_codec_be_get(key + is->plen, is->width)) : MP_OK;
}

/* The postings of a message term: counted (out NULL) or collected. */
static int term_ids(struct mp_ops_ctx *w, const char *t, size_t len, struct seqs *out,
                    size_t *count)
{
    unsigned char k[MP_STORE_KEY_MAX];
    size_t n = mp_index_posting_key(w->s, k, w->prefix, w->plen, MP_CODEC_KIND_MESSAGE, t, len, 0);
    struct id_scan is = {n - 4, 4, out, 0};
    int rc = w->s->be->scan(w->txn, MP_TABLE_POSTINGS, k, n - 4, n - 4, on_id, &is);
    *count = is.count;
    return rc;
}

struct rarest {
    struct mp_ops_ctx *w;
    char t[MP_TERMS_MAX];
    size_t len, count;
    bool any;
};

static int on_value_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct rarest *r = arg;
    size_t count;
    (void)pos;
    int rc = term_ids(r->w, term, len, NULL, &count);
    if (rc == MP_OK && (!r->any || count < r->count)) {
        memcpy(r->t, term, len);
        r->len = len;
        r->count = count;
        r->any = true;
    }
    return rc;
}

/* Adds lang to langs[0..*n) (cap) unless it is there or none. */
static void add_lang(int *langs, size_t *n, size_t cap, int lang)
{
    bool seen = lang == MP_LANG_NONE || lang >= MP_LANG_COUNT;
    for (size_t k = 0; k < *n && !seen; k++)
        seen = langs[k] == lang;
    if (!seen && *n < cap)
        langs[(*n)++] = lang;
}

/* The languages a value is read in to find the messages that may hold
 * it: its own, each language of the user's buffered messages and each of
 * the archive's (the user record's count). A message is indexed in its
 * stored language, so the value's words stemmed in another language
 * ("Ankara'da" read as Turkish, the value "Ankara" alone as English) may
 * miss its postings; one of these is the message's language. Into
 * langs[0..cap): how many. */
static size_t value_langs(const struct mp_ops_ctx *w, const char *value, size_t len, int *langs,
                          size_t cap)
{
    size_t n = 0;
    add_lang(langs, &n, cap, mp_lang_detect(value, len));
    for (size_t i = 0; i < w->um->nmessages; i++)
        add_lang(langs, &n, cap, w->um->messages[i].lang);
    for (int l = MP_LANG_NONE + 1; l < MP_LANG_COUNT; l++)
        if (w->meta.langs[l] > 0)
            add_lang(langs, &n, cap, l);
    return n;
}

/* The term of the last word of text[0..len) (its last term): *last. */
static int on_last_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct rarest *r = arg;
    (void)pos;
    memcpy(r->t, term, len);
    r->len = len;
    r->any = true;
    return MP_OK;
}

/* The postings of the value's last word written possessive ("Caroline's":
 * wordhold.h holds it), read as lang: a language whose stemmer keeps the
 * "'s" indexes it as a word of its own. */
static int possessive_ids(struct mp_ops_ctx *w, const char *value, size_t len, int lang,
                          struct seqs *out)
{
    char buf[MP_TERMS_MAX * 2 + sizeof(MP_WORDHOLD_POSSESSIVE)];
    struct rarest r = {.w = w};
    size_t count, from = len > MP_TERMS_MAX * 2 ? len - MP_TERMS_MAX * 2 : 0;
    unsigned char c = len > 0 ? (unsigned char)value[len - 1] : 0;
    if (!(c >= 0x80 || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
        return MP_OK; /* no letter to be possessive of */
    while (from < len && ((unsigned char)value[from] & 0xC0) == 0x80)
        from++;
    memcpy(buf, value + from, len - from);
    memcpy(buf + len - from, MP_WORDHOLD_POSSESSIVE, strlen(MP_WORDHOLD_POSSESSIVE));
    size_t n = len - from + strlen(MP_WORDHOLD_POSSESSIVE);
    int rc = mp_terms_each_lang(w->s->terms, buf, n, lang, on_last_term, &r);
    return rc == MP_OK && r.any ? term_ids(w, r.t, r.len, out, &count) : rc;
}

/* Candidates for holding value[0..len) as whole words (wordhold.h): in
 * each of value_langs(), the postings of its rarest word and of its last
 * word written possessive. Every archived message instead when the index
 * cannot vouch for that: a value of a script written without spaces (the
 * index holds a dictionary's words of it, not every run of its
 * characters), or one that reads as no term in some language (its words
 * are stop words there). */
static int value_candidates(struct mp_ops_ctx *w, const char *value, size_t len, struct seqs *out)
{
    int langs[MP_LANG_COUNT];
    bool every = mp_wordhold_unspaced(value, len);
    if (w->s->terms == NULL && mp_terms_new(&w->s->terms) != MP_OK)
        return MP_ENOMEM;
    size_t nlangs = value_langs(w, value, len, langs, sizeof(langs) / sizeof(langs[0]));
    for (size_t k = 0; k < nlangs && !every; k++) {
        struct rarest r = {.w = w};
        size_t count;
        int rc = mp_terms_each_lang(w->s->terms, value, len, langs[k], on_value_term, &r);
        if (rc == MP_OK && r.any)
            rc = term_ids(w, r.t, r.len, out, &count);
        if (rc == MP_OK && r.any)
            rc = possessive_ids(w, value, len, langs[k], out);
        if (rc != MP_OK)
            return rc;
        every = !r.any;
    }
    if (!every)
        return MP_OK;
    out->n = 0;
    struct id_scan is = {w->plen, 8, out, 0};
    return w->s->be->scan(w->txn, MP_TABLE_ARCHIVE, w->prefix, w->plen, w->plen, on_id, &is);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int mp_ops_archive_holding(struct mp_ops_ctx *w, const char *value, size_t len, uint64_t **out,
                           size_t *nout)
{
    struct seqs cand = {NULL, 0, 0}, hold = {NULL, 0, 0};
    *out = NULL;
    *nout = 0;
    if (w->meta.narchive == 0 || len == 0)
        return MP_OK;
    int rc = value_candidates(w, value, len, &cand);
    if (cand.n > 0)
        qsort(cand.v, cand.n, sizeof(*cand.v), cmp_u64);
    for (size_t i = 0; rc == MP_OK && i < cand.n; i++) {
        struct mp_mem_message m;
        if (i > 0 && cand.v[i] == cand.v[i - 1])
            continue;
        rc = get_message(w, cand.v[i], &m);
        if (rc == MP_NOTFOUND) {
            rc = MP_OK;
            continue;
        }
        if (rc == MP_OK && mp_lifecycle_text_holds(m.content, m.content_len, m.lang, value, len))
            rc = push(&hold, m.seq);
        free(m.content);
    }
    free(cand.v);
    if (rc != MP_OK) {
        free(hold.v);
        return rc;
    }
    *out = hold.v;
    *nout = hold.n;
    return MP_OK;
}

int mp_ops_archive_get(struct mp_ops_ctx *w, uint64_t seq, struct mp_mem_message *m)
{
    return w->meta.narchive == 0 ? MP_NOTFOUND : get_message(w, seq, m);
}

int mp_ops_archive_erase_message(struct mp_ops_ctx *w, uint64_t seq)
{
    struct mp_mem_message m;
    if (w->meta.narchive == 0)
        return MP_NOTFOUND;
    int rc = get_message(w, seq, &m);
    if (rc != MP_OK)
        return rc;
    rc = remove_message(w, &m);
    free(m.content);
    return rc;
}

/* ---- retention ---- */

struct time_scan {
    size_t plen;
    int64_t horizon;
    struct seqs *out;
};

static int on_time(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                   size_t vlen)
{
    struct time_scan *ts = arg;
    (void)val;
    (void)vlen;
    if (klen != ts->plen + 16)
        return MP_STORE_SCAN_STOP;
    int64_t at = (int64_t)(mp_codec_be_get(key + ts->plen, 8) - TIME_BIAS);
    if (at >= ts->horizon)
        return MP_STORE_SCAN_STOP;
    return push(ts->out, mp_codec_be_get(key + ts->plen + 8, 8));
}

/* The expired buffered messages the archive does not hold (recorded with
 * the archive off): counted before the archive's go, so that a message is
 * counted once whichever copies it had. */
static int count_unarchived(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t *count)
{
    unsigned char k[MP_STORE_KEY_MAX];
    const unsigned char *v;
    size_t vn;
    for (size_t i = 0; i < w->um->nmessages; i++) {
        const struct mp_mem_message *m = &w->um->messages[i];
        if (!mp_lifecycle_expired(op, mp_lifecycle_age_from(m->at_ms, m->recorded_at_ms), m->pii))
            continue;
        int rc = w->s->be->get(w->txn, MP_TABLE_ARCHIVE, k, archive_key(w, k, m->seq), &v, &vn);
        if (rc == MP_NOTFOUND)
            (*count)++;
        else if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

int mp_ops_sweep_archive(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t *count)
{
    struct seqs old = {NULL, 0, 0};
    struct time_scan ts = {w->plen, mp_lifecycle_hist_horizon(op), &old};
    *count = 0;
    if (w->meta.narchive == 0 || ts.horizon == INT64_MIN)
        return MP_OK;
    int rc = count_unarchived(w, op, count);
    if (rc == MP_OK)
        rc = w->s->be->scan(w->txn, MP_TABLE_ATIME, w->prefix, w->plen, w->plen, on_time, &ts);
    for (size_t i = 0; rc == MP_OK && i < old.n; i++) {
        struct mp_mem_message m;
        rc = get_message(w, old.v[i], &m);
        if (rc == MP_NOTFOUND) {
            rc = MP_OK;
            continue;
        }
        /* an imported message older than its receipt is a candidate by
           its time and may not be due yet */
        if (rc == MP_OK &&
            mp_lifecycle_expired(op, mp_lifecycle_age_from(m.at_ms, m.recorded_at_ms), m.pii)) {
            rc = remove_message(w, &m);
            (*count)++;
        }
        free(m.content);
    }
    free(old.v);
    return rc;
}
