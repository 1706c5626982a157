/* accept_strategy: a bench-only HTTP/1.1 server answering every request with one
 * fixed 200, to compare two ways of giving new connections to event-loop workers.
 * Not part of memproxy: it parses just enough HTTP to find where requests end.
 *
 * --mode reuseport: every worker binds its own socket to the address with
 * SO_REUSEPORT and accepts from it (as proxy/worker.c does: accept4 in batches
 * of 64 per readable event); the kernel picks the socket by a 4-tuple hash.
 *
 * --mode thread: the main thread owns the one listening socket, accepts in
 * batches of 64 and hands sockets round-robin to workers through a per-worker
 * mailbox (mutex + fd array) and event_active(), which wakes the worker's base
 * (libevent's eventfd notification). One wake-up per batch and worker, not per
 * socket: the acceptor only activates when the mailbox was empty.
 *
 * Requests must not carry a body (wrk sends GET). "Connection: close" in a
 * request makes the response carry it and the connection close after it.
 * On SIGTERM or SIGINT it prints one line per worker to stdout:
 *   WORKER <i> conns=<accepted> reqs=<requests answered>
 * then exits 0. With --port 0 it picks a free port; it always prints
 *   PORT <n>
 * once it is listening. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH 64
#define MAX_WORKERS  64
#define INBUF_CAP    8192 /* a request head longer than this closes the connection */
#define MAILBOX_CAP  4096 /* sockets waiting for one worker; past it they are closed */
#define BODY_LEN     200

struct worker;

struct conn {
    struct worker *w;
    int fd;
    struct event *rev, *wev;
    struct conn *prev, *next; /* the worker's list, so exit can free them all */
    char *out;                /* pending response bytes */
    size_t outlen, outoff, outcap;
    bool close_after;
    size_t inlen;
    char in[INBUF_CAP];
};

struct worker {
    unsigned id;
    pthread_t thread;
    struct event_base *base;
    int listen_fd; /* reuseport mode only, else -1 */
    struct event *listen_ev;
    struct event *mail_ev; /* thread mode: activated by the acceptor */
    pthread_mutex_t mu;
    int mail[MAILBOX_CAP]; /* guarded by mu */
    size_t nmail;          /* guarded by mu */
    struct conn *conns;
    unsigned long nconns, nreqs; /* touched by the worker thread only */
};

struct acceptor {
    int fd;
    struct worker *workers;
    unsigned nworkers, next;
};

static char resp_keep[512], resp_close[512];
static size_t resp_keep_len, resp_close_len;

static void build_responses(void)
{
    char body[BODY_LEN + 1];
    for (int i = 0; i < BODY_LEN; i++)
        body[i] = (char)('a' + i % 26);
    body[BODY_LEN - 1] = '\n';
    body[BODY_LEN] = '\0';
#define RESP_FMT "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
    resp_keep_len = (size_t)snprintf(resp_keep, sizeof(resp_keep), RESP_FMT, BODY_LEN, "", body);
    resp_close_len = (size_t)snprintf(resp_close, sizeof(resp_close), RESP_FMT, BODY_LEN,
                                      "Connection: close\r\n", body);
#undef RESP_FMT
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    free(c->out);
    free(c);
}

/* True when the head [p, p+n) has a Connection header whose value holds "close". */
static bool wants_close(const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((eol != NULL ? eol : end) - p);
        if (len >= 11 && strncasecmp(p, "connection:", 11) == 0) {
            for (size_t i = 11; i + 5 <= len; i++) {
                if (strncasecmp(p + i, "close", 5) == 0)
                    return true;
            }
        }
        p += len + 1;
    }
    return false;
}

static int out_append(struct conn *c, const char *s, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap != 0 ? c->outcap * 2 : 4096;
        while (cap < c->outlen + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL)
            return -1;
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
    return 0;
}

/* Answers every complete request in the input buffer; keeps a partial one. */
static int parse_requests(struct conn *c)
{
    size_t off = 0;
    while (!c->close_after) {
        char *hend = memmem(c->in + off, c->inlen - off, "\r\n\r\n", 4);
        if (hend == NULL)
            break;
        size_t headlen = (size_t)(hend - (c->in + off)) + 4;
        c->close_after = wants_close(c->in + off, headlen);
        int rc = c->close_after ? out_append(c, resp_close, resp_close_len)
                                : out_append(c, resp_keep, resp_keep_len);
        if (rc != 0)
            return -1;
        c->w->nreqs++;
        off += headlen;
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    return c->inlen == INBUF_CAP ? -1 : 0;
}

/* Writes what it can; 1 when output is still pending, 0 when all is out, -1 on error. */
static int flush_out(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        if (n <= 0)
            return -1;
        c->outoff += (size_t)n;
    }
    c->outoff = c->outlen = 0;
    return 0;
}

/* After new output: write it; while some is pending, wait for writability and
 * stop reading, so a client that does not read cannot grow the buffer. */
static void after_output(struct conn *c)
{
    int rc = flush_out(c);
    if (rc < 0 || (rc == 0 && c->close_after)) {
        conn_free(c);
        return;
    }
    if (rc == 1) {
        event_del(c->rev);
        event_add(c->wev, NULL);
    }
}

static void on_conn_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)fd;
    (void)what;
    int rc = flush_out(c);
    if (rc < 0 || (rc == 0 && c->close_after)) {
        conn_free(c);
        return;
    }
    if (rc == 0) {
        event_del(c->wev);
        event_add(c->rev, NULL);
    }
}

static void on_conn_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    (void)what;
    ssize_t n = read(fd, c->in + c->inlen, INBUF_CAP - c->inlen);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_free(c);
        return;
    }
    c->inlen += (size_t)n;
    if (parse_requests(c) != 0) {
        conn_free(c);
        return;
    }
    if (c->outlen > 0)
        after_output(c);
}

/* Takes ownership of fd (closed on failure). */
static void conn_start(struct worker *w, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_conn_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_conn_write, c);
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    if (c->rev == NULL || c->wev == NULL) {
        conn_free(c);
        return;
    }
    w->nconns++;
    event_add(c->rev, NULL);
}

static void on_worker_accept(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)what;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        conn_start(w, cfd);
    }
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    int fds[MAILBOX_CAP];
    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->mu);
    size_t n = w->nmail;
    memcpy(fds, w->mail, n * sizeof(fds[0]));
    w->nmail = 0;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++)
        conn_start(w, fds[i]);
}

/* Thread mode: accept a batch, push round-robin, wake each worker whose
 * mailbox went from empty to non-empty. */
static void on_acceptor_accept(evutil_socket_t fd, short what, void *arg)
{
    struct acceptor *a = arg;
    (void)what;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        struct worker *w = &a->workers[a->next];
        a->next = (a->next + 1) % a->nworkers;
        pthread_mutex_lock(&w->mu);
        bool wake = w->nmail == 0, full = w->nmail == MAILBOX_CAP;
        if (!full)
            w->mail[w->nmail++] = cfd;
        pthread_mutex_unlock(&w->mu);
        if (full)
            close(cfd);
        else if (wake)
            event_active(w->mail_ev, EV_READ, 0);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Binds and listens on 127.0.0.1:*port; with *port 0 stores the chosen port. */
static int listen_on(int *port, bool reuseport)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4096) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("listen");
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static void usage(void)
{
    fprintf(stderr, "usage: accept_strategy --mode reuseport|thread --workers N --port P\n");
    exit(2);
}

struct options {
    bool reuseport;
    unsigned nworkers;
    int port;
};

static struct options parse_args(int argc, char **argv)
{
    struct options o = {.reuseport = true, .nworkers = 2, .port = 0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mode") == 0 && strcmp(argv[i + 1], "reuseport") == 0)
            o.reuseport = true;
        else if (strcmp(argv[i], "--mode") == 0 && strcmp(argv[i + 1], "thread") == 0)
            o.reuseport = false;
        else if (strcmp(argv[i], "--workers") == 0)
            o.nworkers = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--port") == 0)
            o.port = atoi(argv[i + 1]);
        else
            usage();
    }
    if (argc % 2 != 1 || o.nworkers == 0 || o.nworkers > MAX_WORKERS || o.port < 0 ||
        o.port > 65535)
        usage();
    return o;
}

static int worker_init(struct worker *w, unsigned id, const struct options *o, int *port)
{
    w->id = id;
    w->base = event_base_new();
    if (w->base == NULL)
        return -1;
    if (!o->reuseport) {
        w->mail_ev = event_new(w->base, -1, 0, on_mail, w);
        return w->mail_ev != NULL ? 0 : -1;
    }
    w->listen_fd = listen_on(port, true);
    if (w->listen_fd < 0)
        return -1;
    w->listen_ev = event_new(w->base, w->listen_fd, EV_READ | EV_PERSIST, on_worker_accept, w);
    if (w->listen_ev == NULL)
        return -1;
    return event_add(w->listen_ev, NULL);
}

static void worker_cleanup(struct worker *w)
{
    while (w->conns != NULL)
        conn_free(w->conns);
    for (size_t i = 0; i < w->nmail; i++)
        close(w->mail[i]);
    if (w->listen_ev != NULL)
        event_free(w->listen_ev);
    if (w->mail_ev != NULL)
        event_free(w->mail_ev);
    if (w->listen_fd >= 0)
        close(w->listen_fd);
    if (w->base != NULL)
        event_base_free(w->base);
    pthread_mutex_destroy(&w->mu);
}

int main(int argc, char **argv)
{
    struct options o = parse_args(argc, argv);
    struct worker *workers = calloc(o.nworkers, sizeof(*workers));
    struct acceptor acc = {.fd = -1, .workers = workers, .nworkers = o.nworkers};
    struct event *sigterm = NULL, *sigint = NULL, *acc_ev = NULL;
    struct event_base *main_base = NULL;
    unsigned started = 0;
    int port = o.port, rc = 1;

    build_responses();
    if (workers == NULL || evthread_use_pthreads() != 0)
        goto out;
    for (unsigned i = 0; i < o.nworkers; i++) {
        workers[i].listen_fd = -1;
        pthread_mutex_init(&workers[i].mu, NULL);
    }
    main_base = event_base_new();
    if (main_base == NULL)
        goto out;
    for (unsigned i = 0; i < o.nworkers; i++) {
        if (worker_init(&workers[i], i, &o, &port) != 0)
            goto out;
    }
    if (!o.reuseport) {
        acc.fd = listen_on(&port, false);
        acc_ev = acc.fd >= 0
                     ? event_new(main_base, acc.fd, EV_READ | EV_PERSIST, on_acceptor_accept, &acc)
                     : NULL;
        if (acc_ev == NULL || event_add(acc_ev, NULL) != 0)
            goto out;
    }
    sigterm = evsignal_new(main_base, SIGTERM, on_signal, main_base);
    sigint = evsignal_new(main_base, SIGINT, on_signal, main_base);
    if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
        event_add(sigint, NULL) != 0)
        goto out;
    for (; started < o.nworkers; started++) {
        if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]) != 0)
            goto out;
    }
    printf("PORT %d\n", port);
    fflush(stdout);
    event_base_loop(main_base, EVLOOP_NO_EXIT_ON_EMPTY);
    rc = 0;
out:
    for (unsigned i = 0; i < started; i++) {
        event_base_loopbreak(workers[i].base);
        pthread_join(workers[i].thread, NULL);
    }
    for (unsigned i = 0; rc == 0 && i < o.nworkers; i++)
        printf("WORKER %u conns=%lu reqs=%lu\n", i, workers[i].nconns, workers[i].nreqs);
    if (acc_ev != NULL)
        event_free(acc_ev);
    if (acc.fd >= 0)
        close(acc.fd);
    for (unsigned i = 0; workers != NULL && i < o.nworkers; i++)
        worker_cleanup(&workers[i]);
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    if (main_base != NULL)
        event_base_free(main_base);
    free(workers);
    if (rc != 0)
        fprintf(stderr, "accept_strategy: setup failed\n");
    return rc;
}
