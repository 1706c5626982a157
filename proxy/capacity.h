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

/* The most descriptors mp_capacity_reserve_fds() sizes the table for: 32,000
 * streams (512 KiB of kernel memory for the table); past it the kernel
 * grows the table as it fills, as it does for any process. */
#define MP_CAPACITY_FD_RESERVE_MAX 65536

/* Grows the process's descriptor table now, at start, to hold want
 * descriptors (at most nofile and MP_CAPACITY_FD_RESERVE_MAX), so that a
 * data-plane thread never grows it while it serves: in a process with
 * more than one thread the kernel waits for an RCU grace period (10 to 30
 * ms seen) each time the table doubles, and every stream of that thread's
 * event loop waits with it. The table never shrinks, so this holds for the
 * process's life. Returns the descriptors the table holds afterwards as far
 * as this call knows (0 when it could not grow it: a descriptor could not
 * be opened; nothing else changes then). */
uint64_t mp_capacity_reserve_fds(uint64_t want, uint64_t nofile);

#endif
