/* Names for enum mp_status, for logs and tests. */
#include "status.h"

const char *mp_status_name(int status)
{
    switch (status) {
    case MP_OK:
        return "ok";
    case MP_AGAIN:
        return "again";
    case MP_NOTFOUND:
        return "notfound";
    case MP_EINVAL:
        return "einval";
    case MP_ETOOBIG:
        return "etoobig";
    case MP_ENOMEM:
        return "enomem";
    case MP_EIO:
        return "eio";
    case MP_EUPSTREAM:
        return "eupstream";
    case MP_ETIMEDOUT:
        return "etimedout";
    case MP_EUNSUPPORTED:
        return "eunsupported";
    case MP_ECONFLICT:
        return "econflict";
    default:
        return "unknown";
    }
}
