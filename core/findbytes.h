/* Finding a literal marker in text where the marker's first byte is rare
 * (an inserted-context tag, a client task's phrase, a JSON member name):
 * memchr runs to each place the first byte occurs (or another byte of the
 * marker, chosen for being seldom in text), memcmp checks the rest there. On text without that byte
 * it is one vectorized memchr pass, a fraction of memmem's cost for the few short markers memproxy
 * looks for.
 *
 * Text where the first byte is common (or built to be: "aaaa..." against
 * "aab") would make that quadratic in the marker's length, so after a few
 * candidates more than one every 64 bytes the search continues with memmem,
 * which is linear: the worst case stays within a small multiple of it. */
#ifndef MP_CORE_FINDBYTES_H
#define MP_CORE_FINDBYTES_H

#include <stddef.h>

/* The first occurrence of needle[0..m) in hay[0..n), or NULL; m == 0
 * finds hay (as memmem does). */
const char *mp_find_bytes(const char *hay, size_t n, const char *needle, size_t m);

/* mp_find_bytes with memchr run to needle[a] (a < m when m > 0) rather
 * than to its first byte: for a needle whose first byte is common in text
 * and another is not ("please reply ... 3-4 words"). The same answer. */
const char *mp_find_bytes_at(const char *hay, size_t n, const char *needle, size_t m, size_t a);

/* The byte of needle[0..m) to run memchr to (mp_find_bytes_at's a): the
 * first of the seldomest kind (a mark or a digit, a capital, a byte beyond
 * ASCII, a lower case letter or a space), 0 for m == 0. Linear in m:
 * for needles chosen once and looked for many times. */
size_t mp_find_bytes_anchor(const char *needle, size_t m);

#endif
