/* ASCII character classes and case folding for the byte scanners (PII and
 * national-id detectors, erasure's value match). Bytes >= 0x80 are never
 * letters or digits here and fold to themselves: no locale, no Unicode. */
#ifndef MP_CORE_ASCII_H
#define MP_CORE_ASCII_H

#include <stdbool.h>

/* '0'..'9'. */
bool mp_ascii_is_digit(unsigned char c);
/* 'a'..'z' or 'A'..'Z'. */
bool mp_ascii_is_alpha(unsigned char c);
/* A digit or a letter. */
bool mp_ascii_is_alnum(unsigned char c);
/* 'A'..'Z' to 'a'..'z'; any other byte as it is. */
unsigned char mp_ascii_lower(unsigned char c);
/* 'a'..'z' to 'A'..'Z'; any other byte as it is. */
unsigned char mp_ascii_upper(unsigned char c);

#endif
