/* memproxy ctl users link: a person's signed link to their memory page
 * (docs/memory-page.md), minted offline from the configuration's [page]
 * link_key (core/pagelink.h); no server is asked. */
#ifndef MP_TOOLS_CTL_LINK_H
#define MP_TOOLS_CTL_LINK_H

#include <stdint.h>

#include "ctl/ctl_session.h"

/* "users link USER [--tenant T] [--ttl D] [--url URL]": prints the link.
 * MP_CTL_OK, or MP_CTL_USAGE (bad arguments, an invalid configuration, no
 * key, no page address). */
int mp_ctl_users_link(struct mp_ctl_session *s, int argc, const char *const *argv);

/* A duration: digits with an optional unit s, m, h or d ("90", "30m",
 * "24h", "7d"), 1 second .. max_s. 0 with *out (seconds), or -1. */
int mp_ctl_link_ttl(const char *text, int64_t max_s, int64_t *out);

#endif
