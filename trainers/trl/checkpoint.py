# Atomic, verified checkpoints (docs/trainers.md "Checkpoints"). A checkpoint is written as
# workDir/ckpt-<step>.tmp/, every file fsynced, then COMPLETE (sha256 of every file) is written
# last and the directory renamed to ckpt-<step>/: a kill at any moment leaves either the previous
# checkpoint or a .tmp leftover that is ignored and removed (an HF checkpoint dir is not atomic: a
# kill once left one holding only config.json). Weights are stored under the model's own
# state-dict names and loaded back by name, failing loudly on any missing or unexpected tensor
# (TRL's resume_from_checkpoint silently reloaded 1 of 58 Qwen2-VL tensors).
import hashlib
import json
import os
import re
import shutil

from .protocol import CHECKPOINT_CORRUPT, STORAGE_FULL, TrainerError

COMPLETE = 'COMPLETE'
WEIGHTS = 'weights.safetensors'
_NAME = re.compile(r'^ckpt-(\d+)$')


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _files(root: str) -> list:
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names if n != COMPLETE]
    return sorted(out)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tmp_dir(work_dir: str, step: int) -> str:
    """A fresh staging dir for ckpt-<step> (a leftover of a killed attempt is discarded)."""
    path = os.path.join(work_dir, f'ckpt-{step}.tmp')
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def finalize(tmp: str) -> str:
    """fsync → COMPLETE (hashes) → rename → fsync parent. Returns the final dir."""
    final = tmp[:-len('.tmp')]
    try:
        hashes = {}
        for rel in _files(tmp):
            p = os.path.join(tmp, rel)
            with open(p, 'rb') as f:
                os.fsync(f.fileno())
            hashes[rel] = sha256_file(p)
        with open(os.path.join(tmp, COMPLETE), 'w') as f:
            json.dump({'files': hashes}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        shutil.rmtree(final, ignore_errors=True)  # a same-step checkpoint of an earlier attempt
        os.rename(tmp, final)
        _fsync_dir(os.path.dirname(final))
    except OSError as e:
        if e.errno == 28:  # ENOSPC: the previous checkpoint is still intact
            raise TrainerError(STORAGE_FULL, f'disk full while writing checkpoint {tmp}: {e}; free space and retry') from e
        raise
    return final


def verify(ckpt: str) -> list:
    """Problems of one checkpoint dir (empty = intact), each naming the file."""
    marker = os.path.join(ckpt, COMPLETE)
    if not os.path.isfile(marker):
        return [f'{ckpt}: no {COMPLETE} marker']
    try:
        with open(marker) as f:
            want = json.load(f)['files']
    except (ValueError, KeyError) as e:
        return [f'{marker}: unreadable ({e})']
    problems = [f'{ckpt}/{rel}: missing' for rel in want if not os.path.isfile(os.path.join(ckpt, rel))]
    problems += [f'{ckpt}/{rel}: sha256 differs from {COMPLETE}' for rel in want
                 if os.path.isfile(os.path.join(ckpt, rel)) and sha256_file(os.path.join(ckpt, rel)) != want[rel]]
    return problems


def checkpoints(work_dir: str) -> list:
    """(step, dir) of every finished-looking checkpoint, newest first."""
    if not os.path.isdir(work_dir):
        return []
    found = [(int(m.group(1)), os.path.join(work_dir, n)) for n in os.listdir(work_dir) if (m := _NAME.match(n))]
    return sorted(found, reverse=True)


def latest_intact(work_dir: str, warn=lambda code, msg: None):
    """The newest checkpoint whose hashes verify, or None when there is none at all.
    Corrupt ones are skipped with a warning; if every one is corrupt, CheckpointCorruptError."""
    for leftover in (n for n in os.listdir(work_dir) if n.endswith('.tmp')) if os.path.isdir(work_dir) else ():
        shutil.rmtree(os.path.join(work_dir, leftover), ignore_errors=True)
    found = checkpoints(work_dir)
    all_problems = []
    for step, path in found:
        problems = verify(path)
        if not problems:
            return step, path
        all_problems += problems
        warn('checkpoint-corrupt', f'skipping checkpoint {path}: {"; ".join(problems)}')
    if found:
        raise TrainerError(CHECKPOINT_CORRUPT, 'no intact checkpoint left to resume from: ' + '; '.join(all_problems)
                           + f'; delete {work_dir} to start the stage over')
    return None


def prune(work_dir: str, keep: int) -> None:
    """Keeps the newest `keep` checkpoints (older ones go first, the newest is never removed)."""
    for _, path in checkpoints(work_dir)[max(1, keep):]:
        shutil.rmtree(path, ignore_errors=True)


def save_weights(model, path: str) -> None:
    """The model's own state-dict names (shared tensors stored once), not save_pretrained's remapped ones."""
    from safetensors.torch import save_model
    save_model(model, path)


def load_weights_strict(model, path: str) -> int:
    """Loads every tensor by name; any missing, unexpected or misshapen one fails naming it."""
    from safetensors import safe_open
    from safetensors.torch import load_model
    if not os.path.isfile(path):
        raise TrainerError(CHECKPOINT_CORRUPT, f'{path}: checkpoint weights missing')
    own = model.state_dict()
    with safe_open(path, 'pt') as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    bad = [f'{k}: {shapes[k]} vs model {tuple(own[k].shape)}' for k in shapes if k in own and tuple(own[k].shape) != shapes[k]]
    missing, unexpected = load_model(model, path, strict=False) if not bad else ([], [])
    if bad or missing or unexpected:
        raise TrainerError(CHECKPOINT_CORRUPT, f'{path} does not fit the model: missing {sorted(missing)}, '
                           f'unexpected {sorted(unexpected)}, wrong shape {bad}; delete the checkpoint to restart')
    return len(shapes)
