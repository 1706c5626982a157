/* The reader of a ChatGPT data export's conversations.json (Settings ->
 * Data controls -> Export data: a ZIP whose conversations.json this reads;
 * the ZIP is importzip.h's). It turns the conversations into the import
 * format's messages (importitem.h); it stores nothing.
 *
 * The file is a JSON array of conversations (or one conversation object).
 * A conversation has an id ("conversation_id", else "id"), a "create_time"
 * and a "mapping" of node ids to nodes {"message", "parent", "children"}:
 * a tree, since an edited question or a regenerated answer starts a new
 * branch. The branch the user kept is the walk from "current_node" up
 * through the parents to the root, read root first; the nodes of the
 * other branches are counted (other_branch), never imported. A
 * conversation without "current_node" (a third-party tool's minimal
 * export) keeps the branch of its newest leaf: the node no other names as
 * its parent whose message's create_time is the latest (the later in the
 * file on a tie).
 *
 * A node's message {"id", "author": {"role"}, "create_time", "content":
 * {"content_type", "parts"}, "metadata", "recipient"} becomes a message of
 * the user ("user") or of the assistant ("assistant") when it is shown in
 * the conversation, each left out for the first reason that applies:
 * metadata.is_visually_hidden_from_conversation true (hidden); role
 * "system" (system) or "tool" (tool); an assistant's message to a tool
 * (a "recipient" other than "all": tool); another role (unsupported);
 * content_type "code" (code), "execution_output" (tool), "thoughts" or
 * "reasoning_recap" (reasoning), "model_editable_context" (hidden: what
 * the model noted), anything but "text" and "multimodal_text"
 * (unsupported).
 *
 * A message of content_type "user_editable_context" (hidden in the app)
 * holds the person's custom instructions: "about me" and "how to respond",
 * read from its metadata's user_context_message_data (about_user_message,
 * about_model_message), else from its content's user_profile and
 * user_instructions (the person's words are what ChatGPT quotes between
 * ``` there). Each becomes a fact of the person's own words: key about_me
 * or how_to_respond, trust stated, source "custom_instructions", its
 * value the text on one line (cut marked at MP_ENTITY_VALUE_MAX), its
 * time the message's; the newest the export holds, pushed after every
 * conversation's messages, with the id
 * "chatgpt:custom_instructions/<key>/<FNV-1a 64 of the value, 16 hex>". Of the kept ones the
 * text parts are joined with a blank line: a string part, or an object
 * part's "text" (a voice message's transcription); every other part is
 * left out and counted: "image_asset_pointer" (image), a part whose
 * content_type names audio or video (audio), any other (file). A message
 * with no text left is counted empty, unless a part was counted. Text is
 * trimmed and cut like a recorded turn's (MP_MESSAGE_CONTENT_MAX).
 *
 * Times: "create_time" is seconds since the epoch, a float; a message
 * without one takes the time of the message before it in the branch (one
 * left out too), or the conversation's. Every time must pass mp_usermem_time_ok (refused:
 * "at", future set when it lies ahead). Each message keeps its identity:
 * the id "chatgpt:<conversation id>/<message id>" (when it fits
 * MP_IMPORT_ID_MAX) and its conversation (conv_ref: "chatgpt" and the
 * conversation's id). */
#ifndef MP_CORE_IMPORT_CHATGPT_H
#define MP_CORE_IMPORT_CHATGPT_H

#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"

/* Reads buf[0..len) (borrowed) at the import's time now_ms into out
 * (appended; free with mp_importitem_free(), also on failure). MP_OK;
 * MP_EINVAL with *err (why: "not JSON", "not a list of conversations",
 * "conversation_id", "mapping", "current_node" (it names no node),
 * "parent" (a node's parent is not in the mapping, or the parents loop),
 * "author", "content", "create_time", "at"; title: the conversation's
 * "title"); MP_ETOOBIG past out's max_messages or max_nodes
 * (importitem.h); MP_ENOMEM. A byte order mark before the JSON is skipped. */
int mp_chatgpt_read(const char *buf, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    struct mp_import_error *err);

#endif
