// Drives hearth's OpenAI- and Anthropic-compatible routes with the official `openai` and
// `@anthropic-ai/sdk` npm packages. Run by TestOfficialSDKs (handlers/sdk_test.go) with NODE_PATH pointing
// at the installed SDKs and BASE_URL at the server; models: "tiny" (chat), "tools" (chat with tools),
// "plain" (chat whose template passes the messages' text through, so greedy answers differ per message),
// "bert" (embeddings). Prints one JSON line per check: {"name","ok","detail"}; exits 1 if any failed.
'use strict';

const OpenAI = require('openai').default;
const Anthropic = require('@anthropic-ai/sdk').default;

const base = process.env.BASE_URL;
const oai = new OpenAI({ baseURL: base + '/v1', apiKey: 'hearth', maxRetries: 0 });
const ant = new Anthropic({ baseURL: base, apiKey: 'hearth', maxRetries: 0 });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
// Forces the output {"name":"get_weather","arguments":{"city":"Paris"}}, which the "tools" model's
// template makes Ollama's tool parser read as a call: a random-weight model calls no tool on its own.
const weatherCallSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', enum: ['get_weather'] },
    arguments: { type: 'object', properties: { city: { type: 'string', enum: ['Paris'] } }, required: ['city'] },
  },
  required: ['name', 'arguments'],
};
// OpenAI requests carry a seed: sampled text is reproducible and, unlike greedy output of a random
// model through ChatML, not just newlines. The Responses and Messages translations drop seeds, so those
// are greedy, on "plain".
const user = [{ role: 'user', content: 'Hello there' }];
const otherUser = [{ role: 'user', content: 'Once upon a time' }];

// onePixelPNG is a valid 1x1 PNG, base64-encoded: an image for the models without vision.
const onePixelPNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// distinct asserts that the answer compared between stream and non-stream is not blank and differs from
// the answer to another request, so the comparison would catch a mixed-up answer.
function distinct(text, other) {
  assert(text.trim() !== '' && text !== other, `answers to different requests: ${JSON.stringify(text)} and ${JSON.stringify(other)}`);
}

const checks = {
  async 'openai models list and retrieve'() {
    const ids = [];
    for await (const m of oai.models.list()) ids.push(m.id);
    assert(ids.includes('tiny:latest') && ids.includes('bert:latest'), `list ${JSON.stringify(ids)}`);
    const m = await oai.models.retrieve('tiny');
    assert(m.id === 'tiny' && m.object === 'model' && m.owned_by === 'library' && m.created > 0, JSON.stringify(m));
    return `${ids.length} models`;
  },

  async 'openai chat'() {
    const r = await oai.chat.completions.create({ model: 'tiny', messages: user, max_tokens: 8, seed: 42 });
    const c = r.choices[0];
    assert(r.object === 'chat.completion' && c.message.role === 'assistant' && typeof c.message.content === 'string', JSON.stringify(r));
    assert(c.finish_reason === 'length' && r.usage.completion_tokens === 8, JSON.stringify(r));
    return c.message.content;
  },

  async 'openai chat stream with usage'() {
    const stream = await oai.chat.completions.create({
      model: 'tiny', messages: user, max_tokens: 8, seed: 42, stream: true, stream_options: { include_usage: true },
    });
    let text = '', finish = null, usage = null, n = 0;
    for await (const ch of stream) {
      n++;
      if (ch.usage) usage = ch.usage;
      if (ch.choices.length === 0) continue;
      text += ch.choices[0].delta.content || '';
      finish = ch.choices[0].finish_reason || finish;
    }
    const one = await oai.chat.completions.create({ model: 'tiny', messages: user, max_tokens: 8, seed: 42 });
    assert(text === one.choices[0].message.content, `streamed ${JSON.stringify(text)} vs ${JSON.stringify(one.choices[0].message.content)}`);
    const other = await oai.chat.completions.create({ model: 'tiny', messages: otherUser, max_tokens: 8, seed: 42 });
    distinct(text, other.choices[0].message.content);
    assert(finish === 'length' && usage && usage.completion_tokens === 8, `finish ${finish} usage ${JSON.stringify(usage)}`);
    return `${n} chunks`;
  },

  async 'openai chat stream helper'() {
    const runner = oai.chat.completions.stream({ model: 'tiny', messages: user, max_tokens: 6, seed: 42 });
    const done = await runner.finalChatCompletion();
    assert(done.choices[0].message.role === 'assistant' && done.choices[0].finish_reason === 'length', JSON.stringify(done));
    return done.choices[0].message.content;
  },

  async 'openai tool calls'() {
    const req = {
      model: 'tools', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], seed: 42,
      max_tokens: 64, response_format: { type: 'json_schema', json_schema: { name: 'call', schema: weatherCallSchema } },
    };
    const r = await oai.chat.completions.create(req);
    const c = r.choices[0];
    assert(c.finish_reason === 'tool_calls' && c.message.tool_calls.length === 1, JSON.stringify(r));
    const call = c.message.tool_calls[0];
    assert(call.type === 'function' && call.function.name === 'get_weather' && call.id.startsWith('call_'), JSON.stringify(call));
    assert(JSON.parse(call.function.arguments).city === 'Paris', call.function.arguments);

    // Streamed, through the SDK's accumulating helper.
    const runner = oai.chat.completions.stream({ ...req });
    const done = await runner.finalChatCompletion();
    const sc = done.choices[0];
    assert(sc.finish_reason === 'tool_calls' && sc.message.tool_calls[0].function.name === 'get_weather', JSON.stringify(done));

    // The call and its result sent back are accepted.
    const follow = await oai.chat.completions.create({
      model: 'tools', tools: [weatherTool], max_tokens: 4, seed: 42,
      messages: [req.messages[0], c.message, { role: 'tool', tool_call_id: call.id, content: 'Sunny' }],
    });
    assert(follow.choices[0].message.role === 'assistant', JSON.stringify(follow));
    return call.function.arguments;
  },

  async 'openai json schema'() {
    const schema = { type: 'object', properties: { answer: { type: 'string', enum: ['yes', 'no'] } }, required: ['answer'], additionalProperties: false };
    const r = await oai.chat.completions.create({
      model: 'tiny', messages: [{ role: 'user', content: 'Yes or no?' }], seed: 42, max_tokens: 48,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
    const content = r.choices[0].message.content;
    if (r.choices[0].finish_reason === 'stop') {
      const v = JSON.parse(content);
      assert(v.answer === 'yes' || v.answer === 'no', content);
    } else {
      assert(content.trim().startsWith('{'), content);
    }
    return content;
  },

  async 'openai embeddings float'() {
    const r = await oai.embeddings.create({ model: 'bert', input: ['red apple', 'blue sky'], encoding_format: 'float' });
    assert(r.object === 'list' && r.data.length === 2 && r.data[0].embedding.length === 384, JSON.stringify(r).slice(0, 300));
    assert(r.data[1].index === 1 && r.usage.prompt_tokens > 0, JSON.stringify(r.usage));
    const cut = await oai.embeddings.create({ model: 'bert', input: 'red apple', dimensions: 64, encoding_format: 'float' });
    assert(cut.data[0].embedding.length === 64, `dimensions 64 gave ${cut.data[0].embedding.length}`);
    return `${r.data[0].embedding.length} floats`;
  },

  async 'openai embeddings base64'() {
    const f = await oai.embeddings.create({ model: 'bert', input: 'red apple', encoding_format: 'float' });
    // Explicit base64: the SDK hands the string over as sent.
    const b = await oai.embeddings.create({ model: 'bert', input: 'red apple', encoding_format: 'base64' });
    const s = b.data[0].embedding;
    assert(typeof s === 'string', typeof s);
    const buf = Buffer.from(s, 'base64');
    const floats = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    assert(floats.length === 384 && floats.every((x, i) => Math.abs(x - f.data[0].embedding[i]) < 1e-5), 'base64 differs from float');
    // No format: the SDK asks for base64 itself and decodes it.
    const d = await oai.embeddings.create({ model: 'bert', input: 'red apple' });
    assert(d.data[0].embedding.length === 384 && Math.abs(d.data[0].embedding[0] - f.data[0].embedding[0]) < 1e-5, 'default format');
    return `${buf.length} bytes`;
  },

  async 'openai embeddings with a chat model'() {
    // Ollama embeds with a chat model (its last token's hidden state); so does hearth.
    const r = await oai.embeddings.create({ model: 'tiny', input: ['red apple', 'blue sky'], encoding_format: 'float' });
    assert(r.data.length === 2 && r.data[0].embedding.length > 0 && r.usage.prompt_tokens > 0, JSON.stringify(r).slice(0, 300));
    const norm = Math.sqrt(r.data[0].embedding.reduce((s, x) => s + x * x, 0));
    assert(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    assert(r.data[0].embedding.some((x, i) => Math.abs(x - r.data[1].embedding[i]) > 1e-4), 'same vector for different inputs');
    return `${r.data[0].embedding.length} floats`;
  },

  async 'openai chat with an image on a text model'() {
    // The image is ignored, as by Ollama; the text is answered.
    const r = await oai.chat.completions.create({
      model: 'tiny', max_tokens: 4, seed: 42,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,' + onePixelPNG } }] }],
    });
    assert(r.choices[0].message.role === 'assistant' && r.usage.completion_tokens > 0, JSON.stringify(r).slice(0, 300));
    return r.choices[0].finish_reason;
  },

  async 'openai completions'() {
    const r = await oai.completions.create({ model: 'tiny', prompt: 'Once upon', max_tokens: 6, seed: 42 });
    assert(r.object === 'text_completion' && r.choices[0].finish_reason === 'length' && r.usage.completion_tokens === 6, JSON.stringify(r));
    const stream = await oai.completions.create({ model: 'tiny', prompt: 'Once upon', max_tokens: 6, seed: 42, stream: true });
    let text = '';
    for await (const ch of stream) text += ch.choices[0] ? ch.choices[0].text : '';
    assert(text === r.choices[0].text, `streamed ${JSON.stringify(text)} vs ${JSON.stringify(r.choices[0].text)}`);
    const other = await oai.completions.create({ model: 'tiny', prompt: 'The weather', max_tokens: 6, seed: 42 });
    distinct(text, other.choices[0].text);
    return r.choices[0].text;
  },

  async 'openai responses'() {
    const r = await oai.responses.create({ model: 'plain', input: 'Hello there', instructions: 'Be brief.', max_output_tokens: 6, temperature: 0 });
    assert(r.object === 'response' && r.status === 'completed' && typeof r.output_text === 'string', JSON.stringify(r));
    const stream = await oai.responses.create({ model: 'plain', input: 'Hello there', instructions: 'Be brief.', max_output_tokens: 6, temperature: 0, stream: true });
    const types = new Set();
    let text = '', completed = null;
    for await (const ev of stream) {
      types.add(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    assert(types.has('response.created') && completed && completed.status === 'completed', [...types].join(' '));
    assert(text === r.output_text, `streamed ${JSON.stringify(text)} vs ${JSON.stringify(r.output_text)}`);
    const other = await oai.responses.create({ model: 'plain', input: 'Once upon a time', instructions: 'Be brief.', max_output_tokens: 6, temperature: 0 });
    distinct(text, other.output_text);
    return `${types.size} event types`;
  },

  async 'openai errors'() {
    try {
      await oai.chat.completions.create({ model: 'absent', messages: user });
      throw new Error('no error');
    } catch (e) {
      assert(e instanceof OpenAI.NotFoundError && e.status === 404 && e.message.includes("model 'absent' not found"), String(e));
    }
    try {
      await oai.chat.completions.create({ model: 'tiny', messages: [] });
      throw new Error('no error');
    } catch (e) {
      assert(e instanceof OpenAI.BadRequestError && e.error.type === 'invalid_request_error', String(e));
    }
    try {
      await oai.embeddings.create({ model: 'bert', input: 'x', encoding_format: 'int8' });
      throw new Error('no error');
    } catch (e) {
      assert(e instanceof OpenAI.BadRequestError, String(e));
    }
    return 'typed errors';
  },

  async 'anthropic messages'() {
    const r = await ant.messages.create({
      model: 'tiny', max_tokens: 8, temperature: 0, system: 'Be brief.', messages: user,
    });
    assert(r.type === 'message' && r.role === 'assistant' && r.content[0].type === 'text' && r.stop_reason === 'max_tokens', JSON.stringify(r));
    assert(r.usage.output_tokens === 8 && r.usage.input_tokens > 0, JSON.stringify(r.usage));
    return r.content[0].text;
  },

  async 'anthropic image on a text model'() {
    const r = await ant.messages.create({
      model: 'tiny', max_tokens: 4, temperature: 0,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: onePixelPNG } }, { type: 'text', text: 'What is this?' }] }],
    });
    assert(r.type === 'message' && r.usage.output_tokens > 0, JSON.stringify(r).slice(0, 300));
    return r.stop_reason;
  },

  async 'anthropic messages stream'() {
    const one = await ant.messages.create({ model: 'plain', max_tokens: 8, temperature: 0, system: 'Be brief.', messages: user });
    const stream = ant.messages.stream({ model: 'plain', max_tokens: 8, temperature: 0, system: 'Be brief.', messages: user });
    let text = '';
    const types = new Set();
    stream.on('text', (t) => { text += t; });
    stream.on('streamEvent', (ev) => types.add(ev.type));
    const final = await stream.finalMessage();
    assert(final.stop_reason === 'max_tokens' && final.content[0].type === 'text', JSON.stringify(final));
    assert(text === one.content[0].text && final.content[0].text === text, `streamed ${JSON.stringify(text)} vs ${JSON.stringify(one.content[0].text)}`);
    const other = await ant.messages.create({ model: 'plain', max_tokens: 8, temperature: 0, system: 'Be brief.', messages: otherUser });
    distinct(text, other.content[0].text);
    for (const t of ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']) {
      assert(types.has(t), `no ${t} in ${[...types].join(' ')}`);
    }
    return `${types.size} event types`;
  },

  async 'anthropic tools accepted'() {
    // tool_use and tool_result blocks and tool definitions are accepted; the model is not made to call.
    const r = await ant.messages.create({
      model: 'tools', max_tokens: 4, temperature: 0,
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }] },
      ],
    });
    assert(r.type === 'message' && ['max_tokens', 'end_turn', 'tool_use'].includes(r.stop_reason), JSON.stringify(r));
    return r.stop_reason;
  },

  async 'anthropic errors'() {
    try {
      await ant.messages.create({ model: 'absent', max_tokens: 4, messages: user });
      throw new Error('no error');
    } catch (e) {
      assert(e instanceof Anthropic.NotFoundError && e.error.error.type === 'not_found_error', String(e));
    }
    try {
      await ant.messages.create({ model: 'tiny', max_tokens: 0, messages: user });
      throw new Error('no error');
    } catch (e) {
      assert(e instanceof Anthropic.BadRequestError && e.error.error.type === 'invalid_request_error', String(e));
    }
    return 'typed errors';
  },
};

(async () => {
  let failed = false;
  for (const [name, fn] of Object.entries(checks)) {
    try {
      const detail = await fn();
      console.log(JSON.stringify({ name, ok: true, detail: JSON.stringify(detail) }));
    } catch (e) {
      failed = true;
      console.log(JSON.stringify({ name, ok: false, detail: String(e && e.stack || e) }));
    }
  }
  process.exit(failed ? 1 : 0);
})();
