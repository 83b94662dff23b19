// Writes a small DeepSeek-V2-style model whose vocabulary matches the real
// DeepSeek-V3 tokenizer (129,280 ids), for end-to-end tests of whale serve /
// chat: random weights, so its text is noise, but every token decodes.
// The layers come from the v2-lite fixture; embed_tokens and lm_head rows are
// the fixture's rows repeated up to the new vocabulary size.
//
//   node make-model.mjs SHARED_DIR OUT_DIR
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const [shared, out] = process.argv.slice(2);
if (!shared || !out) throw new Error("usage: node make-model.mjs SHARED_DIR OUT_DIR");
const VOCAB = 129280;
const fixture = path.join(shared, "fixtures", "v2-lite");

function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const data = buf.subarray(8 + n);
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    tensors[name] = { dtype: t.dtype, shape: t.shape, bytes: data.subarray(t.data_offsets[0], t.data_offsets[1]) };
  }
  return tensors;
}

function writeSafetensors(file, tensors) {
  const header = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, len);
  fs.writeSync(fd, json);
  for (const t of Object.values(tensors)) fs.writeSync(fd, t.bytes);
  fs.closeSync(fd);
}

const config = JSON.parse(fs.readFileSync(path.join(fixture, "config.json"), "utf8"));
const oldVocab = config.vocab_size;
config.vocab_size = VOCAB;
config.max_position_embeddings = 4096;
delete config.rope_scaling;  // plain RoPE over the whole context

const tensors = readSafetensors(path.join(fixture, "model.safetensors"));
for (const name of ["model.embed_tokens.weight", "lm_head.weight"]) {
  const t = tensors[name];
  if (t.shape[0] !== oldVocab) throw new Error(`${name}: expected ${oldVocab} rows`);
  const rowBytes = t.bytes.length / oldVocab;
  const bytes = Buffer.alloc(rowBytes * VOCAB);
  for (let r = 0; r < VOCAB; r++) t.bytes.copy(bytes, r * rowBytes, (r % oldVocab) * rowBytes, (r % oldVocab + 1) * rowBytes);
  tensors[name] = { dtype: t.dtype, shape: [VOCAB, t.shape[1]], bytes };
}

fs.mkdirSync(out, { recursive: true });
writeSafetensors(path.join(out, "model.safetensors"), tensors);
fs.writeFileSync(path.join(out, "config.json"), JSON.stringify(config, null, 2));
fs.writeFileSync(path.join(out, "tokenizer.json"),
                 zlib.gunzipSync(fs.readFileSync(path.join(shared, "tokenizer", "deepseek-v3", "tokenizer.json.gz"))));
// R1's template: replies open inside <think>, so reasoning_content is exercised.
fs.writeFileSync(path.join(out, "tokenizer_config.json"),
                 fs.readFileSync(path.join(shared, "tokenizer", "deepseek-r1", "tokenizer_config.json")));
console.log(`wrote ${out} (vocab ${VOCAB})`);
