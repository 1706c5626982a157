/* Structured logging to stderr: one line per event, JSON or text, each line
 * written with a single write(2) so lines from several threads never mix.
 * Callers must never pass prompts, memory contents, credentials or raw user
 * ids; this module cannot tell and does not try. */
#ifndef MP_PROXY_LOG_H
#define MP_PROXY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define MP_LOGLINE_MAX 4096

/* Sets the level and format for all threads (atomic; safe at any time). */
void mp_log_configure(enum mp_log_level level, enum mp_log_format format);

/* True when a line at this level would be written. */
bool mp_log_enabled(enum mp_log_level level);

/* A line under construction; lives on the caller's stack. Fields that do not
 * fit are dropped and the line gets "truncated":true. */
struct mp_logline {
    char buf[MP_LOGLINE_MAX];
    size_t len;
    bool json;
    bool truncated;
    bool enabled;
};

void mp_logline_begin(struct mp_logline *l, enum mp_log_level level, const char *msg);
/* Like mp_logline_begin(), but written whatever the configured level: for
 * the few lifecycle lines (listening, stopped) operators always need. */
void mp_logline_begin_always(struct mp_logline *l, enum mp_log_level level, const char *msg);
void mp_logline_str(struct mp_logline *l, const char *key, const char *val);
void mp_logline_strn(struct mp_logline *l, const char *key, const char *val, size_t len);
void mp_logline_int(struct mp_logline *l, const char *key, int64_t val);
void mp_logline_double(struct mp_logline *l, const char *key, double val);
void mp_logline_bool(struct mp_logline *l, const char *key, bool val);
/* Writes the line (if its level is enabled). */
void mp_logline_end(struct mp_logline *l);

/* A line with only a message. */
void mp_log(enum mp_log_level level, const char *msg);

#endif
