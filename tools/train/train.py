#!/usr/bin/env python3
"""Train the RepoPot tiny code model (one curriculum stage per invocation; resumable).

  /usr/bin/python3 tools/train/train.py --stage stage1 --data .train/data/stage1.npy \
      --seq 512 --steps 1500 [--init-from .train/ckpt/stage0/latest.pt]

Checkpoints: .train/ckpt/<stage>/latest.pt (model, optimizer, step, data position,
loss history, config).  Re-running the same command resumes from latest.pt.
A stage with --init-from starts from another stage's weights (fresh optimizer).
"""
import argparse, contextlib, json, math, os, sys, time
import numpy as np
import torch
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Llama
from read_heads import NAME_HEAD, token_marks, token_texts, read_targets
from position_gaps import gapped_positions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DEFAULT_CONFIG = dict(vocab_size=4096, hidden_size=256, intermediate_size=640, num_hidden_layers=5,
                      num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
                      max_position_embeddings=2048, tie_word_embeddings=True,
                      bos_token_id=0, eos_token_id=0, pad_token_id=7)
PAD = 7
ANSWER, END = 3, 4  # <|answer|>, <|end|>
CODE_CLS, ANSWER_CLS, COPY_CLS = 1, 2, 3  # token classes (copy_data.py); answers are also found from the markers


def positions_path(path):
    """Per-token rotary positions beside a dataset (`X.npy` -> `X.pos.npy`, pot-rows.ts): rows read from a pot."""
    return path[:-4] + '.pos.npy'


class Sources:
    """One or more packed datasets mixed per batch by weight (`path.npy[:weight]`). Sampling is a pure
    function of (seed, step), so a resumed run continues the same stream without saving a data position.
    A dataset with `path.pos.npy` beside it (same shape) carries each token's position (a pot's kept slots keep
    their stream positions, with gaps); batch() returns them row-aligned, and has_pos marks the rows that have them
    (the others get 0..seq-1)."""

    def __init__(self, specs, seq):
        self.items = []
        for spec in specs:
            path, _, w = spec.partition(':')
            x = np.load(path, mmap_mode='r')
            assert x.shape[1] >= seq, f'{path}: rows of {x.shape[1]} tokens < --seq {seq}'
            cp = path[:-4] + '.cls.npy'
            c = np.load(cp, mmap_mode='r') if os.path.exists(cp) else None
            pp = positions_path(path)
            p = np.load(pp, mmap_mode='r') if os.path.exists(pp) else None
            assert p is None or p.shape == x.shape, f'{pp}: shape {p.shape} != {path} {x.shape}'
            self.items.append((path, x, c, p, float(w or 1)))
        tot = sum(w for *_, w in self.items)
        self.p = [w / tot for *_, w in self.items]

    def rows(self):
        return sum(x.shape[0] for _, x, *_ in self.items)

    def max_position(self):
        """The largest position any row is read at (None when no dataset carries positions)."""
        ps = [int(p.max()) for *_, p, _ in self.items if p is not None and p.size]
        return max(ps) if ps else None

    def batch(self, seed, step, n, seq):
        """tokens [n, seq], classes [n, seq], positions [n, seq] (int64) and has_pos [n] (bool)."""
        rng = np.random.default_rng([seed, step])
        which = rng.choice(len(self.items), size=n, p=self.p)
        xs, cs, ps, hp = [], [], [], []
        for k in which:
            _, x, c, p, _ = self.items[k]
            i = int(rng.integers(x.shape[0]))
            xs.append(np.asarray(x[i, :seq], dtype=np.int64))
            cs.append(np.asarray(c[i, :seq], dtype=np.int64) if c is not None else np.full(seq, CODE_CLS, dtype=np.int64))
            ps.append(np.asarray(p[i, :seq], dtype=np.int64) if p is not None else np.arange(seq, dtype=np.int64))
            hp.append(p is not None)
        return np.stack(xs), np.stack(cs), np.stack(ps), np.array(hp, dtype=bool)


def lr_at(step, total, peak, warmup, floor=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def load_init(path):
    """Weights to start a stage from: a checkpoint (.pt) or an exported model folder (the committed model)."""
    if not os.path.isdir(path):
        return torch.load(path, map_location='cpu')
    from export import read_safetensors
    hf = json.load(open(os.path.join(path, 'config.json')))
    log = json.load(open(os.path.join(path, 'training_log.json')))
    cfg = {k: hf[k] for k in DEFAULT_CONFIG if k in hf}
    weights = {k: v.float() for k, v in read_safetensors(os.path.join(path, 'model.safetensors')).items()}
    return {'model': weights, 'config': cfg, 'step': log['step'], 'stage': log.get('stage'), 'history': log.get('history', [])}


def watched(model, layer, head):
    """The kept attention probabilities [B, T, T] of one supervised head, in fp32 (bf16 under autocast: the losses
    take their log)."""
    attn = model.model.layers[layer].self_attn
    return attn.watched[:, attn.watch.index(head)].float()


def read_head_loss(model, inp, heads, newline, comma, texts=None):
    """Attention supervision of the lookup circuit (issue 11): a "file" head that knows which file each token is in,
    an "answer" head that, at the answer, attends to the context span the answer copies, and (a third head, with
    texts) a "name" head that carries the asked name on the question side and the defined name at its definition.
    -log of the mass on the targets (the name head: the mean -log over its targets, so it spreads over the whole name),
    averaged over the positions that have one; the heads' losses are added."""
    xs = inp.cpu().numpy()
    total = inp.new_zeros((), dtype=torch.float32)
    B, T = xs.shape
    per_head = [[], [], []]
    for b in range(B):
        for k, targets in enumerate(read_targets(xs[b], newline, comma, texts)):
            per_head[k].append(targets)
    for k, ((layer, head), rows) in enumerate(zip(heads, per_head)):
        if not any(rows):
            continue
        tgt = torch.zeros(B, T, T, dtype=torch.bool)
        for b, pairs in enumerate(rows):
            for q, keys in pairs:
                tgt[b, q, keys] = True
        tgt = tgt.to(inp.device)
        has = tgt.any(-1)
        att = watched(model, layer, head)
        if k == NAME_HEAD:
            # the name head spreads over every token of the name (cross-entropy to uniform on them): the first token
            # alone, where -log(mass) let it settle, is the one split differently after a backtick than after a space
            logp = torch.log(att.clamp_min(1e-9))
            per_pos = -(logp * tgt).sum(-1) / tgt.sum(-1).clamp_min(1)
        else:
            per_pos = -torch.log((att * tgt).sum(-1).clamp_min(1e-9))
        total = total + (per_pos * has).sum() / has.sum()
    return total


def copy_head_loss(model, inp, heads):
    """Attention supervision that bootstraps the copy circuit (the model had no previous-token head, and copying
    did not emerge from the LM loss in the CPU budget). Head 1 (an early layer) is pulled to attend to the previous
    token; head 2 (a later layer) to the positions j where the two tokens before j equal the current and the previous
    token (inp[j-1] == inp[i], inp[j-2] == inp[i-1]): an induction head, whose value there is the token to copy.
    Loss: -log of the attention mass on the targets, averaged over positions that have a target."""
    prev = watched(model, *heads[0])  # [B, T, T]
    B, T, _ = prev.shape
    real = inp != PAD
    lp = torch.log(torch.diagonal(prev, offset=-1, dim1=1, dim2=2).clamp_min(1e-9))  # [B, T-1]: i -> i-1
    prev_loss = -(lp * real[:, 1:]).sum() / real[:, 1:].sum().clamp_min(1)
    ind = watched(model, *heads[1])
    x = inp
    # target[b, i, j] for j in [2, i): x[j-1] == x[i] and x[j-2] == x[i-1]
    a_ = (x[:, None, 1:-1] == x[:, 1:, None])  # [B, T-1, T-2]: query i>=1 vs j-1 in [1, T-2]
    b_ = (x[:, None, :-2] == x[:, :-1, None])            # [B, T-1, T-2]: query i-1 vs j-2
    tgt = torch.zeros(B, T, T, dtype=torch.bool, device=x.device)
    tgt[:, 1:, 2:] = a_ & b_
    tgt &= torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-1)  # j < i
    tgt &= real[:, :, None] & real[:, None, :] & (x[:, :, None] != 0)
    has = tgt.any(-1)
    if not has.any():
        return prev_loss
    mass = (ind * tgt).sum(-1).clamp_min(1e-9)
    ind_loss = -(torch.log(mass) * has).sum() / has.sum()
    return prev_loss + ind_loss


def cpu_has_bf16():
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): there autocast to bf16 runs a training step
    ~2.6x faster (session 17, build machine: 1.76 vs 4.6 s at batch 4 x 1280) with the same loss to 3 decimals and
    gradients at cosine 0.999 to fp32's. Without it, bf16 would be emulated and slower."""
    try:
        flags = open('/proc/cpuinfo').read()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def save(path, obj):
    tmp = path + '.tmp'
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--stage', required=True)
    ap.add_argument('--data', required=True, nargs='+', help='packed .npy file(s), each optionally :weight (mixed per batch)')
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--steps', type=int, default=1500)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--wd', type=float, default=0.05)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--ckpt-dir', default=os.path.join(ROOT, '.train/ckpt'))
    ap.add_argument('--init-from', default=None)
    ap.add_argument('--config', default=None, help='json file overriding DEFAULT_CONFIG')
    ap.add_argument('--save-every', type=int, default=50)
    ap.add_argument('--log-every', type=int, default=10)
    ap.add_argument('--max-minutes', type=float, default=0, help='stop (after saving) after this long; 0 = no limit')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--answer-weight', type=float, default=1.0,
                    help='loss weight of answer tokens (after <|answer|> up to <|end|>) relative to code tokens')
    ap.add_argument('--time-schedule', action='store_true',
                    help='LR warmup/decay follow elapsed time over --max-minutes instead of steps (GPU runs of fixed length)')
    ap.add_argument('--stop-at', type=int, default=0,
                    help='end the stage (write final.pt) at this step; the LR schedule still spans --steps')
    ap.add_argument('--code-weight', type=float, default=1.0, help='loss weight of plain code tokens')
    ap.add_argument('--copy-weight', type=float, default=1.0, help='loss weight of the repeat in copy rows (copy_data.py)')
    ap.add_argument('--copy-heads', default='',
                    help='bootstrap copying: "L0.H0,L1.H1" supervises layer L0 head H0 to attend to the previous token and '
                         'layer L1 head H1 to attend where the current token followed the same two tokens before (an induction head)')
    ap.add_argument('--copy-head-weight', type=float, default=1.0)
    ap.add_argument('--read-heads', default='',
                    help='bootstrap lookup: "LF.HF,LA.HA" supervises a file head (body tokens attend to their file\'s path) '
                         'and an answer head (answer positions attend to the context span the answer copies); a third '
                         '"LN.HN", a name head (answer positions attend to the asked name, a definition\'s value to the '
                         'defined name), also narrows the answer head to definition sites (read_heads.py)')
    ap.add_argument('--read-head-weight', type=float, default=1.0)
    ap.add_argument('--tokenizer-dir', default=os.path.join(ROOT, '.train/tok'), help='for --read-heads (newline/comma tokens)')
    ap.add_argument('--gap-share', type=float, default=0.0,
                    help='share of rows trained at gapped positions (position_gaps.py): positions jump at line ends so the '
                         'row spans up to the model\'s max positions, as a pot\'s kept slots do')
    ap.add_argument('--max-positions', type=int, default=0,
                    help='set the model\'s max_position_embeddings (the weights do not change; rotary positions only)')
    ap.add_argument('--eval-every', type=int, default=0, help='run the held-out judge (judge.py) every N steps')
    ap.add_argument('--eval-sets', nargs='*', default=['data/eval/lookup-1k.jsonl', 'data/eval/lookup-py-1k.jsonl'])
    ap.add_argument('--eval-per-type', type=int, default=16)
    ap.add_argument('--bf16', choices=['auto', 'on', 'off'], default='auto',
                    help='forward passes under bfloat16 autocast (weights, optimizer, loss and judge stay fp32); auto: on a '
                         'GPU, and on a CPU that multiplies bf16 natively (cpu_has_bf16)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'
    cdir = os.path.join(a.ckpt_dir, a.stage)
    os.makedirs(cdir, exist_ok=True)
    latest = os.path.join(cdir, 'latest.pt')
    plain = not os.path.exists(a.data[0][:-4] + '.cls.npy') and not os.path.exists(positions_path(a.data[0]))
    if len(a.data) == 1 and ':' not in a.data[0] and plain:
        src = None  # one plain dataset: the original epoch/permutation order (the committed stages were trained so)
        data = np.load(a.data[0], mmap_mode='r')
        assert data.shape[1] >= a.seq
        N = data.shape[0]
    else:
        src = Sources(a.data, a.seq)
        N = src.rows()
    judge = None
    if a.eval_every:
        from judge import Judge
        judge = Judge([os.path.join(ROOT, p) for p in a.eval_sets], per_type=a.eval_per_type,
                      copy_probe=os.path.join(ROOT, 'data/eval/copy-spans.jsonl'), threads=a.threads)
        eval_log = os.path.join(ROOT, '.train/logs', a.stage + '.eval.jsonl')
        os.makedirs(os.path.dirname(eval_log), exist_ok=True)
    cfg = dict(DEFAULT_CONFIG)
    if a.config:
        cfg.update(json.load(open(a.config)))
    state = None
    if os.path.exists(latest):
        state = torch.load(latest, map_location='cpu')
        cfg = state['config']
        print(f'resuming {a.stage} at step {state["step"]}', flush=True)
    elif a.init_from:
        init = load_init(a.init_from)
        cfg = init['config']
    if a.max_positions:
        cfg = dict(cfg, max_position_embeddings=a.max_positions)
    data_max = src.max_position() if src is not None else None
    if data_max is not None:
        assert data_max < cfg['max_position_embeddings'], (
            f'the data carries positions up to {data_max} (a .pos.npy beside --data) but the model has '
            f'max_position_embeddings {cfg["max_position_embeddings"]}: pass --max-positions {data_max + 1} or more')
    model = Llama(cfg).to(dev)
    bf16 = a.bf16 == 'on' or (a.bf16 == 'auto' and (dev == 'cuda' or cpu_has_bf16()))
    parse_heads = lambda spec: [tuple(int(v) for v in h.split('.')) for h in spec.split(',') if h] if spec else []
    heads, rheads = parse_heads(a.copy_heads), parse_heads(a.read_heads)
    for layer, head in heads + rheads:
        attn = model.model.layers[layer].self_attn
        attn.watch = tuple(attn.watch) + (head,)
    marks = token_marks(a.tokenizer_dir) if rheads or a.gap_share else None
    if len(rheads) > 3:
        raise SystemExit('--read-heads: at most three heads (file, answer, name)')
    # a name head needs each token's text (read_heads.token_texts); the answer head's targets narrow with it too
    texts = token_texts(a.tokenizer_dir) if len(rheads) == 3 else None
    nparams = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': a.wd}, {'params': nodecay, 'weight_decay': 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step, epoch, history, best = 0, 0, [], -1.0
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(N)
    pos = 0
    if state:
        model.load_state_dict(state['model'])
        opt.load_state_dict(state['optimizer'])
        step, pos, epoch, history = state['step'], state['data_pos'], state['epoch'], state['history']
        perm = np.random.default_rng(a.seed + epoch).permutation(N)
        best = state.get('best', -1.0)
    elif a.init_from:
        model.load_state_dict(init['model'])
        print(f'initialised from {a.init_from} (step {init["step"]} of {init.get("stage")})', flush=True)
        history = init.get('history', [])
    print(f'{a.stage}: params {nparams/1e6:.2f}M, rows {N}, seq {a.seq}, batch {a.batch}, steps {a.steps}, device {dev}, threads {a.threads}, bf16 {bf16}', flush=True)
    t0 = time.time()
    tw, tok_count, last_save = time.time(), 0, step
    model.train()
    end = min(a.steps, a.stop_at) if a.stop_at else a.steps
    over = False
    while step < end:
        if src is None:
            if pos + a.batch > N:
                epoch += 1
                pos = 0
                perm = np.random.default_rng(a.seed + epoch).permutation(N)
            idx = np.sort(perm[pos:pos + a.batch])
            pos += a.batch
            x = torch.from_numpy(data[idx, :a.seq].astype(np.int64)).to(dev)
            cls = torch.full_like(x, CODE_CLS)
            own_pos, has_pos = None, np.zeros(x.shape[0], dtype=bool)
        else:
            xb, cb, own_pos, has_pos = src.batch(a.seed, step, a.batch, a.seq)
            x, cls = torch.from_numpy(xb).to(dev), torch.from_numpy(cb).to(dev)
        real = (x != PAD)
        T = int(real.sum(1).max())  # trim padding columns
        x, real, cls = x[:, :T], real[:, :T], cls[:, :T]
        inp, tgt = x[:, :-1], x[:, 1:].clone()
        if own_pos is not None:
            own_pos = own_pos[:, :T - 1]  # the positions of inp (x[:, :-1] after the trim)
        tgt[~real[:, 1:]] = -100
        if a.time_schedule and a.max_minutes:
            # warmup by steps, then cosine decay over the run's wall-clock length
            progress = min(1.0, (time.time() - t0) / 60 / a.max_minutes)
            lr = a.lr * (step + 1) / a.warmup if step < a.warmup else a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
        else:
            lr = lr_at(step, a.steps, a.lr, a.warmup)
        for g in opt.param_groups:
            g['lr'] = lr
        positions = None
        if a.gap_share or has_pos.any():
            grng = np.random.default_rng([a.seed, step, 7])
            rows = inp.cpu().numpy()
            P = np.tile(np.arange(rows.shape[1], dtype=np.int64), (rows.shape[0], 1))
            for b in range(rows.shape[0]):
                if has_pos[b]:
                    P[b] = own_pos[b]  # rows read from a pot: their kept positions (gap-share does not apply)
                elif a.gap_share and grng.random() < a.gap_share:
                    P[b] = gapped_positions(rows[b], marks[0], cfg['max_position_embeddings'], grng)
            positions = torch.from_numpy(P).to(dev)
        with torch.autocast(dev, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext():
            logits = model(inp, positions=positions)
        logits = logits.float()
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100, reduction='none')
        w = (tgt.reshape(-1) != -100).float()
        if a.answer_weight != 1.0 or a.code_weight != 1.0 or a.copy_weight != 1.0:
            # retrieval is what the model is for: answer tokens (and repeats, the copying skill behind every
            # answer) count more than the code they are read from
            inside = (torch.cumsum(inp == ANSWER, 1) > torch.cumsum(inp == END, 1)).reshape(-1)
            c = cls[:, 1:].reshape(-1)
            cw = torch.where(c == COPY_CLS, a.copy_weight, a.code_weight)
            w = w * torch.where(inside, a.answer_weight, cw)
        loss = (ce * w).sum() / w.sum()
        head_losses = ''
        if heads:
            ch = copy_head_loss(model, inp, heads)
            loss = loss + a.copy_head_weight * ch
            head_losses += f' copy-heads {float(ch):.3f}'
        if rheads:
            rh = read_head_loss(model, inp, rheads, *marks, texts)
            loss = loss + a.read_head_weight * rh
            head_losses += f' read-heads {float(rh):.3f}'

        plain = float(ce.sum() / (tgt != -100).sum())  # logged: comparable across stages whatever the weighting
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tok_count += int(real.sum())
        history.append({'stage': a.stage, 'step': step, 'loss': round(plain, 4), 'tokens': int(real.sum()), 'time': round(time.time(), 1)})
        if step % a.log_every == 0:
            dt = time.time() - tw
            print(f'step {step} loss {plain:.4f} objective {float(loss):.4f} gnorm {float(gn):.2f}{head_losses} lr {opt.param_groups[0]["lr"]:.2e} {tok_count/dt:.0f} tok/s epoch {epoch} pos {pos}/{N}', flush=True)
            tw, tok_count = time.time(), 0
        over = a.max_minutes and (time.time() - t0) / 60 > a.max_minutes
        if judge and (step % a.eval_every == 0 or step >= end):
            model.eval()
            r = judge.run(model)
            model.train()
            r.update(step=step, stage=a.stage, time=round(time.time(), 1), tokens_seen=sum(h.get('tokens', 0) for h in history))
            with open(eval_log, 'a') as fo:
                fo.write(json.dumps(r) + '\n')
            history.append({'stage': a.stage, 'step': step, 'eval': r})
            print('judge', json.dumps(r), flush=True)
            if r['score'] > best:  # commit-worthy: the best held-out score so far, not the last step
                best = r['score']
                save(os.path.join(cdir, 'best.pt'), {'model': model.state_dict(), 'step': step, 'history': history,
                                                     'config': cfg, 'stage': a.stage, 'eval': r})
        if step - last_save >= a.save_every or step >= end or over:
            save(latest, {'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': step, 'data_pos': pos,
                          'epoch': epoch, 'history': history, 'config': cfg, 'stage': a.stage, 'args': vars(a), 'best': best})
            last_save = step
        if over:
            print('time limit reached; saved', flush=True)
            break
    # a time-scheduled stage is over when its time is (its LR has decayed); a plain --max-minutes only pauses it
    if step >= end or (over and a.time_schedule):
        save(os.path.join(cdir, 'final.pt'), {'model': model.state_dict(), 'step': step, 'history': history,
                                               'config': cfg, 'stage': a.stage})
        print(f'{a.stage} done', flush=True)


if __name__ == '__main__':
    main()
