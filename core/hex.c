/* Hex digits. */
#include "hex.h"

#include "status.h"

int mp_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mp_hex_decode(const char *hex, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = mp_hex_value((unsigned char)hex[2 * i]);
        int lo = mp_hex_value((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return MP_EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return MP_OK;
}

void mp_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t mp_hex_size(size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    char rev[16];
    size_t k = 0;
    do {
        rev[k++] = digits[n & 15];
        n >>= 4;
    } while (n != 0);
    for (size_t i = 0; i < k; i++)
        out[i] = rev[k - 1 - i];
    return k;
}
