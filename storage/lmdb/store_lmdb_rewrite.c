/* Opening, checking and rewriting LMDB environments: the format, key and
 * secret checks at open, compaction and offline key rotation (both copy
 * every live record into a fresh environment built by the same open code).
 * The records themselves are store_lmdb.c's business. */
#include "lmdb/store_lmdb_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "format/codec.h"
#include "ops/store.h"
#include "status.h"

#define MAP_ALIGN     (64ull << 10) /* a multiple of every page size LMDB runs on */
#define MAX_READERS   512
#define REWRITE_DIR   ".rewrite"
#define REWRITE_BATCH 4096 /* records per transaction while rewriting */
/* What map_key() may add to a key: a clear user key of one byte hashed
 * (1 + 32 bytes), a clear tag of two bytes made an HMAC tag (1 + 16). */
#define KEY_GROWTH 64
/* LMDB 0.9's lock file for MAX_READERS readers: a 192-byte header holding
 * the first reader's slot, then 64 bytes for each further reader. A file
 * of this size keeps LMDB's reader count at MAX_READERS. */
#define LOCK_FILE_BYTES (192 + (MAX_READERS - 1) * 64)
/* What a rewrite may need beyond twice the live pages: the new
 * environment's meta and root pages, a batch's copied-on-write pages. */
#define REWRITE_ROOM_MARGIN (256ull << 10)

/* ---- open ---- */

/* dir + "/" + name into out[0..PATH_MAX): false when it does not fit. */
static bool join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n >= 0 && n < PATH_MAX;
}

/* LMDB sizes a new lock.mdb with ftruncate() and writes to it through a
 * shared map: on a full filesystem the first write to a page with no block
 * behind it is SIGBUS, not an error. The blocks are reserved here instead,
 * before the open (LMDB then keeps the file as it is) and after it (should
 * LMDB have grown it), so that a full disk is an error LMDB never meets.
 * A filesystem that cannot reserve (EOPNOTSUPP) is left as LMDB makes it;
 * a rewrite's private environment has no lock file. */
static int reserve_lock_file(const struct lmdb_store *s, const char *path, char *err, size_t errcap)
{
    char p[PATH_MAX];
    struct stat st;
    int rc;
    if (s->private_env)
        return MP_OK;
    if (!join(p, path, "lock.mdb")) {
        snprintf(err, errcap, "cannot open LMDB environment %s: path too long", path);
        return MP_EIO;
    }
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && fstat(fd, &st) == 0)
        rc = posix_fallocate(fd, 0, st.st_size > LOCK_FILE_BYTES ? st.st_size : LOCK_FILE_BYTES);
    else
        rc = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0 && rc != EOPNOTSUPP) {
        snprintf(err, errcap, "cannot reserve room for %s: %s", p, strerror(rc));
        return MP_EIO;
    }
    return MP_OK;
}

static unsigned sync_flags(enum mp_store_sync sync)
{
    switch (sync) {
    case MP_STORE_SYNC_META:
        return MDB_NOMETASYNC;
    case MP_STORE_SYNC_NONE:
        return MDB_NOSYNC;
    case MP_STORE_SYNC_FULL:
    default:
        return 0;
    }
}

/* A rewrite's environment is the rewrite's alone (one thread, under the
 * store's write_lock): no lock file at all, so nothing is mapped but
 * data.mdb, which LMDB writes with pwrite() (an error when the disk is
 * full) and only reads through its map. */
static unsigned open_flags(const struct lmdb_store *s)
{
    return MDB_NOTLS | sync_flags(s->sync) | (s->private_env ? MDB_NOLOCK : 0);
}

static int meta_get(MDB_txn *txn, MDB_dbi meta, const char *name, MDB_val *v)
{
    MDB_val k = mp_lmdb_val(name, strlen(name));
    return mdb_get(txn, meta, &k, v);
}

static int meta_put(MDB_txn *txn, MDB_dbi meta, const char *name, const void *p, size_t n)
{
    MDB_val k = mp_lmdb_val(name, strlen(name)), v = mp_lmdb_val(p, n);
    return mdb_put(txn, meta, &k, &v, 0);
}

/* Opens (creating) the DBs, one per table. */
static int open_dbs(struct lmdb_store *s, const char *path, char *err, size_t errcap)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (int t = 0; rc == 0 && t < MP_TABLE_COUNT; t++)
        rc = mdb_dbi_open(txn, mp_store_table_names[t], MDB_CREATE, &s->dbi[t]);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        snprintf(err, errcap, "cannot open LMDB databases in %s: %s", path, mdb_strerror(rc));
        if (txn != NULL)
            mdb_txn_abort(txn);
        return MP_EIO;
    }
    return MP_OK;
}

static uint64_t align_up(uint64_t v)
{
    return (v + MAP_ALIGN - 1) / MAP_ALIGN * MAP_ALIGN;
}

/* map_size 0: 16 MiB; map_size_max 0: 64 x map_size; never below map_size. */
void mp_lmdb_map_sizes(const struct mp_store_options *opts, uint64_t *size, uint64_t *max)
{
    const uint64_t cap = (uint64_t)(SIZE_MAX / 2) / MAP_ALIGN * MAP_ALIGN;
    *size = opts->map_size > 0 ? align_up(opts->map_size) : MP_LMDB_DEFAULT_MAP_SIZE;
    if (*size > cap)
        *size = cap;
    *max = opts->map_size_max;
    if (*max == 0)
        *max = *size <= cap / 64 ? *size * 64 : cap;
    *max = *max > cap ? cap : *max / MAP_ALIGN * MAP_ALIGN;
    if (*max < *size)
        *max = *size;
}

static int init_locks(struct lmdb_store *s)
{
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc != 0)
        return rc;
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&s->resize_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_mutex_init(&s->write_lock, NULL);
    if (rc != 0)
        pthread_rwlock_destroy(&s->resize_lock);
    return rc;
}

/* The environment at path and its DBs; s->env may be set even on failure.
 * A reopen after a swap stops here: the store's meta were checked at its
 * first open, and the new file holds the same records. */
static int open_env(struct lmdb_store *s, const char *path, uint64_t size, char *err, size_t errcap)
{
    int dead = 0;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, (size_t)size);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, MP_TABLE_COUNT + 2);
    if (rc == 0 && reserve_lock_file(s, path, err, errcap) != MP_OK)
        return MP_EIO;
    if (rc == 0)
        rc = mdb_env_open(s->env, path, open_flags(s), 0600);
    s->env_serial = mp_lmdb_env_serial();
    if (rc != 0) {
        snprintf(err, errcap, "cannot open LMDB environment %s: %s", path, mdb_strerror(rc));
        return MP_EIO;
    }
    if (reserve_lock_file(s, path, err, errcap) != MP_OK)
        return MP_EIO;
    mdb_reader_check(s->env, &dead); /* slots left by crashed processes */
    if (mdb_env_get_maxkeysize(s->env) < MP_STORE_KEY_MAX) {
        snprintf(err, errcap, "LMDB at %s allows keys of %d bytes, memproxy needs %d", path,
                 mdb_env_get_maxkeysize(s->env), MP_STORE_KEY_MAX);
        return MP_EIO;
    }
    return open_dbs(s, path, err, errcap);
}

int mp_lmdb_open_store(struct lmdb_store *s, const char *path, uint64_t size, bool keep_secret,
                       char *err, size_t errcap)
{
    char what[PATH_MAX + 16];
    if (open_env(s, path, size, err, errcap) != MP_OK)
        return MP_EIO;
    snprintf(what, sizeof(what), "LMDB store %s", path);
    if (mp_store_backend_attach(&s->base, keep_secret, what, err, errcap) != MP_OK)
        return MP_EIO;
    return mp_store_migrate(&s->base, what, err, errcap); /* format 2: converted in place */
}

void mp_lmdb_close(struct mp_store *store)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    mp_lmdb_drop_spares(s); /* no transaction is open: none takes them meanwhile */
    if (s->env != NULL)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    pthread_mutex_destroy(&s->write_lock);
    mp_seal_key_wipe(&s->base.key);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    free(s);
}

/* A store struct with its locks, not opened yet. */
struct lmdb_store *mp_lmdb_new_store(const char *path, enum mp_store_sync sync,
                                     const struct mp_seal_key *key)
{
    struct lmdb_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (init_locks(s) != 0 || strlen(path) >= sizeof(s->path)) {
        free(s);
        return NULL;
    }
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->base.be = &mp_lmdb_backend;
    s->lock_fd = -1;
    s->sync = sync;
    s->base.sealed = key != NULL;
    if (key != NULL)
        s->base.key = *key;
    return s;
}

/* ---- rewrite: compaction and key rotation ----
 * Every live record is copied into a fresh environment (resealed under the
 * destination's key, user keys hashed when a clear store gets a key), then
 * mdb_env_copy2(MDB_CP_COMPACT) writes that one out without free pages, and
 * the result replaces data.mdb. Freed pages of the old file, which may
 * still hold erased text, are never copied; nothing of them survives the
 * rename. */

struct rewrite {
    struct lmdb_store *src, *dst;
    MDB_txn *rtxn, *wtxn;
    size_t pending;
    char *err;
    size_t errcap;
};

static void remove_env_dir(const char *dir)
{
    char p[PATH_MAX];
    if (join(p, dir, "data.mdb"))
        unlink(p);
    if (join(p, dir, "lock.mdb"))
        unlink(p);
    rmdir(dir);
}

void mp_lmdb_remove_leftovers(const char *path)
{
    char p[PATH_MAX];
    if (join(p, path, REWRITE_DIR))
        remove_env_dir(p);
    if (join(p, path, REWRITE_DIR "-build"))
        remove_env_dir(p);
}

/* The destination's key for a source key of the given shape: n bytes to out. */
static size_t map_key(const struct rewrite *r, enum mp_store_table t, enum mp_store_key_shape shape,
                      const MDB_val *k, unsigned char *out)
{
    const unsigned char *p = k->mv_data;
    bool hash = !r->src->base.sealed && r->dst->base.sealed;
    if (shape == MP_KEY_OPAQUE || !hash) {
        memcpy(out, p, k->mv_size);
        return k->mv_size;
    }
    if (shape == MP_KEY_USER)
        return mp_store_backend_phys_user(&r->dst->base, (const char *)p, k->mv_size, out);
    size_t ulen = (size_t)mp_codec_be_get(p, 2);
    size_t n = mp_store_backend_user_prefix(&r->dst->base, out, (const char *)p + 2, ulen);
    size_t at = 2 + ulen;
    if (shape == MP_KEY_USER_TAG) { /* T(x): the clear x becomes its tag */
        size_t pre = mp_store_table_tag_at[t];
        memcpy(out + n, p + at, pre);
        n += pre;
        at += pre;
        size_t xlen = p[at];
        n += mp_store_backend_tag(&r->dst->base, p + at + 1, xlen, out + n);
        at += 1 + xlen;
    }
    memcpy(out + n, p + at, k->mv_size - at);
    return n + k->mv_size - at;
}

static int commit_batch(struct rewrite *r, bool again)
{
    int rc = mdb_txn_commit(r->wtxn);
    r->wtxn = NULL;
    r->pending = 0;
    if (rc == 0 && again)
        rc = mdb_txn_begin(r->dst->env, NULL, 0, &r->wtxn);
    if (rc != 0)
        snprintf(r->err, r->errcap, "rewriting the store: %s", mdb_strerror(rc));
    return rc == 0 ? MP_OK : rc == MDB_MAP_FULL ? MP_ETOOBIG : MP_EIO;
}

/* A USER_TAG key's tag lies within its n bytes. */
static bool tag_fits(const unsigned char *kp, size_t n, size_t pre)
{
    size_t at = 2 + (size_t)mp_codec_be_get(kp, 2) + pre;
    return at < n && at + 1 + kp[at] <= n;
}

/* One record of table t, opened under src's key, sealed under dst's. */
static int copy_record(struct rewrite *r, enum mp_store_table t, enum mp_store_key_shape shape,
                       const MDB_val *k, const MDB_val *v)
{
    unsigned char kb[MP_STORE_KEY_MAX + KEY_GROWTH], *owned = NULL;
    const unsigned char *sealed;
    size_t n;
    struct mp_store_plain pv;
    const unsigned char *kp = k->mv_data;
    bool prefixed = shape == MP_KEY_USER_PREFIXED || shape == MP_KEY_USER_TAG;
    if (k->mv_size > MP_STORE_KEY_MAX ||
        (prefixed && (k->mv_size < 2 || mp_codec_be_get(kp, 2) + 2 > k->mv_size)) ||
        (shape == MP_KEY_USER_TAG && !tag_fits(kp, k->mv_size, mp_store_table_tag_at[t])))
        return MP_EIO;
    MDB_val nk = mp_lmdb_val(kb, map_key(r, t, shape, k, kb));
    int rc = MP_OK;
    memset(&pv, 0, sizeof(pv));
    if (mp_store_table_raw[t]) {
        sealed = v->mv_data;
        n = v->mv_size;
    } else {
        rc = mp_store_backend_open(&r->src->base, t, k->mv_data, k->mv_size, v->mv_data, v->mv_size,
                                   &pv);
        if (rc == MP_OK)
            rc = mp_store_backend_seal(&r->dst->base, t, nk.mv_data, nk.mv_size, pv.p, pv.n,
                                       &sealed, &n, &owned);
    }
    if (rc == MP_OK) {
        MDB_val nv = mp_lmdb_val(sealed, n);
        int mrc = mdb_put(r->wtxn, r->dst->dbi[t], &nk, &nv, 0);
        rc = mrc == 0 ? MP_OK : mrc == MDB_MAP_FULL ? MP_ETOOBIG : MP_EIO;
    }
    free(owned);
    mp_store_backend_plain_done(&pv);
    if (rc == MP_OK && ++r->pending == REWRITE_BATCH)
        rc = commit_batch(r, true);
    return rc;
}

static int copy_db(struct rewrite *r, enum mp_store_table t, enum mp_store_key_shape shape)
{
    MDB_cursor *c;
    MDB_val k, v;
    int status = MP_OK;
    if (mdb_cursor_open(r->rtxn, r->src->dbi[t], &c) != 0)
        return MP_EIO;
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; status == MP_OK && rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        status = copy_record(r, t, shape, &k, &v);
    mdb_cursor_close(c);
    if (status == MP_OK && rc != MDB_NOTFOUND)
        status = MP_EIO;
    if (status != MP_OK && r->err[0] == '\0')
        snprintf(r->err, r->errcap, "rewriting the store: a record could not be copied%s",
                 status == MP_ETOOBIG ? " (map full)" : "");
    return status;
}

static int copy_all(struct rewrite *r)
{
    MDB_val v;
    int status = MP_OK;
    if (meta_get(r->rtxn, r->src->dbi[MP_TABLE_META], "next_job", &v) == 0 &&
        meta_put(r->wtxn, r->dst->dbi[MP_TABLE_META], "next_job", v.mv_data, v.mv_size) != 0)
        status = MP_EIO;
    for (int t = MP_TABLE_META + 1; status == MP_OK && t < MP_TABLE_COUNT; t++)
        status = copy_db(r, (enum mp_store_table)t, mp_store_table_shapes[t]);
    if (status == MP_OK)
        status = commit_batch(r, false);
    return status;
}

/* Whether the filesystem of src has room for the rewrite: about twice the
 * live pages of every table (the environment built, then its compacted
 * copy, both there until the swap) and a margin. An estimate to refuse
 * early with a reason; a disk that fills anyway fails a write, and the
 * rewrite stops there. */
static int check_room(struct lmdb_store *src, char *err, size_t errcap)
{
    MDB_txn *txn = NULL;
    MDB_stat st;
    struct statvfs fs;
    uint64_t live = 0;
    pthread_rwlock_rdlock(&src->resize_lock);
    for (int t = 0; t < MP_TABLE_COUNT; t++) {
        if ((txn != NULL || mdb_txn_begin(src->env, NULL, MDB_RDONLY, &txn) == 0) &&
            mdb_stat(txn, src->dbi[t], &st) == 0)
            live += (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize;
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&src->resize_lock);
    if (statvfs(src->path, &fs) != 0)
        return MP_OK; /* cannot tell: the writes will */
    uint64_t need = 2 * live + REWRITE_ROOM_MARGIN;
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    if (avail >= need)
        return MP_OK;
    snprintf(err, errcap,
             "not enough free space in %s: the rewrite needs about %llu bytes, %llu are free",
             src->path, (unsigned long long)need, (unsigned long long)avail);
    return MP_EIO;
}

/* A failed rewrite's reason, with the free space left (a short write to a
 * full disk reaches LMDB's callers as EIO, not ENOSPC). */
static void note_free_space(const char *path, char *err, size_t errcap)
{
    struct statvfs fs;
    size_t n = strlen(err);
    if (statvfs(path, &fs) == 0 && n < errcap)
        snprintf(err + n, errcap - n, " (%llu bytes free in %s)",
                 (unsigned long long)fs.f_bavail * fs.f_frsize, path);
}

/* Writes src's live records, under key (NULL: clear), to out_dir/data.mdb
 * without free pages. The caller holds src's write_lock (no writes). */
static int rewrite(struct lmdb_store *src, const struct mp_seal_key *key, const char *out_dir,
                   char *err, size_t errcap)
{
    char build[PATH_MAX];
    MDB_envinfo info;
    struct rewrite r = {.src = src, .err = err, .errcap = errcap};
    int status = MP_EIO, rc;
    err[0] = '\0';
    if (!join(build, src->path, REWRITE_DIR "-build"))
        return MP_EIO;
    if (check_room(src, err, errcap) != MP_OK)
        return MP_EIO;
    remove_env_dir(build);
    remove_env_dir(out_dir);
    r.dst = mp_lmdb_new_store(build, MP_STORE_SYNC_NONE, key);
    if (r.dst == NULL || mkdir(build, 0700) != 0 || mkdir(out_dir, 0700) != 0 ||
        mdb_env_info(src->env, &info) != 0) {
        snprintf(err, errcap, "cannot prepare %s: %s", out_dir, strerror(errno));
        goto out;
    }
    r.dst->private_env = true;
    memcpy(r.dst->base.secret, src->base.secret, sizeof(src->base.secret)); /* ids keep hashes */
    if (mp_lmdb_open_store(r.dst, build, align_up((uint64_t)info.me_mapsize * 2), true, err,
                           errcap) != MP_OK)
        goto out;
    /* A read of src, like any other, holds resize_lock shared: a reader
     * adopting another process's map size must not resize under it. */
    pthread_rwlock_rdlock(&src->resize_lock);
    if (mdb_txn_begin(src->env, NULL, MDB_RDONLY, &r.rtxn) == 0 &&
        mdb_txn_begin(r.dst->env, NULL, 0, &r.wtxn) == 0)
        status = copy_all(&r);
    else
        snprintf(err, errcap, "cannot begin the rewrite of %s", src->path);
    if (r.rtxn != NULL)
        mdb_txn_abort(r.rtxn);
    pthread_rwlock_unlock(&src->resize_lock);
    rc = status == MP_OK ? mdb_env_copy2(r.dst->env, out_dir, MDB_CP_COMPACT) : 0;
    if (rc != 0) {
        snprintf(err, errcap, "cannot write the compacted copy to %s: %s", out_dir,
                 mdb_strerror(rc));
        status = MP_EIO;
    }
out:
    if (r.wtxn != NULL)
        mdb_txn_abort(r.wtxn);
    if (r.dst != NULL)
        mp_lmdb_close(&r.dst->base);
    remove_env_dir(build);
    if (status != MP_OK) {
        remove_env_dir(out_dir);
        note_free_space(src->path, err, errcap);
    }
    return status;
}

/* Readies the new file for the swap: it takes the old one's permissions
 * (mdb_env_copy2() creates it 0666 less the umask: a store of personal
 * data must not become world-readable by being compacted) and reaches the
 * disk before the rename, so that a crash finds one whole file or the
 * other. */
static int settle(const char *from, const char *to, enum mp_store_sync sync)
{
    struct stat st;
    mode_t mode = stat(to, &st) == 0 ? (st.st_mode & 0777) : 0600;
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MP_EIO;
    bool ok = fchmod(fd, mode) == 0 && (sync == MP_STORE_SYNC_NONE || fsync(fd) == 0);
    close(fd);
    return ok ? MP_OK : MP_EIO;
}

static void sync_dir(const char *dir, enum mp_store_sync sync)
{
    int fd = sync == MP_STORE_SYNC_NONE ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    fsync(fd); /* the rename; at worst a crash brings back the old file */
    close(fd);
}

/* Replaces data.mdb with out_dir/data.mdb while no transaction runs, then
 * reopens (reopen) the environment. */
static int swap_in(struct lmdb_store *s, const char *out_dir, bool reopen, char *err, size_t errcap)
{
    char from[PATH_MAX], to[PATH_MAX];
    MDB_envinfo info;
    int status = MP_OK;
    if (!join(from, out_dir, "data.mdb") || !join(to, s->path, "data.mdb"))
        return MP_EIO;
    if (settle(from, to, s->sync) != MP_OK) {
        snprintf(err, errcap, "cannot write %s: %s", from, strerror(errno));
        remove_env_dir(out_dir);
        return MP_EIO;
    }
    pthread_rwlock_wrlock(&s->resize_lock);
    mp_lmdb_drop_spares(s);
    uint64_t size = mdb_env_info(s->env, &info) == 0 ? info.me_mapsize : MP_LMDB_DEFAULT_MAP_SIZE;
    mdb_env_close(s->env);
    s->env = NULL;
    if (rename(from, to) != 0) {
        snprintf(err, errcap, "cannot replace %s: %s", to, strerror(errno));
        status = MP_EIO;
    }
    sync_dir(s->path, s->sync);
    remove_env_dir(out_dir);
    if (reopen && open_env(s, s->path, size, err, errcap) != MP_OK) {
        if (s->env != NULL)
            mdb_env_close(s->env);
        s->env = NULL;
        status = MP_EIO;
    }
    pthread_rwlock_unlock(&s->resize_lock);
    return status;
}

int mp_lmdb_compact(struct mp_store *store, char *err, size_t errcap)
{
    struct lmdb_store *s = (struct lmdb_store *)store;
    char out_dir[PATH_MAX];
    if (!join(out_dir, s->path, REWRITE_DIR))
        return MP_EIO;
    pthread_mutex_lock(&s->write_lock);
    int status = s->env != NULL
                     ? rewrite(s, s->base.sealed ? &s->base.key : NULL, out_dir, err, errcap)
                     : MP_EIO;
    if (status == MP_OK)
        status = swap_in(s, out_dir, true, err, errcap);
    pthread_mutex_unlock(&s->write_lock);
    return status;
}

int mp_store_rekey_lmdb(const struct mp_store_options *opts, const struct mp_seal_key *new_key,
                        char *err, size_t errcap)
{
    struct mp_store *store = NULL;
    char out_dir[PATH_MAX];
    if (new_key == NULL) { /* a clear result would keep hashed user keys: unreadable */
        snprintf(err, errcap, "no new key to rewrite %s under", opts->path);
        return MP_EIO;
    }
    int status = mp_store_open_lmdb(opts, &store, err, errcap);
    if (status != MP_OK)
        return MP_EIO;
    struct lmdb_store *s = (struct lmdb_store *)store;
    status =
        join(out_dir, s->path, REWRITE_DIR) ? rewrite(s, new_key, out_dir, err, errcap) : MP_EIO;
    if (status == MP_OK)
        status = swap_in(s, out_dir, false, err, errcap);
    mp_store_free(store);
    if (status != MP_OK)
        return MP_EIO;
    struct mp_store_options check = *opts;
    check.key = new_key; /* proves the result opens with the new key */
    status = mp_store_open_lmdb(&check, &store, err, errcap);
    mp_store_free(store);
    return status == MP_OK ? MP_OK : MP_EIO;
}
