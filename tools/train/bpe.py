#!/usr/bin/env python3
"""Byte-level BPE (GPT-2 style) trainer + encoder, writing a Hugging Face tokenizer.json.

Training: pre-tokenize with the GPT-2 split regex into word counts, then
iterative pair merges with incremental pair-count updates (pair -> words
index, lazy max-heap).  Encoding: standard rank-based merges per word (same
algorithm as HF `tokenizers` / @huggingface/tokenizers), cached per word.
"""
import heapq, json, os, sys, argparse, collections
import regex

SPECIALS = ['<|endoftext|>', '<|file|>', '<|question|>', '<|answer|>', '<|end|>', '<|trace|>', '<|final|>', '<|pad|>']
GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_pat = regex.compile(GPT2_PAT)


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def to_word(s):
    return ''.join(B2U[b] for b in s.encode('utf-8'))


def train(texts, vocab_size, min_count=2, log=print):
    counts = collections.Counter()
    for t in texts:
        counts.update(_pat.findall(t))
    log(f'pre-tokenized: {len(counts)} distinct words')
    vocab = list(SPECIALS) + [B2U[b] for b in range(256)]
    tok_id = {t: i for i, t in enumerate(vocab)}
    words, freqs = [], []
    for w, c in counts.items():
        if c >= min_count:
            words.append([tok_id[ch] for ch in to_word(w)])
            freqs.append(c)
    pair_count = collections.defaultdict(int)
    pair_words = collections.defaultdict(set)
    for wi, w in enumerate(words):
        f = freqs[wi]
        for a, b in zip(w, w[1:]):
            pair_count[(a, b)] += f
            pair_words[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(vocab) < vocab_size and heap:
        negc, p = heapq.heappop(heap)
        if pair_count.get(p, 0) != -negc:
            continue  # stale
        if -negc < 2:
            break
        a, b = p
        new = len(vocab)
        vocab.append(vocab[a] + vocab[b])
        merges.append((vocab[a], vocab[b]))
        changed = set()
        for wi in list(pair_words.pop(p, ())):
            w = words[wi]
            f = freqs[wi]
            i = 0
            out = []
            # remove old pair counts of this word
            for x, y in zip(w, w[1:]):
                pair_count[(x, y)] -= f
                changed.add((x, y))
            while i < len(w):
                if i < len(w) - 1 and w[i] == a and w[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[wi] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                pair_words[(x, y)].add(wi)
                changed.add((x, y))
        pair_count.pop(p, None)
        for q in changed:
            c = pair_count.get(q, 0)
            if c > 0:
                heapq.heappush(heap, (-c, q))
            elif q in pair_count:
                del pair_count[q]
        if len(merges) % 500 == 0:
            log(f'merges {len(merges)}  last={vocab[-1]!r} count={-negc}')
    return vocab, merges


def hf_tokenizer_json(vocab, merges):
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [{'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                          'normalized': False, 'special': True} for i, t in enumerate(SPECIALS)],
        'normalizer': None,
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
            {'type': 'Split', 'pattern': {'Regex': GPT2_PAT}, 'behavior': 'Isolated', 'invert': False},
            {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]},
        'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': {t: i for i, t in enumerate(vocab)},
                  'merges': [f'{a} {b}' for a, b in merges]},
    }


class Tokenizer:
    def __init__(self, path):
        j = json.load(open(path, encoding='utf-8'))
        self.vocab = j['model']['vocab']
        self.id2tok = {i: t for t, i in self.vocab.items()}
        self.ranks = {tuple(m.split(' ')) if isinstance(m, str) else tuple(m): r for r, m in enumerate(j['model']['merges'])}
        self.special = {t['content']: t['id'] for t in j['added_tokens']}
        self.special_re = regex.compile('(' + '|'.join(regex.escape(s) for s in self.special) + ')')
        self.cache = {}

    def _bpe(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        parts = list(to_word(word))
        while len(parts) > 1:
            best, bi = None, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            a, b = parts[bi], parts[bi + 1]
            out, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        ids = [self.vocab[p] for p in parts]
        if len(self.cache) < 2_000_000:
            self.cache[word] = ids
        return ids

    def encode_ordinary(self, text):
        out = []
        for w in _pat.findall(text):
            out.extend(self._bpe(w))
        return out

    def encode(self, text):
        """Like HF: special tokens are split out first."""
        out = []
        for i, seg in enumerate(self.special_re.split(text)):
            if i % 2 == 1:
                out.append(self.special[seg])
            elif seg:
                out.extend(self.encode_ordinary(seg))
        return out

    def decode(self, ids):
        s = []
        bs = bytearray()
        for i in ids:
            t = self.id2tok[i]
            if t in self.special:
                s.append(bs.decode('utf-8', 'replace')); bs = bytearray(); s.append(t)
            else:
                bs.extend(U2B[c] for c in t)
        s.append(bs.decode('utf-8', 'replace'))
        return ''.join(s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--corpus', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--vocab-size', type=int, default=4096)
    ap.add_argument('--max-chars', type=int, default=40_000_000)
    ap.add_argument('--expected-only', action='store_true',
                    help='only write <out>/expected.json: Python encodings of sample texts for verify-tokenizer.mjs')
    a = ap.parse_args()
    if a.expected_only:
        tok = Tokenizer(os.path.join(a.out, 'tokenizer.json'))
        exp = []
        for i, line in enumerate(open(a.corpus, encoding='utf-8')):
            if i % 97 == 0:
                s = json.loads(line)['text'][:3000]
                exp.append({'text': s, 'ids': tok.encode(s)})
        s = '<|file|> a.ts\nconst X = 1;\n<|question|> What does constant `X` equal?\n<|answer|> 1<|end|>\n'
        exp.append({'text': s, 'ids': tok.encode(s)})
        json.dump(exp, open(os.path.join(a.out, 'expected.json'), 'w'))
        return
    texts, n = [], 0
    for line in open(a.corpus, encoding='utf-8'):
        r = json.loads(line)
        if r['split'] != 'train':
            continue
        texts.append(r['path'] + '\n' + r['text'] + '\n')
        n += len(r['text'])
        if n > a.max_chars:
            break
    vocab, merges = train(texts, a.vocab_size)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(hf_tokenizer_json(vocab, merges), f, ensure_ascii=False)
    print(f'vocab {len(vocab)} merges {len(merges)} -> {a.out}/tokenizer.json')


if __name__ == '__main__':
    main()
