// Reasoning and answer in separate fields, through the openai client, on a
// model that really thinks (the bundled whale-tiny, R1-style template).
//   node reasoning.mjs BASE_URL
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2] + "/v1", apiKey: "none", timeout: 120000, maxRetries: 0 });
const messages = [{ role: "user", content: "What is 12+30?" }];
const r = await client.chat.completions.create({ model: "whale-tiny", messages, temperature: 0, max_tokens: 400 });
const m = r.choices[0].message;
assert.ok(m.reasoning_content.length > 0, "no reasoning_content");
assert.ok(m.content.length > 0, "no content");
assert.ok(!m.content.includes("</think>") && !m.reasoning_content.includes("</think>"), "tags leak into the fields");
let reasoning = "", content = "", order = [];
for await (const c of await client.chat.completions.create({ model: "whale-tiny", messages, temperature: 0, max_tokens: 400, stream: true })) {
  const d = c.choices[0]?.delta ?? {};
  if (d.reasoning_content) { reasoning += d.reasoning_content; if (order.at(-1) !== "r") order.push("r"); }
  if (d.content) { content += d.content; if (order.at(-1) !== "c") order.push("c"); }
}
assert.equal(reasoning, m.reasoning_content);
assert.equal(content, m.content);
assert.deepEqual(order, ["r", "c"], "reasoning first, then the answer");
console.log("reasoning split: ok (" + JSON.stringify(content) + ")");
