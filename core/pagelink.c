/* The memory page's signed link: writing and checking the token of
 * pagelink.h. It checks shape first (no MAC is computed over bytes that
 * cannot be a token), then the MAC, then the time. */
#include "pagelink.h"

#include <stdbool.h>
#include <string.h>

#include "decimal.h"
#include "hex.h"
#include "status.h"

#define EXPIRY_MAX 9999999999LL    /* ten digits */
#define ISSUED_MAX 9999999999999LL /* thirteen */

/* The MAC of the signed part token[0..n) into out. */
static void sign(const char *key, size_t key_len, mp_pagelink_mac_fn mac, const char *signed_part,
                 size_t n, unsigned char out[MP_PAGELINK_MAC_LEN])
{
    char msg[sizeof(MP_PAGELINK_DOMAIN) - 1 + MP_PAGELINK_MAX];
    size_t d = sizeof(MP_PAGELINK_DOMAIN) - 1;
    memcpy(msg, MP_PAGELINK_DOMAIN, d);
    memcpy(msg + d, signed_part, n);
    mac(key, key_len, msg, d + n, out);
}

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* A decimal of 1 .. digits digits with no sign or leading zero: MP_OK or
 * MP_EINVAL. */
static int parse_decimal(const char *s, size_t n, size_t digits, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > digits || s[0] == '0')
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return MP_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return MP_OK;
}

int mp_pagelink_mint(const char *key, size_t key_len, mp_pagelink_mac_fn mac, const char *user,
                     size_t user_len, const char *tenant, int64_t issued_ms, int64_t expiry,
                     char *out, size_t cap, size_t *out_len)
{
    char tok[MP_PAGELINK_MAX + 1];
    unsigned char m[MP_PAGELINK_MAC_LEN];
    size_t tlen = tenant != NULL ? strlen(tenant) : 0;
    if (key == NULL || key_len == 0 || mac == NULL || expiry < 1 || expiry > EXPIRY_MAX ||
        issued_ms < 1 || issued_ms > ISSUED_MAX || mp_user_id_validate(user, user_len) != MP_OK)
        return MP_EINVAL;
    if (tlen != 0 && tlen != MP_PAGELINK_TENANT_LEN)
        return MP_EINVAL;
    for (size_t i = 0; i < tlen; i++) {
        if (mp_hex_value((unsigned char)tenant[i]) < 0)
            return MP_EINVAL;
    }
    size_t n = 3;
    memcpy(tok, "v2.", 3);
    n += mp_decimal_u64((uint64_t)issued_ms, tok + n); /* both checked >= 1 above */
    tok[n++] = '.';
    n += mp_decimal_u64((uint64_t)expiry, tok + n);
    tok[n++] = '.';
    for (size_t i = 0; i < tlen; i++) {
        char c = tenant[i];
        tok[n++] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    if (tlen == 0)
        tok[n++] = '-';
    tok[n++] = '.';
    mp_hex_encode((const unsigned char *)user, user_len, tok + n);
    n += 2 * user_len;
    sign(key, key_len, mac, tok, n, m);
    tok[n++] = '.';
    mp_hex_encode(m, sizeof(m), tok + n);
    n += 2 * sizeof(m);
    if (n + 1 > cap)
        return MP_ETOOBIG;
    memcpy(out, tok, n);
    out[n] = '\0';
    *out_len = n;
    return MP_OK;
}

#define NFIELDS 6

/* The token's six fields, located (not yet checked beyond the dots). */
struct fields {
    const char *f[NFIELDS];
    size_t n[NFIELDS];
};

static int split(const char *token, size_t len, struct fields *fs)
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && token[i] != '.')
            continue;
        if (k == NFIELDS)
            return MP_EINVAL;
        fs->f[k] = token + start;
        fs->n[k++] = i - start;
        start = i + 1;
    }
    return k == NFIELDS ? MP_OK : MP_EINVAL;
}

/* Shape and content of every field but the MAC's value: MP_OK with out
 * filled (user, tenant, issue time, expiry), or MP_EINVAL. */
static int parse_fields(const struct fields *fs, struct mp_pagelink *out)
{
    if (fs->n[0] != 2 || memcmp(fs->f[0], "v2", 2) != 0 ||
        parse_decimal(fs->f[1], fs->n[1], 13, &out->issued_ms) != MP_OK ||
        parse_decimal(fs->f[2], fs->n[2], 10, &out->expiry) != MP_OK)
        return MP_EINVAL;
    bool none = fs->n[3] == 1 && fs->f[3][0] == '-';
    if (!none && (fs->n[3] != MP_PAGELINK_TENANT_LEN || !lower_hex(fs->f[3], fs->n[3])))
        return MP_EINVAL;
    memcpy(out->tenant, fs->f[3], none ? 0 : MP_PAGELINK_TENANT_LEN);
    out->tenant[none ? 0 : MP_PAGELINK_TENANT_LEN] = '\0';
    size_t un = fs->n[4];
    if (un == 0 || un % 2 != 0 || un > 2 * MP_USER_ID_MAX || !lower_hex(fs->f[4], un) ||
        mp_hex_decode(fs->f[4], un / 2, (unsigned char *)out->user) != MP_OK)
        return MP_EINVAL;
    out->user_len = un / 2;
    out->user[out->user_len] = '\0';
    if (mp_user_id_validate(out->user, out->user_len) != MP_OK)
        return MP_EINVAL;
    if (fs->n[5] != 2 * MP_PAGELINK_MAC_LEN || !lower_hex(fs->f[5], fs->n[5]))
        return MP_EINVAL;
    return MP_OK;
}

enum mp_pagelink_verdict mp_pagelink_verify(const char *token, size_t len, const char *key,
                                            size_t key_len, mp_pagelink_mac_fn mac, int64_t now,
                                            struct mp_pagelink *out)
{
    struct fields fs;
    struct mp_pagelink got;
    unsigned char want[MP_PAGELINK_MAC_LEN], given[MP_PAGELINK_MAC_LEN];
    if (token == NULL || len > MP_PAGELINK_MAX || key == NULL || key_len == 0 || mac == NULL ||
        split(token, len, &fs) != MP_OK || parse_fields(&fs, &got) != MP_OK ||
        mp_hex_decode(fs.f[5], MP_PAGELINK_MAC_LEN, given) != MP_OK)
        return MP_PAGELINK_MALFORMED;
    sign(key, key_len, mac, token, (size_t)(fs.f[5] - 1 - token), want);
    unsigned char diff = 0;
    for (size_t i = 0; i < MP_PAGELINK_MAC_LEN; i++)
        diff |= (unsigned char)(want[i] ^ given[i]);
    if (diff != 0)
        return MP_PAGELINK_FORGED;
    if (got.expiry <= now)
        return MP_PAGELINK_EXPIRED;
    if (got.expiry - now > MP_PAGELINK_TTL_MAX)
        return MP_PAGELINK_TOO_FAR;
    *out = got;
    return MP_PAGELINK_OK;
}

const char *mp_pagelink_verdict_name(enum mp_pagelink_verdict v)
{
    switch (v) {
    case MP_PAGELINK_OK:
        return "ok";
    case MP_PAGELINK_MALFORMED:
        return "malformed";
    case MP_PAGELINK_FORGED:
        return "forged";
    case MP_PAGELINK_EXPIRED:
        return "expired";
    case MP_PAGELINK_TOO_FAR:
        return "too_far";
    }
    return "malformed";
}
