/* A user's own memory setting (PUT /v1/memory/settings, docs/http-api.md):
 * whether memproxy may remember them. It combines with the configured
 * [memory] mode and the request's X-Memory header; the most restrictive
 * wins. Pure values and rules; the store keeps the setting. */
#ifndef MP_CORE_USERMODE_H
#define MP_CORE_USERMODE_H

#include <stdbool.h>
#include <stddef.h>

/* The request's X-Memory control (core/wire/route.h reads the header):
 * memory as the modes allow, read only, write only, or off. */
enum mp_memory_control { MP_MEMCTL_AUTO, MP_MEMCTL_READ, MP_MEMCTL_WRITE, MP_MEMCTL_OFF };

enum mp_user_mode {
    MP_USER_MODE_AUTO, /* the default: memory as configured */
    MP_USER_MODE_READ, /* what is remembered is used; nothing new is recorded */
    MP_USER_MODE_OFF   /* neither: no injection, no recording, no memory jobs */
};

/* "auto", "read" or "off"; "" for a value outside the enum. */
const char *mp_usermode_name(enum mp_user_mode mode);

/* Parses s[0..len) (exact, lower case). MP_OK or MP_EINVAL. */
int mp_usermode_parse(const char *s, size_t len, enum mp_user_mode *out);

/* What a request may do with the user's memory under X-Memory control ctl
 * and the user's setting mode (the configured mode is not off: the caller
 * checks that first): *reads (inject) and *writes (record). Reads need
 * ctl auto or read and mode auto or read; writes need ctl auto or write
 * and mode auto. */
void mp_usermode_access(enum mp_memory_control ctl, enum mp_user_mode mode, bool *reads,
                        bool *writes);

#endif
