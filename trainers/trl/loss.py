# The GRPO loss in plain PyTorch, the same function as lib/ml/grpo/loss.ts and TRL's `grpo` loss type
# (tests/test_loss_parity.py checks all three on shared vectors). The trainer uses TRL's own
# implementation; this copy exists for scripts/gpu-check, which must run where TRL is not installed.
#   ratio = exp(logp − old); obj = min(ratio·A, clip(ratio, 1 − low, 1 + high)·A)
#   kl = exp(ref − logp) − (ref − logp) − 1; loss = mean_i(Σ_t mask·(−obj + β·kl) / Σ_t mask)
import torch


def grpo_loss(logp, old, ref, advantages, mask, clip_low: float, clip_high: float, beta: float) -> dict:
    adv = advantages.unsqueeze(1)
    ratio = torch.exp(logp - old)
    per_token = -torch.min(ratio * adv, torch.clamp(ratio, 1 - clip_low, 1 + clip_high) * adv)
    d = ref - logp
    kl = torch.exp(d) - d - 1
    if beta != 0.0:
        per_token = per_token + beta * kl
    per_seq = mask.sum(-1).clamp(min=1.0)
    tokens = mask.sum().clamp(min=1.0)
    return {
        'loss': ((per_token * mask).sum(-1) / per_seq).mean(),
        'kl': ((kl * mask).sum(-1) / per_seq).mean(),
        'clipLowFrac': (((ratio < 1 - clip_low) & (adv < 0)).float() * mask).sum() / tokens,
        'clipHighFrac': (((ratio > 1 + clip_high) & (adv > 0)).float() * mask).sum() / tokens,
    }
