/* The memory block's text: sanitizing stored text into it, the cut rule,
 * and measuring each piece exactly. It chooses nothing (recall.c does) and
 * writes no JSON (inject.c escapes the block).
 *
 * Measuring and rendering share one code path: a piece is measured by
 * "writing" it into a text with no buffer, which counts what would be
 * written, so a measure is the rendered length by construction (a fact
 * whose text was written ahead is the one exception: its length is known,
 * and its framing is a sum of fixed lengths). Sanitizing keeps the text
 * valid UTF-8 whatever was stored, and each stored character (or
 * ill-formed subsequence) becomes exactly one sanitized character, so a
 * cut at a character boundary of the sanitized text is a cut at a character
 * boundary of the stored text: the cut of a summary or a fact value is
 * found in the sanitized text without writing it, and given back as the
 * stored bytes to keep. */
#include "recall/memblock.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "scan16.h"
#include "scan32.h"
#include "memory/usermem.h"
#include "json/utf8.h"

#define PROFILE_HEAD  "\n[User profile]: "
#define SUMMARY_HEAD  "\n[Conversation history summary]: "
#define PAST_HEAD     "\n[Relevant past conversation]: "
#define FACT_SEP      " | " /* between facts, and between past messages */
#define DAY_LEN       10    /* "YYYY-MM-DD" */
#define WORD_LOOKBACK 40    /* how far back a cut looks for a space */

#define SLEN(lit) (sizeof(lit) - 1)

/* A day's "YYYY-MM-DD" kept while a block is written (items often share
 * one). A zeroed one holds none. */
struct day_memo {
    int64_t number; /* 1 + days since 1970-01-01 of text (0: none yet) */
    char text[DAY_LEN];
};

/* Text being written, or only measured when buf is NULL. */
struct text {
    char *buf;
    size_t len, cap;
    bool full;           /* something did not fit cap */
    struct day_memo day; /* the last day written (items often share one) */
    bool saving;         /* count saved: only the measures of what is taken do */
    uint64_t saved;      /* mp_memblock_script_saving of what was written */
};

_Static_assert(sizeof(((struct day_memo *)0)->text) == DAY_LEN, "a day's text");
_Static_assert(MP_MEMBLOCK_SEP_LEN == SLEN(FACT_SEP), "the separator");
_Static_assert(MP_MEMBLOCK_FACT_DAY_MAX == sizeof("(as of ") - 1 + DAY_LEN + 2,
               "a fact's day: \"(as of YYYY-MM-DD) \"");

uint32_t mp_memblock_estimate_tokens(size_t bytes)
{
    size_t t = bytes / 4 + (bytes % 4 != 0);
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* Quarter bytes a character of 2 bytes (lead, next) or of 3 bytes (lead,
 * next, last) saves from 4 a byte: Cyrillic and Arabic letters take about
 * 1.5 bytes' share of a token, Devanagari about 1.75 (memblock.h). */
static unsigned saved2(unsigned char lead, unsigned char next)
{
    uint32_t cp = (uint32_t)(lead & 0x1F) << 6 | (next & 0x3F);
    bool cyrillic = cp >= 0x400 && cp <= 0x52F;
    bool arabic = (cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F);
    return cyrillic || arabic ? 2 : 0;
}

#ifdef __SSE2__
/* The bytes of the 16 at p that are not ASCII, one bit each. */
static inline unsigned high16(const unsigned char *p)
{
    return (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)p));
}
#endif

/* i past the ASCII bytes from i (most stored text is), or some of them:
 * none starts a character that saves. Where SSE2 is, up to the first byte
 * that is not (core/scan16.h); else, and for a text shorter than 16, past
 * whole 8-byte words of them. */
static size_t ascii_words(const unsigned char *s, size_t i, size_t len)
{
#ifdef __SSE2__
    if (len >= 16)
        return mp_scan16(s, i, len, high16);
#endif
    while (len - i >= 8) {
        uint64_t x;
        memcpy(&x, s + i, sizeof(x));
        if ((x & 0x8080808080808080ull) != 0)
            break;
        i += 8;
    }
    return i;
}

uint64_t mp_memblock_script_saving(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    uint64_t saved = 0;
    for (size_t i = ascii_words(s, 0, len); i + 1 < len; i = ascii_words(s, i + 1, len)) {
        if (s[i] < 0xC2 || (s[i + 1] & 0xC0) != 0x80)
            continue;
        if (s[i] <= 0xDF)
            saved += saved2(s[i], s[i + 1]);
        else if (s[i] == 0xE0 && (s[i + 1] == 0xA4 || s[i + 1] == 0xA5) && i + 2 < len &&
                 (s[i + 2] & 0xC0) == 0x80)
            saved += 5; /* U+0900..U+097F: 7 for its 3 bytes */
    }
    return saved;
}

/* ceil(q / 16), at most UINT32_MAX */
static uint32_t quarters_tokens(uint64_t q)
{
    uint64_t t = q / 16 + (q % 16 != 0);
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

uint32_t mp_memblock_estimate_text(const char *text, size_t len)
{
    return quarters_tokens((uint64_t)len * 4 - mp_memblock_script_saving(text, len));
}

uint32_t mp_memblock_message_cost(size_t bytes, uint64_t saved)
{
    uint64_t q = (uint64_t)bytes * 4;
    uint32_t t = quarters_tokens(saved < q ? q - saved : 0);
    return t > UINT32_MAX - MP_MEMBLOCK_TOKENS_PER_MESSAGE ? UINT32_MAX
                                                           : t + MP_MEMBLOCK_TOKENS_PER_MESSAGE;
}

uint32_t mp_memblock_message_tokens(size_t bytes)
{
    uint32_t t = mp_memblock_estimate_tokens(bytes);
    return t > UINT32_MAX - MP_MEMBLOCK_TOKENS_PER_MESSAGE ? UINT32_MAX
                                                           : t + MP_MEMBLOCK_TOKENS_PER_MESSAGE;
}

size_t mp_memblock_message_room(uint32_t tokens)
{
    return tokens > MP_MEMBLOCK_TOKENS_PER_MESSAGE
               ? (size_t)(tokens - MP_MEMBLOCK_TOKENS_PER_MESSAGE) * 4
               : 0;
}

/* put() of text whose mp_memblock_script_saving() is known: saved.
 * Inline, as put(): every piece of every item goes through them, and most
 * pieces are a few bytes. */
static inline bool put_known(struct text *t, const char *s, size_t n, uint64_t saved)
{
    if (t->full || n > t->cap - t->len) {
        t->full = true;
        return false;
    }
    if (t->buf != NULL)
        memcpy(t->buf + t->len, s, n);
    if (t->saving)
        t->saved += saved;
    t->len += n;
    return true;
}

static inline bool put(struct text *t, const char *s, size_t n)
{
    return put_known(t, s, n, t->saving ? mp_memblock_script_saving(s, n) : 0);
}

/* put() of ASCII text (the framing, a day, a plain run): it saves nothing. */
static inline bool put_ascii(struct text *t, const char *s, size_t n)
{
    return put_known(t, s, n, 0);
}

/* ---- sanitizing ---- */

/* What one stored character becomes inside the block (see memblock.h):
 * sets *out and *out_len and returns the input bytes consumed. */
static size_t clean_char(const unsigned char *s, size_t n, bool fact, char one[1], const char **out,
                         size_t *out_len)
{
    uint32_t cp;
    size_t k;
    *out = one;
    *out_len = 1;
    if (s[0] < 0x80) {
        unsigned char c = s[0];
        one[0] = (char)c;
        if (c < 0x20 || c == 0x7F)
            one[0] = ' ';
        else if (c == '[')
            one[0] = '(';
        else if (c == ']')
            one[0] = ')';
        else if (fact && c == '|')
            one[0] = '/';
        else if (c == '<' || c == '>') {
            *out = c == '<' ? "\xE2\x80\xB9" : "\xE2\x80\xBA";
            *out_len = 3;
        }
        return 1;
    }
    k = mp_utf8_decode(s, n, &cp);
    if (k == 0) {
        *out = "\xEF\xBF\xBD";
        *out_len = 3;
        return mp_utf8_ill_formed_len(s, n);
    }
    if (cp <= 0x9F || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
        one[0] = ' ';
    } else {
        *out = (const char *)s;
        *out_len = k;
    }
    return k;
}

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero when some byte of x is c, or (harmless false positive) follows
 * one that is. */
static uint64_t has_byte(uint64_t x, unsigned char c)
{
    uint64_t v = x ^ (ONES * c);
    return (v - ONES) & ~v & HIGHS;
}

/* Bytes that pass into the block unchanged: printable ASCII but the
 * brackets, angle brackets and (in facts) the bar. */
static bool block_plain(unsigned char c, bool fact)
{
    return c >= 0x20 && c < 0x7F && c != '[' && c != ']' && c != '<' && c != '>' &&
           (c != '|' || !fact);
}

/* Whether all 8 bytes are block_plain (false may also mean "not sure"). */
static bool word_block_plain(uint64_t x, bool fact)
{
    uint64_t t = (x - ONES * 0x20) & ~x & HIGHS; /* below 0x20 */
    t |= ((x + ONES) | x) & HIGHS;               /* 0x7F and above */
    t |= has_byte(x, '[') | has_byte(x, ']') | has_byte(x, '<') | has_byte(x, '>');
    if (fact)
        t |= has_byte(x, '|');
    return t == 0;
}

#ifdef __SSE2__
/* The bytes of the 16 at p that are not block_plain, one bit each (signed
 * bytes: 0x80 and above are below 0x20). */
static inline unsigned block_special16(const unsigned char *p, bool fact)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                               _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F)));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('[')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8(']')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('<')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('>')));
    if (fact)
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('|')));
    return (unsigned)_mm_movemask_epi8(bad);
}

static inline unsigned fact_special16(const unsigned char *p)
{
    return block_special16(p, true);
}

static inline unsigned text_special16(const unsigned char *p)
{
    return block_special16(p, false);
}
#endif

#ifdef MP_SCAN32
/* The bytes of the 32 at p that are not block_plain, one bit each, as
 * block_special16's. */
MP_SCAN32_TARGET static inline unsigned block_special32(const unsigned char *p, bool fact)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i bad = _mm256_or_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), x),
                                  _mm256_cmpeq_epi8(x, _mm256_set1_epi8(0x7F)));
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('[')));
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8(']')));
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('<')));
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('>')));
    if (fact)
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('|')));
    return (unsigned)_mm256_movemask_epi8(bad);
}

MP_SCAN32_TARGET static inline unsigned fact_special32(const unsigned char *p)
{
    return block_special32(p, true);
}

MP_SCAN32_TARGET static inline unsigned text_special32(const unsigned char *p)
{
    return block_special32(p, false);
}

/* plain_block_run's walk for stop - j >= 32 (core/scan32.h). */
MP_SCAN32_TARGET static size_t plain_block_run32(const unsigned char *s, size_t j, size_t stop,
                                                 bool fact)
{
    return fact ? mp_scan32(s, j, stop, fact_special32) : mp_scan32(s, j, stop, text_special32);
}
#endif

/* End of the run of block_plain bytes from i, at most room of them. Where
 * AVX2 is, 32 bytes at a time while 32 are left; where SSE2 is, 16 at a
 * time up to the room's end (core/scan16.h); else, and for less than 16
 * bytes, 8 at a time. */
static size_t plain_block_run(const unsigned char *s, size_t n, size_t i, size_t room, bool fact)
{
    size_t j = i, stop = n - i < room ? n : i + room;
#ifdef MP_SCAN32
    if (stop - j >= 32 && mp_scan32_ok())
        return plain_block_run32(s, j, stop, fact);
#endif
#ifdef __SSE2__
    if (stop >= 16) /* no byte past stop is looked at */
        return fact ? mp_scan16(s, j, stop, fact_special16) : mp_scan16(s, j, stop, text_special16);
#endif
    while (stop - j >= 8) {
        uint64_t x;
        memcpy(&x, s + j, sizeof(x));
        if (!word_block_plain(x, fact))
            break;
        j += 8;
    }
    while (j < stop && block_plain(s[j], fact))
        j++;
    return j;
}

/* Appends src sanitized, at most max bytes of output, whole characters
 * only. Returns how many src bytes went in (< n when cut short). Runs of
 * plain bytes are copied at once: stored text is mostly those. */
static size_t put_clean(struct text *t, const char *src, size_t n, bool fact, size_t max)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, start = t->len;
    while (i < n && !t->full) {
        size_t room = max - (t->len - start), j;
        if (room > t->cap - t->len)
            room = t->cap - t->len;
        j = plain_block_run(s, n, i, room, fact);
        if (j > i) {
            put_ascii(t, src + i, j - i); /* block_plain bytes are ASCII */
            i = j;
            continue;
        }
        char one[1];
        const char *o;
        size_t olen, used = clean_char(s + i, n - i, fact, one, &o, &olen);
        if (t->len - start + olen > max || !put(t, o, olen))
            break;
        i += used;
    }
    return i;
}

/* ---- the cut rule ---- */

/* Where to cut s[0..n) to keep at most limit bytes: never inside a UTF-8
 * sequence, at a space when one is within WORD_LOOKBACK bytes, trailing
 * spaces dropped. */
static size_t cut_point(const char *s, size_t n, size_t limit)
{
    size_t c = mp_utf8_cut(s, n, limit), j;
    if (n <= limit)
        return n;
    for (j = c; j > 0 && c - j < WORD_LOOKBACK; j--) {
        if (s[j] == ' ') {
            c = j;
            break;
        }
    }
    while (c > 0 && s[c - 1] == ' ')
        c--;
    return c;
}

/* A place in sanitized text: out bytes of it, made of src stored bytes. */
struct at {
    size_t out, src;
};

/* A walk over sanitized text toward its cut (clean_cut). */
struct walk {
    struct at at;       /* how far it went */
    struct at end;      /* after the last character that is not a space */
    struct at word_end; /* end as it was when the last space came */
    size_t space_at;    /* where the last space starts; 0: none that counts */
};

static void walk_char(struct walk *w, bool space, size_t out_len, size_t used)
{
    if (space) {
        w->space_at = w->at.out;
        w->word_end = w->end;
    }
    w->at.out += out_len;
    w->at.src += used;
    if (!space)
        w->end = w->at;
}

/* walk_char() over each byte of the plain run s[i..j), in one step: its
 * last space and last other byte are found from its end backwards. */
static void walk_run(struct walk *w, const unsigned char *s, size_t i, size_t j)
{
    struct at base = w->at, before = w->end;
    size_t k = j, q;
    w->at = (struct at){base.out + (j - i), base.src + (j - i)};
    while (k > i && s[k - 1] == ' ')
        k--;
    if (k > i)
        w->end = (struct at){base.out + (k - i), base.src + (k - i)};
    if (k < j) { /* it ends with its last space */
        w->space_at = base.out + (j - 1 - i);
        w->word_end = w->end;
        return;
    }
    for (q = k; q > i && s[q - 1] != ' ';)
        q--;
    if (q == i) /* no space in it */
        return;
    w->space_at = base.out + (q - 1 - i);
    for (k = q - 1; k > i && s[k - 1] == ' ';)
        k--;
    w->word_end = k > i ? (struct at){base.out + (k - i), base.src + (k - i)} : before;
}

/* cut_point() on the sanitized form of s[0..n), without writing it: walks
 * its characters up to the one the limit falls in or before, remembering
 * where the last space started and where the text ended before it. */
static struct at clean_cut(const char *src, size_t n, bool fact, size_t limit)
{
    const unsigned char *s = (const unsigned char *)src;
    struct walk w = {{0, 0}, {0, 0}, {0, 0}, 0};
    while (w.at.src < n) {
        size_t j = plain_block_run(s, n, w.at.src, limit - w.at.out, fact);
        if (j > w.at.src) {
            walk_run(&w, s, w.at.src, j);
            continue;
        }
        char one[1];
        const char *o;
        size_t olen, used = clean_char(s + w.at.src, n - w.at.src, fact, one, &o, &olen);
        bool space = olen == 1 && o[0] == ' ';
        if (w.at.out + olen > limit) {
            if (!space && w.space_at > 0 && w.at.out - w.space_at < WORD_LOOKBACK)
                return w.word_end;
            return w.end;
        }
        walk_char(&w, space, olen, used);
    }
    return w.at;
}

/* The most bytes a cut text keeps in room: what the ellipsis leaves. */
static size_t cut_limit(size_t room)
{
    return room > MP_MEMBLOCK_ELLIPSIS_LEN ? room - MP_MEMBLOCK_ELLIPSIS_LEN : 0;
}

/* Whether a cut to kept bytes (of at most limit) is worth injecting. */
static bool worth_cut(size_t limit, size_t kept)
{
    return limit >= MP_MEMBLOCK_MIN_CUT && kept >= MP_MEMBLOCK_MIN_CUT;
}

/* Whether the sanitized form of s[0..n) fits room whole; *at is where it
 * ends then, else where the cut rule cuts it (the ellipsis follows). */
static bool clean_fits(const char *s, size_t n, bool fact, size_t room, struct at *at)
{
    struct text measure = {.cap = SIZE_MAX};
    if (put_clean(&measure, s, n, fact, room) == n) {
        at->out = measure.len;
        at->src = n;
        return true;
    }
    *at = clean_cut(s, n, fact, cut_limit(room));
    return false;
}

size_t mp_memblock_fit_text(const char *text, size_t len, size_t room)
{
    size_t limit = cut_limit(room), c;
    if (len <= room)
        return len;
    c = cut_point(text, len, limit);
    return worth_cut(limit, c) ? c : 0;
}

/* ---- facts ---- */

static size_t key_len(const struct mp_mem_entity *e)
{
    const char *z = memchr(e->key, '\0', sizeof(e->key));
    return z == NULL ? sizeof(e->key) : (size_t)(z - e->key);
}

/* Writes v in width decimal digits, zero-padded (snprintf costs more
 * than the whole rest of a fact). */
static void digits(char *out, unsigned width, unsigned v)
{
    while (width-- > 0) {
        out[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Whether ms has a date in the block: not before 1970, not after 9999. */
static bool has_day(int64_t ms)
{
    return ms > 0 && ms < 253402300800000; /* 10000-01-01 */
}

#define DAY_MS 86400000

/* "YYYY-MM-DD" of days since 1970-01-01 (of a has_day time), from the
 * civil-from-days algorithm (no libc time zone state). */
static void format_day(int64_t days, char out[DAY_LEN])
{
    int64_t z, era, y;
    unsigned doe, yoe, doy, mp, d, m;
    z = days + 719468;
    era = z / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = (int64_t)yoe + era * 400 + (m <= 2);
    digits(out, 4, (unsigned)y);
    out[4] = '-';
    digits(out + 5, 2, m);
    out[7] = '-';
    digits(out + 8, 2, d);
}

/* Appends the day of ms; a measure only counts it. */
static void put_day(struct text *t, int64_t ms)
{
    int64_t number = ms / DAY_MS + 1;
    if (t->buf != NULL && t->day.number != number) {
        t->day.number = number;
        format_day(number - 1, t->day.text);
    }
    put_ascii(t, t->day.text, DAY_LEN);
}

/* The day of ms in a line: days since 1970 for a has_day time, else
 * one key for each side of the range (-1 before, INT64_MAX after). */
static int64_t day_key(int64_t ms)
{
    if (has_day(ms))
        return ms / DAY_MS;
    return ms <= 0 ? -1 : INT64_MAX;
}

/* Appends text sanitized with the fact rules, its sanitized form cut by the
 * cut rule to at most max bytes, the ellipsis included. A text of at most a
 * third of max fits whole without measuring (no character grows more than
 * three times). */
static void put_capped(struct text *t, const char *text, size_t len, size_t max)
{
    struct at kept = {.src = len};
    bool whole = len <= max / 3 || clean_fits(text, len, true, max, &kept);
    put_clean(t, text, kept.src, true, SIZE_MAX);
    if (!whole)
        put(t, MP_MEMBLOCK_ELLIPSIS, MP_MEMBLOCK_ELLIPSIS_LEN);
}

/* A fact's time: observed, else recorded. */
static int64_t fact_ms(const struct mp_mem_entity *e)
{
    return e->observed_at_ms > 0 ? e->observed_at_ms : e->recorded_at_ms;
}

int64_t mp_memblock_fact_day(const struct mp_mem_entity *e)
{
    return day_key(fact_ms(e));
}

/* Appends "key: value". */
static void put_fact_text(struct text *t, const struct mp_mem_entity *e)
{
    put_clean(t, e->key, key_len(e), true, SIZE_MAX);
    put_ascii(t, ": ", 2);
    put_capped(t, e->value, e->value_len, MP_MEMBLOCK_FACT_VALUE_MAX);
}

/* Appends the fact's day when day ("(as of YYYY-MM-DD) ", "(no date) ")
 * and its text (written ahead, or now) after the line's header (first) or
 * the fact separator. */
static void put_fact(struct text *t, const struct mp_mem_entity *e, bool first, bool day)
{
    int64_t at_ms = fact_ms(e);
    put_ascii(t, first ? PROFILE_HEAD : FACT_SEP, first ? SLEN(PROFILE_HEAD) : SLEN(FACT_SEP));
    if (day && has_day(at_ms)) {
        put_ascii(t, "(as of ", SLEN("(as of "));
        put_day(t, at_ms);
        put_ascii(t, ") ", 2);
    } else if (day) {
        put_ascii(t, "(no date) ", SLEN("(no date) "));
    }
    if (e->block_text != NULL)
        put_known(t, e->block_text, e->block_len, e->block_saved);
    else
        put_fact_text(t, e);
}

size_t mp_memblock_fact_text(const struct mp_mem_entity *e, char *out)
{
    struct text t = {.buf = out, .cap = MP_MEMBLOCK_FACT_TEXT_MAX};
    put_fact_text(&t, e);
    return t.len; /* within the cap: it is the bound of what the rules write */
}

size_t mp_memblock_fact_write_ahead(struct mp_mem_entity *e, char *out)
{
    size_t n = mp_memblock_fact_text(e, out);
    e->block_text = out;
    e->block_len = n;
    e->block_saved = mp_memblock_script_saving(out, n);
    return n;
}

/* What put_fact writes before a fact's text: the line's header (first)
 * or the separator, then the day (day). All ASCII: it saves nothing. */
static size_t fact_frame_bytes(const struct mp_mem_entity *e, bool first, bool day)
{
    size_t n = first ? SLEN(PROFILE_HEAD) : SLEN(FACT_SEP);
    if (day)
        n += has_day(fact_ms(e)) ? MP_MEMBLOCK_FACT_DAY_MAX : SLEN("(no date) ");
    return n;
}

/* A fact's text written ahead is measured by its length, not by a pass
 * over put_fact: the fill measures each fact it offers, and offers many
 * twice (test_memblock checks that both ways agree). */
size_t mp_memblock_fact_bytes(const struct mp_mem_entity *e, bool first, bool day, size_t room)
{
    if (e->block_text != NULL) {
        size_t n = fact_frame_bytes(e, first, day) + e->block_len;
        return n <= room ? n : 0;
    }
    struct text measure = {.cap = room};
    put_fact(&measure, e, first, day);
    return measure.full ? 0 : measure.len;
}

uint64_t mp_memblock_fact_saving(const struct mp_mem_entity *e, bool first, bool day)
{
    if (e->block_text != NULL)
        return e->block_saved; /* the framing saves nothing */
    struct text measure = {.cap = SIZE_MAX, .saving = true};
    put_fact(&measure, e, first, day);
    return measure.saved;
}

/* ---- summary ---- */

size_t mp_memblock_summary_bytes(const char *text, size_t len, size_t room, size_t *keep)
{
    size_t head = SLEN(SUMMARY_HEAD);
    struct at kept;
    if (len == 0 || room < head)
        return 0;
    if (clean_fits(text, len, false, room - head, &kept)) {
        *keep = len;
        return head + kept.out;
    }
    if (!worth_cut(cut_limit(room - head), kept.out))
        return 0;
    *keep = kept.src;
    return head + kept.out + MP_MEMBLOCK_ELLIPSIS_LEN;
}

/* ---- past messages ---- */

int64_t mp_memblock_past_day(const struct mp_mem_message *m)
{
    return day_key(m->at_ms);
}

/* Appends "(YYYY-MM-DD, role) " (day), else "(role) ", after the line's
 * header (first) or the separator; "no date" for a time out of has_day's
 * range. */
static void put_past_frame(struct text *t, const struct mp_mem_message *m, bool first, bool day)
{
    /* each piece of a length known here: copied without a call */
    if (first)
        put_ascii(t, PAST_HEAD "(", SLEN(PAST_HEAD "("));
    else
        put_ascii(t, FACT_SEP "(", SLEN(FACT_SEP "("));
    if (day) {
        if (has_day(m->at_ms))
            put_day(t, m->at_ms);
        else
            put_ascii(t, "no date", SLEN("no date"));
        put_ascii(t, ", ", 2);
    }
    if (m->role == MP_ROLE_USER)
        put_ascii(t, "user) ", SLEN("user) "));
    else
        put_ascii(t, "assistant) ", SLEN("assistant) "));
}

/* Appends the frame and the text of past message m: "(YYYY-MM-DD, role)
 * text" or "(role) text"; its text as written ahead when ahead is not
 * NULL and holds one. */
static void put_past(struct text *t, const struct mp_mem_message *m, bool first, bool day,
                     const struct mp_memblock_ahead *ahead)
{
    put_past_frame(t, m, first, day);
    if (ahead != NULL && ahead->text != NULL)
        put_known(t, ahead->text, ahead->len, 0); /* rendered: nothing counts savings */
    else
        put_capped(t, m->content, m->content_len, MP_MEMBLOCK_PAST_TEXT_MAX);
}

size_t mp_memblock_past_text(const struct mp_mem_message *m, char *out, uint64_t *saved)
{
    struct text t = {.buf = out, .cap = MP_MEMBLOCK_PAST_TEXT_MAX, .saving = true};
    put_capped(&t, m->content, m->content_len, MP_MEMBLOCK_PAST_TEXT_MAX);
    *saved = t.saved;
    return t.len; /* within the cap: it is the bound of what the cut rule keeps */
}

/* What put_past_frame writes, summed from its fixed lengths (the fill
 * measures each buffered turn it offers with it; test_memblock checks
 * that both ways agree). */
static size_t past_frame_bytes(const struct mp_mem_message *m, bool first, bool day)
{
    size_t n = (first ? SLEN(PAST_HEAD) : SLEN(FACT_SEP)) + SLEN("(");
    if (day)
        n += (has_day(m->at_ms) ? DAY_LEN : SLEN("no date")) + SLEN(", ");
    return n + (m->role == MP_ROLE_USER ? SLEN("user) ") : SLEN("assistant) "));
}

size_t mp_memblock_past_bytes_ahead(const struct mp_mem_message *m, bool first, bool day,
                                    size_t len, size_t room)
{
    size_t n = past_frame_bytes(m, first, day);
    return len <= room && n <= room - len ? n + len : 0;
}

size_t mp_memblock_past_bytes(const struct mp_mem_message *m, bool first, bool day, size_t room)
{
    struct text measure = {.cap = room};
    put_past(&measure, m, first, day, NULL);
    return measure.full ? 0 : measure.len;
}

size_t mp_memblock_past_measure(const struct mp_mem_message *m, bool first, bool day, size_t room,
                                uint64_t *saved)
{
    struct text measure = {.cap = room, .saving = true};
    put_past(&measure, m, first, day, NULL);
    if (measure.full)
        return 0;
    *saved = measure.saved;
    return measure.len;
}

/* The text bytes an estimate of tokens leaves at least (it rounds up)
 * when frame bytes of it may be framing, at most half of cap. */
static size_t least_text(uint32_t tokens, size_t frame, size_t cap)
{
    size_t est = (size_t)tokens * 4;
    size_t text = est > frame + 3 ? est - frame - 3 : 0;
    return text < cap / 2 ? text : cap / 2;
}

size_t mp_memblock_fact_least(uint32_t tokens)
{
    size_t frame = SLEN(FACT_SEP) + MP_MEMBLOCK_FACT_DAY_MAX + SLEN(": ");
    return SLEN(FACT_SEP) + SLEN(": ") + least_text(tokens, frame, MP_MEMBLOCK_FACT_VALUE_MAX);
}

size_t mp_memblock_past_least(uint32_t tokens)
{
    size_t frame = SLEN(FACT_SEP) + SLEN("(") + DAY_LEN + SLEN(", assistant) ");
    return SLEN(FACT_SEP) + SLEN("(user) ") + least_text(tokens, frame, MP_MEMBLOCK_PAST_TEXT_MAX);
}

size_t mp_memblock_render(char *out, size_t cap, const struct mp_memblock_parts *parts)
{
    struct text t = {.buf = out, .cap = cap};
    const struct mp_mem_summary *sm = parts->summary;
    put_ascii(&t, MP_MEMBLOCK_INTRO, MP_MEMBLOCK_INTRO_LEN);
    int64_t prev = 0; /* the day of the item before: an item writes its own when it differs */
    for (size_t i = 0; i < parts->nfacts; i++) {
        int64_t day = mp_memblock_fact_day(parts->facts[i]);
        put_fact(&t, parts->facts[i], i == 0, i == 0 || day != prev);
        prev = day;
    }
    if (parts->summary_keep > 0) {
        put_ascii(&t, SUMMARY_HEAD, SLEN(SUMMARY_HEAD));
        put_clean(&t, sm->text, parts->summary_keep, false, SIZE_MAX);
        if (parts->summary_keep < sm->text_len)
            put(&t, MP_MEMBLOCK_ELLIPSIS, MP_MEMBLOCK_ELLIPSIS_LEN);
    }
    for (size_t i = 0; i < parts->npast; i++) {
        int64_t day = mp_memblock_past_day(parts->past[i]);
        put_past(&t, parts->past[i], i == 0, i == 0 || day != prev,
                 parts->past_ahead != NULL ? &parts->past_ahead[i] : NULL);
        prev = day;
    }
    return t.full ? 0 : t.len;
}
