# `python -m trainers.trl`: reads one job on stdin, runs it, speaks JSON lines (docs/trainers.md).
# Order: take stdout for the protocol, install the SIGTERM flag, parse the job, check the model
# dir (before importing torch, so a wrong path fails in a second), hello, run, result. Every
# failure becomes one `error` line: typed ones keep their type; anything else is reported as a
# crash (exit 1 without a typed line = retryable TrainerCrashed on the TS side, so we do not emit
# one for unknown exceptions — a bug deserves a retry-visible traceback on stderr, not a guess).
import json
import os
import sys
import traceback

from .protocol import EXIT_CANCELLED, Cancelled, Emitter, StopFlag, TrainerError, read_job

HANDLERS = ('sft', 'grpo', 'eval', 'inspect')


def offline_env() -> None:
    """The hub is never contacted, whoever started us."""
    for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'):
        os.environ[k] = '1'
    os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
    os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')


def setup_torch(seed: int, device: str) -> None:
    import torch
    from transformers import set_seed
    set_seed(seed)
    if device == 'cpu':
        torch.use_deterministic_algorithms(True, warn_only=True)


def dispatch(job: dict, emitter, stop, device: str, dtype: str) -> dict:
    cmd = job['command']
    if cmd == 'sft':
        from . import sft
        return sft.run(job, emitter, stop, device, dtype)
    if cmd == 'grpo':
        from . import grpo
        return grpo.run(job, emitter, stop, device, dtype)
    if cmd == 'eval':
        from . import eval as eval_
        return eval_.run(job, emitter, stop, device, dtype)
    from . import inspect_model
    return inspect_model.run(job)


def write_training_json(job: dict, out: dict) -> None:
    if job['command'] in ('sft', 'grpo') and 'curves' in out:
        steps = max((pts[-1][0] for pts in out['curves'].values() if pts), default=0)
        with open(os.path.join(job['outDir'], 'training.json'), 'w') as f:
            json.dump({'kind': job['command'], 'steps': steps, 'curves': out['curves']}, f)


def summary_of(job: dict, out: dict) -> dict:
    """A flat {name: number | text} record (what the TS side shows for a stage): steps, final loss, a line."""
    summary = {'text': out['summary']}
    curves = out.get('curves') or {}
    if curves:
        summary['steps'] = max(pts[-1][0] for pts in curves.values() if pts)
    for k in ('loss', 'reward.total', 'samples', 'parameters'):
        if isinstance(out['metrics'].get(k), (int, float)):
            summary[k] = round(out['metrics'][k], 4)
    return summary


def main() -> int:
    emitter = Emitter.take_stdout()
    stop = StopFlag().install()
    offline_env()
    try:
        job = read_job(sys.stdin.read())
        from . import model_io
        model_io.check_model_dir(job['model'])
        device = model_io.resolve_device(job.get('device', 'auto'))
        dtype = model_io.resolve_dtype(job.get('dtype', 'auto'), device)
        versions = model_io.versions()
        emitter.emit('hello', versions=versions, device=model_io.device_name(device), dtype=dtype)
        setup_torch(job.get('seed', 0), device)
        out = dispatch(job, emitter, stop, device, dtype)
        write_training_json(job, out)
        lineage = {'trlConfig': out.get('trlConfig'), 'versions': versions, 'device': model_io.device_name(device),
                   'dtype': dtype, 'command': job['command'], 'resumedFrom': out.get('resumedFrom')}
        for extra in ('targetExample', 'inspect'):
            if extra in out:
                lineage[extra] = out[extra]
        emitter.emit('result', metrics=out['metrics'], lineage=lineage, summary=summary_of(job, out))
        return 0
    except Cancelled as e:
        emitter.error(e)
        return EXIT_CANCELLED
    except TrainerError as e:
        emitter.error(e)
        return 2
    except Exception:  # noqa: BLE001 — an untyped failure is a crash: traceback to the log, retryable exit
        traceback.print_exc()
        return 1


if __name__ == '__main__':
    sys.exit(main())
