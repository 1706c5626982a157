/* The key-strength rule of keystrength.h: length, variety, no dominant
 * character, no period. Each test is one a random key fails with a
 * probability under 10^-4 (32 hex digits being the worst case). */
#include "keystrength.h"

#include <stdbool.h>

/* Whether key[0..n) is its first p bytes over and over (p < n). */
static bool periodic(const char *key, size_t n, size_t p)
{
    for (size_t i = p; i < n; i++) {
        if (key[i] != key[i - p])
            return false;
    }
    return true;
}

const char *mp_keystrength_check(const char *key, size_t n)
{
    unsigned counts[256] = {0};
    size_t distinct = 0, most = 0;
    if (key == NULL || n < MP_KEYSTRENGTH_MIN_BYTES)
        return "shorter than 32 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned c = ++counts[(unsigned char)key[i]];
        if (c == 1)
            distinct++;
        if (c > most)
            most = c;
    }
    if (distinct < MP_KEYSTRENGTH_MIN_DISTINCT)
        return "too few different characters";
    if (most * 3 > n)
        return "one character is a third of it";
    for (size_t p = 1; p <= n / 2; p++) {
        if (periodic(key, n, p))
            return "a shorter text repeated";
    }
    return NULL;
}
