# Eval: greedy generation with each model's chat template on one split, written as
# outDir/predictions.jsonl, one line per (model, sample): { model, index, label, completion }.
# Metrics are not computed here: the TS side parses every completion with lib/ml/rewards.ts
# parseAnswer and computes accuracy, recall and the confusion matrix with the same code as for TF.js
# models, so the two trainers cannot disagree on what an answer is.
import json
import os

from . import data, model_io
from .protocol import CONFIG, TrainerError


def generate(model, processor, rows: list, max_new_tokens: int, batch_size: int, stop=None) -> list:
    """Greedy completions for rows (prompt + image), in row order."""
    import torch
    tok = processor.tokenizer
    tok.padding_side = 'left'  # generation continues from the right edge of every row
    out = []
    for start in range(0, len(rows), batch_size):
        if stop is not None:
            stop.check(f'eval at sample {start}')
        batch = rows[start:start + batch_size]
        texts = [processor.apply_chat_template(r['prompt'], add_generation_prompt=True) for r in batch]
        enc = processor(text=texts, images=[[r['image']] for r in batch], padding=True, return_tensors='pt').to(model.device)
        with torch.no_grad():
            ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        out += tok.batch_decode(ids[:, enc['input_ids'].shape[1]:], skip_special_tokens=True)
    return out


def run(job: dict, emitter, stop, device: str, dtype: str) -> dict:
    p = job['params']
    split = p.get('split', 'test')
    if split not in data.SPLITS:
        raise TrainerError(CONFIG, f'eval params: split must be one of {", ".join(data.SPLITS)} (got {split!r})')
    if not job['inputs'].get('dataset'):
        raise TrainerError(CONFIG, 'eval needs inputs.dataset (a dataset artifact dir)')
    ds = data.DatasetArtifact(job['inputs']['dataset'])
    rows = data.grpo_rows(ds, split, p.get('limit'))
    models = job['inputs'].get('models') or [{'id': 'model', 'dir': job['model']}]
    for m in models:
        model_io.check_model_dir(m['dir'])  # all problems before any generation
    os.makedirs(job['outDir'], exist_ok=True)
    path = os.path.join(job['outDir'], 'predictions.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        for k, m in enumerate(models):
            model, processor = model_io.load(m['dir'], device)
            model.eval()
            texts = generate(model, processor, rows, int(p.get('maxNewTokens', 64)), int(p.get('batchSize', 64)), stop)
            for r, text in zip(rows, texts):
                f.write(json.dumps({'model': m['id'], 'index': r['index'], 'label': r['label'], 'completion': text}) + '\n')
            emitter.progress(k + 1, len(models), {'samples': len(rows)})
    return {'metrics': {'samples': len(rows), 'models': len(models)}, 'trlConfig': None,
            'summary': f'eval: {len(models)} model(s) × {len(rows)} {split} samples → predictions.jsonl'}
