/* libFuzzer target for core/recall/excerpt.c: an arbitrary question and
 * stored message in arbitrary rooms. An excerpt must be made only for a
 * text longer than its room, stay within the room, end with a NUL, start
 * with the text's opening, keep valid UTF-8 valid, hold nothing but the
 * text's bytes in order (its separators and white space aside), and be the
 * same on a second call. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recall/excerpt.h"
#include "recall/relevance_words.h"
#include "status.h"
#include "recall/terms.h"
#include "json/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks use assert(): the fuzz build is a debug build. */
#define CHECK(cond) assert(cond)

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Well-formed UTF-8 throughout (mp_utf8_decode's table 3-7). */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = mp_utf8_decode(s + i, n - i, NULL);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* out's bytes, its separators and white space skipped, are a subsequence
 * of text's. */
static bool from_text(const char *out, size_t n, const char *text, size_t len)
{
    size_t t = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= MP_EXCERPT_SEP_LEN &&
            memcmp(out + i, MP_EXCERPT_SEP, MP_EXCERPT_SEP_LEN) == 0) {
            i += MP_EXCERPT_SEP_LEN;
            continue;
        }
        if (n - i == MP_EXCERPT_END_LEN && memcmp(out + i, MP_EXCERPT_END, MP_EXCERPT_END_LEN) == 0)
            break;
        if (space(out[i])) {
            i++;
            continue;
        }
        while (t < len && text[t] != out[i])
            t++;
        if (t == len)
            return false;
        t++;
        i++;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mp_terms *terms;
    static struct mp_relevance_question qn;
    if (terms == NULL)
        CHECK(mp_terms_new(&terms) == MP_OK);
    if (size < 2)
        return 0;
    size_t qlen = data[0] % 64 < size - 2 ? data[0] % 64 : size - 2;
    size_t room = 4 * MP_EXCERPT_PIECE_MIN + (size_t)data[1] * 3;
    const char *q = (const char *)data + 2, *text = q + qlen;
    size_t len = size - 2 - qlen;
    CHECK(mp_relevance_question_parse(terms, q, qlen, NULL, 0, NULL, &qn) == MP_OK);
    char *out, *again;
    size_t n, n2;
    CHECK(mp_excerpt_make(&qn, text, len, room, &out, &n) == MP_OK);
    if (out == NULL) {
        CHECK(n == 0);
        return 0;
    }
    CHECK(len > room && n <= room && out[n] == '\0');
    size_t skip = 0;
    while (skip < len && space(text[skip]))
        skip++;
    CHECK(n > 0 && len - skip > 0 && out[0] == text[skip]);
    CHECK(!valid_utf8((const unsigned char *)text, len) ||
          valid_utf8((const unsigned char *)out, n));
    CHECK(from_text(out, n, text, len));
    CHECK(mp_excerpt_make(&qn, text, len, room, &again, &n2) == MP_OK);
    CHECK(again != NULL && n2 == n && memcmp(out, again, n) == 0);
    free(out);
    free(again);
    return 0;
}
