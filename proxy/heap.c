/* glibc malloc's trim and mmap thresholds (heap.h). */
#include "heap.h"

#include <malloc.h>

int mp_heap_tune(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0; /* AddressSanitizer's allocator replaces malloc's and has no such settings */
#else
    /* fixed thresholds also turn off glibc's dynamic ones, which move with
       the biggest block freed */
    if (mallopt(M_MMAP_THRESHOLD, MP_HEAP_MMAP_BYTES) != 1 ||
        mallopt(M_TRIM_THRESHOLD, MP_HEAP_KEEP_BYTES) != 1 ||
        mallopt(M_TOP_PAD, MP_HEAP_PAD_BYTES) != 1)
        return -1;
    return 0;
#endif
}
