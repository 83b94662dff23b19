// The web chat page in headless Chromium: send a message, watch the reply
// stream in, open the reasoning, use the stop button, take a screenshot.
//   node web.mjs BASE_URL SCREENSHOT.png
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [base, shot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                        args: ["--headless", "--no-sandbox"] });
let step = "";
const check = (name) => { step = name; console.log("-", name); };
try {
  const page = await browser.newPage();
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) outside.push(r.url()); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  check("page loads and names the model");
  await page.goto(base + "/");
  await page.waitForFunction(() => !document.getElementById("model").textContent.includes("connecting"), null, { timeout: 10000 });

  check("settings: system prompt, temperature, max tokens");
  await page.click("#toggle-settings");
  await page.fill("#system", "You are a test.");
  await page.fill("#temperature", "0.7");
  await page.fill("#max-tokens", "48");

  check("a message gets a streamed reply");
  // Count DOM updates of the reply: a streamed reply arrives in many.
  await page.evaluate(() => {
    window.updates = 0;
    new MutationObserver(() => window.updates++).observe(document.getElementById("log"),
                                                         { subtree: true, childList: true, characterData: true });
  });
  await page.fill("#input", "Hello, whale! Show me `code`.");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".msg.user", { timeout: 5000 });
  await page.waitForSelector(".msg.assistant[data-done='1']", { timeout: 60000 });
  const updates = await page.evaluate(() => window.updates);
  assert.ok(updates >= 5, `the reply arrived in ${updates} updates, not streamed`);
  const reply = await page.$eval(".msg.assistant", (m) => ({
    thinking: m.querySelector(".thinking .body").textContent,
    hidden: m.querySelector(".thinking").hidden,
    content: m.querySelector(".content").textContent,
  }));
  assert.ok(reply.thinking.length + reply.content.length > 0, "empty reply");
  assert.ok(!reply.hidden && reply.thinking.length > 0, "R1 reasoning shown in its collapsible");
  const stats = await page.textContent("#stats");
  assert.match(stats, /\d+ tokens/);

  check("the reasoning collapses and opens");
  const isOpen = () => page.$eval(".msg.assistant .thinking", (d) => d.open);
  const before = await isOpen();
  await page.click(".msg.assistant .thinking summary");
  assert.equal(await isOpen(), !before);
  if (!(await isOpen())) await page.click(".msg.assistant .thinking summary");
  assert.equal(await isOpen(), true);
  await page.screenshot({ path: shot, fullPage: true });

  check("stop button ends a long answer");
  await page.fill("#max-tokens", "100000");
  await page.dispatchEvent("#max-tokens", "change");
  await page.fill("#input", "Now talk for a long time.");
  await page.click("#send");
  await page.waitForFunction(() => !document.getElementById("stop").disabled, null, { timeout: 20000 });
  await page.waitForFunction(() => document.querySelectorAll(".msg.assistant .thinking .body")[1]?.textContent.length > 0,
                             null, { timeout: 30000 });
  await page.click("#stop");
  await page.waitForFunction(() => document.querySelectorAll(".msg.assistant[data-done='1']").length === 2, null, { timeout: 10000 });
  assert.equal(await page.isDisabled("#stop"), true);
  assert.match(await page.textContent("#stats"), /stopped/);

  check("markdown renders code blocks");
  const html = await page.evaluate(() => markdown("# T\n\nSome **bold** and `x<y`\n\n```js\nlet a = '<b>';\n```\n- one\n- two"));
  assert.match(html, /<h1>T<\/h1>/);
  assert.match(html, /<strong>bold<\/strong>/);
  assert.match(html, /<code>x&lt;y<\/code>/);
  assert.match(html, /<pre><code class="lang-js">let a = &#39;&lt;b&gt;&#39;;<\/code><\/pre>/);
  assert.match(html, /<ul><li>one<\/li><li>two<\/li><\/ul>/);

  assert.deepEqual(outside, [], "the page fetched something from outside");
  assert.deepEqual(errors, [], "page errors");
  console.log("web page: all checks passed; screenshot", shot);
} catch (e) {
  console.error(`FAIL at "${step}":`, e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
