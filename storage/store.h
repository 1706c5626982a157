/* Per-user memory persistence behind one small interface. Backends (LMDB in
 * store_lmdb.c, in-memory in store_mem.c for tests) sit behind a table of
 * function pointers; callers see only the opaque struct mp_store.
 * This version opens, checks and closes storage; the memory records arrive
 * with the memory engine. Values handed out are copies, never pointers into
 * a backend's map. */
#ifndef MP_STORAGE_STORE_H
#define MP_STORAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct mp_store;

enum mp_store_sync { MP_STORE_SYNC_FULL, MP_STORE_SYNC_META, MP_STORE_SYNC_NONE };

struct mp_store_options {
    const char *path;  /* borrowed; directory, created if missing (LMDB) */
    uint64_t map_size; /* bytes */
    enum mp_store_sync sync;
};

/* Backend table; each backend fills one. Callers use the mp_store_* wrappers. */
struct mp_store_ops {
    const char *name;
    int (*ping)(struct mp_store *store);
    void (*close)(struct mp_store *store);
};

/* Every backend's handle starts with this header. */
struct mp_store {
    const struct mp_store_ops *ops;
};

/* Opens the LMDB backend at opts->path. Returns MP_OK with *out (caller frees
 * with mp_store_free()); MP_EIO when the directory or environment cannot be
 * opened (err, borrowed, receives a reason of at most errcap bytes). */
int mp_store_open_lmdb(const struct mp_store_options *opts, struct mp_store **out, char *err,
                       size_t errcap);

/* Opens an empty in-memory backend (tests). MP_OK or MP_ENOMEM. */
int mp_store_open_mem(struct mp_store **out);

/* MP_OK when the store can serve reads and writes, else MP_EIO. */
int mp_store_ping(struct mp_store *store);

/* The backend's name: "lmdb" or "mem". */
const char *mp_store_backend(const struct mp_store *store);

/* Closes the store. mp_store_free(NULL) does nothing. */
void mp_store_free(struct mp_store *store);

#endif
