/* Dispatch from the mp_store_* interface to a backend's table. */
#include "store.h"

int mp_store_ping(struct mp_store *store)
{
    return store->ops->ping(store);
}

const char *mp_store_backend(const struct mp_store *store)
{
    return store->ops->name;
}

void mp_store_free(struct mp_store *store)
{
    if (store == NULL)
        return;
    store->ops->close(store);
}
