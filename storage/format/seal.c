/* AES-256-GCM sealing, HMAC-SHA256 and key files on OpenSSL 3's libcrypto
 * (the HMAC in sha256.c, outside EVP).
 * The record layout and the contract are in seal.h; this file keeps every
 * cipher call in one place and never logs. */
#include "format/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "json/ascii.h"
#include "errtext.h"
#include "b64.h"
#include "hex.h"
#include "format/sha256.h"
#include "status.h"

#define VERSION   1
#define NONCE_OFF 5 /* after the version byte and the key id */
#define NONCE_LEN 12
#define HMAC_LEN  32
#define CHUNK     (1 << 30) /* EVP calls take int lengths */

static const char key_id_label[] = "memproxy key id v1";

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* ---- keys ---- */

static int key_id_of(const unsigned char key[MP_SEAL_KEY_LEN], uint32_t *id)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int rc = MP_EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (ctx == NULL) {
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, key_id_label, sizeof(key_id_label) - 1) != 1 ||
        EVP_DigestUpdate(ctx, key, MP_SEAL_KEY_LEN) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len < 4) {
        goto out;
    }
    *id = get_be32(md);
    rc = MP_OK;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* 32 bytes are 43 base64 digits (258 bits: the last 2 unused, and zero from
 * any encoder) and, padded to a multiple of 4, one '='. Refusing nonzero
 * unused bits keeps one key from having several spellings. */
static bool decode_b64(const unsigned char *s, size_t n, unsigned char out[MP_SEAL_KEY_LEN])
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    if (n == 44 && s[43] == '=') {
        n = 43;
    }
    if (n != 43) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int v = mp_b64_value(s[i]);
        if (v < 0) {
            return false;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o == MP_SEAL_KEY_LEN && (acc & ((1u << bits) - 1)) == 0;
}

/* Decodes the text forms (hex, base64) of s[0..n), already trimmed. */
static int decode_text(const unsigned char *s, size_t n, size_t len,
                       unsigned char out[MP_SEAL_KEY_LEN], char *why, size_t whycap)
{
    if (n == 2 * MP_SEAL_KEY_LEN) {
        if (mp_hex_decode((const char *)s, MP_SEAL_KEY_LEN, out) == MP_OK) {
            return MP_OK;
        }
        mp_errtext_format(why, whycap, "key material is 64 characters but not 64 hex digits");
        return MP_EINVAL;
    }
    if (decode_b64(s, n, out)) {
        return MP_OK;
    }
    mp_errtext_format(
        why, whycap,
        "key material is %zu bytes (%zu without surrounding whitespace): expected 32 raw "
        "bytes, 64 hex digits, or the standard base64 of 32 bytes",
        len, n);
    return MP_EINVAL;
}

int mp_seal_key_parse(const unsigned char *data, size_t len, struct mp_seal_key *out, char *why,
                      size_t whycap)
{
    struct mp_seal_key key;
    int rc;

    if (len == MP_SEAL_KEY_LEN) {
        memcpy(key.bytes, data, MP_SEAL_KEY_LEN);
    } else {
        const unsigned char *s = data;
        size_t n = len;
        while (n > 0 && mp_ascii_is_space(s[0])) {
            s++;
            n--;
        }
        while (n > 0 && mp_ascii_is_space(s[n - 1])) {
            n--;
        }
        rc = decode_text(s, n, len, key.bytes, why, whycap);
        if (rc != MP_OK) {
            goto out;
        }
    }
    rc = key_id_of(key.bytes, &key.id);
    if (rc != MP_OK) {
        mp_errtext_format(why, whycap, "cannot compute the key id (libcrypto failed)");
        goto out;
    }
    *out = key;
out:
    OPENSSL_cleanse(&key, sizeof(key));
    return rc;
}

/* Reads fd to its end or until cap bytes: 0, or an errno value. */
static int read_all(int fd, unsigned char *buf, size_t cap, size_t *len)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    *len = got;
    return 0;
}

/* A key file must be a regular file that only its owner can read or write. */
static int check_file(int fd, const char *path, char *why, size_t whycap)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        mp_errtext_format(why, whycap, "cannot read %s: %s", path, strerror(errno));
        return MP_EIO;
    }
    if (!S_ISREG(st.st_mode)) {
        mp_errtext_format(why, whycap, "key file %s is not a regular file", path);
        return MP_EINVAL;
    }
    if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
        mp_errtext_format(
            why, whycap, "key file %s must not be accessible by group or others (chmod 600)", path);
        return MP_EINVAL;
    }
    return MP_OK;
}

int mp_seal_key_load(const char *path, struct mp_seal_key *out, char *why, size_t whycap)
{
    unsigned char buf[MP_SEAL_KEY_FILE_MAX + 1]; /* one more: detects a larger file */
    char reason[256];
    size_t len = 0;
    int rc, err;
    /* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        mp_errtext_format(why, whycap, "cannot read %s: %s", path, strerror(errno));
        return MP_EIO;
    }
    rc = check_file(fd, path, why, whycap);
    if (rc != MP_OK) {
        goto out;
    }
    err = read_all(fd, buf, sizeof(buf), &len);
    if (err != 0) {
        mp_errtext_format(why, whycap, "cannot read %s: %s", path, strerror(err));
        rc = MP_EIO;
        goto out;
    }
    if (len > MP_SEAL_KEY_FILE_MAX) {
        mp_errtext_format(why, whycap, "key file %s is larger than %d bytes", path,
                          MP_SEAL_KEY_FILE_MAX);
        rc = MP_EINVAL;
        goto out;
    }
    rc = mp_seal_key_parse(buf, len, out, reason, sizeof(reason));
    if (rc != MP_OK) {
        mp_errtext_format(why, whycap, "key file %s: %s", path, reason);
    }
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

void mp_seal_key_wipe(struct mp_seal_key *key)
{
    if (key != NULL) {
        OPENSSL_cleanse(key, sizeof(*key));
    }
}

/* ---- records ---- */

/* Feeds in[0..len) through the cipher in int-sized chunks; out NULL: in is
 * associated data. GCM is a stream mode: every byte in gives one byte out. */
static bool update(EVP_CIPHER_CTX *ctx, const unsigned char *in, size_t len, unsigned char *out)
{
    size_t done = 0;
    while (done < len) {
        int n = len - done < CHUNK ? (int)(len - done) : CHUNK;
        int out_len = 0;
        if (EVP_CipherUpdate(ctx, out == NULL ? NULL : out + done, &out_len, in + done, n) != 1 ||
            out_len != n) {
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* Keys the cipher with the nonce in header and authenticates the whole
 * header, then the caller's aad. enc: 1 seal, 0 open. */
static bool start(EVP_CIPHER_CTX *ctx, int enc, const struct mp_seal_key *key,
                  const unsigned char *header, const void *aad, size_t aad_len)
{
    return EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
           EVP_CipherInit_ex(ctx, NULL, NULL, key->bytes, header + NONCE_OFF, enc) == 1 &&
           update(ctx, header, MP_SEAL_HEADER, NULL) && update(ctx, aad, aad_len, NULL);
}

int mp_seal_encrypt(const struct mp_seal_key *key, const void *aad, size_t aad_len,
                    const void *plain, size_t len, unsigned char *out)
{
    unsigned char *tag = out + MP_SEAL_HEADER + len;
    int final_len = 0;
    int rc = MP_EIO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    if (ctx == NULL) {
        goto out;
    }
    out[0] = VERSION;
    put_be32(out + 1, key->id);
    if (mp_seal_random(out + NONCE_OFF, NONCE_LEN) != MP_OK) {
        goto out;
    }
    if (!start(ctx, 1, key, out, aad, aad_len) || !update(ctx, plain, len, out + MP_SEAL_HEADER) ||
        EVP_CipherFinal_ex(ctx, tag, &final_len) != 1 || final_len != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, MP_SEAL_TAG, tag) != 1) {
        goto out;
    }
    rc = MP_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int mp_seal_key_id(const unsigned char *in, size_t len, uint32_t *id)
{
    if (len < MP_SEAL_OVERHEAD || in[0] != VERSION) {
        return MP_EINVAL;
    }
    *id = get_be32(in + 1);
    return MP_OK;
}

int mp_seal_decrypt(const struct mp_seal_key *key, const void *aad, size_t aad_len,
                    const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned char tag[MP_SEAL_TAG];
    EVP_CIPHER_CTX *ctx = NULL;
    size_t plain_len = 0;
    uint32_t id = 0;
    int final_len = 0;
    int rc = mp_seal_key_id(in, len, &id);

    if (rc != MP_OK) {
        return rc;
    }
    if (id != key->id) {
        return MP_NOTFOUND;
    }
    plain_len = len - MP_SEAL_OVERHEAD;
    /* A copy: the tag ctrl takes a non-const pointer. */
    memcpy(tag, in + MP_SEAL_HEADER + plain_len, MP_SEAL_TAG);
    rc = MP_EIO;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        goto out;
    }
    if (!start(ctx, 0, key, in, aad, aad_len) ||
        !update(ctx, in + MP_SEAL_HEADER, plain_len, out) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, MP_SEAL_TAG, tag) != 1 ||
        EVP_CipherFinal_ex(ctx, out + plain_len, &final_len) != 1 || final_len != 0) {
        goto out;
    }
    rc = MP_OK;
out:
    /* GCM decrypts before it authenticates: never leave forged plaintext. */
    if (rc != MP_OK && plain_len > 0) {
        OPENSSL_cleanse(out, plain_len);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* ---- helpers for callers ---- */

int mp_seal_random(void *out, size_t len)
{
    unsigned char *p = out;
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return MP_EIO;
        done += (size_t)n;
    }
    return MP_OK;
}

bool mp_seal_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
