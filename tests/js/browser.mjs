// The `openai` npm package in a page on another origin than Duck: every call is a CORS request whose
// preflight asks for the package's x-stainless-* headers. Results land in window.duckResults.
import OpenAI from "./node_modules/openai/index.mjs";
import { checker } from "./check.mjs";

const params = new URLSearchParams(location.search);
const client = new OpenAI({ baseURL: params.get("base"), apiKey: params.get("key"), dangerouslyAllowBrowser: true,
                            maxRetries: 0, timeout: 20000 });
const results = {};

const check = checker(results);

await check("chat", async () => {
  const reply = await client.chat.completions.create({ model: "demo-chat", messages: [{ role: "user", content: "Browser" }] });
  return { text: reply.choices[0].message.content, requestId: reply._request_id ?? null };
});
await check("responses_stream", async () => {
  const stream = await client.responses.create({ model: "demo-chat", input: "Streamed", stream: true });
  let text = "", types = [];
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === "response.output_text.delta") text += event.delta;
  }
  return { text, first: types[0], last: types[types.length - 1] };
});
await check("models", async () => (await client.models.list()).data.map((model) => model.id));
await check("not_found", async () => {
  await client.models.retrieve("ghost");
  return { error: null };
});
window.duckResults = results;
document.getElementById("results").textContent = JSON.stringify(results);
