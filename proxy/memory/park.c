/* Parked turns on disk (see park.h).
 *
 * Plain layout before sealing (numbers big-endian):
 *   "MPPARK1\n" | u32 count | count x turn
 *   turn: u16 user_len, user | u8 id_len, request id | u8 model_len, model |
 *         idem key (32) | u8 flags (1 summarize, 2 extract, 4 conversation,
 *         8 reply reference, 16 tool loop) | u64 at_ms | (flag 4) u64 conv,
 *         u8 conv_kind | (flag 8) u64 reply_ref | (flag 16) u8 loop kind,
 *         u8 nkeep, nkeep x key (32), u8 nfind, nfind x key (32) |
 *         u16 ntexts | ntexts x (u32 len, text)
 * A turn of no known conversation is written without flag 4, as before
 * turns knew theirs, one without a reply reference without flag 8, and
 * one that is no tool loop's round without flag 16 (a loop's link has
 * one text, its empty reply).
 * The sealed file is mp_seal_encrypt(key, "memproxy parked turns v1", plain)
 * with key = HMAC-SHA256(store secret, "memproxy park key v1"). */
#include "memory/park.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "format/codec.h"
#include "ops/store.h"
#include "wire/convid.h"
#include "format/sha256.h"
#include "status.h"

static const char magic[8] = {'M', 'P', 'P', 'A', 'R', 'K', '1', '\n'};
static const char aad[] = "memproxy parked turns v1";
static const char prefix[] = "parked-";
static const char suffix[] = ".turns";

static int park_key(const unsigned char secret[MP_SEAL_KEY_LEN], struct mp_seal_key *key)
{
    static const char label[] = "memproxy park key v1";
    unsigned char raw[MP_SEAL_KEY_LEN];
    char why[64];
    mp_hmac_sha256(secret, MP_SEAL_KEY_LEN, label, sizeof(label) - 1, raw);
    int rc = mp_seal_key_parse(raw, sizeof(raw), key, why, sizeof(why));
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc == MP_OK ? MP_OK : MP_EIO;
}

/* ---- serializing ---- */

static bool has_conv(const struct mp_turn *t)
{
    return t->conv != 0 || t->conv_kind != 0;
}

static bool in_loop(const struct mp_turn *t)
{
    return t->loop != MP_TURN_PLAIN;
}

static size_t turn_size(const struct mp_turn *t)
{
    size_t n = 2 + t->user_len + 1 + strlen(t->request_id) + 1 + strlen(t->model) +
               MP_IDEM_KEY_LEN + 1 + 8 + (has_conv(t) ? 9 : 0) + (t->reply_ref != 0 ? 8 : 0) + 2;
    if (in_loop(t))
        n += 3 + (t->nkeep + t->nfind) * MP_IDEM_KEY_LEN;
    for (size_t i = 0; i < t->ntexts; i++)
        n += 4 + t->lens[i];
    return n;
}

static unsigned char *put(unsigned char *p, const void *v, size_t n)
{
    memcpy(p, v, n);
    return p + n;
}

static unsigned char *put_num(unsigned char *p, uint64_t v, size_t width)
{
    mp_codec_be_put(p, v, width);
    return p + width;
}

static unsigned char *put_turn(unsigned char *p, const struct mp_turn *t)
{
    size_t id_len = strlen(t->request_id), model_len = strlen(t->model);
    p = put(put_num(p, t->user_len, 2), t->user, t->user_len);
    p = put(put_num(p, id_len, 1), t->request_id, id_len);
    p = put(put_num(p, model_len, 1), t->model, model_len);
    p = put(p, t->idem_key, MP_IDEM_KEY_LEN);
    p = put_num(p,
                (t->summarize ? 1u : 0u) | (t->extract ? 2u : 0u) | (has_conv(t) ? 4u : 0u) |
                    (t->reply_ref != 0 ? 8u : 0u) | (in_loop(t) ? 16u : 0u),
                1);
    p = put_num(p, (uint64_t)t->at_ms, 8);
    if (has_conv(t))
        p = put_num(put_num(p, t->conv, 8), t->conv_kind, 1);
    if (t->reply_ref != 0)
        p = put_num(p, t->reply_ref, 8);
    if (in_loop(t)) {
        p = put(put_num(put_num(p, t->loop, 1), t->nkeep, 1), t->keep, t->nkeep * MP_IDEM_KEY_LEN);
        p = put(put_num(p, t->nfind, 1), t->find, t->nfind * MP_IDEM_KEY_LEN);
    }
    p = put_num(p, t->ntexts, 2);
    for (size_t i = 0; i < t->ntexts; i++)
        p = put(put_num(p, t->lens[i], 4), t->texts[i], t->lens[i]);
    return p;
}

/* ---- parsing ---- */

struct reader {
    const unsigned char *p;
    size_t left;
    bool bad;
};

static uint64_t get_num(struct reader *r, size_t width)
{
    if (r->bad || r->left < width) {
        r->bad = true;
        return 0;
    }
    uint64_t v = mp_codec_be_get(r->p, width);
    r->p += width;
    r->left -= width;
    return v;
}

static void get_bytes(struct reader *r, void *out, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
}

/* A string of a width-byte length into out (cap bytes with its NUL). */
static void get_string(struct reader *r, size_t width, char *out, size_t cap)
{
    size_t n = (size_t)get_num(r, width);
    if (n >= cap)
        r->bad = true;
    get_bytes(r, out, r->bad ? 0 : n);
    if (!r->bad)
        out[n] = '\0';
}

/* A tool loop's round (flag 16): its kind and keys. */
static void get_loop(struct reader *r, struct mp_turn *t)
{
    unsigned kind = (unsigned)get_num(r, 1);
    t->nkeep = (size_t)get_num(r, 1);
    if (kind < MP_TURN_LOOP_START || kind > MP_TURN_LOOP_END || t->nkeep > MP_TURN_LOOP_KEYS)
        r->bad = true;
    get_bytes(r, t->keep, r->bad ? 0 : t->nkeep * MP_IDEM_KEY_LEN);
    t->nfind = (size_t)get_num(r, 1);
    if (t->nfind > MP_TURN_LOOP_KEYS)
        r->bad = true;
    get_bytes(r, t->find, r->bad ? 0 : t->nfind * MP_IDEM_KEY_LEN);
    t->loop = r->bad ? MP_TURN_PLAIN : (enum mp_turn_loop)kind;
}

static int get_texts(struct reader *r, struct mp_turn *t)
{
    size_t n = (size_t)get_num(r, 2);
    if (n < (t->loop == MP_TURN_PLAIN ? 2 : 1) || n > MP_TURN_MAX_USER_TEXTS + 1)
        r->bad = true;
    for (size_t i = 0; i < n && !r->bad; i++) {
        size_t len = (size_t)get_num(r, 4);
        if (len > MP_TURN_TEXT_KEEP || r->bad || r->left < len) {
            r->bad = true;
            break;
        }
        t->texts[i] = malloc(len + 1);
        if (t->texts[i] == NULL)
            return MP_ENOMEM;
        t->ntexts++;
        get_bytes(r, t->texts[i], len);
        t->texts[i][len] = '\0';
        t->lens[i] = len;
        t->bytes += len + 1;
    }
    return r->bad ? MP_EINVAL : MP_OK;
}

static int get_turn(struct reader *r, struct mp_turn **out)
{
    struct mp_turn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MP_ENOMEM;
    t->bytes = sizeof(*t);
    t->user_len = (size_t)get_num(r, 2);
    if (t->user_len == 0 || t->user_len > MP_USER_KEY_MAX)
        r->bad = true;
    get_bytes(r, t->user, r->bad ? 0 : t->user_len);
    get_string(r, 1, t->request_id, sizeof(t->request_id));
    get_string(r, 1, t->model, sizeof(t->model));
    get_bytes(r, t->idem_key, MP_IDEM_KEY_LEN);
    unsigned flags = (unsigned)get_num(r, 1);
    t->summarize = (flags & 1) != 0;
    t->extract = (flags & 2) != 0;
    t->at_ms = (int64_t)get_num(r, 8);
    if ((flags & 4) != 0) {
        t->conv = get_num(r, 8);
        t->conv_kind = (uint8_t)get_num(r, 1);
    }
    if ((flags & 8) != 0) {
        t->reply_ref = get_num(r, 8);
        r->bad = r->bad || t->reply_ref == 0;
    }
    if ((flags & 16) != 0)
        get_loop(r, t);
    if (flags > 31 || t->conv_kind > MP_CONVID_KIND_MAX)
        r->bad = true;
    int rc = r->bad ? MP_EINVAL : get_texts(r, t);
    if (rc != MP_OK) {
        mp_turn_free(t);
        return rc;
    }
    *out = t;
    return MP_OK;
}

/* ---- files ---- */

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MP_EIO;
        p += w;
        n -= (size_t)w;
    }
    return MP_OK;
}

/* Writes data to dir/name through a temporary file, fsync'd, renamed. */
static int write_file(const char *dir, const char *name, const unsigned char *data, size_t n,
                      char *err, size_t errcap)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errcap, "cannot create a park file in %s: %s", dir, strerror(errno));
        return MP_EIO;
    }
    int rc = write_all(fd, data, n);
    if (rc == MP_OK && fsync(fd) != 0)
        rc = MP_EIO;
    if (close(fd) != 0)
        rc = MP_EIO;
    if (rc == MP_OK && rename(tmp, path) != 0)
        rc = MP_EIO;
    if (rc != MP_OK) {
        snprintf(err, errcap, "cannot write a park file in %s: %s", dir, strerror(errno));
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a crash */
        close(dfd);
    }
    return MP_OK;
}

int mp_park_write(const char *dir, const unsigned char secret[MP_SEAL_KEY_LEN],
                  struct mp_turn *const *turns, size_t n, char *err, size_t errcap)
{
    struct mp_seal_key key;
    size_t plain_len = sizeof(magic) + 4;
    for (size_t i = 0; i < n; i++)
        plain_len += turn_size(turns[i]);
    if (plain_len > MP_PARK_MAX_BYTES) {
        snprintf(err, errcap, "parked turns too large (%zu bytes)", plain_len);
        return MP_EIO;
    }
    unsigned char *plain = malloc(plain_len);
    unsigned char *sealed = malloc(plain_len + MP_SEAL_OVERHEAD);
    int rc = plain != NULL && sealed != NULL ? MP_OK : MP_ENOMEM;
    if (rc == MP_OK) {
        unsigned char *p = put_num(put(plain, magic, sizeof(magic)), n, 4);
        for (size_t i = 0; i < n; i++)
            p = put_turn(p, turns[i]);
        rc = park_key(secret, &key);
    }
    if (rc == MP_OK) {
        rc = mp_seal_encrypt(&key, aad, sizeof(aad) - 1, plain, plain_len, sealed);
        mp_seal_key_wipe(&key);
    }
    if (rc == MP_OK) {
        char name[96];
        snprintf(name, sizeof(name), "%s%013lld-%ld%s", prefix, (long long)mp_clock_now_ms(),
                 (long)getpid(), suffix);
        rc = write_file(dir, name, sealed, plain_len + MP_SEAL_OVERHEAD, err, errcap);
    } else if (rc == MP_EIO) {
        snprintf(err, errcap, "cannot seal the parked turns");
    }
    if (plain != NULL)
        OPENSSL_cleanse(plain, plain_len);
    free(plain);
    free(sealed);
    return rc;
}

/* Reads a whole file (at most MP_PARK_MAX_BYTES + MP_SEAL_OVERHEAD). */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return MP_EIO;
    if (fstat(fd, &st) != 0 || st.st_size < 0 ||
        (uint64_t)st.st_size > (uint64_t)MP_PARK_MAX_BYTES + MP_SEAL_OVERHEAD) {
        close(fd);
        return MP_EIO;
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(n > 0 ? n : 1);
    while (buf != NULL && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (buf == NULL || got != n) {
        free(buf);
        return buf == NULL ? MP_ENOMEM : MP_EIO;
    }
    *out = buf;
    *len = n;
    return MP_OK;
}

/* Opens one park file and hands its turns to fn. */
static int load_file(const char *path, const unsigned char secret[MP_SEAL_KEY_LEN],
                     mp_park_turn_fn fn, void *arg, size_t *nturns)
{
    unsigned char *sealed = NULL, *plain = NULL;
    size_t len = 0;
    struct mp_seal_key key;
    int rc = read_file(path, &sealed, &len);
    if (rc == MP_OK && len < MP_SEAL_OVERHEAD + sizeof(magic) + 4)
        rc = MP_EIO;
    if (rc == MP_OK)
        rc = (plain = malloc(len - MP_SEAL_OVERHEAD)) != NULL ? park_key(secret, &key) : MP_ENOMEM;
    if (rc == MP_OK) {
        rc = mp_seal_decrypt(&key, aad, sizeof(aad) - 1, sealed, len, plain) == MP_OK ? MP_OK
                                                                                      : MP_EIO;
        mp_seal_key_wipe(&key);
    }
    struct reader r = {.p = plain, .left = len > MP_SEAL_OVERHEAD ? len - MP_SEAL_OVERHEAD : 0};
    if (rc == MP_OK && memcmp(plain, magic, sizeof(magic)) != 0)
        rc = MP_EIO;
    if (rc == MP_OK) {
        r.p += sizeof(magic);
        r.left -= sizeof(magic);
        uint64_t count = get_num(&r, 4);
        for (uint64_t i = 0; i < count && rc == MP_OK; i++) {
            struct mp_turn *t = NULL;
            rc = get_turn(&r, &t);
            if (rc == MP_OK) {
                fn(t, arg);
                (*nturns)++;
            }
        }
    }
    if (plain != NULL)
        OPENSSL_cleanse(plain, len - MP_SEAL_OVERHEAD);
    free(plain);
    free(sealed);
    return rc == MP_ENOMEM ? MP_ENOMEM : rc == MP_OK ? MP_OK : MP_EIO;
}

static bool is_park_file(const char *name)
{
    size_t n = strlen(name), ps = sizeof(prefix) - 1, ss = sizeof(suffix) - 1;
    return n > ps + ss && memcmp(name, prefix, ps) == 0 && strcmp(name + n - ss, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The park files in dir, sorted by name (= by time). */
static int list_files(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t count = 0;
    if (d == NULL)
        return errno == ENOENT ? MP_OK : MP_EIO;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (!is_park_file(e->d_name))
            continue;
        char **grown = realloc(names, (count + 1) * sizeof(*names));
        char *copy = strdup(e->d_name);
        if (grown == NULL || copy == NULL) {
            free(copy);
            names = grown != NULL ? grown : names;
            break;
        }
        names = grown;
        names[count++] = copy;
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof(*names), by_name);
    *out = names;
    *n = count;
    return MP_OK;
}

int mp_park_load(const char *dir, const unsigned char secret[MP_SEAL_KEY_LEN], mp_park_turn_fn fn,
                 int (*done)(void *arg), void *arg, size_t *nturns, char *err, size_t errcap)
{
    char **names = NULL;
    size_t n = 0;
    int status = list_files(dir, &names, &n);
    *nturns = 0;
    if (status != MP_OK)
        snprintf(err, errcap, "cannot list %s for parked turns: %s", dir, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int rc = load_file(path, secret, fn, arg, nturns);
        if (rc == MP_OK)
            rc = done(arg);
        if (rc == MP_OK) {
            unlink(path);
        } else {
            snprintf(err, errcap, "parked turns in %s could not be recorded (kept)", path);
            status = MP_EIO;
        }
        free(names[i]);
    }
    free(names);
    return status;
}
