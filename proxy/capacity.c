/* Raising the open-file limit (capacity.h). */
#include "capacity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define NR_OPEN_FALLBACK 1048576

/* The kernel's ceiling on a process's descriptors (fs.nr_open). */
static uint64_t nr_open(void)
{
    unsigned long long n = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "r");
    if (f != NULL) {
        if (fscanf(f, "%llu", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n > 0 ? (uint64_t)n : NR_OPEN_FALLBACK;
}

uint64_t mp_capacity_raise_nofile(char *why, size_t cap)
{
    struct rlimit rl;
    why[0] = '\0';
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(why, cap, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return 1024;
    }
    uint64_t target = rl.rlim_max == RLIM_INFINITY ? nr_open() : (uint64_t)rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur >= target)
        return (uint64_t)rl.rlim_cur;
    if (rl.rlim_cur == RLIM_INFINITY)
        return target;
    struct rlimit want = {.rlim_cur = (rlim_t)target, .rlim_max = rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
        snprintf(why, cap, "cannot raise the open-file limit from %llu to %llu: %s",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)target, strerror(errno));
        return (uint64_t)rl.rlim_cur;
    }
    return target;
}

uint64_t mp_capacity_reserve_fds(uint64_t want, uint64_t nofile)
{
    if (want > nofile)
        want = nofile;
    if (want > MP_CAPACITY_FD_RESERVE_MAX)
        want = MP_CAPACITY_FD_RESERVE_MAX;
    if (want == 0)
        return 0;
    /* A descriptor at want - 1 or above makes the kernel size the table
     * for it; F_DUPFD takes the lowest free one there, never an open one. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)(want - 1));
    close(fd);
    if (high < 0)
        return 0;
    close(high);
    return want;
}
