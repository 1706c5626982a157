/* Structured log lines: a fixed stack buffer per line, one write(2) each. */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json/json_write.h"

static _Atomic int log_level = MP_LOG_INFO;
static _Atomic int log_format = MP_LOG_JSON;

void mp_log_configure(enum mp_log_level level, enum mp_log_format format)
{
    atomic_store(&log_level, (int)level);
    atomic_store(&log_format, (int)format);
}

bool mp_log_enabled(enum mp_log_level level)
{
    return (int)level >= atomic_load_explicit(&log_level, memory_order_relaxed);
}

static void append(struct mp_logline *l, const char *s, size_t n)
{
    /* keep 2 bytes for the closing "}\n" */
    if (l->truncated || l->len + n + 2 > sizeof(l->buf)) {
        l->truncated = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void append_escaped(struct mp_logline *l, const char *s, size_t n)
{
    if (l->truncated)
        return;
    size_t room = sizeof(l->buf) - l->len - 2;
    size_t w = mp_json_escape(l->buf + l->len, room, s, n);
    if (w == (size_t)-1) {
        l->truncated = true;
        return;
    }
    l->len += w;
}

static void begin_field(struct mp_logline *l, const char *key)
{
    if (l->json) {
        append(l, ",\"", 2);
        append(l, key, strlen(key));
        append(l, "\":", 2);
    } else {
        append(l, " ", 1);
        append(l, key, strlen(key));
        append(l, "=", 1);
    }
}

static void begin(struct mp_logline *l, enum mp_log_level level, const char *msg, bool enabled)
{
    struct timespec ts;
    struct tm tm;
    char stamp[40];
    l->len = 0;
    l->truncated = false;
    l->enabled = enabled;
    l->json = atomic_load_explicit(&log_format, memory_order_relaxed) == MP_LOG_JSON;
    if (!l->enabled)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    const char *lvl = mp_config_level_name(level);
    if (l->json) {
        append(l, "{\"time\":\"", 9);
        append(l, stamp, strlen(stamp));
        append(l, "\",\"level\":\"", 11);
        append(l, lvl, strlen(lvl));
        append(l, "\",\"msg\":\"", 9);
        append_escaped(l, msg, strlen(msg));
        append(l, "\"", 1);
    } else {
        append(l, stamp, strlen(stamp));
        append(l, " ", 1);
        append(l, lvl, strlen(lvl));
        append(l, " ", 1);
        append_escaped(l, msg, strlen(msg));
    }
}

void mp_logline_begin(struct mp_logline *l, enum mp_log_level level, const char *msg)
{
    begin(l, level, msg, mp_log_enabled(level));
}

void mp_logline_begin_always(struct mp_logline *l, enum mp_log_level level, const char *msg)
{
    begin(l, level, msg, true);
}

void mp_logline_strn(struct mp_logline *l, const char *key, const char *val, size_t len)
{
    if (!l->enabled)
        return;
    begin_field(l, key);
    append(l, "\"", 1);
    append_escaped(l, val, len);
    append(l, "\"", 1);
}

void mp_logline_str(struct mp_logline *l, const char *key, const char *val)
{
    mp_logline_strn(l, key, val, strlen(val));
}

void mp_logline_int(struct mp_logline *l, const char *key, int64_t val)
{
    char num[32];
    if (!l->enabled)
        return;
    int n = snprintf(num, sizeof(num), "%lld", (long long)val);
    begin_field(l, key);
    append(l, num, (size_t)n);
}

void mp_logline_double(struct mp_logline *l, const char *key, double val)
{
    char num[48];
    if (!l->enabled)
        return;
    int n = snprintf(num, sizeof(num), "%.3f", val);
    begin_field(l, key);
    append(l, num, (size_t)n);
}

void mp_logline_bool(struct mp_logline *l, const char *key, bool val)
{
    if (!l->enabled)
        return;
    begin_field(l, key);
    append(l, val ? "true" : "false", val ? 4 : 5);
}

void mp_logline_end(struct mp_logline *l)
{
    if (!l->enabled)
        return;
    if (l->truncated) {
        /* room for this was reserved by append() */
        const char *t = l->json ? ",\"truncated\":true" : " truncated=true";
        size_t n = strlen(t);
        if (l->len + n + 2 <= sizeof(l->buf)) {
            memcpy(l->buf + l->len, t, n);
            l->len += n;
        }
    }
    if (l->json)
        l->buf[l->len++] = '}';
    l->buf[l->len++] = '\n';
    ssize_t w = write(STDERR_FILENO, l->buf, l->len);
    (void)w; /* nowhere left to report a failing stderr */
}

void mp_log(enum mp_log_level level, const char *msg)
{
    struct mp_logline l;
    mp_logline_begin(&l, level, msg);
    mp_logline_end(&l);
}
