# Writes the tiny Hugging Face GPT-2 checkpoints the import tests read (tests/MLNetGpt.Models.Tests/fixtures/gpt2-tiny/),
# and the reference logits and greedy tokens of the PyTorch GPT-2 forward (gpt2_hf.py) on exactly those weights.
# Run: /usr/bin/python3 bench/pytorch/make_gpt2_fixture.py   (Debian's python3-torch; deterministic: same bytes every run)
#
# Three folders hold the same random weights (GPT-2 layout, Conv1D [in, out], a vocabulary of 80 so that it stays small):
#   f32/          model.safetensors, F32, "transformer." prefix, the attn.bias / attn.masked_bias buffers old checkpoints
#                 carry, and an lm_head.weight equal to wte (as save_pretrained wrote it before tied weights were dropped)
#   f16-sharded/  model.safetensors.index.json + two shards, F16, no prefix, no lm_head (tied)
#   bf16/         model.safetensors, BF16, "transformer." prefix, no lm_head
# reference.safetensors: tokens [2,16] (as floats), the logits [2,16,80] of each folder's weights (the F16 and BF16 ones are
# computed from the rounded weights, in float32), a prompt [5] and the 24 greedy tokens after it for each folder.
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_hf import Gpt2, gpt2_config, random_state_dict, write_config, write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "MLNetGpt.Models.Tests", "fixtures", "gpt2-tiny")
CFG = gpt2_config(n_layer=2, n_head=4, n_embd=32, n_positions=40, vocab_size=80)


def folder(name):
    path = os.path.join(OUT, name)
    os.makedirs(path, exist_ok=True)
    write_config(path, CFG)
    return path


def main():
    torch.manual_seed(0)
    sd = random_state_dict(CFG, seed=2025, std=0.3)  # large enough that greedy decoding does not repeat one token
    g = torch.Generator().manual_seed(7)
    tokens = torch.randint(0, CFG["vocab_size"], (2, 16), generator=g)
    prompt = torch.randint(0, CFG["vocab_size"], (5,), generator=g).tolist()

    reference = {"tokens": tokens.float(), "prompt": torch.tensor(prompt, dtype=torch.float32)}
    for name, dtype in (("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16)):
        weights = {k: v.to(dtype) for k, v in sd.items()}
        model = Gpt2(CFG, weights)  # computes in float32 from the rounded weights
        logits, _ = model.forward(tokens)
        reference[f"logits.{name}"] = logits
        greedy = model.greedy(prompt, 24)
        reference[f"greedy.{name}"] = torch.tensor(greedy, dtype=torch.float32)
        # Every greedy choice must win by a clear margin, so that float rounding cannot flip it in another implementation.
        full, _ = model.forward(torch.tensor([prompt + greedy[:-1]]))
        top2 = full[0, len(prompt) - 1:].topk(2, dim=-1).values
        margin = float((top2[:, 0] - top2[:, 1]).min())
        assert margin > 1e-3, f"{name}: a greedy choice wins by only {margin}"
        print(f"{name}: greedy {greedy}, smallest margin {margin:.4f}")

    P = CFG["n_positions"]
    f32 = {}
    for k, v in sd.items():
        f32["transformer." + k] = v
        if k.endswith("ln_1.bias"):  # the buffers of transformers < 4.31: the causal mask and the masked score
            layer = k[: -len("ln_1.bias")]
            f32["transformer." + layer + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
            f32["transformer." + layer + "attn.masked_bias"] = torch.tensor(-1e4)
    f32["lm_head.weight"] = sd["wte.weight"].clone()
    write_safetensors(os.path.join(folder("f32"), "model.safetensors"), f32, {"format": "pt"})

    half = {k: v.half() for k, v in sd.items()}
    names = list(half)
    shards = [names[: len(names) // 2], names[len(names) // 2:]]
    shard_dir = folder("f16-sharded")
    weight_map = {}
    total = 0
    for i, part in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(shard_dir, file), {k: half[k] for k in part}, {"format": "pt"})
        for k in part:
            weight_map[k] = file
            total += half[k].numel() * 2
    with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")

    bf16 = {"transformer." + k: v.to(torch.bfloat16) for k, v in sd.items()}
    write_safetensors(os.path.join(folder("bf16"), "model.safetensors"), bf16, {"format": "pt"})

    write_safetensors(os.path.join(OUT, "reference.safetensors"), reference,
                      {"source": "bench/pytorch/make_gpt2_fixture.py, torch " + torch.__version__})
    for root, _, files in os.walk(OUT):
        for f in sorted(files):
            p = os.path.join(root, f)
            print(f"{os.path.relpath(p, OUT)}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
