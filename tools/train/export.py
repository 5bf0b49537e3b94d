#!/usr/bin/env python3
"""Export a training checkpoint as a Hugging Face Llama folder.

  /usr/bin/python3 tools/train/export.py                      # newest .train/ckpt/*/latest.pt
  /usr/bin/python3 tools/train/export.py --ckpt .train/ckpt/stage1/latest.pt --out models/repopot-tiny-code

Writes config.json, generation_config.json, model.safetensors (written by hand:
u64-LE header length, JSON header {name: {dtype, shape, data_offsets}}, raw
little-endian data; no lm_head since embeddings are tied), tokenizer.json,
tokenizer_config.json, special_tokens_map.json, training_log.json, loss_curve.png.
Then verifies: re-reads the safetensors file into a fresh model, compares logits,
and prints a greedy continuation of a repository-with-question prompt.
"""
import argparse, glob, json, os, shutil, struct, sys
import numpy as np
import torch
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Llama, hf_config
from bpe import Tokenizer
from plot_judge import plot as plot_judge

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DT = {torch.float32: ('F32', np.float32), torch.float16: ('F16', np.float16), torch.bfloat16: ('BF16', None)}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        code, npdt = DT[t.dtype]
        b = t.numpy().astype(npdt, copy=False).tobytes()  # x86: little-endian
        header[name] = {'dtype': code, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        npdt = {'F32': np.float32, 'F16': np.float16}[v['dtype']]
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype=npdt).reshape(v['shape']).copy())
    return out


def prompt_ids(tok, rec):
    S = tok.special
    ids = [S['<|endoftext|>']]
    for f in rec['files']:
        ids += [S['<|file|>']] + tok.encode_ordinary(f' {f["path"]}\n{f["text"]}\n')
    ids += [S['<|question|>']] + tok.encode_ordinary(f' {rec["question"]}\n') + [S['<|answer|>']]
    return ids


def plot(history, out_png):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except Exception as e:
        print('no matplotlib:', e)
        return
    steps, losses, tokens, stages = [], [], [], []
    t = 0
    for i, h in enumerate(h for h in history if 'loss' in h):
        t += h['tokens']
        steps.append(i + 1); losses.append(h['loss']); tokens.append(t / 1e6); stages.append(h['stage'])
    k = 20
    sm = np.convolve(losses, np.ones(k) / k, mode='valid') if len(losses) > k else np.array(losses)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(tokens, losses, alpha=0.25, lw=0.8, label='train loss (per step)')
    ax.plot(tokens[len(tokens) - len(sm):], sm, lw=1.5, label=f'moving average ({k} steps)')
    for i in range(1, len(stages)):
        if stages[i] != stages[i - 1]:
            ax.axvline(tokens[i], color='gray', ls='--', lw=0.8)
            ax.text(tokens[i], max(losses), ' ' + stages[i], fontsize=8, va='top')
    ax.set_xlabel('training tokens (millions, non-pad)')
    ax.set_ylabel('cross-entropy (nats/token)')
    ax.set_title('repopot-tiny-code training loss')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print('wrote', out_png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', default=None)
    ap.add_argument('--out', default=os.path.join(ROOT, 'models/repopot-tiny-code'))
    ap.add_argument('--tokenizer-dir', default=os.path.join(ROOT, '.train/tok'))
    ap.add_argument('--dtype', default='float32', choices=['float32', 'float16'])
    ap.add_argument('--eval', default=os.path.join(ROOT, 'data/eval/lookup-1k.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    ck = a.ckpt or max(glob.glob(os.path.join(ROOT, '.train/ckpt/*/latest.pt')), key=os.path.getmtime)
    st = torch.load(ck, map_location='cpu')
    cfg = st['config']
    model = Llama(cfg)
    model.load_state_dict(st['model'])
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    hc = hf_config(cfg)
    hc['torch_dtype'] = a.dtype
    json.dump(hc, open(os.path.join(a.out, 'config.json'), 'w'), indent=2)
    json.dump({'bos_token_id': cfg['bos_token_id'], 'eos_token_id': [cfg['eos_token_id'], 4], 'pad_token_id': cfg['pad_token_id'],
               'do_sample': False, 'max_new_tokens': 64}, open(os.path.join(a.out, 'generation_config.json'), 'w'), indent=2)
    dt = torch.float16 if a.dtype == 'float16' else torch.float32
    tensors = {k: v.to(dt) for k, v in model.state_dict().items()}
    assert not any(k.startswith('lm_head') for k in tensors)
    write_safetensors(os.path.join(a.out, 'model.safetensors'), tensors, {'format': 'pt'})
    for f in ('tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'):
        shutil.copy(os.path.join(a.tokenizer_dir, f), os.path.join(a.out, f))
    hist = st.get('history', [])
    json.dump({'checkpoint': os.path.relpath(ck, ROOT), 'stage': st.get('stage'), 'step': st['step'],
               'tokens_seen': sum(h.get('tokens', 0) for h in hist), 'history': hist},
              open(os.path.join(a.out, 'training_log.json'), 'w'))
    plot(hist, os.path.join(a.out, 'loss_curve.png'))
    plot_judge([h['eval'] for h in hist if 'eval' in h], os.path.join(a.out, 'em_curve.png'))
    # ---- verification ----
    back = read_safetensors(os.path.join(a.out, 'model.safetensors'))
    m2 = Llama(json.load(open(os.path.join(a.out, 'config.json'))) | {'tie_word_embeddings': True})
    missing = m2.load_state_dict({k: v.float() for k, v in back.items()}, strict=True)
    m2.eval()
    tok = Tokenizer(os.path.join(a.out, 'tokenizer.json'))
    rec = json.loads(open(a.eval).readline())
    ids = prompt_ids(tok, rec)
    with torch.no_grad():
        d = (model(torch.tensor([ids])) - m2(torch.tensor([ids]))).abs().max().item()
    print(f'exported {ck} (stage {st.get("stage")}, step {st["step"]}) -> {a.out}; params {sum(v.numel() for v in back.values())/1e6:.2f}M; '
          f'safetensors size {os.path.getsize(os.path.join(a.out, "model.safetensors"))/1e6:.1f} MB; reload max |dlogit| {d:.2e}')
    out = m2.generate(ids, max_new=40, stop=(tok.special['<|end|>'], tok.special['<|endoftext|>']))
    print('--- sanity prompt (tail) ---')
    print(tok.decode(ids)[-300:])
    print('--- greedy continuation ---')
    print(repr(tok.decode(out[len(ids):])))
    print('--- expected ---')
    print(repr(' ' + rec['answer']))


if __name__ == '__main__':
    main()
