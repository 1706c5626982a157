/* The process's open-file limit, raised at start so that the data plane's
 * capacity follows the machine rather than a shell's default soft limit.
 * It does not size anything itself: the configuration's auto values
 * (mp_config_auto_max_connections()) are computed from what it returns. */
#ifndef MP_PROXY_CAPACITY_H
#define MP_PROXY_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

/* Raises the soft RLIMIT_NOFILE to the hard limit (an unlimited hard limit:
 * to the kernel's fs.nr_open, else 1048576). Returns the soft limit in
 * force afterwards. When it could not be raised, why[0..cap) says so (a
 * line for the log) and the old soft limit is returned; else why is "". */
uint64_t mp_capacity_raise_nofile(char *why, size_t cap);

#endif
