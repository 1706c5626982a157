/* A preload for the upstream and streaming tests: watches the sockets the
 * process connects to the port MPTEST_SENDCOUNT_PORT and appends one line
 * per call that writes to one of them, "CALL BYTES\n" (CALL: write,
 * writev, send, sendto or sendmsg; BYTES: what the call returned), to the
 * file named by MPTEST_SENDCOUNT_FILE, so that a test sees how many writes
 * a request took and what each carried (test_upstream_native.py). Before
 * such a socket connects it gets a send buffer of MPTEST_SENDCOUNT_SNDBUF
 * bytes (when set), so that "the socket allows" a whole request at once
 * whatever the machine's default.
 *
 * With MPTEST_SENDCOUNT_ORDER=1 it also logs, in the order they happen,
 * each read from a watched socket as "upstream-CALL@FD BYTES" and each
 * write to a socket the process accepted (a client's) as "client-CALL@FD
 * BYTES", so that a test sees which comes first (test_streaming.py), and
 * each ioctl(2) on a watched socket as "upstream-ioctl@FD RESULT" (a
 * FIONREAD before a read: test_upstream_native.py). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload_next.h"

#define MAX_FD 4096

static atomic_bool watched[MAX_FD]; /* connected to the port */
static atomic_bool clients[MAX_FD]; /* accepted */
static int out_fd = -1;
static int port = -1;
static int sndbuf;
static bool order;

__attribute__((constructor)) static void open_log(void)
{
    const char *path = getenv("MPTEST_SENDCOUNT_FILE");
    const char *p = getenv("MPTEST_SENDCOUNT_PORT");
    const char *b = getenv("MPTEST_SENDCOUNT_SNDBUF");
    if (path != NULL)
        out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    port = p != NULL ? atoi(p) : -1;
    sndbuf = b != NULL ? atoi(b) : 0;
    const char *o = getenv("MPTEST_SENDCOUNT_ORDER");
    order = o != NULL && strcmp(o, "1") == 0;
}

static bool is_watched(int fd)
{
    return fd >= 0 && fd < MAX_FD && atomic_load(&watched[fd]);
}

static bool is_client(int fd)
{
    return fd >= 0 && fd < MAX_FD && atomic_load(&clients[fd]);
}

/* Appends line[0..len) to the log, errno kept for the wrapped call's caller. */
static void log_line(const char *line, int len)
{
    int saved = errno;
    if (len > 0 && out_fd >= 0)
        (void)!write(out_fd, line, (size_t)len);
    errno = saved;
}

/* Logs a write to a watched socket (in order mode, to a client's too);
 * returns r. */
static ssize_t logged(int fd, const char *call, ssize_t r)
{
    char line[64];
    if (is_watched(fd))
        log_line(line, snprintf(line, sizeof(line), "%s %zd\n", call, r));
    else if (order && is_client(fd))
        log_line(line, snprintf(line, sizeof(line), "client-%s@%d %zd\n", call, fd, r));
    return r;
}

/* In order mode, logs a read from a watched socket; returns r. */
static ssize_t logged_read(int fd, const char *call, ssize_t r)
{
    char line[64];
    if (order && is_watched(fd))
        log_line(line, snprintf(line, sizeof(line), "upstream-%s@%d %zd\n", call, fd, r));
    return r;
}

/* A socket accepted: a client's (when fd is one). */
static int accepted(int fd)
{
    if (fd >= 0 && fd < MAX_FD) {
        atomic_store(&watched[fd], false);
        atomic_store(&clients[fd], true);
    }
    return fd;
}

int accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
    int (*real)(int, __SOCKADDR_ARG, socklen_t *);
    NEXT("accept", real);
    return accepted(real(fd, addr, len));
}

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
    int (*real)(int, __SOCKADDR_ARG, socklen_t *, int);
    NEXT("accept4", real);
    return accepted(real(fd, addr, len, flags));
}

/* glibc declares the address as __CONST_SOCKADDR_ARG (with _GNU_SOURCE,
 * a transparent union of the sockaddr pointers). */
int connect(int fd, __CONST_SOCKADDR_ARG to, socklen_t len)
{
    int (*real)(int, __CONST_SOCKADDR_ARG, socklen_t);
    NEXT("connect", real);
    const struct sockaddr *addr = to.__sockaddr__;
    if (fd >= 0 && fd < MAX_FD) {
        bool ours = false;
        if (addr != NULL && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
            struct sockaddr_in in;
            memcpy(&in, addr, sizeof(in));
            ours = ntohs(in.sin_port) == port;
        }
        if (ours && sndbuf > 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        atomic_store(&watched[fd], ours);
        atomic_store(&clients[fd], false);
    }
    return real(fd, to, len);
}

int close(int fd)
{
    int (*real)(int);
    NEXT("close", real);
    if (fd >= 0 && fd < MAX_FD) {
        atomic_store(&watched[fd], false);
        atomic_store(&clients[fd], false);
    }
    return real(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t (*real)(int, const void *, size_t);
    NEXT("write", real);
    if (fd == out_fd)
        return real(fd, buf, n);
    return logged(fd, "write", real(fd, buf, n));
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    ssize_t (*real)(int, const struct iovec *, int);
    NEXT("writev", real);
    return logged(fd, "writev", real(fd, iov, n));
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    ssize_t (*real)(int, const void *, size_t, int);
    NEXT("send", real);
    return logged(fd, "send", real(fd, buf, n, flags));
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG to,
               socklen_t tolen)
{
    ssize_t (*real)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
    NEXT("sendto", real);
    return logged(fd, "sendto", real(fd, buf, n, flags, to, tolen));
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    ssize_t (*real)(int, const struct msghdr *, int);
    NEXT("sendmsg", real);
    return logged(fd, "sendmsg", real(fd, msg, flags));
}

ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t (*real)(int, void *, size_t);
    NEXT("read", real);
    return logged_read(fd, "read", real(fd, buf, n));
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
    ssize_t (*real)(int, const struct iovec *, int);
    NEXT("readv", real);
    return logged_read(fd, "readv", real(fd, iov, n));
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    ssize_t (*real)(int, void *, size_t, int);
    NEXT("recv", real);
    return logged_read(fd, "recv", real(fd, buf, n, flags));
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG from, socklen_t *fromlen)
{
    ssize_t (*real)(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *);
    NEXT("recvfrom", real);
    return logged_read(fd, "recvfrom", real(fd, buf, n, flags, from, fromlen));
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    ssize_t (*real)(int, struct msghdr *, int);
    NEXT("recvmsg", real);
    return logged_read(fd, "recvmsg", real(fd, msg, flags));
}

/* glibc's prototype: int ioctl(int, unsigned long, ...); every request
 * memproxy makes takes one pointer. */
int ioctl(int fd, unsigned long req, ...)
{
    int (*real)(int, unsigned long, ...);
    char line[64];
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    NEXT("ioctl", real);
    int r = real(fd, req, arg);
    if (order && is_watched(fd))
        log_line(line, snprintf(line, sizeof(line), "upstream-ioctl@%d %d\n", fd, r));
    return r;
}
