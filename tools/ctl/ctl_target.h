/* Where the ops command line reaches the admin API, and with which token
 * (docs/ctl.md, "Where ctl connects"): --admin URL, else [server]
 * admin_listen of the configuration loaded as the server loads it (-c FILE,
 * else defaults, then MEMPROXY_* variables); --token-file FILE, else
 * [admin] token of that configuration. The configuration is read only when
 * one of the two needs it. No new environment variable: memproxy refuses
 * MEMPROXY_* names it does not know, so ctl reads only the server's. */
#ifndef MP_TOOLS_CTL_TARGET_H
#define MP_TOOLS_CTL_TARGET_H

#include <stddef.h>

#include "config/config.h"

/* What the command line said (all borrowed, each may be NULL). */
struct mp_ctl_where {
    const char *admin_url;   /* --admin URL */
    const char *config_path; /* -c FILE */
    const char *token_file;  /* --token-file FILE */
};

struct mp_ctl_target {
    char url[MP_CONFIG_URL_MAX];     /* scheme://host[:port][path], no trailing '/' */
    char token[MP_CONFIG_TOKEN_MAX]; /* a secret: never printed */
};

/* Resolves w with envp (NULL-terminated, borrowed) into *out. Returns
 * MP_CTL_OK, or MP_CTL_USAGE after one or more lines on stderr: a bad URL,
 * configuration errors (as memproxy --check-config prints them), an admin
 * listener on port 0, an unreadable token file, or no token at all. The
 * token is never part of a message. */
int mp_ctl_target_resolve(const struct mp_ctl_where *w, const char *const *envp,
                          struct mp_ctl_target *out);

/* The URL a client on this host uses for a listener bound to addr, into
 * out (cap bytes): "http://host:port", a wildcard host (0.0.0.0, ::) as
 * loopback (127.0.0.1, [::1]), an IPv6 literal in brackets. MP_OK, or
 * MP_EINVAL for port 0 (the kernel's choice: nobody knows it but the
 * server) or when out is too small. */
int mp_ctl_target_url_of(const struct mp_addr *addr, char *out, size_t cap);

/* The token in the first line of path's file (at most MP_CONFIG_TOKEN_MAX -
 * 1 bytes; the line's "\n" or "\r\n" stripped) into out (cap bytes). MP_OK;
 * MP_EIO when the file cannot be read (why says so, with errno's text);
 * MP_EINVAL when the line is empty, too long, or not printable ASCII
 * without blanks (the rule of [admin] token). why (borrowed, whycap bytes)
 * never quotes the file's content. */
int mp_ctl_target_token_file(const char *path, char *out, size_t cap, char *why, size_t whycap);

#endif
