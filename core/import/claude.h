/* The reader of a Claude data export's conversations.json (Settings ->
 * Privacy -> Export data: a ZIP whose conversations.json this reads; the
 * ZIP is importzip.h's). It turns the conversations into the import
 * format's messages (importitem.h); it stores nothing.
 *
 * The file is a JSON array of conversations {"uuid", "name", "created_at",
 * "chat_messages"}. A chat message {"uuid", "sender", "text", "content",
 * "created_at", "attachments", "files"} becomes a message of the user
 * (sender "human") or of the assistant ("assistant"); another sender is
 * left out (unsupported). Its text is its "content" blocks' "text" of
 * type "text", joined with a blank line, or, without content blocks, its
 * "text". Every other block is left out and counted: "thinking" and
 * "redacted_thinking" (reasoning), a type naming a tool ("tool_use",
 * "tool_result", ...: tool), "image" (image), "document" (file), any
 * other (unsupported); and so is every attachment (file) and file (image
 * when its "file_kind" is "image", else file). A message with no text
 * left is counted empty unless something of it was counted. Text is
 * trimmed and cut like a recorded turn's.
 *
 * The export lists a conversation's messages in order. When the
 * conversation names its "current_leaf_message_uuid" and its messages
 * their "parent_message_uuid" (as the app's own conversation reads do),
 * only the branch from that leaf up through the parents is kept (a parent
 * not among the messages is the root) and the other messages are counted
 * (other_branch).
 *
 * Times: "created_at" is RFC 3339 (fractions cut to milliseconds); a
 * message without one takes the conversation's. Every time must pass
 * mp_usermem_time_ok. Each message keeps its identity: the id
 * "claude:<conversation uuid>/<message uuid>" and its conversation
 * (conv_ref: "claude" and the conversation's uuid). */
#ifndef MP_CORE_IMPORT_CLAUDE_H
#define MP_CORE_IMPORT_CLAUDE_H

#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"

/* Reads buf[0..len) (borrowed) at the import's time now_ms into out
 * (appended; free with mp_importitem_free(), also on failure). MP_OK;
 * MP_EINVAL with *err (why: "not JSON", "not a list of conversations",
 * "uuid", "chat_messages", "parent_message_uuid" (the parents loop),
 * "sender", "content", "text", "created_at", "at"); MP_ETOOBIG past out's
 * max_messages or max_nodes (importitem.h); MP_ENOMEM. */
int mp_claude_read(const char *buf, size_t len, int64_t now_ms, struct mp_import_batch *out,
                   struct mp_import_error *err);

#endif
