"""Minimal Llama (HF LlamaForCausalLM-compatible parameter names) for PyTorch 1.13 and 2.x.

RMSNorm, rotary embeddings (HF rotate-half convention), SwiGLU MLP, grouped-query
attention, tied input/output embeddings.  state_dict keys match Hugging Face
(model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj.weight, ...).
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        v = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(v + self.eps)).type_as(x) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


# Query rows per block of the explicit attention: a block attends only to the keys up to its last row, so the masked
# upper triangle (about half of a T x T score matrix) is never computed, stored or differentiated.
ATTN_BLOCK = 256


def causal_attention(q, k, v, mask, watch=(), scale=1.0, block=None):
    """Softmax attention of q [B, H, T, D] over k, v [B, H, Tk, D] (Tk >= T: a cache before the rows) under the causal
    mask [T, Tk], computed in blocks of query rows. Returns the output [B, H, T, D] and, for the heads in `watch`, the
    full probabilities [B, len(watch), T, Tk] (the trainer supervises them), else None. The watched heads are read
    from the same softmax that produces the output, not computed a second time."""
    T, Tk = q.shape[2], k.shape[2]
    before, block = Tk - T, block or ATTN_BLOCK
    ys, probs = [], []
    for s in range(0, T, block):
        e = min(T, s + block)
        n = before + e  # keys the block's last row can see
        att = (q[:, :, s:e] @ k[:, :, :n].transpose(-1, -2)) * scale
        att = att.masked_fill_(mask[s:e, :n], float('-inf')).softmax(-1)
        ys.append(att @ v[:, :, :n])
        if watch:
            probs.append(F.pad(att[:, list(watch)], (0, Tk - n)))
    y = ys[0] if len(ys) == 1 else torch.cat(ys, 2)
    return y, (torch.cat(probs, 2) if watch else None)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv = c['num_attention_heads'], c['num_key_value_heads']
        self.hd = c['hidden_size'] // self.nh
        d = c['hidden_size']
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)
        # heads whose attention pattern the trainer supervises (train.py --copy-heads): their probabilities are kept
        self.watch = ()
        self.watched = None

    def forward(self, x, cos, sin, mask, cache=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if 'k' in cache:
                k = torch.cat([cache['k'], k], dim=2)
                v = torch.cat([cache['v'], v], dim=2)
            cache['k'], cache['v'] = k, v
        rep = self.nh // self.nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if hasattr(F, 'scaled_dot_product_attention'):  # PyTorch >= 2 (the GPU machines): fused attention
            if self.watch:  # explicit form for the supervised heads (their probabilities are needed)
                w = list(self.watch)
                att = (q[:, w] @ k[:, w].transpose(-1, -2)) * (1.0 / math.sqrt(self.hd))
                self.watched = att.masked_fill(mask, float('-inf')).softmax(-1)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=~mask)
        else:  # Debian's PyTorch 1.13 on the build machine
            y, self.watched = causal_attention(q, k, v, mask, self.watch, 1.0 / math.sqrt(self.hd))
        y = y.transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c['hidden_size'], c['intermediate_size']
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])
        self.post_attention_layernorm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])

    def forward(self, x, cos, sin, mask, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c['vocab_size'], c['hidden_size'])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c['num_hidden_layers'])])
        self.norm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Inner(c)
        hd = c['hidden_size'] // c['num_attention_heads']
        inv = 1.0 / (c['rope_theta'] ** (torch.arange(0, hd, 2).float() / hd))
        t = torch.arange(c['max_position_embeddings']).float()
        emb = torch.cat([torch.outer(t, inv)] * 2, dim=-1)
        self.register_buffer('cos', emb.cos()[None, None], persistent=False)
        self.register_buffer('sin', emb.sin()[None, None], persistent=False)
        n = c['max_position_embeddings']
        self.register_buffer('mask', torch.triu(torch.ones(n, n, dtype=torch.bool), 1), persistent=False)
        self.apply(self._init)
        std = 0.02 / math.sqrt(2 * c['num_hidden_layers'])
        for l in self.model.layers:
            nn.init.normal_(l.self_attn.o_proj.weight, std=std)
            nn.init.normal_(l.mlp.down_proj.weight, std=std)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, caches=None, pos=0, positions=None):
        """ids [B, T] at absolute positions pos..pos+T-1; caches: list of per-layer dicts (KV cache) or None.
        positions [B, T] (training only): each token's rotary position instead, e.g. with gaps where a pot dropped lines
        (position_gaps.py); the causal mask still follows the row order."""
        T = ids.shape[1]
        x = self.model.embed_tokens(ids)
        if positions is None:
            cos, sin = self.cos[:, :, pos:pos + T], self.sin[:, :, pos:pos + T]
        else:
            cos, sin = self.cos[0, 0][positions][:, None], self.sin[0, 0][positions][:, None]
        mask = self.mask[pos:pos + T, :pos + T]
        for i, l in enumerate(self.model.layers):
            x = l(x, cos, sin, mask, None if caches is None else caches[i])
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.t()  # tied lm_head

    @torch.no_grad()
    def generate(self, ids, max_new=64, stop=()):
        """greedy decoding with a KV cache (prompt + max_new must fit max_position_embeddings)"""
        ids = list(ids)[-(self.config['max_position_embeddings'] - max_new):]
        caches = [{} for _ in self.model.layers]
        logits = self(torch.tensor([ids]), caches, 0)
        for _ in range(max_new):
            nxt = int(logits[0, -1].argmax())
            ids.append(nxt)
            if nxt in stop:
                break
            logits = self(torch.tensor([[nxt]]), caches, len(ids) - 1)
        return ids


def hf_config(c):
    out = {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama',
        'hidden_act': 'silu', 'attention_bias': False, 'mlp_bias': False, 'attention_dropout': 0.0,
        'initializer_range': 0.02, 'pretraining_tp': 1, 'rope_scaling': None, 'use_cache': True,
        'torch_dtype': 'float32', 'transformers_version': '4.44.0',
        'head_dim': c['hidden_size'] // c['num_attention_heads'],
    }
    for k in ('hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
              'rms_norm_eps', 'rope_theta', 'max_position_embeddings', 'vocab_size', 'tie_word_embeddings',
              'bos_token_id', 'eos_token_id', 'pad_token_id'):
        out[k] = c[k]
    return out
