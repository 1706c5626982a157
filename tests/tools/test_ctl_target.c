/* Tests for tools/ctl/ctl_target.c: the URL of a listener, the token file,
 * and where the URL and token come from (options, configuration file,
 * environment). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_main.h"
#include "ctl/ctl_target.h"
#include "status.h"

Suite *mp_test_suite(void);

static const char *url_of(const char *host, unsigned port)
{
    static char out[128];
    struct mp_addr a;
    snprintf(a.host, sizeof(a.host), "%s", host);
    a.port = (uint16_t)port;
    if (mp_ctl_target_url_of(&a, out, sizeof(out)) != MP_OK)
        return "EINVAL";
    return out;
}

START_TEST(test_ctl_target_url_of_listener)
{
    ck_assert_str_eq(url_of("127.0.0.1", 8081), "http://127.0.0.1:8081");
    ck_assert_str_eq(url_of("0.0.0.0", 8081), "http://127.0.0.1:8081");
    ck_assert_str_eq(url_of("::", 9), "http://[::1]:9");
    ck_assert_str_eq(url_of("::1", 9), "http://[::1]:9");
    ck_assert_str_eq(url_of("fe80::2", 65535), "http://[fe80::2]:65535");
    ck_assert_str_eq(url_of("admin.internal", 80), "http://admin.internal:80");
    ck_assert_str_eq(url_of("127.0.0.1", 0), "EINVAL");
}
END_TEST

/* A temporary file holding text; its path (static). */
static const char *file_with(const char *text, size_t len)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/ctl-target-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static int token_of(const char *text, char *out, char *why)
{
    const char *path = file_with(text, strlen(text));
    int rc = mp_ctl_target_token_file(path, out, MP_CONFIG_TOKEN_MAX, why, 256);
    unlink(path);
    return rc;
}

START_TEST(test_ctl_target_token_file_first_line)
{
    char tok[MP_CONFIG_TOKEN_MAX], why[256];
    ck_assert_int_eq(token_of("s3cret\n", tok, why), MP_OK);
    ck_assert_str_eq(tok, "s3cret");
    ck_assert_int_eq(token_of("s3cret", tok, why), MP_OK);
    ck_assert_str_eq(tok, "s3cret");
    ck_assert_int_eq(token_of("s3cret\r\nsecond line\n", tok, why), MP_OK);
    ck_assert_str_eq(tok, "s3cret");
}
END_TEST

START_TEST(test_ctl_target_token_file_refusals)
{
    char tok[MP_CONFIG_TOKEN_MAX] = "untouched", why[256];
    const char *bad[] = {"",       "\n",           "two words\n", " lead\n", "tab\there\n",
                         "\x7f\n", "caf\xc3\xa9\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(token_of(bad[i], tok, why) == MP_EINVAL, "case %zu", i);
        ck_assert_str_eq(tok, "untouched");
        ck_assert_ptr_nonnull(strstr(why, "printable ASCII"));
    }
    char big[MP_CONFIG_TOKEN_MAX + 8];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(token_of(big, tok, why), MP_EINVAL);
    big[MP_CONFIG_TOKEN_MAX - 1] = '\0'; /* exactly 1024 bytes: the longest token */
    ck_assert_int_eq(token_of(big, tok, why), MP_OK);
    ck_assert_uint_eq(strlen(tok), MP_CONFIG_TOKEN_MAX - 1);
    ck_assert_int_eq(
        mp_ctl_target_token_file("/nonexistent/token", tok, sizeof(tok), why, sizeof(why)), MP_EIO);
    ck_assert_ptr_nonnull(strstr(why, "/nonexistent/token"));
}
END_TEST

START_TEST(test_ctl_target_options_need_no_configuration)
{
    const char *path = file_with("tok-a\n", 6);
    struct mp_ctl_where w = {.admin_url = "HTTP://Admin.Example:9000/",
                             .config_path = "/nonexistent/memproxy.ini",
                             .token_file = path};
    const char *const env[] = {"MEMPROXY_NOT_A_KEY=1", NULL};
    struct mp_ctl_target t;
    ck_assert_int_eq(mp_ctl_target_resolve(&w, env, &t), MP_CTL_OK);
    ck_assert_str_eq(t.url, "http://admin.example:9000");
    ck_assert_str_eq(t.token, "tok-a");
    unlink(path);
}
END_TEST

START_TEST(test_ctl_target_from_the_environment)
{
    struct mp_ctl_where w = {0};
    const char *const env[] = {"MEMPROXY_SERVER_ADMIN_LISTEN=0.0.0.0:9191",
                               "MEMPROXY_ADMIN_TOKEN=tok-b-5d2a9e0c7f1b4836a9c2e7d0b1f4",
                               "HOME=/root", NULL};
    struct mp_ctl_target t;
    ck_assert_int_eq(mp_ctl_target_resolve(&w, env, &t), MP_CTL_OK);
    ck_assert_str_eq(t.url, "http://127.0.0.1:9191");
    ck_assert_str_eq(t.token, "tok-b-5d2a9e0c7f1b4836a9c2e7d0b1f4");
    /* --admin wins over admin_listen; the token still comes from the configuration */
    w.admin_url = "http://127.0.0.1:1";
    ck_assert_int_eq(mp_ctl_target_resolve(&w, env, &t), MP_CTL_OK);
    ck_assert_str_eq(t.url, "http://127.0.0.1:1");
    ck_assert_str_eq(t.token, "tok-b-5d2a9e0c7f1b4836a9c2e7d0b1f4");
}
END_TEST

START_TEST(test_ctl_target_from_a_file_with_the_environment_winning)
{
    const char ini[] =
        "[server]\nadmin_listen = [::]:7001\n[admin]\ntoken = tok-file-3f9c2a7be1d04856af17c3e9\n";
    const char *path = file_with(ini, sizeof(ini) - 1);
    struct mp_ctl_where w = {.config_path = path};
    const char *const none[] = {NULL};
    const char *const env[] = {"MEMPROXY_ADMIN_TOKEN=tok-env-b7e14c0f9a2d6e3851c7f0ab", NULL};
    struct mp_ctl_target t;
    ck_assert_int_eq(mp_ctl_target_resolve(&w, none, &t), MP_CTL_OK);
    ck_assert_str_eq(t.url, "http://[::1]:7001");
    ck_assert_str_eq(t.token, "tok-file-3f9c2a7be1d04856af17c3e9");
    ck_assert_int_eq(mp_ctl_target_resolve(&w, env, &t), MP_CTL_OK);
    ck_assert_str_eq(t.token, "tok-env-b7e14c0f9a2d6e3851c7f0ab");
    unlink(path);
}
END_TEST

START_TEST(test_ctl_target_refusals_are_usage_errors)
{
    struct mp_ctl_target t;
    const char *const none[] = {NULL};
    const char *const port0[] = {"MEMPROXY_SERVER_ADMIN_LISTEN=127.0.0.1:0",
                                 "MEMPROXY_ADMIN_TOKEN=t", NULL};
    const char *const typo[] = {"MEMPROXY_ADMIN_TOKNE=t", NULL};
    struct mp_ctl_where w = {0};
    ck_assert_int_eq(mp_ctl_target_resolve(&w, none, &t), MP_CTL_USAGE); /* no token */
    ck_assert_int_eq(mp_ctl_target_resolve(&w, port0, &t), MP_CTL_USAGE);
    ck_assert_int_eq(mp_ctl_target_resolve(&w, typo, &t), MP_CTL_USAGE);
    w.admin_url = "ftp://x";
    ck_assert_int_eq(mp_ctl_target_resolve(&w, port0, &t), MP_CTL_USAGE);
    w.admin_url = "http://127.0.0.1:1";
    w.token_file = "/nonexistent/token";
    ck_assert_int_eq(mp_ctl_target_resolve(&w, none, &t), MP_CTL_USAGE);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("ctl_target");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ctl_target_url_of_listener);
    tcase_add_test(tc, test_ctl_target_token_file_first_line);
    tcase_add_test(tc, test_ctl_target_token_file_refusals);
    tcase_add_test(tc, test_ctl_target_options_need_no_configuration);
    tcase_add_test(tc, test_ctl_target_from_the_environment);
    tcase_add_test(tc, test_ctl_target_from_a_file_with_the_environment_winning);
    tcase_add_test(tc, test_ctl_target_refusals_are_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}
