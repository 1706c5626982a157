/* Where ctl connects and with which token; see ctl_target.h. */
#include "ctl/ctl_target.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config_load.h"
#include "ctl/ctl_main.h"
#include "errtext.h"
#include "status.h"

int mp_ctl_target_url_of(const struct mp_addr *addr, char *out, size_t cap)
{
    const char *host = addr->host;
    bool v6 = strchr(host, ':') != NULL;
    if (strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    if (addr->port == 0)
        return MP_EINVAL;
    int n = snprintf(out, cap, v6 ? "http://[%s]:%u" : "http://%s:%u", host, addr->port);
    return n > 0 && (size_t)n < cap ? MP_OK : MP_EINVAL;
}

int mp_ctl_target_token_file(const char *path, char *out, size_t cap, char *why, size_t whycap)
{
    char buf[MP_CONFIG_TOKEN_MAX + 2];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        mp_errtext_format(why, whycap, "cannot open %s: %s", path, strerror(errno));
        return MP_EIO;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    bool failed = ferror(f) != 0;
    int err = errno;
    fclose(f);
    if (failed) {
        mp_errtext_format(why, whycap, "cannot read %s: %s", path, strerror(err));
        return MP_EIO;
    }
    size_t len = 0;
    while (len < n && buf[len] != '\n')
        len++;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    bool ok = len > 0 && len < cap && len < MP_CONFIG_TOKEN_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = buf[i] > ' ' && buf[i] < 0x7F;
    if (!ok) {
        mp_errtext_format(why, whycap,
                          "%s: the first line must be the token (1 to %d bytes of printable "
                          "ASCII without blanks)",
                          path, MP_CONFIG_TOKEN_MAX - 1);
        return MP_EINVAL;
    }
    memcpy(out, buf, len);
    out[len] = '\0';
    return MP_OK;
}

static int from_config(const struct mp_ctl_where *w, const char *const *envp,
                       struct mp_ctl_target *out)
{
    struct mp_config cfg;
    struct mp_config_errors errs;
    if (mp_config_load(w->config_path, envp, &cfg, &errs) != MP_OK) {
        fprintf(stderr, "memproxy ctl: the configuration is not valid:\n");
        mp_config_print_errors(&errs, stderr);
        return MP_CTL_USAGE;
    }
    if (w->admin_url == NULL &&
        mp_ctl_target_url_of(&cfg.server.admin_listen, out->url, sizeof(out->url)) != MP_OK) {
        fprintf(stderr, "memproxy ctl: [server] admin_listen has port 0 (the kernel picks it): "
                        "give the admin API's address with --admin URL\n");
        return MP_CTL_USAGE;
    }
    if (w->token_file == NULL)
        memcpy(out->token, cfg.admin.token, sizeof(out->token));
    return MP_CTL_OK;
}

int mp_ctl_target_resolve(const struct mp_ctl_where *w, const char *const *envp,
                          struct mp_ctl_target *out)
{
    char why[MP_CONFIG_PATH_MAX + 160];
    struct mp_url url;
    memset(out, 0, sizeof(*out));
    if (w->admin_url != NULL) {
        if (mp_config_parse_url(w->admin_url, &url) != MP_OK) {
            fprintf(stderr, "memproxy ctl: --admin takes a URL such as http://127.0.0.1:8081\n");
            return MP_CTL_USAGE;
        }
        memcpy(out->url, url.text, sizeof(out->url));
    }
    if (w->admin_url == NULL || w->token_file == NULL) {
        int rc = from_config(w, envp, out);
        if (rc != MP_CTL_OK)
            return rc;
    }
    if (w->token_file != NULL &&
        mp_ctl_target_token_file(w->token_file, out->token, sizeof(out->token), why, sizeof(why)) !=
            MP_OK) {
        fprintf(stderr, "memproxy ctl: --token-file: %s\n", why);
        return MP_CTL_USAGE;
    }
    if (out->token[0] == '\0') {
        fprintf(stderr, "memproxy ctl: no admin token: give --token-file FILE, or set [admin] "
                        "token in the configuration (-c FILE) or MEMPROXY_ADMIN_TOKEN\n");
        return MP_CTL_USAGE;
    }
    return MP_CTL_OK;
}
