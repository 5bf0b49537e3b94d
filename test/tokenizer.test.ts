// Tokenizers: Qwen2.5's vocab.json + merges.txt (assembled tokenizer.json), SmolLM2's tokenizer.json,
// llama2.c's tokenizer.bin, and chat templates. Reference files come from ../shared and skip when absent.
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChatTemplateError, renderChat } from '../server/src/model/chatTemplate';
import { ModelImportError } from '../server/src/model/errors';
import { HfTokenizer, loadHfTokenizer } from '../server/src/model/hfTokenizer';
import { Llama2cTokenizer } from '../server/src/model/llama2cTokenizer';

const sharedDir = path.resolve(__dirname, '..', '..', 'shared');
const qwenDir = path.join(sharedDir, 'tokenizers', 'qwen2.5');
const smolDir = path.join(sharedDir, 'tokenizers', 'smollm2');
const llamaTokenizerDir = path.join(sharedDir, 'models', 'tiny-random-llama-ortgenai');
const storiesTokenizer = path.join(sharedDir, 'models', 'stories260K', 'tok512.bin');

/** A snippet whose ids were produced by the Rust `tokenizers` crate (for Qwen: from the same assembled tokenizer.json). */
const RUST_SNIPPET = 'def add(a, b):\n    return a + b  # sum\n\n\tprint("héllo 世界")\r\n';
const RUST_QWEN_IDS = [750, 912, 2877, 11, 293, 982, 262, 470, 264, 488, 293, 220, 671, 2629, 271, 6900, 445, 71, 18503, 385, 220, 99489, 6060];
const RUST_SMOLLM2_IDS = [1604, 803, 24, 81, 28, 278, 727, 472, 1003, 253, 1232, 278, 216, 907, 2028, 1116, 197, 3272, 1470, 88, 2756, 31394, 216, 7906, 240, 178, 239, 230, 1715, 2738];

/** Code with the things byte-level BPE must preserve: indentation, tabs, CRLF, blank lines, accents, CJK, emoji. */
const CODE_SAMPLE =
  'def greet(name: str) -> str:\n    """Say héllo — 你好 🎉"""\n\treturn f"Hi {name}!"  \r\n\n\n  x = 1234567 ** 2  # ñ\n';

describe('Qwen2.5 tokenizer (vocab.json + merges.txt)', { skip: !existsSync(qwenDir) && `needs ${qwenDir}` }, () => {
  let tokenizer: HfTokenizer;
  let vocab: Record<string, number>;
  before(async () => {
    tokenizer = await loadHfTokenizer(qwenDir);
    vocab = JSON.parse(await fsp.readFile(path.join(qwenDir, 'vocab.json'), 'utf8')) as Record<string, number>;
  });

  test('special tokens from added_tokens_decoder', () => {
    assert.equal(tokenizer.tokenToId('<|endoftext|>'), 151643);
    assert.equal(tokenizer.tokenToId('<|im_start|>'), 151644);
    assert.equal(tokenizer.tokenToId('<|im_end|>'), 151645);
    assert.equal(tokenizer.vocabSize, 151643 + 22); // 151,643 BPE entries + 22 added tokens
    assert.deepEqual(tokenizer.eosTokenIds, [151645]);
    assert.equal(tokenizer.bosTokenId, undefined);
  });

  test('"Hello world" is the vocabulary\'s "Hello" + "Ġworld"', () => {
    // Byte-level BPE maps the space to "Ġ"; the regex splits "Hello" and " world" into separate words.
    assert.equal(vocab['Hello'], 9707);
    assert.equal(vocab['Ġworld'], 1879);
    assert.deepEqual(tokenizer.encode('Hello world'), [9707, 1879]);
    assert.deepEqual(tokenizer.encode('Hello world', { addSpecial: true }), [9707, 1879], 'Qwen adds no BOS');
  });

  test('special tokens are atomic; digits split one by one; NFC applies', () => {
    const ids = tokenizer.encode('<|im_start|>user\nhi<|im_end|>');
    assert.equal(ids[0], 151644);
    assert.equal(ids.at(-1), 151645);
    assert.equal(ids.length, 5);
    assert.equal(tokenizer.encode('12345').length, 5);
    assert.deepEqual(tokenizer.encode('cafe\u0301'), tokenizer.encode('café'));
  });

  test('matches the Rust tokenizers crate on a code snippet', () => {
    assert.deepEqual(tokenizer.encode(RUST_SNIPPET), RUST_QWEN_IDS);
  });

  test('code round-trips exactly', () => {
    const ids = tokenizer.encode(CODE_SAMPLE);
    assert.ok(ids.length > 20 && ids.length < CODE_SAMPLE.length);
    assert.equal(tokenizer.decode(ids), CODE_SAMPLE);
    assert.equal(tokenizer.decode([]), '');
  });

  test('decode drops special tokens unless asked to keep them; bad ids are rejected', () => {
    const ids = tokenizer.encode('<|im_start|>assistant\nok<|im_end|>');
    assert.equal(tokenizer.decode(ids), 'assistant\nok');
    assert.equal(tokenizer.decode(ids, { skipSpecial: false }), '<|im_start|>assistant\nok<|im_end|>');
    assert.throws(() => tokenizer.decode([151665]), RangeError);
    assert.throws(() => tokenizer.decode([-1]), RangeError);
  });

  test('chat template renders the Qwen ChatML prompt', () => {
    assert.ok(tokenizer.chatTemplate);
    const prompt = renderChat(
      tokenizer.chatTemplate,
      [
        { role: 'system', content: 'You are a code assistant.' },
        { role: 'user', content: 'Explain foo().' },
      ],
      { addGenerationPrompt: true, specialTokens: tokenizer.specialTokens },
    );
    assert.equal(
      prompt,
      '<|im_start|>system\nYou are a code assistant.<|im_end|>\n<|im_start|>user\nExplain foo().<|im_end|>\n<|im_start|>assistant\n',
    );
    const noSystem = renderChat(tokenizer.chatTemplate, [{ role: 'user', content: 'hi' }]);
    assert.equal(
      noSystem,
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n',
    );
    const ids = tokenizer.encode(prompt);
    assert.equal(ids.filter((id) => id === 151644).length, 3);
  });
});

describe('SmolLM2 tokenizer.json', { skip: !existsSync(smolDir) && `needs ${smolDir}` }, () => {
  let tokenizer: HfTokenizer;
  let vocab: Record<string, number>;
  before(async () => {
    tokenizer = await loadHfTokenizer(smolDir);
    const json = JSON.parse(await fsp.readFile(path.join(smolDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    vocab = json.model.vocab;
  });

  test('vocabulary and known ids', () => {
    assert.equal(tokenizer.vocabSize, 49152);
    assert.deepEqual(tokenizer.encode('Hello world'), [vocab['Hello'], vocab['Ġworld']]);
    assert.equal(tokenizer.tokenToId('<|im_start|>'), 1);
    assert.equal(tokenizer.encode('2024').length, 4, 'Digits pre-tokenizer splits each digit');
  });

  test('code round-trips exactly and matches the Rust tokenizers crate', () => {
    assert.equal(tokenizer.decode(tokenizer.encode(CODE_SAMPLE)), CODE_SAMPLE);
    assert.deepEqual(tokenizer.encode(RUST_SNIPPET), RUST_SMOLLM2_IDS);
  });
});

describe('Llama (SentencePiece-style) tokenizer.json', { skip: !existsSync(llamaTokenizerDir) && `needs ${llamaTokenizerDir}` }, () => {
  test('BOS from the post-processor, byte fallback, and the Llama-2 chat template', async () => {
    const tokenizer = await loadHfTokenizer(llamaTokenizerDir);
    const text = 'Once upon a time, héllo 🎉\n  code()';
    // Ids produced by the Rust `tokenizers` crate for the same file and text.
    const expected = [1, 9038, 2501, 263, 931, 29892, 298, 3610, 417, 29871, 243, 162, 145, 140, 13, 29871, 775, 580];
    assert.deepEqual(tokenizer.encode(text, { addSpecial: true }), expected);
    assert.deepEqual(tokenizer.encode(text), expected.slice(1));
    assert.equal(tokenizer.decode(expected), text);
    assert.equal(tokenizer.bosTokenId, 1);
    assert.deepEqual(tokenizer.eosTokenIds, [2]);
    assert.ok(tokenizer.chatTemplate);
    const chat = renderChat(tokenizer.chatTemplate, [{ role: 'user', content: ' hi ' }], { specialTokens: tokenizer.specialTokens });
    assert.equal(chat, '<s>[INST] hi [/INST]');
    assert.throws(
      () => renderChat(tokenizer.chatTemplate!, [{ role: 'assistant', content: 'x' }], { specialTokens: tokenizer.specialTokens }),
      (err: unknown) => err instanceof ChatTemplateError && /roles must alternate/.test(err.message),
    );
  });
});

describe('llama2.c tokenizer.bin', () => {
  /** <unk>, <s>, </s>, 256 byte tokens, then a few pieces with scores favouring longer merges. */
  function tinyTokenizer(): Llama2cTokenizer {
    const pieces = ['<unk>', '\n<s>\n', '\n</s>\n', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
    const extra: [string, number][] = [[' ', -1], ['a', -2], ['b', -3], ['ab', -4], [' ab', -5], ['aa', -100]];
    const all = [...pieces, ...extra.map(([p]) => p)];
    const chunks: Buffer[] = [Buffer.from(new Int32Array([8]).buffer)];
    all.forEach((p, i) => {
      const b = Buffer.alloc(8);
      b.writeFloatLE(i < pieces.length ? 0 : extra[i - pieces.length][1], 0);
      b.writeInt32LE(Buffer.byteLength(p), 4);
      chunks.push(b, Buffer.from(p));
    });
    return Llama2cTokenizer.parse(Buffer.concat(chunks), all.length, 'tiny-tokenizer.bin');
  }

  test('dummy prefix, greedy best-score merges, byte fallback', () => {
    const t = tinyTokenizer();
    const id = (p: string) => t.tokenToId(p)!;
    // " ab": ' ' + 'a' + 'b' → 'ab' (score -4) beats nothing else, then ' ' + 'ab' → ' ab'.
    assert.deepEqual(t.encode('ab', { addSpecial: true }), [1, id(' ab')]);
    // 'é' is not a piece: its two UTF-8 bytes become <0xC3> <0xA9> (= byte + 3).
    assert.deepEqual(t.encode('é'), [id(' '), 0xc3 + 3, 0xa9 + 3]);
    assert.equal(t.decode(t.encode('ab é', { addSpecial: true })), 'ab é');
    assert.equal(t.decode([id(' ab')]), 'ab', 'the dummy-prefix space at the start is dropped, BOS or not');
    assert.equal(t.decode([id('a'), id(' ab')]), 'a ab', 'later spaces stay');
    assert.throws(() => t.decode([t.vocabSize]), RangeError);
  });

  test('a tokenizer.bin with too few tokens is rejected with the file name', () => {
    const bytes = Buffer.concat([Buffer.from(new Int32Array([4]).buffer), Buffer.from(new Float32Array([0]).buffer), Buffer.from(new Int32Array([1]).buffer), Buffer.from('a')]);
    assert.throws(
      () => Llama2cTokenizer.parse(bytes, 3, '/m/tok.bin'),
      (err: unknown) => err instanceof ModelImportError && err.file === '/m/tok.bin' && /holds 1 tokens but the model needs 3/.test(err.message),
    );
  });

  test('stories260K tok512 round-trips text, unicode via bytes', { skip: !existsSync(storiesTokenizer) && `needs ${storiesTokenizer}` }, async () => {
    const t = await Llama2cTokenizer.load(storiesTokenizer, 512);
    const text = 'Once upon a time, there was a little girl named Lily.';
    const ids = t.encode(text, { addSpecial: true });
    assert.equal(ids[0], 1);
    assert.equal(t.decode(ids), text);
    const odd = 'Zoë saw 3 🐱!';
    assert.equal(t.decode(t.encode(odd, { addSpecial: true })), odd);
  });
});

describe('chat template errors', () => {
  test('raise_exception and parse errors become ChatTemplateError', () => {
    const strict = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('must start with user') }}{% endif %}{{ messages[0]['content'] }}";
    assert.equal(renderChat(strict, [{ role: 'user', content: 'x' }]), 'x');
    assert.throws(() => renderChat(strict, [{ role: 'assistant', content: 'x' }]), (err: unknown) => err instanceof ChatTemplateError && /must start with user/.test(err.message));
    assert.throws(() => renderChat('{% for %}', []), ChatTemplateError);
  });
  test('special tokens are visible to the template', () => {
    assert.equal(renderChat('{{ bos_token }}{{ messages[0].content }}{{ eos_token }}', [{ role: 'user', content: 'q' }], { specialTokens: { bos_token: '<s>', eos_token: '</s>' } }), '<s>q</s>');
  });
});

describe('HF tokenizer files: errors', () => {
  let dir = '';
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'repopot-tokenizer-'));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });
  test('invalid tokenizer.json names the file', async () => {
    await fsp.writeFile(path.join(dir, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadHfTokenizer(dir), (err: unknown) => err instanceof ModelImportError && err.file === path.join(dir, 'tokenizer.json') && /not valid JSON/.test(err.message));
  });
  test('a folder without tokenizer files says what it expected', async () => {
    await fsp.rm(path.join(dir, 'tokenizer.json'));
    await assert.rejects(loadHfTokenizer(dir), /no tokenizer \(expected tokenizer\.json, or vocab\.json \+ merges\.txt\)/);
  });
});
