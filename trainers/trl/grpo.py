# Stages 2–4: GRPO with TRL's GRPOTrainer. Format-only, format+accuracy and ClipLow (CLGRPO) are one
# function with different params: rewards/weights, and `clip.high` below `clip.low` (TRL's
# `epsilon_high` < `epsilon`, which TRL accepts without comment). loss_type is pinned to `grpo`
# (token mean per sequence, then mean: what lib/ml/grpo/loss.ts computes; TRL's default is `dapo`).
# Both rewards are always computed, an unlisted one with weight 0, so every stage logs format rate
# and accuracy without changing the advantage.
from . import data, model_io
from .protocol import CONFIG, TrainerError
from .rewards import REWARDS, trl_reward_funcs
from .train_common import CheckpointMixin, ProtocolCallback, base_args, find_resume

REWARD_ORDER = ('format', 'accuracy')


def reward_order() -> tuple:
    """format and accuracy always (an unlisted one weighs 0), then any test-only reward."""
    return REWARD_ORDER + tuple(n for n in REWARDS if n not in REWARD_ORDER)


def reward_weights(spec: list) -> list:
    """The spec's rewards (names or {name, weight}) → TRL weights in REWARD_ORDER."""
    weights = dict.fromkeys(reward_order(), 0.0)
    problems = []
    for i, r in enumerate(spec or []):
        r = {'name': r, 'weight': 1.0} if isinstance(r, str) else r
        if r.get('name') not in REWARDS:
            problems.append(f"rewards[{i}]: unknown reward {r.get('name')!r} (known: {', '.join(REWARDS)})")
        else:
            weights[r['name']] = float(r.get('weight', 1.0))
    if not spec:
        problems.append('rewards is empty: list at least one of format, accuracy')
    if problems:
        raise TrainerError(CONFIG, 'grpo params: ' + '; '.join(problems))
    return [weights[n] for n in reward_order()]


def batch_shape(p: dict) -> tuple:
    """(per-device batch, accumulation steps): one optimizer step sees promptsPerStep × groupSize completions."""
    completions = int(p.get('promptsPerStep', 4)) * int(p.get('groupSize', 8))
    micro = min(int(p.get('microBatch', 32)), completions)
    if completions % micro:
        raise TrainerError(CONFIG, f'grpo params: promptsPerStep × groupSize = {completions} is not divisible by '
                           f'microBatch {micro}; pick a microBatch that divides it')
    return micro, completions // micro


def grpo_config(job: dict, device: str, dtype: str):
    from trl import GRPOConfig
    p = job['params']
    clip = p.get('clip', {}) or {}
    iterations = int(p.get('iterations', 2))
    micro, accum = batch_shape(p)
    every = int(p.get('checkpointEvery', 10))
    return GRPOConfig(**base_args(job, device, dtype), max_steps=int(p.get('steps', 100)) * iterations,
                      per_device_train_batch_size=micro, gradient_accumulation_steps=accum,
                      num_generations=int(p.get('groupSize', 8)), num_iterations=iterations,
                      epsilon=float(clip.get('low', 0.2)), epsilon_high=float(clip.get('high', 0.2)),
                      beta=float(p.get('beta', 0.04)), learning_rate=float(p.get('lr', 1e-4)),
                      lr_scheduler_type='constant', warmup_steps=0, weight_decay=0.0,
                      temperature=float(p.get('temperature', 1.0)), top_p=float(p.get('topP', 1.0)),
                      max_completion_length=int(p.get('maxNewTokens', 48)),
                      reward_weights=reward_weights(p.get('rewards')), loss_type=p.get('lossType', 'grpo'),
                      save_steps=every * iterations, log_completions=False)


def run(job: dict, emitter, stop, device: str, dtype: str) -> dict:
    from trl import GRPOTrainer

    class Trainer(CheckpointMixin, GRPOTrainer):
        pass

    p = job['params']
    if not job['inputs'].get('dataset'):
        raise TrainerError(CONFIG, 'grpo needs inputs.dataset (a dataset artifact dir)')
    ds = data.DatasetArtifact(job['inputs']['dataset'])
    rows = data.grpo_rows(ds, 'train')
    cfg = grpo_config(job, device, dtype)
    resume = find_resume(job['workDir'], emitter)  # before the model loads: corrupt checkpoints fail fast
    model, processor = model_io.load(job['model'], device)
    steps = int(p.get('steps', 100))
    cb = ProtocolCallback(emitter, stop, window=cfg.num_iterations, total=steps, kind='grpo')
    trainer = Trainer(model=model, reward_funcs=trl_reward_funcs(reward_order()), args=cfg,
                      train_dataset=data.to_hf(rows), processing_class=processor, callbacks=[cb])
    trainer.setup_checkpoints(job['workDir'], int(p.get('keepCheckpoints', 3)), cfg.num_iterations, emitter, cb)
    trainer.train(resume_from_checkpoint=resume)
    model_io.save(trainer.model, processor, job['outDir'])
    return {'metrics': {k: v[-1][1] for k, v in cb.curves.items()}, 'curves': cb.curves, 'trlConfig': cfg.to_dict(),
            'resumedFrom': resume, 'summary': f'grpo {steps} steps × {cfg.num_iterations} iterations, '
            f'clip {cfg.epsilon}/{cfg.epsilon_high}, beta {cfg.beta}, rewards {dict(zip(reward_order(), cfg.reward_weights))}'}
