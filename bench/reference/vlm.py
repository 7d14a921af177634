"""The project's VLM (lib/ml/model.ts) ported to PyTorch op for op: the bench's yardstick.

Same weight names and layouts as lib/ml/model-config.ts paramShapes (a linear weight is [in, out]
and applied as x @ w; the token embedding is tied to the output head), so it loads the
model.safetensors that lib/ml/safetensors.ts writes and must compute the same numbers: the parity
test (test/unit/ml/torch-parity.test.ts) holds the loss and generation log-probs to 1e-5.

Deliberately plain: no nn.Module, no fused kernels (no scaled_dot_product_attention), the same
additive -1e9 causal mask and the same rotate-half RoPE as the TS code, so a difference in numbers
points at a difference in maths, not in library choices.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch


@dataclass
class Tower:
    dim: int
    layers: int
    heads: int
    mlp: int


@dataclass
class Config:
    size: str
    vocab_size: int
    image_size: int
    patch_size: int
    channels: int
    vision: Tower
    text: Tower
    max_seq: int
    rope_base: float
    norm_eps: float

    @staticmethod
    def from_json(c: dict) -> "Config":
        """From the `model` field of config.json (lib/ml/model-config.ts ModelConfig)."""
        return Config(
            size=c["size"], vocab_size=c["vocabSize"], image_size=c["imageSize"],
            patch_size=c["patchSize"], channels=c["channels"],
            vision=Tower(**c["vision"]), text=Tower(**c["text"]),
            max_seq=c["maxSeq"], rope_base=float(c["ropeBase"]), norm_eps=float(c["normEps"]),
        )

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


def param_shapes(c: Config) -> list[tuple[str, list[int]]]:
    """Every trainable tensor in the fixed order of model-config.ts paramShapes."""
    def blocks(prefix: str, t: Tower):
        out = []
        for layer in range(t.layers):
            p = f"{prefix}.{layer}"
            out += [(f"{p}.norm1", [t.dim]), (f"{p}.wqkv", [t.dim, 3 * t.dim]), (f"{p}.wo", [t.dim, t.dim]),
                    (f"{p}.norm2", [t.dim]), (f"{p}.w13", [t.dim, 2 * t.mlp]), (f"{p}.w2", [t.mlp, t.dim])]
        return out
    patch_in = c.patch_size * c.patch_size * c.channels
    return [
        ("vision.patch.w", [patch_in, c.vision.dim]), ("vision.patch.b", [c.vision.dim]),
        ("vision.pos", [c.patches, c.vision.dim]),
        *blocks("vision.block", c.vision),
        ("vision.norm", [c.vision.dim]),
        ("proj.w1", [c.vision.dim, c.text.dim]), ("proj.w2", [c.text.dim, c.text.dim]),
        ("text.embed", [c.vocab_size, c.text.dim]),
        *blocks("text.block", c.text),
        ("text.norm", [c.text.dim]),
    ]


def rms_norm(x: torch.Tensor, g: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + eps) * g


def swiglu(x: torch.Tensor, w13: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    gate, up = torch.chunk(x @ w13, 2, dim=-1)
    return (gate * torch.sigmoid(gate) * up) @ w2


_tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def rope_tables(offset: int, length: int, hd: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [length, hd] for positions offset..offset+length-1, computed in float64 and rounded
    to float32 as the TS code does (Math.cos into a Float32Array); halves repeat."""
    key = (offset, length, hd, base)
    hit = _tables.get(key)
    if hit is None:
        half = hd // 2
        pos = torch.arange(offset, offset + length, dtype=torch.float64)
        # TS computes (offset + p) / base^(2i/hd): a division, kept so the angles round the same way.
        denom = torch.tensor([math.pow(base, (2 * i) / hd) for i in range(half)], dtype=torch.float64)
        angle = pos[:, None] / denom[None, :]
        angle = torch.cat([angle, angle], dim=-1)
        hit = (torch.cos(angle).float(), torch.sin(angle).float())
        _tables[key] = hit
    return hit


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def causal_mask(t: int, s: int, offset: int) -> torch.Tensor:
    """Additive [t, s]: query i (absolute position offset+i) sees keys 0..offset+i; -1e9 elsewhere."""
    i = torch.arange(t)[:, None]
    j = torch.arange(s)[None, :]
    return torch.where(j > offset + i, torch.tensor(-1e9), torch.tensor(0.0))


class Vlm:
    """Weights by name (float32 tensors); the forward passes of lib/ml/model.ts."""

    def __init__(self, config: Config, params: dict[str, torch.Tensor]):
        self.config = config
        self.params = params

    @staticmethod
    def load(model_dir: str) -> "Vlm":
        """A model artifact dir: config.json (`model` field) and model.safetensors."""
        from safetensors.torch import load_file
        with open(os.path.join(model_dir, "config.json"), encoding="utf8") as f:
            config = Config.from_json(json.load(f)["model"])
        tensors = load_file(os.path.join(model_dir, "model.safetensors"))
        params = {}
        for name, shape in param_shapes(config):
            if name not in tensors:
                raise ValueError(f"{model_dir}/model.safetensors lacks parameter {name}")
            t = tensors[name]
            if list(t.shape) != shape:
                raise ValueError(f"parameter {name}: shape {list(t.shape)} differs from {shape}")
            params[name] = t.float().contiguous()
        return Vlm(config, params)

    def p(self, name: str) -> torch.Tensor:
        return self.params[name]

    def trainable(self) -> list[torch.Tensor]:
        return [self.params[n] for n, _ in param_shapes(self.config)]

    def requires_grad_(self, on: bool = True) -> "Vlm":
        for t in self.params.values():
            t.requires_grad_(on)
        return self

    # --- blocks -----------------------------------------------------------------------------
    def attention(self, x: torch.Tensor, prefix: str, heads: int, causal: bool, offset: int,
                  cache: tuple[torch.Tensor, torch.Tensor] | None = None):
        B, T, d = x.shape
        hd = d // heads
        q, k, v = torch.chunk(x @ self.p(f"{prefix}.wqkv"), 3, dim=-1)
        q, k, v = (z.reshape(B, T, heads, hd).transpose(1, 2) for z in (q, k, v))
        if causal:  # the decoder: RoPE at absolute positions offset..offset+T-1
            cos, sin = rope_tables(offset, T, hd, self.config.rope_base)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        S = k.shape[2]
        scores = (q * (1 / math.sqrt(hd))) @ k.transpose(-1, -2)
        if causal and not (T == 1 and S == offset + 1):
            scores = scores + causal_mask(T, S, offset)
        ctx = torch.softmax(scores, dim=-1) @ v
        y = ctx.transpose(1, 2).reshape(B, T, d) @ self.p(f"{prefix}.wo")
        return y, (k, v)

    def block(self, prefix: str, heads: int, x: torch.Tensor, causal: bool, offset: int, cache=None):
        eps = self.config.norm_eps
        a, kv = self.attention(rms_norm(x, self.p(f"{prefix}.norm1"), eps), prefix, heads, causal, offset, cache)
        h = x + a
        y = h + swiglu(rms_norm(h, self.p(f"{prefix}.norm2"), eps), self.p(f"{prefix}.w13"), self.p(f"{prefix}.w2"))
        return y, kv

    # --- model ------------------------------------------------------------------------------
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """[B, S, S, 3] uint8 0..255 or float 0..1 → image embeddings [B, P, d_text]."""
        c = self.config
        B, S = images.shape[0], images.shape[1]
        if S != c.image_size:
            raise ValueError(f"image size {S} differs from the model's {c.image_size}")
        g, ps = S // c.patch_size, c.patch_size
        x0 = images if images.dtype == torch.float32 else images.float() / 255
        patches = (x0 - 0.5).reshape(B, g, ps, g, ps, c.channels).permute(0, 1, 3, 2, 4, 5) \
            .reshape(B, c.patches, ps * ps * c.channels)
        x = patches @ self.p("vision.patch.w") + self.p("vision.patch.b") + self.p("vision.pos")
        for layer in range(c.vision.layers):
            x, _ = self.block(f"vision.block.{layer}", c.vision.heads, x, False, 0)
        x = rms_norm(x, self.p("vision.norm"), c.norm_eps)
        h = x @ self.p("proj.w1")
        return (h * torch.sigmoid(h)) @ self.p("proj.w2")

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.p("text.embed")[tokens]

    def decode(self, x: torch.Tensor, offset: int, cache: list | None = None):
        c = self.config
        layers = []
        for layer in range(c.text.layers):
            x, kv = self.block(f"text.block.{layer}", c.text.heads, x, True, offset, cache[layer] if cache else None)
            layers.append(kv)
        return rms_norm(x, self.p("text.norm"), c.norm_eps), layers

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.p("text.embed").t()

    def text_logits(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, V] at every text position (no cache)."""
        P = self.config.patches
        x = torch.cat([self.encode_images(images), self.embed(tokens)], dim=1)
        h, _ = self.decode(x, 0)
        return self.head(h[:, P:])

    def completion_log_probs(self, images: torch.Tensor, prompts: list[list[int]], completions: list[list[int]]):
        """Per-token log-probs of each completion after its prompt, [B, L], and the mask [B, L]
        (model.ts completionLogProbs: right-padded with 0, column j = completion token j)."""
        B = len(prompts)
        T = max(len(p) + len(c) for p, c in zip(prompts, completions))
        L = max(1, *(len(c) for c in completions))
        tokens = torch.zeros(B, T, dtype=torch.long)
        rows, cols, js = [], [], []
        mask = torch.zeros(B, L)
        for i, (p, c) in enumerate(zip(prompts, completions)):
            tokens[i, : len(p) + len(c)] = torch.tensor(p + c, dtype=torch.long)
            for j in range(len(c)):
                rows.append(i)
                cols.append(len(p) + j - 1)
                js.append(j)
                mask[i, j] = 1
        logp = torch.log_softmax(self.text_logits(images, tokens)[:, : T - 1], dim=-1)
        token_lp = torch.gather(logp, 2, tokens[:, 1:, None])[..., 0]  # [B, T-1]
        out = torch.zeros(B, L)
        if rows:
            out = out.index_put((torch.tensor(rows), torch.tensor(js)), token_lp[torch.tensor(rows), torch.tensor(cols)])
        return out, mask

    def masked_nll(self, images, prompts, completions) -> torch.Tensor:
        """Mean NLL over completion tokens (lib/ml/train-loop.ts maskedNll)."""
        lp, mask = self.completion_log_probs(images, prompts, completions)
        return -(lp * mask).sum() / torch.clamp(mask.sum(), min=1)

    # --- decoding with the KV cache (lib/ml/sampling.ts, greedy) -----------------------------
    @torch.inference_mode()
    def prefill(self, images: torch.Tensor, prompts: torch.Tensor):
        x = torch.cat([self.encode_images(images), self.embed(prompts)], dim=1)
        h, layers = self.decode(x, 0)
        return self.head(h[:, -1]), layers, x.shape[1]

    @torch.inference_mode()
    def decode_step(self, tokens: torch.Tensor, cache: list, length: int):
        h, layers = self.decode(self.embed(tokens[:, None]), length, cache)
        return self.head(h[:, -1]), layers, length + 1

    @torch.inference_mode()
    def generate_greedy(self, images: torch.Tensor, prompts: list[list[int]], max_new: int, eos: int,
                        forced: list[list[int]] | None = None):
        """Greedy decoding of equal-length prompts with the KV cache. Returns tokens and their
        log-probs (temperature 1, in float64 from float32 logits like sampling.ts pickToken).
        With `forced`, feeds those tokens instead of the argmax and scores them (teacher forcing
        through the same cached path), so a near-tie cannot make the comparison diverge."""
        B = len(prompts)
        logits, cache, length = self.prefill(images, torch.tensor(prompts, dtype=torch.long))
        tokens: list[list[int]] = [[] for _ in range(B)]
        logprobs: list[list[float]] = [[] for _ in range(B)]
        done = [False] * B
        for t in range(max_new):
            picks = [row[t] if t < len(row) else eos for row in forced] if forced is not None \
                else torch.argmax(logits, dim=-1).tolist()
            picked = torch.log_softmax(logits.double(), dim=-1)[torch.arange(B), torch.tensor(picks)].tolist()
            nxt = []
            for i in range(B):
                if done[i]:
                    nxt.append(eos)
                    continue
                tok = picks[i]
                tokens[i].append(tok)
                logprobs[i].append(picked[i])
                if tok == eos or (forced is not None and t + 1 >= len(forced[i])):
                    done[i] = True
                nxt.append(tok)
            if all(done) or t + 1 == max_new:
                break
            logits, cache, length = self.decode_step(torch.tensor(nxt, dtype=torch.long), cache, length)
        return tokens, logprobs


def adamw_for(model: Vlm, weight_decay: float) -> torch.optim.AdamW:
    """lib/ml/optimizer.ts AdamW: PyTorch's order, decay on matrices only."""
    mats = [t for t in model.trainable() if t.dim() >= 2]
    rest = [t for t in model.trainable() if t.dim() < 2]
    return torch.optim.AdamW([{"params": mats, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             betas=(0.9, 0.999), eps=1e-8)


def train_step(model: Vlm, opt: torch.optim.Optimizer, images, prompts, completions, lr: float, clip: float) -> float:
    """One optimizer step as lib/ml/train-loop.ts trainStep: loss, backward, global-norm clip
    (scale max/(norm+1e-6) above the bound), AdamW. Returns the loss before the update."""
    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss = model.masked_nll(images, prompts, completions)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.trainable(), clip)
    opt.step()
    return float(loss.detach())
