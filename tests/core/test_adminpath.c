/* Tests for core/adminpath.c: admin API routes, {id}/{key} decoding and the
 * tenant/cursor/limit query parameters (docs/admin-api.md). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "adminpath.h"
#include "status.h"

Suite *mp_test_suite(void);

static struct mp_admin_target t;
static const char *param;

static int parse(const char *s)
{
    memset(&t, 0, sizeof(t));
    param = NULL;
    return mp_adminpath_parse(s, strlen(s), &t, &param);
}

static void expect_notfound(const char *s)
{
    ck_assert_msg(parse(s) == MP_NOTFOUND, "%s: expected MP_NOTFOUND", s);
    ck_assert_ptr_null(param);
}

static void expect_einval(const char *s, const char *want)
{
    ck_assert_msg(parse(s) == MP_EINVAL, "%s: expected MP_EINVAL", s);
    ck_assert_ptr_nonnull(param);
    ck_assert_str_eq(param, want);
}

/* Routes */

START_TEST(test_adminpath_users_route_has_defaults)
{
    ck_assert_int_eq(parse("/admin/users"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USERS);
    ck_assert_uint_eq(t.user_len, 0);
    ck_assert_str_eq(t.user, "");
    ck_assert_str_eq(t.key, "");
    ck_assert(!t.has_tenant);
    ck_assert_str_eq(t.tenant, "");
    ck_assert_uint_eq(t.cursor_len, 0);
    ck_assert_str_eq(t.cursor, "");
    ck_assert_uint_eq(t.limit, MP_ADMIN_LIMIT_DEFAULT);
    ck_assert_ptr_null(param);
}
END_TEST

START_TEST(test_adminpath_compact_route)
{
    ck_assert_int_eq(parse("/admin/compact"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_COMPACT);
    ck_assert_uint_eq(t.user_len, 0);
}
END_TEST

START_TEST(test_adminpath_sweep_route)
{
    ck_assert_int_eq(parse("/admin/sweep"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_SWEEP);
    ck_assert_uint_eq(t.user_len, 0);
}
END_TEST

START_TEST(test_adminpath_status_reload_routes)
{
    ck_assert_int_eq(parse("/admin/status"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_STATUS);
    ck_assert_uint_eq(t.user_len, 0);
    ck_assert_int_eq(parse("/admin/reload"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_RELOAD);
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_STATUS), "GET");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_RELOAD), "POST");
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_RELOAD, "GET", 3));
    expect_notfound("/admin/status/x");
    expect_notfound("/admin/users/u/reload");
}
END_TEST

START_TEST(test_adminpath_user_settings_route)
{
    ck_assert_int_eq(parse("/admin/users/bob%20x/settings"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_SETTINGS);
    ck_assert_str_eq(t.user, "bob x");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USER_SETTINGS), "GET, PUT");
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_SETTINGS, "PUT", 3));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_USER_SETTINGS, "DELETE", 6));
    expect_einval("/admin/users/%zz/settings", "user");
    expect_notfound("/admin/users/u/settings/mode");
}
END_TEST

START_TEST(test_adminpath_user_memory_route)
{
    ck_assert_int_eq(parse("/admin/users/alice/memory"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_MEMORY);
    ck_assert_str_eq(t.user, "alice");
    ck_assert_uint_eq(t.user_len, 5);
    ck_assert_str_eq(t.key, "");
}
END_TEST

START_TEST(test_adminpath_user_export_route)
{
    ck_assert_int_eq(parse("/admin/users/bob/export"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_EXPORT);
    ck_assert_str_eq(t.user, "bob");
    ck_assert_uint_eq(t.user_len, 3);
}
END_TEST

START_TEST(test_adminpath_user_history_route)
{
    ck_assert_int_eq(parse("/admin/users/bob/history"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_HISTORY);
    ck_assert_str_eq(t.user, "bob");
}
END_TEST

START_TEST(test_adminpath_user_search_route)
{
    ck_assert_int_eq(parse("/admin/users/ann/search?q=where+do+I%20live%3F&types=messages"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_SEARCH);
    ck_assert_str_eq(t.user, "ann");
    ck_assert(t.has_q);
    ck_assert_str_eq(t.q, "where do I live?");
    ck_assert_uint_eq(t.q_len, 16);
    ck_assert_uint_eq(t.types, MP_ADMIN_TYPE_MESSAGES);
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_SEARCH, "GET", 3));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_USER_SEARCH, "POST", 4));
    ck_assert_int_eq(parse("/admin/users/ann/search"), MP_OK);
    ck_assert(!t.has_q);
    ck_assert_uint_eq(t.types, MP_ADMIN_TYPES_ALL);
    ck_assert_int_eq(parse("/admin/users/ann/search?q=&types=facts,messages"), MP_OK);
    ck_assert(t.has_q);
    ck_assert_uint_eq(t.q_len, 0);
    ck_assert_uint_eq(t.types, MP_ADMIN_TYPES_ALL);
}
END_TEST

START_TEST(test_adminpath_search_query_bounds)
{
    char s[4000];
    int n = snprintf(s, sizeof(s), "/admin/users/ann/search?q=");
    memset(s + n, 'x', MP_ADMIN_QUERY_MAX);
    s[n + MP_ADMIN_QUERY_MAX] = '\0';
    ck_assert_int_eq(parse(s), MP_OK);
    ck_assert_uint_eq(t.q_len, MP_ADMIN_QUERY_MAX);
    s[n + MP_ADMIN_QUERY_MAX] = 'x';
    s[n + MP_ADMIN_QUERY_MAX + 1] = '\0';
    expect_einval(s, "q");
    expect_einval("/admin/users/ann/search?q=a%00b", "q");
    expect_einval("/admin/users/ann/search?q=a%zz", "q");
    expect_einval("/admin/users/ann/search?q=a&q=b", "query");
    expect_einval("/admin/users/ann/search?types=", "types");
    expect_einval("/admin/users/ann/search?types=facts,", "types");
    expect_einval("/admin/users/ann/search?types=facts,facts", "types");
    expect_einval("/admin/users/ann/search?types=summary", "types");
}
END_TEST

START_TEST(test_adminpath_user_explain_route_and_api)
{
    ck_assert_int_eq(parse("/admin/users/ann/explain"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_EXPLAIN);
    ck_assert_int_eq(t.api, MP_ADMIN_API_CHAT);
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_EXPLAIN, "POST", 4));
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_EXPLAIN, "GET", 3)); /* the last request's */
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_USER_EXPLAIN, "PUT", 3));
    ck_assert_int_eq(parse("/admin/users/ann/explain?api=responses"), MP_OK);
    ck_assert_int_eq(t.api, MP_ADMIN_API_RESPONSES);
    ck_assert_int_eq(parse("/admin/users/ann/explain?api=messages"), MP_OK);
    ck_assert_int_eq(t.api, MP_ADMIN_API_MESSAGES);
    expect_einval("/admin/users/ann/explain?api=", "api");
    expect_einval("/admin/users/ann/explain?api=Chat", "api");
    expect_einval("/admin/users/ann/explain?api=chat&api=chat", "query");
}
END_TEST

START_TEST(test_adminpath_user_message_route_takes_a_seq)
{
    ck_assert_int_eq(parse("/admin/users/ann/messages/42"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_MESSAGE);
    ck_assert_str_eq(t.user, "ann");
    ck_assert_uint_eq(t.seq, 42);
    ck_assert_int_eq(parse("/admin/users/ann/messages/9223372036854775807"), MP_OK);
    ck_assert_uint_eq(t.seq, 9223372036854775807ULL);
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_MESSAGE, "DELETE", 6));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_USER_MESSAGE, "GET", 3));
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USER_MESSAGE), "DELETE");
    expect_einval("/admin/users/ann/messages/0", "seq");
    expect_einval("/admin/users/ann/messages/042", "seq");
    expect_einval("/admin/users/ann/messages/-1", "seq");
    expect_einval("/admin/users/ann/messages/9223372036854775808", "seq");
    expect_einval("/admin/users/ann/messages/4%32", "seq");
    expect_einval("/admin/users/%zz/messages/1", "user");
    expect_notfound("/admin/users/ann/messages");
    expect_notfound("/admin/users/ann/messages/1/x");
}
END_TEST

START_TEST(test_adminpath_user_conversation_route_takes_a_digest)
{
    ck_assert_int_eq(parse("/admin/users/ann/conversations/3f9a0c51D2E87B64"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_CONVERSATION);
    ck_assert_uint_eq(t.conv, 0x3f9a0c51d2e87b64ULL);
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_CONVERSATION, "DELETE", 6));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_USER_CONVERSATION, "POST", 4));
    expect_einval("/admin/users/ann/conversations/3f9a0c51d2e87b6", "conversation");
    expect_einval("/admin/users/ann/conversations/3f9a0c51d2e87b64a", "conversation");
    expect_einval("/admin/users/ann/conversations/3f9a0c51d2e87b6g", "conversation");
    expect_notfound("/admin/users/ann/conversations");
}
END_TEST

START_TEST(test_adminpath_explanation_route)
{
    ck_assert_int_eq(parse("/admin/explain/0123456789abcdef0123456789abcdef"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_EXPLANATION);
    ck_assert_str_eq(t.explanation, "0123456789abcdef0123456789abcdef");
    ck_assert_uint_eq(t.user_len, 0);
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_EXPLANATION, "GET", 3));
    expect_einval("/admin/explain/0123456789ABCDEF0123456789abcdef", "id");
    expect_einval("/admin/explain/0123456789abcdef", "id");
    expect_einval("/admin/explain/0123456789abcdef0123456789abcdeg", "id");
    expect_notfound("/admin/explain");
    expect_notfound("/admin/explain/0123456789abcdef0123456789abcdef/x");
}
END_TEST

START_TEST(test_adminpath_user_entity_route)
{
    ck_assert_int_eq(parse("/admin/users/alice/entities/city"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_ENTITY);
    ck_assert_str_eq(t.user, "alice");
    ck_assert_uint_eq(t.user_len, 5);
    ck_assert_str_eq(t.key, "city");
}
END_TEST

START_TEST(test_adminpath_unknown_segments_not_found)
{
    expect_notfound("/admin/user");
    expect_notfound("/admin/users/alice");
    expect_notfound("/admin/users/alice/profile");
    expect_notfound("/admin/users/alice/entities");
    expect_notfound("/admin/users/alice/memory/x");
    expect_notfound("/admin/users/alice/entities/k/extra");
    expect_notfound("/admin/users/alice/export/entities/k");
    expect_notfound("/admin/compact/now");
    expect_notfound("/admin/sweep/x");
    expect_notfound("/admin/memory");
    expect_notfound("/admin/a/b/c/d/e/f");
}
END_TEST

START_TEST(test_adminpath_requires_admin_prefix)
{
    expect_notfound("");
    expect_notfound("/");
    expect_notfound("/admin");
    expect_notfound("/admin/");
    expect_notfound("/admin?x=1");
    expect_notfound("admin/users");
    expect_notfound("/v1/admin/users");
    expect_notfound("/administrator/users");
    expect_notfound("*");
}
END_TEST

START_TEST(test_adminpath_match_is_case_sensitive)
{
    expect_notfound("/Admin/users");
    expect_notfound("/admin/USERS");
    expect_notfound("/admin/users/alice/Memory");
    expect_notfound("/admin/Compact");
}
END_TEST

START_TEST(test_adminpath_trailing_slash_not_found)
{
    expect_notfound("/admin/users/");
    expect_notfound("/admin/compact/");
    expect_notfound("/admin/users/alice/memory/");
    expect_notfound("/admin/users/alice/entities/city/");
    expect_notfound("/admin/users/?limit=5");
}
END_TEST

START_TEST(test_adminpath_double_slash_not_found)
{
    expect_notfound("//admin/users");
    expect_notfound("/admin//users");
    expect_notfound("/admin/users//memory");
    expect_notfound("/admin/users/alice//memory");
    expect_notfound("/admin/users/alice/entities//city");
    expect_notfound("/admin/users/alice/entities/");
}
END_TEST

/* A browser folds ".", "..", "%2E" and "%2E%2E" segments out of a path:
 * the operator's page names such a user in the query, with {id} empty. */
START_TEST(test_adminpath_user_in_query_when_id_empty)
{
    ck_assert_int_eq(parse("/admin/users//memory?user=.."), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_MEMORY);
    ck_assert_str_eq(t.user, "..");
    ck_assert_uint_eq(t.user_len, 2);
    ck_assert_int_eq(
        parse("/admin/users//entities/city?user=%2E&tenant=0123456789abcdef0123456789abcdef"),
        MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_ENTITY);
    ck_assert_str_eq(t.user, ".");
    ck_assert_str_eq(t.key, "city");
    ck_assert(t.has_tenant);
    ck_assert_int_eq(parse("/admin/users//messages/7?user=a.b"), MP_OK);
    ck_assert_str_eq(t.user, "a.b");
    ck_assert_uint_eq(t.seq, 7);
    /* the path's own %2E%2E stays the id "..", never a step up */
    ck_assert_int_eq(parse("/admin/users/%2E%2E/memory"), MP_OK);
    ck_assert_str_eq(t.user, "..");
    expect_einval("/admin/users//memory?user=", "user");
    expect_notfound("/admin/users//memory");
    expect_notfound("/admin/jobs//retry?user=a");
    expect_notfound("/admin/users/?user=a");
    expect_notfound("/admin/explain/?user=a");
}
END_TEST

START_TEST(test_adminpath_dot_segments_not_found)
{
    expect_notfound("/admin/./users");
    expect_notfound("/admin/../admin/users");
    expect_notfound("/admin/users/./memory");
    expect_notfound("/admin/users/../memory");
    expect_notfound("/admin/users/alice/entities/.");
    expect_notfound("/admin/users/alice/entities/..");
    expect_notfound("/admin/users/alice/./memory");
}
END_TEST

START_TEST(test_adminpath_structure_checked_before_decoding)
{
    expect_notfound("/admin/users/%zz/nope");
    expect_notfound("/admin/users/%00/entities");
}
END_TEST

START_TEST(test_adminpath_query_mark_ends_path)
{
    expect_notfound("/admin/users/a?b/memory");
    ck_assert_int_eq(parse("/admin/users?/memory"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USERS);
}
END_TEST

START_TEST(test_adminpath_raw_nul_in_fixed_segment_not_found)
{
    static const char s[] = "/admin/users\0/x";
    ck_assert_int_eq(mp_adminpath_parse(s, sizeof(s) - 1, &t, &param), MP_NOTFOUND);
    static const char s2[] = "/admin/compact\0";
    ck_assert_int_eq(mp_adminpath_parse(s2, sizeof(s2) - 1, &t, &param), MP_NOTFOUND);
}
END_TEST

START_TEST(test_adminpath_length_bounds_the_target)
{
    /* Only len bytes are read: the rest of the string is not part of it. */
    const char *s = "/admin/users/alice/memoryXYZ";
    ck_assert_int_eq(mp_adminpath_parse(s, strlen(s) - 3, &t, &param), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_MEMORY);
    ck_assert_int_eq(mp_adminpath_parse(s, 11, &t, &param), MP_NOTFOUND);
}
END_TEST

/* Percent-decoding of {id} */

START_TEST(test_adminpath_user_utf8_escapes_decoded)
{
    ck_assert_int_eq(parse("/admin/users/%C3%A9lodie/memory"), MP_OK);
    ck_assert_str_eq(t.user, "\xC3\xA9lodie");
    ck_assert_uint_eq(t.user_len, 7);
}
END_TEST

START_TEST(test_adminpath_user_lowercase_hex_escapes_decoded)
{
    ck_assert_int_eq(parse("/admin/users/%c3%a9lodie/memory"), MP_OK);
    ck_assert_str_eq(t.user, "\xC3\xA9lodie");
    ck_assert_uint_eq(t.user_len, 7);
}
END_TEST

START_TEST(test_adminpath_user_raw_utf8_accepted)
{
    ck_assert_int_eq(parse("/admin/users/\xC3\xA9lodie/export"), MP_OK);
    ck_assert_str_eq(t.user, "\xC3\xA9lodie");
}
END_TEST

START_TEST(test_adminpath_user_encoded_slash_kept_in_id)
{
    ck_assert_int_eq(parse("/admin/users/team%2Falice/memory"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_USER_MEMORY);
    ck_assert_str_eq(t.user, "team/alice");
    ck_assert_uint_eq(t.user_len, 10);
    ck_assert_int_eq(parse("/admin/users/a%2fb%2Fc/entities/k"), MP_OK);
    ck_assert_str_eq(t.user, "a/b/c");
}
END_TEST

START_TEST(test_adminpath_user_encoded_dots_are_data)
{
    ck_assert_int_eq(parse("/admin/users/%2E%2E/memory"), MP_OK);
    ck_assert_str_eq(t.user, "..");
    ck_assert_uint_eq(t.user_len, 2);
}
END_TEST

START_TEST(test_adminpath_user_plus_is_not_space)
{
    ck_assert_int_eq(parse("/admin/users/a+b/memory"), MP_OK);
    ck_assert_str_eq(t.user, "a+b");
    ck_assert_int_eq(parse("/admin/users/a%20b/memory"), MP_OK);
    ck_assert_str_eq(t.user, "a b");
}
END_TEST

START_TEST(test_adminpath_user_encoded_percent)
{
    ck_assert_int_eq(parse("/admin/users/100%25/memory"), MP_OK);
    ck_assert_str_eq(t.user, "100%");
    ck_assert_uint_eq(t.user_len, 4);
}
END_TEST

START_TEST(test_adminpath_user_bad_escapes_rejected)
{
    expect_einval("/admin/users/%/memory", "user");
    expect_einval("/admin/users/abc%/memory", "user");
    expect_einval("/admin/users/abc%4/memory", "user");
    expect_einval("/admin/users/%zz/memory", "user");
    expect_einval("/admin/users/%4g/memory", "user");
    expect_einval("/admin/users/%g4/export", "user");
    expect_einval("/admin/users/a%%41/history", "user");
}
END_TEST

START_TEST(test_adminpath_escape_cut_by_length_rejected)
{
    /* The bytes after len look like the rest of an escape but are not read. */
    const char *key = "/admin/users/alice/entities/ab%41";
    const char *limit = "/admin/users?limit=%31";
    ck_assert_int_eq(mp_adminpath_parse(key, strlen(key), &t, &param), MP_OK);
    ck_assert_str_eq(t.key, "aba");
    ck_assert_int_eq(mp_adminpath_parse(key, strlen(key) - 1, &t, &param), MP_EINVAL);
    ck_assert_str_eq(param, "key");
    ck_assert_int_eq(mp_adminpath_parse(limit, strlen(limit) - 1, &t, &param), MP_EINVAL);
    ck_assert_str_eq(param, "limit");
}
END_TEST

START_TEST(test_adminpath_user_nul_byte_rejected)
{
    expect_einval("/admin/users/%00/memory", "user");
    expect_einval("/admin/users/alice%00/memory", "user");
    expect_einval("/admin/users/alice%00x/export", "user");
}
END_TEST

START_TEST(test_adminpath_user_raw_nul_byte_rejected)
{
    static const char s[] = "/admin/users/al\0ce/memory";
    param = NULL;
    ck_assert_int_eq(mp_adminpath_parse(s, sizeof(s) - 1, &t, &param), MP_EINVAL);
    ck_assert_str_eq(param, "user");
}
END_TEST

START_TEST(test_adminpath_user_controls_rejected)
{
    expect_einval("/admin/users/a%0Ab/memory", "user");
    expect_einval("/admin/users/a%7Fb/memory", "user");
    expect_einval("/admin/users/a%C2%85b/memory", "user"); /* U+0085 NEL */
}
END_TEST

START_TEST(test_adminpath_user_invalid_utf8_rejected)
{
    expect_einval("/admin/users/%C3/memory", "user");
    expect_einval("/admin/users/%FF/memory", "user");
    expect_einval("/admin/users/%C0%AF/memory", "user"); /* overlong '/' */
    expect_einval("/admin/users/\xC3/memory", "user");
}
END_TEST

START_TEST(test_adminpath_user_template_rejected)
{
    expect_einval("/admin/users/%7B%7Buser%7D%7D/memory", "user");
    expect_einval("/admin/users/%24%7BUSER%7D/memory", "user");
}
END_TEST

START_TEST(test_adminpath_user_length_limit)
{
    char s[64 + 3 * (MP_USER_ID_MAX + 1)];
    char a[MP_USER_ID_MAX + 2];
    memset(a, 'a', sizeof(a));
    a[MP_USER_ID_MAX] = '\0';
    snprintf(s, sizeof(s), "/admin/users/%s/memory", a);
    ck_assert_int_eq(parse(s), MP_OK);
    ck_assert_uint_eq(t.user_len, MP_USER_ID_MAX);
    ck_assert_uint_eq(strlen(t.user), MP_USER_ID_MAX);
    a[MP_USER_ID_MAX] = 'a';
    a[MP_USER_ID_MAX + 1] = '\0';
    snprintf(s, sizeof(s), "/admin/users/%s/memory", a);
    expect_einval(s, "user");
}
END_TEST

START_TEST(test_adminpath_user_length_counts_decoded_bytes)
{
    char s[64 + 3 * (MP_USER_ID_MAX + 1)];
    size_t o = (size_t)snprintf(s, sizeof(s), "/admin/users/");
    for (int i = 0; i < MP_USER_ID_MAX; i++)
        o += (size_t)snprintf(s + o, sizeof(s) - o, "%%62");
    snprintf(s + o, sizeof(s) - o, "/export");
    ck_assert_int_eq(parse(s), MP_OK); /* 768 raw chars, 256 decoded bytes */
    ck_assert_uint_eq(t.user_len, MP_USER_ID_MAX);
    ck_assert_int_eq(t.user[0], 'b');
    ck_assert_int_eq(t.user[MP_USER_ID_MAX], '\0');
    snprintf(s + o, sizeof(s) - o, "%%62/export");
    expect_einval(s, "user");
}
END_TEST

/* {key} */

START_TEST(test_adminpath_key_normalized)
{
    ck_assert_int_eq(parse("/admin/users/alice/entities/Vector%20DB"), MP_OK);
    ck_assert_str_eq(t.key, "vector_db");
    ck_assert_int_eq(parse("/admin/users/alice/entities/%20vector-db%20"), MP_OK);
    ck_assert_str_eq(t.key, "vector_db");
    ck_assert_int_eq(parse("/admin/users/alice/entities/Caf%C3%A9"), MP_OK);
    ck_assert_str_eq(t.key, "caf\xC3\xA9");
}
END_TEST

START_TEST(test_adminpath_key_bad_escape_rejected)
{
    expect_einval("/admin/users/alice/entities/city%", "key");
    expect_einval("/admin/users/alice/entities/%zzcity", "key");
    expect_einval("/admin/users/alice/entities/ci%2", "key");
}
END_TEST

START_TEST(test_adminpath_key_empty_after_normalization_rejected)
{
    expect_einval("/admin/users/alice/entities/%20%20", "key");
    expect_einval("/admin/users/alice/entities/---", "key");
    expect_einval("/admin/users/alice/entities/%2E%2E", "key");
}
END_TEST

START_TEST(test_adminpath_key_invalid_utf8_rejected)
{
    expect_einval("/admin/users/alice/entities/a%FFb", "key");
    expect_einval("/admin/users/alice/entities/a%C3", "key");
}
END_TEST

START_TEST(test_adminpath_key_length_limit)
{
    char s[128 + MP_ENTITY_KEY_MAX];
    char k[MP_ENTITY_KEY_MAX + 2];
    memset(k, 'k', sizeof(k));
    k[MP_ENTITY_KEY_MAX] = '\0';
    snprintf(s, sizeof(s), "/admin/users/alice/entities/%s", k);
    ck_assert_int_eq(parse(s), MP_OK);
    ck_assert_uint_eq(strlen(t.key), MP_ENTITY_KEY_MAX);
    k[MP_ENTITY_KEY_MAX] = 'k';
    k[MP_ENTITY_KEY_MAX + 1] = '\0';
    snprintf(s, sizeof(s), "/admin/users/alice/entities/%s", k);
    expect_einval(s, "key");
}
END_TEST

START_TEST(test_adminpath_key_raw_length_limit)
{
    /* "a" and separators: normalizes to "a" however long, but the decoded
     * key is capped at MP_ADMIN_KEY_RAW_MAX bytes. */
    char s[64 + MP_ADMIN_KEY_RAW_MAX + 2];
    size_t o = (size_t)snprintf(s, sizeof(s), "/admin/users/alice/entities/a");
    memset(s + o, '-', MP_ADMIN_KEY_RAW_MAX - 1);
    s[o + MP_ADMIN_KEY_RAW_MAX - 1] = '\0';
    ck_assert_int_eq(parse(s), MP_OK);
    ck_assert_str_eq(t.key, "a");
    s[o + MP_ADMIN_KEY_RAW_MAX - 1] = '-';
    s[o + MP_ADMIN_KEY_RAW_MAX] = '\0';
    expect_einval(s, "key");
}
END_TEST

START_TEST(test_adminpath_key_nul_becomes_separator)
{
    /* Same rule as the data plane: the normalizer treats NUL as punctuation. */
    ck_assert_int_eq(parse("/admin/users/alice/entities/a%00b"), MP_OK);
    ck_assert_str_eq(t.key, "a_b");
}
END_TEST

START_TEST(test_adminpath_user_checked_before_key)
{
    expect_einval("/admin/users/%zz/entities/%zz", "user");
    expect_einval("/admin/users/alice/entities/%zz?limit=0", "key");
}
END_TEST

/* tenant */

START_TEST(test_adminpath_tenant_lowercased)
{
    ck_assert_int_eq(parse("/admin/users?tenant=0123456789ABCDEFabcdef0123456789"), MP_OK);
    ck_assert(t.has_tenant);
    ck_assert_str_eq(t.tenant, "0123456789abcdefabcdef0123456789");
}
END_TEST

START_TEST(test_adminpath_tenant_applies_to_every_route)
{
    static const char *paths[] = {
        "/admin/users",           "/admin/users/u/memory",     "/admin/users/u/export",
        "/admin/users/u/history", "/admin/users/u/entities/k", "/admin/compact",
        "/admin/sweep",           "/admin/users/u/settings",   "/admin/status",
        "/admin/reload",
    };
    char s[128];
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(s, sizeof(s), "%s?tenant=ffffffffffffffffffffffffffffffff", paths[i]);
        ck_assert_int_eq(parse(s), MP_OK);
        ck_assert(t.has_tenant);
        ck_assert_str_eq(t.tenant, "ffffffffffffffffffffffffffffffff");
    }
}
END_TEST

START_TEST(test_adminpath_tenant_bad_length_rejected)
{
    expect_einval("/admin/users?tenant=0123456789abcdef0123456789abcde", "tenant");
    expect_einval("/admin/users?tenant=0123456789abcdef0123456789abcdef0", "tenant");
    expect_einval("/admin/users?tenant=", "tenant");
    expect_einval("/admin/users?tenant", "tenant");
}
END_TEST

START_TEST(test_adminpath_tenant_non_hex_rejected)
{
    expect_einval("/admin/users?tenant=0123456789abcdef0123456789abcdeg", "tenant");
    expect_einval("/admin/users?tenant=+123456789abcdef0123456789abcdef", "tenant");
    expect_einval("/admin/users?tenant=%00123456789abcdef0123456789abcdef", "tenant");
    expect_einval("/admin/users?tenant=%zz23456789abcdef0123456789abcdef", "tenant");
}
END_TEST

START_TEST(test_adminpath_tenant_percent_decoded)
{
    ck_assert_int_eq(parse("/admin/sweep?tenant=%41123456789abcdef0123456789abcdef"), MP_OK);
    ck_assert_str_eq(t.tenant, "a123456789abcdef0123456789abcdef");
}
END_TEST

/* limit */

START_TEST(test_adminpath_limit_bounds_accepted)
{
    ck_assert_int_eq(parse("/admin/users?limit=1"), MP_OK);
    ck_assert_uint_eq(t.limit, 1);
    ck_assert_int_eq(parse("/admin/users?limit=1000"), MP_OK);
    ck_assert_uint_eq(t.limit, 1000);
    ck_assert_int_eq(parse("/admin/users?limit=57"), MP_OK);
    ck_assert_uint_eq(t.limit, 57);
}
END_TEST

START_TEST(test_adminpath_limit_out_of_range_rejected)
{
    expect_einval("/admin/users?limit=0", "limit");
    expect_einval("/admin/users?limit=1001", "limit");
    expect_einval("/admin/users?limit=9999", "limit");
    expect_einval("/admin/users?limit=18446744073709551617", "limit");
}
END_TEST

START_TEST(test_adminpath_entities_cursor_and_limit)
{
    ck_assert_int_eq(parse("/admin/users/a/memory?cursor=12&entities_cursor=a2V5&entities_limit=7"),
                     MP_OK);
    ck_assert_str_eq(t.cursor, "12");
    ck_assert_str_eq(t.entities_cursor, "a2V5");
    ck_assert_uint_eq(t.entities_cursor_len, 4);
    ck_assert_uint_eq(t.entities_limit, 7);
    ck_assert_uint_eq(t.limit, MP_ADMIN_LIMIT_DEFAULT);
    ck_assert_int_eq(parse("/admin/users/a/memory"), MP_OK);
    ck_assert_uint_eq(t.entities_limit, 0);
    ck_assert_uint_eq(t.entities_cursor_len, 0);
    expect_einval("/admin/users/a/memory?entities_limit=0", "entities_limit");
    expect_einval("/admin/users/a/memory?entities_limit=1001", "entities_limit");
    expect_einval("/admin/users/a/memory?entities_cursor=a.b", "entities_cursor");
    expect_einval("/admin/users/a/memory?entities_cursor=a&entities_cursor=b", "query");
}
END_TEST

START_TEST(test_adminpath_limit_junk_rejected)
{
    expect_einval("/admin/users?limit=-1", "limit");
    expect_einval("/admin/users?limit=%2B1", "limit");
    expect_einval("/admin/users?limit=+1", "limit");
    expect_einval("/admin/users?limit=12a", "limit");
    expect_einval("/admin/users?limit=a12", "limit");
    expect_einval("/admin/users?limit=1.5", "limit");
    expect_einval("/admin/users?limit=0x10", "limit");
    expect_einval("/admin/users?limit=010", "limit");
    expect_einval("/admin/users?limit=%zz", "limit");
}
END_TEST

START_TEST(test_adminpath_limit_empty_rejected)
{
    expect_einval("/admin/users?limit=", "limit");
    expect_einval("/admin/users?limit", "limit");
}
END_TEST

START_TEST(test_adminpath_limit_percent_decoded)
{
    ck_assert_int_eq(parse("/admin/users?limit=%31%30"), MP_OK);
    ck_assert_uint_eq(t.limit, 10);
}
END_TEST

/* cursor */

START_TEST(test_adminpath_cursor_accepted)
{
    ck_assert_int_eq(parse("/admin/users?cursor=abc_XYZ-09"), MP_OK);
    ck_assert_str_eq(t.cursor, "abc_XYZ-09");
    ck_assert_uint_eq(t.cursor_len, 10);
}
END_TEST

START_TEST(test_adminpath_cursor_empty_is_first_page)
{
    ck_assert_int_eq(parse("/admin/users?cursor="), MP_OK);
    ck_assert_uint_eq(t.cursor_len, 0);
    ck_assert_str_eq(t.cursor, "");
    ck_assert_int_eq(parse("/admin/users?cursor"), MP_OK);
    ck_assert_uint_eq(t.cursor_len, 0);
}
END_TEST

START_TEST(test_adminpath_cursor_bad_chars_rejected)
{
    expect_einval("/admin/users?cursor=a.b", "cursor");
    expect_einval("/admin/users?cursor=a+b", "cursor");
    expect_einval("/admin/users?cursor=a%20b", "cursor");
    expect_einval("/admin/users?cursor=a/b", "cursor");
    expect_einval("/admin/users?cursor=a=b", "cursor");
    expect_einval("/admin/users?cursor=%C3%A9", "cursor");
    expect_einval("/admin/users?cursor=%00", "cursor");
    expect_einval("/admin/users?cursor=ab%", "cursor");
}
END_TEST

START_TEST(test_adminpath_cursor_length_limit)
{
    char s[64 + MP_ADMIN_CURSOR_MAX + 2];
    size_t o = (size_t)snprintf(s, sizeof(s), "/admin/users?cursor=");
    memset(s + o, 'c', MP_ADMIN_CURSOR_MAX);
    s[o + MP_ADMIN_CURSOR_MAX] = '\0';
    ck_assert_int_eq(parse(s), MP_OK);
    ck_assert_uint_eq(t.cursor_len, MP_ADMIN_CURSOR_MAX);
    ck_assert_uint_eq(strlen(t.cursor), MP_ADMIN_CURSOR_MAX);
    s[o + MP_ADMIN_CURSOR_MAX] = 'c';
    s[o + MP_ADMIN_CURSOR_MAX + 1] = '\0';
    expect_einval(s, "cursor");
}
END_TEST

/* query structure */

START_TEST(test_adminpath_all_parameters_together)
{
    ck_assert_int_eq(
        parse(
            "/admin/users/u/export?limit=20&cursor=next-1&tenant=abcdefabcdefabcdefabcdefabcdefab"),
        MP_OK);
    ck_assert_uint_eq(t.limit, 20);
    ck_assert_str_eq(t.cursor, "next-1");
    ck_assert(t.has_tenant);
    ck_assert_str_eq(t.tenant, "abcdefabcdefabcdefabcdefabcdefab");
    ck_assert_str_eq(t.user, "u");
}
END_TEST

START_TEST(test_adminpath_repeated_parameter_rejected)
{
    expect_einval("/admin/users?limit=5&limit=5", "query");
    expect_einval("/admin/users?limit=5&limit=x", "query");
    expect_einval("/admin/users?cursor=a&cursor=b", "query");
    expect_einval("/admin/users?cursor&cursor", "query");
    expect_einval("/admin/users?tenant=00000000000000000000000000000000&x=1&"
                  "tenant=00000000000000000000000000000000",
                  "query");
    expect_einval("/admin/users?limit=5&l%69mit=6", "query");
}
END_TEST

START_TEST(test_adminpath_unknown_parameters_ignored)
{
    ck_assert_int_eq(parse("/admin/users?foo=bar&x&Limit=abc&limitx=5&order=%zz&"
                           "averyveryverylongname=1&limit=7&foo=baz"),
                     MP_OK);
    ck_assert_uint_eq(t.limit, 7);
    ck_assert(!t.has_tenant);
    ck_assert_uint_eq(t.cursor_len, 0);
}
END_TEST

START_TEST(test_adminpath_empty_pairs_ignored)
{
    ck_assert_int_eq(parse("/admin/users?&&limit=5&&"), MP_OK);
    ck_assert_uint_eq(t.limit, 5);
    ck_assert_int_eq(parse("/admin/users?"), MP_OK);
    ck_assert_uint_eq(t.limit, MP_ADMIN_LIMIT_DEFAULT);
    ck_assert_int_eq(parse("/admin/users?&"), MP_OK);
}
END_TEST

START_TEST(test_adminpath_parameter_names_decoded)
{
    ck_assert_int_eq(parse("/admin/users?%6Cimit=5"), MP_OK);
    ck_assert_uint_eq(t.limit, 5);
    ck_assert_int_eq(parse("/admin/users?li+mit=5"), MP_OK); /* "li mit": unknown */
    ck_assert_uint_eq(t.limit, MP_ADMIN_LIMIT_DEFAULT);
}
END_TEST

START_TEST(test_adminpath_bad_escape_in_name_rejected)
{
    expect_einval("/admin/users?%zz=1", "query");
    expect_einval("/admin/users?limit=5&foo%=1", "query");
    expect_einval("/admin/users?averyveryverylongname%4=1", "query");
}
END_TEST

START_TEST(test_adminpath_fragment_rejected)
{
    expect_einval("/admin/users#top", "query");
    expect_einval("/admin/users?limit=5#top", "query");
    expect_einval("/admin/users/alice/memory?#", "query");
    expect_einval("/admin/users?cursor=a#b", "query");
}
END_TEST

START_TEST(test_adminpath_fragment_on_unknown_path_not_found)
{
    expect_notfound("/admin/nope#x");
    expect_notfound("/admin/users/a#b/memory");
}
END_TEST

START_TEST(test_adminpath_first_problem_wins)
{
    expect_einval("/admin/users?limit=0&tenant=zz", "limit");
    expect_einval("/admin/users?tenant=zz&limit=0", "tenant");
    expect_einval("/admin/users/%zz/memory?limit=0", "user");
    expect_einval("/admin/users/%zz/memory#x", "user");
    expect_einval("/admin/users#x?limit=0", "query");
}
END_TEST

/* Contract on the outputs */

static void expect_untouched(const char *s, int want_rc)
{
    struct mp_admin_target before;
    memset(&t, 0xAB, sizeof(t));
    memcpy(&before, &t, sizeof(t));
    ck_assert_int_eq(mp_adminpath_parse(s, strlen(s), &t, &param), want_rc);
    ck_assert_msg(memcmp(&before, &t, sizeof(t)) == 0, "%s: out was modified", s);
}

START_TEST(test_adminpath_out_untouched_on_failure)
{
    expect_untouched("/admin/nope", MP_NOTFOUND);
    expect_untouched("/admin/users/%00/memory", MP_EINVAL);
    expect_untouched("/admin/users/alice/entities/---", MP_EINVAL);
    /* Fails late, after user, tenant and cursor were already decoded. */
    expect_untouched("/admin/users/alice/memory?tenant=00000000000000000000000000000000&"
                     "cursor=abc&limit=0",
                     MP_EINVAL);
}
END_TEST

START_TEST(test_adminpath_param_untouched_unless_einval)
{
    const char *sentinel = "sentinel";
    param = sentinel;
    ck_assert_int_eq(mp_adminpath_parse("/admin/nope", 11, &t, &param), MP_NOTFOUND);
    ck_assert_ptr_eq(param, sentinel);
    ck_assert_int_eq(mp_adminpath_parse("/admin/users", 12, &t, &param), MP_OK);
    ck_assert_ptr_eq(param, sentinel);
}
END_TEST

START_TEST(test_adminpath_param_may_be_null)
{
    ck_assert_int_eq(mp_adminpath_parse("/admin/users?limit=0", 20, &t, NULL), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse("/admin/users?limit=9", 20, &t, NULL), MP_OK);
    ck_assert_uint_eq(t.limit, 9);
}
END_TEST

/* Memory jobs */

START_TEST(test_adminpath_jobs_route_has_defaults)
{
    ck_assert_int_eq(parse("/admin/jobs"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_JOBS);
    ck_assert_int_eq(t.state, MP_ADMIN_JOBS_ALL);
    ck_assert(!t.has_job_user);
    ck_assert_uint_eq(t.job_user_len, 0);
    ck_assert_uint_eq(t.user_len, 0);
    ck_assert_uint_eq(t.limit, MP_ADMIN_LIMIT_DEFAULT);
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_JOBS), "GET");
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_JOBS, "GET", 3));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_JOBS, "DELETE", 6));
    expect_notfound("/admin/jobs/");
    expect_notfound("/admin/Jobs");
    expect_notfound("/admin/jobs/1/retry/now");
    expect_notfound("/admin/jobs/1/rerun");
}
END_TEST

START_TEST(test_adminpath_jobs_state_each_value)
{
    static const struct {
        const char *q;
        enum mp_admin_job_state want;
    } cases[] = {
        {"all", MP_ADMIN_JOBS_ALL},       {"pending", MP_ADMIN_JOBS_PENDING},
        {"leased", MP_ADMIN_JOBS_LEASED}, {"held", MP_ADMIN_JOBS_HELD},
        {"failed", MP_ADMIN_JOBS_FAILED}, {"f%61iled", MP_ADMIN_JOBS_FAILED},
    };
    char target[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(target, sizeof(target), "/admin/jobs?state=%s", cases[i].q);
        ck_assert_int_eq(parse(target), MP_OK);
        ck_assert_int_eq(t.state, cases[i].want);
    }
}
END_TEST

START_TEST(test_adminpath_jobs_bad_state_named)
{
    expect_einval("/admin/jobs?state=", "state");
    expect_einval("/admin/jobs?state=Held", "state");
    expect_einval("/admin/jobs?state=running", "state");
    expect_einval("/admin/jobs?state=held,failed", "state");
    expect_einval("/admin/jobs?state=pendingx", "state");
    expect_einval("/admin/jobs?state=%zz", "state");
    expect_einval("/admin/jobs?state=held&state=held", "query");
    expect_einval("/admin/jobs?limit=0&state=held", "limit"); /* the first problem wins */
    expect_einval("/admin/jobs?state=x&limit=0", "state");
}
END_TEST

START_TEST(test_adminpath_jobs_user_filter_decoded)
{
    ck_assert_int_eq(parse("/admin/jobs?user=ann%2Fb+c&tenant=0123456789ABCDEF0123456789abcdef"
                           "&state=held&limit=5&cursor=AAAAAAAAAAE"),
                     MP_OK);
    ck_assert(t.has_job_user);
    ck_assert_str_eq(t.job_user, "ann/b c");
    ck_assert_uint_eq(t.job_user_len, 7);
    ck_assert_uint_eq(t.user_len, 0); /* the path's {id} stays empty */
    ck_assert_str_eq(t.tenant, "0123456789abcdef0123456789abcdef");
    ck_assert_int_eq(t.state, MP_ADMIN_JOBS_HELD);
    ck_assert_uint_eq(t.limit, 5);
    ck_assert_str_eq(t.cursor, "AAAAAAAAAAE");
    /* a user route keeps its path's {id} whatever the query says */
    ck_assert_int_eq(parse("/admin/users/ann/memory?user=bob"), MP_OK);
    ck_assert_str_eq(t.user, "ann");
    ck_assert_str_eq(t.job_user, "bob");
}
END_TEST

START_TEST(test_adminpath_jobs_bad_user_named)
{
    char target[MP_USER_ID_MAX + 64];
    expect_einval("/admin/jobs?user=", "user");
    expect_einval("/admin/jobs?user=%zz", "user");
    expect_einval("/admin/jobs?user=a%00b", "user");
    expect_einval("/admin/jobs?user=a%0Ab", "user");
    expect_einval("/admin/jobs?user=%7B%7Bid%7D%7D", "user");
    expect_einval("/admin/jobs?user=%FF", "user");
    expect_einval("/admin/jobs?user=a&user=a", "query");
    memset(target, 0, sizeof(target));
    strcpy(target, "/admin/jobs?user=");
    memset(target + strlen(target), 'u', MP_USER_ID_MAX);
    ck_assert_int_eq(parse(target), MP_OK);
    ck_assert_uint_eq(t.job_user_len, MP_USER_ID_MAX);
    strcat(target, "u");
    expect_einval(target, "user");
}
END_TEST

START_TEST(test_adminpath_parse_id_bounds)
{
    uint64_t v = 7;
    ck_assert_int_eq(mp_adminpath_parse_id("1", 1, &v), MP_OK);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(mp_adminpath_parse_id("9223372036854775807", 19, &v), MP_OK);
    ck_assert_uint_eq(v, 9223372036854775807ULL);
    v = 7;
    ck_assert_int_eq(mp_adminpath_parse_id("9223372036854775808", 19, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("99999999999999999999", 20, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("", 0, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("0", 1, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("01", 2, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("+1", 2, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("1 ", 2, &v), MP_EINVAL);
    ck_assert_int_eq(mp_adminpath_parse_id("12", 1, &v), MP_OK); /* n bytes only */
    ck_assert_uint_eq(v, 1);
    v = 7;
    ck_assert_int_eq(mp_adminpath_parse_id("1a", 2, &v), MP_EINVAL);
    ck_assert_uint_eq(v, 7); /* untouched */
}
END_TEST

START_TEST(test_adminpath_job_routes_take_an_id)
{
    ck_assert_int_eq(parse("/admin/jobs/42"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_JOB);
    ck_assert_uint_eq(t.job, 42);
    ck_assert_uint_eq(t.user_len, 0);
    ck_assert_int_eq(parse("/admin/jobs/9223372036854775807/retry"), MP_OK);
    ck_assert_int_eq(t.route, MP_ADMIN_JOB_RETRY);
    ck_assert_uint_eq(t.job, 9223372036854775807ULL);
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_JOB), "DELETE");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_JOB_RETRY), "POST");
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_JOB, "DELETE", 6));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_JOB, "GET", 3));
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_JOB_RETRY, "POST", 4));
    ck_assert(!mp_adminpath_method_ok(MP_ADMIN_JOB_RETRY, "GET", 3));
    expect_einval("/admin/jobs/0", "id");
    expect_einval("/admin/jobs/007", "id");
    expect_einval("/admin/jobs/-1/retry", "id");
    expect_einval("/admin/jobs/9223372036854775808", "id");
    expect_einval("/admin/jobs/4%32", "id");
    expect_einval("/admin/jobs/abc/retry", "id");
    expect_einval("/admin/jobs/1#x", "query");
    expect_einval("/admin/jobs/x?limit=0", "id"); /* the path first */
}
END_TEST

/* Methods */

static bool method_ok(enum mp_admin_route r, const char *m)
{
    return mp_adminpath_method_ok(r, m, strlen(m));
}

START_TEST(test_adminpath_allow_strings)
{
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USERS), "GET");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USER_MEMORY), "GET, DELETE");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USER_EXPORT), "GET");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USER_HISTORY), "GET");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_USER_ENTITY), "PUT, DELETE");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_COMPACT), "POST");
    ck_assert_str_eq(mp_adminpath_allow(MP_ADMIN_SWEEP), "POST");
    ck_assert_str_eq(mp_adminpath_allow((enum mp_admin_route)0), "");
    ck_assert_str_eq(mp_adminpath_allow((enum mp_admin_route)99), "");
}
END_TEST

START_TEST(test_adminpath_method_ok_allowed)
{
    ck_assert(method_ok(MP_ADMIN_USERS, "GET"));
    ck_assert(method_ok(MP_ADMIN_USER_MEMORY, "GET"));
    ck_assert(method_ok(MP_ADMIN_USER_MEMORY, "DELETE"));
    ck_assert(method_ok(MP_ADMIN_USER_EXPORT, "GET"));
    ck_assert(method_ok(MP_ADMIN_USER_HISTORY, "GET"));
    ck_assert(method_ok(MP_ADMIN_USER_ENTITY, "PUT"));
    ck_assert(method_ok(MP_ADMIN_USER_ENTITY, "DELETE"));
    ck_assert(method_ok(MP_ADMIN_COMPACT, "POST"));
    ck_assert(method_ok(MP_ADMIN_SWEEP, "POST"));
}
END_TEST

START_TEST(test_adminpath_method_ok_refused)
{
    ck_assert(!method_ok(MP_ADMIN_USERS, "POST"));
    ck_assert(!method_ok(MP_ADMIN_USERS, "DELETE"));
    ck_assert(!method_ok(MP_ADMIN_USER_MEMORY, "PUT"));
    ck_assert(!method_ok(MP_ADMIN_USER_EXPORT, "DELETE"));
    ck_assert(!method_ok(MP_ADMIN_USER_HISTORY, "POST"));
    ck_assert(!method_ok(MP_ADMIN_USER_ENTITY, "GET"));
    ck_assert(!method_ok(MP_ADMIN_COMPACT, "GET"));
    ck_assert(!method_ok(MP_ADMIN_SWEEP, "PUT"));
    ck_assert(!method_ok(MP_ADMIN_USERS, "HEAD"));
    ck_assert(!method_ok((enum mp_admin_route)0, "GET"));
    ck_assert(!method_ok((enum mp_admin_route)99, "GET"));
}
END_TEST

START_TEST(test_adminpath_method_ok_exact_bytes)
{
    ck_assert(!method_ok(MP_ADMIN_USERS, "get"));
    ck_assert(!method_ok(MP_ADMIN_USERS, "GE"));
    ck_assert(!method_ok(MP_ADMIN_USERS, "GETS"));
    ck_assert(!method_ok(MP_ADMIN_USERS, ""));
    ck_assert(!method_ok(MP_ADMIN_USER_MEMORY, "GET, DELETE"));
    ck_assert(!method_ok(MP_ADMIN_USER_MEMORY, ", "));
    ck_assert(!method_ok(MP_ADMIN_USER_MEMORY, "DELET"));
    /* Not NUL-terminated: only method_len bytes count. */
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USERS, "GETX", 3));
    ck_assert(mp_adminpath_method_ok(MP_ADMIN_USER_ENTITY, "DELETEME", 6));
}
END_TEST

START_TEST(test_adminpath_retention_receipt_or_item)
{
    ck_assert_int_eq(parse("/admin/users/ann/import"), MP_OK);
    ck_assert(!t.retention_item);
    ck_assert_int_eq(parse("/admin/users/ann/import?retention=item"), MP_OK);
    ck_assert(t.retention_item);
    ck_assert_int_eq(parse("/admin/users/ann/import?retention=%69tem&limit=5"), MP_OK);
    ck_assert(t.retention_item);
    ck_assert_int_eq(parse("/admin/users/ann/import?retention=receipt"), MP_OK);
    ck_assert(!t.retention_item);
    expect_einval("/admin/users/ann/import?retention=items", "retention");
    expect_einval("/admin/users/ann/import?retention=", "retention");
    expect_einval("/admin/users/ann/import?retention", "retention");
    expect_einval("/admin/users/ann/import?retention=receipt%20", "retention");
    expect_einval("/admin/users/ann/import?retention=item&retention=item", "query");
    /* a longer name is another, unknown one */
    ck_assert_int_eq(parse("/admin/users/ann/import?retentionx=item"), MP_OK);
    ck_assert(!t.retention_item);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("adminpath");
    TCase *tc = tcase_create("core");
    /* routes */
    tcase_add_test(tc, test_adminpath_users_route_has_defaults);
    tcase_add_test(tc, test_adminpath_retention_receipt_or_item);
    tcase_add_test(tc, test_adminpath_compact_route);
    tcase_add_test(tc, test_adminpath_sweep_route);
    tcase_add_test(tc, test_adminpath_status_reload_routes);
    tcase_add_test(tc, test_adminpath_user_settings_route);
    tcase_add_test(tc, test_adminpath_user_memory_route);
    tcase_add_test(tc, test_adminpath_user_export_route);
    tcase_add_test(tc, test_adminpath_user_history_route);
    tcase_add_test(tc, test_adminpath_user_search_route);
    tcase_add_test(tc, test_adminpath_search_query_bounds);
    tcase_add_test(tc, test_adminpath_user_explain_route_and_api);
    tcase_add_test(tc, test_adminpath_explanation_route);
    tcase_add_test(tc, test_adminpath_user_entity_route);
    tcase_add_test(tc, test_adminpath_unknown_segments_not_found);
    tcase_add_test(tc, test_adminpath_requires_admin_prefix);
    tcase_add_test(tc, test_adminpath_match_is_case_sensitive);
    tcase_add_test(tc, test_adminpath_trailing_slash_not_found);
    tcase_add_test(tc, test_adminpath_double_slash_not_found);
    tcase_add_test(tc, test_adminpath_user_in_query_when_id_empty);
    tcase_add_test(tc, test_adminpath_dot_segments_not_found);
    tcase_add_test(tc, test_adminpath_structure_checked_before_decoding);
    tcase_add_test(tc, test_adminpath_query_mark_ends_path);
    tcase_add_test(tc, test_adminpath_raw_nul_in_fixed_segment_not_found);
    tcase_add_test(tc, test_adminpath_length_bounds_the_target);
    /* {id} */
    tcase_add_test(tc, test_adminpath_user_utf8_escapes_decoded);
    tcase_add_test(tc, test_adminpath_user_lowercase_hex_escapes_decoded);
    tcase_add_test(tc, test_adminpath_user_raw_utf8_accepted);
    tcase_add_test(tc, test_adminpath_user_encoded_slash_kept_in_id);
    tcase_add_test(tc, test_adminpath_user_encoded_dots_are_data);
    tcase_add_test(tc, test_adminpath_user_plus_is_not_space);
    tcase_add_test(tc, test_adminpath_user_encoded_percent);
    tcase_add_test(tc, test_adminpath_user_bad_escapes_rejected);
    tcase_add_test(tc, test_adminpath_escape_cut_by_length_rejected);
    tcase_add_test(tc, test_adminpath_user_nul_byte_rejected);
    tcase_add_test(tc, test_adminpath_user_raw_nul_byte_rejected);
    tcase_add_test(tc, test_adminpath_user_controls_rejected);
    tcase_add_test(tc, test_adminpath_user_invalid_utf8_rejected);
    tcase_add_test(tc, test_adminpath_user_template_rejected);
    tcase_add_test(tc, test_adminpath_user_length_limit);
    tcase_add_test(tc, test_adminpath_user_length_counts_decoded_bytes);
    /* {key} */
    tcase_add_test(tc, test_adminpath_key_normalized);
    tcase_add_test(tc, test_adminpath_key_bad_escape_rejected);
    tcase_add_test(tc, test_adminpath_key_empty_after_normalization_rejected);
    tcase_add_test(tc, test_adminpath_key_invalid_utf8_rejected);
    tcase_add_test(tc, test_adminpath_key_length_limit);
    tcase_add_test(tc, test_adminpath_key_raw_length_limit);
    tcase_add_test(tc, test_adminpath_key_nul_becomes_separator);
    tcase_add_test(tc, test_adminpath_user_checked_before_key);
    /* tenant */
    tcase_add_test(tc, test_adminpath_tenant_lowercased);
    tcase_add_test(tc, test_adminpath_tenant_applies_to_every_route);
    tcase_add_test(tc, test_adminpath_tenant_bad_length_rejected);
    tcase_add_test(tc, test_adminpath_tenant_non_hex_rejected);
    tcase_add_test(tc, test_adminpath_tenant_percent_decoded);
    /* limit */
    tcase_add_test(tc, test_adminpath_limit_bounds_accepted);
    tcase_add_test(tc, test_adminpath_limit_out_of_range_rejected);
    tcase_add_test(tc, test_adminpath_entities_cursor_and_limit);
    tcase_add_test(tc, test_adminpath_limit_junk_rejected);
    tcase_add_test(tc, test_adminpath_limit_empty_rejected);
    tcase_add_test(tc, test_adminpath_limit_percent_decoded);
    /* cursor */
    tcase_add_test(tc, test_adminpath_cursor_accepted);
    tcase_add_test(tc, test_adminpath_cursor_empty_is_first_page);
    tcase_add_test(tc, test_adminpath_cursor_bad_chars_rejected);
    tcase_add_test(tc, test_adminpath_cursor_length_limit);
    /* query */
    tcase_add_test(tc, test_adminpath_all_parameters_together);
    tcase_add_test(tc, test_adminpath_repeated_parameter_rejected);
    tcase_add_test(tc, test_adminpath_unknown_parameters_ignored);
    tcase_add_test(tc, test_adminpath_empty_pairs_ignored);
    tcase_add_test(tc, test_adminpath_parameter_names_decoded);
    tcase_add_test(tc, test_adminpath_bad_escape_in_name_rejected);
    tcase_add_test(tc, test_adminpath_fragment_rejected);
    tcase_add_test(tc, test_adminpath_fragment_on_unknown_path_not_found);
    tcase_add_test(tc, test_adminpath_first_problem_wins);
    /* outputs */
    tcase_add_test(tc, test_adminpath_out_untouched_on_failure);
    tcase_add_test(tc, test_adminpath_param_untouched_unless_einval);
    tcase_add_test(tc, test_adminpath_param_may_be_null);
    /* methods */
    tcase_add_test(tc, test_adminpath_allow_strings);
    tcase_add_test(tc, test_adminpath_method_ok_allowed);
    tcase_add_test(tc, test_adminpath_user_message_route_takes_a_seq);
    tcase_add_test(tc, test_adminpath_user_conversation_route_takes_a_digest);
    tcase_add_test(tc, test_adminpath_method_ok_refused);
    tcase_add_test(tc, test_adminpath_method_ok_exact_bytes);
    /* memory jobs */
    tcase_add_test(tc, test_adminpath_jobs_route_has_defaults);
    tcase_add_test(tc, test_adminpath_jobs_state_each_value);
    tcase_add_test(tc, test_adminpath_jobs_bad_state_named);
    tcase_add_test(tc, test_adminpath_jobs_user_filter_decoded);
    tcase_add_test(tc, test_adminpath_jobs_bad_user_named);
    tcase_add_test(tc, test_adminpath_job_routes_take_an_id);
    tcase_add_test(tc, test_adminpath_parse_id_bounds);
    suite_add_tcase(s, tc);
    return s;
}
