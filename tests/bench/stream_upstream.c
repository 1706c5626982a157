/* stream_upstream: an OpenAI-compatible chat API that only streams, for
 * tests/bench/streams.sh. Every POST /v1/chat/completions (any body) gets a
 * chat.completion.chunk SSE stream; it does not look at the body. GET
 * /_bench/stats answers its counters (connections accepted, streams, ...);
 * any other request gets a 404.
 *
 * One thread, one epoll set, level-triggered. A stream's pauses are kept by
 * a timer wheel of 1 ms slots: each pass of the loop walks the slots that
 * came due since the last pass, so thousands of streams cost one epoll_wait
 * per millisecond at most and one send() per event. Each event carries its
 * send time (MP_STREAMIO_STAMP, CLOCK_MONOTONIC µs) so that the client
 * measures delays without a clock of its own at this end. The schedule is
 * fixed from the stream's start (event k is due at first + (k-1) x interval),
 * so a late pass does not push the later events back. */
#include "streamio.h"

#include "fake_http.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD        (64 * 1024)
#define MAX_REQUEST     (16 * 1024 * 1024) /* head + body */
#define MAX_OUT         (4 * 1024 * 1024)  /* unsent bytes of a client that does not read */
#define READ_CHUNK      16384
#define WHEEL_SLOTS     4096 /* ms; longer pauses go round the wheel */
#define WHEEL_LOOKAHEAD 1000 /* ms of slots searched for the next wake-up */
#define MAX_TOKENS      1000000
#define MAX_PAUSE_MS    600000
#define EPOLL_BATCH     256

#define EVENT_HEAD                                                                                 \
    "data: {\"id\":\"chatcmpl-b\",\"object\":\"chat.completion.chunk\",\"created\":1,"
#define EVENT_TOKEN                                                                                \
    "\"model\":\"m\"," MP_STREAMIO_STAMP "%llu,\"choices\":[{\"index\":0,\"delta\":{\"content\":"  \
    "\"tok\"},\"finish_reason\":null}]}\n\n"
#define EVENT_STOP                                                                                 \
    "\"model\":\"m\"," MP_STREAMIO_STAMP "%llu,\"choices\":[{\"index\":0,\"delta\":{},"            \
    "\"finish_reason\":\"stop\"}]}\n\n"
#define EVENT_DONE "data: [DONE]\n\n"

struct server;

struct sconn {
    struct server *srv;
    int fd;
    struct fake_buf in; /* bytes of the request being read (and any after it) */
    size_t scan_pos;
    bool head_done;
    struct fake_head head;
    struct fake_chunked chunked;
    struct fake_buf out; /* bytes the socket did not take yet, from out_off */
    size_t out_off;
    bool want_write; /* EPOLLOUT is in the interest set */
    bool streaming;
    bool closing; /* close once out has drained */
    bool close_after;
    uint32_t tokens, sent;
    uint32_t interval_ms;
    uint64_t start_ms, due_ms;
    struct sconn *wprev, *wnext;
    size_t wslot; /* the wheel slot it is in, when in_wheel */
    bool in_wheel;
};

/* What a complete request asks for, read before it leaves the buffer. */
struct ask {
    bool chat;  /* POST /v1/chat/completions */
    bool stats; /* GET /_bench/stats */
    bool keep_alive;
    uint32_t tokens, interval_ms, first_ms;
};

struct wheel {
    struct sconn *slot[WHEEL_SLOTS];
    uint64_t cursor; /* the last ms walked */
    size_t count;
};

struct stats {
    uint64_t connections, requests, streams, events, aborted, refused;
};

struct server {
    int ep;
    int lfd;
    bool accept_paused; /* out of descriptors: the listener left the set */
    uint64_t resume_ms;
    struct wheel wheel;
    struct fake_buf scratch; /* decoded chunked request bodies, dropped */
    bool quiet;
    struct stats st;
};

static uint64_t now_ms(void)
{
    return mp_streamio_now_us() / 1000u;
}

/* ---- the timer wheel ---- */

static void wheel_insert(struct wheel *w, struct sconn *c)
{
    /* a due time already walked goes to the next slot, not a round later */
    uint64_t at = c->due_ms > w->cursor ? c->due_ms : w->cursor + 1;
    c->wslot = at % WHEEL_SLOTS;
    struct sconn **head = &w->slot[c->wslot];
    c->wprev = NULL;
    c->wnext = *head;
    if (*head != NULL)
        (*head)->wprev = c;
    *head = c;
    c->in_wheel = true;
    w->count++;
}

static void wheel_remove(struct wheel *w, struct sconn *c)
{
    if (!c->in_wheel)
        return;
    if (c->wprev != NULL)
        c->wprev->wnext = c->wnext;
    else
        w->slot[c->wslot] = c->wnext;
    if (c->wnext != NULL)
        c->wnext->wprev = c->wprev;
    c->in_wheel = false;
    w->count--;
}

/* Milliseconds until the next slot holding a stream (it may be due a round
 * later: the pass then finds nothing), -1 when the wheel is empty. */
static int wheel_timeout(const struct wheel *w, uint64_t now)
{
    if (w->count == 0)
        return -1;
    for (uint64_t t = w->cursor + 1; t <= w->cursor + WHEEL_LOOKAHEAD; t++) {
        if (w->slot[t % WHEEL_SLOTS] != NULL)
            return t > now ? (int)(t - now) : 0;
    }
    return WHEEL_LOOKAHEAD;
}

/* ---- connections ---- */

static void conn_close(struct sconn *c)
{
    struct server *srv = c->srv;
    wheel_remove(&srv->wheel, c);
    if (c->streaming)
        srv->st.aborted++;
    close(c->fd); /* also leaves the epoll set */
    fake_buf_free(&c->in);
    fake_buf_free(&c->out);
    free(c);
}

/* Sends what out holds. 0, or -1 when the connection was closed. */
static int flush_out(struct sconn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            conn_close(c);
            return -1;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        c->out.len = 0;
        c->out_off = 0;
    }
    if (c->closing && c->out.len == 0) {
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
        return -1;
    }
    if (mp_streamio_want_write(c->srv->ep, c->fd, c, &c->want_write, c->out.len > 0) != 0) {
        conn_close(c);
        return -1;
    }
    return 0;
}

/* Queues p[0..n) behind what is unsent and sends. 0, or -1 when closed. */
static int conn_write(struct sconn *c, const char *p, size_t n)
{
    if (c->out.len - c->out_off + n > MAX_OUT) {
        conn_close(c);
        return -1;
    }
    fake_buf_put(&c->out, p, n);
    if (c->out.oom) {
        conn_close(c);
        return -1;
    }
    return flush_out(c);
}

/* Appends one SSE event as an HTTP chunk of its own. */
static void put_chunk(struct fake_buf *b, const char *event, size_t n)
{
    fake_buf_put_hex(b, n);
    fake_buf_put(b, "\r\n", 2);
    fake_buf_put(b, event, n);
    fake_buf_put(b, "\r\n", 2);
}

/* A token event, or the stop event when stop, stamped t_us. */
static void put_event(struct fake_buf *b, bool stop, uint64_t t_us)
{
    char ev[512];
    size_t h = sizeof(EVENT_HEAD) - 1;
    memcpy(ev, EVENT_HEAD, h);
    unsigned long long t = (unsigned long long)t_us;
    int n = stop ? snprintf(ev + h, sizeof(ev) - h, EVENT_STOP, t)
                 : snprintf(ev + h, sizeof(ev) - h, EVENT_TOKEN, t);
    put_chunk(b, ev, h + (size_t)n);
}

static int next_request(struct sconn *c);

/* The stream's next event is due: a token, and after the last one the end
 * (the stop chunk, [DONE] and the last chunk) in the same write. 0, or -1
 * when the connection was closed. */
static int fire(struct sconn *c)
{
    struct server *srv = c->srv;
    struct fake_buf *b = &srv->scratch;
    b->len = 0;
    if (c->sent < c->tokens) {
        put_event(b, false, mp_streamio_now_us());
        c->sent++;
        srv->st.events++;
    }
    bool end = c->sent >= c->tokens;
    if (end) {
        put_event(b, true, mp_streamio_now_us());
        put_chunk(b, EVENT_DONE, sizeof(EVENT_DONE) - 1);
        fake_buf_put(b, "0\r\n\r\n", 5);
        srv->st.events++;
    }
    if (b->oom || conn_write(c, b->p, b->len) != 0)
        return -1;
    if (!end) {
        c->due_ms += c->interval_ms;
        wheel_insert(&srv->wheel, c);
        return 0;
    }
    c->streaming = false;
    srv->st.streams++;
    if (c->close_after) {
        c->closing = true;
        return flush_out(c);
    }
    return next_request(c);
}

static void wheel_run(struct server *srv, uint64_t now)
{
    struct wheel *w = &srv->wheel;
    if (now > w->cursor + WHEEL_SLOTS)
        w->cursor = now - WHEEL_SLOTS; /* one walk round the wheel still sees every slot */
    while (w->cursor < now) {
        w->cursor++;
        struct sconn *list = w->slot[w->cursor % WHEEL_SLOTS];
        w->slot[w->cursor % WHEEL_SLOTS] = NULL;
        while (list != NULL) {
            struct sconn *c = list;
            list = c->wnext;
            c->in_wheel = false;
            w->count--;
            if (c->due_ms <= now)
                fire(c);
            else
                wheel_insert(w, c);
        }
    }
}

/* ---- requests ---- */

static uint32_t header_uint(const struct sconn *c, const char *name, uint32_t def, uint32_t max)
{
    const char *v = NULL;
    size_t n = 0;
    uint64_t x = 0;
    if (!mp_streamio_header(c->in.p, c->head.head_len, name, &v, &n) || !mp_streamio_uint(v, n, &x))
        return def;
    return x > max ? max : (uint32_t)x;
}

/* The request is METHOD PATH (a query allowed). */
static bool target_is(const struct sconn *c, const char *method, const char *path)
{
    const struct fake_span *m = &c->head.method;
    const struct fake_span *t = &c->head.target;
    size_t ml = strlen(method), pl = strlen(path);
    return m->len == ml && memcmp(c->in.p + m->off, method, ml) == 0 && t->len >= pl &&
           memcmp(c->in.p + t->off, path, pl) == 0 && (t->len == pl || c->in.p[t->off + pl] == '?');
}

static void read_ask(const struct sconn *c, struct ask *a)
{
    a->chat = target_is(c, "POST", "/v1/chat/completions");
    a->stats = target_is(c, "GET", "/_bench/stats");
    a->keep_alive = c->head.keep_alive;
    a->tokens = header_uint(c, MP_STREAMIO_H_TOKENS, 10, MAX_TOKENS);
    a->interval_ms = header_uint(c, MP_STREAMIO_H_INTERVAL, 200, MAX_PAUSE_MS);
    a->first_ms = header_uint(c, MP_STREAMIO_H_FIRST, a->interval_ms, MAX_PAUSE_MS);
}

/* Answers with the stream's head and schedules its first event. 0, or -1
 * when the connection was closed. */
static int start_stream(struct sconn *c, const struct ask *a)
{
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\n"
                               "Transfer-Encoding: chunked\r\n";
    struct server *srv = c->srv;
    c->tokens = a->tokens;
    c->interval_ms = a->interval_ms;
    c->close_after = !a->keep_alive;
    c->sent = 0;
    c->streaming = true;
    c->start_ms = now_ms();
    c->due_ms = c->start_ms + a->first_ms;
    srv->st.requests++;
    struct fake_buf *b = &srv->scratch;
    b->len = 0;
    fake_buf_put(b, head, sizeof(head) - 1);
    fake_buf_puts(b, c->close_after ? "Connection: close\r\n\r\n" : "\r\n");
    if (b->oom || conn_write(c, b->p, b->len) != 0)
        return -1;
    if (a->first_ms == 0)
        return fire(c);
    wheel_insert(&srv->wheel, c);
    return 0;
}

/* A short answer with body; the connection closes after it when
 * close_after. 0, or -1 when the connection was closed. */
static int answer_plain(struct sconn *c, const char *status, const char *body, bool close_after)
{
    char msg[1024];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
                     status, strlen(body), close_after ? "Connection: close\r\n" : "", body);
    c->closing = close_after;
    return conn_write(c, msg, (size_t)n);
}

/* The counters since the start, one line: GET /_bench/stats and the exit. */
static void format_stats(const struct stats *st, char *out, size_t cap)
{
    snprintf(out, cap,
             "connections=%llu requests=%llu streams=%llu events=%llu aborted=%llu refused=%llu\n",
             (unsigned long long)st->connections, (unsigned long long)st->requests,
             (unsigned long long)st->streams, (unsigned long long)st->events,
             (unsigned long long)st->aborted, (unsigned long long)st->refused);
}

static int answer_stats(struct sconn *c, bool close_after)
{
    char body[512];
    format_stats(&c->srv->st, body, sizeof(body));
    return answer_plain(c, "200 OK", body, close_after);
}

/* Length of the complete request at the front of in, 0 while incomplete,
 * -1 when malformed or too big. */
static long request_length(struct sconn *c)
{
    struct server *srv = c->srv;
    if (!c->head_done) {
        int r = fake_http_parse_head(c->in.p, c->in.len, &c->scan_pos, MAX_HEAD, &c->head);
        if (r == FAKE_HTTP_AGAIN)
            return 0;
        if (r != FAKE_HTTP_OK)
            return -1;
        c->head_done = true;
        fake_http_chunked_init(&c->chunked, c->head.head_len);
    }
    if (c->head.chunked) {
        srv->scratch.len = 0;
        int r = fake_http_chunked_feed(&c->chunked, c->in.p, c->in.len, &srv->scratch, MAX_REQUEST);
        if (r == FAKE_HTTP_AGAIN)
            return 0;
        return r == FAKE_HTTP_OK ? (long)c->chunked.pos : -1;
    }
    int64_t body = c->head.content_length > 0 ? c->head.content_length : 0;
    if (c->head.head_len + (uint64_t)body > MAX_REQUEST)
        return -1;
    size_t need = c->head.head_len + (size_t)body;
    return c->in.len >= need ? (long)need : 0;
}

/* Drops the request just answered from in. */
static void consume(struct sconn *c, size_t len)
{
    memmove(c->in.p, c->in.p + len, c->in.len - len);
    c->in.len -= len;
    c->scan_pos = 0;
    c->head_done = false;
}

/* Answers the requests in, as long as none is streaming. 0, or -1 when the
 * connection was closed. */
static int next_request(struct sconn *c)
{
    while (!c->streaming && !c->closing && c->in.len > 0) {
        long len = request_length(c);
        if (len < 0)
            return answer_plain(c, "400 Bad Request", "stream_upstream: bad request\n", true);
        if (len == 0)
            return 0;
        struct ask a;
        read_ask(c, &a);
        consume(c, (size_t)len);
        int r = a.chat    ? start_stream(c, &a)
                : a.stats ? answer_stats(c, !a.keep_alive)
                          : answer_plain(c, "404 Not Found",
                                         "stream_upstream: POST /v1/chat/completions only\n",
                                         !a.keep_alive);
        if (r != 0)
            return -1;
    }
    return 0;
}

static void on_conn_event(struct sconn *c, uint32_t events)
{
    if ((events & EPOLLOUT) != 0 && flush_out(c) != 0)
        return;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0)
        return;
    if (c->in.len >= MAX_REQUEST || fake_buf_reserve(&c->in, READ_CHUNK) != 0) {
        conn_close(c);
        return;
    }
    ssize_t n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->in.len += (size_t)n;
    next_request(c);
}

/* ---- the listener and the loop ---- */

static void accept_all(struct server *srv)
{
    for (;;) {
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* level-triggered: leave the set for a while instead of spinning */
                srv->st.refused++;
                epoll_ctl(srv->ep, EPOLL_CTL_DEL, srv->lfd, NULL);
                srv->accept_paused = true;
                srv->resume_ms = now_ms() + 100;
            }
            return;
        }
        struct sconn *c = calloc(1, sizeof(*c));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (c == NULL || mp_streamio_socket_opts(fd, true) != 0 ||
            epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->srv = srv;
        c->fd = fd;
        srv->st.connections++;
    }
}

static void resume_accept(struct server *srv, uint64_t now)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (!srv->accept_paused || now < srv->resume_ms)
        return;
    if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->lfd, &ev) == 0)
        srv->accept_paused = false;
}

static void run(struct server *srv)
{
    struct epoll_event evs[EPOLL_BATCH];
    srv->wheel.cursor = now_ms();
    while (!mp_streamio_stop) {
        int timeout = wheel_timeout(&srv->wheel, now_ms());
        if (srv->accept_paused && (timeout < 0 || timeout > 100))
            timeout = 100;
        int n = epoll_wait(srv->ep, evs, EPOLL_BATCH, timeout);
        if (n < 0 && errno != EINTR) {
            perror("stream_upstream: epoll_wait");
            return;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(srv);
            else
                on_conn_event(evs[i].data.ptr, evs[i].events);
        }
        uint64_t now = now_ms();
        wheel_run(srv, now);
        resume_accept(srv, now);
    }
}

static int listen_on(struct server *srv, const char *host, unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(sa);
    int one = 1;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "stream_upstream: --host must be an IPv4 address: %s\n", host);
        return -1;
    }
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (srv->lfd < 0 || setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(srv->lfd, 65535) != 0 ||
        getsockname(srv->lfd, (struct sockaddr *)&sa, &len) != 0 ||
        epoll_ctl(srv->ep, EPOLL_CTL_ADD, srv->lfd, &ev) != 0) {
        fprintf(stderr, "stream_upstream: cannot listen on %s:%u: %s\n", host, port,
                strerror(errno));
        return -1;
    }
    printf("PORT %u\n", (unsigned)ntohs(sa.sin_port));
    fflush(stdout);
    return 0;
}

static void usage(void)
{
    fputs("usage: stream_upstream [--host IPV4] [--port N] [--quiet]\n"
          "Streams chat.completion.chunk events to POST /v1/chat/completions; request\n"
          "headers X-Bench-Tokens (10), X-Bench-Interval-Ms (200), X-Bench-First-Ms\n"
          "(the interval). GET /_bench/stats: its counters. Prints PORT n once\n"
          "listening; stops on SIGTERM or SIGINT.\n",
          stderr);
}

static int parse_args(int argc, char **argv, const char **host, unsigned *port, bool *quiet)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'h'},
                                         {"port", required_argument, NULL, 'p'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {NULL, 0, NULL, 0}};
    int o;
    uint64_t v = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'h') {
            *host = optarg;
        } else if (o == 'p' && mp_streamio_uint(optarg, strlen(optarg), &v) && v <= 65535) {
            *port = (unsigned)v;
        } else if (o == 'q') {
            *quiet = true;
        } else {
            usage();
            return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    static struct server srv; /* the wheel is large: not on the stack */
    const char *host = "127.0.0.1";
    unsigned port = 0;
    if (parse_args(argc, argv, &host, &port, &srv.quiet) != 0)
        return 2;
    uint64_t nofile = mp_streamio_process_init();
    srv.ep = epoll_create1(EPOLL_CLOEXEC);
    if (srv.ep < 0 || listen_on(&srv, host, port) != 0)
        return 1;
    if (!srv.quiet)
        fprintf(stderr, "stream_upstream: open-file limit %llu\n", (unsigned long long)nofile);
    run(&srv);
    if (!srv.quiet) {
        char line[512];
        format_stats(&srv.st, line, sizeof(line));
        fprintf(stderr, "stream_upstream: %s", line);
    }
    return 0;
}
