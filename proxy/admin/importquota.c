/* A day's token spend by user (importquota.h): a list of user keys with
 * their spend, emptied when the UTC day changes. Users who import on one
 * day are few; a lookup walks the list. */
#include "admin/importquota.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

#define DAY_MS 86400000LL

struct spend {
    char *user;
    size_t len;
    uint64_t tokens;
};

/* The memory worker's thread only (importquota.h). */
static struct {
    int64_t day;
    struct spend *list;
    size_t n, cap;
} today = {-1, NULL, 0, 0};

static void forget_day(int64_t day)
{
    if (today.day == day)
        return;
    for (size_t i = 0; i < today.n; i++)
        free(today.list[i].user);
    today.n = 0;
    today.day = day;
}

static struct spend *find(const char *user, size_t len, int64_t now_ms)
{
    forget_day(now_ms / DAY_MS);
    for (size_t i = 0; i < today.n; i++)
        if (today.list[i].len == len && memcmp(today.list[i].user, user, len) == 0)
            return &today.list[i];
    return NULL;
}

uint64_t mp_importquota_spent(const char *user, size_t len, int64_t now_ms)
{
    const struct spend *s = find(user, len, now_ms);
    return s != NULL ? s->tokens : 0;
}

int mp_importquota_add(const char *user, size_t len, int64_t now_ms, uint64_t tokens)
{
    struct spend *s = find(user, len, now_ms);
    if (s != NULL) {
        s->tokens += tokens;
        return MP_OK;
    }
    if (today.n == today.cap) {
        size_t cap = today.cap == 0 ? 16 : today.cap * 2;
        struct spend *list = realloc(today.list, cap * sizeof(*list));
        if (list == NULL)
            return MP_ENOMEM;
        today.list = list;
        today.cap = cap;
    }
    char *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return MP_ENOMEM;
    memcpy(copy, user, len);
    today.list[today.n++] = (struct spend){copy, len, tokens};
    return MP_OK;
}

unsigned mp_importquota_seconds_left(int64_t now_ms)
{
    int64_t left = DAY_MS - now_ms % DAY_MS;
    return (unsigned)((left + 999) / 1000);
}
