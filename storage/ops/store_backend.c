/* The op layer's side of the backend contract: the records every backend
 * stores alike (physical user keys, sealed values) and the meta records a
 * store is checked against at open (the layout is in store_backend.h).
 * Nothing here knows which backend runs underneath. */
#include "ops/store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "format/sha256.h"
#include "status.h"

const char *const mp_store_table_names[] = {
    "meta",     "users",  "history", "jobs",    "idem",    "facts",  "factkeys",
    "factrank", "histx",  "archive", "atime",   "docs",    "dterms", "postings",
    "settings", "leases", "heads",   "prints",  "layouts", "turns",  "sides",
    "convs",    "told",   "links",   "vectors", "spend"};
_Static_assert(sizeof(mp_store_table_names) / sizeof(mp_store_table_names[0]) == MP_TABLE_COUNT,
               "a name for every table");

const enum mp_store_key_shape mp_store_table_shapes[MP_TABLE_COUNT] = {
    [MP_TABLE_META] = MP_KEY_OPAQUE,           [MP_TABLE_USERS] = MP_KEY_USER,
    [MP_TABLE_HISTORY] = MP_KEY_USER_PREFIXED, [MP_TABLE_JOBS] = MP_KEY_OPAQUE,
    [MP_TABLE_IDEM] = MP_KEY_USER_PREFIXED,    [MP_TABLE_FACTS] = MP_KEY_USER_PREFIXED,
    [MP_TABLE_FACTKEYS] = MP_KEY_USER_TAG,     [MP_TABLE_FACTRANK] = MP_KEY_USER_TAG,
    [MP_TABLE_HISTX] = MP_KEY_USER_TAG,        [MP_TABLE_ARCHIVE] = MP_KEY_USER_PREFIXED,
    [MP_TABLE_ATIME] = MP_KEY_USER_PREFIXED,   [MP_TABLE_DOCS] = MP_KEY_USER_PREFIXED,
    [MP_TABLE_DTERMS] = MP_KEY_USER_PREFIXED,  [MP_TABLE_POSTINGS] = MP_KEY_USER_TAG,
    [MP_TABLE_SETTINGS] = MP_KEY_USER,         [MP_TABLE_LEASES] = MP_KEY_OPAQUE,
    [MP_TABLE_HEADS] = MP_KEY_USER_TAG,        [MP_TABLE_PRINTS] = MP_KEY_USER_TAG,
    [MP_TABLE_LAYOUTS] = MP_KEY_USER_PREFIXED, [MP_TABLE_TURNS] = MP_KEY_USER_PREFIXED,
    [MP_TABLE_SIDES] = MP_KEY_USER_TAG,        [MP_TABLE_CONVS] = MP_KEY_USER_PREFIXED,
    [MP_TABLE_TOLD] = MP_KEY_USER_TAG,         [MP_TABLE_LINKS] = MP_KEY_OPAQUE,
    [MP_TABLE_VECTORS] = MP_KEY_USER_PREFIXED, [MP_TABLE_SPEND] = MP_KEY_OPAQUE,
};

const unsigned char mp_store_table_tag_at[MP_TABLE_COUNT] = {
    [MP_TABLE_FACTRANK] = 11, /* trust, confidence, observed time (store_facts.c) */
};

const bool mp_store_table_raw[MP_TABLE_COUNT] = {
    [MP_TABLE_FACTRANK] = true,
    [MP_TABLE_HISTX] = true,
    [MP_TABLE_ATIME] = true,
};

static const char index_label[] = "memproxy user index v1";
static const char route_label[] = "memproxy prompt_cache_key v1";
static const char links_label[] = "memproxy page links v1";
static const char tag_label[] = "tag:";

/* ---- keys ---- */

size_t mp_store_backend_phys_user(const struct mp_store *store, const char *user, size_t len,
                                  unsigned char *out)
{
    size_t n = 0;
    if (!store->sealed) {
        memcpy(out, user, len);
        return len;
    }
    if ((unsigned char)user[0] == MP_USER_KEY_TENANT) {
        out[n++] = MP_USER_KEY_TENANT;
        memcpy(out + n, user + 1, MP_TENANT_LEN);
        n += MP_TENANT_LEN;
    } else {
        out[n++] = 0;
    }
    mp_hmac_sha256(store->index_key, MP_SEAL_KEY_LEN, user, len, out + n);
    return n + 32;
}

size_t mp_store_backend_user_prefix(const struct mp_store *store, unsigned char *k,
                                    const char *user, size_t len)
{
    size_t n = mp_store_backend_phys_user(store, user, len, k + 2);
    mp_codec_be_put(k, n, 2);
    return 2 + n;
}

size_t mp_store_backend_tag(const struct mp_store *store, const void *x, size_t len,
                            unsigned char *out)
{
    unsigned char in[sizeof(tag_label) - 1 + MP_STORE_TAG_MAX], mac[32];
    if (!store->sealed) {
        out[0] = (unsigned char)len;
        memcpy(out + 1, x, len);
        return 1 + len;
    }
    memcpy(in, tag_label, sizeof(tag_label) - 1);
    memcpy(in + sizeof(tag_label) - 1, x, len);
    mp_hmac_sha256(store->index_key, MP_SEAL_KEY_LEN, in, sizeof(tag_label) - 1 + len, mac);
    out[0] = 16;
    memcpy(out + 1, mac, 16);
    return 17;
}

int mp_store_backend_put_raw(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                             size_t klen)
{
    static const unsigned char zero = 0;
    return txn->store->be->put(txn, t, key, klen, &zero, 1);
}

/* ---- values: sealed with the table and key as associated data ---- */

static size_t aad_of(enum mp_store_table t, const void *key, size_t klen, unsigned char *aad)
{
    const char *name = mp_store_table_names[t];
    size_t n = strlen(name) + 1; /* with its NUL: "users" + key never equals "user" + "s..." */
    memcpy(aad, name, n);
    memcpy(aad + n, key, klen);
    return n + klen;
}

int mp_store_backend_seal(const struct mp_store *store, enum mp_store_table t, const void *key,
                          size_t klen, const void *plain, size_t n, const unsigned char **out,
                          size_t *outn, unsigned char **owned)
{
    unsigned char aad[16 + MP_STORE_KEY_MAX];
    *owned = NULL;
    if (!store->sealed) {
        *out = plain;
        *outn = n;
        return MP_OK;
    }
    unsigned char *buf = malloc(n + MP_SEAL_OVERHEAD);
    if (buf == NULL)
        return MP_ENOMEM;
    size_t alen = aad_of(t, key, klen, aad);
    if (mp_seal_encrypt(&store->key, aad, alen, plain, n, buf) != MP_OK) {
        free(buf);
        return MP_EIO;
    }
    *out = *owned = buf;
    *outn = n + MP_SEAL_OVERHEAD;
    return MP_OK;
}

int mp_store_backend_put(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                         size_t klen, const void *plain, size_t n)
{
    const unsigned char *v;
    unsigned char *owned;
    size_t vn;
    int rc = mp_store_backend_seal(txn->store, t, key, klen, plain, n, &v, &vn, &owned);
    if (rc == MP_OK)
        rc = txn->store->be->put(txn, t, key, klen, v, vn);
    free(owned);
    return rc;
}

int mp_store_backend_open(const struct mp_store *store, enum mp_store_table t, const void *key,
                          size_t klen, const unsigned char *v, size_t vn,
                          struct mp_store_plain *out)
{
    unsigned char aad[16 + MP_STORE_KEY_MAX];
    out->owned = NULL;
    if (!store->sealed) {
        out->p = v;
        out->n = vn;
        return MP_OK;
    }
    if (vn < MP_SEAL_OVERHEAD)
        return MP_EIO;
    out->n = vn - MP_SEAL_OVERHEAD;
    out->owned = malloc(out->n + 1);
    if (out->owned == NULL)
        return MP_ENOMEM;
    size_t alen = aad_of(t, key, klen, aad);
    if (mp_seal_decrypt(&store->key, aad, alen, v, vn, out->owned) != MP_OK) {
        free(out->owned);
        out->owned = NULL;
        return MP_EIO; /* tampered, or sealed under another key */
    }
    out->p = out->owned;
    return MP_OK;
}

int mp_store_backend_get_plain(struct mp_store_txn *txn, enum mp_store_table t, const void *key,
                               size_t klen, struct mp_store_plain *out)
{
    const unsigned char *v;
    size_t vn;
    memset(out, 0, sizeof(*out));
    int rc = txn->store->be->get(txn, t, key, klen, &v, &vn);
    return rc == MP_OK ? mp_store_backend_open(txn->store, t, key, klen, v, vn, out) : rc;
}

struct stored_scan {
    size_t plen, idlen;
    mp_store_stored_fn fn;
    void *arg;
};

static int on_stored(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                     size_t vlen)
{
    struct stored_scan *ss = arg;
    if (klen != ss->plen + ss->idlen)
        return MP_STORE_SCAN_STOP;
    return ss->fn(ss->arg, key, klen, val, vlen);
}

int mp_store_backend_scan_stored(struct mp_store_txn *txn, enum mp_store_table t,
                                 const unsigned char *start, size_t slen, size_t plen, size_t idlen,
                                 mp_store_stored_fn fn, void *arg)
{
    struct stored_scan ss = {plen, idlen, fn, arg};
    return txn->store->be->scan(txn, t, start, slen, plen, on_stored, &ss);
}

struct plain_scan {
    const struct mp_store *store;
    enum mp_store_table t;
    size_t plen;
    mp_store_plain_fn fn;
    void *arg;
};

static int on_plain(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                    size_t vlen)
{
    struct plain_scan *ps = arg;
    struct mp_store_plain pv;
    int rc = mp_store_backend_open(ps->store, ps->t, key, klen, val, vlen, &pv);
    if (rc == MP_OK)
        rc = ps->fn(ps->arg, key + ps->plen, &pv);
    mp_store_backend_plain_done(&pv);
    return rc;
}

int mp_store_backend_scan_plain(struct mp_store_txn *txn, enum mp_store_table t,
                                const unsigned char *start, size_t slen, size_t plen, size_t idlen,
                                mp_store_plain_fn fn, void *arg)
{
    struct plain_scan ps = {txn->store, t, plen, fn, arg};
    return mp_store_backend_scan_stored(txn, t, start, slen, plen, idlen, on_plain, &ps);
}

void mp_store_backend_plain_done(struct mp_store_plain *v)
{
    free(v->owned);
    v->owned = NULL;
}

int mp_store_backend_grow(void *items, size_t *cap, size_t n, size_t size)
{
    void *p;
    if (n < *cap)
        return MP_OK;
    size_t want = *cap > 0 ? *cap * 2 : 16;
    memcpy(&p, items, sizeof(p)); /* items is a T **: read it as bytes, not as a void ** */
    p = realloc(p, want * size);
    if (p == NULL)
        return MP_ENOMEM;
    memcpy(items, &p, sizeof(p));
    *cap = want;
    return MP_OK;
}

static int on_user_key(void *arg, const unsigned char *key, size_t klen, const unsigned char *v,
                       size_t vn)
{
    struct mp_store_user_keys *l = arg;
    (void)v;
    (void)vn;
    if (klen > MP_STORE_PHYS_USER_MAX)
        return MP_EIO;
    if (mp_store_backend_grow(&l->k, &l->kcap, l->n, sizeof(*l->k)) != MP_OK ||
        mp_store_backend_grow(&l->len, &l->lcap, l->n, sizeof(*l->len)) != MP_OK)
        return MP_ENOMEM;
    memcpy(l->k[l->n], key, klen);
    l->len[l->n++] = klen;
    return MP_OK;
}

int mp_store_user_keys(struct mp_store_txn *txn, struct mp_store_user_keys *out)
{
    return txn->store->be->scan(txn, MP_TABLE_USERS, NULL, 0, 0, on_user_key, out);
}

void mp_store_user_keys_free(struct mp_store_user_keys *keys)
{
    free(keys->k);
    free(keys->len);
    memset(keys, 0, sizeof(*keys));
}

/* ---- meta: format, key id and secret, checked at open ---- */

static int meta_get(struct mp_store_txn *txn, const char *name, const unsigned char **v, size_t *n)
{
    return txn->store->be->get(txn, MP_TABLE_META, name, strlen(name), v, n);
}

static int meta_put(struct mp_store_txn *txn, const char *name, const void *p, size_t n)
{
    return txn->store->be->put(txn, MP_TABLE_META, name, strlen(name), p, n);
}

/* A new store: its format, key id and a fresh secret (or the one given,
 * when a rewrite carries a store's secret over). */
static int init_meta(struct mp_store_txn *txn, bool keep_secret, const char *what, char *err,
                     size_t errcap)
{
    struct mp_store *s = txn->store;
    unsigned char b[4];
    mp_codec_le_put(b, MP_STORE_FORMAT_VERSION, 4);
    int rc = meta_put(txn, "format", b, 4);
    if (rc == MP_OK && s->sealed) {
        mp_codec_le_put(b, s->key.id, 4);
        rc = meta_put(txn, "key_id", b, 4);
    }
    if (rc == MP_OK && !keep_secret && mp_seal_random(s->secret, sizeof(s->secret)) != MP_OK) {
        snprintf(err, errcap, "cannot initialize %s: no random bytes", what);
        return MP_EIO;
    }
    if (rc == MP_OK)
        rc = mp_store_backend_put(txn, MP_TABLE_META, "secret", 6, s->secret, sizeof(s->secret));
    if (rc != MP_OK)
        snprintf(err, errcap, "cannot initialize %s: %s", what,
                 rc == MP_ETOOBIG ? "no space left" : "write failed");
    return rc;
}

/* The configured key against the store's key id. */
static int check_key_id(struct mp_store_txn *txn, const char *what, char *err, size_t errcap)
{
    struct mp_store *s = txn->store;
    const unsigned char *v;
    size_t n;
    int rc = meta_get(txn, "key_id", &v, &n);
    bool has_id = rc == MP_OK && n == 4;
    uint32_t id = has_id ? (uint32_t)mp_codec_le_get(v, 4) : 0;
    if (has_id && !s->sealed) {
        snprintf(err, errcap, "%s is encrypted (key id %08x): set [storage] encryption_key_file",
                 what, id);
        return MP_EIO;
    }
    if (!has_id && s->sealed) {
        snprintf(err, errcap,
                 "%s holds data in clear: encrypt it first with "
                 "'memproxy --rotate-key NEW_KEY_FILE' (without encryption_key_file set)",
                 what);
        return MP_EIO;
    }
    if (has_id && id != s->key.id) {
        snprintf(err, errcap,
                 "%s is encrypted with key id %08x; the configured key has id %08x "
                 "(wrong key file?)",
                 what, id, s->key.id);
        return MP_EIO;
    }
    return MP_OK;
}

/* An existing store: key and secret must agree with the configured key. */
static int check_key(struct mp_store_txn *txn, const char *what, char *err, size_t errcap)
{
    struct mp_store *s = txn->store;
    struct mp_store_plain pv = {NULL, 0, NULL};
    const unsigned char *v;
    size_t n;
    if (check_key_id(txn, what, err, errcap) != MP_OK)
        return MP_EIO;
    int rc = meta_get(txn, "secret", &v, &n);
    if (rc == MP_OK)
        rc = mp_store_backend_open(s, MP_TABLE_META, "secret", 6, v, n, &pv);
    if (rc == MP_OK && pv.n != sizeof(s->secret))
        rc = MP_EIO;
    if (rc == MP_OK)
        memcpy(s->secret, pv.p, sizeof(s->secret));
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK) {
        snprintf(err, errcap, "cannot read the secret of %s%s", what,
                 s->sealed ? ": wrong encryption key, or the store is damaged" : "");
        return MP_EIO;
    }
    return MP_OK;
}

/* *convert: the store is of a format before this one (3 to 11), which
 * mp_store_backend_attach() converts once the index key is known: 3 to 7
 * have this format's records but for the messages' languages and the
 * terms of the index (made by reading every text as English); 8 to 10
 * have them all but the told records; 10 and 11 keep a conversation in
 * one record. 0: none to convert (this format, a new store, or 2:
 * mp_store_migrate()). */
static int check_meta(struct mp_store_txn *txn, bool keep_secret, const char *what, char *err,
                      size_t errcap, uint32_t *convert)
{
    const unsigned char *v;
    size_t n;
    int rc = meta_get(txn, "format", &v, &n);
    if (rc == MP_NOTFOUND)
        return init_meta(txn, keep_secret, what, err, errcap);
    if (rc != MP_OK || n != 4) {
        snprintf(err, errcap, "%s has a corrupt format record", what);
        return MP_EIO;
    }
    uint64_t version = mp_codec_le_get(v, 4);
    /* 3 to 7: the records are this format's but the heads (format 5's
       postings carry their item's length; the older ones without it are
       read as before), the messages' conversations (none: as format 6)
       and languages, the index's terms and the told records; 8 and 9 (a
       user record gets its facts stamp at its next fact write;
       recognition's tables start empty) and 10 but the told records; 11
       but the conversations' records. The conversion writes the number, so
       that an older release, which would refuse a stamped user record, a
       history entry of actor client_text or with a reason, or a
       conversation's head record, refuses the store */
    *convert = version >= 3 && version < MP_STORE_FORMAT_VERSION ? (uint32_t)version : 0;
    if (version != MP_STORE_FORMAT_VERSION && version != 2 &&
        *convert == 0) { /* 2: mp_store_migrate() */
        snprintf(err, errcap, "%s has record format version %llu; this build reads version %u",
                 what, (unsigned long long)version, MP_STORE_FORMAT_VERSION);
        return MP_EIO;
    }
    return check_key(txn, what, err, errcap);
}

int mp_store_backend_attach(struct mp_store *store, bool keep_secret, const char *what, char *err,
                            size_t errcap)
{
    struct mp_store_txn txn;
    uint32_t convert = 0;
    int rc;
    for (;;) {
        if (store->be->begin(store, true, &txn) != MP_OK) {
            snprintf(err, errcap, "cannot begin a transaction on %s", what);
            return MP_EIO;
        }
        rc = check_meta(&txn, keep_secret, what, err, errcap, &convert);
        int end = store->be->end(&txn, rc == MP_OK);
        if (end == MP_AGAIN)
            continue; /* grown: once more */
        if (rc != MP_OK)
            return MP_EIO;
        if (end != MP_OK) {
            snprintf(err, errcap, "cannot initialize %s: the commit failed", what);
            return MP_EIO;
        }
        break;
    }
    mp_hmac_sha256(store->secret, MP_SEAL_KEY_LEN, index_label, sizeof(index_label) - 1,
                   store->index_key);
    mp_hmac_sha256(store->secret, MP_SEAL_KEY_LEN, route_label, sizeof(route_label) - 1,
                   store->route_key);
    mp_hmac_sha256(store->secret, MP_SEAL_KEY_LEN, links_label, sizeof(links_label) - 1,
                   store->links_key);
    store->max_facts = MP_STORE_FACTS_DEFAULT;
    store->conv_max = MP_STORE_CONVS_PER_USER;
    store->conv_bytes = 1u << 20;
    store->archive = true;
    if (convert != 0 && convert < MP_STORE_FORMAT_LANGS)
        return mp_store_migrate_lang(store, convert, what, err, errcap);
    if (convert != 0 && convert < MP_STORE_FORMAT_TOLD)
        return mp_store_migrate_told(store, convert, what, err, errcap);
    return convert != 0 ? mp_store_migrate_convs(store, convert, what, err, errcap) : MP_OK;
}

int mp_store_backend_key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
                             size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    return c != 0 ? c : alen < blen ? -1 : alen > blen;
}

size_t mp_store_backend_prefix_end(const unsigned char *p, size_t n, unsigned char *out)
{
    while (n > 0 && p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return 0;
    memcpy(out, p, n);
    out[n - 1]++;
    return n;
}
