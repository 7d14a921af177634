# Test helpers: tiny dataset and cot artifacts in the TS formats, fixture models built once per
# process, and a runner that starts `python -m trainers.trl` exactly as lib/stage does.
import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from trainers.trl import fixtures, prompt

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
ENV = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', HF_DATASETS_OFFLINE='1',
           PYTHONUNBUFFERED='1', TOKENIZERS_PARALLELISM='false', OMP_NUM_THREADS='1')
_MODELS = {}
_TMP = tempfile.mkdtemp(prefix='trl-tests-')
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)  # models, datasets, checkpoints of this process


def tmpdir(name: str) -> str:
    return tempfile.mkdtemp(prefix=f'{name}-', dir=_TMP)


def fixture_model(family: str, image_size: int = 16) -> str:
    key = (family, image_size)
    if key not in _MODELS:
        _MODELS[key] = fixtures.build(os.path.join(_TMP, f'model-{family}-{image_size}'), family, image_size)
    return _MODELS[key]


def write_dataset(root: str, n_train: int = 8, n_test: int = 4, image_size: int = 16, seed: int = 0) -> str:
    """A dataset artifact as lib/ml/data/dataset.ts writes it; warm labels get bright images."""
    rng = np.random.RandomState(seed)
    labels = list(fixtures.LABELS)
    os.makedirs(root, exist_ok=True)
    splits = {'train': n_train, 'val': 0, 'test': n_test}
    for split, n in splits.items():
        imgs = rng.randint(0, 255, size=(n, image_size, image_size, 3)).astype(np.uint8)
        lines = []
        for i in range(n):
            label_id = int(rng.randint(len(labels)))
            lines.append(json.dumps({'index': i, 'label': labels[label_id], 'labelId': label_id,
                                     'attributes': {'palette': 'warm'}, 'caption': 'warm colours',
                                     'imageSha256': hashlib.sha256(imgs[i].tobytes()).hexdigest()}))
        with open(os.path.join(root, f'images-{split}.u8'), 'wb') as f:
            f.write(imgs.tobytes())
        with open(os.path.join(root, f'samples-{split}.jsonl'), 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
    with open(os.path.join(root, 'meta.json'), 'w') as f:
        json.dump({'labels': labels, 'imageSize': image_size, 'channels': 3, 'splits': splits,
                   'source': 'synthetic', 'noise': 0.15}, f)
    return root


def write_cot(root: str, dataset: str) -> str:
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(dataset, 'samples-train.jsonl')) as f:
        samples = [json.loads(x) for x in f if x.strip()]
    with open(os.path.join(root, 'cot.jsonl'), 'w') as f:
        for s in samples:
            think = f"warm colours: {s['label']}."
            f.write(json.dumps({'index': s['index'], 'label': s['label'], 'labelId': s['labelId'], 'think': think,
                                'answer': s['label'], 'completion': prompt.cot_completion(think, s['label']),
                                'teacher': 'attributes'}) + '\n')
    return root


def run_trainer(job: dict, timeout: float = 300, background: bool = False):
    """Starts the trainer with the job on stdin. Returns (rc, protocol lines, stderr) or the Popen."""
    proc = subprocess.Popen([sys.executable, '-m', 'trainers.trl'], cwd=ROOT, env=ENV, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if background:
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
        return proc
    out, err = proc.communicate(json.dumps(job), timeout=timeout)
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err


def job(command: str, model: str, out_dir: str, work_dir: str, params: dict, **inputs) -> dict:
    return {'protocol': 1, 'command': command, 'model': model, 'inputs': inputs, 'params': params, 'seed': 7,
            'outDir': out_dir, 'workDir': work_dir, 'device': 'cpu', 'dtype': 'auto'}
