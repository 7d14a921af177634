"""Command line of the PyTorch yardstick; speaks JSON on stdout (one object per line).

  run.py parity <dir>      loss, completion log-probs, gradient norm and greedy KV-cache generation
                           of the model in <dir> (config.json + model.safetensors) on the batch in
                           <dir>/batch.json + <dir>/images.f32; used by test/unit/ml/torch-parity.test.ts
  run.py serve             JSON lines on stdin → JSON lines on stdout, for bench/ml.ts, which
                           interleaves its own steps with these: ops load, train, generate
  run.py matmul <threads>  float32 matmul GFLOP/s of numpy and torch at that many threads (run it in a
                           fresh process with OPENBLAS_NUM_THREADS/OMP_NUM_THREADS set: numpy's BLAS
                           reads its thread count once, at import)

Times are per repetition in milliseconds, wall (perf_counter) and CPU of this whole process
(process_time, all threads), so the bench can compare per CPU-second like its own figures.
Errors: {"error": message} on stdout and exit status 1.
"""
from __future__ import annotations

import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vlm import Vlm, adamw_for, train_step  # noqa: E402

torch.set_num_interop_threads(1)


def emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def read_images(path: str, n: int, size: int) -> torch.Tensor:
    """Raw little-endian float32 [n, size, size, 3] in 0..1 (written by the TS side)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    expected = n * size * size * 3 * 4
    if len(data) != expected:
        raise ValueError(f"{path}: {len(data)} bytes, expected {expected} for {n} images of {size}x{size}x3")
    return torch.frombuffer(data, dtype=torch.float32).reshape(n, size, size, 3).clone()


def timed(f):
    c0, t0 = time.process_time(), time.perf_counter()
    out = f()
    return out, {"wall": (time.perf_counter() - t0) * 1000, "cpu": (time.process_time() - c0) * 1000}


def parity(d: str) -> dict:
    torch.set_num_threads(1)
    with open(os.path.join(d, "batch.json"), encoding="utf8") as f:
        b = json.load(f)
    model = Vlm.load(d)
    images = read_images(os.path.join(d, "images.f32"), len(b["prompts"]), model.config.image_size)
    model.requires_grad_(True)
    loss = model.masked_nll(images, b["prompts"], b["completions"])
    loss.backward()
    grad_norm = torch.sqrt(sum((t.grad.double() ** 2).sum() for t in model.trainable()))
    model.requires_grad_(False)
    with torch.no_grad():
        lp, mask = model.completion_log_probs(images, b["prompts"], b["completions"])
    g = b["generate"]
    gen_images = images[: len(g["prompts"])]
    tokens, logprobs = model.generate_greedy(gen_images, g["prompts"], g["maxNewTokens"], g["eos"])
    _, forced = model.generate_greedy(gen_images, g["prompts"], g["maxNewTokens"], g["eos"], forced=g["forced"])
    return {
        "torch": torch.__version__, "loss": float(loss.detach()), "gradNorm": float(grad_norm),
        "logProbs": lp.tolist(), "mask": mask.tolist(),
        "generation": {"tokens": tokens, "logProbs": logprobs, "forcedLogProbs": forced},
    }


class Server:
    """State of `serve`: one model with its optimizer and the image set of the bench."""

    def __init__(self):
        self.model: Vlm | None = None
        self.opt = None
        self.images: torch.Tensor | None = None

    def load(self, r: dict) -> dict:
        self.model = Vlm.load(r["modelDir"]).requires_grad_(True)
        self.opt = adamw_for(self.model, r.get("weightDecay", 0.01))
        self.images = read_images(r["images"], r["count"], self.model.config.image_size)
        return {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}

    def train(self, r: dict) -> dict:
        """Times full optimizer steps (image batch, loss, backward, clip, AdamW), one per batch."""
        torch.set_num_threads(r["threads"])
        times, losses = [], []
        for batch in r["batches"]:
            def step():
                images = self.images[torch.tensor(batch["indices"])]
                return train_step(self.model, self.opt, images, batch["prompts"], batch["completions"], r.get("lr", 1e-3), r.get("clip", 1.0))
            loss, t = timed(step)
            times.append(t)
            losses.append(loss)
        return {"times": times, "losses": losses}

    def generate(self, r: dict) -> dict:
        """Times greedy KV-cache generation of `newTokens` for each prompt (eos never matches)."""
        torch.set_num_threads(r["threads"])
        images = self.images[torch.tensor(r["indices"])]
        times = []
        for _ in range(r["reps"]):
            (tokens, _), t = timed(lambda: self.model.generate_greedy(images, r["prompts"], r["newTokens"], -1))
            if any(len(row) != r["newTokens"] for row in tokens):
                raise RuntimeError("generation stopped early")
            times.append(t)
        return {"times": times}


def serve() -> None:
    s = Server()
    ops = {"load": s.load, "train": s.train, "generate": s.generate}
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        op = ops.get(r.get("op"))
        if op is None:
            emit({"error": f"unknown op {r.get('op')!r}; use one of {', '.join(ops)}"})
            continue
        try:
            emit(op(r))
        except Exception as e:  # reported to the bench, which stops with the message
            emit({"error": f"{type(e).__name__}: {e}"})


def matmul(threads: int) -> dict:
    """GFLOP/s of a float32 n×n matmul (n = 1024, best of reps): the machine's practical limit, per
    wall second and per CPU second of the process (the latter approximates idle cores when the
    machine is shared: divide by `threads` for a per-core figure)."""
    import numpy as np
    torch.set_num_threads(threads)
    n, reps = 1024, 15
    flops = 2 * n ** 3
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)

    def best(f):
        f()
        ts = [timed(f)[1] for _ in range(reps)]
        return {"wall": round(flops / min(t["wall"] for t in ts) / 1e6, 1), "cpu": round(flops / min(t["cpu"] for t in ts) / 1e6, 1)}
    return {"threads": threads, "n": n, "numpyGflops": best(lambda: np.matmul(a, b)), "torchGflops": best(lambda: ta @ tb),
            "numpy": np.__version__, "torch": torch.__version__}


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "parity":
            emit(parity(argv[1]))
        elif argv == ["serve"]:
            serve()
        elif len(argv) == 2 and argv[0] == "matmul":
            emit(matmul(int(argv[1])))
        else:
            emit({"error": "usage: run.py parity <dir> | serve | matmul <threads>"})
            return 2
    except Exception as e:
        emit({"error": f"{type(e).__name__}: {e}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
