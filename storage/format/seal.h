/* Cryptographic primitives for encryption at rest (AES-256-GCM, HMAC-SHA256,
 * key files) on top of OpenSSL's libcrypto. It seals and opens single records;
 * it does not decide what is encrypted, store keys, or rotate them.
 *
 * A sealed record is laid out as
 *
 *     u8 version (1) | u32 key id, big-endian | 12-byte nonce | ciphertext | 16-byte tag
 *
 * The ciphertext is exactly as long as the plaintext. The whole 17-byte
 * header is authenticated together with the caller's associated data (for
 * instance the record's database key), so a record moved to another key,
 * or whose header was edited, fails to open. The key id names the key a
 * record was sealed under, so that a store can tell "sealed under another
 * key" (MP_NOTFOUND) from "damaged" (MP_EIO); it is a 32-bit hash of the key,
 * not a secret, and two keys may share one.
 *
 * Nonces are 96 random bits per record: keep one key under 2^32 seals
 * (NIST SP 800-38D's bound for random nonces). Nothing here logs or prints.
 * All functions are safe to call from any thread. */
#ifndef MP_STORAGE_SEAL_H
#define MP_STORAGE_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_SEAL_KEY_LEN      32
#define MP_SEAL_HEADER       17 /* u8 version (1) | u32be key id | 12-byte nonce */
#define MP_SEAL_TAG          16
#define MP_SEAL_OVERHEAD     (MP_SEAL_HEADER + MP_SEAL_TAG)
#define MP_SEAL_KEY_FILE_MAX 4096 /* bytes; a larger key file is refused */

/* A key and its id. Wipe it with mp_seal_key_wipe() when done. */
struct mp_seal_key {
    unsigned char bytes[MP_SEAL_KEY_LEN];
    uint32_t id; /* first 4 bytes, big-endian, of SHA-256("memproxy key id v1" || bytes) */
};

/* Parses key material as read from a key file (data borrowed):
 *   - exactly 32 bytes: the raw key, taken as is (not trimmed, even if it
 *     looks like text);
 *   - otherwise, after trimming ASCII whitespace (space, \t, \n, \v, \f, \r)
 *     at both ends: 64 hex digits (either case), or standard base64 (A-Z a-z
 *     0-9 + /, not the URL-safe alphabet) of exactly 32 bytes, with or
 *     without its one '=' of padding. The unused low bits of the last base64
 *     digit must be zero, as every encoder writes them. No whitespace or
 *     other characters inside.
 * Fills *out (key and id) and returns MP_OK. MP_EINVAL when data is not a
 * key, with a reason in why[0..whycap) that never quotes key material;
 * MP_EIO if libcrypto fails to hash (does not happen in practice). *out is
 * untouched on failure. why may be NULL when whycap is 0; it is written
 * only on failure. */
int mp_seal_key_parse(const unsigned char *data, size_t len, struct mp_seal_key *out, char *why,
                      size_t whycap);

/* Reads the key file at path (borrowed) and parses it as mp_seal_key_parse()
 * does. Returns MP_OK; MP_EIO when the file cannot be opened or read (why:
 * "cannot read <path>: <strerror>"); MP_EINVAL when it is not a regular file,
 * is larger than MP_SEAL_KEY_FILE_MAX bytes, is readable or writable by
 * group or others (why: "key file <path> must not be accessible by group or
 * others (chmod 600)"; checked before the content is read), or its content is
 * not a key (why: "key file <path>: <reason>"). The read buffer is wiped
 * before returning. *out is untouched on failure; why is written only on
 * failure. */
int mp_seal_key_load(const char *path, struct mp_seal_key *out, char *why, size_t whycap);

/* Seals plain[0..len) under key (borrowed) with a fresh random nonce and
 * aad[0..aad_len) as associated data (not stored; the same bytes must be
 * given to mp_seal_decrypt). plain may be NULL when len is 0, aad when aad_len
 * is 0. Writes exactly MP_SEAL_HEADER + len + MP_SEAL_TAG bytes to out, the
 * caller's buffer, which must be at least that big and must not overlap
 * plain. Returns MP_OK, or MP_EIO when the random generator or the cipher
 * fails (including len over GCM's limit of 2^36 - 32 bytes); out's contents
 * are then unspecified. */
int mp_seal_encrypt(const struct mp_seal_key *key, const void *aad, size_t aad_len,
                    const void *plain, size_t len, unsigned char *out);

/* Reads the key id of the sealed record in[0..len) (borrowed) into *id
 * without opening it. Returns MP_OK; MP_EINVAL when len < MP_SEAL_OVERHEAD
 * or the version byte is not 1 (*id untouched). */
int mp_seal_key_id(const unsigned char *in, size_t len, uint32_t *id);

/* Opens the sealed record in[0..len) (borrowed) under key (borrowed) with
 * aad[0..aad_len) as associated data (aad may be NULL when aad_len is 0), and
 * writes the len - MP_SEAL_OVERHEAD plaintext bytes to out, the caller's
 * buffer, which must not overlap in. Returns
 *   MP_OK        the record is authentic; out holds the plaintext;
 *   MP_EINVAL    len < MP_SEAL_OVERHEAD or the version byte is not 1;
 *   MP_NOTFOUND  the record's key id is not key->id: sealed under another key;
 *   MP_EIO       authentication failed (tampered record, wrong aad, or another
 *                key whose id collides), or the cipher failed.
 * out is not written on MP_EINVAL and MP_NOTFOUND. On MP_EIO out may have
 * been partly written and is then zeroed: no unauthenticated plaintext is
 * left in it. */
int mp_seal_decrypt(const struct mp_seal_key *key, const void *aad, size_t aad_len,
                    const unsigned char *in, size_t len, unsigned char *out);

/* Fills out[0..len) with cryptographically random bytes from the kernel's
 * generator (getrandom(2), which OpenSSL's own generator seeds from; it
 * waits only until the kernel's pool is first initialized). Not RAND_bytes:
 * that starts OpenSSL's providers, about 2 MB resident, in a proxy that
 * needs them for nothing else at start. Returns MP_OK, or MP_EIO when the
 * generator fails (out unspecified). */
int mp_seal_random(void *out, size_t len);

/* Compares a[0..len) and b[0..len) in time that depends only on len
 * (CRYPTO_memcmp). True when equal; true for len 0. */
bool mp_seal_equal(const void *a, const void *b, size_t len);

/* Overwrites the whole key, id included, so the compiler cannot elide it
 * (OPENSSL_cleanse). NULL does nothing. */
void mp_seal_key_wipe(struct mp_seal_key *key);

#endif
