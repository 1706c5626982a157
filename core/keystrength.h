/* Whether a secret that signs or opens something (a user signature key,
 * the page's link key, the admin token) could have come from a random
 * generator. Pure: it looks at the bytes and keeps nothing. It cannot
 * measure entropy; it refuses the shapes people type (short words,
 * repeats, few distinct characters), so that `openssl rand -hex 16` and
 * `openssl rand -base64 24` pass and "a", "changeme" or "abcabcabc..." do
 * not. */
#ifndef MP_CORE_KEYSTRENGTH_H
#define MP_CORE_KEYSTRENGTH_H

#include <stddef.h>

/* The fewest bytes a key may have: the text of 16 random bytes in hex
 * (32 digits), or of 24 in base64. */
#define MP_KEYSTRENGTH_MIN_BYTES 32
/* The fewest distinct characters among them (32 random hex digits hold
 * 14 on average; fewer than 8 happens about once in 10^7 keys). */
#define MP_KEYSTRENGTH_MIN_DISTINCT 8

/* Checks key[0..n) (borrowed; not NUL-terminated). NULL when it may be a
 * random key; otherwise a static English reason ("shorter than 32
 * bytes", "too few different characters", "one character is a third of
 * it", "a shorter text repeated"), never quoting the key. */
const char *mp_keystrength_check(const char *key, size_t n);

#endif
