/* curl multi + libevent. Socket interest is changed only when curl asks for
 * a different one, so a reused upstream connection does not churn epoll. */
#include "net/upstream.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "status.h"

#define EASY_POOL_MAX 256

struct sock_watch {
    struct event ev;
    struct mp_upstream *up;
    int action; /* CURL_POLL_* currently registered, 0 for none */
};

struct mp_upstream {
    struct event_base *base;
    CURLM *multi;
    struct event timer;
    mp_upstream_done_fn done;
    unsigned active;
    const char *default_ca; /* libcurl's built-in CA bundle path, or NULL */
    CURL *pool[EASY_POOL_MAX];
    unsigned npool;
};

static void collect_done(struct mp_upstream *up)
{
    int left = 0;
    for (;;) {
        CURLMsg *msg = mp_curl.multi_info_read(up->multi, &left);
        if (msg == NULL)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        void *req = NULL;
        mp_curl.easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
        mp_curl.multi_remove_handle(up->multi, easy);
        up->active--;
        up->done(req, result);
    }
}

static void on_socket_event(evutil_socket_t fd, short events, void *arg)
{
    struct sock_watch *w = arg;
    struct mp_upstream *up = w->up; /* w may be freed inside socket_action */
    int running = 0;
    int flags =
        ((events & EV_READ) ? CURL_CSELECT_IN : 0) | ((events & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    mp_curl.multi_socket_action(up->multi, fd, flags, &running);
    collect_done(up);
}

static void on_timer(evutil_socket_t fd, short events, void *arg)
{
    struct mp_upstream *up = arg;
    int running = 0;
    (void)fd;
    (void)events;
    mp_curl.multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(up);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct mp_upstream *up = userp;
    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(&up->timer);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    evtimer_add(&up->timer, &tv);
    return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct mp_upstream *up = userp;
    struct sock_watch *w = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_del(&w->ev);
            free(w);
        }
        return 0;
    }
    if (w == NULL) {
        w = calloc(1, sizeof(*w));
        if (w == NULL)
            return -1;
        w->up = up;
        mp_curl.multi_assign(up->multi, s, w);
    }
    if (w->action == what)
        return 0;
    if (w->action != 0)
        event_del(&w->ev);
    short kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    event_assign(&w->ev, up->base, s, kind, on_socket_event, w);
    event_add(&w->ev, NULL);
    w->action = what;
    return 0;
}

struct mp_upstream *mp_upstream_new(struct event_base *base, mp_upstream_done_fn done)
{
    struct mp_upstream *up = calloc(1, sizeof(*up));
    if (up == NULL)
        return NULL;
    up->base = base;
    up->done = done;
    evtimer_assign(&up->timer, base, on_timer, up);
    return up;
}

/* The multi, made with the first handle: libcurl is loaded then, not when
 * the loop starts (curl_lib.h). Logs once per process when it cannot be. */
static bool have_multi(struct mp_upstream *up)
{
    static atomic_bool told;
    const char *why = NULL;
    if (up->multi != NULL)
        return true;
    if (mp_curl_load(&why) != MP_OK) {
        if (!atomic_exchange(&told, true))
            mp_log(MP_LOG_ERROR, why);
        return false;
    }
    up->multi = mp_curl.multi_init();
    if (up->multi == NULL)
        return false;
    mp_curl.multi_setopt(up->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    mp_curl.multi_setopt(up->multi, CURLMOPT_SOCKETDATA, up);
    mp_curl.multi_setopt(up->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    mp_curl.multi_setopt(up->multi, CURLMOPT_TIMERDATA, up);
    mp_curl.multi_setopt(up->multi, CURLMOPT_MAXCONNECTS, 512L);
    return true;
}

void mp_upstream_free(struct mp_upstream *up)
{
    if (up == NULL)
        return;
    while (up->npool > 0)
        mp_curl.easy_cleanup(up->pool[--up->npool]);
    evtimer_del(&up->timer);
    if (up->multi != NULL)
        mp_curl.multi_cleanup(up->multi);
    free(up);
}

static void set_constant_options(CURL *easy)
{
    mp_curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    mp_curl.easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    mp_curl.easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    mp_curl.easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    mp_curl.easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    mp_curl.easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    mp_curl.easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    mp_curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    mp_curl.easy_setopt(easy, CURLOPT_BUFFERSIZE, 65536L);
    mp_curl.easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
}

CURL *mp_upstream_easy_get(struct mp_upstream *up, const char *ca_file)
{
    CURL *easy = NULL;
    if (!have_multi(up))
        return NULL;
    if (up->npool > 0) {
        easy = up->pool[--up->npool];
    } else {
        easy = mp_curl.easy_init();
        if (easy == NULL)
            return NULL;
        set_constant_options(easy);
    }
    if (up->default_ca == NULL)
        mp_curl.easy_getinfo(easy, CURLINFO_CAINFO, (char **)&up->default_ca);
    mp_curl.easy_setopt(easy, CURLOPT_CAINFO, ca_file[0] != '\0' ? ca_file : up->default_ca);
    return easy;
}

void mp_upstream_easy_put(struct mp_upstream *up, CURL *easy)
{
    if (up->npool < EASY_POOL_MAX)
        up->pool[up->npool++] = easy;
    else
        mp_curl.easy_cleanup(easy);
}

int mp_upstream_start(struct mp_upstream *up, CURL *easy)
{
    if (mp_curl.multi_add_handle(up->multi, easy) != CURLM_OK)
        return MP_EUPSTREAM;
    up->active++;
    return MP_OK;
}

void mp_upstream_cancel(struct mp_upstream *up, CURL *easy)
{
    mp_curl.multi_remove_handle(up->multi, easy);
    up->active--;
}

unsigned mp_upstream_active(const struct mp_upstream *up)
{
    return up->active;
}

enum mp_xfer_end mp_upstream_end_of(CURLcode result)
{
    switch (result) {
    case CURLE_OK:
        return MP_XFER_OK;
    case CURLE_COULDNT_CONNECT:
        return MP_XFER_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return MP_XFER_DNS;
    case CURLE_OPERATION_TIMEDOUT:
        return MP_XFER_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return MP_XFER_TLS;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return MP_XFER_RESET;
    case CURLE_WRITE_ERROR: /* a callback of ours refused what came */
        return MP_XFER_PROTOCOL;
    default:
        return MP_XFER_OTHER;
    }
}

size_t mp_upstream_body_add(struct mp_upstream_body *b, const char *p, size_t n)
{
    if (b->len + n > b->max) {
        b->too_big = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *nd = realloc(b->data, cap);
        if (nd == NULL)
            return 0;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    return mp_upstream_body_add(ud, data, size * n);
}

void mp_upstream_post_setup(CURL *easy, const char *url, struct curl_slist *headers,
                            const char *body, size_t len, struct mp_upstream_body *answer,
                            void *priv, long connect_ms, long timeout_ms)
{
    mp_curl.easy_setopt(easy, CURLOPT_URL, url);
    mp_curl.easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    mp_curl.easy_setopt(easy, CURLOPT_POST, 1L);
    mp_curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    mp_curl.easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    mp_curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    mp_curl.easy_setopt(easy, CURLOPT_WRITEDATA, answer);
    mp_curl.easy_setopt(easy, CURLOPT_PRIVATE, priv);
    mp_curl.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    mp_curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
}
