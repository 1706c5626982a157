/* The ops command line's offline command copy-store (docs/ctl.md): every
 * record of the store one configuration file names copied into the empty
 * store another names, across backends (LMDB and PostgreSQL). No admin API:
 * it opens both stores itself, so the proxies using them must be stopped
 * (an LMDB store refuses a second opener anyway). */
#ifndef MP_TOOLS_CTL_COPY_H
#define MP_TOOLS_CTL_COPY_H

#include "ctl/ctl_session.h"

/* copy-store --from FILE --to FILE: MP_CTL_OK; MP_CTL_USAGE (bad command
 * line, an invalid configuration); MP_CTL_FAILED (a store cannot be
 * opened, the destination is not empty, the keys differ, the copy failed),
 * each after a line on stderr. Both files are read without the
 * environment's MEMPROXY_* variables: each names its store alone. */
int mp_ctl_copy_store(struct mp_ctl_session *s, int argc, const char *const *argv);

#endif
