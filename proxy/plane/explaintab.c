/* The explanation table (explaintab.h): a small array under one mutex.
 * Puts and gets are rare (an operator asked for them), so a linear scan
 * of at most MP_EXPLAINTAB_MAX entries is all the lookup needs. */
#include "plane/explaintab.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "net/access.h"
#include "format/seal.h"
#include "status.h"

struct entry {
    char id[MP_EXPLAINTAB_ID_LEN + 1]; /* "" when free */
    char user[MP_USER_HASH_LEN + 1];   /* the keyed hash of its user */
    int64_t at_ms;
    char *text;
    size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[MP_EXPLAINTAB_MAX];
static size_t bytes;

static void drop(struct entry *e)
{
    bytes -= e->len;
    free(e->text);
    memset(e, 0, sizeof(*e));
}

/* Drops the expired, then the oldest while len more bytes or one more
 * entry would not fit; returns a free slot. */
static struct entry *make_room(size_t len, int64_t now_ms)
{
    struct entry *free_slot = NULL;
    for (;;) {
        struct entry *oldest = NULL;
        for (size_t i = 0; i < MP_EXPLAINTAB_MAX; i++) {
            struct entry *e = &table[i];
            if (e->id[0] != '\0' && now_ms - e->at_ms >= MP_EXPLAINTAB_TTL_MS)
                drop(e);
            if (e->id[0] == '\0') {
                free_slot = free_slot != NULL ? free_slot : e;
                continue;
            }
            if (oldest == NULL || e->at_ms < oldest->at_ms)
                oldest = e;
        }
        if ((free_slot != NULL && bytes + len <= MP_EXPLAINTAB_BYTES_MAX) || oldest == NULL)
            return free_slot;
        drop(oldest);
    }
}

int mp_explaintab_put(const char *text, size_t len, const char *user, size_t user_len,
                      int64_t now_ms, char *id)
{
    unsigned char raw[MP_EXPLAINTAB_ID_LEN / 2];
    char hash[MP_USER_HASH_LEN + 1];
    if (len > MP_EXPLAINTAB_BYTES_MAX)
        return MP_ETOOBIG;
    char *copy = malloc(len + 1);
    if (copy == NULL || mp_seal_random(raw, sizeof(raw)) != MP_OK) {
        free(copy);
        return MP_ENOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    mp_access_user_hash(user, user_len, hash);
    pthread_mutex_lock(&lock);
    struct entry *e = make_room(len, now_ms);
    mp_hex_encode(raw, sizeof(raw), e->id);
    memcpy(e->user, hash, sizeof(e->user));
    e->at_ms = now_ms;
    e->text = copy;
    e->len = len;
    bytes += len;
    memcpy(id, e->id, sizeof(e->id));
    pthread_mutex_unlock(&lock);
    return MP_OK;
}

/* A copy of e's text (under the lock); e expired is dropped instead. */
static int copy_out(struct entry *e, int64_t now_ms, char **text, size_t *len)
{
    if (now_ms - e->at_ms >= MP_EXPLAINTAB_TTL_MS) {
        drop(e);
        return MP_NOTFOUND;
    }
    *text = malloc(e->len + 1);
    if (*text == NULL)
        return MP_ENOMEM;
    memcpy(*text, e->text, e->len + 1);
    *len = e->len;
    return MP_OK;
}

int mp_explaintab_get(const char *id, int64_t now_ms, char **text, size_t *len)
{
    int rc = MP_NOTFOUND;
    if (strlen(id) != MP_EXPLAINTAB_ID_LEN)
        return MP_NOTFOUND;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MP_EXPLAINTAB_MAX; i++) {
        struct entry *e = &table[i];
        if (e->id[0] != '\0' && strcmp(e->id, id) == 0) {
            rc = copy_out(e, now_ms, text, len);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int mp_explaintab_last(const char *user, size_t user_len, int64_t now_ms, char **text, size_t *len)
{
    char hash[MP_USER_HASH_LEN + 1];
    struct entry *newest = NULL;
    int rc = MP_NOTFOUND;
    mp_access_user_hash(user, user_len, hash);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MP_EXPLAINTAB_MAX; i++) {
        struct entry *e = &table[i];
        if (e->id[0] != '\0' && strcmp(e->user, hash) == 0 &&
            (newest == NULL || e->at_ms >= newest->at_ms))
            newest = e;
    }
    if (newest != NULL)
        rc = copy_out(newest, now_ms, text, len);
    pthread_mutex_unlock(&lock);
    return rc;
}

void mp_explaintab_forget(const char *user, size_t user_len)
{
    char hash[MP_USER_HASH_LEN + 1];
    mp_access_user_hash(user, user_len, hash);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MP_EXPLAINTAB_MAX; i++)
        if (table[i].id[0] != '\0' && strcmp(table[i].user, hash) == 0)
            drop(&table[i]);
    pthread_mutex_unlock(&lock);
}

void mp_explaintab_clear(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MP_EXPLAINTAB_MAX; i++)
        if (table[i].id[0] != '\0')
            drop(&table[i]);
    pthread_mutex_unlock(&lock);
}
