/* Status codes shared by every layer. Fallible functions return MP_OK or one
 * of the negative values below; the proxy maps them to HTTP statuses in one
 * table (proxy/net/respond.c). This file does no I/O. */
#ifndef MP_CORE_STATUS_H
#define MP_CORE_STATUS_H

enum mp_status {
    MP_OK = 0,
    MP_AGAIN = -1,        /* not an error: feed more bytes */
    MP_NOTFOUND = -2,     /* not an error: a miss */
    MP_EINVAL = -3,       /* malformed input */
    MP_ETOOBIG = -4,      /* input over a hard cap */
    MP_ENOMEM = -5,       /* allocation failed */
    MP_EIO = -6,          /* storage or socket failure */
    MP_EUPSTREAM = -7,    /* the upstream failed */
    MP_ETIMEDOUT = -8,    /* a deadline passed */
    MP_EUNSUPPORTED = -9, /* valid, but not implemented by this build */
    MP_ECONFLICT = -10    /* a precondition failed (If-Match: the item changed) */
};

/* Returns a static, lower-case name for a status ("ok", "again", ...);
 * "unknown" for a value outside the enum. Never NULL. */
const char *mp_status_name(int status);

#endif
