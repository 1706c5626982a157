/* memproxy --probe: a blocking HTTP/1.1 GET of one URL, for HEALTHCHECK and
 * the like. It reads the status line only, so the body's size or framing
 * never matters, and it follows nothing. */
#include "probe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "status.h"

#define HOST_MAX 256
#define HEAD_MAX 1024 /* the status line must end within this many bytes */

struct target {
    char host[HOST_MAX]; /* for getaddrinfo: an IPv6 address without brackets */
    char port[8];
    char authority[HOST_MAX + 8]; /* for the Host header: as the URL wrote it */
    const char *path;             /* borrowed from the URL; "" stands for "/" */
};

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* PORT: 1 to 5 digits, 1..65535. */
static bool parse_port(const char *p, size_t n, char *out)
{
    unsigned v = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    snprintf(out, 8, "%u", v);
    return true;
}

/* HOST[:PORT] or [V6][:PORT], n bytes at a. */
static int parse_authority(const char *a, size_t n, struct target *t, char *err, size_t errcap)
{
    const char *host = a, *colon = NULL;
    size_t hlen;
    if (memchr(a, '@', n) != NULL) {
        snprintf(err, errcap, "bad URL: user info (user@host) is not supported");
        return MP_EINVAL;
    }
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL || (close + 1 < a + n && close[1] != ':')) {
            snprintf(err, errcap, "bad URL: an IPv6 address must be written [ADDRESS]:PORT");
            return MP_EINVAL;
        }
        host = a + 1;
        hlen = (size_t)(close - host);
        colon = close + 1 < a + n ? close + 1 : NULL;
        for (size_t i = 0; i < hlen; i++) {
            if (!host_char(host[i]) && host[i] != ':' && host[i] != '%')
                hlen = 0; /* rejected below */
        }
    } else {
        colon = memchr(a, ':', n);
        hlen = colon != NULL ? (size_t)(colon - a) : n;
        for (size_t i = 0; i < hlen; i++) {
            if (!host_char(host[i]))
                hlen = 0;
        }
    }
    if (hlen == 0 || hlen >= HOST_MAX) {
        snprintf(err, errcap, "bad URL: the host must be a name, an IPv4 address or [IPv6]");
        return MP_EINVAL;
    }
    memcpy(t->host, host, hlen);
    t->host[hlen] = '\0';
    if (colon == NULL) {
        snprintf(t->port, sizeof(t->port), "80");
    } else if (!parse_port(colon + 1, (size_t)(a + n - colon - 1), t->port)) {
        snprintf(err, errcap, "bad URL: the port must be a number from 1 to 65535");
        return MP_EINVAL;
    }
    snprintf(t->authority, sizeof(t->authority), "%.*s", (int)n, a);
    return MP_OK;
}

static int parse_url(const char *url, struct target *t, char *err, size_t errcap)
{
    size_t n = strlen(url);
    if (n > MP_PROBE_MAX_URL) {
        snprintf(err, errcap, "bad URL: longer than %d bytes", MP_PROBE_MAX_URL);
        return MP_EINVAL;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errcap,
                 "bad URL: only http://HOST:PORT/PATH is supported (no https, "
                 "no other scheme)");
        return MP_EINVAL;
    }
    const char *a = url + 7;
    const char *path = strchr(a, '/');
    if (path == NULL)
        path = a + strlen(a);
    for (const char *p = a; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '#') {
            snprintf(err, errcap,
                     "bad URL: blanks, control bytes, non-ASCII and '#' are not "
                     "allowed");
            return MP_EINVAL;
        }
    }
    if (memchr(a, '?', (size_t)(path - a)) != NULL) {
        snprintf(err, errcap, "bad URL: a query must follow a path (http://HOST:PORT/PATH?QUERY)");
        return MP_EINVAL;
    }
    t->path = path;
    return parse_authority(a, (size_t)(path - a), t, err, errcap);
}

/* Waits for events on fd until deadline (CLOCK_MONOTONIC ms). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mp_clock_monotonic_ms();
        if (left <= 0)
            return MP_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return MP_OK;
        if (n < 0 && errno != EINTR)
            return MP_EIO;
    }
}

/* A non-blocking connect to one address; *why set on failure. */
static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out, int *why)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = errno;
        return MP_EIO;
    }
    int rc = MP_OK;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            *why = errno;
            rc = MP_EIO;
            goto out;
        }
        rc = wait_fd(fd, POLLOUT, deadline);
        if (rc == MP_OK &&
            (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0)) {
            *why = soerr != 0 ? soerr : errno;
            rc = MP_EIO;
        }
    }
out:
    if (rc != MP_OK) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return MP_OK;
}

/* Tries every address of the host in turn until one accepts. */
static int connect_target(const struct target *t, int64_t deadline, int *fd, char *err,
                          size_t errcap)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int why = 0;
    int rc = getaddrinfo(t->host, t->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errcap, "cannot resolve %s: %s", t->host, gai_strerror(rc));
        return MP_EIO;
    }
    rc = MP_EIO;
    for (const struct addrinfo *ai = res; ai != NULL && rc != MP_OK && rc != MP_ETIMEDOUT;
         ai = ai->ai_next)
        rc = connect_one(ai, deadline, fd, &why);
    freeaddrinfo(res);
    if (rc == MP_ETIMEDOUT)
        snprintf(err, errcap, "connecting to %s timed out", t->authority);
    else if (rc != MP_OK)
        snprintf(err, errcap, "cannot connect to %s: %s", t->authority, strerror(why));
    return rc;
}

static int send_request(int fd, const struct target *t, int64_t deadline, char *err, size_t errcap)
{
    char req[MP_PROBE_MAX_URL + 2 * HOST_MAX + 128];
    int len = snprintf(req, sizeof(req),
                       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: memproxy-probe\r\n"
                       "Accept: */*\r\nConnection: close\r\n\r\n",
                       t->path[0] != '\0' ? t->path : "/", t->authority);
    size_t off = 0;
    if (len < 0 || (size_t)len >= sizeof(req)) {
        snprintf(err, errcap, "request too long");
        return MP_EINVAL;
    }
    while (off < (size_t)len) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc != MP_OK) {
            snprintf(err, errcap, "sending to %s %s", t->authority,
                     rc == MP_ETIMEDOUT ? "timed out" : "failed");
            return rc;
        }
        ssize_t n = send(fd, req + off, (size_t)len - off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            snprintf(err, errcap, "sending to %s: %s", t->authority, strerror(errno));
            return MP_EIO;
        }
        if (n > 0)
            off += (size_t)n;
    }
    return MP_OK;
}

/* "HTTP/1.x NNN" at the start of line: the status, else 0. */
static int status_of(const char *line)
{
    if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] < '0' || line[7] > '9' || line[8] != ' ')
        return 0;
    const char *s = line + 9;
    for (int i = 0; i < 3; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    if (s[3] != ' ' && s[3] != '\r' && s[3] != '\n')
        return 0;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

static int read_status(int fd, const struct target *t, int64_t deadline, int *code, char *err,
                       size_t errcap)
{
    char buf[HEAD_MAX + 1];
    size_t have = 0;
    while (have < HEAD_MAX && memchr(buf, '\n', have) == NULL) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc != MP_OK) {
            snprintf(err, errcap, "no answer from %s %s", t->authority,
                     rc == MP_ETIMEDOUT ? "in time" : "(poll failed)");
            return rc;
        }
        ssize_t n = recv(fd, buf + have, HEAD_MAX - have, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            snprintf(err, errcap, "%s closed the connection before answering%s%s", t->authority,
                     n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return MP_EIO;
        }
        if (n > 0)
            have += (size_t)n;
    }
    buf[have] = '\0';
    *code = status_of(buf);
    if (*code == 0) {
        snprintf(err, errcap, "%s did not answer with an HTTP/1.x status line", t->authority);
        return MP_EIO;
    }
    return MP_OK;
}

int mp_probe_get(const char *url, int timeout_ms, int *status, char *err, size_t errcap)
{
    struct target t;
    int code = 0;
    int fd = -1;
    int64_t deadline = mp_clock_monotonic_ms() + timeout_ms;
    int rc = parse_url(url, &t, err, errcap);
    if (rc != MP_OK)
        goto out;
    rc = connect_target(&t, deadline, &fd, err, errcap);
    if (rc != MP_OK)
        goto out;
    rc = send_request(fd, &t, deadline, err, errcap);
    if (rc != MP_OK)
        goto out;
    rc = read_status(fd, &t, deadline, &code, err, errcap);
    if (rc == MP_OK && (code < 200 || code > 299)) {
        snprintf(err, errcap, "%s%s answered HTTP %d", t.authority,
                 t.path[0] != '\0' ? t.path : "/", code);
        rc = MP_EUPSTREAM;
    }
out:
    if (fd >= 0)
        close(fd);
    if (status != NULL)
        *status = code;
    return rc;
}

int mp_probe_main(const char *url)
{
    char err[512] = "";
    if (mp_probe_get(url, MP_PROBE_TIMEOUT_MS, NULL, err, sizeof(err)) == MP_OK)
        return 0;
    fprintf(stderr, "memproxy --probe: %s\n", err);
    return 1;
}
