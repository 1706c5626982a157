/* libFuzzer target for core/wire/inserted.c: a pattern file, then (after
 * the first NUL) a user's text. A file that parses strips the text; the
 * built-in patterns strip it too. The remainder must be no longer than the
 * text, hold only its bytes in their order, be the text byte for byte
 * when nothing was counted as removed, and be the same on a second copy. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/inserted.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks use assert(): the fuzz build is a debug build. */
#define CHECK(cond) assert(cond)

/* out[0..n) is a subsequence of text[0..len). */
static bool subsequence(const char *out, size_t n, const char *text, size_t len)
{
    size_t t = 0;
    for (size_t i = 0; i < n; i++, t++) {
        while (t < len && text[t] != out[i])
            t++;
        if (t == len)
            return false;
    }
    return true;
}

static void strip_checked(const struct mp_inserted_patterns *p, const char *text, size_t len)
{
    char *a = malloc(len + 1), *b = malloc(len + 1);
    if (a == NULL || b == NULL)
        goto out;
    memcpy(a, text, len);
    memcpy(b, text, len);
    struct mp_inserted_count c = {0}, d = {0};
    size_t n = mp_inserted_strip(p, a, len, &c);
    CHECK(n <= len);
    CHECK(subsequence(a, n, text, len));
    if (c.total == 0)
        CHECK(n == len && memcmp(a, text, len) == 0);
    uint32_t sum = 0;
    for (int k = 0; k < MP_INSERTED_CLIENTS; k++)
        sum += c.blocks[k];
    CHECK(sum == c.total);
    CHECK(mp_inserted_strip(p, b, len, &d) == n && memcmp(a, b, n) == 0 && d.total == c.total);
out:
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mp_inserted_patterns builtin, file;
    static bool ready;
    unsigned line = 0;
    const char *why = NULL;
    if (!ready) {
        CHECK(mp_inserted_parse(mp_inserted_default_patterns, strlen(mp_inserted_default_patterns),
                                &builtin, &line, &why) == MP_OK);
        ready = true;
    }
    const char *in = (const char *)data;
    const char *nul = memchr(in, '\0', size);
    size_t flen = nul != NULL ? (size_t)(nul - in) : 0;
    const char *text = nul != NULL ? nul + 1 : in;
    size_t len = size - (size_t)(text - in);
    int rc = mp_inserted_parse(in, flen, &file, &line, &why);
    CHECK(rc == MP_OK || (rc == MP_EINVAL && why != NULL && line >= 1));
    CHECK(file.n <= MP_INSERTED_PATTERNS_MAX);
    if (rc == MP_OK)
        strip_checked(&file, text, len);
    strip_checked(&builtin, text, len);
    strip_checked(NULL, text, len);
    return 0;
}
