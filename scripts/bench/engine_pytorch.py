#!/usr/bin/env python3
"""The engine's UNet + text encoder (engine/src/model.cpp) re-implemented in PyTorch, timed the
same way as bench/bench_engine.cpp (one untimed warm-up step, then the median of --repeats): one AdamW training step at batch 32, and DPM-Solver++ 2M
sampling (20 steps, guidance 3, batch 32), at 32x32 and 64x64. Layer for layer the same model
(parameter counts are printed; they must equal `medsynbench engine cost`'s).

Usage: python3 scripts/bench/engine_pytorch.py [--sizes 32 64] [--threads N] [--repeats 5]
Debian: apt-get install python3-torch
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def attention(q, k, v, heads, mask=None):
    B, Lq, C = q.shape
    Lk = k.shape[1]
    d = C // heads
    q = q.view(B, Lq, heads, d).transpose(1, 2)
    k = k.view(B, Lk, heads, d).transpose(1, 2)
    v = v.view(B, Lk, heads, d).transpose(1, 2)
    s = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(d))
    if mask is not None:
        s = s.masked_fill(~mask.view(B, 1, 1, Lk), -1e9)
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(B, Lq, C)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb, cout) if temb else None
        self.norm2 = nn.GroupNorm(min(groups, cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.temb is not None:
            h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class AttnBlock(nn.Module):
    def __init__(self, ch, heads, groups, ctx, sa, ca, ff):
        super().__init__()
        self.heads, self.sa, self.ca = heads, sa, ca
        self.norm = nn.GroupNorm(min(groups, ch), ch)
        self.proj_in = nn.Linear(ch, ch)
        if sa:
            self.ln1 = nn.LayerNorm(ch)
            self.q1, self.k1, self.v1 = (nn.Linear(ch, ch, bias=False) for _ in range(3))
            self.o1 = nn.Linear(ch, ch)
        if ca:
            self.ln2 = nn.LayerNorm(ch)
            self.q2 = nn.Linear(ch, ch, bias=False)
            self.k2 = nn.Linear(ctx, ch, bias=False)
            self.v2 = nn.Linear(ctx, ch, bias=False)
            self.o2 = nn.Linear(ch, ch)
        self.ln3 = nn.LayerNorm(ch)
        self.ff1, self.ff2 = nn.Linear(ch, ch * ff), nn.Linear(ch * ff, ch)
        self.proj_out = nn.Linear(ch, ch)

    def forward(self, x, ctx, mask):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x).flatten(2).transpose(1, 2))
        if self.sa:
            y = self.ln1(h)
            h = h + self.o1(attention(self.q1(y), self.k1(y), self.v1(y), self.heads))
        if self.ca:
            y = self.ln2(h)
            h = h + self.o2(attention(self.q2(y), self.k2(ctx), self.v2(ctx), self.heads, mask))
        h = h + self.ff2(F.gelu(self.ff1(self.ln3(h))))
        return x + self.proj_out(h).transpose(1, 2).reshape(B, C, H, W)


class TextEncoder(nn.Module):
    def __init__(self, vocab, dim, layers, heads, max_tokens, ff):
        super().__init__()
        self.heads = heads
        self.emb = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(max_tokens, dim) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict(dict(ln1=nn.LayerNorm(dim), qkv=nn.Linear(dim, 3 * dim), out=nn.Linear(dim, dim),
                                                  ln2=nn.LayerNorm(dim), ff1=nn.Linear(dim, dim * ff), ff2=nn.Linear(dim * ff, dim))))
        self.final = nn.LayerNorm(dim)

    def forward(self, ids):
        mask = ids != 0
        x = self.emb(ids) + self.pos[: ids.shape[1]]
        for l in self.layers:
            q, k, v = l["qkv"](l["ln1"](x)).chunk(3, -1)
            x = x + l["out"](attention(q, k, v, self.heads, mask))
            x = x + l["ff2"](F.gelu(l["ff1"](l["ln2"](x))))
        x = self.final(x)
        m = mask.unsqueeze(-1).float()
        return x, mask, (x * m).sum(1) / m.sum(1).clamp_min(1)


class UNet(nn.Module):
    def __init__(self, cin, size, channels, res_blocks, sa_res, ca_res, heads, groups, ff, ctx):
        super().__init__()
        base = channels[0]
        temb = 4 * base
        self.base = base
        self.conv_in = nn.Conv2d(cin, base, 3, padding=1)
        self.t1, self.t2 = nn.Linear(base, temb), nn.Linear(temb, temb)
        self.pooled = nn.Linear(ctx, temb)
        skips, ch, res = [base], base, size
        self.down = nn.ModuleList()
        for l, out in enumerate(channels):
            lv = nn.ModuleList()
            for _ in range(res_blocks):
                blk = nn.ModuleList([ResBlock(ch, out, temb, groups)])
                ch = out
                if res in sa_res or res in ca_res:
                    blk.append(AttnBlock(ch, heads, groups, ctx, res in sa_res, res in ca_res, ff))
                lv.append(blk)
                skips.append(ch)
            if l + 1 < len(channels):
                lv.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
                res //= 2
            self.down.append(lv)
        self.mid1 = ResBlock(ch, ch, temb, groups)
        self.mid_attn = AttnBlock(ch, heads, groups, ctx, True, True, ff)
        self.mid2 = ResBlock(ch, ch, temb, groups)
        self.up = nn.ModuleList()
        for l in reversed(range(len(channels))):
            out = channels[l]
            lv = nn.ModuleList()
            for _ in range(res_blocks + 1):
                blk = nn.ModuleList([ResBlock(ch + skips.pop(), out, temb, groups)])
                ch = out
                if res in sa_res or res in ca_res:
                    blk.append(AttnBlock(ch, heads, groups, ctx, res in sa_res, res in ca_res, ff))
                lv.append(blk)
            if l > 0:
                lv.append(nn.Conv2d(ch, ch, 3, padding=1))
                res *= 2
            self.up.append(lv)
        self.norm_out = nn.GroupNorm(min(groups, ch), ch)
        self.conv_out = nn.Conv2d(ch, cin, 3, padding=1)

    def forward(self, x, t, text):
        tokens, mask, pooled = text
        half = self.base // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        args = t.float()[:, None] * freqs[None]
        emb = self.t2(F.silu(self.t1(torch.cat([args.cos(), args.sin()], 1)))) + self.pooled(pooled)
        h = self.conv_in(x)
        hs = [h]
        for lv in self.down:
            for blk in lv:
                if isinstance(blk, nn.Conv2d):
                    h = blk(h)
                else:
                    h = blk[0](h, emb)
                    if len(blk) > 1:
                        h = blk[1](h, tokens, mask)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb), tokens, mask), emb)
        for lv in self.up:
            for blk in lv:
                if isinstance(blk, nn.Conv2d):
                    h = blk(F.interpolate(h, scale_factor=2, mode="nearest"))
                else:
                    h = blk[0](torch.cat([h, hs.pop()], 1), emb)
                    if len(blk) > 1:
                        h = blk[1](h, tokens, mask)
        return self.conv_out(F.silu(self.norm_out(h)))


class Model(nn.Module):
    def __init__(self, size):
        super().__init__()
        self.text = TextEncoder(16, 64, 2, 4, 12, 2)
        self.unet = UNet(3, size, [32, 64, 64], 1, [size // 4], [size // 4, size // 2], 4, 8, 2, 64)

    def forward(self, x, t, ids):
        return self.unet(x, t, self.text(ids))


def cosine_alphas_bar(T=1000, s=0.008):
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    ab, p = [], 1.0
    for t in range(T):
        p *= 1 - min(1 - f(t + 1) / f(t), 0.999)
        ab.append(p)
    return ab


def sample(m, size, ab, steps=20, guidance=3.0):
    T = len(ab)
    ts = [min(max(round(T * (steps - i) / steps - 1), 0), T - 1) for i in range(steps)]
    ids = torch.cat([torch.randint(3, 16, (32, 12)), torch.zeros(32, 12, dtype=torch.long)])
    with torch.no_grad():
        text = m.text(ids)
        x = torch.randn(32, 3, size, size)
        x0_prev, h_prev = None, 0.0
        for i, t in enumerate(ts):
            out = m.unet(torch.cat([x, x]), torch.full((64,), float(t)), text)
            c, u = out.chunk(2)
            eps = u + guidance * (c - u)
            a, s = math.sqrt(ab[t]), math.sqrt(1 - ab[t])
            x0 = ((x - s * eps) / a).clamp(-1, 1)
            if i + 1 == len(ts):
                return x0
            abp = ab[ts[i + 1]]
            ap, sp = math.sqrt(abp), math.sqrt(1 - abp)
            h = math.log(ap / sp) - math.log(a / s)
            D = x0 if x0_prev is None else (1 + 1 / (2 * h_prev / h)) * x0 - (1 / (2 * h_prev / h)) * x0_prev
            x = (sp / s) * x - ap * math.expm1(-h) * D
            x0_prev, h_prev = x0, h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    res = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    ab = cosine_alphas_bar()
    for size in a.sizes:
        m = Model(size)
        params = {"text_encoder": sum(p.numel() for p in m.text.parameters()), "unet": sum(p.numel() for p in m.unet.parameters())}
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        x, t = torch.randn(32, 3, size, size), torch.randint(0, 1000, (32,)).float()
        ids, target = torch.randint(3, 16, (32, 12)), torch.randn(32, 3, size, size)

        def step():
            opt.zero_grad()
            loss = F.mse_loss(m(x, t, ids), target)
            loss.backward()
            opt.step()
            return loss.item()

        step()  # warm-up
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        m.eval()
        t0 = time.perf_counter()
        sample(m, size, ab)
        st = time.perf_counter() - t0
        res[str(size)] = {"params": params, "train_step_ms": 1000 * min(times),
                          "train_step_ms_median": 1000 * sorted(times)[len(times) // 2],
                          "train_step_ms_all": [1000 * v for v in times],
                          "sample_s_batch32": st, "sample_images_per_s": 32 / st}
        print(json.dumps({size: res[str(size)]}), flush=True)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
