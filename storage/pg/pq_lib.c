/* libpq's table (pq_lib.h), filled once by ondemand.h. */
#include "pg/pq_lib.h"

#include <stddef.h>

#include "ondemand.h"

struct mp_pq_lib mp_pq;

#define MP_PQ_FN(name) {"PQ" #name, offsetof(struct mp_pq_lib, name)},
static const struct mp_ondemand_fn functions[] = {MP_PQ_FUNCTIONS(MP_PQ_FN)};
#undef MP_PQ_FN

static struct mp_ondemand libpq = MP_ONDEMAND("libpq.so.5", "libpq5", functions, &mp_pq, NULL);

int mp_pq_load(const char **why)
{
    return mp_ondemand_load(&libpq, why);
}
