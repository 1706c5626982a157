/* libcurl, loaded when first needed instead of when memproxy starts.
 *
 *   memproxy starts ──> nothing of libcurl is mapped (no libcurl, none of
 *                       its TLS, LDAP, Kerberos and SSH libraries)
 *   first curl use ───> mp_curl_load(): dlopen("libcurl.so.4"), every
 *                       function below looked up, curl_global_init once
 *   then ─────────────> mp_curl.easy_setopt(...) etc. call libcurl itself
 *
 * Who uses libcurl: the memory model's calls (proxy/memory/jobcall.c),
 * forwarding with `client = curl` (proxy/plane/request.c), the `memproxy
 * ctl` commands that speak to the admin API (tools/ctl/ctl_http.c). A
 * proxy that forwards with the native client and has made no memory-model
 * call yet never maps it: about 4 MB of resident memory (docs/operations.md,
 * "What the resident memory holds").
 *
 * The types and constants still come from <curl/curl.h>; only the calls go
 * through the table. Thread-safe: the first mp_curl_load() of any thread
 * loads, the others wait for it and see its result. */
#ifndef MP_ONDEMAND_CURL_LIB_H
#define MP_ONDEMAND_CURL_LIB_H

#include <curl/curl.h>

/* The libcurl functions memproxy calls, by their names without "curl_";
 * each member has the type <curl/curl.h> declares for it. */
#define MP_CURL_FUNCTIONS(X)                                                                       \
    X(global_init)                                                                                 \
    X(global_cleanup)                                                                              \
    X(easy_init)                                                                                   \
    X(easy_cleanup)                                                                                \
    X(easy_reset)                                                                                  \
    X(easy_setopt)                                                                                 \
    X(easy_getinfo)                                                                                \
    X(easy_pause)                                                                                  \
    X(easy_perform)                                                                                \
    X(easy_strerror)                                                                               \
    X(slist_append)                                                                                \
    X(slist_free_all)                                                                              \
    X(multi_init)                                                                                  \
    X(multi_cleanup)                                                                               \
    X(multi_setopt)                                                                                \
    X(multi_add_handle)                                                                            \
    X(multi_remove_handle)                                                                         \
    X(multi_assign)                                                                                \
    X(multi_socket_action)                                                                         \
    X(multi_info_read)

#define MP_CURL_MEMBER(name) __typeof__(curl_##name) *name;
struct mp_curl_lib {
    MP_CURL_FUNCTIONS(MP_CURL_MEMBER)
};
#undef MP_CURL_MEMBER

/* libcurl's functions: call none before mp_curl_load() returned MP_OK; they
 * never change after. */
extern struct mp_curl_lib mp_curl;

/* Loads libcurl and initializes it (CURL_GLOBAL_DEFAULT) the first time;
 * later calls return the first call's result. Returns MP_OK, or MP_EIO
 * when libcurl.so.4 or one of its functions is missing or its init failed;
 * then *why (when why is not NULL) is a static sentence for the log, with
 * no library path or user data in it. */
int mp_curl_load(const char **why);

/* curl_global_cleanup() when libcurl was loaded; nothing otherwise. Call
 * once at exit, after every handle is gone. The library stays mapped. */
void mp_curl_unload(void);

#endif
