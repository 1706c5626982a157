/* The credentials memory jobs may carry, per user and provider, in a
 * bounded cache (jobauth.h). Never written to disk; a credential is wiped
 * before its memory is freed. */
#include "memory/jobauth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "memory/memcred.h"

#define AUTH_SLOTS  65536 /* users whose credentials are remembered, at most */
#define AUTH_PROBES 8     /* slots a user may land in; the least recently used is evicted */

/* What the user's latest turn on one provider's routes lent that
 * provider's memory jobs. */
struct auth_lent {
    bool known; /* such a turn was seen */
    char *line; /* its credential header line "Name: value", or NULL: it carried none */
    size_t len;
};

struct auth_slot {
    uint64_t hash;
    uint64_t used; /* tick of the last remember: the oldest is evicted */
    char *user;
    size_t user_len;
    struct auth_lent of[2]; /* by enum mp_llm_api: a credential stays with its provider */
};

struct mp_jobauth {
    uint64_t tick;           /* of the last remember */
    struct auth_slot *slots; /* AUTH_SLOTS */
};

static bool slot_is(const struct auth_slot *s, uint64_t h, const char *user, size_t len)
{
    return s->user != NULL && s->hash == h && s->user_len == len && memcmp(s->user, user, len) == 0;
}

/* The user's slot, or NULL. */
static struct auth_slot *find_auth(const struct mp_jobauth *a, const char *user, size_t len)
{
    uint64_t h = mp_fnv1a64(MP_FNV1A64_BASIS, user, len);
    for (size_t k = 0; k < AUTH_PROBES; k++) {
        struct auth_slot *s = &a->slots[(h + k) % AUTH_SLOTS];
        if (slot_is(s, h, user, len))
            return s;
    }
    return NULL;
}

/* The slot to (re)use for a user: its own, a free one, or the least
 * recently used of its probe window. */
static struct auth_slot *claim_auth(struct mp_jobauth *a, uint64_t h, const char *user, size_t len)
{
    struct auth_slot *victim = NULL;
    for (size_t k = 0; k < AUTH_PROBES; k++) {
        struct auth_slot *s = &a->slots[(h + k) % AUTH_SLOTS];
        if (slot_is(s, h, user, len) || s->user == NULL)
            return s;
        if (victim == NULL || s->used < victim->used)
            victim = s;
    }
    return victim;
}

static void clear_lent(struct auth_lent *l)
{
    if (l->line != NULL)
        memset(l->line, 0, l->len);
    free(l->line);
    memset(l, 0, sizeof(*l));
}

static void clear_slot(struct auth_slot *s)
{
    free(s->user);
    clear_lent(&s->of[MP_LLM_OPENAI]);
    clear_lent(&s->of[MP_LLM_ANTHROPIC]);
    memset(s, 0, sizeof(*s));
}

static bool same_lent(const struct auth_lent *l, const char *line, size_t len)
{
    if (!l->known || (line == NULL) != (l->line == NULL))
        return false;
    return line == NULL || (l->len == len && memcmp(l->line, line, len) == 0);
}

/* The user's slot, claimed (another user's evicted): NULL when out of memory. */
static struct auth_slot *own_slot(struct mp_jobauth *a, const char *user, size_t len)
{
    uint64_t h = mp_fnv1a64(MP_FNV1A64_BASIS, user, len);
    struct auth_slot *s = claim_auth(a, h, user, len);
    s->used = ++a->tick;
    if (slot_is(s, h, user, len))
        return s;
    char *u = malloc(len);
    if (u == NULL)
        return NULL;
    memcpy(u, user, len);
    clear_slot(s);
    *s = (struct auth_slot){.hash = h, .used = a->tick, .user = u, .user_len = len};
    return s;
}

void mp_jobauth_remember(struct mp_jobauth *a, const char *user, size_t user_len,
                         enum mp_llm_api api, const char *line, size_t len)
{
    struct auth_slot *s = own_slot(a, user, user_len);
    if (s == NULL)
        return;
    struct auth_lent *l = &s->of[api];
    if (same_lent(l, line, len))
        return;
    char *copy = NULL;
    if (line != NULL) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return;
        memcpy(copy, line, len);
        copy[len] = '\0';
    }
    clear_lent(l);
    *l = (struct auth_lent){.known = true, .line = copy, .len = len};
}

void mp_jobauth_forget(struct mp_jobauth *a, const char *user, size_t user_len)
{
    struct auth_slot *s = find_auth(a, user, user_len);
    if (s != NULL)
        clear_slot(s);
}

/* "<name>: <value>" (value[0..vlen)), malloc'd; NULL when out of memory. */
static char *header_line(const char *name, const char *value, size_t vlen)
{
    size_t n = strlen(name);
    char *line = malloc(n + 2 + vlen + 1);
    if (line == NULL)
        return NULL;
    memcpy(line, name, n);
    memcpy(line + n, ": ", 2);
    memcpy(line + n + 2, value, vlen);
    line[n + 2 + vlen] = '\0';
    return line;
}

/* What the user's turns on the memory provider's routes lent, or NULL
 * when none was seen. */
static const struct auth_lent *lent_for(const struct mp_jobauth *a, enum mp_llm_api api,
                                        const char *user, size_t user_len)
{
    const struct auth_slot *s = find_auth(a, user, user_len);
    const struct auth_lent *l = s != NULL ? &s->of[api] : NULL;
    return l != NULL && l->known ? l : NULL;
}

bool mp_jobauth_has(const struct mp_jobauth *a, const struct mp_config *cfg, const char *user,
                    size_t user_len)
{
    return mp_memcred_configured(cfg) != NULL ||
           lent_for(a, cfg->memory.llm, user, user_len) != NULL;
}

char *mp_jobauth_line(const struct mp_jobauth *a, const struct mp_config *cfg, const char *user,
                      size_t user_len)
{
    enum mp_llm_api api = cfg->memory.llm;
    const char *key = mp_memcred_configured(cfg);
    if (key != NULL && api == MP_LLM_ANTHROPIC)
        return header_line("x-api-key", key, strlen(key));
    if (key != NULL) {
        char *line = malloc(sizeof("Authorization: Bearer ") + strlen(key));
        if (line != NULL)
            sprintf(line, "Authorization: Bearer %s", key);
        return line;
    }
    const struct auth_lent *l = lent_for(a, api, user, user_len);
    if (l == NULL)
        return NULL;
    if (l->line == NULL) /* that provider's requests carry none: send none */
        return header_line(mp_memcred_key_header(api), "", 0);
    char *line = malloc(l->len + 1);
    if (line != NULL)
        memcpy(line, l->line, l->len + 1);
    return line;
}

void mp_jobauth_line_free(char *line)
{
    if (line != NULL)
        memset(line, 0, strlen(line));
    free(line);
}

struct mp_jobauth *mp_jobauth_new(void)
{
    struct mp_jobauth *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->slots = calloc(AUTH_SLOTS, sizeof(*a->slots));
    if (a->slots == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void mp_jobauth_free(struct mp_jobauth *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < AUTH_SLOTS; i++)
        clear_slot(&a->slots[i]);
    free(a->slots);
    free(a);
}
