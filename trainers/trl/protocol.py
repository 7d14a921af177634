# The subprocess protocol of docs/trainers.md: one JSON job on stdin, JSON lines on stdout.
# stdout belongs to the protocol alone: libraries print (Trainer's PrinterCallback, warnings from
# C extensions), so at start fd 1 is duplicated for us and then pointed at stderr; anything else
# written "to stdout" lands in the worker log instead of corrupting a line the TS side parses.
# Errors carry the type names of lib/errors.ts, which are contracts written into Temporal histories.
import json
import math
import os
import signal
import sys
import threading

PROTOCOL = 1
COMMANDS = ('sft', 'grpo', 'eval', 'inspect')
EXIT_CANCELLED = 143  # 128 + SIGTERM, what the TS side expects after it sent SIGTERM

# lib/errors.ts ErrorType values; retryable mirrors its NON_RETRYABLE set.
CONFIG = 'ConfigError'
DIVERGENCE = 'DivergenceError'
CHECKPOINT_CORRUPT = 'CheckpointCorruptError'
ARTIFACT_CORRUPT = 'ArtifactCorruptError'
STORAGE_FULL = 'StorageFullError'
CANCELLED = 'CancelledError'
_RETRYABLE = {STORAGE_FULL: True, CANCELLED: False}


class TrainerError(Exception):
    """A typed failure: becomes one `error` line and a non-zero exit."""

    def __init__(self, error_type: str, message: str, retryable=None):
        super().__init__(message)
        self.error_type = error_type
        self.retryable = _RETRYABLE.get(error_type, False) if retryable is None else retryable


class Cancelled(TrainerError):
    def __init__(self, where: str):
        super().__init__(CANCELLED, f'{where}: cancelled by SIGTERM; checkpoints on disk are kept')


class Emitter:
    """Writes protocol lines to the real stdout, flushing each so the TS side sees it at once."""

    def __init__(self, stream=None):
        self._out = stream
        self._lock = threading.Lock()

    @classmethod
    def take_stdout(cls) -> 'Emitter':
        proto = os.fdopen(os.dup(1), 'w', encoding='utf-8', buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(proto)

    def emit(self, type_: str, **fields) -> None:
        line = json.dumps({'type': type_, **fields}, default=_json_default, allow_nan=False, sort_keys=True)
        with self._lock:
            self._out.write(line + '\n')
            self._out.flush()

    def progress(self, step: int, total: int, metrics: dict) -> None:
        self.emit('progress', step=step, total=total, metrics=finite_metrics(metrics))

    def warning(self, code: str, message: str) -> None:
        self.emit('warning', code=code, message=message)

    def error(self, err: TrainerError) -> None:
        self.emit('error', errorType=err.error_type, message=str(err), retryable=err.retryable)


def _json_default(x):
    if hasattr(x, 'item'):
        return x.item()
    if isinstance(x, (set, tuple)):
        return list(x)
    return str(x)


def finite_metrics(metrics: dict) -> dict:
    """Protocol lines are strict JSON; a NaN here would already have raised DivergenceError."""
    out = {}
    for k, v in metrics.items():
        v = float(v)
        out[k] = v if math.isfinite(v) else None
    return out


class StopFlag:
    """SIGTERM sets it; the training loop checks it at step boundaries (never mid-checkpoint)."""

    def __init__(self):
        self.requested = False

    def install(self) -> 'StopFlag':
        signal.signal(signal.SIGTERM, self._on_term)
        return self

    def _on_term(self, signum, frame):
        self.requested = True
        print('[trl] SIGTERM: stopping at the next step boundary', file=sys.stderr, flush=True)

    def check(self, where: str) -> None:
        if self.requested:
            raise Cancelled(where)


def read_job(text: str) -> dict:
    """Parses and checks the job's shape; every problem is reported at once."""
    try:
        job = json.loads(text)
    except json.JSONDecodeError as e:
        raise TrainerError(CONFIG, f'job on stdin is not JSON ({e}); the TS side writes one JSON object') from e
    if not isinstance(job, dict):
        raise TrainerError(CONFIG, 'job on stdin must be a JSON object')
    problems = []
    if job.get('protocol') != PROTOCOL:
        problems.append(f'protocol must be {PROTOCOL} (got {job.get("protocol")!r})')
    if job.get('command') not in COMMANDS:
        problems.append(f'command must be one of {", ".join(COMMANDS)} (got {job.get("command")!r})')
    for key in ('model', 'outDir'):
        if not isinstance(job.get(key), str) or not job[key]:
            problems.append(f'{key} must be a non-empty path string')
    if job.get('command') in ('sft', 'grpo') and not isinstance(job.get('workDir'), str):
        problems.append('workDir must be a path string (checkpoints live there)')
    if not isinstance(job.get('params', {}), dict) or not isinstance(job.get('inputs', {}), dict):
        problems.append('params and inputs must be objects')
    if not isinstance(job.get('seed', 0), int):
        problems.append(f'seed must be an integer (got {job.get("seed")!r})')
    if job.get('device', 'auto') not in ('auto', 'cpu', 'cuda'):
        problems.append(f'device must be auto, cpu or cuda (got {job.get("device")!r})')
    if job.get('dtype', 'auto') not in ('auto', 'float32', 'bfloat16'):
        problems.append(f'dtype must be auto, float32 or bfloat16 (got {job.get("dtype")!r})')
    if problems:
        raise TrainerError(CONFIG, 'trainer job: ' + '; '.join(problems))
    return job
