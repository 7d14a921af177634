# Stage 1 (and the label baseline): supervised fine-tuning of an HF VLM with TRL's SFTTrainer on
# prompt-completion rows (loss on the completion only), target `cot` (the verified chains) or
# `label` (`<answer>label</answer>`, lib/ml/prompt.ts labelCompletion).
import math

from . import data, model_io
from .protocol import CONFIG, TrainerError
from .train_common import CheckpointMixin, ProtocolCallback, base_args, find_resume


def sft_config(job: dict, n_rows: int, device: str, dtype: str):
    """The spec's sft knobs → SFTConfig (docs/trainers.md knob table). Returns (config, total steps)."""
    from trl import SFTConfig
    p = job['params']
    bs = int(p.get('batchSize', 16))
    steps = p.get('steps')
    epochs = p.get('epochs', 2)
    total = int(steps) if steps is not None else math.ceil(n_rows / bs) * int(epochs)
    if bs < 1 or total < 1:
        raise TrainerError(CONFIG, f'sft params: batchSize {bs} and the resulting step count {total} must be ≥ 1 '
                           f'({n_rows} training rows)')
    cfg = SFTConfig(**base_args(job, device, dtype), max_steps=total, num_train_epochs=float(epochs),
                    per_device_train_batch_size=bs, gradient_accumulation_steps=1,
                    learning_rate=float(p.get('lr', 3e-4)), warmup_steps=int(p.get('warmupSteps', 20)),
                    weight_decay=float(p.get('weightDecay', 0.01)), max_grad_norm=float(p.get('gradClip', 1.0)),
                    lr_scheduler_type='linear', save_steps=int(p.get('checkpointEvery', 50)),
                    completion_only_loss=True, max_length=None, shuffle_dataset=True)
    return cfg, total


def run(job: dict, emitter, stop, device: str, dtype: str) -> dict:
    from trl import SFTTrainer

    class Trainer(CheckpointMixin, SFTTrainer):
        pass

    p = job['params']
    target = p.get('target', 'cot' if job['inputs'].get('cot') else 'label')
    ds = data.DatasetArtifact(job['inputs'].get('dataset') or _missing('dataset'))
    cot = data.read_cot(job['inputs']['cot']) if target == 'cot' else None
    rows = data.sft_rows(ds, target, cot)
    resume = find_resume(job['workDir'], emitter)  # before the model loads: corrupt checkpoints fail fast
    model, processor = model_io.load(job['model'], device)
    cfg, total = sft_config(job, len(rows), device, dtype)
    cb = ProtocolCallback(emitter, stop, window=1, total=total, kind='sft')
    trainer = Trainer(model=model, args=cfg, train_dataset=data.to_hf(rows), processing_class=processor, callbacks=[cb])
    trainer.setup_checkpoints(job['workDir'], int(p.get('keepCheckpoints', 3)), 1, emitter, cb)
    trainer.train(resume_from_checkpoint=resume)
    model_io.save(trainer.model, processor, job['outDir'])
    return {'metrics': _final(cb), 'curves': cb.curves, 'trlConfig': cfg.to_dict(), 'resumedFrom': resume,
            'summary': f'sft ({target}) {total} steps on {len(rows)} rows', 'targetExample': rows[0]['completion'][0]['content']}


def _final(cb: ProtocolCallback) -> dict:
    return {k: v[-1][1] for k, v in cb.curves.items()}


def _missing(name: str):
    raise TrainerError(CONFIG, f'sft needs inputs.{name} (a dataset artifact dir)')
