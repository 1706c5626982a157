/* Memory's wall clock, with a test offset. */
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

static int64_t offset_ms;

int mp_clock_init(void)
{
    const char *v = getenv("MEMPROXY_TEST_CLOCK_OFFSET_MS");
    char *end = NULL;
    if (v == NULL || v[0] == '\0')
        return 0;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0')
        return -1;
    offset_ms = (int64_t)n;
    return 0;
}

int64_t mp_clock_offset_ms(void)
{
    return offset_ms;
}

int64_t mp_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
}

int64_t mp_clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
