/* The page link command (ctl_link.h). The key is the configuration's, read
 * as memproxy reads it; it is never printed. */
#include "ctl/ctl_link.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config_load.h"
#include "ctl/ctl_main.h"
#include "ctl/ctl_target.h"
#include "pagelink.h"
#include "format/sha256.h"
#include "status.h"

#define TTL_DEFAULT (60 * 60) /* an hour: a link is opened right away */

int mp_ctl_link_ttl(const char *text, int64_t max_s, int64_t *out)
{
    size_t n = strlen(text);
    int64_t unit = 1, v = 0;
    if (n > 0 && strchr("smhd", text[n - 1]) != NULL) {
        char u = text[n - 1];
        unit = u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 1;
        n--;
    }
    if (n == 0 || n > 9 || (text[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    v *= unit;
    if (v < 1 || v > max_s)
        return -1;
    *out = v;
    return 0;
}

/* The page's base URL: --url, else [page] listen's address. */
static int base_url(const char *given, const struct mp_config *cfg, char *out, size_t cap)
{
    struct mp_url url;
    if (given != NULL) {
        if (mp_config_parse_url(given, &url) != MP_OK) {
            fprintf(stderr, "memproxy ctl: --url takes a URL such as https://memory.example.com\n");
            return MP_CTL_USAGE;
        }
        snprintf(out, cap, "%s", url.text);
        return MP_CTL_OK;
    }
    if (cfg->page.listen.host[0] == '\0' ||
        mp_ctl_target_url_of(&cfg->page.listen, out, cap) != MP_OK) {
        fprintf(stderr, "memproxy ctl: no [page] listen with a port in the configuration: give "
                        "the page's address with --url URL\n");
        return MP_CTL_USAGE;
    }
    return MP_CTL_OK;
}

static int print_link(const struct mp_ctl_session *s, const char *url, const char *token,
                      const char *user, const char *tenant, int64_t expiry)
{
    char at[32];
    time_t t = (time_t)expiry;
    struct tm tm;
    strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    if (!s->json) {
        printf("%s/#link=%s\n", url, token);
        return MP_CTL_OK;
    }
    char link[MP_CONFIG_URL_MAX + MP_PAGELINK_MAX + 16];
    snprintf(link, sizeof(link), "%s/#link=%s", url, token);
    char lower[MP_PAGELINK_TENANT_LEN + 1] = "";
    for (size_t i = 0; tenant != NULL && i < MP_PAGELINK_TENANT_LEN; i++)
        lower[i] = (char)(tenant[i] >= 'A' && tenant[i] <= 'F' ? tenant[i] - 'A' + 'a' : tenant[i]);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:s}", "link", link, "user", user, "tenant",
                            tenant != NULL ? json_string(lower) : json_null(), "expires_at", at);
    int rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
    json_decref(doc);
    return rc;
}

int mp_ctl_users_link(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {{.name = "--tenant", .takes_value = true},
                                {.name = "--ttl", .takes_value = true},
                                {.name = "--url", .takes_value = true}};
    const char *pos[1];
    size_t npos = 0;
    int64_t ttl = TTL_DEFAULT;
    char url[MP_CONFIG_URL_MAX], token[MP_PAGELINK_MAX + 1];
    size_t tlen = 0;
    struct mp_config cfg;
    struct mp_config_errors errs;
    int rc = mp_ctl_session_args("users link", argc, argv, opts, 3, pos, 1, 1, &npos);
    if (rc != MP_CTL_OK)
        return rc;
    if (opts[1].value != NULL && mp_ctl_link_ttl(opts[1].value, MP_PAGELINK_TTL_MAX, &ttl) != 0) {
        fprintf(stderr, "memproxy ctl: --ttl takes a duration such as 30m, 24h or 7d (at most "
                        "30d)\n");
        return MP_CTL_USAGE;
    }
    if (mp_config_load(s->where.config_path, s->envp, &cfg, &errs) != MP_OK) {
        fprintf(stderr, "memproxy ctl: the configuration is not valid:\n");
        mp_config_print_errors(&errs, stderr);
        return MP_CTL_USAGE;
    }
    rc = base_url(opts[2].value, &cfg, url, sizeof(url));
    const char *key = cfg.page.link_key;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t issued_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    int64_t expiry = (int64_t)now.tv_sec + ttl;
    if (rc == MP_CTL_OK && key[0] == '\0') {
        fprintf(stderr, "memproxy ctl: no [page] link_key in the configuration (or "
                        "MEMPROXY_PAGE_LINK_KEY): links are signed with it\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK &&
        mp_pagelink_mint(key, strlen(key), mp_hmac_sha256, pos[0], strlen(pos[0]), opts[0].value,
                         issued_ms, expiry, token, sizeof(token), &tlen) != MP_OK) {
        fprintf(stderr, "memproxy ctl: the user id or --tenant is not valid (a tenant is 32 hex "
                        "digits)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = print_link(s, url, token, pos[0], opts[0].value, expiry);
    explicit_bzero(&cfg, sizeof(cfg)); /* it holds the secrets */
    return rc;
}
