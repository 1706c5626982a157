/* Whom a text addresses (see address.h). Two passes over a bounded window:
 * the first finds where a quoted transcript starts (the instructions end
 * there: a person's words quoted in a client's task are not its
 * instructions), the second reads the instructions line by line, from a
 * map of their bytes (a bit each: part of a word, or a mark) made 16 bytes
 * at a time, a word's first byte and a mark at a time. English
 * words only: clients write their prompts in English; a person's words in
 * another language never open with an English role, so they never pass. */
#include "wire/address.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "findbytes.h"
#include "wire/clienttask.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

/* Letters, digits and bytes >= 0x80 (of a UTF-8 letter): 1. A table: the
 * readings ask it of most bytes they read. */
#define ROW(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char
    alnum_byte[256] =
        {
            ROW(0), ROW(0), ROW(0), 1,      1,      1,      1,      1,      1, 1,
            1,      1,      1,      0,      0,      0,      0,      0,      0, /* '0'..'9' */
            0,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      1,      1,      1,      1,      1, /* 'A'..'O' */
            1,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      0,      0,      0,      0,      0, /* 'P'..'Z' */
            0,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      1,      1,      1,      1,      1, /* 'a'..'o' */
            1,      1,      1,      1,      1,      1,      1,      1,      1, 1,
            1,      0,      0,      0,      0,      0, /* 'p'..'z' */
            ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1), ROW(1),
};
#undef ROW

static bool is_alnum(char c)
{
    return alnum_byte[(unsigned char)c] != 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Whether w (lower case) is at t[i..n), case-insensitively, starting a
 * word; whole: ending one too. Most calls end at w's first or second
 * byte. */
static bool word_at(const char *t, size_t n, size_t i, const char *w, bool whole)
{
    size_t k = 0;
    while (w[k] != '\0' && i + k < n && lower(t[i + k]) == w[k])
        k++;
    if (w[k] != '\0' || (i > 0 && is_alnum(t[i - 1])))
        return false;
    return !whole || i + k == n || !is_alnum(t[i + k]);
}

/* The text's first three bytes at t[i..n), folded, one a byte of an
 * int ('\0' past its end). */
static uint32_t three_at(const char *t, size_t n, size_t i)
{
    uint32_t c = 0;
    if (n - i >= 3) {
        const unsigned char *u = (const unsigned char *)t + i;
        c = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16;
    } else {
        for (size_t k = 0; i + k < n; k++)
            c |= (uint32_t)(unsigned char)t[i + k] << (8 * k);
    }
    /* lower(), a byte at a time in one word: 0x20 added to 'A'..'Z' */
    uint32_t ge_a = (c | 0x80808080u) - 0x41414141u, gt_z = (c | 0x80808080u) - 0x5b5b5b5bu;
    uint32_t upper = ge_a & ~gt_z & ~c & 0x80808080u;
    return c | (upper >> 2);
}

/* A word looked for, with its first three bytes (two for a word of two)
 * as three_at gives a text's, so that most comparisons are one. */
struct word {
    const char *text; /* lower case, two bytes or more */
    uint32_t first;
    uint32_t mask;
};

#define W_FIRST(s)                                                                                 \
    ((uint32_t)(unsigned char)(s)[0] | (uint32_t)(unsigned char)(s)[1] << 8 |                      \
     (uint32_t)(unsigned char)(s)[2] << 16)
#define W(s)                                                                                       \
    {                                                                                              \
        s, W_FIRST(s), (s)[2] != '\0' ? 0xffffffu : 0xffffu                                        \
    }

/* Whether any of words is at t[i..n), whose first three bytes are c
 * (three_at). */
static bool any_of(const char *t, size_t n, size_t i, uint32_t c, const struct word *words,
                   size_t nw, bool whole)
{
    for (size_t k = 0; k < nw; k++)
        if (((c ^ words[k].first) & words[k].mask) == 0 && word_at(t, n, i, words[k].text, whole))
            return true;
    return false;
}

/* Whether any of words is at t[i..n). */
static bool any_at(const char *t, size_t n, size_t i, const struct word *words, size_t nw,
                   bool whole)
{
    return any_of(t, n, i, three_at(t, n, i), words, nw, whole);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct word user_labels[] = {W("user:"), W("human:"), W("||>user:"), W("user said:")};
static const struct word assistant_labels[] = {W("assistant:"),   W("ai:"),       W("bot:"),
                                               W("model:"),       W("response:"), W("||>response:"),
                                               W("||>assistant:")};
static const struct word chat_tags[] = {W("<chat_history>"), W("<conversation>"), W("<transcript>"),
                                        W("<messages>"), W("<history>")};
static const struct word roles[] = {W("you are "), W("you're "),   W("you will "), W("your task"),
                                    W("your job"), W("your role"), W("your goal"), W("act as ")};
/* The lists a word of the instructions is read against (read_word), each
 * X(a, word) once: their arrays and the maps of their words' first bytes
 * (struct firsts) are made from them at compile time. */
/* clang-format off */
#define CONVERSATIONS(X, a)                                                                        \
    X(a, "conversation") X(a, "chat history") X(a, "chat log") X(a, "transcript")                  \
    X(a, "dialogue") X(a, "this chat") X(a, "chat_history")
/* A rule's words: a modal or a bound laid on the reader. */
#define RULES(X, a)                                                                                \
    X(a, "must") X(a, "never") X(a, "do not") X(a, "don't") X(a, "always") X(a, "only")
/* The reader's own apparatus, named as theirs: a client speaking of its
 * agent's memory, instructions or tools ("your system prompt"). */
#define YOURS(X, a)                                                                                \
    X(a, "your memory") X(a, "your memories") X(a, "your persistent")                              \
    X(a, "your system prompt") X(a, "your instructions") X(a, "your context")                      \
    X(a, "your tools") X(a, "your notes") X(a, "your turn budget")
#define WORK(X, a)                                                                                 \
    X(a, "file") X(a, "files") X(a, "folder") X(a, "folders") X(a, "tool") X(a, "tools")           \
    X(a, "directory") X(a, "directories")
/* clang-format on */
#define MINE(X, a) X(a, "me") X(a, "my") X(a, "mine") X(a, "myself")

#define ENTRY(a, s) W(s),
static const struct word conversations[] = {CONVERSATIONS(ENTRY, 0)};
static const struct word rule_words[] = {RULES(ENTRY, 0)};
static const struct word yours[] = {YOURS(ENTRY, 0)};
static const struct word work_words[] = {WORK(ENTRY, 0)};

/* The first byte of line content at or after i, past blanks. */
static size_t line_body(const char *t, size_t n, size_t i)
{
    while (i < n && is_blank(t[i]))
        i++;
    return i;
}

static size_t line_end(const char *t, size_t n, size_t i)
{
    const char *nl = memchr(t + i, '\n', n - i);
    return nl != NULL ? (size_t)(nl - t) : n;
}

/* Whether the line t[b..e) opens with a role given to its reader, past a
 * heading's or emphasis' marks. */
static bool role_at(const char *t, size_t e, size_t b)
{
    while (b < e && (t[b] == '#' || t[b] == '*' || t[b] == '>' || t[b] == '_' || is_blank(t[b])))
        b++;
    return any_at(t, e, b, roles, COUNT(roles), false);
}

/* The first chat tag in t[from..to) (of a text of n bytes), or SIZE_MAX:
 * memchr runs to each '<'. */
static size_t tag_in(const char *t, size_t n, size_t from, size_t to)
{
    const char *lt = from < to ? memchr(t + from, '<', to - from) : NULL;
    for (; lt != NULL; lt = memchr(lt + 1, '<', (size_t)(t + to - lt - 1)))
        if (any_at(t, n, (size_t)(lt - t), chat_tags, COUNT(chat_tags), false))
            return (size_t)(lt - t);
    return SIZE_MAX;
}

/* Pass one: where the transcript starts (its first user line or chat
 * tag), and whether there is one. Line by line: a label opens a line (a
 * tag at the line's first byte comes before it), a tag is anywhere. */
static size_t find_transcript(const char *t, size_t n, bool *found)
{
    size_t first_user = n, e;
    *found = false;
    for (size_t i = 0; i < n; i = e + 1) {
        size_t tag = tag_in(t, n, i, i + 1);
        e = line_end(t, n, i);
        if (tag == SIZE_MAX) {
            size_t b = line_body(t, n, i);
            if (first_user == n && any_at(t, n, b, user_labels, COUNT(user_labels), false))
                first_user = i;
            else if (first_user < n &&
                     any_at(t, n, b, assistant_labels, COUNT(assistant_labels), false)) {
                *found = true;
                return first_user;
            }
            tag = tag_in(t, n, i + 1, e);
        }
        if (tag != SIZE_MAX) {
            *found = true;
            return first_user < tag ? first_user : tag;
        }
    }
    return n;
}

static bool list_item(const char *t, size_t n, size_t b)
{
    if (b + 1 < n && (t[b] == '-' || t[b] == '*') && t[b + 1] == ' ')
        return true;
    if (b + 2 < n && (unsigned char)t[b] == 0xe2 && (unsigned char)t[b + 1] == 0x80 &&
        (unsigned char)t[b + 2] == 0xa2) /* a bullet */
        return true;
    size_t d = b;
    while (d < n && d - b < 3 && t[d] >= '0' && t[d] <= '9')
        d++;
    return d > b && d + 1 < n && (t[d] == '.' || t[d] == ')') && t[d + 1] == ' ';
}

/* Whether a path t[s..e) goes into a dot-directory: a segment that
 * starts with '.' and a letter and ends with '/'. */
static bool dot_dir(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i + 2 < e; i++) {
        if (t[i] != '.' || (i > s && t[i - 1] != '/') || lower(t[i + 1]) < 'a' ||
            lower(t[i + 1]) > 'z')
            continue;
        size_t j = i + 1;
        while (j < e && t[j] != '/')
            j++;
        if (j < e)
            return true;
    }
    return false;
}

/* What the word at t[s..e) (no blanks in it) names: 0 nothing, 1 a path
 * or a file, 2 a path into a dot-directory. */
static int path_word(const char *t, size_t s, size_t e)
{
    while (e > s && strchr(".,:;)`\"'", t[e - 1]) != NULL)
        e--;
    while (s < e && strchr("`\"('", t[s]) != NULL)
        s++;
    if (e - s >= 2 && (t[s] == '~' || t[s] == '.') && t[s + 1] == '/')
        return dot_dir(t, s, e) ? 2 : 1;
    for (size_t i = s + 1; i + 1 < e; i++)
        if (t[i] == '/' && is_alnum(t[i - 1]) && (is_alnum(t[i + 1]) || t[i + 1] == '.'))
            return dot_dir(t, s, e) ? 2 : 1;
    if (e - s >= 3 && t[s] == '.' && dot_dir(t, s, e))
        return 2;
    const char *dot = NULL;
    for (size_t i = s; i < e; i++)
        dot = t[i] == '.' ? t + i : dot;
    if (dot == NULL || dot == t + s)
        return 0;
    size_t ext = (size_t)(t + e - dot - 1);
    char c = lower(dot[1]);
    return ext >= 2 && ext <= 5 && c >= 'a' && c <= 'z' && is_alnum(dot[-1]);
}

/* The words of address.h naming a task, each starting a word:
 * X(a, word, whole, kind). */
#define KINDS(X, a)                                                                                \
    X(a, "title", false, MP_TASK_TITLE)                                                            \
    X(a, "follow-up", false, MP_TASK_FOLLOW_UPS)                                                   \
    X(a, "follow up", false, MP_TASK_FOLLOW_UPS)                                                   \
    X(a, "tags", true, MP_TASK_TAGS)                                                               \
    X(a, "tag", true, MP_TASK_TAGS)                                                                \
    X(a, "search quer", false, MP_TASK_SEARCH_QUERIES)                                             \
    X(a, "summar", false, MP_TASK_COMPACTION)                                                      \
    X(a, "compact", false, MP_TASK_COMPACTION)                                                     \
    X(a, "classif", false, MP_TASK_CLASSIFIER)                                                     \
    X(a, "memor", false, MP_TASK_MEMORY_REVIEW)

#define KIND_ENTRY(a, s, whole, kind) {W(s), whole, kind},
static const struct {
    struct word w;
    bool whole;
    int kind;
} kind_words[] = {KINDS(KIND_ENTRY, 0)};

/* The task named at t[i..n), or -1. */
static int kind_at(const char *t, size_t n, size_t i)
{
    if (i > 0 && is_alnum(t[i - 1]))
        return -1;
    for (size_t k = 0; k < COUNT(kind_words); k++)
        if (word_at(t, n, i, kind_words[k].w.text, kind_words[k].whole))
            return kind_words[k].kind;
    return -1;
}

/* kind_at at a word's start, whose first three bytes are c (three_at). */
static int kind_of(const char *t, size_t n, size_t i, uint32_t c)
{
    for (size_t k = 0; k < COUNT(kind_words); k++) {
        if (c == kind_words[k].w.first &&
            word_at(t, n, i, kind_words[k].w.text, kind_words[k].whole))
            return kind_words[k].kind;
    }
    return -1;
}

int mp_address_kind(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = kind_at(s, n, i);
        if (k >= 0)
            return k;
    }
    return -1;
}

bool mp_address_is_agent(const struct mp_address *a, size_t len)
{
    return a->role && a->rules >= MP_ADDRESS_RULES_MIN && a->work >= MP_ADDRESS_WORK_MIN &&
           a->own > 0 && a->person == 0 && len >= MP_ADDRESS_AGENT_MIN;
}

static const struct word mine[] = {MINE(ENTRY, 0)};

/* A first-person singular word of a writer at t[i..n), whose first three
 * bytes are c (three_at). */
static bool person_at(const char *t, size_t n, size_t i, uint32_t c)
{
    if (t[i] == 'I' && (i == 0 || !is_alnum(t[i - 1]))) {
        if (i + 1 == n || (!is_alnum(t[i + 1]) && t[i + 1] != '\'' && t[i + 1] != '.'))
            return true; /* "I", not "I.e." */
        return t[i + 1] == '\'' && i + 2 < n && strchr("mvdl", lower(t[i + 2])) != NULL;
    }
    return any_of(t, n, i, c, mine, COUNT(mine), true);
}

/* Which lists have a word that starts with each first two bytes, folded
 * to 5 bits each (a superset): a row of 32 bits a first byte, a bit a
 * second. A word is compared only with the lists it could be in, and
 * most words (in none) with none; then whether a word of the lists starts
 * with its first three (a 512-bit filter of THREE's; "me" and "my" have
 * two). Made from the lists by the compiler. */
#define ROW_BIT(j, s)                                                                              \
    (((unsigned char)(s)[0] & 31) == (j) ? (uint32_t)1 << ((unsigned char)(s)[1] & 31) : 0) |
#define THREE(first) (((uint32_t)(first)*0x9e3779b1u) >> 23)
#define THREE_BIT(j, s)                                                                            \
    ((s)[2] != '\0' && (THREE(W_FIRST(s)) >> 6) == (j) ? (uint64_t)1 << (THREE(W_FIRST(s)) & 63)   \
                                                       : 0) |
#define KIND_ROW_BIT(j, s, whole, kind)   ROW_BIT(j, s)
#define KIND_THREE_BIT(j, s, whole, kind) THREE_BIT(j, s)
#define MAP(L, B, j)                      L(B, j) 0
#define MAP8(L, B, j)                                                                              \
    MAP(L, B, j), MAP(L, B, j + 1), MAP(L, B, j + 2), MAP(L, B, j + 3), MAP(L, B, j + 4),          \
        MAP(L, B, j + 5), MAP(L, B, j + 6), MAP(L, B, j + 7)
#define MAP32(L, B)                                                                                \
    {                                                                                              \
        MAP8(L, B, 0), MAP8(L, B, 8), MAP8(L, B, 16), MAP8(L, B, 24)                               \
    }
#define ALL_ROWS(B, j)                                                                             \
    MINE(B, j) RULES(B, j) YOURS(B, j) WORK(B, j) CONVERSATIONS(B, j) KINDS(KIND_ROW_BIT, j)
#define ALL_THREES(B, j)                                                                           \
    MINE(B, j) RULES(B, j) YOURS(B, j) WORK(B, j) CONVERSATIONS(B, j) KINDS(KIND_THREE_BIT, j)

struct firsts {
    uint32_t any[32], mine[32], rules[32], yours[32], work[32], conversations[32], kinds[32];
    uint64_t threes[8]; /* the words' first three bytes (THREE), of those that have three */
};

static const struct firsts firsts = {
    .any = MAP32(ALL_ROWS, ROW_BIT),
    .mine = MAP32(MINE, ROW_BIT),
    .rules = MAP32(RULES, ROW_BIT),
    .yours = MAP32(YOURS, ROW_BIT),
    .work = MAP32(WORK, ROW_BIT),
    .conversations = MAP32(CONVERSATIONS, ROW_BIT),
    .kinds = MAP32(KINDS, KIND_ROW_BIT),
    .threes = {MAP8(ALL_THREES, THREE_BIT, 0)},
};

/* Whether rows have a word that starts with c0 c1 (& 31 folds). */
static bool row_has(const uint32_t *rows, char c0, char c1)
{
    return (rows[(unsigned char)c0 & 31] >> ((unsigned char)c1 & 31)) & 1;
}

static bool three_in(const uint64_t *threes, uint32_t c3)
{
    uint32_t h = THREE(c3);
    return (threes[h >> 6] >> (h & 63)) & 1;
}

/* What the readings that start at the word t[i..e) add to out (i starts
 * one: t[i] is a letter, a digit or a byte >= 0x80, and t[i - 1] none);
 * plain: outside "quotes" and `code`. */
static void read_word(const char *t, size_t i, size_t e, bool plain, struct mp_address *out)
{
    const struct firsts *f = &firsts;
    char c = t[i], c1 = i + 1 < e ? t[i + 1] : '\0';
    if (!row_has(f->any, c, c1) && c != 'I')
        return; /* most words: no list has a word that starts as they do */
    uint32_t c3 = three_at(t, e, i);
    bool mine_pair = row_has(f->mine, c, c1);
    if (c != 'I' && !mine_pair && !three_in(f->threes, c3))
        return; /* no word of three bytes or more starts so ("dolor" against "do not") */
    if (plain && (c == 'I' || mine_pair) && person_at(t, e, i, c3))
        out->person++;
    if (plain && row_has(f->rules, c, c1) &&
        any_of(t, e, i, c3, rule_words, COUNT(rule_words), true))
        out->rules++;
    if (row_has(f->yours, c, c1) && any_of(t, e, i, c3, yours, COUNT(yours), false))
        out->own++;
    if (row_has(f->work, c, c1) && any_of(t, e, i, c3, work_words, COUNT(work_words), true))
        out->work++;
    if (!out->conversation && row_has(f->conversations, c, c1) &&
        any_of(t, e, i, c3, conversations, COUNT(conversations), false))
        out->conversation = true;
    if (out->kind < 0 && row_has(f->kinds, c, c1))
        out->kind = kind_of(t, e, i, c3);
}

/* What the blank-delimited word that opens at t[i] (not a blank) names:
 * a path or a file name holds a '/' or a '.', looked for from t[from]
 * (the bytes before it are letters or digits) to the next blank. */
static void read_path(const char *t, size_t i, size_t from, size_t e, struct mp_address *out)
{
    size_t w = from;
    bool marks = false;
    while (w < e && t[w] != ' ' && t[w] != '\t') {
        marks = marks || t[w] == '/' || t[w] == '.';
        w++;
    }
    int named = marks ? path_word(t, i, w) : 0;
    out->work += named > 0;
    out->own += named == 2;
}

/* The instructions' bytes classed 64 to a word, one bit a byte: alnum
 * (is_alnum) and other (neither that nor a space); bits past the text are
 * 0. A line is then read an event at a time (a word's first byte, a byte
 * of neither kind) rather than a byte at a time, and most words (prose
 * between single spaces) cost a table's look-up. */
#define MAP_WORDS (MP_ADDRESS_WINDOW / 64 + 1)

struct bytemap {
    uint64_t alnum[MAP_WORDS];
    uint64_t other[MAP_WORDS];
};

#ifdef __SSE2__
/* The alnum and other bits of the 16 bytes at p. A range is one signed
 * compare once moved to start at -128: 'a'..'z' (after | 0x20) and
 * '0'..'9' each; a byte >= 0x80 has its high bit already. */
static void class16(const unsigned char *p, unsigned *alnum, unsigned *other)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i low = _mm_or_si128(x, _mm_set1_epi8(0x20));
    __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(low, _mm_set1_epi8((char)(0x80 - 'a'))),
                                    _mm_set1_epi8((char)(0x80 + 26)));
    __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))),
                                   _mm_set1_epi8((char)(0x80 + 10)));
    unsigned a = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), x));
    unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
    *alnum = a;
    *other = ~(a | sp) & 0xffff;
}
#else
static void class16(const unsigned char *p, unsigned *alnum, unsigned *other)
{
    unsigned a = 0, o = 0;
    for (unsigned k = 0; k < 16; k++) {
        a |= (unsigned)alnum_byte[p[k]] << k;
        o |= (unsigned)(alnum_byte[p[k]] == 0 && p[k] != ' ') << k;
    }
    *alnum = a;
    *other = o;
}
#endif

/* Fills m's words 0..n/64 (the last past the text: 0) from t[0..n), 64
 * bytes at a time; the last bytes from a copy, so nothing past n is read. */
static void map_fill(struct bytemap *m, const char *t, size_t n)
{
    const unsigned char *s = (const unsigned char *)t;
    unsigned char tail[64];
    for (size_t i = 0; i <= n; i += 64) {
        const unsigned char *p = s + i;
        uint64_t a = 0, o = 0;
        if (n - i < 64) {
            memset(tail, 0, sizeof(tail));
            memcpy(tail, s + i, n - i);
            p = tail;
        }
        for (unsigned k = 0; k < 64; k += 16) {
            unsigned a16, o16;
            class16(p + k, &a16, &o16);
            a |= (uint64_t)a16 << k;
            o |= (uint64_t)o16 << k;
        }
        uint64_t keep = n - i >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << (n - i)) - 1;
        m->alnum[i / 64] = a & keep;
        m->other[i / 64] = o & keep;
    }
}

/* The first byte of the word that ends at byte j - 1 (an alnum byte). */
static size_t word_start(const struct bytemap *m, size_t j)
{
    size_t w = (j - 1) / 64, r = (j - 1) % 64;
    uint64_t bits = ~m->alnum[w] & (r == 63 ? ~(uint64_t)0 : ((uint64_t)1 << (r + 1)) - 1);
    while (bits == 0 && w > 0)
        bits = ~m->alnum[--w];
    return bits == 0 ? 0 : w * 64 + 64 - (size_t)__builtin_clzll(bits);
}

/* A byte of neither kind at t[i] in the line t[b..e): a mark, a quote;
 * after a word, which then is not of letters alone, read_path for it
 * first. */
static void read_mark(const char *t, size_t b, size_t i, size_t e, const struct bytemap *m,
                      bool *quoted, bool *code, struct mp_address *out)
{
    char c = t[i];
    if (i > b && is_alnum(t[i - 1]) && c != '\t') { /* a word ends here */
        size_t ws = word_start(m, i);
        if (ws == b || t[ws - 1] == ' ')
            read_path(t, ws, i, e, out);
    }
    if (c == '"')
        *quoted = !*quoted;
    else if (c == '`')
        *code = !*code;
    if (i == b || t[i - 1] == ' ') /* a blank-delimited word opens here */
        read_path(t, i, i, e, out);
}

/* What one line of the instructions, t[b..e), adds to out, an event at a
 * time in the map (every reading starts at one), in the order of the
 * text: a word's first byte (read_word), or a byte of neither kind
 * (read_mark). The words between two marks are read in a run, whose
 * plainness only a mark changes. */
static void read_line(const char *t, size_t b, size_t e, const struct bytemap *m,
                      struct mp_address *out)
{
    bool quoted = false, code = false;
    if (list_item(t, e, b))
        out->rules++;
    for (size_t w = b / 64; w * 64 < e; w++) {
        uint64_t range = ~(uint64_t)0, a = m->alnum[w];
        uint64_t before = w > 0 ? m->alnum[w - 1] >> 63 : 0;
        if (w == b / 64)
            range &= ~(uint64_t)0 << (b % 64);
        if (e - w * 64 < 64)
            range &= ((uint64_t)1 << (e - w * 64)) - 1;
        uint64_t starts = a & ~((a << 1) | before) & range, marks = m->other[w] & range;
        for (;;) {
            uint64_t below = marks != 0 ? (marks & (0 - marks)) - 1 : ~(uint64_t)0;
            bool plain = !quoted && !code;
            for (uint64_t run = starts & below; run != 0; run &= run - 1)
                read_word(t, w * 64 + (size_t)__builtin_ctzll(run), e, plain, out);
            starts &= ~below;
            if (marks == 0)
                break;
            read_mark(t, b, w * 64 + (size_t)__builtin_ctzll(marks), e, m, &quoted, &code, out);
            marks &= marks - 1;
        }
    }
}

void mp_address_read(const char *text, size_t len, struct mp_address *out)
{
    size_t n = len < MP_ADDRESS_WINDOW ? len : MP_ADDRESS_WINDOW;
    bool fence = false;
    int depth = 0;
    struct bytemap m;
    memset(out, 0, sizeof(*out));
    out->kind = -1;
    out->instructions = find_transcript(text, n, &out->transcript);
    map_fill(&m, text, out->instructions);
    for (size_t i = 0; i < out->instructions;) {
        size_t b = line_body(text, out->instructions, i);
        size_t e = line_end(text, out->instructions, i);
        if (b < MP_ADDRESS_ROLE_SPAN && !out->role)
            out->role = role_at(text, e, b);
        if (e - b >= 3 && memcmp(text + b, "```", 3) == 0)
            fence = !fence;
        else if (b + 1 < e && text[b] == '<' && text[b + 1] == '/')
            depth -= depth > 0;
        else if (b + 1 < e && text[b] == '<' && is_alnum(text[b + 1]) &&
                 mp_find_bytes(text + b, e - b, "</", 2) == NULL)
            depth++; /* a tagged block opens: what it holds is quoted */
        else if (!fence && depth == 0)
            read_line(text, b, e, &m, out);
        i = e + 1;
    }
}
