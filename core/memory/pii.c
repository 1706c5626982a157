/* Personal-data and instruction detectors over raw bytes. No regex engine,
 * no allocation: each detector is a small hand-written matcher run from the
 * positions where its pattern can start, reading a bounded number of bytes
 * from each, so a hostile text costs linear time.
 *
 * The number rules are tuned against what a technical chat is full of:
 * versions (1.2.3.4), IP addresses, dates, ISBNs, timestamps. A check digit
 * (Luhn, mod-97, a DNI's letter) or a fixed shape (SSN, NINO) decides the
 * strong kinds; phones have no checksum, so their shape rules lean towards
 * missing an unusual layout rather than flagging every dotted or dashed
 * number. */
#include "memory/pii.h"

#include <string.h>

#include "json/ascii.h"
#include "memory/natid.h"
#include "status.h"

/* ---- e-mail ---- */

static bool is_local(unsigned char c)
{
    return mp_ascii_is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Checks the domain s[d..e): labels, at least two, the last alphabetic. */
static bool domain_ok(const unsigned char *s, size_t d, size_t e)
{
    size_t labels = 0;
    size_t a = d;

    while (a < e) {
        size_t b = a;
        bool alpha = true;
        while (b < e && s[b] != '.') {
            alpha = alpha && mp_ascii_is_alpha(s[b]);
            b++;
        }
        if (b == a || b - a > 63 || s[a] == '-' || s[b - 1] == '-')
            return false;
        labels++;
        if (b == e)
            return labels >= 2 && alpha && b - a >= 2;
        a = b + 1;
    }
    return false;
}

static bool email_at(const unsigned char *s, size_t len, size_t i, size_t *end)
{
    size_t j = i;
    while (j < len && j - i <= 64 && is_local(s[j]))
        j++;
    if (j - i > 64 || j >= len || s[j] != '@')
        return false;
    size_t d = j + 1;
    size_t k = d;
    while (k < len && k - d <= 253 && (mp_ascii_is_alnum(s[k]) || s[k] == '-' || s[k] == '.'))
        k++;
    if (k - d > 253)
        return false;
    while (k > d && (s[k - 1] == '.' || s[k - 1] == '-'))
        k--;
    if (!domain_ok(s, d, k))
        return false;
    *end = k;
    return true;
}

/* ---- IBAN ---- */

#define IBAN_MIN 15
#define IBAN_MAX 34

/* ISO 13616: the first four characters move to the end, letters count as
 * 10..35, and the whole number must be 1 modulo 97. */
static bool iban_check(const char *c, size_t n)
{
    unsigned r = 0;

    if (!mp_ascii_is_alpha((unsigned char)c[0]) || !mp_ascii_is_alpha((unsigned char)c[1]) ||
        !mp_ascii_is_digit((unsigned char)c[2]) || !mp_ascii_is_digit((unsigned char)c[3]))
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)c[(k + 4) % n];
        if (mp_ascii_is_digit(ch))
            r = (r * 10 + (unsigned)(ch - '0')) % 97;
        else
            r = (r * 100 + (unsigned)(mp_ascii_lower(ch) - 'a' + 10)) % 97;
    }
    return r == 1;
}

/* Length of the run of letters and digits at s[i], counted up to
 * IBAN_MAX + 1 (anything longer is no IBAN part). */
static size_t alnum_run(const unsigned char *s, size_t len, size_t i)
{
    size_t j = i;
    while (j < len && j - i <= IBAN_MAX && mp_ascii_is_alnum(s[j]))
        j++;
    return j - i;
}

static bool iban_at(const unsigned char *s, size_t len, size_t i, size_t *end)
{
    char chars[IBAN_MAX];
    size_t ends[IBAN_MAX / 4 + 2]; /* byte offset after each group */
    size_t counts[IBAN_MAX / 4 + 2];
    size_t ngroups = 0;
    size_t last = alnum_run(s, len, i);
    size_t total = last;
    size_t p = i + last;

    if (last < 4 || last > IBAN_MAX || (last > 4 && last < IBAN_MIN))
        return false;
    memcpy(chars, s + i, last);
    ends[ngroups] = p;
    counts[ngroups++] = total;
    /* Print form: groups of four after single spaces, the last one may be
     * shorter; an unbroken IBAN has only its first group. */
    while (last == 4 && p + 1 < len && s[p] == ' ') {
        size_t g = alnum_run(s, len, p + 1);
        if (g == 0 || g > 4 || total + g > IBAN_MAX)
            break;
        memcpy(chars + total, s + p + 1, g);
        total += g;
        p += 1 + g;
        ends[ngroups] = p;
        counts[ngroups++] = total;
        last = g;
    }
    for (size_t g = ngroups; g-- > 0;) {
        if (counts[g] >= IBAN_MIN && iban_check(chars, counts[g])) {
            *end = ends[g];
            return true;
        }
    }
    return false;
}

/* ---- numbers: cards, SSNs, phones ---- */

#define NUM_MAX_BYTES  48
#define NUM_MAX_DIGITS 19

struct num {
    bool plus;
    bool paren;
    size_t ngroups;
    size_t ndigits;
    unsigned char glen[NUM_MAX_DIGITS];
    char sep[NUM_MAX_DIGITS]; /* before each group; 0 for the first */
    char digits[NUM_MAX_DIGITS];
};

/* A group at s[i]: digits, or "(digits)" when parentheses are allowed.
 * Returns its end, or i when there is none. Digits are counted up to one
 * more than any number may hold, which take_group() then refuses. */
static size_t group_end(const unsigned char *s, size_t len, size_t i, bool paren_ok)
{
    bool paren = paren_ok && i < len && s[i] == '(';
    size_t j = i + paren;
    while (j < len && j - i <= NUM_MAX_DIGITS + 1 && mp_ascii_is_digit(s[j]))
        j++;
    if (j == i + paren)
        return i;
    if (paren && (j >= len || s[j] != ')'))
        return i;
    return j + paren;
}

static bool is_sep(unsigned char c)
{
    return c == ' ' || c == '-' || c == '.';
}

static bool take_group(struct num *nm, const unsigned char *s, size_t a, size_t b, char sep)
{
    if (s[a] == '(') {
        nm->paren = true;
        a++;
        b--;
    }
    if (b - a > NUM_MAX_DIGITS - nm->ndigits)
        return false;
    memcpy(nm->digits + nm->ndigits, s + a, b - a);
    nm->ndigits += b - a;
    nm->glen[nm->ngroups] = (unsigned char)(b - a);
    nm->sep[nm->ngroups++] = sep;
    return true;
}

/* Parses the maximal number starting at s[i]; see the header's grammar. */
static bool number_at(const unsigned char *s, size_t len, size_t i, struct num *nm, size_t *end)
{
    size_t p = i;
    char sep = 0;

    memset(nm, 0, sizeof(*nm));
    nm->plus = s[p] == '+';
    p += nm->plus;
    size_t g = group_end(s, len, p, true);
    while (g != p) {
        if (!take_group(nm, s, p, g, sep) || g - i > NUM_MAX_BYTES)
            return false;
        p = g;
        size_t next = p + 1 < len && is_sep(s[p]) ? group_end(s, len, p + 1, !nm->paren) : p + 1;
        if (next != p + 1) {
            sep = (char)s[p];
            g = next;
            p++;
        } else if (s[p - 1] == ')') {
            sep = ' ';
            g = group_end(s, len, p, false);
        } else {
            break;
        }
    }
    if (nm->ngroups == 0)
        return false;
    *end = p;
    return p == len || !(mp_ascii_is_alnum(s[p]) || s[p] == '_' || s[p] == '/' || s[p] == '@');
}

static bool num_left_ok(const unsigned char *s, size_t i)
{
    if (i == 0)
        return true;
    unsigned char c = s[i - 1];
    /* After "<digit> " we are inside a longer number, which was judged whole
     * from its own start. */
    if (c == ' ' && i >= 2 && (mp_ascii_is_digit(s[i - 2]) || s[i - 2] == ')'))
        return false;
    return !(mp_ascii_is_alnum(c) || c == '_' || c == '.' || c == '-' || c == '+' || c == '/' ||
             c == '@');
}

static bool luhn(const char *d, size_t n)
{
    unsigned sum = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned v = (unsigned)(d[n - 1 - k] - '0');
        if (k % 2 == 1)
            v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    return sum % 10 == 0;
}

static bool is_card(const struct num *nm)
{
    bool zeros = true;

    if (nm->plus || nm->paren || nm->ndigits < 13 || nm->ndigits > 19)
        return false;
    for (size_t g = 1; g < nm->ngroups; g++) {
        if (nm->sep[g] == '.' || nm->sep[g] != nm->sep[1] || nm->glen[g] < 3 || nm->glen[0] < 3)
            return false;
    }
    for (size_t k = 0; k < nm->ndigits; k++)
        zeros = zeros && nm->digits[k] == '0';
    return !zeros && luhn(nm->digits, nm->ndigits);
}

static bool is_ssn(const struct num *nm)
{
    const char *d = nm->digits;

    if (nm->plus || nm->paren || nm->ngroups != 3 || nm->glen[0] != 3 || nm->glen[1] != 2 ||
        nm->glen[2] != 4 || nm->sep[1] != '-' || nm->sep[2] != '-')
        return false;
    if (memcmp(d, "000", 3) == 0 || memcmp(d, "666", 3) == 0 || d[0] == '9')
        return false;
    return memcmp(d + 3, "00", 2) != 0 && memcmp(d + 5, "0000", 4) != 0;
}

static bool shape_is(const struct num *nm, unsigned a, unsigned b, unsigned c)
{
    return nm->ngroups == 3 && nm->glen[0] == a && nm->glen[1] == b && nm->glen[2] == c;
}

static bool is_phone(const struct num *nm)
{
    bool dotted = false;

    if (nm->ndigits < 7 || nm->ndigits > 15)
        return false;
    if (nm->ngroups == 1 && !nm->plus && nm->ndigits < 10)
        return false;
    for (size_t g = 1; g < nm->ngroups; g++) {
        dotted = dotted || nm->sep[g] == '.';
        if (nm->glen[g] < 2 && !(g == 1 && nm->plus))
            return false;
    }
    if (nm->plus)
        return true;
    if (dotted && !(shape_is(nm, 3, 3, 4) && nm->sep[1] == '.' && nm->sep[2] == '.'))
        return false;
    return !shape_is(nm, 4, 2, 2) && !shape_is(nm, 2, 2, 4);
}

static int number_kind(const unsigned char *s, size_t len, size_t i, size_t *end)
{
    struct num nm;

    if (!num_left_ok(s, i) || !number_at(s, len, i, &nm, end))
        return 0;
    if (is_card(&nm))
        return MP_PII_CARD;
    if (is_ssn(&nm))
        return MP_PII_SSN;
    return is_phone(&nm) ? MP_PII_PHONE : 0;
}

/* Every match holds a digit at most DIGIT_REACH bytes after its start (a
 * number, which may open with "+(" or a space; an IBAN's check digits
 * after its two letters; a national id's after its letters), or is an
 * email whose '@' is at most AT_REACH bytes after it: the bytes farther
 * than that from both are skipped without a look. */
#define DIGIT_REACH 4
#define AT_REACH    64

/* The first digit (or '@', when at) at or after i; none: far past len. */
static size_t next_mark(const unsigned char *s, size_t len, size_t i, bool at)
{
    if (at) {
        const unsigned char *p = i < len ? memchr(s + i, '@', len - i) : NULL;
        return p != NULL ? (size_t)(p - s) : len + AT_REACH + 1;
    }
    while (i < len && !mp_ascii_is_digit(s[i]))
        i++;
    return i < len ? i : len + AT_REACH + 1;
}

int mp_pii_find(const char *text, size_t len, size_t from, size_t *start, size_t *end)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t digit = next_mark(s, len, from, false), at = next_mark(s, len, from, true);

    for (size_t i = from; i < len; i++) {
        if (digit < i)
            digit = next_mark(s, len, i, false);
        if (at < i)
            at = next_mark(s, len, i, true);
        if (digit - i > DIGIT_REACH && at - i > AT_REACH) {
            size_t next = digit - DIGIT_REACH < at - AT_REACH ? digit - DIGIT_REACH : at - AT_REACH;
            if (next >= len)
                break;
            i = next - 1; /* the loop's step lands on next */
            continue;
        }
        unsigned char c = s[i];
        unsigned char prev = i > 0 ? s[i - 1] : ' ';
        int kind = 0;
        if (is_local(c) && !is_local(prev) && email_at(s, len, i, end))
            kind = MP_PII_EMAIL;
        else if (mp_ascii_is_alpha(c) && !mp_ascii_is_alnum(prev) && iban_at(s, len, i, end))
            kind = MP_PII_IBAN;
        else if (mp_ascii_is_alnum(c) && mp_natid_at(text, len, i, end))
            kind = MP_PII_NATIONAL_ID;
        else if (mp_ascii_is_digit(c) || c == '+' || c == '(')
            kind = number_kind(s, len, i, end);
        if (kind != 0) {
            *start = i;
            return kind;
        }
    }
    return 0;
}

bool mp_pii_detect(const char *text, size_t len)
{
    size_t start, end;
    return mp_pii_find(text, len, 0, &start, &end) != 0;
}

int mp_pii_redact(const char *text, size_t len, char *out, size_t cap, size_t *out_len)
{
    static const char mask[] = "[redacted]";
    size_t pos = 0;
    size_t n = 0;
    size_t start, end;

    for (;;) {
        bool found = mp_pii_find(text, len, pos, &start, &end) != 0;
        size_t keep = (found ? start : len) - pos;
        size_t add = keep + (found ? sizeof(mask) - 1 : 0);
        if (add >= cap - n)
            return MP_ETOOBIG; /* keeps room for the NUL */
        if (keep > 0)
            memcpy(out + n, text + pos, keep);
        n += keep;
        if (!found)
            break;
        memcpy(out + n, mask, sizeof(mask) - 1);
        n += sizeof(mask) - 1;
        pos = end;
    }
    out[n] = '\0';
    *out_len = n;
    return MP_OK;
}

/* ---- instructions ---- */

/* Words are kept lower-cased and cut to WORD_MAX - 1 bytes; a longer word is
 * stored as "#", which matches nothing (every listed word is shorter). */
#define WORD_MAX 16
#define WORDS    5

struct words {
    char w[WORDS][WORD_MAX]; /* w[0] the newest */
    size_t n;                /* words seen, saturating at WORDS */
};

static bool word_in(const char *w, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(w, *list) == 0)
            return true;
    }
    return false;
}

static const char *const verbs[] = {"ignore", "disregard", "forget", "override", NULL};
static const char *const fillers[] = {"all",   "any",   "the",   "your",       "my", "of",
                                      "these", "those", "every", "everything", NULL};
static const char *const befores[] = {"previous",  "prior",     "above",  "earlier",
                                      "preceding", "foregoing", "former", NULL};

/* Rule 1, on the phrase ending with the newest word. */
static bool phrase_hit(const struct words *ws)
{
    const char(*w)[WORD_MAX] = ws->w;

    if (ws->n >= 3 && strcmp(w[2], "you") == 0 && strcmp(w[1], "are") == 0 &&
        strcmp(w[0], "now") == 0)
        return true;
    if (ws->n >= 4 && strcmp(w[3], "from") == 0 && strcmp(w[2], "now") == 0 &&
        strcmp(w[1], "on") == 0 && strcmp(w[0], "you") == 0)
        return true;
    if (ws->n >= 2 && strcmp(w[1], "system") == 0 &&
        (strcmp(w[0], "prompt") == 0 || strcmp(w[0], "prompts") == 0))
        return true;
    if (!word_in(w[0], befores))
        return false;
    for (size_t k = 1; k < ws->n; k++) {
        if (word_in(w[k], verbs))
            return true;
        if (!word_in(w[k], fillers))
            return false;
    }
    return false;
}

static bool is_word_byte(unsigned char c)
{
    return mp_ascii_is_alnum(c) || c >= 0x80;
}

static bool rule_words(const unsigned char *s, size_t len)
{
    struct words ws;
    size_t i = 0;

    ws.n = 0;
    while (i < len) {
        while (i < len && !is_word_byte(s[i]))
            i++;
        size_t a = i;
        while (i < len && is_word_byte(s[i]))
            i++;
        if (i == a)
            break;
        memmove(ws.w[1], ws.w[0], sizeof(ws.w[0]) * (WORDS - 1));
        if (i - a < WORD_MAX) {
            for (size_t k = a; k < i; k++)
                ws.w[0][k - a] = (char)mp_ascii_lower(s[k]);
            ws.w[0][i - a] = '\0';
        } else {
            strcpy(ws.w[0], "#");
        }
        ws.n += ws.n < WORDS;
        if (phrase_hit(&ws))
            return true;
    }
    return false;
}

static bool ends_with(const char *w, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(w + n - k, lit, k) == 0;
}

static bool is_token_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* "<|" [a-z0-9_]{1,32} "|>" at the end of w[0..n). */
static bool ends_with_special(const char *w, size_t n)
{
    if (!ends_with(w, n, "|>"))
        return false;
    for (size_t k = 1; k <= 33 && k + 3 <= n; k++) {
        char c = w[n - 2 - k];
        if (c == '|')
            return k > 1 && w[n - 3 - k] == '<';
        if (!is_token_byte(c))
            return false;
    }
    return false;
}

static const char *const markers[] = {"[inst]",
                                      "[/inst]",
                                      "<<sys>>",
                                      "<</sys>>",
                                      "</s>",
                                      "[userprofile]",
                                      "[conversationhistorysummary]",
                                      "[memory",
                                      NULL};

/* Rule 2: a window over the text without whitespace, lower-cased; each new
 * byte is checked as the end of every marker. Markers and special tokens are
 * at most 36 bytes, so the window keeps the last 64. */
static bool rule_markers(const unsigned char *s, size_t len)
{
    char w[128];
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' ||
            s[i] == '\v')
            continue;
        if (n == sizeof(w)) {
            memmove(w, w + n - 64, 64);
            n = 64;
        }
        w[n++] = (char)mp_ascii_lower(s[i]);
        if (ends_with_special(w, n))
            return true;
        for (size_t m = 0; markers[m] != NULL; m++) {
            if (ends_with(w, n, markers[m]))
                return true;
        }
    }
    return false;
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Rule 3 for the line starting at s[i]. */
static bool role_line(const unsigned char *s, size_t len, size_t i)
{
    static const char *const roles[] = {"system", "assistant", "developer", NULL};
    size_t a = i;
    size_t b;

    while (a < len && is_blank(s[a]))
        a++;
    for (b = a; b < len && mp_ascii_is_alpha(s[b]) && b - a < WORD_MAX; b++)
        ;
    char w[WORD_MAX];
    if (b == a || b - a >= WORD_MAX)
        return false;
    for (size_t k = a; k < b; k++)
        w[k - a] = (char)mp_ascii_lower(s[k]);
    w[b - a] = '\0';
    while (b < len && is_blank(s[b]))
        b++;
    return b < len && s[b] == ':' && word_in(w, roles);
}

static bool rule_roles(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r') && role_line(s, len, i))
            return true;
    }
    return false;
}

bool mp_pii_looks_like_instruction(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    return rule_words(s, len) || rule_markers(s, len) || rule_roles(s, len);
}
