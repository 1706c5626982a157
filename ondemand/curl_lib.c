/* libcurl's table (curl_lib.h), filled once by ondemand.h. */
#include "curl_lib.h"

#include <stddef.h>

#include "ondemand.h"
#include "status.h"

struct mp_curl_lib mp_curl;

#define MP_CURL_FN(name) {"curl_" #name, offsetof(struct mp_curl_lib, name)},
static const struct mp_ondemand_fn functions[] = {MP_CURL_FUNCTIONS(MP_CURL_FN)};
#undef MP_CURL_FN

static int global_init(const char **why)
{
    if (mp_curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
        return MP_OK;
    *why = "libcurl's global init failed";
    return MP_EIO;
}

static struct mp_ondemand libcurl =
    MP_ONDEMAND("libcurl.so.4", "libcurl4", functions, &mp_curl, global_init);

int mp_curl_load(const char **why)
{
    return mp_ondemand_load(&libcurl, why);
}

void mp_curl_unload(void)
{
    if (mp_ondemand_loaded(&libcurl))
        mp_curl.global_cleanup();
}
