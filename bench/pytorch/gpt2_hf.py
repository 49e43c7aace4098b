# GPT-2 in Hugging Face's checkpoint layout (GPT2LMHeadModel: Conv1D weights stored [in, out], tied lm_head), the forward
# pass with a past_key_values-style KV cache, and a safetensors writer for F32/F16/BF16. No transformers library needed.
# Shared by make_gpt2_fixture.py (reference values for the C# import tests) and gpt2_generate_ref.py (the speed benchmark).
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def gpt2_config(n_layer, n_head, n_embd, n_positions, vocab_size, layer_norm_epsilon=1e-5):
    """A config.json as transformers' GPT2Config.to_dict() writes it for GPT2LMHeadModel (the keys a loader reads)."""
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
        "layer_norm_epsilon": layer_norm_epsilon, "model_type": "gpt2", "n_ctx": n_positions, "n_embd": n_embd,
        "n_head": n_head, "n_inner": None, "n_layer": n_layer, "n_positions": n_positions, "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True, "tie_word_embeddings": True, "torch_dtype": "float32",
        "use_cache": True, "vocab_size": vocab_size,
    }


def random_state_dict(cfg, seed, std=0.02):
    """Random GPT-2 weights in HF's names and orientation (no 'transformer.' prefix, no lm_head: tied to wte).
    Matrices N(0, std) (residual projections scaled by 1/sqrt(2 n_layer), as GPT-2's init), LayerNorm weights 1 + N(0, 0.1),
    biases N(0, 0.05): every parameter matters, and the model is not symmetric in any of them."""
    g = torch.Generator().manual_seed(seed)
    C, V, P, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]
    rnd = lambda *shape, s=std: torch.randn(*shape, generator=g) * s  # noqa: E731
    sd = {"wte.weight": rnd(V, C), "wpe.weight": rnd(P, C)}
    proj_std = std / math.sqrt(2 * L)
    for l in range(L):
        p = f"h.{l}."
        sd[p + "ln_1.weight"] = 1 + rnd(C, s=0.1)
        sd[p + "ln_1.bias"] = rnd(C, s=0.05)
        sd[p + "attn.c_attn.weight"] = rnd(C, 3 * C)  # Conv1D: [in, out]
        sd[p + "attn.c_attn.bias"] = rnd(3 * C, s=0.05)
        sd[p + "attn.c_proj.weight"] = rnd(C, C, s=proj_std)
        sd[p + "attn.c_proj.bias"] = rnd(C, s=0.05)
        sd[p + "ln_2.weight"] = 1 + rnd(C, s=0.1)
        sd[p + "ln_2.bias"] = rnd(C, s=0.05)
        sd[p + "mlp.c_fc.weight"] = rnd(C, 4 * C)
        sd[p + "mlp.c_fc.bias"] = rnd(4 * C, s=0.05)
        sd[p + "mlp.c_proj.weight"] = rnd(4 * C, C, s=proj_std)
        sd[p + "mlp.c_proj.bias"] = rnd(C, s=0.05)
    sd["ln_f.weight"] = 1 + rnd(C, s=0.1)
    sd["ln_f.bias"] = rnd(C, s=0.05)
    return sd


def gelu_new(x):
    """GPT-2's GELU (transformers' NewGELUActivation): the tanh approximation."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Gpt2:
    """GPT2LMHeadModel's eval-mode forward over a state dict in HF's layout (keys without the 'transformer.' prefix).
    Conv1D(x) = x @ W + b with W [in, out], as transformers.pytorch_utils.Conv1D computes it (torch.addmm)."""

    def __init__(self, cfg, sd):
        self.cfg = cfg
        self.sd = {k: v.float() for k, v in sd.items()}
        self.eps = cfg["layer_norm_epsilon"]

    def conv1d(self, x, name):
        shape = x.shape[:-1] + (self.sd[name + ".weight"].shape[1],)
        return torch.addmm(self.sd[name + ".bias"], x.reshape(-1, x.shape[-1]), self.sd[name + ".weight"]).view(shape)

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.sd[name + ".weight"], self.sd[name + ".bias"], self.eps)

    @torch.no_grad()
    def forward(self, idx, past=None):
        """idx [B, T] -> logits [B, T, V] and the new past: per layer (keys, values) [B, NH, T_past + T, hs]."""
        B, T = idx.shape
        NH, C = self.cfg["n_head"], self.cfg["n_embd"]
        hs = C // NH
        t0 = 0 if past is None else past[0][0].shape[2]
        x = self.sd["wte.weight"][idx] + self.sd["wpe.weight"][torch.arange(t0, t0 + T)]
        presents = []
        for l in range(self.cfg["n_layer"]):
            p = f"h.{l}."
            q, k, v = self.conv1d(self.ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=2)
            q, k, v = (z.view(B, T, NH, hs).transpose(1, 2) for z in (q, k, v))
            if past is not None:
                k = torch.cat([past[l][0], k], dim=2)
                v = torch.cat([past[l][1], v], dim=2)
            presents.append((k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
            if T > 1:  # causal mask over the new positions (the cached ones are all visible)
                mask = torch.ones(T, t0 + T, dtype=torch.bool).tril(diagonal=t0)
                att = att.masked_fill(~mask, float("-inf"))
            y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
            x = x + self.conv1d(y, p + "attn.c_proj")
            x = x + self.conv1d(gelu_new(self.conv1d(self.ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        head = self.sd["lm_head.weight"] if "lm_head.weight" in self.sd else self.sd["wte.weight"]
        return self.ln(x, "ln_f") @ head.t(), presents

    @torch.no_grad()
    def greedy(self, prompt, new_tokens):
        """Greedy decoding with the KV cache: the prompt in one pass, then one token per pass."""
        logits, past = self.forward(torch.tensor([prompt]))
        out = []
        for _ in range(new_tokens):
            tok = int(logits[0, -1].argmax())
            out.append(tok)
            logits, past = self.forward(torch.tensor([[tok]]), past)
        return out


def tensor_bytes(t):
    """Little-endian bytes of a tensor in its own dtype (bfloat16 through its int16 bit pattern)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format by hand: u64 little-endian header length, JSON header padded with spaces to 8 bytes, then
    each tensor's raw little-endian bytes in order."""
    header = {} if metadata is None else {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def write_config(folder, cfg):
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
