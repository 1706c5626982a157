/* streamio: clock, signals and open-file limit, socket options, epoll
 * interest and header lookup for stream_upstream and stream_client. */
#include "streamio.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

uint64_t mp_streamio_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

volatile sig_atomic_t mp_streamio_stop;

static void on_signal(int sig)
{
    (void)sig;
    mp_streamio_stop = 1;
}

uint64_t mp_streamio_process_init(void)
{
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    return (uint64_t)rl.rlim_cur;
}

int mp_streamio_socket_opts(int fd, bool nodelay)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    int one = 1;
    if (nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        return -1;
    return 0;
}

int mp_streamio_want_write(int ep, int fd, void *ptr, bool *has_write, bool want_write)
{
    if (*has_write == want_write)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0u), .data.ptr = ptr};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
        return -1;
    *has_write = want_write;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The value of the line l[0..n) when it is the field name, trimmed. */
static bool field_value(const char *l, size_t n, const char *name, const char **value, size_t *vlen)
{
    size_t nlen = strlen(name);
    if (n <= nlen || l[nlen] != ':' || strncasecmp(l, name, nlen) != 0)
        return false;
    size_t s = nlen + 1;
    while (s < n && is_blank(l[s]))
        s++;
    while (n > s && is_blank(l[n - 1]))
        n--;
    *value = l + s;
    *vlen = n - s;
    return true;
}

bool mp_streamio_header(const char *head, size_t len, const char *name, const char **value,
                        size_t *vlen)
{
    const char *nl = memchr(head, '\n', len);
    while (nl != NULL) {
        const char *l = nl + 1;
        size_t left = len - (size_t)(l - head);
        nl = memchr(l, '\n', left);
        size_t n = nl != NULL ? (size_t)(nl - l) : left;
        if (field_value(l, n, name, value, vlen))
            return true;
    }
    return false;
}

bool mp_streamio_uint(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}
