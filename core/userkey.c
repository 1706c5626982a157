/* Store user keys: a user id with an optional tenant prefix. */
#include "userkey.h"

#include <string.h>

#include "status.h"

size_t mp_userkey_make(const unsigned char *tenant, const char *id, size_t len, char *out)
{
    size_t n = 0;
    if (tenant != NULL) {
        out[n++] = MP_USERKEY_TENANT;
        memcpy(out + n, tenant, MP_USERKEY_TENANT_LEN);
        n += MP_USERKEY_TENANT_LEN;
    }
    memcpy(out + n, id, len);
    return n + len;
}

void mp_userkey_split(const char *key, size_t len, const unsigned char **tenant, const char **id,
                      size_t *id_len)
{
    size_t skip = 0;
    *tenant = NULL;
    if (len > 1 + MP_USERKEY_TENANT_LEN && (unsigned char)key[0] == MP_USERKEY_TENANT) {
        *tenant = (const unsigned char *)key + 1;
        skip = 1 + MP_USERKEY_TENANT_LEN;
    }
    *id = key + skip;
    *id_len = len - skip;
}

void mp_userkey_tenant_hex(const unsigned char *tenant, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < MP_USERKEY_TENANT_LEN; i++) {
        out[2 * i] = digits[tenant[i] >> 4];
        out[2 * i + 1] = digits[tenant[i] & 15];
    }
    out[MP_USERKEY_TENANT_HEX] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mp_userkey_tenant_parse(const char *hex, size_t len, unsigned char *out)
{
    unsigned char t[MP_USERKEY_TENANT_LEN];
    if (len != MP_USERKEY_TENANT_HEX)
        return MP_EINVAL;
    for (size_t i = 0; i < MP_USERKEY_TENANT_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return MP_EINVAL;
        t[i] = (unsigned char)(hi << 4 | lo);
    }
    memcpy(out, t, sizeof(t));
    return MP_OK;
}
