// Real Node clients against Duck: the `openai` package and the AI SDK (`ai` + `@ai-sdk/openai`).
// Run by tests/test_clients_js.py with DUCK_BASE_URL (…/v1) and DUCK_API_KEY; prints one JSON object.
import OpenAI from "openai";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import { checker } from "./check.mjs";

const baseURL = process.env.DUCK_BASE_URL;
const apiKey = process.env.DUCK_API_KEY;
const results = {};

const check = checker(results);

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });

await check("chat", async () => {
  const reply = await client.chat.completions.create({ model: "demo-chat", messages: [{ role: "user", content: "Node" }] });
  return { text: reply.choices[0].message.content, usage: reply.usage, requestId: reply._request_id ?? null };
});
await check("chat_stream", async () => {
  const stream = await client.chat.completions.create({
    model: "demo-chat", stream: true, stream_options: { include_usage: true },
    messages: [{ role: "user", content: "Streamed" }],
  });
  let text = "", usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage };
});
await check("responses", async () => {
  const first = await client.responses.create({ model: "demo-chat", input: "One" });
  const second = await client.responses.create({ model: "demo-chat", input: "Two", previous_response_id: first.id });
  return { first: first.output_text, second: second.output_text, usage: first.usage };
});
await check("responses_stream", async () => {
  const stream = client.responses.stream({ model: "demo-chat", input: [{ role: "user", content: "Streamed" }] });
  let deltas = "";
  for await (const event of stream) if (event.type === "response.output_text.delta") deltas += event.delta;
  const final = await stream.finalResponse();
  return { deltas, text: final.output_text };
});
await check("models_retrieve", async () => {
  const model = await client.models.retrieve("demo-chat");
  return { id: model.id, created: model.created };
});
await check("completions", async () => {
  const reply = await client.completions.create({ model: "demo-chat", prompt: "Legacy" });
  return { text: reply.choices[0].text };
});
await check("model_not_found", async () => {
  await client.chat.completions.create({ model: "ghost", messages: [{ role: "user", content: "x" }] });
  return { error: null };
});

// The AI SDK: `openai(model)` is the Responses API, `openai.chat(model)` chat completions.
const provider = createOpenAI({ baseURL, apiKey });
await check("ai_sdk_responses", async () => {
  const first = await generateText({ model: provider("demo-chat"), prompt: "Hello", maxRetries: 0 });
  // The whole history resent, as AI SDK apps do (assistant turns become item references).
  const messages = [{ role: "user", content: "Hello" }, ...first.response.messages, { role: "user", content: "Again" }];
  const second = await generateText({ model: provider("demo-chat"), messages, maxRetries: 0 });
  return { first: first.text, second: second.text, usage: first.usage };
});
await check("ai_sdk_responses_stream", async () => {
  const result = streamText({ model: provider("demo-chat"), prompt: "Stream", maxRetries: 0 });
  let text = "";
  for await (const part of result.textStream) text += part;
  return { text, finishReason: await result.finishReason };
});
await check("ai_sdk_stream_failure", async () => {
  const errors = [];
  const result = streamText({ model: provider("demo-chat"), prompt: "/fail during", maxRetries: 0,
                              onError: ({ error }) => errors.push(String(error?.message ?? error)) });
  let text = "";
  for await (const part of result.textStream) text += part;
  return { text, finishReason: await result.finishReason, errors };
});
await check("ai_sdk_chat", async () => {
  const model = provider.chat("demo-chat"), instructions = "Be brief.";
  const history = [{ role: "user", content: "Chat one" }];
  const first = await generateText({ model, instructions, messages: history, maxRetries: 0 });
  const messages = [...history, { role: "assistant", content: first.text }, { role: "user", content: "Chat two" }];
  const second = await generateText({ model, instructions, messages, maxRetries: 0 });
  return { first: first.text, second: second.text };
});

process.stdout.write(JSON.stringify(results) + "\n");
