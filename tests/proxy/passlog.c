/* A preload for the accept tests (test_overload.py): logs, in the order
 * they happen, each connection the process accepts ("accept TID FD PEERPORT"), each
 * return of epoll_wait ("pass TID": a loop pass of thread TID begins), and
 * each read that took bytes from an accepted socket ("read TID FD BYTES"),
 * to the file named by MPTEST_PASSLOG_FILE, so that a test sees in which
 * loop pass a connection's request was read. With MPTEST_PASSLOG_REALLOC_MIN
 * set it also logs each realloc(3) of at least that many bytes ("realloc
 * SIZE"), so that a test sees what capacity a large body's buffer got
 * (test_bodies.py). */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload_next.h"

#define MAX_FD 4096

static atomic_bool accepted[MAX_FD];
static int out_fd = -1;
static size_t realloc_min; /* 0: realloc is not logged */

__attribute__((constructor)) static void open_log(void)
{
    const char *path = getenv("MPTEST_PASSLOG_FILE");
    if (path != NULL)
        out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const char *m = getenv("MPTEST_PASSLOG_REALLOC_MIN");
    realloc_min = m != NULL ? (size_t)strtoull(m, NULL, 10) : 0;
}

static bool is_accepted(int fd)
{
    return fd >= 0 && fd < MAX_FD && atomic_load(&accepted[fd]);
}

/* Appends line[0..len) to the log, errno kept for the wrapped call's caller. */
static void log_line(const char *line, int len)
{
    int saved = errno;
    if (len > 0 && out_fd >= 0)
        (void)!write(out_fd, line, (size_t)len);
    errno = saved;
}

static void log_read(int fd, ssize_t r)
{
    char line[64];
    if (r > 0 && is_accepted(fd))
        log_line(line, snprintf(line, sizeof(line), "read %d %d %zd\n", (int)gettid(), fd, r));
}

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
    static int (*real)(int, __SOCKADDR_ARG, socklen_t *, int);
    if (real == NULL)
        NEXT("accept4", real);
    int r = real(fd, addr, len, flags);
    if (r >= 0 && r < MAX_FD) {
        char line[64];
        struct sockaddr_in peer = {0};
        socklen_t plen = sizeof(peer);
        (void)getpeername(r, (struct sockaddr *)&peer, &plen);
        atomic_store(&accepted[r], true);
        log_line(line, snprintf(line, sizeof(line), "accept %d %d %u\n", (int)gettid(), r,
                                (unsigned)ntohs(peer.sin_port)));
    }
    return r;
}

int close(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        NEXT("close", real);
    if (fd >= 0 && fd < MAX_FD)
        atomic_store(&accepted[fd], false);
    return real(fd);
}

int epoll_wait(int ep, struct epoll_event *ev, int n, int ms)
{
    static int (*real)(int, struct epoll_event *, int, int);
    if (real == NULL)
        NEXT("epoll_wait", real);
    int r = real(ep, ev, n, ms);
    char line[32];
    log_line(line, snprintf(line, sizeof(line), "pass %d\n", (int)gettid()));
    return r;
}

ssize_t read(int fd, void *buf, size_t n)
{
    static ssize_t (*real)(int, void *, size_t);
    if (real == NULL)
        NEXT("read", real);
    ssize_t r = real(fd, buf, n);
    log_read(fd, r);
    return r;
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    static ssize_t (*real)(int, const struct iovec *, int);
    if (real == NULL)
        NEXT("readv", real);
    ssize_t r = real(fd, iov, cnt);
    log_read(fd, r);
    return r;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    static ssize_t (*real)(int, void *, size_t, int);
    if (real == NULL)
        NEXT("recv", real);
    ssize_t r = real(fd, buf, n, flags);
    log_read(fd, r);
    return r;
}

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (real == NULL)
        NEXT("realloc", real);
    if (realloc_min > 0 && n >= realloc_min) {
        char line[48];
        log_line(line, snprintf(line, sizeof(line), "realloc %zu\n", n));
    }
    return real(p, n);
}
