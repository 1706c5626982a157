/* What the test preloads (pollcount.c, sendcount.c) share: calling the
 * definition of a function they wrap. */
#ifndef MPTEST_PRELOAD_NEXT_H
#define MPTEST_PRELOAD_NEXT_H

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* The next definition of name (libc's) into *fn, a function pointer
 * (copied as bytes: ISO C has no conversion from void *). */
static inline void preload_next(const char *name, void *fn, size_t size)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (f == NULL)
        abort();
    memcpy(fn, &f, size);
}
#define NEXT(name, real) preload_next(name, &(real), sizeof(real))

#endif
