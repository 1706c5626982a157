/* A user's memory setting: names and how it combines with X-Memory. */
#include "memory/usermode.h"

#include <string.h>

#include "status.h"

static const char *const names[] = {
    [MP_USER_MODE_AUTO] = "auto",
    [MP_USER_MODE_READ] = "read",
    [MP_USER_MODE_OFF] = "off",
};

const char *mp_usermode_name(enum mp_user_mode mode)
{
    return (unsigned)mode < sizeof(names) / sizeof(names[0]) ? names[mode] : "";
}

int mp_usermode_parse(const char *s, size_t len, enum mp_user_mode *out)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0) {
            *out = (enum mp_user_mode)i;
            return MP_OK;
        }
    }
    return MP_EINVAL;
}

void mp_usermode_access(enum mp_memory_control ctl, enum mp_user_mode mode, bool *reads,
                        bool *writes)
{
    *reads = (ctl == MP_MEMCTL_AUTO || ctl == MP_MEMCTL_READ) && mode != MP_USER_MODE_OFF;
    *writes = (ctl == MP_MEMCTL_AUTO || ctl == MP_MEMCTL_WRITE) && mode == MP_USER_MODE_AUTO;
}
