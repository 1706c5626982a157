/* Store user keys: a user id with an optional tenant prefix. */
#include "memory/userkey.h"

#include <string.h>

#include "hex.h"
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
    mp_hex_encode(tenant, MP_USERKEY_TENANT_LEN, out);
}

int mp_userkey_tenant_parse(const char *hex, size_t len, unsigned char *out)
{
    unsigned char t[MP_USERKEY_TENANT_LEN];
    if (len != MP_USERKEY_TENANT_HEX || mp_hex_decode(hex, sizeof(t), t) != MP_OK)
        return MP_EINVAL;
    memcpy(out, t, sizeof(t));
    return MP_OK;
}
