// whale serve through the official openai client, unmodified: models, chat
// (plain and streamed, reasoning_content apart from content), completions,
// seeds, 8 concurrent streams, a dropped stream, prefix reuse, errors.
//   node openai.mjs BASE_URL
import assert from "node:assert/strict";
import OpenAI from "openai";

const base = process.argv[2];
const client = new OpenAI({ baseURL: base + "/v1", apiKey: "not-needed", timeout: 120000, maxRetries: 0 });
const health = async () => (await fetch(base + "/health")).json();
const user = (content) => [{ role: "user", content }];
let step = "";
const check = (name) => { step = name; console.log("-", name); };

try {
  check("models.list");
  const models = await client.models.list();
  assert.ok(models.data.length === 1 && models.data[0].id);
  const model = models.data[0].id;

  check("chat, non-streaming");
  const r = await client.chat.completions.create({ model, messages: user("What is 2+2?"), max_tokens: 12, seed: 1 });
  assert.equal(r.object, "chat.completion");
  assert.match(r.id, /^chatcmpl-/);
  const m = r.choices[0].message;
  assert.equal(m.role, "assistant");
  assert.equal(typeof m.content, "string");
  assert.equal(typeof m.reasoning_content, "string", "R1-style model: reasoning_content present");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 5 && r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 12);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);

  check("max_completion_tokens gives finish_reason length");
  const len = await client.chat.completions.create({ model, messages: user("Count."), max_completion_tokens: 5, ignore_eos: true });
  assert.equal(len.choices[0].finish_reason, "length");
  assert.equal(len.usage.completion_tokens, 5);

  check("a seed makes sampling reproducible");
  const seeded = () => client.chat.completions.create({ model, messages: user("Tell a story."), max_tokens: 16, seed: 42,
                                                        temperature: 0.9, top_p: 0.9, frequency_penalty: 0.3, presence_penalty: 0.2 });
  const [s1, s2] = await Promise.all([seeded(), seeded()]);
  assert.equal(s1.choices[0].message.reasoning_content + s1.choices[0].message.content,
               s2.choices[0].message.reasoning_content + s2.choices[0].message.content);

  check("chat, streaming with usage");
  const stream = await client.chat.completions.create({ model, messages: user("Hello!"), max_tokens: 24, stream: true,
                                                        stream_options: { include_usage: true }, ignore_eos: true });
  let chunks = 0, reasoning = "", content = "", role = null, finish = null, usage = null;
  for await (const c of stream) {
    chunks++;
    assert.equal(c.object, "chat.completion.chunk");
    if (c.usage) usage = c.usage;
    if (!c.choices.length) continue;
    const d = c.choices[0].delta;
    if (d.role) role = d.role;
    if (d.reasoning_content) reasoning += d.reasoning_content;
    if (d.content) content += d.content;
    if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.equal(role, "assistant");
  assert.ok(chunks >= 4, `only ${chunks} chunks`);
  assert.ok(reasoning.length + content.length > 0);
  // R1's prompt opens <think>: text before any </think> is reasoning, never content.
  assert.ok(reasoning.length > 0, "reasoning_content deltas arrive for an R1 template");
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 24);

  check("the next turn reuses the cached prefix");
  const history = [{ role: "system", content: "You are terse." }, ...user("First question, rather long so that the prefix matters.")];
  const t1 = await client.chat.completions.create({ model, messages: history, max_tokens: 4 });
  history.push({ role: "assistant", content: t1.choices[0].message.content }, ...user("And a second one?"));
  const t2 = await client.chat.completions.create({ model, messages: history, max_tokens: 4 });
  assert.ok(t2.usage.prompt_tokens_details.cached_tokens >= t1.usage.prompt_tokens - 8,
            `cached ${t2.usage.prompt_tokens_details.cached_tokens} of ${t1.usage.prompt_tokens}`);

  check("completions, plain and streamed");
  const c1 = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, ignore_eos: true });
  assert.equal(c1.object, "text_completion");
  assert.equal(typeof c1.choices[0].text, "string");
  assert.equal(c1.usage.completion_tokens, 8);
  let text = "", n = 0;
  for await (const c of await client.completions.create({ model, prompt: "Once", max_tokens: 8, stream: true, ignore_eos: true })) {
    n++;
    text += c.choices[0]?.text ?? "";
  }
  assert.ok(n >= 2 && text.length > 0);

  check("8 concurrent streams all finish");
  const one = async (i) => {
    let tokens = 0;
    const s = await client.chat.completions.create({ model, messages: user(`Stream number ${i}`), max_tokens: 32, stream: true,
                                                     stream_options: { include_usage: true }, ignore_eos: true });
    let fin = null;
    for await (const c of s) {
      if (c.usage) tokens = c.usage.completion_tokens;
      if (c.choices[0]?.finish_reason) fin = c.choices[0].finish_reason;
    }
    assert.equal(fin, "length");
    return tokens;
  };
  const counts = await Promise.all([...Array(8).keys()].map(one));
  assert.deepEqual(counts, Array(8).fill(32));

  check("a client that stops reading frees its slot");
  const ac = new AbortController();
  const long = await client.chat.completions.create({ model, messages: user("Go on forever"), max_tokens: 100000, stream: true,
                                                      ignore_eos: true }, { signal: ac.signal });
  let got = 0;
  try {
    for await (const c of long) { if (++got === 5) ac.abort(); }
  } catch (e) { /* aborted */ }
  let active = -1;
  for (let i = 0; i < 100 && active !== 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    active = (await health()).active;
  }
  assert.equal(active, 0, "the aborted generation still runs");

  check("bad requests raise the client's 400 error");
  for (const bad of [{ messages: [{ role: "wizard", content: "x" }] }, { messages: [] }, { messages: user("x"), n: 2 }]) {
    await assert.rejects(client.chat.completions.create({ model, ...bad }), (e) => {
      assert.equal(e.status, 400);
      assert.ok(e.error?.message, "OpenAI error object");
      return true;
    });
  }
  console.log("openai client: all checks passed");
} catch (e) {
  console.error(`FAIL at "${step}":`, e);
  process.exit(1);
}
