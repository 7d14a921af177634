# Artifacts → TRL rows. Reads the dataset artifact of lib/ml/data/dataset.ts (meta.json, per split
# images-<split>.u8 = N×S×S×3 uint8 HWC and samples-<split>.jsonl) and the cot artifact of
# activities/cot.ts (cot.jsonl, `index` into the train split). Every row carries the same chat prompt
# (lib/ml/prompt.ts TASK_PROMPT, image first), the image as a PIL image and the `label` column, which
# TRL passes on to reward functions. Row order is the artifact's order: shuffling is the trainer's,
# seeded, so a resumed run sees the same batches.
import json
import os

import numpy as np

from . import prompt
from .protocol import ARTIFACT_CORRUPT, CONFIG, TrainerError

SPLITS = ('train', 'val', 'test')


class DatasetArtifact:
    def __init__(self, root: str):
        self.dir = root
        meta_path = os.path.join(root, 'meta.json')
        if not os.path.isfile(meta_path):
            raise TrainerError(CONFIG, f'{root} is not a dataset artifact (no meta.json); point the stage at a dataset stage\'s output')
        with open(meta_path, encoding='utf-8') as f:
            self.meta = json.load(f)
        if not isinstance(self.meta.get('labels'), list) or not isinstance(self.meta.get('imageSize'), int) \
                or self.meta.get('channels') != 3:
            raise self._corrupt('meta.json', 'lacks labels, an integer imageSize or channels: 3')
        self.labels = self.meta['labels']
        self.image_size = self.meta['imageSize']

    def _corrupt(self, file: str, why: str) -> TrainerError:
        return TrainerError(ARTIFACT_CORRUPT, f'dataset {self.dir}: {file} {why}; re-run the dataset stage or run `clgrpo verify`')

    def samples(self, split: str) -> list:
        path = os.path.join(self.dir, f'samples-{split}.jsonl')
        rows = []
        if os.path.exists(path):
            with open(path, encoding='utf-8') as f:
                rows = [json.loads(line) for line in f if line.strip()]
        want = self.meta['splits'].get(split, 0)
        if len(rows) != want:
            raise self._corrupt(f'samples-{split}.jsonl', f'has {len(rows)} samples, meta.json says {want}')
        return rows

    def images(self, split: str) -> np.ndarray:
        """N×S×S×3 uint8, memory-mapped: only the images a batch touches are read."""
        n, s = self.meta['splits'].get(split, 0), self.image_size
        if n == 0:
            return np.zeros((0, s, s, 3), dtype=np.uint8)
        path = os.path.join(self.dir, f'images-{split}.u8')
        size = os.path.getsize(path) if os.path.exists(path) else -1
        if size != n * s * s * 3:
            raise self._corrupt(f'images-{split}.u8', f'has {size} bytes, expected {n} × {s * s * 3}')
        return np.memmap(path, dtype=np.uint8, mode='r', shape=(n, s, s, 3))

    def pil(self, split: str, index: int):
        from PIL import Image
        return Image.fromarray(np.array(self.images(split)[index]), mode='RGB')


def read_cot(cot_dir: str) -> list:
    path = os.path.join(cot_dir, 'cot.jsonl')
    if not os.path.isfile(path):
        raise TrainerError(CONFIG, f'{cot_dir} is not a cot artifact (no cot.jsonl); sft with target cot needs a cot stage\'s output')
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def prompt_row(ds: DatasetArtifact, split: str, sample: dict) -> dict:
    """One GRPO/eval row: chat prompt, image, label (and the sample index for predictions)."""
    return {'prompt': prompt.user_message(), 'image': ds.pil(split, sample['index']),
            'label': sample['label'], 'index': sample['index']}


def grpo_rows(ds: DatasetArtifact, split: str = 'train', limit=None) -> list:
    return [prompt_row(ds, split, s) for s in ds.samples(split)[:limit]]


def sft_rows(ds: DatasetArtifact, target: str, cot: list = None) -> list:
    """Prompt-completion rows; the completion is the cot chain or the label baseline's answer."""
    if target == 'cot':
        if cot is None:
            raise TrainerError(CONFIG, 'sft target cot needs inputs.cot (a cot artifact dir)')
        n = ds.meta['splits']['train']
        bad = [c['index'] for c in cot if not 0 <= c['index'] < n]
        if bad:
            raise TrainerError(ARTIFACT_CORRUPT, f'cot.jsonl indexes {bad[:5]} are outside the train split [0, {n})')
        pairs = [(c['index'], c['label'], prompt.cot_completion(c['think'], c['answer'])) for c in cot]
    elif target == 'label':
        pairs = [(s['index'], s['label'], prompt.label_completion(s['label'])) for s in ds.samples('train')]
    else:
        raise TrainerError(CONFIG, f"sft params: target must be cot or label (got {target!r})")
    return [{'prompt': prompt.user_message(), 'completion': [{'role': 'assistant', 'content': text}],
             'images': [ds.pil('train', i)], 'label': label} for i, label, text in pairs]


def to_hf(rows: list):
    """A datasets.Dataset (TRL's trainers want one); images become an Image feature."""
    from datasets import Dataset
    return Dataset.from_list(rows)
