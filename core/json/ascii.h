/* ASCII character classes and case folding for the byte scanners (PII and
 * national-id detectors, erasure's value match). Bytes >= 0x80 are never
 * letters or digits here and fold to themselves: no locale, no Unicode.
 * Inline: the scanners call them once per byte. */
#ifndef MP_CORE_ASCII_H
#define MP_CORE_ASCII_H

#include <stdbool.h>

/* '0'..'9'. */
static inline bool mp_ascii_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* 'a'..'z' or 'A'..'Z'. */
static inline bool mp_ascii_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A digit or a letter. */
static inline bool mp_ascii_is_alnum(unsigned char c)
{
    return mp_ascii_is_digit(c) || mp_ascii_is_alpha(c);
}

/* ' ', '\t', '\n', '\v', '\f' or '\r' (C's isspace in the "C" locale). */
static inline bool mp_ascii_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* 'A'..'Z' to 'a'..'z'; any other byte as it is. */
static inline unsigned char mp_ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* 'a'..'z' to 'A'..'Z'; any other byte as it is. */
static inline unsigned char mp_ascii_upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

#endif
