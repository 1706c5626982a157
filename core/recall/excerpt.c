/* Excerpts of long past messages (excerpt.h). The sentences are found in
 * one pass over the text, which also finds the question words each holds (a
 * bit per word: a question has at most MP_RELEVANCE_MAX_GROUPS = 64);
 * the choice is greedy by the words a sentence adds, which spreads the
 * room over the question's words instead of spending it on one repeated. */
#include "recall/excerpt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recall/relevance_words.h"
#include "status.h"
#include "json/utf8.h"

/* What memblock's plain cut keeps at least: room less its ellipsis, the
 * 40 bytes it may step back to a space, and a split character. */
#define PLAIN_SLACK 48

struct sentence {
    size_t off, len; /* text[off..off+len): trimmed, never empty */
    size_t keep;     /* bytes kept when chosen (len, or a cut of it) */
    uint64_t words;  /* the question words it holds */
    bool chosen, unfit;
};

struct sentences {
    struct sentence *s;
    size_t n, cap;
};

/* Byte classes: WORD, letters, digits and every byte of a multibyte
 * character; END, what ends a sentence before white space; SPACE. */
enum { WORD = 1, END = 2, SPACE = 4 };
static const unsigned char CLASS[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 2,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static bool is_space(char c)
{
    return CLASS[(unsigned char)c] & SPACE;
}

/* Letters, digits and every byte of a multibyte character. */
static bool word_byte(unsigned char c)
{
    return CLASS[c] & WORD;
}

static unsigned char fold(unsigned char c)
{
    return (unsigned)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/* Adds text[from..to), trimmed, unless it is blank. */
static int add(struct sentences *ss, const char *text, size_t from, size_t to, uint64_t words)
{
    while (from < to && is_space(text[from]))
        from++;
    while (to > from && is_space(text[to - 1]))
        to--;
    if (from == to)
        return MP_OK;
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 32;
        struct sentence *s = realloc(ss->s, cap * sizeof(*s));
        if (s == NULL)
            return MP_ENOMEM;
        ss->s = s;
        ss->cap = cap;
    }
    ss->s[ss->n++] =
        (struct sentence){.off = from, .len = to - from, .keep = to - from, .words = words};
    return MP_OK;
}

/* A question word found in a text word: the word starts with its stem and
 * goes on by at most SUFFIX_MAX letters (an English stem is most of its
 * words: "optim" of "optimizing"); a stem with a digit, or shorter than
 * WHOLE_BELOW bytes, only as the whole word. A scan, not the tokenizer:
 * a long message is read each time it is offered, and stemming every word
 * of it cost about ten times this. */
#define SUFFIX_MAX  7
#define WHOLE_BELOW 4

static bool has_digit(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned)(t[i] - '0') < 10)
            return true;
    return false;
}

static bool stem_of(const struct mp_relevance_qword *q, const char *w, size_t n)
{
    if (n < q->len || n - q->len > SUFFIX_MAX ||
        (n > q->len && (q->len < WHOLE_BELOW || has_digit(q->term, q->len))))
        return false;
    for (size_t i = 0; i < q->len; i++)
        if (fold((unsigned char)w[i]) != (unsigned char)q->term[i])
            return false;
    return true;
}

/* The question words (bits of by_first: the words of each first byte) that
 * text[0..n), one word, is. */
static uint64_t word_is(const struct mp_relevance_question *qn, const uint64_t *by_first,
                        const char *w, size_t n)
{
    uint64_t out = 0;
    for (uint64_t maybe = by_first[fold((unsigned char)w[0])]; maybe != 0; maybe &= maybe - 1) {
        int k = __builtin_ctzll(maybe);
        if (stem_of(&qn->w[k], w, n))
            out |= (uint64_t)1 << k;
    }
    return out;
}

/* The length of the sentence end of another script at text[i..len) (。
 * ！ ？ ． ｡ ؟ ۔ । ॥ ။ ។), 0 when there is none: it ends a sentence with
 * or without white space after it (Chinese and Japanese put none). */
static size_t mb_end(const char *text, size_t len, size_t i)
{
    static const char *const ends[] = {
        "\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F", "\xEF\xBC\x8E", "\xEF\xBD\xA1", "\xD8\x9F",
        "\xDB\x94",     "\xE0\xA5\xA4", "\xE0\xA5\xA5", "\xE1\x81\x8B", "\xE1\x9F\x94",
    };
    if ((unsigned char)text[i] < 0xC0)
        return 0;
    for (size_t k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
        size_t n = strlen(ends[k]);
        if (n <= len - i && memcmp(text + i, ends[k], n) == 0)
            return n;
    }
    return 0;
}

/* Whether a question word is of a script written without spaces (Han,
 * Kana, Hangul, Thai, Lao: U+0E00..U+0EFF and U+3000..U+DFFF): found
 * anywhere inside a text word, which is a run of them up to punctuation. */
static bool infix_word(const struct mp_relevance_qword *q)
{
    const unsigned char *t = (const unsigned char *)q->term;
    if (q->len < 3)
        return false;
    return (t[0] >= 0xE3 && t[0] <= 0xED) || (t[0] == 0xE0 && t[1] >= 0xB8 && t[1] <= 0xBB);
}

/* The infix question words (bits of infix) that text[0..n) holds. */
static uint64_t word_holds(const struct mp_relevance_question *qn, uint64_t infix, const char *w,
                           size_t n)
{
    uint64_t out = 0;
    for (uint64_t maybe = infix; maybe != 0; maybe &= maybe - 1) {
        int k = __builtin_ctzll(maybe);
        if (memmem(w, n, qn->w[k].term, qn->w[k].len) != NULL)
            out |= (uint64_t)1 << k;
    }
    return out;
}

/* The sentences of text with the question words each holds, in one pass:
 * a sentence ends at '.', '!' or '?' before white space, at a sentence end
 * of another script (mb_end), and at a line break. */
static int split(const struct mp_relevance_question *qn, const char *text, size_t len,
                 struct sentences *ss)
{
    uint64_t by_first[256] = {0}, infix = 0;
    for (size_t k = 0; k < qn->nq && k < 64; k++) {
        if (qn->w[k].len == 0)
            continue;
        if (infix_word(&qn->w[k]))
            infix |= (uint64_t)1 << k;
        else
            by_first[(unsigned char)qn->w[k].term[0]] |= (uint64_t)1 << k;
    }
    size_t from = 0;
    uint64_t words = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        size_t end = 0;
        if (word_byte((unsigned char)c) && (end = mb_end(text, len, i)) == 0) {
            size_t w = i;
            while (i < len && word_byte((unsigned char)text[i]) && mb_end(text, len, i) == 0)
                i++;
            words |= word_is(qn, by_first, text + w, i - w);
            if (infix != 0)
                words |= word_holds(qn, infix, text + w, i - w);
            continue;
        }
        i += end > 0 ? end : 1;
        if (end == 0 && c != '\n' &&
            !((CLASS[(unsigned char)c] & END) && i < len && is_space(text[i])))
            continue;
        int rc = add(ss, text, from, i, words);
        if (rc != MP_OK)
            return rc;
        from = i;
        words = 0;
    }
    return add(ss, text, from, len, words);
}

/* n bytes of text[0..len) or fewer, never none: at a space when one is in
 * the last half, else at a UTF-8 boundary (mp_utf8_cut; at n in text that
 * is not UTF-8 there: a run of continuation bytes back to its start). */
static size_t cut_at(const char *text, size_t len, size_t n)
{
    if (n >= len)
        return len;
    size_t at = n;
    while (at > n / 2 && text[at] != ' ')
        at--;
    if (at > n / 2)
        return at;
    at = mp_utf8_cut(text, len, n);
    return at > 0 ? at : n;
}

/* Chooses sentence 0 (cut to a quarter of room), then, greedily, the
 * sentence adding the most question words not yet kept, each cut to what
 * is left when at least MP_EXCERPT_PIECE_MIN bytes of it fit, then the
 * sentence after each chosen one that fits whole (from the text's end, so
 * that one added is not followed in turn). */
static void choose(const char *text, struct sentences *ss, size_t room)
{
    struct sentence *s = ss->s;
    s[0].keep = cut_at(text + s[0].off, s[0].len, room / 4);
    s[0].chosen = true;
    uint64_t kept = s[0].words;
    size_t left = room - s[0].keep - MP_EXCERPT_END_LEN;
    for (;;) {
        size_t best = 0;
        int gain = 0;
        for (size_t i = 1; i < ss->n; i++) {
            int g = s[i].chosen || s[i].unfit ? 0 : __builtin_popcountll(s[i].words & ~kept);
            if (g > gain) {
                gain = g;
                best = i;
            }
        }
        if (gain == 0)
            break;
        struct sentence *b = &s[best];
        size_t fits = left > MP_EXCERPT_SEP_LEN ? left - MP_EXCERPT_SEP_LEN : 0;
        if (fits < b->len && fits < MP_EXCERPT_PIECE_MIN) {
            b->unfit = true;
            continue;
        }
        b->keep = cut_at(text + b->off, b->len, fits);
        b->chosen = true;
        kept |= b->words;
        left -= MP_EXCERPT_SEP_LEN + b->keep;
    }
    for (size_t i = ss->n - 1; i > 1; i--) {
        if (!s[i - 1].chosen || s[i - 1].keep < s[i - 1].len || s[i].chosen || s[i].len + 1 > left)
            continue;
        s[i].chosen = true;
        left -= s[i].len + 1;
    }
}

/* Whether every chosen sentence past the first ends where the plain cut
 * keeps the text anyway. */
static bool plain_holds(const struct sentences *ss, size_t room)
{
    size_t plain = room > PLAIN_SLACK ? room - PLAIN_SLACK : 0;
    for (size_t i = 1; i < ss->n; i++)
        if (ss->s[i].chosen && ss->s[i].off + ss->s[i].len > plain)
            return false;
    return true;
}

static size_t put(char *out, size_t at, const char *p, size_t n)
{
    memcpy(out + at, p, n);
    return at + n;
}

/* The chosen pieces in text order: " … " between pieces that are not
 * next to each other whole, a space between those that are, " …" at the
 * end when the text goes on. */
static size_t write_out(const char *text, const struct sentences *ss, char *out)
{
    size_t at = 0;
    const struct sentence *prev = NULL;
    for (size_t i = 0; i < ss->n; i++) {
        const struct sentence *s = &ss->s[i];
        if (!s->chosen)
            continue;
        if (prev != NULL) {
            bool next_to = prev == s - 1 && prev->keep == prev->len;
            at = next_to ? put(out, at, " ", 1) : put(out, at, MP_EXCERPT_SEP, MP_EXCERPT_SEP_LEN);
        }
        at = put(out, at, text + s->off, s->keep);
        prev = s;
    }
    if (prev != NULL && (prev->keep < prev->len || prev != &ss->s[ss->n - 1]))
        at = put(out, at, MP_EXCERPT_END, MP_EXCERPT_END_LEN); /* sentences are never blank */
    return at;
}

int mp_excerpt_make(const struct mp_relevance_question *qn, const char *text, size_t len,
                    size_t room, char **out, size_t *out_len)
{
    struct sentences ss = {NULL, 0, 0};
    *out = NULL;
    *out_len = 0;
    if (len <= room || qn == NULL || qn->nq == 0 || room < 4 * MP_EXCERPT_PIECE_MIN)
        return MP_OK;
    int rc = split(qn, text, len, &ss);
    if (rc != MP_OK || ss.n <= 1)
        goto out;
    choose(text, &ss, room);
    if (plain_holds(&ss, room))
        goto out;
    *out = malloc(room + 1);
    if (*out == NULL) {
        rc = MP_ENOMEM;
        goto out;
    }
    *out_len = write_out(text, &ss, *out);
    (*out)[*out_len] = '\0'; /* as stored contents are */
out:
    free(ss.s);
    return rc;
}
