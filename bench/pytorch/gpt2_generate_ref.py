# PyTorch side of the GPT-2 generation benchmark (bench/gpt2-generate): greedy decoding, batch 1, with a past_key_values-
# style KV cache (the prompt in one forward pass, then one pass per new token over the cached keys and values), on a Hugging
# Face GPT-2 folder. Prints one JSON line. --write instead writes random GPT-2 124M weights (12 layers, 768 channels, 12
# heads, 1024 positions, vocabulary 50257; fixed seed) as config.json + model.safetensors into the folder, for both sides.
#   /usr/bin/python3 bench/pytorch/gpt2_generate_ref.py --folder /tmp/gpt2-random --write
#   /usr/bin/python3 bench/pytorch/gpt2_generate_ref.py --folder /tmp/gpt2-random --threads 1 --blas-threads 1
# Threads: --threads is PyTorch's intra-op pool (torch.set_num_threads); --blas-threads is Debian's pthread OpenBLAS pool,
# which runs every matrix product (torch's BLAS here is OpenBLAS) and is sized before torch is imported. On two cores,
# one torch thread with two OpenBLAS threads is PyTorch's fastest setting for this loop; both pools at 2 oversubscribe.
import argparse
import json
import os
import resource
import sys
import time


def _early_arg(name, default):
    """An option's value before argparse runs: the thread pools are sized when torch loads."""
    argv = sys.argv[1:]
    return argv[argv.index(name) + 1] if name in argv[:-1] else default


os.environ["OPENBLAS_NUM_THREADS"] = _early_arg("--blas-threads", "1")
os.environ["OMP_NUM_THREADS"] = _early_arg("--threads", "1")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_hf import Gpt2, gpt2_config, random_state_dict, write_config, write_safetensors  # noqa: E402

PROMPT = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 198, 464, 2068, 7586, 21831]  # 16 GPT-2 ids


def read_safetensors(path):
    """The tensors of a safetensors file (F32, F16 or BF16) as float32 torch tensors, read one at a time."""
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    out = {}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        start = 8 + n
        for name, t in header.items():
            if name == "__metadata__" or t["dtype"] not in dtypes:
                continue
            b, e = t["data_offsets"]
            f.seek(start + b)
            raw = bytearray(f.read(e - b))
            out[name] = torch.frombuffer(raw, dtype=dtypes[t["dtype"]]).reshape(t["shape"]).float() if e > b else torch.zeros(t["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", required=True)
    ap.add_argument("--write", action="store_true", help="write random GPT-2 124M weights into the folder first")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--blas-threads", type=int, default=1, help="OPENBLAS_NUM_THREADS")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    if args.write:
        os.makedirs(args.folder, exist_ok=True)
        cfg = gpt2_config(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
        sd = random_state_dict(cfg, seed=124)
        write_safetensors(os.path.join(args.folder, "model.safetensors"), {"transformer." + k: v for k, v in sd.items()}, {"format": "pt"})
        write_config(args.folder, cfg)
        print(f"wrote random GPT-2 124M weights to {args.folder}", file=sys.stderr)
        return

    torch.set_num_threads(args.threads)
    with open(os.path.join(args.folder, "config.json")) as f:
        cfg = json.load(f)
    sd = {k[len("transformer."):] if k.startswith("transformer.") else k: v
          for k, v in read_safetensors(os.path.join(args.folder, "model.safetensors")).items()}
    model = Gpt2(cfg, sd)
    del sd

    model.greedy(PROMPT, 32)  # warm-up
    best, tokens = float("inf"), None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        tokens = model.greedy(PROMPT, args.new_tokens)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({
        "side": "pytorch", "torch": torch.__version__, "threads": args.threads, "blas_threads": args.blas_threads,
        "prompt_tokens": len(PROMPT),
        "new_tokens": args.new_tokens, "seconds": round(best, 4), "tokens_per_s": round(args.new_tokens / best, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "first_tokens": tokens[:8],
    }))


if __name__ == "__main__":
    main()
