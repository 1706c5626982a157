/* Standard base64 (RFC 4648 section 4, A-Z a-z 0-9 + /): the digits and a
 * strict decoder. It does not encode, and reads no other alphabet. */
#ifndef MP_CORE_B64_H
#define MP_CORE_B64_H

#include <stddef.h>

/* The value of one base64 digit, or -1 (padding '=' is no digit). */
int mp_b64_value(unsigned char c);

/* Decodes in[0..n), whole groups of four digits with '=' padding at the
 * end only (one or two), no whitespace, the unused bits of the last
 * digit zero (so that a value has one spelling), into out[0..cap).
 * MP_OK with *out_len; MP_EINVAL for anything else; MP_ETOOBIG when the
 * value is longer than cap. out is undefined on failure. */
int mp_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *out_len);

#endif
