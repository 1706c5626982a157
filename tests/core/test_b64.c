/* core/b64.c: standard base64, decoded strictly. */
#include <check.h>
#include <string.h>

#include "b64.h"
#include "status.h"

Suite *mp_test_suite(void);

static void decodes(const char *in, const char *want)
{
    unsigned char out[64];
    size_t n = 99;
    ck_assert_msg(mp_b64_decode(in, strlen(in), out, sizeof(out), &n) == MP_OK, "%s refused", in);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(memcmp(out, want, n) == 0);
}

static void refused(const char *in)
{
    unsigned char out[64];
    size_t n = 99;
    ck_assert_msg(mp_b64_decode(in, strlen(in), out, sizeof(out), &n) == MP_EINVAL, "%s accepted",
                  in);
    ck_assert_uint_eq(n, 99);
}

START_TEST(test_b64_decodes_rfc4648_vectors)
{
    decodes("", "");
    decodes("Zg==", "f");
    decodes("Zm8=", "fo");
    decodes("Zm9v", "foo");
    decodes("Zm9vYg==", "foob");
    decodes("Zm9vYmE=", "fooba");
    decodes("Zm9vYmFy", "foobar");
    decodes("SGVsbG8sIOS4lueVjA==", "Hello, \xe4\xb8\x96\xe7\x95\x8c");
    decodes("c2VhcmNoX21lbW9yeQ==", "search_memory");
    decodes("+/+/", "\xfb\xff\xbf");
}
END_TEST

START_TEST(test_b64_refuses_what_is_not_strict)
{
    refused("Zg");        /* no padding */
    refused("Zg=");       /* short padding */
    refused("Zg===");     /* not a group of four */
    refused("Z===");      /* one digit: no byte */
    refused("Zh==");      /* unused bits set: a second spelling of "f" */
    refused("Zm9v YmFy"); /* whitespace */
    refused("Zm9v\nYmFy");
    refused("Zm=v"); /* padding inside */
    refused("Zm9-"); /* the URL alphabet */
    refused("Zm9_");
    refused("====");
}
END_TEST

START_TEST(test_b64_caps_its_output)
{
    unsigned char out[2];
    size_t n = 99;
    ck_assert_int_eq(mp_b64_decode("Zm9v", 4, out, sizeof(out), &n), MP_ETOOBIG);
    ck_assert_int_eq(mp_b64_decode("Zm8=", 4, out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 2);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("b64");
    TCase *tc = tcase_create("b64");
    tcase_add_test(tc, test_b64_decodes_rfc4648_vectors);
    tcase_add_test(tc, test_b64_refuses_what_is_not_strict);
    tcase_add_test(tc, test_b64_caps_its_output);
    suite_add_tcase(s, tc);
    return s;
}
