/* users import USER [--format F] [--dry-run] [FILE] (docs/ctl.md): one
 * file, memproxy's JSON Lines or another assistant's export, into one
 * user through POST .../import?format=F, with a progress bar on stderr
 * while it uploads (when stderr is a terminal), then what was imported,
 * what was skipped and why, and what went to the memory model. A ZIP too
 * big for one import has its conversations.json inflated here
 * (core/import/importzip.h) and sent alone. */
#ifndef MP_TOOLS_CTL_IMPORTFILE_H
#define MP_TOOLS_CTL_IMPORTFILE_H

#include <jansson.h>
#include <stdbool.h>

#include "ctl/ctl_session.h"
#include "ctl/ctl_users.h"

/* What to import: format (a name of mp_importitem_format_name; NULL:
 * jsonl), dry_run, file (NULL or "-": stdin). */
struct mp_ctl_importfile {
    const char *format;
    bool dry_run;
    const char *file;
};

/* Imports f into u: an exit status (ctl_main.h). */
int mp_ctl_importfile_run(struct mp_ctl_session *s, const struct mp_ctl_user *u,
                          const struct mp_ctl_importfile *f);

/* Prints what an import's answer doc (borrowed) says for subject: the
 * counts line ("imported N messages, ... into user 'x' (K lines skipped)",
 * "would import" for a dry run), then the reasons of what was skipped and
 * the memory model's share, when there are any. */
void mp_ctl_importfile_report(const char *subject, const json_t *doc);

#endif
