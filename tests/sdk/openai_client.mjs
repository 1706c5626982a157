// Drives memproxy with the official OpenAI SDK (npm "openai") for
// tests/proxy/plane/test_sdk.py. One call per run:
//   node openai_client.mjs <chat|chat-stream|chat-history|responses|responses-stream|
//                           responses-continue|responses-conversation-stream> <text>
// (chat-history resends a short conversation before the text)
// (the last two continue upstream state: previous_response_id with
// instructions, and a conversation object)
// Environment: OPENAI_BASE_URL (memproxy's /v1), MEMPROXY_USER (sent as
// X-User-Id), MEMPROXY_TAG (sent as X-Test-Req, so the test finds the
// request the fake upstream received). Prints one JSON line: {"text": ...},
// the reply text as the SDK gave it to the application.
import OpenAI from 'openai';

const [kind, text] = process.argv.slice(2);
const client = new OpenAI({
  apiKey: 'sk-sdk-test',
  baseURL: process.env.OPENAI_BASE_URL,
  maxRetries: 0,
  defaultHeaders: {'X-User-Id': process.env.MEMPROXY_USER, 'X-Test-Req': process.env.MEMPROXY_TAG},
});
const model = 'gpt-4o-mini';

async function run() {
  switch (kind) {
    case 'chat': {
      const r = await client.chat.completions.create({model, messages: [{role: 'user', content: text}]});
      return r.choices[0].message.content;
    }
    case 'chat-stream': {
      const s = await client.chat.completions.create({model, stream: true, messages: [{role: 'user', content: text}]});
      let out = '';
      for await (const chunk of s) out += chunk.choices[0]?.delta?.content ?? '';
      return out;
    }
    case 'chat-history': {
      // a client that resends its conversation on every turn (issue 32)
      const r = await client.chat.completions.create({model, messages: [
        {role: 'system', content: 'You are terse.'}, {role: 'user', content: 'Hello.'},
        {role: 'assistant', content: 'Hi.'}, {role: 'user', content: text}]});
      return r.choices[0].message.content;
    }
    case 'responses': {
      const r = await client.responses.create({model, input: text});
      return r.output_text;
    }
    case 'responses-stream': {
      const s = await client.responses.create({model, input: text, stream: true});
      let out = '';
      for await (const ev of s) if (ev.type === 'response.output_text.delta') out += ev.delta;
      return out;
    }
    case 'responses-continue': {
      // a conversation the upstream holds, as an application continues it
      const r = await client.responses.create({
        model, instructions: 'You are terse.', input: text, previous_response_id: 'resp_prev', store: true,
      });
      return r.output_text;
    }
    case 'responses-conversation-stream': {
      const s = await client.responses.create({
        model, input: [{role: 'user', content: text}], conversation: {id: 'conv_sdk'}, stream: true,
      });
      let out = '';
      for await (const ev of s) if (ev.type === 'response.output_text.delta') out += ev.delta;
      return out;
    }
    default:
      throw new Error('unknown kind ' + kind);
  }
}

run().then((t) => console.log(JSON.stringify({text: t})), (e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
