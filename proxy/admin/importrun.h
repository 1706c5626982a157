/* One import, from the bytes of a file to its answer (docs/admin-api.md
 * "Import" and "History from other assistants"), for every caller: the
 * admin API's POST /admin/users/{id}/import and the memory page's upload
 * call the same function, so that both store the same and answer the same.
 *
 *   file -> reader (core/import/: jsonl in importlines.h, chatgpt.h,
 *           claude.h, memtext.h; a ZIP through importzip.h)
 *        -> items (importitem.h) -> plan (importplan.h) -> ops
 *           (adminimport.h) -> one transaction on the memory worker:
 *           archive, facts, settings, and the extraction jobs of the
 *           turns the plan sends to the memory model.
 *
 * The file is copied and read, planned, checked and applied on the
 * memory worker's thread, one import at a time, never on the admin or
 * page loop: the loop only checks that the file's bytes fit imports'
 * share of the memory queue (admin/importbounds.h), which holds them until
 * the file is read. So one import's peak memory is its file twice (the
 * connection's and the copy), a ZIP's member (MP_IMPORTRUN_INFLATED_MAX),
 * the items of at most [memory] import_max_messages and import_max_facts,
 * and a conversation's tree of at most MP_IMPORTRUN_NODES_PER_MESSAGE
 * entries per message (the readers stop past them).
 *
 * A file its reader refuses is refused whole (400 invalid_import_line,
 * naming its line, and for conversations its conversation and message;
 * a time past now plus a day says so), counted in
 * memproxy_imports_refused_total{format,reason}; nothing is stored; so is
 * one past a bound (importbounds.h). A dry run reads, plans and checks the
 * same and stores nothing: its answer says what the file holds and what
 * its extraction would cost. It never logs the file's text nor the
 * user's id. */
#ifndef MP_PROXY_IMPORTRUN_H
#define MP_PROXY_IMPORTRUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"
#include "net/respond.h"

struct mp_loop;

/* The most a ZIP's conversations.json may inflate to: what the listener
 * takes as a file (MP_ADMIN_BODY_MAX), so that a ZIP costs no more memory
 * than the same file sent as it is (docs/admin-import-export.md "Bounds of an
 * import": the peak this bounds). */
#define MP_IMPORTRUN_INFLATED_MAX (32u * 1024 * 1024)

/* A conversation's tree (ChatGPT's mapping, Claude's chat_messages) is
 * read up to this many entries per message an import may hold: edits,
 * regenerations and hidden nodes are entries too, but a file of empty
 * ones must not cost more than the messages would. */
#define MP_IMPORTRUN_NODES_PER_MESSAGE 4

/* What is asked of an import. */
struct mp_import_request {
    enum mp_import_format format;
    bool dry_run;
    bool retention_item;         /* retention=item: ages from the items' own times */
    bool has_extract_max_tokens; /* extract_max_tokens given: lowers the setting's bound */
    uint64_t extract_max_tokens;
};

/* An import's answer: ok with the body doc (owned), or the error perr
 * with message (its table's when "") and, when waiting helps, the seconds
 * to wait (Retry-After; 0: none). */
struct mp_import_answer {
    bool ok;
    json_t *doc;
    enum mp_perr perr;
    char message[448];
    unsigned retry_after_s;
};

void mp_import_answer_cleanup(struct mp_import_answer *a);

/* done(arg, answer): the answer of an import the worker had, on the
 * loop's thread (answer borrowed for the call: take doc by setting it
 * NULL). */
typedef void (*mp_importrun_done_fn)(void *arg, struct mp_import_answer *answer);

/* Imports body[0..len) (borrowed for this call only: copied) of format
 * req into the user user_id[0..id_len) (a valid user id) of tenant (its
 * hex, MP_USERKEY_TENANT_HEX digits; NULL: no tenant) on loop (the admin
 * loop, or any loop whose memory worker is the store's), as the request
 * request_id. MP_AGAIN: the memory worker has it (a dry run too), done
 * runs once later (never when the worker is stopped first: see
 * mp_memworker_call()); MP_OK: answered now (a refusal: a bad user, the
 * queue's share full; an error) into *now (clean it up with
 * mp_import_answer_cleanup), done never runs. */
int mp_importrun_start(struct mp_loop *loop, const char *user_id, size_t id_len, const char *tenant,
                       const struct mp_import_request *req, const char *body, size_t len,
                       const char *request_id, mp_importrun_done_fn done, void *arg,
                       struct mp_import_answer *now);

#endif
