# What SFT and GRPO share around TRL's trainers: the protocol callback (progress per protocol step,
# NaN → DivergenceError, SIGTERM → stop at the step boundary, zero-advantage warnings, curves) and
# the checkpoint mixin that replaces HF's checkpointing (atomic, hashed, loaded back strictly).
# A protocol step is one GRPO rollout window (`num_iterations` optimizer steps on one generated
# batch) or one SFT optimizer step; checkpoints fall only on these boundaries, because resuming
# inside a window cannot be exact (the generated batch is not saved).
import json
import math
import os
import sys
import time

from transformers import TrainerCallback

from . import checkpoint
from .protocol import DIVERGENCE, TrainerError

PROTOCOL_STATE = 'protocol_state.json'
ZERO_ADV_WARN_AFTER = 3  # consecutive steps in which every group had equal rewards

# TRL/HF log names → our curve names (docs/CONTRACTS.md "model training.json").
METRIC_NAMES = {
    'loss': 'loss', 'learning_rate': 'lr', 'grad_norm': 'gradNorm', 'reward': 'reward.total',
    'frac_reward_zero_std': 'zeroAdvantageFrac', 'kl': 'kl', 'clip_ratio/low_mean': 'clipLowFrac',
    'clip_ratio/high_mean': 'clipHighFrac', 'entropy': 'entropy', 'completions/mean_length': 'completionLength',
    'mean_token_accuracy': 'tokenAccuracy', 'num_tokens': 'tokens',
}


def curve_metrics(logs: dict) -> dict:
    out = {}
    for k, v in logs.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if k in METRIC_NAMES:
            out[METRIC_NAMES[k]] = float(v)
        elif k.startswith('rewards/') and k.endswith('/mean'):
            name = k[len('rewards/'):-len('/mean')]
            out[f'reward.{name}'] = float(v)
            if name in ('format', 'accuracy'):
                out['formatRate' if name == 'format' else 'accuracy'] = float(v)
    return out


class ProtocolCallback(TrainerCallback):
    def __init__(self, emitter, stop, window: int, total: int, kind: str):
        self.emitter, self.stop, self.window, self.total, self.kind = emitter, stop, window, total, kind
        self.pending = []
        self.curves = {}
        self.zero_streak = 0
        self.t0 = time.perf_counter()

    def state(self) -> dict:
        return {'curves': self.curves, 'zeroStreak': self.zero_streak}

    def restore(self, state: dict) -> None:
        self.curves = state.get('curves', {})
        self.zero_streak = state.get('zeroStreak', 0)

    def on_step_end(self, args, state, control, **kwargs):
        # Before HF logs and saves this step: a stop here writes no checkpoint for it.
        self.stop.check(f'{self.kind} at optimizer step {state.global_step}')

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or 'train_runtime' in logs:
            return
        metrics = curve_metrics(logs)
        bad = {k: v for k, v in metrics.items() if not math.isfinite(v)}
        if bad:
            raise TrainerError(DIVERGENCE, f'{self.kind} diverged at optimizer step {state.global_step}: '
                               f'{bad}; lower lr or check the data; the weights are not published')
        self.pending.append(metrics)
        if state.global_step % self.window == 0:
            self._emit(state.global_step // self.window)

    def _emit(self, step: int) -> None:
        keys = sorted({k for m in self.pending for k in m})
        merged = {k: sum(m[k] for m in self.pending if k in m) / sum(1 for m in self.pending if k in m) for k in keys}
        merged['stepSeconds'] = time.perf_counter() - self.t0
        self.t0 = time.perf_counter()
        self.pending = []
        for k, v in merged.items():
            self.curves.setdefault(k, []).append([step, v])
        self.emitter.progress(step, self.total, merged)
        self._watch_zero_advantage(step, merged.get('zeroAdvantageFrac'))

    def _watch_zero_advantage(self, step: int, frac) -> None:
        # After a too-short SFT every reward was 0, every advantage 0, and GRPO changed nothing, silently.
        self.zero_streak = self.zero_streak + 1 if frac is not None and frac >= 1.0 else 0
        if self.zero_streak == ZERO_ADV_WARN_AFTER:
            self.emitter.warning('zero-advantage', f'{self.kind}: steps {step - ZERO_ADV_WARN_AFTER + 1}–{step}: every group '
                                 'had equal rewards, so every advantage was 0 and the weights did not move; '
                                 'train the SFT stage longer or raise temperature / groupSize')


class CheckpointMixin:
    """Put first in the bases of a TRL trainer; call setup_checkpoints() after construction."""

    def setup_checkpoints(self, work_dir: str, keep: int, window: int, emitter, callback: ProtocolCallback):
        self.ck_dir, self.ck_keep, self.ck_window = work_dir, keep, window
        self.ck_emitter, self.ck_callback = emitter, callback

    def _save_checkpoint(self, model, trial):
        assert self.state.global_step % self.ck_window == 0, 'checkpoint inside a rollout window'
        step = self.state.global_step // self.ck_window
        tmp = checkpoint.tmp_dir(self.ck_dir, step)
        checkpoint.save_weights(self.model, os.path.join(tmp, checkpoint.WEIGHTS))
        self._save_optimizer_and_scheduler(tmp)
        self._save_scaler(tmp)
        self._save_rng_state(tmp)
        self.state.save_to_json(os.path.join(tmp, 'trainer_state.json'))
        with open(os.path.join(tmp, PROTOCOL_STATE), 'w') as f:
            json.dump(self.ck_callback.state(), f)
        final = checkpoint.finalize(tmp)
        checkpoint.prune(self.ck_dir, self.ck_keep)
        self.ck_emitter.emit('checkpoint', step=step, dir=final)

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        n = checkpoint.load_weights_strict(model or self.model, os.path.join(resume_from_checkpoint, checkpoint.WEIGHTS))
        with open(os.path.join(resume_from_checkpoint, PROTOCOL_STATE)) as f:
            self.ck_callback.restore(json.load(f))
        print(f'[trl] resumed {n} tensors by name from {resume_from_checkpoint}', file=sys.stderr, flush=True)


def find_resume(work_dir: str, emitter):
    """The checkpoint to resume from (verified), or None for a fresh start."""
    os.makedirs(work_dir, exist_ok=True)
    found = checkpoint.latest_intact(work_dir, warn=emitter.warning)
    return None if found is None else found[1]


def base_args(job: dict, device: str, dtype: str) -> dict:
    """TrainingArguments both trainers share: seeded, quiet, our checkpointing, no hub, no reporting."""
    return dict(output_dir=os.path.join(job['workDir'], 'hf'), seed=job.get('seed', 0), data_seed=job.get('seed', 0),
                logging_steps=1, save_strategy='steps', report_to='none', disable_tqdm=True,
                use_cpu=device == 'cpu', bf16=dtype == 'bfloat16', dataloader_num_workers=0, push_to_hub=False,
                save_only_model=False)
