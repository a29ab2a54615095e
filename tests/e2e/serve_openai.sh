#!/bin/bash
# `embedlab serve` through the official OpenAI Node SDK (`openai` from npm,
# installed once into build/npm/): embeddings.create with encoding_format
# float, base64 and the SDK's default (it asks for base64 and decodes), each
# equal to `embed --jsonl` within 1e-6; models.list; the SDK's error classes
# for a 404 and a 401.  Skips (77) with the reason when node or npm is
# missing or the package cannot be installed.
set -u
app=${EMBEDLAB:?}
build=${EMBEDLAB_BUILD:?}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null || { echo "node is not installed (scripts/deps.sh test installs nodejs)"; exit 77; }
command -v curl >/dev/null || { echo "curl is not installed"; exit 77; }
. "$(dirname "$0")/serve_lib.bash"

# The SDK's major version 5 runs on Node 18 and 20; later majors need Node
# 22.  Installed into the build folder, never into the repository.
npmdir=$(dirname "$build")/npm
if [ ! -f "$npmdir/node_modules/openai/package.json" ]; then
    command -v npm >/dev/null || { echo "npm is not installed: cannot fetch the openai package"; exit 77; }
    mkdir -p "$npmdir"
    if ! (cd "$npmdir" && timeout 180 npm install --prefix . --no-audit --no-fund --no-save \
            --silent openai@5 >"$tmp/npm.log" 2>&1); then
        echo "npm could not install openai@5 (no registry?): $(tail -2 "$tmp/npm.log" | tr '\n' ' ')"
        exit 77
    fi
fi

db=$tmp/db
serve_db "$db"
printf 'sdk-token\n' >"$tmp/token"
serve_start "$db" --token-file "$tmp/token"
printf '%s\n' '"Hello, world!"' '"Café crème brûlée — naïve résumé"' '"北京欢迎你 and 東京大学"' \
    '"emoji 😀 test 👍🏽 here"' '""' '"a long sentence which keeps going beyond sixteen tokens for sure, cut"' \
    >"$tmp/in.jsonl"
"$app" --db "$db" -c "embed --jsonl $tmp/in.jsonl" >"$tmp/embed.out" || fail "embed --jsonl"

cat >"$tmp/sdk.js" <<'JS'
const fs = require("fs");
const { OpenAI } = require(process.env.NPMDIR + "/node_modules/openai");
const texts = fs.readFileSync(process.env.TMP + "/in.jsonl", "utf8").trim().split("\n").map(JSON.parse);
const want = fs.readFileSync(process.env.TMP + "/embed.out", "utf8").trim().split("\n")
    .filter((l) => l.startsWith("[")).map(JSON.parse);
const client = new OpenAI({ apiKey: "sdk-token", baseURL: process.env.BASE + "/v1", maxRetries: 0 });
function same(name, got) {
    if (got.length !== want.length) throw new Error(`${name}: ${got.length} vectors, want ${want.length}`);
    got.forEach((g, i) => {
        if (g.length !== want[i].length) throw new Error(`${name}[${i}]: ${g.length} dims`);
        const d = Math.max(...g.map((x, j) => Math.abs(x - want[i][j])));
        if (!(d <= 1e-6)) throw new Error(`${name}[${i}]: max difference ${d}`);
    });
}
function fromBase64(s) {
    const b = Buffer.from(s, "base64");
    return Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4));
}
(async () => {
    const f = await client.embeddings.create({ model: "text", input: texts, encoding_format: "float" });
    same("float", f.data.map((d) => d.embedding));
    if (f.model !== "tiny-bert" || !(f.usage.prompt_tokens > 0)) throw new Error("model/usage: " + JSON.stringify(f.usage));
    const b = await client.embeddings.create({ model: "text", input: texts, encoding_format: "base64" });
    if (typeof b.data[0].embedding !== "string") throw new Error("base64 not a string");
    same("base64", b.data.map((d) => fromBase64(d.embedding)));
    const def = await client.embeddings.create({ model: "tiny-bert", input: texts });
    same("default", def.data.map((d) => d.embedding));
    const one = await client.embeddings.create({ model: "text", input: texts[0] });
    same("single", [one.data[0].embedding].concat(want.slice(1)));
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    if (!ids.includes("text") || !ids.includes("item2vec")) throw new Error("models: " + ids);
    try {
        await client.embeddings.create({ model: "text-embedding-3-small", input: "x" });
        throw new Error("unknown model accepted");
    } catch (e) {
        if (!(e instanceof OpenAI.NotFoundError) || e.code !== "model_not_found") throw e;
    }
    const bad = new OpenAI({ apiKey: "wrong", baseURL: process.env.BASE + "/v1", maxRetries: 0 });
    try {
        await bad.embeddings.create({ model: "text", input: "x" });
        throw new Error("wrong key accepted");
    } catch (e) {
        if (!(e instanceof OpenAI.AuthenticationError)) throw e;
    }
    console.log("openai SDK ok:", want.length, "texts, float/base64/default, models", ids.join(","));
})().catch((e) => { console.error("FAIL:", e.message || e); process.exit(1); });
JS
NPMDIR=$npmdir TMP=$tmp BASE=$base node "$tmp/sdk.js" || fail "SDK checks (server log: $(tail -5 "$log"))"
serve_stop TERM
echo ok
