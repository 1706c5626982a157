/* ASCII classes and case folding; see ascii.h. */
#include "ascii.h"

bool mp_ascii_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

bool mp_ascii_is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool mp_ascii_is_alnum(unsigned char c)
{
    return mp_ascii_is_digit(c) || mp_ascii_is_alpha(c);
}

unsigned char mp_ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

unsigned char mp_ascii_upper(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}
