/* The summary filter (summfilter.h): sentence by sentence, word-bounded
 * matching. A summary is a few hundred words, so plain scans. */
#include "memory/summfilter.h"

#include <string.h>

#include "json/ascii.h"

static bool word_byte(unsigned char c)
{
    unsigned char l = mp_ascii_lower(c);
    return c >= 0x80 || (c >= '0' && c <= '9') || (l >= 'a' && l <= 'z');
}

static bool same_at(const char *s, const char *v, size_t m)
{
    for (size_t j = 0; j < m; j++)
        if (mp_ascii_lower((unsigned char)s[j]) != mp_ascii_lower((unsigned char)v[j]))
            return false;
    return true;
}

/* Whether a whole-word match of v[0..m) starts at s[i] (i + m <= n). */
static bool match_at(const char *s, size_t n, size_t i, const char *v, size_t m)
{
    if (!same_at(s + i, v, m))
        return false;
    bool open = i == 0 || !word_byte((unsigned char)s[i - 1]) || !word_byte((unsigned char)v[0]);
    bool close =
        i + m == n || !word_byte((unsigned char)s[i + m]) || !word_byte((unsigned char)v[m - 1]);
    return open && close;
}

bool mp_summfilter_holds(const char *s, size_t n, const char *v, size_t m)
{
    for (size_t i = 0; m > 0 && i + m <= n; i++)
        if (match_at(s, n, i, v, m))
            return true;
    return false;
}

/* Whether a match in t[0..n) overlaps the sentence t[from..end): a value
 * that holds a sentence end ("Dr. Smith") takes every sentence it
 * touches. */
static bool overlaps(const char *t, size_t n, size_t from, size_t end, const char *v, size_t m)
{
    for (size_t i = from >= m ? from - m + 1 : 0; i < end && i + m <= n; i++)
        if (match_at(t, n, i, v, m))
            return true;
    return false;
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The end of the sentence that starts at i: just past its '.', '!' or '?'
 * (before white space or the end), or at its line break, or n. */
static size_t sentence_end(const char *t, size_t i, size_t n)
{
    for (; i < n; i++) {
        if (t[i] == '\n')
            return i;
        if ((t[i] == '.' || t[i] == '!' || t[i] == '?') && (i + 1 == n || space(t[i + 1])))
            return i + 1;
    }
    return n;
}

size_t mp_summfilter_drop(char *text, size_t *len, const char *value, size_t vlen)
{
    size_t n = *len, out = 0, dropped = 0, i = 0;
    if (vlen == 0 || !mp_summfilter_holds(text, n, value, vlen))
        return 0;
    while (i < n) {
        size_t gap = i;
        while (i < n && space(text[i]))
            i++;
        size_t end = sentence_end(text, i, n);
        if (end == i) /* nothing but white space left */
            break;
        if (overlaps(text, n, i, end, value, vlen)) {
            dropped++;
        } else {
            size_t from = out == 0 ? i : gap; /* the text between kept sentences stays */
            memmove(text + out, text + from, end - from);
            out += end - from;
        }
        i = end;
    }
    *len = out;
    return dropped;
}
