# The PyTorch side of bench/compare-pytorch: trains the same model with the same recipe as bench/MLNetGpt.TrainBench
# (nanoGPT style, char-level Tiny Shakespeare) and prints one JSON line. Configurations mirror BenchConfigs.cs.
# Usage: /usr/bin/python3 bench/pytorch/train_ref.py --config nanogpt-cpu [--threads 2] [--iters N] [--eval-iters N]
#        [--sample-tokens 500] [--data PATH] [--device cpu|cuda] [--warmup W] [--batch B]
# On CUDA (bench/gpu/run.sh) matrix products use TF32 (allow_tf32, as MLNetGpt's cuBLAS path), W untimed warm-up steps
# come first, the timed window ends with a synchronize, and peak_gpu_mb is torch.cuda.max_memory_allocated.
import argparse
import json
import os
import sys
import time

# PyTorch parallelizes with its own intra-op threads (torch.set_num_threads); letting Debian's pthread OpenBLAS start its own
# pool inside them oversubscribes the cores. Measured on nanogpt-cpu, 2 threads, 100 iters: 6.0K tokens/s with OpenBLAS's
# default pool, 7.5K with OPENBLAS_NUM_THREADS=2, 19.0K with OPENBLAS_NUM_THREADS=1 (PyTorch's best, used here; override
# by setting the variable). Must be set before torch loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt import GPT, Bigram, GPTConfig, configure_adamw, get_lr  # noqa: E402

LECTURE = dict(decay_lr=False, weight_decay=0.01, betas=(0.9, 0.999), grad_clip=0.0, warmup=0, min_lr=None)
CONFIGS = {
    "nanogpt-cpu": dict(model=dict(block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False, activation="gelu"),
                        iters=2000, batch=12, lr=1e-3, min_lr=1e-4, warmup=100, decay_lr=True, weight_decay=0.1,
                        betas=(0.9, 0.99), grad_clip=1.0, eval_iters=200),
    "seed-tiny": dict(model=dict(block_size=8, n_layer=6, n_head=4, n_embd=32, dropout=0.0, bias=True, activation="relu"),
                      iters=5000, batch=32, lr=1e-3, eval_iters=200, **LECTURE),
    "lecture": dict(model=dict(block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2, bias=True, activation="relu"),
                    iters=10, batch=64, lr=3e-4, eval_iters=0, **LECTURE),
    "bigram": dict(model=None, block_size=8, iters=5000, batch=32, lr=1e-2, eval_iters=200, **LECTURE),
    # GPT-2 124M (vocabulary 50257, T 1024, B 4 as MLNetGpt's GPU bench, whose activation arena must stay under 2^31 floats)
    # with nanoGPT's train_gpt2 recipe; trained on the characters (ids fit any vocabulary).
    "gpt2": dict(model=dict(block_size=1024, n_layer=12, n_head=12, n_embd=768, dropout=0.0, bias=True, activation="gelu"),
                 vocab_size=50257, iters=20, batch=4, lr=6e-4, min_lr=6e-5, warmup=10, decay_lr=True, weight_decay=0.1,
                 betas=(0.9, 0.95), grad_clip=1.0, eval_iters=0),
}


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="nanogpt-cpu", choices=sorted(CONFIGS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int)
    ap.add_argument("--eval-iters", type=int)
    ap.add_argument("--sample-tokens", type=int, default=500)
    ap.add_argument("--data", default=os.environ.get("MLNETGPT_DATA", ""))
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--warmup", type=int, default=0, help="untimed steps before the timed ones")
    ap.add_argument("--batch", type=int)
    a = ap.parse_args()
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    cfg = CONFIGS[a.config]
    torch.set_num_threads(a.threads)
    torch.manual_seed(1337)

    with open(a.data, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]
    del text

    if cfg["model"] is None:
        model = Bigram(len(chars))
        block = cfg["block_size"]
    else:
        model = GPT(GPTConfig(vocab_size=cfg.get("vocab_size", len(chars)), tie_weights=True, **cfg["model"]))
        block = cfg["model"]["block_size"]
    model.to(dev)
    iters = a.iters if a.iters is not None else cfg["iters"]
    eval_iters = a.eval_iters if a.eval_iters is not None else cfg["eval_iters"]
    batch, lr = (a.batch or cfg["batch"]), cfg["lr"]
    min_lr = cfg["min_lr"] if cfg["min_lr"] is not None else lr
    opt = configure_adamw(model, lr, cfg["weight_decay"], cfg["betas"])

    def get_batch(split):
        d = train_data if split == "train" else val_data
        ix = torch.randint(len(d) - block, (batch,))
        x = torch.stack([d[i:i + block] for i in ix])
        y = torch.stack([d[i + 1:i + 1 + block] for i in ix])
        return x.to(dev), y.to(dev)

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    model.train()
    t0 = time.perf_counter()
    for it in range(-a.warmup, iters):
        if it == 0:
            sync()
            t0 = time.perf_counter()
        cur = get_lr(max(it, 0), lr, min_lr, cfg["warmup"], iters) if cfg["decay_lr"] else lr
        for g in opt.param_groups:
            g["lr"] = cur
        x, y = get_batch("train")
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
    sync()
    train_seconds = time.perf_counter() - t0

    losses = {"train": None, "val": None}
    if eval_iters > 0:
        model.eval()
        with torch.no_grad():
            for split in ("train", "val"):
                losses[split] = sum(model(*get_batch(split))[1].item() for _ in range(eval_iters)) / eval_iters

    model.eval()
    idx = torch.zeros((1, 1), dtype=torch.long, device=dev)
    model.generate(idx, 20)  # warm up
    t1 = time.perf_counter()
    out = model.generate(idx, a.sample_tokens)
    sync()
    sample_seconds = time.perf_counter() - t1

    tokens = iters * batch * block
    print(json.dumps({
        "config": a.config, "impl": "pytorch", "device": a.device, "threads": a.threads, "iters": iters, "batch": batch,
        "warmup": a.warmup, "tf32": a.device == "cuda",
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 1048576, 1) if a.device == "cuda" else None,
        "params": sum(p.numel() for p in model.parameters()),
        "tokens_per_s": round(tokens / train_seconds, 1) if iters else 0,
        "ms_per_iter": round(train_seconds * 1000 / iters, 3) if iters else 0,
        "train_loss": None if losses["train"] is None else round(losses["train"], 4),
        "val_loss": None if losses["val"] is None else round(losses["val"], 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "sample_tokens_per_s": round((out.size(1) - 1) / sample_seconds, 1),
        "wall_s": round(train_seconds, 2),
        "torch": torch.__version__, "openblas_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "aten_capability": next((l.split(":")[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l), None),
        "openblas_core": openblas_core(),
    }))


def openblas_core():
    """The OpenBLAS kernel family the process runs (OPENBLAS_CORETYPE narrows it), or None without OpenBLAS."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except OSError:
        return None


if __name__ == "__main__":
    main()
