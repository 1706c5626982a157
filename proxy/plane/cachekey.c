/* The prompt_cache_key memproxy sets per conversation (cachekey.h). The
 * key is keyed by the store's secret: the raw user id never leaves, and a
 * plain hash of it is never sent. */
#include "plane/cachekey.h"

#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "format/seal.h"
#include "json/json_scan.h"
#include "format/sha256.h"
#include "wire/splice.h"
#include "status.h"
#include "memory/userkey.h"
#include "wire/wire.h"

#define MEMBER_OPEN  "\"prompt_cache_key\":\""
#define MEMBER_CLOSE "\","
#define SLEN(lit)    (sizeof(lit) - 1)

bool mp_cachekey_wanted(const struct mp_config *cfg, const struct mp_wire *w, enum mp_llm_api api,
                        const char *body, size_t len)
{
    enum mp_cache_key set = cfg->upstream.prompt_cache_key;
    size_t vs, ve;
    if (api != MP_LLM_OPENAI || (w != &mp_wire_chat && w != &mp_wire_responses))
        return false;
    if (set == MP_CACHE_KEY_OFF || (set == MP_CACHE_KEY_AUTO &&
                                    strcasecmp(cfg->upstream.base_url.host, "api.openai.com") != 0))
        return false;
    return mp_json_find_member(body, len, "prompt_cache_key", 16, &vs, &ve) == MP_NOTFOUND;
}

void mp_cachekey_make(const unsigned char *route_key, const char *user, size_t ulen,
                      const unsigned char *conv, size_t conv_len, char *out)
{
    /* tenant NUL id NUL conv: each part bounded, so no two inputs meet */
    unsigned char in[MP_USERKEY_TENANT_LEN + 1 + MP_USERKEY_MAX + 1 + 64];
    unsigned char mac[32];
    const unsigned char *tenant;
    const char *id;
    size_t id_len, n = 0;
    mp_userkey_split(user, ulen, &tenant, &id, &id_len);
    if (conv_len > 64)
        conv_len = 64;
    if (tenant != NULL) {
        memcpy(in, tenant, MP_USERKEY_TENANT_LEN);
        n = MP_USERKEY_TENANT_LEN;
    }
    in[n++] = '\0';
    memcpy(in + n, id, id_len);
    n += id_len;
    in[n++] = '\0';
    memcpy(in + n, conv, conv_len);
    n += conv_len;
    mp_hmac_sha256(route_key, MP_SEAL_KEY_LEN, in, n, mac);
    mp_hex_encode(mac, MP_CACHEKEY_LEN / 2, out);
    OPENSSL_cleanse(in, sizeof(in));
}

int mp_cachekey_splice(const char *key, const char *body, size_t len, struct mp_splice *s)
{
    char member[SLEN(MEMBER_OPEN) + MP_CACHEKEY_LEN + SLEN(MEMBER_CLOSE)];
    char *w = member;
    w = mp_wire_put(w, MEMBER_OPEN, SLEN(MEMBER_OPEN));
    w = mp_wire_put(w, key, MP_CACHEKEY_LEN);
    w = mp_wire_put(w, MEMBER_CLOSE, SLEN(MEMBER_CLOSE));
    return mp_splice_open_member(s, body, len, member, (size_t)(w - member));
}
