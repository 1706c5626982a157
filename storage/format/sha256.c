/* SHA-256 and HMAC-SHA256 (RFC 2104) on libcrypto's one-algorithm SHA-256,
 * not EVP.
 *
 * Why not EVP_Digest, HMAC() or EVP_MAC: the first EVP call starts OpenSSL
 * 3's provider machinery (configuration, the default provider, every
 * algorithm's name), about 2 MB resident in a proxy that otherwise needs it
 * only for TLS; and each EVP call fetches the algorithm again, about 10,000
 * instructions for a digest of a 70-byte key, five times the hashing. The
 * store keys its user index with the HMAC at open, and every request
 * hashes its user and conversation. SHA256_Init and friends are deprecated
 * in OpenSSL 3 but kept, and run the same assembly without a provider.
 * Known-answer tests: tests/storage/format/test_sha256.c (FIPS 180-2's and
 * RFC 4231's cases). */
#define OPENSSL_SUPPRESS_DEPRECATED /* the one-algorithm digest, on purpose */

#include "format/sha256.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#define BLOCK 64 /* SHA-256's block */

void mp_sha256(const struct mp_sha256_part *parts, size_t nparts, unsigned char out[MP_SHA256_LEN])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n > 0)
            SHA256_Update(&c, parts[i].p, parts[i].n);
    SHA256_Final(out, &c);
    OPENSSL_cleanse(&c, sizeof(c));
}

void mp_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[MP_SHA256_LEN])
{
    unsigned char k[BLOCK] = {0};
    unsigned char pad[BLOCK];
    unsigned char inner[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;

    if (key_len > BLOCK)
        SHA256(key, key_len, k); /* a long key is its digest */
    else if (key_len > 0)
        memcpy(k, key, key_len);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, BLOCK);
    if (len > 0)
        SHA256_Update(&c, data, len);
    SHA256_Final(inner, &c);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&c);
    SHA256_Update(&c, pad, BLOCK);
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(&c, sizeof(c));
}
