/* Hexadecimal digits: the one place memproxy reads and writes them
 * (percent-escapes, JSON \u escapes, tenant ids, signatures, key files). */
#ifndef MP_CORE_HEX_H
#define MP_CORE_HEX_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1. */
int mp_hex_value(unsigned char c);

/* Decodes hex[0..2n) (either case) into out[0..n). MP_OK, or MP_EINVAL at
 * the first non-hex digit (out then partly written). */
int mp_hex_decode(const char *hex, size_t n, unsigned char *out);

/* Writes in[0..n) as 2n lower-case hex digits and a NUL to out. */
void mp_hex_encode(const unsigned char *in, size_t n, char *out);

/* Writes n as lower-case hex digits without leading zeros ("0" for 0), no
 * NUL, to out, which holds at least 16 bytes. Returns the digits written.
 * (An HTTP chunk's size line.) */
size_t mp_hex_size(size_t n, char *out);

#endif
