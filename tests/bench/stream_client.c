/* stream_client: the streams benchmark's load client (tests/bench/streams.sh).
 * It holds C connections to one target, each with one streaming chat request
 * at a time, reads the SSE answers and measures, per token event, arrival
 * time minus the send time the upstream stamped in it (MP_STREAMIO_STAMP),
 * then prints one STREAMS line. It checks counts, not JSON.
 *
 * One thread, one epoll set, level-triggered. Starts are spread over --ramp
 * ms (connection i starts at i x ramp / C); a connection that failed tries
 * again 100 ms later, so a dead target costs no busy loop. A stream done
 * before the stop time (--duration) or the per-connection count
 * (--streams-per-conn) is followed by the next request on the same
 * connection (a new one when the answer was not keep-alive). A hard
 * deadline ends the run whatever the target does: the streams still open
 * count as stalled. Latencies go to log-linear histograms (0.8%
 * resolution), so a long run keeps no samples. */
#include "streamio.h"

#include "fake_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD     (64 * 1024)
#define MAX_IN       (4 * 1024 * 1024)
#define SSE_CAP      (1024 * 1024) /* one event, undelivered */
#define READ_CHUNK   16384
#define RETRY_US     100000
#define RSS_EVERY_US 100000
#define MAX_RSS_PIDS 16
#define EPOLL_BATCH  256
#define HIST_SUB     128 /* buckets per power of two */
#define HIST_BUCKETS (HIST_SUB * 58)

enum cstate { C_WAIT, C_CONNECTING, C_SEND, C_HEAD, C_BODY, C_OFF };
enum framing { F_CHUNKED, F_LENGTH, F_CLOSE };
enum err { E_CONNECT, E_STATUS, E_READ, E_PROTO, E_SHORT, E_COUNT };

struct hist {
    uint64_t n;
    uint64_t max;
    uint64_t b[HIST_BUCKETS];
};

struct opts {
    struct sockaddr_in addr;
    const char *target;
    const char *path;
    const char *user;
    unsigned conns;
    uint64_t duration_us; /* 0: --streams-per-conn */
    unsigned per_conn;
    unsigned tokens;
    unsigned interval_ms;
    long first_ms; /* -1: the interval */
    unsigned ramp_ms;
    uint64_t deadline_us;
    int rss_pids[MAX_RSS_PIDS];
    unsigned nrss;
};

struct client;

struct cconn {
    struct client *cl;
    unsigned idx;
    int fd;
    enum cstate state;
    bool want_write;
    bool in_flight; /* a request was sent and its answer is not complete */
    struct fake_buf req;
    size_t req_off;
    struct fake_buf in;
    struct fake_buf sse; /* decoded body not yet split into events */
    struct fake_chunked ch;
    enum framing framing;
    uint64_t remaining; /* F_LENGTH */
    bool keep_alive;
    uint64_t t_connect, t_sent, t_last;
    unsigned events;
    bool done_seen;
    unsigned streams; /* requests started */
};

struct client {
    struct opts o;
    int ep;
    struct cconn *conns;
    uint64_t t0, stop_at, deadline;
    unsigned started; /* connections the ramp has started */
    unsigned *retry;  /* ring of connections waiting to start again, in time order */
    uint64_t *retry_at;
    unsigned rhead, rcount;
    unsigned active; /* connections not yet C_OFF */
    unsigned open;   /* requests in flight */
    unsigned open_max;
    uint64_t streams_ok, events;
    uint64_t errors[E_COUNT];
    char first_error[256];
    struct hist ttft, ttft_added, gap, gap_added, connect;
    uint64_t next_rss, rss_kb, rss_max_kb;
    unsigned rss_open;
};

/* ---- histograms ---- */

static size_t hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (size_t)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v) - 7u; /* v >> e is in [128, 256) */
    return (size_t)e * HIST_SUB + (size_t)(v >> e);
}

static uint64_t hist_value(size_t i)
{
    if (i < 2 * HIST_SUB)
        return i;
    unsigned e = (unsigned)(i / HIST_SUB) - 1u;
    uint64_t m = i % HIST_SUB + HIST_SUB;
    return (m << e) + ((1ull << e) >> 1); /* the bucket's middle */
}

static void hist_add(struct hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->n++;
    if (v > h->max)
        h->max = v;
}

static uint64_t hist_pct(const struct hist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
    rank = rank < 1 ? 1 : rank;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank)
            return hist_value(i) < h->max ? hist_value(i) : h->max;
    }
    return h->max;
}

/* ---- errors and connection life ---- */

/* Counts an error of kind; the run's first is kept as "what: detail"
 * (detail[0..n), or nothing when NULL) for the report. */
static void note_error(struct client *cl, enum err kind, const char *what, const char *detail,
                       size_t n)
{
    cl->errors[kind]++;
    if (cl->first_error[0] != '\0')
        return;
    if (detail == NULL)
        snprintf(cl->first_error, sizeof(cl->first_error), "%s", what);
    else
        snprintf(cl->first_error, sizeof(cl->first_error), "%s: %.*s", what, (int)n, detail);
}

static void note_errno(struct client *cl, enum err kind, const char *what, int err)
{
    const char *why = strerror(err);
    note_error(cl, kind, what, why, strlen(why));
}

static bool may_continue(const struct cconn *c, uint64_t now)
{
    const struct client *cl = c->cl;
    if (mp_streamio_stop)
        return false;
    if (cl->o.duration_us > 0)
        return now < cl->stop_at;
    return c->streams < cl->o.per_conn;
}

static void drop_socket(struct cconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->want_write = false;
    if (c->in_flight)
        c->cl->open--;
    c->in_flight = false;
}

static void retire(struct cconn *c)
{
    drop_socket(c);
    c->state = C_OFF;
    c->cl->active--;
}

/* The connection failed: count it, and start again in RETRY_US if the run
 * goes on. */
static void fail(struct cconn *c, uint64_t now)
{
    struct client *cl = c->cl;
    drop_socket(c);
    if (!may_continue(c, now)) {
        retire(c);
        return;
    }
    unsigned slot = (cl->rhead + cl->rcount) % cl->o.conns;
    cl->retry[slot] = c->idx;
    cl->retry_at[slot] = now + RETRY_US;
    cl->rcount++;
    c->state = C_WAIT;
}

/* Writes what is left of the request. */
static void send_more(struct cconn *c, uint64_t now)
{
    while (c->req_off < c->req.len) {
        ssize_t n = send(c->fd, c->req.p + c->req_off, c->req.len - c->req_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            note_errno(c->cl, E_READ, "send", errno);
            fail(c, now);
            return;
        }
        c->req_off += (size_t)n;
    }
    if (c->req_off == c->req.len)
        c->state = C_HEAD;
    if (mp_streamio_want_write(c->cl->ep, c->fd, c, &c->want_write, c->state == C_SEND) != 0)
        fail(c, now);
}

static void send_request(struct cconn *c, uint64_t now)
{
    struct client *cl = c->cl;
    c->streams++;
    c->in_flight = true;
    cl->open++;
    cl->open_max = cl->open > cl->open_max ? cl->open : cl->open_max;
    c->in.len = 0;
    c->sse.len = 0;
    c->events = 0;
    c->done_seen = false;
    c->req_off = 0;
    c->t_sent = now;
    c->state = C_SEND;
    send_more(c, now);
}

static void start_conn(struct cconn *c, uint64_t now)
{
    struct client *cl = c->cl;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->t_connect = now;
    if (c->fd < 0 || mp_streamio_socket_opts(c->fd, true) != 0 ||
        epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        note_errno(cl, E_CONNECT, "socket", errno);
        fail(c, now);
        return;
    }
    c->want_write = true;
    c->state = C_CONNECTING;
    if (connect(c->fd, (const struct sockaddr *)&cl->o.addr, sizeof(cl->o.addr)) != 0 &&
        errno != EINPROGRESS) {
        note_errno(cl, E_CONNECT, "connect", errno);
        fail(c, now);
    }
}

static void on_connected(struct cconn *c, uint64_t now)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        note_errno(c->cl, E_CONNECT, "connect", err != 0 ? err : errno);
        fail(c, now);
        return;
    }
    hist_add(&c->cl->connect, now - c->t_connect);
    send_request(c, now);
}

/* ---- the answer ---- */

/* One SSE event (without its blank line) arrived at now. */
static void on_event(struct cconn *c, const char *ev, size_t n, uint64_t now)
{
    struct client *cl = c->cl;
    static const char done[] = "data: [DONE]";
    if (n >= sizeof(done) - 1 && memcmp(ev, done, sizeof(done) - 1) == 0) {
        c->done_seen = true;
        return;
    }
    const char *s = memmem(ev, n, MP_STREAMIO_STAMP, sizeof(MP_STREAMIO_STAMP) - 1);
    if (s == NULL)
        return; /* a comment or an event of someone else's */
    s += sizeof(MP_STREAMIO_STAMP) - 1;
    size_t k = 0;
    while (s + k < ev + n && s[k] >= '0' && s[k] <= '9')
        k++;
    uint64_t t = 0;
    if (!mp_streamio_uint(s, k, &t)) {
        note_error(cl, E_PROTO, "bad stamp", ev, n < 200 ? n : 200);
        return;
    }
    uint64_t added = now > t ? now - t : 0;
    c->events++;
    cl->events++;
    if (c->events == 1) {
        hist_add(&cl->ttft, now - c->t_sent);
        hist_add(&cl->ttft_added, added);
    } else {
        hist_add(&cl->gap, now - c->t_last);
        hist_add(&cl->gap_added, added);
    }
    c->t_last = now;
}

/* Where the event at p[0..n) ends (a blank line, LF or CRLF): its length
 * and the offset after the blank line. False while incomplete. */
static bool event_end(const char *p, size_t n, size_t *len, size_t *after)
{
    const char *nl = memchr(p, '\n', n);
    while (nl != NULL) {
        size_t i = (size_t)(nl - p) + 1;
        if (i < n && p[i] == '\n') {
            *len = i;
            *after = i + 1;
            return true;
        }
        if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n') {
            *len = i;
            *after = i + 2;
            return true;
        }
        nl = memchr(p + i, '\n', n - i);
    }
    return false;
}

static void split_events(struct cconn *c, uint64_t now)
{
    size_t pos = 0, len = 0, after = 0;
    while (event_end(c->sse.p + pos, c->sse.len - pos, &len, &after)) {
        on_event(c, c->sse.p + pos, len, now);
        pos += after;
    }
    memmove(c->sse.p, c->sse.p + pos, c->sse.len - pos);
    c->sse.len -= pos;
}

static void drop_in(struct cconn *c, size_t n)
{
    memmove(c->in.p, c->in.p + n, c->in.len - n);
    c->in.len -= n;
}

/* The answer is complete: account the stream and go on. */
static void stream_done(struct cconn *c, uint64_t now)
{
    struct client *cl = c->cl;
    if (c->done_seen && c->events == cl->o.tokens + 1) {
        cl->streams_ok++;
    } else {
        char why[96];
        int n = snprintf(why, sizeof(why), "%u events (want %u), [DONE] %s", c->events,
                         cl->o.tokens + 1, c->done_seen ? "seen" : "missing");
        note_error(cl, E_SHORT, "short stream", why, (size_t)n);
    }
    c->in_flight = false;
    cl->open--;
    if (!may_continue(c, now)) {
        retire(c);
    } else if (c->keep_alive) {
        send_request(c, now);
    } else {
        drop_socket(c);
        start_conn(c, now);
    }
}

/* Moves body bytes from in to sse. 1 when the body is complete, 0 when
 * more is to come, -1 on a framing error (counted, connection failed). */
static int take_body(struct cconn *c, uint64_t now)
{
    if (c->framing == F_CHUNKED) {
        int r = fake_http_chunked_feed(&c->ch, c->in.p, c->in.len, &c->sse, SSE_CAP);
        drop_in(c, c->ch.pos);
        c->ch.pos = 0;
        if (r == FAKE_HTTP_OK || r == FAKE_HTTP_AGAIN)
            return r == FAKE_HTTP_OK;
        note_error(c->cl, E_PROTO, "bad chunked body", NULL, 0);
        fail(c, now);
        return -1;
    }
    size_t take = c->in.len;
    if (c->framing == F_LENGTH && take > c->remaining)
        take = (size_t)c->remaining;
    fake_buf_put(&c->sse, c->in.p, take);
    drop_in(c, take);
    c->remaining -= c->framing == F_LENGTH ? take : 0;
    if (c->sse.oom || c->sse.len > SSE_CAP) {
        note_error(c->cl, E_PROTO, "event over the cap", NULL, 0);
        fail(c, now);
        return -1;
    }
    return c->framing == F_LENGTH && c->remaining == 0;
}

/* Parses the status line and the framing. 1 when done, 0 while
 * incomplete, -1 when the connection failed. */
static int take_head(struct cconn *c, uint64_t now)
{
    const char *end = memmem(c->in.p, c->in.len, "\r\n\r\n", 4);
    if (end == NULL) {
        if (c->in.len <= MAX_HEAD)
            return 0;
        note_error(c->cl, E_PROTO, "answer head over 64 KB", NULL, 0);
        fail(c, now);
        return -1;
    }
    size_t hlen = (size_t)(end - c->in.p) + 4;
    const char *p = c->in.p;
    if (hlen < 13 || memcmp(p, "HTTP/1.", 7) != 0 || memcmp(p + 8, " 200", 4) != 0) {
        const char *nl = memchr(p, '\r', hlen);
        note_error(c->cl, E_STATUS, "status", p, (size_t)(nl - p));
        fail(c, now);
        return -1;
    }
    const char *v = NULL;
    size_t n = 0;
    c->keep_alive = p[7] == '1' && !(mp_streamio_header(p, hlen, "connection", &v, &n) &&
                                     memmem(v, n, "close", 5) != NULL);
    c->framing = F_CLOSE;
    if (mp_streamio_header(p, hlen, "transfer-encoding", &v, &n) && memmem(v, n, "chunked", 7)) {
        c->framing = F_CHUNKED;
    } else if (mp_streamio_header(p, hlen, "content-length", &v, &n) &&
               mp_streamio_uint(v, n, &c->remaining)) {
        c->framing = F_LENGTH;
    }
    c->keep_alive = c->keep_alive && c->framing != F_CLOSE;
    fake_http_chunked_init(&c->ch, 0);
    drop_in(c, hlen);
    c->state = C_BODY;
    return 1;
}

static void on_bytes(struct cconn *c, uint64_t now)
{
    if (c->state == C_HEAD && take_head(c, now) <= 0)
        return;
    if (c->state != C_BODY)
        return;
    int r = take_body(c, now);
    if (r < 0)
        return;
    split_events(c, now);
    if (r == 1)
        stream_done(c, now);
}

static void on_readable(struct cconn *c, uint64_t now)
{
    if (c->in.len >= MAX_IN || fake_buf_reserve(&c->in, READ_CHUNK) != 0) {
        note_error(c->cl, E_PROTO, "input over the cap", NULL, 0);
        fail(c, now);
        return;
    }
    ssize_t n = recv(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0) {
        c->in.len += (size_t)n;
        on_bytes(c, now);
        return;
    }
    if (n == 0 && c->state == C_BODY && c->framing == F_CLOSE) {
        split_events(c, now);
        c->keep_alive = false;
        stream_done(c, now);
        return;
    }
    if (n == 0)
        note_error(c->cl, E_READ, "read: closed by the target", NULL, 0);
    else
        note_errno(c->cl, E_READ, "read", errno);
    fail(c, now);
}

static void on_conn_event(struct cconn *c, uint32_t events)
{
    uint64_t now = mp_streamio_now_us();
    if (c->state == C_CONNECTING) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0)
            on_connected(c, now);
        return;
    }
    if (c->state == C_SEND && (events & EPOLLOUT) != 0)
        send_more(c, now);
    if (c->fd >= 0 && c->state != C_SEND && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0)
        on_readable(c, now);
}

/* ---- the target's memory ---- */

static uint64_t rss_kb_of(int pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *v = strstr(buf, "\nVmRSS:");
    return v != NULL ? strtoull(v + 7, NULL, 10) : 0;
}

/* Every RSS_EVERY_US: the --rss-pid processes' RSS. The report keeps the
 * sample taken with the most streams open (the largest of those). */
static void sample_rss(struct client *cl, uint64_t now)
{
    if (cl->o.nrss == 0 || now < cl->next_rss)
        return;
    cl->next_rss = now + RSS_EVERY_US;
    uint64_t kb = 0;
    for (unsigned i = 0; i < cl->o.nrss; i++)
        kb += rss_kb_of(cl->o.rss_pids[i]);
    cl->rss_max_kb = kb > cl->rss_max_kb ? kb : cl->rss_max_kb;
    if (cl->open > cl->rss_open || (cl->open == cl->rss_open && kb > cl->rss_kb)) {
        cl->rss_open = cl->open;
        cl->rss_kb = kb;
    }
}

/* ---- the loop ---- */

static uint64_t ramp_at(const struct client *cl, unsigned i)
{
    return cl->t0 + (uint64_t)cl->o.ramp_ms * 1000u * i / cl->o.conns;
}

/* Starts the connections whose ramp time or retry time has come. */
static void start_due(struct client *cl, uint64_t now)
{
    while (cl->started < cl->o.conns && ramp_at(cl, cl->started) <= now) {
        struct cconn *c = &cl->conns[cl->started++];
        if (may_continue(c, now))
            start_conn(c, now);
        else
            retire(c);
    }
    while (cl->rcount > 0 && cl->retry_at[cl->rhead] <= now) {
        struct cconn *c = &cl->conns[cl->retry[cl->rhead]];
        cl->rhead = (cl->rhead + 1) % cl->o.conns;
        cl->rcount--;
        if (may_continue(c, now))
            start_conn(c, now);
        else
            retire(c);
    }
}

static int next_timeout(const struct client *cl, uint64_t now)
{
    uint64_t next = cl->deadline;
    if (cl->started < cl->o.conns && ramp_at(cl, cl->started) < next)
        next = ramp_at(cl, cl->started);
    if (cl->rcount > 0 && cl->retry_at[cl->rhead] < next)
        next = cl->retry_at[cl->rhead];
    if (cl->o.nrss > 0 && cl->next_rss < next)
        next = cl->next_rss;
    return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

static void run(struct client *cl)
{
    struct epoll_event evs[EPOLL_BATCH];
    while (cl->active > 0 && !mp_streamio_stop) {
        uint64_t now = mp_streamio_now_us();
        if (now >= cl->deadline)
            break;
        start_due(cl, now);
        sample_rss(cl, now);
        int n = epoll_wait(cl->ep, evs, EPOLL_BATCH, next_timeout(cl, now));
        if (n < 0 && errno != EINTR) {
            perror("stream_client: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++)
            on_conn_event(evs[i].data.ptr, evs[i].events);
    }
}

/* ---- set-up and the report ---- */

static int build_request(struct cconn *c, const struct opts *o)
{
    static const char body[] = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                               "\"content\":\"Tell me a story.\"}]}";
    struct fake_buf *b = &c->req;
    fake_buf_puts(b, "POST ");
    fake_buf_puts(b, o->path);
    fake_buf_puts(b, " HTTP/1.1\r\nHost: ");
    fake_buf_puts(b, o->target);
    fake_buf_puts(b, "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n"
                     "Authorization: Bearer sk-bench\r\nX-Bench-Tokens: ");
    fake_buf_put_u64(b, o->tokens);
    fake_buf_puts(b, "\r\nX-Bench-Interval-Ms: ");
    fake_buf_put_u64(b, o->interval_ms);
    if (o->first_ms >= 0) {
        fake_buf_puts(b, "\r\nX-Bench-First-Ms: ");
        fake_buf_put_u64(b, (uint64_t)o->first_ms);
    }
    if (o->user != NULL) {
        fake_buf_puts(b, "\r\nX-User-Id: ");
        fake_buf_puts(b, o->user);
        fake_buf_puts(b, "-");
        fake_buf_put_u64(b, c->idx);
    }
    fake_buf_puts(b, "\r\nContent-Length: ");
    fake_buf_put_u64(b, sizeof(body) - 1);
    fake_buf_puts(b, "\r\n\r\n");
    fake_buf_put(b, body, sizeof(body) - 1);
    return b->oom ? -1 : 0;
}

static int client_init(struct client *cl)
{
    const struct opts *o = &cl->o;
    uint64_t first_ms = o->first_ms >= 0 ? (uint64_t)o->first_ms : o->interval_ms;
    uint64_t stream_us = (first_ms + (uint64_t)o->tokens * o->interval_ms) * 1000u;
    uint64_t span = o->duration_us > 0 ? o->duration_us : o->per_conn * stream_us;
    cl->ep = epoll_create1(EPOLL_CLOEXEC);
    cl->conns = calloc(o->conns, sizeof(*cl->conns));
    cl->retry = calloc(o->conns, sizeof(*cl->retry));
    cl->retry_at = calloc(o->conns, sizeof(*cl->retry_at));
    if (cl->ep < 0 || cl->conns == NULL || cl->retry == NULL || cl->retry_at == NULL)
        return -1;
    for (unsigned i = 0; i < o->conns; i++) {
        cl->conns[i].cl = cl;
        cl->conns[i].idx = i;
        cl->conns[i].fd = -1;
        if (build_request(&cl->conns[i], o) != 0)
            return -1;
    }
    cl->active = o->conns;
    cl->t0 = mp_streamio_now_us();
    cl->stop_at = cl->t0 + o->duration_us;
    /* by default: the run, the ramp, two streams' time and 30 s of grace */
    uint64_t grace = span + o->ramp_ms * 1000ull + 2 * stream_us + 30000000u;
    cl->deadline = cl->t0 + (o->deadline_us > 0 ? o->deadline_us : grace);
    cl->next_rss = cl->t0;
    return 0;
}

static void report(const struct client *cl, uint64_t elapsed_us)
{
    uint64_t errs = cl->open;
    for (int i = 0; i < E_COUNT; i++)
        errs += cl->errors[i];
    printf("STREAMS conns=%u streams=%llu events=%llu elapsed_us=%llu open_max=%u", cl->o.conns,
           (unsigned long long)cl->streams_ok, (unsigned long long)cl->events,
           (unsigned long long)elapsed_us, cl->open_max);
    const struct {
        const char *name;
        const struct hist *h;
    } hs[] = {{"ttft", &cl->ttft},
              {"ttft_added", &cl->ttft_added},
              {"gap", &cl->gap},
              {"gap_added", &cl->gap_added},
              {"connect", &cl->connect}};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        printf(" %s_p50_us=%llu %s_p99_us=%llu %s_max_us=%llu", hs[i].name,
               (unsigned long long)hist_pct(hs[i].h, 0.50), hs[i].name,
               (unsigned long long)hist_pct(hs[i].h, 0.99), hs[i].name,
               (unsigned long long)hs[i].h->max);
    printf(" rss_kb=%llu rss_open=%u rss_max_kb=%llu errors=%llu connect_errors=%llu "
           "status_errors=%llu read_errors=%llu proto_errors=%llu short_streams=%llu "
           "stalled=%u\n",
           (unsigned long long)cl->rss_kb, cl->rss_open, (unsigned long long)cl->rss_max_kb,
           (unsigned long long)errs, (unsigned long long)cl->errors[E_CONNECT],
           (unsigned long long)cl->errors[E_STATUS], (unsigned long long)cl->errors[E_READ],
           (unsigned long long)cl->errors[E_PROTO], (unsigned long long)cl->errors[E_SHORT],
           cl->open);
    fflush(stdout);
    if (cl->first_error[0] != '\0')
        fprintf(stderr, "stream_client: first error: %s\n", cl->first_error);
}

/* ---- the command line ---- */

static void usage(void)
{
    fputs("usage: stream_client --target HOST:PORT [--path P] [--connections N]\n"
          "         [--duration SEC | --streams-per-conn N] [--tokens N] [--interval-ms N]\n"
          "         [--first-ms N] [--ramp MS] [--deadline SEC] [--user PREFIX]\n"
          "         [--rss-pid PID]...\n"
          "Holds N streaming chat requests open (one per connection, keep-alive) against\n"
          "the target and prints one STREAMS line: time to first token, delays of the\n"
          "token events (arrival - the upstream's stamp), errors. HOST is IPv4.\n",
          stderr);
}

static int parse_target(struct opts *o, const char *t)
{
    char host[64];
    const char *colon = strrchr(t, ':');
    uint64_t port = 0;
    if (colon == NULL || (size_t)(colon - t) >= sizeof(host) ||
        !mp_streamio_uint(colon + 1, strlen(colon + 1), &port) || port == 0 || port > 65535)
        return -1;
    memcpy(host, t, (size_t)(colon - t));
    host[colon - t] = '\0';
    o->target = t;
    o->addr.sin_family = AF_INET;
    o->addr.sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &o->addr.sin_addr) == 1 ? 0 : -1;
}

/* One option's value; -1 when it is not acceptable. */
static int set_opt(struct opts *o, int code, const char *arg)
{
    uint64_t v = 0;
    bool num = mp_streamio_uint(arg, strlen(arg), &v);
    bool small = num && v <= 1000000;
    switch (code) {
    case 't':
        return parse_target(o, arg);
    case 'P':
        o->path = arg;
        return arg[0] == '/' ? 0 : -1;
    case 'u':
        o->user = arg;
        return 0;
    case 'c':
        o->conns = (unsigned)v;
        return small && v > 0 ? 0 : -1;
    case 'd':
        o->duration_us = v * 1000000u;
        return small && v > 0 ? 0 : -1;
    case 's':
        o->per_conn = (unsigned)v;
        return small && v > 0 ? 0 : -1;
    case 'k':
        o->tokens = (unsigned)v;
        return small ? 0 : -1;
    case 'i':
        o->interval_ms = (unsigned)v;
        return small ? 0 : -1;
    case 'f':
        o->first_ms = (long)v;
        return small ? 0 : -1;
    case 'r':
        o->ramp_ms = (unsigned)v;
        return small ? 0 : -1;
    case 'D':
        o->deadline_us = v * 1000000u;
        return small && v > 0 ? 0 : -1;
    case 'p':
        if (!small || v == 0 || o->nrss == MAX_RSS_PIDS)
            return -1;
        o->rss_pids[o->nrss++] = (int)v;
        return 0;
    default:
        return -1;
    }
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                         {"path", required_argument, NULL, 'P'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"connections", required_argument, NULL, 'c'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"streams-per-conn", required_argument, NULL, 's'},
                                         {"tokens", required_argument, NULL, 'k'},
                                         {"interval-ms", required_argument, NULL, 'i'},
                                         {"first-ms", required_argument, NULL, 'f'},
                                         {"ramp", required_argument, NULL, 'r'},
                                         {"deadline", required_argument, NULL, 'D'},
                                         {"rss-pid", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    int code, li = 0;
    while ((code = getopt_long(argc, argv, "", opts, &li)) != -1) {
        if (code == '?') {
            usage();
            return -1;
        }
        if (set_opt(o, code, optarg) != 0) {
            fprintf(stderr, "stream_client: bad value for --%s: %s\n", opts[li].name, optarg);
            return -1;
        }
    }
    if (optind != argc || o->target == NULL || (o->duration_us > 0 && o->per_conn > 0)) {
        usage();
        return -1;
    }
    if (o->duration_us == 0 && o->per_conn == 0)
        o->duration_us = 10000000u;
    return 0;
}

int main(int argc, char **argv)
{
    static struct client cl; /* the histograms are large: not on the stack */
    cl.o = (struct opts){.path = "/v1/chat/completions",
                         .conns = 100,
                         .tokens = 10,
                         .interval_ms = 200,
                         .first_ms = -1};
    if (parse_args(argc, argv, &cl.o) != 0)
        return 2;
    uint64_t nofile = mp_streamio_process_init();
    if (nofile < (uint64_t)cl.o.conns + 16) {
        fprintf(stderr, "stream_client: open-file limit %llu is too low for %u connections\n",
                (unsigned long long)nofile, cl.o.conns);
        return 1;
    }
    if (client_init(&cl) != 0) {
        perror("stream_client: set-up");
        return 1;
    }
    run(&cl);
    report(&cl, mp_streamio_now_us() - cl.t0);
    return 0;
}
