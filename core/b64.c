/* Base64 (b64.h). */
#include "b64.h"

#include <stdint.h>

#include "status.h"

int mp_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int mp_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *out_len)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0, pad = 0;
    if (n % 4 != 0)
        return MP_EINVAL;
    while (pad < 2 && n > 0 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    if (n % 4 == 1)
        return MP_EINVAL; /* one digit holds no byte: "x===" */
    for (size_t i = 0; i < n; i++) {
        int v = mp_b64_value((unsigned char)in[i]);
        if (v < 0)
            return MP_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return MP_ETOOBIG;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return MP_EINVAL;
    *out_len = o;
    return MP_OK;
}
