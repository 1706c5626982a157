/* storage/format/sha256.c: SHA-256 against FIPS 180-2's examples (in one
 * part and in several), HMAC-SHA256 against RFC 4231's test cases and the
 * edges of the key's length (empty, exactly one block, longer). */
#include <check.h>
#include <string.h>

#include "hex.h"
#include "format/sha256.h"
#include "status.h"

Suite *mp_test_suite(void);

/* The HMAC of data under key, as lower-case hex, equals want. */
static void hmac_is(const void *key, size_t key_len, const char *data, size_t len, const char *want)
{
    unsigned char mac[MP_SHA256_LEN];
    char got[2 * MP_SHA256_LEN + 1];
    mp_hmac_sha256(key, key_len, data, len, mac);
    mp_hex_encode(mac, sizeof(mac), got);
    ck_assert_str_eq(got, want);
}

/* The SHA-256 of parts, as lower-case hex, equals want. */
static void sha_is(const struct mp_sha256_part *parts, size_t n, const char *want)
{
    unsigned char d[MP_SHA256_LEN];
    char got[2 * MP_SHA256_LEN + 1];
    mp_sha256(parts, n, d);
    mp_hex_encode(d, sizeof(d), got);
    ck_assert_str_eq(got, want);
}

START_TEST(test_sha256_fips180_examples_whole_and_in_parts)
{
    static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    const char *want2 = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    struct mp_sha256_part abc = {"abc", 3};
    sha_is(&abc, 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_is(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    struct mp_sha256_part whole = {two, sizeof(two) - 1};
    sha_is(&whole, 1, want2);
    /* the same bytes in three parts, one of them empty: the same digest */
    struct mp_sha256_part parts[] = {{two, 5}, {NULL, 0}, {two + 5, sizeof(two) - 1 - 5}};
    sha_is(parts, 3, want2);
}
END_TEST

START_TEST(test_hmac_rfc4231_short_keys)
{
    unsigned char k1[20], k4[25];
    char d4[50];
    memset(k1, 0x0b, sizeof(k1));
    for (size_t i = 0; i < sizeof(k4); i++)
        k4[i] = (unsigned char)(i + 1);
    memset(d4, 0xcd, sizeof(d4));
    hmac_is(k1, sizeof(k1), "Hi There", 8,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"); /* case 1 */
    hmac_is("Jefe", 4, "what do ya want for nothing?", 28,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"); /* case 2 */
    hmac_is(k4, sizeof(k4), d4, sizeof(d4),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"); /* case 4 */
}
END_TEST

START_TEST(test_hmac_rfc4231_key_longer_than_a_block_is_hashed_first)
{
    unsigned char k[131];
    memset(k, 0xaa, sizeof(k));
    static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char d7[] = "This is a test using a larger than block-size key and a larger than "
                             "block-size data. The key needs to be hashed before being used by "
                             "the HMAC algorithm.";
    hmac_is(k, sizeof(k), d6, sizeof(d6) - 1,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"); /* case 6 */
    hmac_is(k, sizeof(k), d7, sizeof(d7) - 1,
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"); /* case 7 */
}
END_TEST

START_TEST(test_hmac_empty_key_and_message_and_a_key_of_one_block)
{
    unsigned char block[64];
    memset(block, 'k', sizeof(block));
    hmac_is(NULL, 0, NULL, 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    hmac_is(block, sizeof(block), "x", 1,
            "f91c4c403625fb06910ef93999265bbd2d62baeaec6ff36455498cc124fe3e66");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("known answers");
    tcase_add_test(tc, test_sha256_fips180_examples_whole_and_in_parts);
    tcase_add_test(tc, test_hmac_rfc4231_short_keys);
    tcase_add_test(tc, test_hmac_rfc4231_key_longer_than_a_block_is_hashed_first);
    tcase_add_test(tc, test_hmac_empty_key_and_message_and_a_key_of_one_block);
    suite_add_tcase(s, tc);
    return s;
}
