/* libFuzzer target for core/adminpath.c: whatever the bytes, the parser
 * returns MP_OK, MP_NOTFOUND or MP_EINVAL with a known parameter name, and
 * an accepted target satisfies every promise of adminpath.h. abort(), not
 * assert(), so the checks survive NDEBUG builds. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adminpath.h"
#include "status.h"
#include "user_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_cursor_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool has_user(enum mp_admin_route r)
{
    return r >= MP_ADMIN_USER_FIRST && r <= MP_ADMIN_USER_LAST;
}

static void check_user(const struct mp_admin_target *t)
{
    CHECK(t->user_len <= MP_USER_ID_MAX);
    CHECK(t->user[t->user_len] == '\0');
    if (!has_user(t->route)) {
        CHECK(t->user_len == 0);
        return;
    }
    CHECK(t->user_len >= 1);
    CHECK(mp_user_id_validate(t->user, t->user_len) == MP_OK);
    CHECK(memchr(t->user, '\0', t->user_len) == NULL);
}

static void check_key(const struct mp_admin_target *t)
{
    size_t n = strnlen(t->key, sizeof(t->key));
    CHECK(n <= MP_ENTITY_KEY_MAX);
    if (t->route != MP_ADMIN_USER_ENTITY) {
        CHECK(n == 0);
        return;
    }
    /* Normalizing a normalized key changes nothing. */
    char again[MP_ENTITY_KEY_MAX + 1];
    CHECK(n >= 1);
    CHECK(mp_usermem_normalize_key(t->key, n, again) == MP_OK);
    CHECK(strcmp(again, t->key) == 0);
}

static void check_query(const struct mp_admin_target *t)
{
    CHECK(t->limit >= 1 && t->limit <= MP_ADMIN_LIMIT_MAX);
    CHECK(t->cursor_len <= MP_ADMIN_CURSOR_MAX);
    CHECK(t->cursor[t->cursor_len] == '\0');
    for (size_t i = 0; i < t->cursor_len; i++)
        CHECK(is_cursor_char(t->cursor[i]));
    /* a search's q: decoded, bounded, no NUL inside; types a non-empty subset */
    CHECK(t->q_len <= MP_ADMIN_QUERY_MAX && t->q[t->q_len] == '\0');
    CHECK(strlen(t->q) == t->q_len);
    CHECK(t->has_q || t->q_len == 0);
    CHECK(t->types != 0 && (t->types & ~(unsigned)MP_ADMIN_TYPES_ALL) == 0);
    CHECK(t->api == MP_ADMIN_API_CHAT || t->api == MP_ADMIN_API_RESPONSES ||
          t->api == MP_ADMIN_API_MESSAGES);
    /* an explanation's id: exactly its hex digits, only on its route */
    if (t->route == MP_ADMIN_EXPLANATION) {
        CHECK(strlen(t->explanation) == MP_ADMIN_EXPLANATION_LEN);
        for (size_t i = 0; i < MP_ADMIN_EXPLANATION_LEN; i++)
            CHECK(is_lower_hex(t->explanation[i]));
    } else {
        CHECK(t->explanation[0] == '\0');
    }
    /* a jobs listing's state and user; a job's id only on its routes */
    CHECK(t->state >= MP_ADMIN_JOBS_ALL && t->state <= MP_ADMIN_JOBS_FAILED);
    CHECK(t->job_user_len <= MP_USER_ID_MAX && t->job_user[t->job_user_len] == '\0');
    CHECK(t->has_job_user || t->job_user_len == 0);
    if (t->has_job_user)
        CHECK(mp_user_id_validate(t->job_user, t->job_user_len) == MP_OK);
    if (t->route == MP_ADMIN_JOB || t->route == MP_ADMIN_JOB_RETRY)
        CHECK(t->job >= 1 && t->job <= INT64_MAX);
    else
        CHECK(t->job == 0);
    if (!t->has_tenant) {
        CHECK(t->tenant[0] == '\0');
        return;
    }
    CHECK(t->tenant[MP_ADMIN_TENANT_LEN] == '\0');
    for (size_t i = 0; i < MP_ADMIN_TENANT_LEN; i++)
        CHECK(is_lower_hex(t->tenant[i]));
}

static bool is_param_name(const char *p)
{
    static const char *const names[] = {"user",
                                        "key",
                                        "tenant",
                                        "cursor",
                                        "limit",
                                        "retention",
                                        "query",
                                        "q",
                                        "types",
                                        "api",
                                        "id",
                                        "seq",
                                        "conversation",
                                        "format",
                                        "dry_run",
                                        "extract_max_tokens",
                                        "state",
                                        "entities_cursor",
                                        "entities_limit"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(p, names[i]) == 0)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy, so reading past size is caught by ASan. */
    char *buf = malloc(size > 0 ? size : 1);
    struct mp_admin_target t, before;
    const char *param = NULL;
    CHECK(buf != NULL);
    memcpy(buf, data, size);
    memset(&t, 0x5A, sizeof(t));
    memcpy(&before, &t, sizeof(t));

    int rc = mp_adminpath_parse(buf, size, &t, &param);
    if (rc == MP_OK) {
        CHECK(param == NULL);
        CHECK(t.route >= MP_ADMIN_USERS && t.route <= MP_ADMIN_ROUTE_LAST);
        CHECK(size >= 7 && memcmp(buf, "/admin/", 7) == 0);
        CHECK(memchr(buf, '#', size) == NULL);
        check_user(&t);
        check_key(&t);
        check_query(&t);
        CHECK(mp_adminpath_allow(t.route)[0] != '\0');
    } else {
        CHECK(rc == MP_NOTFOUND || rc == MP_EINVAL);
        CHECK(memcmp(&before, &t, sizeof(t)) == 0);
        if (rc == MP_EINVAL)
            CHECK(param != NULL && is_param_name(param));
        else
            CHECK(param == NULL);
    }
    /* Any bytes as a method: only whole entries of the Allow list pass. */
    size_t mlen = size < 8 ? size : 8;
    char m[9];
    memcpy(m, buf, mlen);
    m[mlen] = '\0';
    for (int r = MP_ADMIN_USERS; r <= MP_ADMIN_ROUTE_LAST; r++) {
        if (!mp_adminpath_method_ok((enum mp_admin_route)r, buf, mlen))
            continue;
        CHECK(mlen >= 3 && strlen(m) == mlen && strcspn(m, ", ") == mlen);
        CHECK(strstr(mp_adminpath_allow((enum mp_admin_route)r), m) != NULL);
    }
    free(buf);
    return 0;
}
