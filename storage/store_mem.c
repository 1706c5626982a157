/* In-memory backend for tests: same contract as LMDB, nothing on disk. */
#include "store.h"

#include <stdlib.h>

#include "status.h"

struct mem_store {
    struct mp_store base;
};

static int mem_ping(struct mp_store *store)
{
    (void)store;
    return MP_OK;
}

static void mem_close(struct mp_store *store)
{
    free(store);
}

static const struct mp_store_ops mem_ops = {
    .name = "mem",
    .ping = mem_ping,
    .close = mem_close,
};

int mp_store_open_mem(struct mp_store **out)
{
    struct mem_store *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return MP_ENOMEM;
    m->base.ops = &mem_ops;
    *out = &m->base;
    return MP_OK;
}
