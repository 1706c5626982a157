/* A preload for the upstream tests (test_upstream_native.py): counts the
 * calls the process makes to poll(2), ppoll(2), select(2) and pselect(2),
 * and keeps the count, as text, in the file named by MPTEST_POLLCOUNT_FILE
 * (written when loaded and after every call), so that a test reads how
 * many polls a number of requests cost while the process runs. The
 * process's own event loop waits in epoll_wait(2), which is not counted. */
#include <dlfcn.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "preload_next.h"

static atomic_ulong calls;
static int out_fd = -1;

static void publish(unsigned long n)
{
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%20lu\n", n);
    if (out_fd >= 0 && len > 0)
        (void)!pwrite(out_fd, buf, (size_t)len, 0);
}

static void counted(void)
{
    publish(atomic_fetch_add(&calls, 1) + 1);
}

__attribute__((constructor)) static void open_count_file(void)
{
    const char *path = getenv("MPTEST_POLLCOUNT_FILE");
    if (path != NULL)
        out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    publish(0);
}

/* glibc's fortified entry points (no public prototype) */
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask,
                size_t fdslen);

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    int (*real)(struct pollfd *, nfds_t, int);
    NEXT("poll", real);
    counted();
    return real(fds, n, timeout);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    int (*real)(struct pollfd *, nfds_t, int, size_t);
    NEXT("__poll_chk", real);
    counted();
    return real(fds, n, timeout, fdslen);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask)
{
    int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
    NEXT("ppoll", real);
    counted();
    return real(fds, n, t, mask);
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t, const sigset_t *mask,
                size_t fdslen)
{
    int (*real)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
    NEXT("__ppoll_chk", real);
    counted();
    return real(fds, n, t, mask, fdslen);
}

int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
    int (*real)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    NEXT("select", real);
    counted();
    return real(nfds, r, w, e, t);
}

int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t,
            const sigset_t *mask)
{
    int (*real)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
    NEXT("pselect", real);
    counted();
    return real(nfds, r, w, e, t, mask);
}
