/* core/pagelink.c: the memory page's signed link, minted and checked. The
 * MAC is OpenSSL's HMAC-SHA256 here (core takes it as a function); the
 * expected tokens were computed with Python's hmac, as docs/memory-page.md
 * tells an app to. */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "pagelink.h"
#include "status.h"

Suite *mp_test_suite(void);

#define KEY    "page-secret"
#define NOW    1800000000LL
#define ISSUED 1899990000000LL
#define MAC    "89094a9e67930f2f4f06a3456aae2df4f63198f944f3feb2ab4109fe72be7685"
#define ALICE  "v2.1899990000000.1900000000.-.616c696365." MAC
#define TENANT "0123456789abcdef0123456789abcdef"
#define ZOE                                                                                        \
    "v2.1899990000000.1900000000." TENANT ".5a6fc3ab20f09f9088."                                   \
    "3aa20fc97682e994ff878f99dc0a99842b6715d9b89442d8682710daf90162dd"

static void hmac256(const void *key, size_t key_len, const void *data, size_t len,
                    unsigned char out[MP_PAGELINK_MAC_LEN])
{
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
}

static enum mp_pagelink_verdict check_at(const char *token, int64_t now, struct mp_pagelink *out)
{
    return mp_pagelink_verify(token, strlen(token), KEY, strlen(KEY), hmac256, now, out);
}

/* Far from now, for the vectors: they expire in 2030 and are checked
 * within the 30 days before. */
static enum mp_pagelink_verdict check(const char *token, struct mp_pagelink *out)
{
    return check_at(token, 1900000000LL - 3600, out);
}

START_TEST(test_pagelink_mint_matches_the_documented_recipe)
{
    char tok[MP_PAGELINK_MAX + 1];
    size_t n = 0;
    ck_assert_int_eq(mp_pagelink_mint(KEY, strlen(KEY), hmac256, "alice", 5, NULL, ISSUED,
                                      1900000000LL, tok, sizeof(tok), &n),
                     MP_OK);
    ck_assert_str_eq(tok, ALICE);
    ck_assert_uint_eq(n, strlen(ALICE));
    const char *zoe = "Zo\xc3\xab \xf0\x9f\x90\x88";
    ck_assert_int_eq(mp_pagelink_mint(KEY, strlen(KEY), hmac256, zoe, strlen(zoe),
                                      "0123456789ABCDEF0123456789abcdef", ISSUED, 1900000000LL, tok,
                                      sizeof(tok), &n),
                     MP_OK);
    ck_assert_str_eq(tok, ZOE);
}
END_TEST

START_TEST(test_pagelink_verify_names_user_tenant_and_expiry)
{
    struct mp_pagelink l;
    ck_assert_int_eq(check(ALICE, &l), MP_PAGELINK_OK);
    ck_assert_str_eq(l.user, "alice");
    ck_assert_uint_eq(l.user_len, 5);
    ck_assert_str_eq(l.tenant, "");
    ck_assert_int_eq(l.expiry, 1900000000LL);
    ck_assert_int_eq(l.issued_ms, ISSUED);
    ck_assert_int_eq(check(ZOE, &l), MP_PAGELINK_OK);
    ck_assert_str_eq(l.tenant, TENANT);
    ck_assert_str_eq(l.user, "Zo\xc3\xab \xf0\x9f\x90\x88");
}
END_TEST

START_TEST(test_pagelink_altered_byte_anywhere_is_refused)
{
    char tok[sizeof(ALICE)];
    struct mp_pagelink l = {.user_len = 99};
    for (size_t i = 0; i < strlen(ALICE); i++) {
        memcpy(tok, ALICE, sizeof(ALICE));
        if (tok[i] == '.')
            continue;
        tok[i] = tok[i] == '1' ? '2' : '1';
        enum mp_pagelink_verdict v = check(tok, &l);
        ck_assert_msg(v == MP_PAGELINK_FORGED || v == MP_PAGELINK_MALFORMED, "byte %zu", i);
        ck_assert_uint_eq(l.user_len, 99); /* untouched */
    }
}
END_TEST

START_TEST(test_pagelink_other_user_with_old_mac_is_forged)
{
    /* "bob" in alice's link, her MAC kept: the user field is signed */
    const char *bob = "v2.1899990000000.1900000000.-.626f62." MAC;
    struct mp_pagelink l;
    ck_assert_int_eq(check(bob, &l), MP_PAGELINK_FORGED);
}
END_TEST

START_TEST(test_pagelink_other_key_is_forged)
{
    struct mp_pagelink l;
    ck_assert_int_eq(mp_pagelink_verify(ALICE, strlen(ALICE), "other", 5, hmac256, NOW, &l),
                     MP_PAGELINK_FORGED);
}
END_TEST

START_TEST(test_pagelink_expired_and_too_far_are_refused_after_the_mac)
{
    struct mp_pagelink l;
    ck_assert_int_eq(check_at(ALICE, 1900000000LL, &l), MP_PAGELINK_EXPIRED);
    ck_assert_int_eq(check_at(ALICE, 1900000001LL, &l), MP_PAGELINK_EXPIRED);
    ck_assert_int_eq(check_at(ALICE, 1900000000LL - 1, &l), MP_PAGELINK_OK);
    ck_assert_int_eq(check_at(ALICE, 1900000000LL - MP_PAGELINK_TTL_MAX, &l), MP_PAGELINK_OK);
    ck_assert_int_eq(check_at(ALICE, 1900000000LL - MP_PAGELINK_TTL_MAX - 1, &l),
                     MP_PAGELINK_TOO_FAR);
    /* a forged link says forged whatever its time */
    char tok[sizeof(ALICE)];
    memcpy(tok, ALICE, sizeof(ALICE));
    tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == '3' ? '4' : '3';
    ck_assert_int_eq(check_at(tok, 1900000001LL, &l), MP_PAGELINK_FORGED);
}
END_TEST

START_TEST(test_pagelink_malformed_shapes_are_refused)
{
    static const char *const bad[] = {
        "",
        "v2",
        /* version 1: no issue time, so it could not be revoked */
        "v1.1900000000.-.616c696365." MAC,
        "v3.1899990000000.1900000000.-.616c696365." MAC,
        "v2.01899990000000.1900000000.-.616c696365." MAC,
        "v2.18999900000000.1900000000.-.616c696365." MAC,
        "v2.1899990000000.01900000000.-.616c696365." MAC,
        "v2.1899990000000.-5.-.616c696365." MAC,
        "v2.1899990000000.1900000000..616c696365." MAC,
        "v2.1899990000000.1900000000.-.616C696365." MAC,
        "v2.1899990000000.1900000000.-.616c69636." MAC,
        "v2.1899990000000.1900000000.-.." MAC,
        "v2.1899990000000.1900000000.-.616c696365." MAC ".",
        "v2.1899990000000.1900000000.-.616c696365.89094a9e67930f2f4f06a3456aae2df4f63198f944f3"
        "feb2ab4109fe72be768",
        /* a user id the rules refuse: a control character */
        "v2.1899990000000.1900000000.-.610a." MAC,
        /* a template */
        "v2.1899990000000.1900000000.-.7b7b757365727d7d." MAC,
    };
    struct mp_pagelink l;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(check(bad[i], &l) == MP_PAGELINK_MALFORMED, "case %zu", i);
    ck_assert_int_eq(mp_pagelink_verify(ALICE, strlen(ALICE), "", 0, hmac256, NOW, &l),
                     MP_PAGELINK_MALFORMED);
    ck_assert_int_eq(mp_pagelink_verify(NULL, 0, KEY, 3, hmac256, NOW, &l), MP_PAGELINK_MALFORMED);
}
END_TEST

START_TEST(test_pagelink_mint_refuses_bad_input)
{
    char tok[MP_PAGELINK_MAX + 1];
    size_t n = 0;
    ck_assert_int_eq(
        mp_pagelink_mint(KEY, 3, hmac256, "a\n", 2, NULL, 1, NOW, tok, sizeof(tok), &n), MP_EINVAL);
    ck_assert_int_eq(mp_pagelink_mint(KEY, 3, hmac256, "a", 1, "abc", 1, NOW, tok, sizeof(tok), &n),
                     MP_EINVAL);
    ck_assert_int_eq(mp_pagelink_mint(KEY, 3, hmac256, "a", 1, NULL, 1, 0, tok, sizeof(tok), &n),
                     MP_EINVAL);
    ck_assert_int_eq(mp_pagelink_mint("", 0, hmac256, "a", 1, NULL, 1, NOW, tok, sizeof(tok), &n),
                     MP_EINVAL);
    ck_assert_int_eq(mp_pagelink_mint(KEY, 3, hmac256, "a", 1, NULL, 1, NOW, tok, 20, &n),
                     MP_ETOOBIG);
    /* the longest user id fits MP_PAGELINK_MAX */
    char user[MP_USER_ID_MAX];
    memset(user, 'u', sizeof(user));
    ck_assert_int_eq(mp_pagelink_mint(KEY, 3, hmac256, "a", 1, NULL, 0, NOW, tok, sizeof(tok), &n),
                     MP_EINVAL);
    ck_assert_int_eq(mp_pagelink_mint(KEY, 3, hmac256, user, sizeof(user), TENANT, 9999999999999LL,
                                      9999999999LL, tok, sizeof(tok), &n),
                     MP_OK);
    ck_assert_uint_eq(n, MP_PAGELINK_MAX);
}
END_TEST

START_TEST(test_pagelink_verdict_names)
{
    ck_assert_str_eq(mp_pagelink_verdict_name(MP_PAGELINK_OK), "ok");
    ck_assert_str_eq(mp_pagelink_verdict_name(MP_PAGELINK_FORGED), "forged");
    ck_assert_str_eq(mp_pagelink_verdict_name(MP_PAGELINK_EXPIRED), "expired");
    ck_assert_str_eq(mp_pagelink_verdict_name(MP_PAGELINK_TOO_FAR), "too_far");
    ck_assert_str_eq(mp_pagelink_verdict_name(MP_PAGELINK_MALFORMED), "malformed");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("pagelink");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pagelink_mint_matches_the_documented_recipe);
    tcase_add_test(tc, test_pagelink_verify_names_user_tenant_and_expiry);
    tcase_add_test(tc, test_pagelink_altered_byte_anywhere_is_refused);
    tcase_add_test(tc, test_pagelink_other_user_with_old_mac_is_forged);
    tcase_add_test(tc, test_pagelink_other_key_is_forged);
    tcase_add_test(tc, test_pagelink_expired_and_too_far_are_refused_after_the_mac);
    tcase_add_test(tc, test_pagelink_malformed_shapes_are_refused);
    tcase_add_test(tc, test_pagelink_mint_refuses_bad_input);
    tcase_add_test(tc, test_pagelink_verdict_names);
    suite_add_tcase(s, tc);
    return s;
}
