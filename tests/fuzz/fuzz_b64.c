/* libFuzzer target for core/b64.c (Mcp-Name's base64 form is network
 * input): whatever the bytes, the decoder answers MP_OK, MP_EINVAL or
 * MP_ETOOBIG, never writes past its cap, and what it accepts is the one
 * spelling of its value: encoding the bytes again gives the input back. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "b64.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 96

static size_t encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = digits[v >> 18 & 63];
        out[o++] = digits[v >> 12 & 63];
        out[o++] = i + 1 < n ? digits[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? digits[v & 63] : '=';
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char out[CAP + 1];
    char again[(CAP + 2) / 3 * 4];
    size_t n = 0;
    out[CAP] = 0xA5; /* a guard byte past the cap */
    int rc = mp_b64_decode((const char *)data, size, out, CAP, &n);
    assert(rc == MP_OK || rc == MP_EINVAL || rc == MP_ETOOBIG);
    assert(out[CAP] == 0xA5);
    if (rc == MP_OK) {
        assert(n <= CAP && n == size / 4 * 3 - (size > 0 && data[size - 1] == '=') -
                                    (size > 1 && data[size - 2] == '='));
        assert(encode(out, n, again) == size && memcmp(again, data, size) == 0);
    }
    for (size_t i = 0; i < size; i++) {
        unsigned char c = data[i];
        bool digit = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '+' || c == '/';
        assert((mp_b64_value(c) >= 0) == digit);
    }
    return 0;
}
