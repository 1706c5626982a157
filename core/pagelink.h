/* The signed link to a person's memory page (docs/memory-page.md): a token
 * naming a user, their tenant, when it was issued and its expiry, signed
 * with HMAC-SHA256 under [page] link_key. Pure: the MAC comes in as a
 * function, the time as an argument; it keeps nothing and logs nothing.
 * Whether a user's links issued before some time were revoked is the
 * caller's to check (the store keeps that time).
 *
 * The token (URL-safe, carried in the link's fragment, never in a path):
 *
 *     v2.<issued>.<expiry>.<tenant>.<user>.<mac>
 *
 *   issued  Unix milliseconds, decimal, 1 to 13 digits, no leading zero
 *   expiry  Unix seconds, decimal, 1 to 10 digits, no leading zero
 *   tenant  32 lowercase hex digits, or "-" for a user of no tenant
 *   user    the user id's bytes as lowercase hex (2 to 512 digits)
 *   mac     64 lowercase hex digits: HMAC-SHA256(key, MP_PAGELINK_DOMAIN
 *           followed by the token up to the dot before the mac)
 *
 * The domain string ends in a line feed, which no user id holds, so a
 * link's MAC is never an X-User-Signature (HMAC of a user id) and the
 * other way round. */
#ifndef MP_CORE_PAGELINK_H
#define MP_CORE_PAGELINK_H

#include <stddef.h>
#include <stdint.h>

#include "user_id.h"

#define MP_PAGELINK_DOMAIN     "memproxy-page-link\n"
#define MP_PAGELINK_TENANT_LEN 32 /* hex digits of a tenant */
#define MP_PAGELINK_MAC_LEN    32 /* bytes of HMAC-SHA256 */
/* The longest token: "v2." + 13 + "." + 10 + "." + 32 + "." + 512 + "." + 64.
 * Version 1 tokens (no issue time, signed with user_signature_key) are
 * refused as malformed: they could not be revoked. */
#define MP_PAGELINK_MAX                                                                            \
    (3 + 13 + 1 + 10 + 1 + MP_PAGELINK_TENANT_LEN + 1 + 2 * MP_USER_ID_MAX + 1 + 64)
/* The furthest expiry a link may name, from the time it is checked: a
 * link is a credential in a person's browser history, so it lives days,
 * not months. */
#define MP_PAGELINK_TTL_MAX (30 * 24 * 3600)

/* HMAC-SHA256 of data[0..len) under key[0..key_len) into out. The
 * caller's (proxy and tools use storage/format/sha256.h); it cannot fail. */
typedef void (*mp_pagelink_mac_fn)(const void *key, size_t key_len, const void *data, size_t len,
                                   unsigned char out[MP_PAGELINK_MAC_LEN]);

/* What a verified link names. */
struct mp_pagelink {
    char user[MP_USER_ID_MAX + 1]; /* NUL at user_len */
    size_t user_len;
    char tenant[MP_PAGELINK_TENANT_LEN + 1]; /* lowercase hex; "" for no tenant */
    int64_t issued_ms;                       /* Unix milliseconds */
    int64_t expiry;                          /* Unix seconds */
};

/* How a token fared. Only MP_PAGELINK_OK names anyone. */
enum mp_pagelink_verdict {
    MP_PAGELINK_OK,
    MP_PAGELINK_MALFORMED, /* not the shape above, or a user id the rules refuse */
    MP_PAGELINK_FORGED,    /* well formed, but the MAC is not the key's */
    MP_PAGELINK_EXPIRED,   /* genuine, and expiry <= now */
    MP_PAGELINK_TOO_FAR    /* genuine, and expiry > now + MP_PAGELINK_TTL_MAX */
};

/* Writes the token for user[0..user_len) (a valid user id), tenant (32
 * hex digits of either case, written lowercase, or NULL / "" for none),
 * issued_ms (1 .. 9999999999999) and expiry (1 .. 9999999999) to out (cap bytes; MP_PAGELINK_MAX +
 * 1 is always enough), NUL-terminated. key[0..key_len) is borrowed; key_len must be at least 1.
 * MP_OK with *out_len; MP_EINVAL for a bad user, tenant, expiry or key; MP_ETOOBIG when cap is too
 * small. */
int mp_pagelink_mint(const char *key, size_t key_len, mp_pagelink_mac_fn mac, const char *user,
                     size_t user_len, const char *tenant, int64_t issued_ms, int64_t expiry,
                     char *out, size_t cap, size_t *out_len);

/* Checks token[0..len) (borrowed, any bytes) at now (Unix seconds) under
 * key[0..key_len) (key_len 0 verifies nothing: MALFORMED). The MAC is
 * compared in constant time and checked before the expiry, so a forged
 * link learns nothing of its times. On MP_PAGELINK_OK *out holds what it
 * names; otherwise *out is untouched. */
enum mp_pagelink_verdict mp_pagelink_verify(const char *token, size_t len, const char *key,
                                            size_t key_len, mp_pagelink_mac_fn mac, int64_t now,
                                            struct mp_pagelink *out);

/* The verdict's name: "ok", "malformed", "forged", "expired", "too_far". */
const char *mp_pagelink_verdict_name(enum mp_pagelink_verdict v);

#endif
