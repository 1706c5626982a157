/* Finding a literal marker in text where the marker's first byte is rare
 * (an inserted-context tag, a client task's phrase, a JSON member name):
 * memchr runs to each place the first byte occurs, memcmp checks the rest
 * there. On text without that byte it is one vectorized memchr pass, a
 * fraction of memmem's cost for the few short markers memproxy looks for.
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

#endif
