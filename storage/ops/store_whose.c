/* Whose words at recording (store.h: struct mp_store_recognize; docs/
 * memory-whose-words.md "Whose words"): what the store keeps to tell a client's text
 * from the person's, and the undo of what was recorded before it was
 * told.
 *
 * A client's template repeats where a person's words do not: the same
 * instruction file in every conversation of a user, the same scaffold
 * around each title request. So every block of a recorded user message
 * long enough to tell (core/wire/blocks.h) is kept as a print, never its
 * text, with the conversations it was seen in and the messages that hold
 * it (prints, layouts). When a turn brings a print back from another
 * conversation beside words of its own, the block is a template: left out
 * of this turn and cut out of every message that held it (a message of
 * nothing else erased), with the facts only it told. A block is a
 * template only beside other words, never alone: a person who says the
 * same thing in two chats keeps it.
 *
 * A side request (a title, a summary, follow-up suggestions) is a lone
 * request (nothing before its turn, no tools) about the conversation: its
 * user text quotes what the user just said, under instructions of its own.
 * Clients send it before or after the turn it is about, so both orders
 * are caught: a lone turn that quotes a turn of the last window_ms
 * (turns) with other instructions is not recorded; a turn quoted so by a
 * lone turn recorded earlier undoes it. Either way the side request's
 * instruction prints are learned (sides): every process loads them and
 * passes the next such request byte for byte before reading any memory
 * (proxy/plane/sidetab.h).
 *
 * What is undone is erased as a person's erasure is (archive, postings,
 * buffer; a new memory epoch, as a kept head may hold it), except that
 * the summary keeps what it drew from elsewhere: the values of the facts
 * retracted leave it. History: DELETED entries of actor client_text. */
#include "ops/store_whose.h"

#include <stdlib.h>
#include <string.h>

#include "wire/blocks.h"
#include "findbytes.h"
#include "ops/lifecycle.h"
#include "status.h"
#include "ops/store_archive.h"
#include "ops/store_facts.h"

#define QUOTE_MIN      12 /* bytes of a user's text a side request must quote */
#define QUOTE_EXTRA    16 /* ... and bytes of its own around it, at least */
#define PRINT_SEQS     8  /* messages a print remembers, for its undo */
#define PRINT_TEMPLATE 1  /* a print's flag: a client's template */
#define TURNS_MAX      64 /* recent turns looked at */
#define LAYOUT_MAX     8  /* printed blocks of one message (core/wire/ownwords.h's) */
#define TURN_REC_MAX   (8 + 3 + 8 * MP_STORE_INSTR_MAX + 4 * 8)

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- records ---- */

struct print_rec {
    uint8_t flags;
    uint64_t conv[2];
    uint8_t nseqs;
    uint64_t seqs[PRINT_SEQS];
};

struct turn_rec {
    uint64_t key; /* its first seq */
    int64_t at;
    bool lone;
    uint8_t kind;
    uint8_t ninstr;
    uint64_t instr[MP_STORE_INSTR_MAX];
    uint64_t uf, ul, rf, rl; /* user messages, reply: first, last (0: none) */
};

struct layout {
    uint8_t n;
    struct {
        uint32_t start, len;
        uint64_t print;
    } e[LAYOUT_MAX];
};

static size_t tag_key(const struct mp_ops_ctx *w, unsigned char *k, uint64_t print)
{
    unsigned char x[8], tag[MP_STORE_TAG_MAX];
    mp_codec_be_put(x, print, 8);
    return mp_ops_key(w, k, tag, mp_store_backend_tag(w->s, x, 8, tag));
}

static size_t seq_key(const struct mp_ops_ctx *w, unsigned char *k, uint64_t seq)
{
    unsigned char b[8];
    mp_codec_be_put(b, seq, 8);
    return mp_ops_key(w, k, b, 8);
}

static int get_print(struct mp_ops_ctx *w, uint64_t print, struct print_rec *r)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    memset(r, 0, sizeof(*r));
    int rc = mp_ops_get_plain(w, MP_TABLE_PRINTS, k, tag_key(w, k, print), &pv);
    if (rc == MP_OK && pv.n >= 18) {
        r->flags = pv.p[0];
        r->conv[0] = mp_codec_le_get(pv.p + 1, 8);
        r->conv[1] = mp_codec_le_get(pv.p + 9, 8);
        r->nseqs = pv.p[17] <= PRINT_SEQS ? pv.p[17] : 0;
        if (pv.n < 18 + 8u * r->nseqs)
            r->nseqs = 0;
        for (uint8_t i = 0; i < r->nseqs; i++)
            r->seqs[i] = mp_codec_le_get(pv.p + 18 + 8 * i, 8);
    }
    mp_store_backend_plain_done(&pv);
    return rc;
}

static int put_print(struct mp_ops_ctx *w, uint64_t print, const struct print_rec *r)
{
    unsigned char k[MP_STORE_KEY_MAX], v[18 + 8 * PRINT_SEQS];
    v[0] = r->flags;
    mp_codec_le_put(v + 1, r->conv[0], 8);
    mp_codec_le_put(v + 9, r->conv[1], 8);
    v[17] = r->nseqs;
    for (uint8_t i = 0; i < r->nseqs; i++)
        mp_codec_le_put(v + 18 + 8 * i, r->seqs[i], 8);
    return mp_store_backend_put(w->txn, MP_TABLE_PRINTS, k, tag_key(w, k, print), v,
                                18 + 8u * r->nseqs);
}

static int get_layout(struct mp_ops_ctx *w, uint64_t seq, struct layout *l)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    l->n = 0;
    int rc = mp_ops_get_plain(w, MP_TABLE_LAYOUTS, k, seq_key(w, k, seq), &pv);
    if (rc == MP_OK && pv.n >= 1 && pv.p[0] <= LAYOUT_MAX && pv.n >= 1 + 16u * pv.p[0]) {
        l->n = pv.p[0];
        for (uint8_t i = 0; i < l->n; i++) {
            const unsigned char *e = pv.p + 1 + 16 * i;
            l->e[i].start = (uint32_t)mp_codec_le_get(e, 4);
            l->e[i].len = (uint32_t)mp_codec_le_get(e + 4, 4);
            l->e[i].print = mp_codec_le_get(e + 8, 8);
        }
    }
    mp_store_backend_plain_done(&pv);
    return rc;
}

static int put_layout(struct mp_ops_ctx *w, uint64_t seq, const struct layout *l)
{
    unsigned char k[MP_STORE_KEY_MAX], v[1 + 16 * LAYOUT_MAX];
    size_t kn = seq_key(w, k, seq);
    if (l->n == 0) {
        int rc = w->s->be->del(w->txn, MP_TABLE_LAYOUTS, k, kn);
        return rc == MP_NOTFOUND ? MP_OK : rc;
    }
    v[0] = l->n;
    for (uint8_t i = 0; i < l->n; i++) {
        unsigned char *e = v + 1 + 16 * i;
        mp_codec_le_put(e, l->e[i].start, 4);
        mp_codec_le_put(e + 4, l->e[i].len, 4);
        mp_codec_le_put(e + 8, l->e[i].print, 8);
    }
    return mp_store_backend_put(w->txn, MP_TABLE_LAYOUTS, k, kn, v, 1 + 16u * l->n);
}

static size_t put_turn_rec(const struct turn_rec *t, unsigned char *v)
{
    size_t n = 0;
    mp_codec_le_put(v, (uint64_t)t->at, 8);
    v[8] = t->lone;
    v[9] = t->kind;
    v[10] = t->ninstr;
    n = 11;
    for (uint8_t i = 0; i < t->ninstr; i++, n += 8)
        mp_codec_le_put(v + n, t->instr[i], 8);
    const uint64_t seqs[4] = {t->uf, t->ul, t->rf, t->rl};
    for (int i = 0; i < 4; i++, n += 8)
        mp_codec_le_put(v + n, seqs[i], 8);
    return n;
}

static bool get_turn_rec(const unsigned char *v, size_t n, struct turn_rec *t)
{
    if (n < 11 || v[10] > MP_STORE_INSTR_MAX || n != 11 + 8u * v[10] + 32)
        return false;
    t->at = (int64_t)mp_codec_le_get(v, 8);
    t->lone = v[8] != 0;
    t->kind = v[9];
    t->ninstr = v[10];
    size_t at = 11;
    for (uint8_t i = 0; i < t->ninstr; i++, at += 8)
        t->instr[i] = mp_codec_le_get(v + at, 8);
    t->uf = mp_codec_le_get(v + at, 8);
    t->ul = mp_codec_le_get(v + at + 8, 8);
    t->rf = mp_codec_le_get(v + at + 16, 8);
    t->rl = mp_codec_le_get(v + at + 24, 8);
    return true;
}

/* ---- the user's recent turns ---- */

struct recents {
    struct turn_rec v[TURNS_MAX];
    size_t n;
    uint64_t stale[TURNS_MAX]; /* keys past the window, deleted after the scan */
    size_t nstale;
    int64_t since;
};

static int on_turn(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct recents *r = arg;
    struct turn_rec t;
    uint64_t key = mp_codec_be_get(id, 8);
    bool ok = get_turn_rec(pv->p, pv->n, &t);
    if (!ok || t.at < r->since) {
        if (r->nstale < TURNS_MAX)
            r->stale[r->nstale++] = key;
        return MP_OK;
    }
    if (r->n == TURNS_MAX)
        return MP_STORE_SCAN_STOP;
    t.key = key;
    r->v[r->n++] = t;
    return MP_OK;
}

/* The user's turns of the window into *r, the older records deleted. */
static int read_recents(struct mp_ops_ctx *w, int64_t since, struct recents *r)
{
    r->n = r->nstale = 0;
    r->since = since;
    int rc = mp_store_backend_scan_plain(w->txn, MP_TABLE_TURNS, w->prefix, w->plen, w->plen, 8,
                                         on_turn, r);
    for (size_t i = 0; rc == MP_OK && i < r->nstale; i++) {
        unsigned char k[MP_STORE_KEY_MAX];
        rc = w->s->be->del(w->txn, MP_TABLE_TURNS, k, seq_key(w, k, r->stale[i]));
        rc = rc == MP_NOTFOUND ? MP_OK : rc;
    }
    return rc;
}

static bool shares_instr(const struct turn_rec *t, const struct mp_store_recognize *rq)
{
    for (uint8_t i = 0; i < t->ninstr; i++)
        for (size_t j = 0; j < rq->ninstr; j++)
            if (t->instr[i] == rq->instr[j])
                return true;
    return false;
}

/* ---- texts ---- */

/* A copy of the loaded user's message seq (buffer, else archive) into *m
 * (m->content: caller frees). MP_NOTFOUND when neither holds it. */
static int load_message(struct mp_ops_ctx *w, uint64_t seq, struct mp_mem_message *m)
{
    for (size_t i = 0; i < w->um->nmessages; i++) {
        if (w->um->messages[i].seq != seq)
            continue;
        *m = w->um->messages[i];
        m->content = malloc(m->content_len + 1);
        if (m->content == NULL)
            return MP_ENOMEM;
        memcpy(m->content, w->um->messages[i].content, m->content_len + 1);
        return MP_OK;
    }
    return mp_ops_archive_get(w, seq, m);
}

/* text's bounds without the blanks at either end. */
static void trimmed(const char *text, size_t len, size_t *s, size_t *e)
{
    *s = 0;
    *e = len;
    while (*s < *e && is_blank(text[*s]))
        (*s)++;
    while (*e > *s && is_blank(text[*e - 1]))
        (*e)--;
}

/* Whether hay[0..n) quotes text[0..len): holds it (trimmed, at least
 * QUOTE_MIN bytes) with QUOTE_EXTRA bytes or more of its own. */
static bool quotes(const char *hay, size_t n, const char *text, size_t len)
{
    size_t s, e;
    trimmed(text, len, &s, &e);
    return e - s >= QUOTE_MIN && n >= e - s + QUOTE_EXTRA &&
           mp_find_bytes(hay, n, text + s, e - s) != NULL;
}

/* The user messages of op joined by "\n" (caller frees; *n). */
static char *op_text(const struct mp_whose_turn *t, size_t *n)
{
    size_t len = 0;
    for (size_t i = 0; i < t->n; i++)
        len += t->msgs[i].role == MP_ROLE_USER ? t->msgs[i].content_len + 1 : 0;
    char *s = malloc(len + 1);
    if (s == NULL)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->msgs[i].role != MP_ROLE_USER)
            continue;
        if (*n > 0)
            s[(*n)++] = '\n';
        memcpy(s + *n, t->msgs[i].content, t->msgs[i].content_len);
        *n += t->msgs[i].content_len;
    }
    s[*n] = '\0';
    return s;
}

/* The user messages of recent turn r, joined (caller frees; *n; NULL
 * with MP_OK in *rc when none is kept). */
static char *turn_text(struct mp_ops_ctx *w, const struct turn_rec *r, size_t *n, int *rc)
{
    size_t len = 0, cap = 0;
    char *s = NULL;
    *rc = MP_OK;
    for (uint64_t seq = r->uf; r->uf != 0 && seq <= r->ul && *rc == MP_OK; seq++) {
        struct mp_mem_message m;
        *rc = load_message(w, seq, &m);
        if (*rc == MP_NOTFOUND) {
            *rc = MP_OK;
            continue;
        }
        if (*rc != MP_OK)
            break;
        if (len + m.content_len + 2 > cap) {
            cap = len + m.content_len + 2;
            char *g = realloc(s, cap);
            *rc = g != NULL ? MP_OK : MP_ENOMEM;
            s = g != NULL ? g : s;
        }
        if (*rc == MP_OK) {
            if (len > 0)
                s[len++] = '\n';
            memcpy(s + len, m.content, m.content_len);
            len += m.content_len;
            s[len] = '\0';
        }
        free(m.content);
    }
    if (*rc != MP_OK || len == 0) {
        free(s);
        return NULL;
    }
    *n = len;
    return s;
}

/* ---- undo ---- */

/* The op recognition's changes are made by: its actor client_text. */
static struct mp_op as_recognition(const struct mp_op *op)
{
    struct mp_op by = *op;
    by.actor = MP_ACTOR_CLIENT_TEXT;
    return by;
}

static int append_events(struct mp_ops_ctx *w, struct mp_history_item *ev, size_t n)
{
    int rc = mp_ops_append_hist(w, ev, n);
    free(ev);
    return rc;
}

/* Erases message seq (archive with its postings, buffer, layout); *gone
 * when it was kept. */
static int erase(struct mp_ops_ctx *w, uint64_t seq, bool *gone)
{
    struct layout none = {0};
    int rc = mp_ops_archive_erase_message(w, seq);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    *gone = mp_lifecycle_drop_message(w->um, seq) || rc == MP_OK;
    return put_layout(w, seq, &none);
}

struct span {
    uint64_t from, through;
};

/* A fact some message of a span told alone: its source turn within it. */
static bool told_within(const struct mp_mem_entity *e, const void *arg)
{
    const struct span *sp = arg;
    return e->source_first_seq > 0 && e->source_first_seq >= sp->from &&
           e->source_last_seq <= sp->through;
}

static int learn_side(struct mp_ops_ctx *w, uint64_t print, uint8_t kind, int64_t at,
                      struct mp_store_recognized *r)
{
    unsigned char k[MP_STORE_KEY_MAX], v[17];
    bool known = false;
    mp_codec_le_put(v, print, 8);
    v[8] = kind;
    mp_codec_le_put(v + 9, (uint64_t)at, 8);
    for (size_t i = 0; i < r->nlearned; i++)
        known = known || r->learned[i] == print;
    if (!known && r->nlearned < MP_STORE_INSTR_MAX)
        r->learned[r->nlearned++] = print;
    r->learned_kind = kind;
    return mp_store_backend_put(w->txn, MP_TABLE_SIDES, k, tag_key(w, k, print), v, sizeof(v));
}

/* The facts among history entries ev[0..n) (the others: summary changes). */
static uint32_t facts_in(const struct mp_history_item *ev, size_t n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ev[i].item == MP_ITEM_FACT;
    return k;
}

/* Undoes recent turn t, a side request: its messages erased, the facts it
 * alone told retracted, its instructions learned, its record gone. */
static int undo_turn(struct mp_ops_ctx *w, const struct mp_op *op, const struct turn_rec *t,
                     struct mp_store_recognized *r)
{
    struct mp_op by = as_recognition(op);
    uint64_t last = t->rl != 0 ? t->rl : t->ul;
    uint32_t n = 0;
    int rc = MP_OK;
    if (t->uf == 0)
        return MP_OK; /* no user message: nothing it quoted */
    for (uint64_t seq = t->uf; seq <= last && rc == MP_OK; seq++) {
        bool gone = false;
        rc = erase(w, seq, &gone);
        n += gone;
    }
    struct span sp = {t->uf, last};
    struct mp_history_item *ev = NULL;
    size_t nev = 0;
    if (rc == MP_OK)
        rc = mp_ops_retract_facts(w, &by, told_within, &sp, &ev, &nev);
    r->retracted_facts += facts_in(ev, nev);
    if (rc == MP_OK && n > 0) {
        struct mp_history_item *all = realloc(ev, (nev + 1) * sizeof(*ev));
        rc = all != NULL ? MP_OK : MP_ENOMEM;
        ev = all != NULL ? all : ev;
        if (rc == MP_OK)
            mp_lifecycle_messages_entry(&by, MP_HIST_DELETED, MP_ACTOR_CLIENT_TEXT, n, &ev[nev++]);
    }
    if (rc == MP_OK)
        rc = append_events(w, ev, nev);
    else
        free(ev);
    for (uint8_t i = 0; rc == MP_OK && i < t->ninstr; i++)
        rc = learn_side(w, t->instr[i], t->kind, op->now_ms, r);
    unsigned char k[MP_STORE_KEY_MAX];
    if (rc == MP_OK) {
        rc = w->s->be->del(w->txn, MP_TABLE_TURNS, k, seq_key(w, k, t->key));
        rc = rc == MP_NOTFOUND ? MP_OK : rc;
    }
    r->undone_turns++;
    r->undone_messages += n;
    if (n > 0)
        mp_ops_touch_edited(w, op->now_ms); /* a kept head may hold it */
    return rc;
}

/* Cuts text[s, s + l) and the blanks after it: the bytes removed. */
static size_t cut_span(char *text, size_t *len, size_t s, size_t l)
{
    size_t e = s + l;
    while (e < *len && is_blank(text[e]))
        e++;
    memmove(text + s, text + e, *len - e);
    *len -= e - s;
    return e - s;
}

/* Trims text in place: the blanks removed before it. */
static size_t trim_in_place(char *text, size_t *len)
{
    size_t s, e;
    trimmed(text, *len, &s, &e);
    memmove(text, text + s, e - s);
    *len = e - s;
    text[*len] = '\0';
    return s;
}

/* A fact of a span's user words whose value the cut text held and what
 * is left of them does not. */
struct cut_fact {
    uint64_t seq;
    const char *cut, *left;
    size_t cut_len, left_len;
    int lang; /* the message's */
};

static bool told_by_cut(const struct mp_mem_entity *e, const void *arg)
{
    const struct cut_fact *c = arg;
    return e->source_role == MP_ROLE_USER && e->source_first_seq > 0 &&
           c->seq >= e->source_first_seq && c->seq <= e->source_last_seq &&
           mp_lifecycle_text_holds(c->cut, c->cut_len, c->lang, e->value, e->value_len) &&
           !mp_lifecycle_text_holds(c->left, c->left_len, c->lang, e->value, e->value_len);
}

#define NAMES_MAX 8 /* identifiers of a cut block that leave the summary */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/';
}

/* The summary's sentences that hold an identifier only the cut text had
 * (a word of 4 bytes or more with a digit, '-', '_', '.' or '/' inside:
 * plover-9, zebra-db, config.yaml) leave it: what a fold drew from a
 * client's text, whether or not a fact was. *ev (room for NAMES_MAX) gets
 * their FILTERED entries; the count returned. */
static size_t filter_names(struct mp_ops_ctx *w, const struct mp_op *by, const char *cut, size_t n,
                           const char *left, size_t left_len, int lang, struct mp_history_item *ev)
{
    size_t nev = 0, names = 0;
    for (size_t i = 0; i < n && names < NAMES_MAX && w->um->summary.text != NULL;) {
        size_t s = i;
        while (i < n && name_char(cut[i]))
            i++;
        size_t e = i;
        while (e > s && (cut[e - 1] == '.' || cut[e - 1] == '-' || cut[e - 1] == '/'))
            e--; /* a sentence's full stop is no part of a name */
        bool inner = false;
        for (size_t k = s + 1; k + 1 < e; k++)
            inner = inner || !((cut[k] | 0x20) >= 'a' && (cut[k] | 0x20) <= 'z');
        if (e - s >= 4 && inner && !mp_lifecycle_text_holds(left, left_len, lang, cut + s, e - s)) {
            names++;
            nev += mp_lifecycle_filter_summary(w->um, cut + s, e - s, MP_ACTOR_CLIENT_TEXT, by,
                                               &ev[nev]);
        }
        i += i < n && !name_char(cut[i]);
    }
    return nev;
}

/* The stored message seq with its block of print cut out (found by its
 * layout, checked by its print): rewritten, or erased when nothing is
 * left; the facts only the block told retracted. */
static int undo_block(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t seq, uint64_t print,
                      struct mp_store_recognized *r)
{
    struct layout l;
    struct mp_mem_message m;
    int rc = get_layout(w, seq, &l);
    size_t at = l.n;
    for (size_t i = 0; rc == MP_OK && i < l.n; i++)
        if (l.e[i].print == print)
            at = i;
    if (rc != MP_OK || at == l.n)
        return rc == MP_NOTFOUND || rc == MP_OK ? MP_OK : rc;
    rc = load_message(w, seq, &m);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    uint32_t s = l.e[at].start, n = l.e[at].len;
    if ((size_t)s + n > m.content_len || mp_blocks_print(m.content + s, n) != print) {
        free(m.content);
        return MP_OK; /* not the bytes the print was made of: left as it is */
    }
    char *cut = malloc(n + 1);
    rc = cut != NULL ? MP_OK : MP_ENOMEM;
    if (rc == MP_OK) {
        memcpy(cut, m.content + s, n);
        size_t gone = cut_span(m.content, &m.content_len, s, n);
        size_t lead = trim_in_place(m.content, &m.content_len);
        size_t k = 0;
        for (size_t i = 0; i < l.n; i++) {
            if (i == at)
                continue;
            l.e[k] = l.e[i];
            if (l.e[k].start > s)
                l.e[k].start -= (uint32_t)gone;
            l.e[k].start -= l.e[k].start >= lead ? (uint32_t)lead : l.e[k].start;
            k++;
        }
        l.n = (uint8_t)k;
        struct mp_op by = as_recognition(op);
        struct cut_fact cf = {seq, cut, m.content, n, m.content_len, m.lang};
        struct mp_history_item *ev = NULL;
        size_t nev = 0;
        rc = mp_ops_retract_facts(w, &by, told_by_cut, &cf, &ev, &nev);
        r->retracted_facts += facts_in(ev, nev);
        if (rc == MP_OK)
            rc = append_events(w, ev, nev);
        else
            free(ev);
        struct mp_history_item names[NAMES_MAX];
        size_t nn = filter_names(w, &by, cut, n, m.content, m.content_len, m.lang, names);
        if (rc == MP_OK)
            rc = mp_ops_append_hist(w, names, nn);
    }
    if (rc == MP_OK && m.content_len == 0) {
        bool gone = false;
        rc = erase(w, seq, &gone);
        struct mp_op by = as_recognition(op);
        struct mp_history_item ev;
        mp_lifecycle_messages_entry(&by, MP_HIST_DELETED, MP_ACTOR_CLIENT_TEXT, 1, &ev);
        if (rc == MP_OK && gone)
            rc = mp_ops_append_hist(w, &ev, 1);
    } else if (rc == MP_OK) {
        rc = mp_ops_archive_rewrite(w, seq, m.content, m.content_len);
        rc = rc == MP_NOTFOUND ? MP_OK : rc; /* kept in the buffer only */
        for (size_t i = 0; rc == MP_OK && i < w->um->nmessages; i++) {
            struct mp_mem_message *b = &w->um->messages[i];
            if (b->seq != seq)
                continue;
            free(b->content);
            b->content = m.content;
            b->content_len = m.content_len;
            m.content = NULL;
        }
        if (rc == MP_OK)
            rc = put_layout(w, seq, &l);
    }
    free(cut);
    free(m.content);
    r->undone_messages++;
    mp_ops_touch_edited(w, op->now_ms);
    return rc;
}

/* ---- before the turn ---- */

static int copy_turn(const struct mp_op *op, struct mp_whose_turn *t)
{
    const struct mp_store_recognize *rq = op->u.turn.recognize;
    t->n = op->u.turn.nmessages;
    t->msgs = malloc((t->n + 1) * sizeof(*t->msgs));
    t->edited = calloc(t->n + 1, sizeof(*t->edited));
    if (t->msgs == NULL || t->edited == NULL)
        return MP_ENOMEM;
    memcpy(t->msgs, op->u.turn.messages, t->n * sizeof(*t->msgs));
    t->nprints = 0;
    for (size_t i = 0; i < rq->nprints && i < MP_STORE_PRINTS_MAX; i++) {
        const struct mp_store_print *p = &rq->prints[i];
        if (p->msg < t->n && t->msgs[p->msg].role == MP_ROLE_USER &&
            (size_t)p->start + p->len <= t->msgs[p->msg].content_len && p->print != 0)
            t->prints[t->nprints++] = *p;
    }
    return MP_OK;
}

/* A buffered message the lone turn's text quotes, of a recent turn with
 * other instructions: the turn is a side request. */
static bool quotes_a_turn(const struct mp_ops_ctx *w, const struct mp_op *op,
                          const struct recents *rc, const char *text, size_t n)
{
    const struct mp_store_recognize *rq = op->u.turn.recognize;
    const char *rid = op->u.turn.messages[0].request_id;
    for (size_t i = 0; i < w->um->nmessages; i++) {
        const struct mp_mem_message *m = &w->um->messages[i];
        if (m->role != MP_ROLE_USER || m->at_ms < rc->since || strcmp(m->request_id, rid) == 0 ||
            !quotes(text, n, m->content, m->content_len))
            continue;
        for (size_t k = 0; k < rc->n; k++) {
            const struct turn_rec *t = &rc->v[k];
            if (m->seq >= t->uf && m->seq <= t->ul && t->uf != 0 && !shares_instr(t, rq))
                return true;
        }
    }
    return false;
}

/* Whether one of the lone turn's instructions is a known side request's. */
static int known_side(struct mp_ops_ctx *w, const struct mp_store_recognize *rq, bool *side)
{
    *side = false;
    for (size_t i = 0; i < rq->ninstr && !*side; i++) {
        unsigned char k[MP_STORE_KEY_MAX];
        struct mp_store_plain pv;
        int rc = mp_ops_get_plain(w, MP_TABLE_SIDES, k, tag_key(w, k, rq->instr[i]), &pv);
        mp_store_backend_plain_done(&pv);
        if (rc != MP_OK && rc != MP_NOTFOUND)
            return rc;
        *side = rc == MP_OK;
    }
    return MP_OK;
}

/* Recent lone turns the new turn's user words are quoted by: undone. */
static int undo_quoting(struct mp_ops_ctx *w, const struct mp_op *op, const struct recents *rc,
                        const struct mp_whose_turn *t, struct mp_store_recognized *r)
{
    const struct mp_store_recognize *rq = op->u.turn.recognize;
    int status = MP_OK;
    for (size_t k = 0; k < rc->n && status == MP_OK; k++) {
        const struct turn_rec *tr = &rc->v[k];
        if (!tr->lone || tr->ninstr == 0 || shares_instr(tr, rq))
            continue;
        size_t n = 0;
        char *text = turn_text(w, tr, &n, &status);
        bool quoted = false;
        for (size_t i = 0; text != NULL && i < t->n && !quoted; i++)
            quoted = t->msgs[i].role == MP_ROLE_USER &&
                     quotes(text, n, t->msgs[i].content, t->msgs[i].content_len);
        free(text);
        if (status == MP_OK && quoted)
            status = undo_turn(w, op, tr, r);
    }
    return status;
}

/* Gives message i of t a content of its own to edit. */
static int own_content(struct mp_whose_turn *t, size_t i)
{
    if (t->edited[i])
        return MP_OK;
    char *c = malloc(t->msgs[i].content_len + 1);
    if (c == NULL)
        return MP_ENOMEM;
    memcpy(c, t->msgs[i].content, t->msgs[i].content_len);
    c[t->msgs[i].content_len] = '\0';
    t->msgs[i].content = c;
    t->edited[i] = true;
    return MP_OK;
}

/* Cuts print j out of its message in t; the message's other prints move. */
static int cut_print(struct mp_whose_turn *t, size_t j)
{
    struct mp_store_print p = t->prints[j];
    struct mp_mem_message *m = &t->msgs[p.msg];
    int rc = own_content(t, p.msg);
    if (rc != MP_OK)
        return rc;
    size_t gone = cut_span(m->content, &m->content_len, p.start, p.len);
    size_t lead = trim_in_place(m->content, &m->content_len);
    size_t k = 0;
    for (size_t i = 0; i < t->nprints; i++) {
        if (i == j)
            continue;
        struct mp_store_print q = t->prints[i];
        if (q.msg == p.msg && q.start > p.start)
            q.start -= (uint32_t)gone;
        if (q.msg == p.msg)
            q.start -= q.start >= lead ? (uint32_t)lead : q.start;
        t->prints[k++] = q;
    }
    t->nprints = k;
    return MP_OK;
}

/* Leaves out the user messages with nothing left (their prints were cut
 * with their words); the prints of the others follow them. */
static void drop_empty(struct mp_whose_turn *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        bool empty = t->msgs[i].role == MP_ROLE_USER && t->edited[i] && t->msgs[i].content_len == 0;
        if (empty) {
            free(t->msgs[i].content);
            continue;
        }
        for (size_t j = 0; j < t->nprints; j++)
            if (t->prints[j].msg == i)
                t->prints[j].msg = (uint32_t)k; /* k <= i: no print is moved twice */
        t->edited[k] = t->edited[i];
        t->msgs[k++] = t->msgs[i];
    }
    t->n = k;
}

/* Nothing of the turn is recorded. */
static void record_nothing(struct mp_whose_turn *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->edited[i])
            free(t->msgs[i].content);
    memset(t->edited, 0, t->n * sizeof(*t->edited));
    t->n = 0;
    t->nprints = 0;
}

/* Repetition: the prints seen in another conversation, beside words of
 * the turn's own, are templates (see above). */
static int repetition(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_whose_turn *t,
                      struct mp_store_recognized *r)
{
    const struct mp_store_recognize *rq = op->u.turn.recognize;
    uint64_t conv = t->n > 0 ? t->msgs[0].conv : 0;
    struct print_rec rec[MP_STORE_PRINTS_MAX];
    bool seen[MP_STORE_PRINTS_MAX], fresh = rq->unprinted, any = false;
    int rc = MP_OK;
    if (conv == 0 || t->nprints == 0)
        return MP_OK; /* no conversation to tell another from */
    for (size_t i = 0; i < t->nprints && rc == MP_OK; i++) {
        rc = get_print(w, t->prints[i].print, &rec[i]);
        bool known = rc == MP_OK;
        rc = rc == MP_NOTFOUND ? MP_OK : rc;
        seen[i] = known && ((rec[i].flags & PRINT_TEMPLATE) ||
                            (rec[i].conv[0] != 0 && rec[i].conv[0] != conv) ||
                            (rec[i].conv[1] != 0 && rec[i].conv[1] != conv));
        fresh = fresh || !seen[i];
        any = any || seen[i];
    }
    if (rc != MP_OK || !fresh || !any)
        return rc;
    /* templates: undone where they were, then cut here (last first, so the
       indexes of the ones before stay) */
    for (size_t i = t->nprints; i-- > 0 && rc == MP_OK;) {
        if (!seen[i])
            continue;
        uint64_t print = t->prints[i].print;
        if (!(rec[i].flags & PRINT_TEMPLATE)) {
            for (uint8_t k = 0; k < rec[i].nseqs && rc == MP_OK; k++)
                rc = undo_block(w, op, rec[i].seqs[k], print, r);
            rec[i].flags |= PRINT_TEMPLATE;
            rec[i].nseqs = 0;
            if (rc == MP_OK)
                rc = put_print(w, print, &rec[i]);
        }
        if (rc == MP_OK)
            rc = cut_print(t, i);
        r->cut_blocks++;
    }
    drop_empty(t);
    return rc;
}

static bool any_user(const struct mp_whose_turn *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].role == MP_ROLE_USER)
            return true;
    return false;
}

int mp_whose_before(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_whose_turn *t,
                    struct mp_store_recognized *r)
{
    const struct mp_store_recognize *rq = op->u.turn.recognize;
    struct recents *rc = NULL;
    size_t n = 0;
    char *text = NULL;
    memset(t, 0, sizeof(*t));
    memset(r, 0, sizeof(*r));
    int status = copy_turn(op, t);
    if (status != MP_OK || !any_user(t))
        return status;
    rc = malloc(sizeof(*rc));
    status = rc != NULL ? read_recents(w, op->now_ms - rq->window_ms, rc) : MP_ENOMEM;
    text = status == MP_OK ? op_text(t, &n) : NULL;
    status = status == MP_OK && text == NULL ? MP_ENOMEM : status;
    if (status == MP_OK && rq->lone && rq->ninstr > 0) {
        status = known_side(w, rq, &r->side);
        r->side = r->side || (status == MP_OK && quotes_a_turn(w, op, rc, text, n));
    }
    if (status == MP_OK && r->side) {
        for (size_t i = 0; status == MP_OK && i < rq->ninstr; i++)
            status = learn_side(w, rq->instr[i], rq->side_kind, op->now_ms, r);
        record_nothing(t);
    }
    if (status == MP_OK && !r->side)
        status = undo_quoting(w, op, rc, t, r);
    if (status == MP_OK && !r->side)
        status = repetition(w, op, t, r);
    if (status == MP_OK && !any_user(t))
        record_nothing(t); /* nothing of the user's left: no turn */
    free(text);
    free(rc);
    return status;
}

/* ---- after the turn ---- */

static int note_print(struct mp_ops_ctx *w, uint64_t print, uint64_t conv, uint64_t seq)
{
    struct print_rec rec;
    int rc = get_print(w, print, &rec);
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    if (conv != 0 && rec.conv[0] == 0)
        rec.conv[0] = conv;
    else if (conv != 0 && rec.conv[0] != conv && rec.conv[1] == 0)
        rec.conv[1] = conv;
    bool held = false;
    for (uint8_t i = 0; i < rec.nseqs; i++)
        held = held || rec.seqs[i] == seq;
    if (!(rec.flags & PRINT_TEMPLATE) && !held && rec.nseqs < PRINT_SEQS)
        rec.seqs[rec.nseqs++] = seq;
    return put_print(w, print, &rec);
}

int mp_whose_after(struct mp_ops_ctx *w, const struct mp_op *op, const struct mp_whose_turn *t,
                   uint64_t first_seq)
{
    const struct mp_store_recognize *rq = op->u.turn.recognize;
    int rc = MP_OK;
    /* a turn of one block keeps no print: alone, a block is never a template */
    bool alone = t->nprints == 1 && !rq->unprinted;
    for (size_t i = 0; i < t->n && rc == MP_OK && !alone; i++) {
        struct layout l = {0};
        for (size_t j = 0; j < t->nprints && rc == MP_OK; j++) {
            const struct mp_store_print *p = &t->prints[j];
            if (p->msg != i || l.n == LAYOUT_MAX)
                continue;
            l.e[l.n].start = p->start;
            l.e[l.n].len = p->len;
            l.e[l.n++].print = p->print;
            rc = note_print(w, p->print, t->msgs[i].conv, first_seq + i);
        }
        if (rc == MP_OK && l.n > 0)
            rc = put_layout(w, first_seq + i, &l);
    }
    struct turn_rec tr = {
        .at = op->now_ms,
        .lone = rq->lone,
        .kind = rq->side_kind,
        .ninstr = (uint8_t)(rq->ninstr < MP_STORE_INSTR_MAX ? rq->ninstr : MP_STORE_INSTR_MAX)};
    memcpy(tr.instr, rq->instr, tr.ninstr * sizeof(tr.instr[0]));
    for (size_t i = 0; i < t->n; i++) {
        uint64_t seq = first_seq + i;
        bool user = t->msgs[i].role == MP_ROLE_USER;
        if (user && tr.uf == 0)
            tr.uf = seq;
        if (user)
            tr.ul = seq;
        if (!user && tr.rf == 0)
            tr.rf = seq;
        if (!user)
            tr.rl = seq;
    }
    unsigned char k[MP_STORE_KEY_MAX], v[TURN_REC_MAX];
    if (rc == MP_OK && rq->window_ms > 0)
        rc = mp_store_backend_put(w->txn, MP_TABLE_TURNS, k, seq_key(w, k, first_seq), v,
                                  put_turn_rec(&tr, v));
    return rc;
}

void mp_whose_turn_cleanup(struct mp_whose_turn *t)
{
    for (size_t i = 0; t->edited != NULL && i < t->n; i++)
        if (t->edited[i])
            free(t->msgs[i].content);
    free(t->msgs);
    free(t->edited);
    memset(t, 0, sizeof(*t));
}
