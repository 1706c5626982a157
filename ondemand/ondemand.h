/* Mapping a shared library when it is first needed: dlopen by soname, and
 * every function a table names looked up into that table, once per
 * process. The libraries that come this way and why: curl_lib.h (libcurl),
 * storage/pg/pq_lib.h (libpq).
 *
 *   static struct mp_ondemand lib = MP_ONDEMAND("libx.so.1", "libx1", functions, &table);
 *   if (mp_ondemand_load(&lib, &why) != MP_OK) ...   (any thread, any number of times)
 *   table.f(...)                                      (after MP_OK: the library's own f) */
#ifndef MP_ONDEMAND_ONDEMAND_H
#define MP_ONDEMAND_ONDEMAND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* One function of a table: its symbol, and where its pointer goes. */
struct mp_ondemand_fn {
    const char *symbol;
    size_t offset; /* offsetof() the function pointer in the table */
};

/* A library loaded on demand. The fields up to after are the caller's
 * (the MP_ONDEMAND initializer); lock and the rest are the load's. */
struct mp_ondemand {
    const char *soname;  /* "libcurl.so.4" */
    const char *package; /* the Debian package that has it, for the error */
    const struct mp_ondemand_fn *fns;
    size_t nfns;
    void *table; /* written whole when every function was found */
    size_t table_size;
    /* Run once after the table is filled (libcurl's global init): MP_OK or
     * an error, then *why a static sentence. NULL: none. */
    int (*after)(const char **why);
    pthread_mutex_t lock;
    bool tried;
    int rc;
    const char *why;
    char why_buf[160];
};

/* The caller's fields by name, the load's state left zero: a field added
 * to the state cannot shift them. */
#define MP_ONDEMAND(soname_, package_, fns_, table_, after_)                                       \
    {                                                                                              \
        .soname = (soname_), .package = (package_), .fns = (fns_),                                 \
        .nfns = sizeof(fns_) / sizeof((fns_)[0]), .table = (table_),                               \
        .table_size = sizeof(*(table_)), .after = (after_), .lock = PTHREAD_MUTEX_INITIALIZER,     \
    }

/* Loads d the first time any thread asks; later calls return the first
 * call's result. MP_OK, or MP_EIO with *why (when why is not NULL) a
 * sentence for the log that names the library and its package, or the
 * function it lacks (no path, no user data; valid for the process). The
 * library stays mapped for the process's life. */
int mp_ondemand_load(struct mp_ondemand *d, const char **why);

/* Whether d was loaded (MP_OK) by an earlier mp_ondemand_load(). */
bool mp_ondemand_loaded(struct mp_ondemand *d);

#endif
