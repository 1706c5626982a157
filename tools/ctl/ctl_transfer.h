/* The ops command line's export and import of memory as JSON Lines
 * (docs/ctl.md; the lines are the admin API's, docs/admin-api.md): one
 * user's or every user's export to stdout, every page followed to the end;
 * an import of one user's lines from stdin, or of every user's lines as
 * "users export --all" wrote them (each line names its user and tenant). */
#ifndef MP_TOOLS_CTL_TRANSFER_H
#define MP_TOOLS_CTL_TRANSFER_H

#include "ctl/ctl_session.h"

#define MP_CTL_IMPORT_MAX (32u * 1024 * 1024) /* one import request: the admin listener's limit */

/* users export USER [--tenant T] | users export --all [--tenant T] */
int mp_ctl_transfer_export(struct mp_ctl_session *s, int argc, const char *const *argv);

/* users import USER [--tenant T] [--format F] [--dry-run] [FILE] |
 * users import --all < FILE (one user's file: ctl_importfile.h) */
int mp_ctl_transfer_import(struct mp_ctl_session *s, int argc, const char *const *argv);

#endif
