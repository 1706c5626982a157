/* Tests for storage/format/seal.h: sealing round trips, tampering in each part of a
 * record, key parsing in every accepted and refused form, key files, and
 * known answers for the key id and HMAC computed outside this code. */
#include <check.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/seal.h"
#include "format/sha256.h"
#include "status.h"

Suite *mp_test_suite(void);

#define U(s) (const unsigned char *)(s), (sizeof(s) - 1)

/* The fixed test key: bytes 0x00..0x1f, in each spelling. */
#define KEY_HEX_LOWER "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_HEX_UPPER "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
#define KEY_B64       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

/* Computed at authoring time with python3:
 *   hashlib.sha256(b"memproxy key id v1" + bytes(range(32))).hexdigest()[:8] */
#define KEY_ID 0xed7587d3u

static const unsigned char aad[] = "user:alice";
#define AAD_LEN (sizeof(aad) - 1)

/* ---- helpers ---- */

static void fixed_raw(unsigned char raw[MP_SEAL_KEY_LEN])
{
    for (int i = 0; i < MP_SEAL_KEY_LEN; i++) {
        raw[i] = (unsigned char)i;
    }
}

static struct mp_seal_key fixed_key(void)
{
    unsigned char raw[MP_SEAL_KEY_LEN];
    struct mp_seal_key key;
    char why[256] = "";
    fixed_raw(raw);
    ck_assert_int_eq(mp_seal_key_parse(raw, sizeof(raw), &key, why, sizeof(why)), MP_OK);
    return key;
}

static struct mp_seal_key other_key(void)
{
    unsigned char raw[MP_SEAL_KEY_LEN];
    struct mp_seal_key key;
    char why[256] = "";
    memset(raw, 0x5a, sizeof(raw));
    ck_assert_int_eq(mp_seal_key_parse(raw, sizeof(raw), &key, why, sizeof(why)), MP_OK);
    return key;
}

/* Seals plain[0..len) under key with aad; the caller frees. */
static unsigned char *seal(const struct mp_seal_key *key, const void *plain, size_t len)
{
    unsigned char *rec = malloc(len + MP_SEAL_OVERHEAD);
    ck_assert_ptr_nonnull(rec);
    ck_assert_int_eq(mp_seal_encrypt(key, aad, AAD_LEN, plain, len, rec), MP_OK);
    return rec;
}

/* Parses text expecting success; returns the key. */
static struct mp_seal_key parse_ok(const unsigned char *data, size_t len)
{
    struct mp_seal_key key;
    char why[256] = "";
    int rc = mp_seal_key_parse(data, len, &key, why, sizeof(why));
    ck_assert_msg(rc == MP_OK, "parse: %d %s", rc, why);
    return key;
}

static void assert_is_fixed_key(const struct mp_seal_key *key)
{
    unsigned char raw[MP_SEAL_KEY_LEN];
    fixed_raw(raw);
    ck_assert_mem_eq(key->bytes, raw, MP_SEAL_KEY_LEN);
    ck_assert_uint_eq(key->id, KEY_ID);
}

static void assert_parse_refused(const unsigned char *data, size_t len)
{
    struct mp_seal_key key;
    char why[256] = "";
    memset(&key, 0xab, sizeof(key));
    ck_assert_int_eq(mp_seal_key_parse(data, len, &key, why, sizeof(why)), MP_EINVAL);
    ck_assert_str_ne(why, "");
}

/* Flips every bit of rec[from..to) in turn and expects want from decrypt. */
static void assert_flips(size_t from, size_t to, int want)
{
    struct mp_seal_key key = fixed_key();
    static const char plain[] = "sixteen byte msg";
    size_t len = sizeof(plain) - 1;
    unsigned char *rec = seal(&key, plain, len);
    unsigned char out[sizeof(plain)];

    for (size_t i = from; i < to; i++) {
        for (int bit = 0; bit < 8; bit++) {
            rec[i] ^= (unsigned char)(1u << bit);
            int rc = mp_seal_decrypt(&key, aad, AAD_LEN, rec, len + MP_SEAL_OVERHEAD, out);
            ck_assert_msg(rc == want, "byte %zu bit %d: got %d, want %d", i, bit, rc, want);
            rec[i] ^= (unsigned char)(1u << bit);
        }
    }
    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, len + MP_SEAL_OVERHEAD, out), MP_OK);
    free(rec);
}

/* Writes data to a fresh temp file with mode; fills path. */
static void write_key_file(char *path, size_t cap, const void *data, size_t len, mode_t mode)
{
    snprintf(path, cap, "/tmp/mp_seal_test_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    ck_assert_int_eq(close(fd), 0);
}

/* ---- sealing ---- */

START_TEST(test_seal_round_trip_short)
{
    struct mp_seal_key key = fixed_key();
    static const char plain[] = "the user prefers metric units";
    size_t len = sizeof(plain) - 1;
    unsigned char *rec = seal(&key, plain, len);
    unsigned char out[sizeof(plain)];

    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, len + MP_SEAL_OVERHEAD, out), MP_OK);
    ck_assert_mem_eq(out, plain, len);
    free(rec);
}
END_TEST

START_TEST(test_seal_round_trip_empty)
{
    struct mp_seal_key key = fixed_key();
    unsigned char rec[MP_SEAL_OVERHEAD];
    unsigned char out[1] = {0x77};

    ck_assert_int_eq(mp_seal_encrypt(&key, aad, AAD_LEN, NULL, 0, rec), MP_OK);
    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, sizeof(rec), out), MP_OK);
    ck_assert_uint_eq(out[0], 0x77);
}
END_TEST

START_TEST(test_seal_round_trip_1mib)
{
    struct mp_seal_key key = fixed_key();
    size_t len = 1u << 20;
    unsigned char *plain = malloc(len);
    unsigned char *out = malloc(len);
    ck_assert_ptr_nonnull(plain);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < len; i++) {
        plain[i] = (unsigned char)(i * 131 + (i >> 8));
    }
    unsigned char *rec = seal(&key, plain, len);

    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, len + MP_SEAL_OVERHEAD, out), MP_OK);
    ck_assert_int_eq(memcmp(out, plain, len), 0);
    free(rec);
    free(out);
    free(plain);
}
END_TEST

START_TEST(test_seal_round_trip_without_aad)
{
    struct mp_seal_key key = fixed_key();
    unsigned char rec[5 + MP_SEAL_OVERHEAD];
    unsigned char out[5];

    ck_assert_int_eq(mp_seal_encrypt(&key, NULL, 0, "hello", 5, rec), MP_OK);
    ck_assert_int_eq(mp_seal_decrypt(&key, NULL, 0, rec, sizeof(rec), out), MP_OK);
    ck_assert_mem_eq(out, "hello", 5);
}
END_TEST

START_TEST(test_seal_writes_exactly_overhead_plus_len)
{
    struct mp_seal_key key = fixed_key();
    unsigned char rec[7 + MP_SEAL_OVERHEAD + 8];
    memset(rec, 0xee, sizeof(rec));

    ck_assert_int_eq(mp_seal_encrypt(&key, aad, AAD_LEN, "1234567", 7, rec), MP_OK);
    for (size_t i = 7 + MP_SEAL_OVERHEAD; i < sizeof(rec); i++) {
        ck_assert_uint_eq(rec[i], 0xee);
    }
}
END_TEST

START_TEST(test_seal_header_is_version_and_big_endian_key_id)
{
    struct mp_seal_key key = fixed_key();
    unsigned char rec[3 + MP_SEAL_OVERHEAD];

    ck_assert_int_eq(mp_seal_encrypt(&key, aad, AAD_LEN, "abc", 3, rec), MP_OK);
    ck_assert_uint_eq(rec[0], 1);
    ck_assert_uint_eq(rec[1], 0xed);
    ck_assert_uint_eq(rec[2], 0x75);
    ck_assert_uint_eq(rec[3], 0x87);
    ck_assert_uint_eq(rec[4], 0xd3);
}
END_TEST

START_TEST(test_seal_same_plaintext_twice_differs_and_both_open)
{
    struct mp_seal_key key = fixed_key();
    static const char plain[] = "same words";
    size_t len = sizeof(plain) - 1;
    unsigned char *a = seal(&key, plain, len);
    unsigned char *b = seal(&key, plain, len);
    unsigned char out[sizeof(plain)];

    /* fresh nonce: the nonces differ, and so do the ciphertexts */
    ck_assert_int_ne(memcmp(a + 5, b + 5, 12), 0);
    ck_assert_int_ne(memcmp(a + MP_SEAL_HEADER, b + MP_SEAL_HEADER, len), 0);
    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, a, len + MP_SEAL_OVERHEAD, out), MP_OK);
    ck_assert_mem_eq(out, plain, len);
    memset(out, 0, sizeof(out));
    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, b, len + MP_SEAL_OVERHEAD, out), MP_OK);
    ck_assert_mem_eq(out, plain, len);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_seal_record_does_not_contain_canary)
{
    struct mp_seal_key key = fixed_key();
    static const char canary[] = "CANARY-0123456789-XY"; /* 20 bytes */
    char plain[200];
    size_t len = sizeof(plain);
    memset(plain, 'a', sizeof(plain));
    memcpy(plain + 90, canary, 20);
    unsigned char *rec = seal(&key, plain, len);

    ck_assert_uint_eq(sizeof(canary) - 1, 20);
    ck_assert_ptr_null(memmem(rec, len + MP_SEAL_OVERHEAD, canary, 20));
    /* and no 8-byte run of the plaintext's 'a's either */
    ck_assert_ptr_null(memmem(rec, len + MP_SEAL_OVERHEAD, "aaaaaaaa", 8));
    free(rec);
}
END_TEST

/* ---- tampering ---- */

START_TEST(test_seal_flipped_version_bit_is_einval)
{
    assert_flips(0, 1, MP_EINVAL);
}
END_TEST

START_TEST(test_seal_flipped_key_id_bit_is_notfound)
{
    assert_flips(1, 5, MP_NOTFOUND);
}
END_TEST

START_TEST(test_seal_flipped_nonce_bit_is_eio)
{
    assert_flips(5, MP_SEAL_HEADER, MP_EIO);
}
END_TEST

START_TEST(test_seal_flipped_ciphertext_bit_is_eio)
{
    assert_flips(MP_SEAL_HEADER, MP_SEAL_HEADER + 16, MP_EIO);
}
END_TEST

START_TEST(test_seal_flipped_tag_bit_is_eio)
{
    assert_flips(MP_SEAL_HEADER + 16, MP_SEAL_HEADER + 16 + MP_SEAL_TAG, MP_EIO);
}
END_TEST

START_TEST(test_seal_wrong_aad_is_eio)
{
    struct mp_seal_key key = fixed_key();
    unsigned char *rec = seal(&key, "secret", 6);
    unsigned char out[6];

    ck_assert_int_eq(mp_seal_decrypt(&key, U("user:alicf"), rec, 6 + MP_SEAL_OVERHEAD, out),
                     MP_EIO);
    ck_assert_int_eq(mp_seal_decrypt(&key, U("user:alic"), rec, 6 + MP_SEAL_OVERHEAD, out), MP_EIO);
    ck_assert_int_eq(mp_seal_decrypt(&key, NULL, 0, rec, 6 + MP_SEAL_OVERHEAD, out), MP_EIO);
    free(rec);
}
END_TEST

START_TEST(test_seal_other_key_is_notfound)
{
    struct mp_seal_key key = fixed_key();
    struct mp_seal_key other = other_key();
    unsigned char *rec = seal(&key, "secret", 6);
    unsigned char out[6] = "xxxxxx";

    ck_assert_uint_ne(key.id, other.id);
    ck_assert_int_eq(mp_seal_decrypt(&other, aad, AAD_LEN, rec, 6 + MP_SEAL_OVERHEAD, out),
                     MP_NOTFOUND);
    ck_assert_mem_eq(out, "xxxxxx", 6);
    free(rec);
}
END_TEST

START_TEST(test_seal_other_key_with_colliding_id_is_eio)
{
    struct mp_seal_key key = fixed_key();
    struct mp_seal_key other = other_key();
    unsigned char *rec = seal(&key, "secret", 6);
    unsigned char out[6];

    other.id = key.id; /* as if the 32-bit ids collided */
    ck_assert_int_eq(mp_seal_decrypt(&other, aad, AAD_LEN, rec, 6 + MP_SEAL_OVERHEAD, out), MP_EIO);
    free(rec);
}
END_TEST

START_TEST(test_seal_header_key_id_is_authenticated)
{
    struct mp_seal_key key = fixed_key();
    struct mp_seal_key relabeled = key;
    unsigned char *rec = seal(&key, "secret", 6);
    unsigned char out[6];

    /* Same key bytes, another id, written into the header: the id is part of
     * the authenticated data, so the edited record does not open. */
    relabeled.id = 0x01020304;
    rec[1] = 0x01;
    rec[2] = 0x02;
    rec[3] = 0x03;
    rec[4] = 0x04;
    ck_assert_int_eq(mp_seal_decrypt(&relabeled, aad, AAD_LEN, rec, 6 + MP_SEAL_OVERHEAD, out),
                     MP_EIO);
    free(rec);
}
END_TEST

START_TEST(test_seal_shorter_than_overhead_is_einval)
{
    struct mp_seal_key key = fixed_key();
    unsigned char *rec = seal(&key, "", 0);
    unsigned char out[1] = {0x77};

    for (size_t len = 0; len < MP_SEAL_OVERHEAD; len++) {
        ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, len, out), MP_EINVAL);
    }
    ck_assert_uint_eq(out[0], 0x77);
    free(rec);
}
END_TEST

START_TEST(test_seal_truncated_by_one_byte_is_eio)
{
    struct mp_seal_key key = fixed_key();
    unsigned char *rec = seal(&key, "secret", 6);
    unsigned char out[6];

    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, 5 + MP_SEAL_OVERHEAD, out), MP_EIO);
    free(rec);
}
END_TEST

START_TEST(test_seal_failed_authentication_wipes_out)
{
    struct mp_seal_key key = fixed_key();
    static const char plain[] = "do not leak this";
    size_t len = sizeof(plain) - 1;
    unsigned char *rec = seal(&key, plain, len);
    unsigned char out[sizeof(plain) - 1];
    static const unsigned char zero[sizeof(plain) - 1];

    rec[len + MP_SEAL_OVERHEAD - 1] ^= 1; /* the tag's last byte */
    ck_assert_int_eq(mp_seal_decrypt(&key, aad, AAD_LEN, rec, len + MP_SEAL_OVERHEAD, out), MP_EIO);
    ck_assert_mem_eq(out, zero, len);
    free(rec);
}
END_TEST

START_TEST(test_seal_key_id_reads_the_id)
{
    struct mp_seal_key key = fixed_key();
    struct mp_seal_key other = other_key();
    unsigned char *a = seal(&key, "x", 1);
    unsigned char *b = seal(&other, "x", 1);
    uint32_t id = 0;

    ck_assert_int_eq(mp_seal_key_id(a, 1 + MP_SEAL_OVERHEAD, &id), MP_OK);
    ck_assert_uint_eq(id, KEY_ID);
    ck_assert_int_eq(mp_seal_key_id(b, 1 + MP_SEAL_OVERHEAD, &id), MP_OK);
    ck_assert_uint_eq(id, other.id);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_seal_key_id_rejects_short_or_bad_version)
{
    struct mp_seal_key key = fixed_key();
    unsigned char *rec = seal(&key, "", 0);
    uint32_t id = 42;

    ck_assert_int_eq(mp_seal_key_id(rec, MP_SEAL_OVERHEAD - 1, &id), MP_EINVAL);
    rec[0] = 2;
    ck_assert_int_eq(mp_seal_key_id(rec, MP_SEAL_OVERHEAD, &id), MP_EINVAL);
    rec[0] = 0;
    ck_assert_int_eq(mp_seal_key_id(rec, MP_SEAL_OVERHEAD, &id), MP_EINVAL);
    ck_assert_uint_eq(id, 42);
    free(rec);
}
END_TEST

/* ---- key parsing ---- */

START_TEST(test_seal_key_parse_raw_32_bytes)
{
    unsigned char raw[MP_SEAL_KEY_LEN];
    fixed_raw(raw);
    struct mp_seal_key key = parse_ok(raw, sizeof(raw));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_raw_keeps_whitespace_bytes)
{
    unsigned char raw[MP_SEAL_KEY_LEN];
    fixed_raw(raw);
    raw[0] = '\n';
    raw[1] = ' ';
    raw[31] = '\n';
    struct mp_seal_key key = parse_ok(raw, sizeof(raw));
    ck_assert_mem_eq(key.bytes, raw, MP_SEAL_KEY_LEN);
}
END_TEST

START_TEST(test_seal_key_parse_hex_lower)
{
    struct mp_seal_key key = parse_ok(U(KEY_HEX_LOWER));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_hex_upper)
{
    struct mp_seal_key key = parse_ok(U(KEY_HEX_UPPER));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_hex_trailing_newline)
{
    struct mp_seal_key key = parse_ok(U(KEY_HEX_LOWER "\n"));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_hex_surrounding_whitespace)
{
    struct mp_seal_key key = parse_ok(U(" \t\r\n" KEY_HEX_UPPER " \r\n\v\f"));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_base64_padded)
{
    struct mp_seal_key key = parse_ok(U(KEY_B64 "="));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_base64_unpadded)
{
    struct mp_seal_key key = parse_ok(U(KEY_B64));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_base64_trailing_newline)
{
    struct mp_seal_key key = parse_ok(U(KEY_B64 "=\n"));
    assert_is_fixed_key(&key);
}
END_TEST

START_TEST(test_seal_key_parse_base64_all_digits)
{
    /* fb ff bf repeated, then fc (checked with python3 base64): '+', '/', 'w'. */
    static const char text[] = "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/w=";
    struct mp_seal_key key = parse_ok(U(text));
    static const unsigned char want[3] = {0xfb, 0xff, 0xbf};
    for (int i = 0; i < 31; i++) {
        ck_assert_uint_eq(key.bytes[i], want[i % 3]);
    }
    ck_assert_uint_eq(key.bytes[31], 0xfc);
}
END_TEST

START_TEST(test_seal_key_parse_31_bytes_refused)
{
    unsigned char raw[31];
    memset(raw, 0x99, sizeof(raw));
    assert_parse_refused(raw, sizeof(raw));
}
END_TEST

START_TEST(test_seal_key_parse_33_bytes_refused)
{
    unsigned char raw[33];
    memset(raw, 0x99, sizeof(raw));
    assert_parse_refused(raw, sizeof(raw));
}
END_TEST

START_TEST(test_seal_key_parse_raw_with_newline_refused)
{
    unsigned char raw[33];
    memset(raw, 0x99, sizeof(raw));
    raw[32] = '\n';
    assert_parse_refused(raw, sizeof(raw));
}
END_TEST

START_TEST(test_seal_key_parse_65_hex_refused)
{
    assert_parse_refused(U(KEY_HEX_LOWER "0"));
}
END_TEST

START_TEST(test_seal_key_parse_63_hex_refused)
{
    static const char text[] = KEY_HEX_LOWER;
    assert_parse_refused((const unsigned char *)text, 63);
}
END_TEST

START_TEST(test_seal_key_parse_hex_bad_char_refused)
{
    char text[] = KEY_HEX_LOWER;
    text[17] = 'g';
    assert_parse_refused((const unsigned char *)text, 64);
}
END_TEST

START_TEST(test_seal_key_parse_inner_whitespace_refused)
{
    assert_parse_refused(U("000102030405060708090a0b0c0d0e0f "
                           "101112131415161718191a1b1c1d1e1f"));
    assert_parse_refused(U("AAECAwQFBgcICQoLDA0ODxAR\nEhMUFRYXGBkaGxwdHh8="));
}
END_TEST

START_TEST(test_seal_key_parse_base64_bad_char_refused)
{
    assert_parse_refused(U("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaG*wdHh8="));
}
END_TEST

START_TEST(test_seal_key_parse_base64_url_alphabet_refused)
{
    assert_parse_refused(U("-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_w="));
}
END_TEST

START_TEST(test_seal_key_parse_base64_nonzero_unused_bits_refused)
{
    /* the last digit '8' (60) has zero low bits; '9' (61) does not */
    assert_parse_refused(U("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9="));
}
END_TEST

START_TEST(test_seal_key_parse_base64_double_padding_refused)
{
    assert_parse_refused(U(KEY_B64 "=="));
}
END_TEST

START_TEST(test_seal_key_parse_base64_wrong_length_refused)
{
    /* base64 of 31 bytes (padded) and of 33 bytes */
    assert_parse_refused(U("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="));
    assert_parse_refused(U("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"));
}
END_TEST

START_TEST(test_seal_key_parse_empty_or_blank_refused)
{
    assert_parse_refused(U(""));
    assert_parse_refused(U(" \n\t\n"));
}
END_TEST

START_TEST(test_seal_key_parse_failure_leaves_out_and_hides_material)
{
    struct mp_seal_key key, before;
    char why[256] = "";
    char text[] = KEY_HEX_LOWER;
    text[40] = 'z';
    memset(&key, 0xab, sizeof(key));
    before = key;

    ck_assert_int_eq(mp_seal_key_parse((const unsigned char *)text, 64, &key, why, sizeof(why)),
                     MP_EINVAL);
    ck_assert_mem_eq(&key, &before, sizeof(key));
    ck_assert_str_ne(why, "");
    ck_assert_ptr_null(strstr(why, "0001020304"));
    ck_assert_ptr_null(strstr(why, "1a1b1c"));
}
END_TEST

START_TEST(test_seal_key_parse_accepts_null_why)
{
    struct mp_seal_key key;
    ck_assert_int_eq(mp_seal_key_parse(U("nope"), &key, NULL, 0), MP_EINVAL);
}
END_TEST

START_TEST(test_seal_key_id_matches_sha256_of_label_and_key)
{
    unsigned char buf[18 + MP_SEAL_KEY_LEN];
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct mp_seal_key key = fixed_key();
    struct mp_seal_key other = other_key();

    memcpy(buf, "memproxy key id v1", 18);
    fixed_raw(buf + 18);
    SHA256(buf, sizeof(buf), md);
    uint32_t want = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    ck_assert_uint_eq(key.id, want);
    ck_assert_uint_eq(key.id, KEY_ID);

    memset(buf + 18, 0x5a, MP_SEAL_KEY_LEN);
    SHA256(buf, sizeof(buf), md);
    want = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
    ck_assert_uint_eq(other.id, want);
}
END_TEST

/* ---- HMAC, random, equal, wipe ---- */

START_TEST(test_seal_hmac_known_answer)
{
    /* Computed at authoring time, two ways that agree:
     *   printf 'memproxy hmac test vector' | openssl dgst -sha256 -mac HMAC \
     *       -macopt hexkey:000102...1e1f
     *   hmac.new(bytes(range(32)), b"memproxy hmac test vector", "sha256") */
    static const unsigned char want[32] = {0xc9, 0x19, 0x69, 0xcb, 0x74, 0xdd, 0x76, 0xbd,
                                           0xe7, 0xdc, 0x66, 0x9a, 0xa9, 0xfd, 0xeb, 0x1b,
                                           0x5c, 0xe4, 0x6f, 0x4d, 0x9c, 0xb5, 0xa9, 0x2a,
                                           0xbf, 0x22, 0x46, 0x8f, 0x9f, 0xc3, 0x5f, 0xaf};
    unsigned char key[MP_SEAL_KEY_LEN];
    unsigned char out[32];
    fixed_raw(key);

    mp_hmac_sha256(key, sizeof(key), "memproxy hmac test vector", 25, out);
    ck_assert_mem_eq(out, want, 32);
}
END_TEST

START_TEST(test_seal_hmac_empty_message_known_answer)
{
    /* As above, with an empty message (openssl dgst ... </dev/null). */
    static const unsigned char want[32] = {0xd3, 0x8b, 0x42, 0x09, 0x6d, 0x80, 0xf4, 0x5f,
                                           0x82, 0x6b, 0x44, 0xa9, 0xd5, 0x60, 0x7d, 0xe7,
                                           0x24, 0x96, 0xa4, 0x15, 0xd3, 0xf4, 0xa1, 0xa8,
                                           0xc8, 0x8e, 0x3b, 0xb9, 0xda, 0x8d, 0xc1, 0xcb};
    unsigned char key[MP_SEAL_KEY_LEN];
    unsigned char out[32];
    fixed_raw(key);

    mp_hmac_sha256(key, sizeof(key), NULL, 0, out);
    ck_assert_mem_eq(out, want, 32);
}
END_TEST

START_TEST(test_seal_random_fills_differently)
{
    unsigned char a[32], b[32];
    static const unsigned char zero[32];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));

    ck_assert_int_eq(mp_seal_random(a, sizeof(a)), MP_OK);
    ck_assert_int_eq(mp_seal_random(b, sizeof(b)), MP_OK);
    ck_assert_int_ne(memcmp(a, b, 32), 0);
    ck_assert_int_ne(memcmp(a, zero, 32), 0);
    ck_assert_int_eq(mp_seal_random(a, 0), MP_OK);
}
END_TEST

START_TEST(test_seal_equal_true_for_same_bytes)
{
    ck_assert(mp_seal_equal("abcdef", "abcdef", 6));
    ck_assert(mp_seal_equal("abc", "xyz", 0));
}
END_TEST

START_TEST(test_seal_equal_false_for_any_difference)
{
    ck_assert(!mp_seal_equal("abcdef", "abcdeg", 6));
    ck_assert(!mp_seal_equal("abcdef", "bbcdef", 6));
}
END_TEST

START_TEST(test_seal_key_wipe_zeroes_key)
{
    struct mp_seal_key key = fixed_key();
    static const struct mp_seal_key zero;

    mp_seal_key_wipe(&key);
    ck_assert_mem_eq(&key, &zero, sizeof(key));
    mp_seal_key_wipe(NULL);
}
END_TEST

/* ---- key files ---- */

START_TEST(test_seal_key_load_0600_ok)
{
    char path[64];
    char why[512] = "";
    struct mp_seal_key key;
    write_key_file(path, sizeof(path), KEY_HEX_LOWER "\n", 65, 0600);

    int rc = mp_seal_key_load(path, &key, why, sizeof(why));
    ck_assert_msg(rc == MP_OK, "load: %d %s", rc, why);
    assert_is_fixed_key(&key);
    unlink(path);
}
END_TEST

START_TEST(test_seal_key_load_0400_ok)
{
    char path[64];
    char why[512] = "";
    struct mp_seal_key key;
    unsigned char raw[MP_SEAL_KEY_LEN];
    fixed_raw(raw);
    write_key_file(path, sizeof(path), raw, sizeof(raw), 0400);

    ck_assert_int_eq(mp_seal_key_load(path, &key, why, sizeof(why)), MP_OK);
    assert_is_fixed_key(&key);
    unlink(path);
}
END_TEST

START_TEST(test_seal_key_load_0644_refused)
{
    char path[64];
    char why[512] = "";
    char want[512];
    struct mp_seal_key key;
    write_key_file(path, sizeof(path), KEY_HEX_LOWER, 64, 0644);
    snprintf(want, sizeof(want),
             "key file %s must not be accessible by group or others (chmod 600)", path);

    ck_assert_int_eq(mp_seal_key_load(path, &key, why, sizeof(why)), MP_EINVAL);
    ck_assert_str_eq(why, want);
    unlink(path);
}
END_TEST

START_TEST(test_seal_key_load_any_group_or_other_rw_bit_refused)
{
    static const mode_t modes[] = {0640, 0620, 0604, 0602};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char path[64];
        char why[512] = "";
        struct mp_seal_key key;
        write_key_file(path, sizeof(path), KEY_HEX_LOWER, 64, modes[i]);
        ck_assert_int_eq(mp_seal_key_load(path, &key, why, sizeof(why)), MP_EINVAL);
        ck_assert_ptr_nonnull(strstr(why, "(chmod 600)"));
        unlink(path);
    }
}
END_TEST

START_TEST(test_seal_key_load_missing_file_is_eio)
{
    char why[512] = "";
    struct mp_seal_key key;

    ck_assert_int_eq(mp_seal_key_load("/tmp/mp_seal_test_no_such_file", &key, why, sizeof(why)),
                     MP_EIO);
    ck_assert_str_eq(why, "cannot read /tmp/mp_seal_test_no_such_file: No such file or directory");
}
END_TEST

START_TEST(test_seal_key_load_directory_refused)
{
    char dir[] = "/tmp/mp_seal_test_XXXXXX";
    char why[512] = "";
    struct mp_seal_key key;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0700), 0);

    ck_assert_int_eq(mp_seal_key_load(dir, &key, why, sizeof(why)), MP_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "is not a regular file"));
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_seal_key_load_over_4096_bytes_refused)
{
    char path[64];
    char why[512] = "";
    char text[4097];
    struct mp_seal_key key;
    /* the hex key followed by blanks: a valid key if the cap were not there */
    memset(text, ' ', sizeof(text));
    memcpy(text, KEY_HEX_LOWER, 64);
    write_key_file(path, sizeof(path), text, sizeof(text), 0600);

    ck_assert_int_eq(mp_seal_key_load(path, &key, why, sizeof(why)), MP_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "larger than 4096 bytes"));
    unlink(path);
}
END_TEST

START_TEST(test_seal_key_load_exactly_4096_bytes_ok)
{
    char path[64];
    char why[512] = "";
    char text[4096];
    struct mp_seal_key key;
    memset(text, '\n', sizeof(text));
    memcpy(text, KEY_HEX_LOWER, 64);
    write_key_file(path, sizeof(path), text, sizeof(text), 0600);

    ck_assert_int_eq(mp_seal_key_load(path, &key, why, sizeof(why)), MP_OK);
    assert_is_fixed_key(&key);
    unlink(path);
}
END_TEST

START_TEST(test_seal_key_load_bad_content_names_file)
{
    char path[64];
    char why[512] = "";
    char prefix[128];
    struct mp_seal_key key;
    write_key_file(path, sizeof(path), "not a key\n", 10, 0600);
    snprintf(prefix, sizeof(prefix), "key file %s: ", path);

    ck_assert_int_eq(mp_seal_key_load(path, &key, why, sizeof(why)), MP_EINVAL);
    ck_assert_int_eq(strncmp(why, prefix, strlen(prefix)), 0);
    ck_assert_ptr_null(strstr(why, "not a key"));
    unlink(path);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("seal");
    TCase *seal_tc = tcase_create("seal");
    tcase_add_test(seal_tc, test_seal_round_trip_short);
    tcase_add_test(seal_tc, test_seal_round_trip_empty);
    tcase_add_test(seal_tc, test_seal_round_trip_1mib);
    tcase_add_test(seal_tc, test_seal_round_trip_without_aad);
    tcase_add_test(seal_tc, test_seal_writes_exactly_overhead_plus_len);
    tcase_add_test(seal_tc, test_seal_header_is_version_and_big_endian_key_id);
    tcase_add_test(seal_tc, test_seal_same_plaintext_twice_differs_and_both_open);
    tcase_add_test(seal_tc, test_seal_record_does_not_contain_canary);
    tcase_add_test(seal_tc, test_seal_flipped_version_bit_is_einval);
    tcase_add_test(seal_tc, test_seal_flipped_key_id_bit_is_notfound);
    tcase_add_test(seal_tc, test_seal_flipped_nonce_bit_is_eio);
    tcase_add_test(seal_tc, test_seal_flipped_ciphertext_bit_is_eio);
    tcase_add_test(seal_tc, test_seal_flipped_tag_bit_is_eio);
    tcase_add_test(seal_tc, test_seal_wrong_aad_is_eio);
    tcase_add_test(seal_tc, test_seal_other_key_is_notfound);
    tcase_add_test(seal_tc, test_seal_other_key_with_colliding_id_is_eio);
    tcase_add_test(seal_tc, test_seal_header_key_id_is_authenticated);
    tcase_add_test(seal_tc, test_seal_shorter_than_overhead_is_einval);
    tcase_add_test(seal_tc, test_seal_truncated_by_one_byte_is_eio);
    tcase_add_test(seal_tc, test_seal_failed_authentication_wipes_out);
    tcase_add_test(seal_tc, test_seal_key_id_reads_the_id);
    tcase_add_test(seal_tc, test_seal_key_id_rejects_short_or_bad_version);
    suite_add_tcase(s, seal_tc);

    TCase *parse_tc = tcase_create("key_parse");
    tcase_add_test(parse_tc, test_seal_key_parse_raw_32_bytes);
    tcase_add_test(parse_tc, test_seal_key_parse_raw_keeps_whitespace_bytes);
    tcase_add_test(parse_tc, test_seal_key_parse_hex_lower);
    tcase_add_test(parse_tc, test_seal_key_parse_hex_upper);
    tcase_add_test(parse_tc, test_seal_key_parse_hex_trailing_newline);
    tcase_add_test(parse_tc, test_seal_key_parse_hex_surrounding_whitespace);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_padded);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_unpadded);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_trailing_newline);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_all_digits);
    tcase_add_test(parse_tc, test_seal_key_parse_31_bytes_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_33_bytes_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_raw_with_newline_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_65_hex_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_63_hex_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_hex_bad_char_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_inner_whitespace_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_bad_char_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_url_alphabet_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_nonzero_unused_bits_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_double_padding_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_base64_wrong_length_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_empty_or_blank_refused);
    tcase_add_test(parse_tc, test_seal_key_parse_failure_leaves_out_and_hides_material);
    tcase_add_test(parse_tc, test_seal_key_parse_accepts_null_why);
    tcase_add_test(parse_tc, test_seal_key_id_matches_sha256_of_label_and_key);
    suite_add_tcase(s, parse_tc);

    TCase *misc_tc = tcase_create("helpers");
    tcase_add_test(misc_tc, test_seal_hmac_known_answer);
    tcase_add_test(misc_tc, test_seal_hmac_empty_message_known_answer);
    tcase_add_test(misc_tc, test_seal_random_fills_differently);
    tcase_add_test(misc_tc, test_seal_equal_true_for_same_bytes);
    tcase_add_test(misc_tc, test_seal_equal_false_for_any_difference);
    tcase_add_test(misc_tc, test_seal_key_wipe_zeroes_key);
    suite_add_tcase(s, misc_tc);

    TCase *load_tc = tcase_create("key_load");
    tcase_add_test(load_tc, test_seal_key_load_0600_ok);
    tcase_add_test(load_tc, test_seal_key_load_0400_ok);
    tcase_add_test(load_tc, test_seal_key_load_0644_refused);
    tcase_add_test(load_tc, test_seal_key_load_any_group_or_other_rw_bit_refused);
    tcase_add_test(load_tc, test_seal_key_load_missing_file_is_eio);
    tcase_add_test(load_tc, test_seal_key_load_directory_refused);
    tcase_add_test(load_tc, test_seal_key_load_over_4096_bytes_refused);
    tcase_add_test(load_tc, test_seal_key_load_exactly_4096_bytes_ok);
    tcase_add_test(load_tc, test_seal_key_load_bad_content_names_file);
    suite_add_tcase(s, load_tc);
    return s;
}
