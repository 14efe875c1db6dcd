// Sends an image to a vision model with the real JavaScript clients: ollama-js chat with `images` (a
// file path, which ollama-js reads and encodes itself) and the OpenAI SDK with an `image_url` data URI
// part, each with and without the image. Prints one line per call: "<client> <with|without> <prompt
// tokens>". Usage:
//   node vision.cjs http://127.0.0.1:PORT MODEL /path/to/picture.png
const fs = require('fs');
const { Ollama } = require('ollama');
const OpenAI = require('openai');

const [host, model, picture] = process.argv.slice(2);

async function main() {
  const ollama = new Ollama({ host });
  const openai = new OpenAI({ baseURL: host + '/v1', apiKey: 'unused' });
  const dataURI = 'data:image/png;base64,' + fs.readFileSync(picture).toString('base64');
  for (const image of [false, true]) {
    const msg = { role: 'user', content: 'Describe the picture.' };
    if (image) msg.images = [picture];
    const r = await ollama.chat({ model, messages: [msg], options: { num_predict: 2, temperature: 0 } });
    console.log(`ollama-js ${image ? 'with' : 'without'} ${r.prompt_eval_count}`);

    const parts = [{ type: 'text', text: 'Describe the picture.' }];
    if (image) parts.push({ type: 'image_url', image_url: { url: dataURI } });
    const c = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: parts }], max_tokens: 2, temperature: 0 });
    console.log(`openai ${image ? 'with' : 'without'} ${c.usage.prompt_tokens}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
