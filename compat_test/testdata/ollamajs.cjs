// Drives hearth with ollama-js (npm `ollama`), the official JavaScript client. Each check prints one
// line "ok <name>" or "FAIL <name>: <why>"; the Go test turns them into subtests. Usage:
//   node ollamajs.cjs http://127.0.0.1:PORT
const { Ollama } = require('ollama');

const host = process.argv[2];
const ollama = new Ollama({ host });
const short = { num_predict: 8, seed: 3 };

const checks = {
  async list() {
    const r = await ollama.list();
    const names = r.models.map((m) => m.name);
    if (!names.includes('hearth/tiny-llama:latest')) throw new Error(`models: ${names}`);
    if (typeof r.models[0].size !== 'number' || !r.models[0].details) throw new Error('missing size/details');
  },
  async show() {
    const r = await ollama.show({ model: 'hearth/tiny-llama' });
    if (!r.capabilities.includes('completion') || !r.template || !r.model_info) throw new Error(JSON.stringify(r).slice(0, 300));
  },
  async generate() {
    const r = await ollama.generate({ model: 'hearth/tiny-llama', prompt: 'Hello', options: short });
    if (!r.done || r.eval_count !== 8 || !(r.total_duration > 0) || !Array.isArray(r.context)) throw new Error(JSON.stringify(r).slice(0, 300));
  },
  async generateStream() {
    let n = 0;
    let last;
    for await (const part of await ollama.generate({ model: 'hearth/tiny-llama', prompt: 'Hello', stream: true, options: short })) {
      n++;
      last = part;
    }
    if (n < 2 || !last.done || last.done_reason !== 'length') throw new Error(`parts ${n}, last ${JSON.stringify(last)}`);
  },
  async chat() {
    const r = await ollama.chat({ model: 'hearth/tiny-llama', messages: [{ role: 'user', content: 'hi' }], options: short });
    if (r.message.role !== 'assistant' || typeof r.message.content !== 'string' || !r.done) throw new Error(JSON.stringify(r).slice(0, 300));
  },
  async chatStream() {
    let text = '';
    for await (const part of await ollama.chat({ model: 'hearth/tiny-llama', messages: [{ role: 'user', content: 'hi' }], stream: true, options: short })) {
      text += part.message.content;
    }
    if (text.length === 0) throw new Error('empty stream');
  },
  async embedOnnx() {
    const r = await ollama.embed({ model: 'hearth/minilm-onnx', input: ['first', 'second', 'third'] });
    if (r.embeddings.length !== 3 || r.embeddings[0].length !== 384) throw new Error(`shape ${r.embeddings.length}x${r.embeddings[0]?.length}`);
    const norm = Math.sqrt(r.embeddings[0].reduce((s, x) => s + x * x, 0));
    if (Math.abs(norm - 1) > 1e-3) throw new Error(`norm ${norm}`);
  },
  async embedGGUF() {
    const r = await ollama.embed({ model: 'hearth/bert-embed', input: 'one input', dimensions: 64 });
    if (r.embeddings.length !== 1 || r.embeddings[0].length !== 64) throw new Error(`shape ${r.embeddings[0]?.length}`);
  },
  async embedChatModel() {
    // LangChain's OllamaEmbeddings and ollama-js's embed with a chat model: Ollama answers vectors.
    const r = await ollama.embed({ model: 'hearth/tiny-llama', input: ['first', 'second'] });
    if (r.embeddings.length !== 2 || r.embeddings[0].length === 0) throw new Error(`shape ${r.embeddings.length}x${r.embeddings[0]?.length}`);
    const norm = Math.sqrt(r.embeddings[0].reduce((s, x) => s + x * x, 0));
    if (Math.abs(norm - 1) > 1e-3) throw new Error(`norm ${norm}`);
    if (r.embeddings[0].every((x, i) => Math.abs(x - r.embeddings[1][i]) < 1e-6)) throw new Error('same vector for different inputs');
  },
  async chatImageOnTextModel() {
    // A 1x1 PNG to a model without vision: ignored, as by Ollama, and the text is answered.
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const r = await ollama.chat({ model: 'hearth/tiny-llama', messages: [{ role: 'user', content: 'hi', images: [png] }], options: short });
    if (r.message.role !== 'assistant' || !r.done || !(r.eval_count > 0)) throw new Error(JSON.stringify(r).slice(0, 300));
  },
  async embeddingsLegacy() {
    const r = await ollama.embeddings({ model: 'hearth/minilm-onnx', prompt: 'legacy' });
    if (r.embedding.length !== 384) throw new Error(`length ${r.embedding.length}`);
  },
  async ps() {
    const r = await ollama.ps();
    if (!r.models.some((m) => m.name === 'hearth/tiny-llama:latest')) throw new Error(JSON.stringify(r).slice(0, 300));
  },
  async notFound() {
    try {
      await ollama.generate({ model: 'no-such-model', prompt: 'x' });
    } catch (e) {
      if (e.status_code === 404 && /not found/.test(e.error)) return;
      throw new Error(`wrong error: ${e.status_code} ${e.error}`);
    }
    throw new Error('no error for a missing model');
  },
};

(async () => {
  for (const [name, fn] of Object.entries(checks)) {
    try {
      await fn();
      console.log(`ok ${name}`);
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
    }
  }
})();
