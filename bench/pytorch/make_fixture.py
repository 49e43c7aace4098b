# Writes small safetensors fixtures for MLNetGpt.Models.Tests: a tiny GPT's weights (our names, metadata our loader reads),
# a batch, and PyTorch's logits, loss, every gradient and the losses of a few AdamW steps.
# Run: /usr/bin/python3 bench/pytorch/make_fixture.py  (Debian's python3 has torch; writes tests/MLNetGpt.Models.Tests/fixtures/)
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt import GPT, GPTConfig, configure_adamw  # noqa: E402
import gpt2_hf  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "MLNetGpt.Models.Tests", "fixtures")


def write_safetensors(path, tensors, metadata):
    """F32 safetensors with our metadata (gpt2_hf's writer, every tensor as float32)."""
    gpt2_hf.write_safetensors(path, {n: t.detach().to(torch.float32) for n, t in tensors.items()}, metadata)


def make(name, cfg, seed):
    torch.manual_seed(seed)
    model = GPT(cfg)
    # Perturb the GPT-2 init so that every parameter matters and gradients are far from zero.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "ln_" in pname and pname.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    B, T = 3, 6  # T < block_size: the position table is sliced
    idx = torch.randint(0, cfg.vocab_size, (B, T))
    targets = torch.randint(0, cfg.vocab_size, (B, T))
    targets[1, 2] = -1  # ignored target
    weights = {k: v.clone() for k, v in model.named_parameters()}

    model.train()
    logits, loss = model(idx, targets)
    loss.backward()
    grads = {k: v.grad.clone() for k, v in model.named_parameters()}

    # A few AdamW steps with clipping on the same batch (the C# test replays them through its trainer's math).
    model.zero_grad(set_to_none=True)
    opt = configure_adamw(model, lr=1e-2, weight_decay=0.1, betas=(0.9, 0.99))
    losses = []
    for _ in range(6):
        _, l = model(idx, targets)
        losses.append(l.item())
        opt.zero_grad(set_to_none=True)
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    config = {"kind": "gpt", "vocab_size": cfg.vocab_size, "block_size": cfg.block_size, "n_layer": cfg.n_layer,
              "n_head": cfg.n_head, "n_embd": cfg.n_embd, "dropout": cfg.dropout, "bias": cfg.bias,
              "activation": cfg.activation, "tie_weights": cfg.tie_weights}
    tensors = dict(weights)
    tensors["fixture.inputs"] = idx.float()
    tensors["fixture.targets"] = targets.float()
    tensors["expected.logits"] = logits.detach()
    tensors["expected.loss"] = loss.detach().reshape(1)
    tensors["expected.adamw_losses"] = torch.tensor(losses)
    for k, g in grads.items():
        tensors["grad." + k] = g
    meta = {"format": "mlnetgpt-weights", "format_version": "1", "config": json.dumps(config),
            "source": "bench/pytorch/make_fixture.py, torch " + torch.__version__}
    path = os.path.join(OUT, name)
    write_safetensors(path, tensors, meta)
    print(f"{path}: {os.path.getsize(path)} bytes, loss {loss.item():.6f}, adamw losses {[round(x, 5) for x in losses]}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make("gpt_gelu_bias_tied.safetensors",
         GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, bias=True, activation="gelu", tie_weights=True), 1234)
    make("gpt_relu_nobias_untied.safetensors",
         GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=4, n_embd=16, bias=False, activation="relu", tie_weights=False), 4321)
