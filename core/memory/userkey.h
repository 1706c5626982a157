/* The store's user key: a user id, namespaced by a tenant when tenants are
 * on ([security] tenant_from = api_key). Layout: a user id alone (user ids
 * are printable, so they never start with MP_USERKEY_TENANT), or the byte
 * MP_USERKEY_TENANT, MP_USERKEY_TENANT_LEN bytes of tenant, then the id.
 * storage/ops/store.h takes its layout from here (MP_USER_KEY_TENANT). Pure
 * byte work; computing a tenant from an API key is the proxy's job. */
#ifndef MP_CORE_USERKEY_H
#define MP_CORE_USERKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "user_id.h"

#define MP_USERKEY_TENANT     0x01
#define MP_USERKEY_TENANT_LEN 16
#define MP_USERKEY_MAX        (1 + MP_USERKEY_TENANT_LEN + MP_USER_ID_MAX)
#define MP_USERKEY_TENANT_HEX (2 * MP_USERKEY_TENANT_LEN) /* chars, without NUL */

/* Writes the key of user id[0..len) (1..MP_USER_ID_MAX bytes, validated by
 * the caller) in tenant (MP_USERKEY_TENANT_LEN bytes, borrowed; NULL: no
 * tenant) to out (MP_USERKEY_MAX bytes). Returns its length. */
size_t mp_userkey_make(const unsigned char *tenant, const char *id, size_t len, char *out);

/* Splits a key made by mp_userkey_make(): *id and *id_len the user id (pointing
 * into key), *tenant the tenant bytes or NULL. */
void mp_userkey_split(const char *key, size_t len, const unsigned char **tenant, const char **id,
                      size_t *id_len);

/* The tenant as MP_USERKEY_TENANT_HEX lower-case hex digits and a NUL. */
void mp_userkey_tenant_hex(const unsigned char *tenant, char *out);

/* Parses MP_USERKEY_TENANT_HEX hex digits (either case) from hex[0..len):
 * MP_OK with out filled, else MP_EINVAL (out untouched). */
int mp_userkey_tenant_parse(const char *hex, size_t len, unsigned char *out);

#endif
