/* memproxy --probe URL: one blocking HTTP/1.1 GET, for container health
 * checks in an image that has no curl. Plain http:// over TCP only: no TLS,
 * no redirects, no proxies; the body is not read. */
#ifndef MP_PROXY_PROBE_H
#define MP_PROXY_PROBE_H

#include <stddef.h>

/* The probe's budget for connecting, sending and reading the status line.
 * Resolving a name is bounded by the resolver's own timeouts, not by this:
 * health checks give an address (127.0.0.1). */
#define MP_PROBE_TIMEOUT_MS 2000

/* The longest URL accepted. */
#define MP_PROBE_MAX_URL 2048

/* GETs url, which must be http://HOST[:PORT][/PATH]: HOST a name, an IPv4
 * address or a bracketed IPv6 one; PORT 1..65535, 80 when absent; PATH
 * printable ASCII without blanks, "/" when absent (a query is part of it);
 * no user info, no fragment, at most MP_PROBE_MAX_URL bytes in all.
 * Returns:
 *   MP_OK         the status is 2xx
 *   MP_EINVAL     url is not of that form (nothing was sent)
 *   MP_EIO        no connection, or no HTTP status line (refused, reset,
 *                 closed, not HTTP, name not resolved)
 *   MP_ETIMEDOUT  timeout_ms passed first
 *   MP_EUPSTREAM  any other status
 * On failure err (borrowed, errcap bytes) says why in one line. *status
 * (status may be NULL) is the HTTP status read, 0 when none was. */
int mp_probe_get(const char *url, int timeout_ms, int *status, char *err, size_t errcap);

/* The --probe command: mp_probe_get with MP_PROBE_TIMEOUT_MS; silent on a
 * 2xx, one line on stderr otherwise. Returns the exit status: 0 on a 2xx,
 * 1 otherwise. */
int mp_probe_main(const char *url);

#endif
