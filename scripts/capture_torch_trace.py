"""Capture small real torch.profiler traces for tracetriage's testdata.

A randomly initialised decoder (no weights are downloaded) runs on one CUDA
GPU and three traces are written, gzipped, with Python stacks
(with_stack=True):

  torch-eager.json.gz      a prefill of 4x128 tokens and 8 decode steps
  torch-cudagraph-capture.json.gz  one decode step captured into a CUDA graph
  torch-cudagraph-replay.json.gz   8 replays of that graph

The capture/replay pair exercises tracetriage's graph-capture attribution on
a current PyTorch and CUDA; the eager trace gives kernels with their launch
lines in this file. capture-info.json records the versions and what the
traces hold.

Usage: python3 scripts/capture_torch_trace.py OUTDIR [--layers N] [--decode-steps N] [--eager-only]

--layers and --decode-steps make larger traces (for benchmarks: 32 layers and
24 decode steps write about 200 MB of JSON); --eager-only skips the CUDA
graph pair.
"""

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function

VOCAB, DIM, HEADS, FFN, MAX_LEN = 8192, 512, 8, 1408, 512
BATCH, PROMPT = 4, 128
LAYERS, DECODE_STEPS = 4, 8  # defaults of --layers and --decode-steps


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype) * self.weight


def rotate(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.hd = DIM // HEADS
        self.qkv = nn.Linear(DIM, 3 * DIM, bias=False)
        self.o = nn.Linear(DIM, DIM, bias=False)

    def forward(self, x, cos, sin, cache_k, cache_v, pos, mask):
        b, s, _ = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, HEADS, self.hd).unbind(2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        cache_k.index_copy_(1, pos, k)
        cache_v.index_copy_(1, pos, v)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), cache_k.transpose(1, 2), cache_v.transpose(1, 2), attn_mask=mask
        )
        return self.o(out.transpose(1, 2).reshape(b, s, DIM))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_up = nn.Linear(DIM, 2 * FFN, bias=False)
        self.down = nn.Linear(FFN, DIM, bias=False)

    def forward(self, x):
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn_norm, self.mlp_norm = RMSNorm(DIM), RMSNorm(DIM)
        self.attn, self.mlp = Attention(), MLP()

    def forward(self, x, cos, sin, cache_k, cache_v, pos, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, cache_k, cache_v, pos, mask)
        return x + self.mlp(self.mlp_norm(x))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.norm = RMSNorm(DIM)
        self.head = nn.Linear(DIM, VOCAB, bias=False)
        hd = DIM // HEADS
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd)))
        self.register_buffer("slots", torch.arange(MAX_LEN))

    def forward(self, tokens, pos, caches):
        """tokens [b, s], pos [s] (positions of the tokens), caches per layer (k, v)."""
        freqs = pos[:, None].float() * self.inv_freq[None, :]
        cos = freqs.cos()[None, :, None, :].to(torch.bfloat16)
        sin = freqs.sin()[None, :, None, :].to(torch.bfloat16)
        # A query sees the cache slots up to its own position.
        mask = self.slots[None, :] <= pos[:, None]
        x = self.embed(tokens)
        for layer, (ck, cv) in zip(self.layers, caches):
            x = layer(x, cos, sin, ck, cv, pos, mask)
        return self.head(self.norm(x[:, -1:]))


def new_caches(dev):
    shape = (BATCH, MAX_LEN, HEADS, DIM // HEADS)
    return [
        (torch.zeros(shape, device=dev, dtype=torch.bfloat16), torch.zeros(shape, device=dev, dtype=torch.bfloat16))
        for _ in range(LAYERS)
    ]


def export(prof, out, name):
    """Write the profile to OUT/name gzipped and return what it holds."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(raw)
        with open(raw, "rb") as src, gzip.open(os.path.join(out, name), "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
        json_bytes = os.path.getsize(raw)
        with open(raw) as f:
            doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    cats = {}
    graph_keys = 0
    for ev in events:
        cats[ev.get("cat", "")] = cats.get(ev.get("cat", ""), 0) + 1
        args = ev.get("args") or {}
        if "graph node id" in args or "graph id" in args:
            graph_keys += 1
    return {"events": len(events), "categories": cats, "events_with_graph_ids": graph_keys,
            "json_bytes": json_bytes, "bytes": os.path.getsize(os.path.join(out, name))}


def main():
    global LAYERS, DECODE_STEPS
    ap = argparse.ArgumentParser(description="Capture small real torch.profiler traces.")
    ap.add_argument("outdir")
    ap.add_argument("--layers", type=int, default=LAYERS)
    ap.add_argument("--decode-steps", type=int, default=DECODE_STEPS)
    ap.add_argument("--eager-only", action="store_true")
    args = ap.parse_args()
    if PROMPT + args.decode_steps + 1 > MAX_LEN:
        sys.exit(f"--decode-steps {args.decode_steps}: at most {MAX_LEN - PROMPT - 1}")
    LAYERS, DECODE_STEPS = args.layers, args.decode_steps
    out = args.outdir
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = Decoder().to(dev, torch.bfloat16).eval()
    acts = [ProfilerActivity.CPU, ProfilerActivity.CUDA]
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0)}

    with torch.inference_mode():
        # Warm up cuBLAS and the allocator outside the profile.
        caches = new_caches(dev)
        prompt = torch.randint(0, VOCAB, (BATCH, PROMPT), device=dev)
        model(prompt, torch.arange(PROMPT, device=dev), caches)
        torch.cuda.synchronize()

        caches = new_caches(dev)
        with profile(activities=acts, with_stack=True, record_shapes=True) as prof:
            with record_function("prefill"):
                logits = model(prompt, torch.arange(PROMPT, device=dev), caches)
            tok = logits.argmax(-1)
            for step in range(DECODE_STEPS):
                with record_function("decode"):
                    pos = torch.full((1,), PROMPT + step, device=dev, dtype=torch.long)
                    tok = model(tok, pos, caches).argmax(-1)
            torch.cuda.synchronize()
        info["torch-eager.json.gz"] = export(prof, out, "torch-eager.json.gz")
        if args.eager_only:
            return finish(out, info)

        # A decode step captured into a CUDA graph, as serving engines do.
        static_tok = tok.clone()
        static_pos = torch.full((1,), PROMPT + DECODE_STEPS, device=dev, dtype=torch.long)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                model(static_tok, static_pos, caches)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with profile(activities=acts, with_stack=True, record_shapes=True) as prof:
            with torch.cuda.graph(graph):
                static_logits = model(static_tok, static_pos, caches)
            torch.cuda.synchronize()
        info["torch-cudagraph-capture.json.gz"] = export(prof, out, "torch-cudagraph-capture.json.gz")

        with profile(activities=acts, with_stack=True, record_shapes=True) as prof:
            for _ in range(DECODE_STEPS):
                with record_function("decode"):
                    graph.replay()
                    static_tok.copy_(static_logits.argmax(-1))
                    static_pos.add_(1)
            torch.cuda.synchronize()
        info["torch-cudagraph-replay.json.gz"] = export(prof, out, "torch-cudagraph-replay.json.gz")

    finish(out, info)


def finish(out, info):
    with open(os.path.join(out, "capture-info.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
