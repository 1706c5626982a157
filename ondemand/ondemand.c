/* dlopen and dlsym for ondemand.h. */
#include "ondemand.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* Opens the library and fills the table: MP_OK, or MP_EIO with d->why set. */
static int open_library(struct mp_ondemand *d)
{
    void *lib = dlopen(d->soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(d->why_buf, sizeof(d->why_buf), "cannot load %s (install the %s package)",
                 d->soname, d->package);
        return MP_EIO;
    }
    unsigned char *t = calloc(1, d->table_size);
    if (t == NULL) {
        snprintf(d->why_buf, sizeof(d->why_buf), "cannot load %s: out of memory", d->soname);
        return MP_EIO;
    }
    for (size_t i = 0; i < d->nfns; i++) {
        void *p = dlsym(lib, d->fns[i].symbol);
        if (p == NULL || d->fns[i].offset + sizeof(p) > d->table_size) {
            snprintf(d->why_buf, sizeof(d->why_buf), "%s lacks %s (a newer %s is needed)",
                     d->soname, d->fns[i].symbol, d->package);
            free(t);
            return MP_EIO;
        }
        memcpy(t + d->fns[i].offset, &p, sizeof(p)); /* POSIX: dlsym's pointer holds a function */
    }
    memcpy(d->table, t, d->table_size);
    free(t);
    return MP_OK;
}

int mp_ondemand_load(struct mp_ondemand *d, const char **why)
{
    pthread_mutex_lock(&d->lock);
    if (!d->tried) {
        d->tried = true;
        d->why = d->why_buf;
        d->rc = open_library(d);
        if (d->rc == MP_OK && d->after != NULL && d->after(&d->why) != MP_OK)
            d->rc = MP_EIO;
    }
    int rc = d->rc;
    pthread_mutex_unlock(&d->lock);
    if (rc != MP_OK && why != NULL)
        *why = d->why;
    return rc;
}

bool mp_ondemand_loaded(struct mp_ondemand *d)
{
    pthread_mutex_lock(&d->lock);
    bool loaded = d->tried && d->rc == MP_OK;
    pthread_mutex_unlock(&d->lock);
    return loaded;
}
