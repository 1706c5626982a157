/* copy-store: a whole store copied between two configurations' stores,
 * offline (docs/ctl.md). */
#include "ctl/ctl_copy.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "config_load.h"
#include "ctl/ctl_main.h"
#include "status.h"
#include "upkeep/store_copy.h"
#include "store_open.h"

#define COPY_CONNECTIONS 2

/* The store of the configuration file path, read without the
 * environment: MP_CTL_OK, or MP_CTL_USAGE / MP_CTL_FAILED after a line on
 * stderr. */
static int open_side(const char *which, const char *path, struct mp_store **out)
{
    static const char *const no_env[] = {NULL};
    struct mp_config cfg;
    struct mp_config_errors errs;
    char err[512] = "";
    bool sealed = false;
    if (mp_config_load(path, no_env, &cfg, &errs) != MP_OK) {
        fprintf(stderr, "memproxy ctl copy-store: the %s configuration is not valid:\n", which);
        mp_config_print_errors(&errs, stderr);
        return MP_CTL_USAGE;
    }
    int rc = mp_store_open_configured(&cfg, COPY_CONNECTIONS, out, &sealed, err, sizeof(err));
    explicit_bzero(&cfg, sizeof(cfg)); /* it holds the secrets */
    if (rc != MP_OK) {
        fprintf(stderr, "memproxy ctl copy-store: cannot open the %s store: %s\n", which, err);
        return MP_CTL_FAILED;
    }
    return MP_CTL_OK;
}

int mp_ctl_copy_store(struct mp_ctl_session *s, int argc, const char *const *argv)
{
    struct mp_ctl_opt opts[] = {{.name = "--from", .takes_value = true},
                                {.name = "--to", .takes_value = true}};
    struct mp_store *from = NULL, *to = NULL;
    struct mp_store_copy_counts n;
    char err[512] = "";
    size_t npos = 0;
    int rc = mp_ctl_session_args("copy-store", argc, argv, opts, 2, NULL, 0, 0, &npos);
    if (rc == MP_CTL_OK && (!opts[0].seen || !opts[1].seen)) {
        fprintf(stderr, "memproxy ctl copy-store: give --from FILE and --to FILE (see memproxy "
                        "ctl copy-store --help)\n");
        rc = MP_CTL_USAGE;
    }
    if (rc == MP_CTL_OK)
        rc = open_side("source (--from)", opts[0].value, &from);
    if (rc == MP_CTL_OK)
        rc = open_side("destination (--to)", opts[1].value, &to);
    if (rc == MP_CTL_OK && mp_store_copy(from, to, &n, err, sizeof(err)) != MP_OK) {
        fprintf(stderr, "memproxy ctl copy-store: %s\n", err);
        rc = MP_CTL_FAILED;
    }
    mp_store_free(to);
    mp_store_free(from);
    if (rc != MP_CTL_OK)
        return rc;
    if (s->json) {
        json_t *doc = json_pack("{s:s, s:s, s:I, s:I}", "from", opts[0].value, "to", opts[1].value,
                                "records", (json_int_t)n.records, "users", (json_int_t)n.users);
        rc = doc != NULL ? mp_ctl_session_print_json(doc) : MP_CTL_FAILED;
        json_decref(doc);
        return rc;
    }
    printf("copied %llu records (%llu users) from %s to %s\n", (unsigned long long)n.records,
           (unsigned long long)n.users, opts[0].value, opts[1].value);
    return MP_CTL_OK;
}
