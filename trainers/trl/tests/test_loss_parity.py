# Loss parity: TRL's GRPOTrainer._compute_loss (the real code path, loss_type 'grpo', ClipLow bounds,
# beta > 0) and our torch copy (loss.py) give what lib/ml/grpo/loss.ts grpoLoss gives on the shared
# vectors of test/fixtures/grpo-loss-vectors.json (written by make-grpo-loss-vectors.ts), to 1e-5.
# TRL's KL metric is a global token mean while ours is per-sequence then mean, so KL is compared
# through our copy; the loss and both clip fractions come from TRL itself.
import json
import os
import types
import unittest

import torch

from trainers.trl.loss import grpo_loss

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def load_cases():
    with open(os.path.join(ROOT, 'test', 'fixtures', 'grpo-loss-vectors.json')) as f:
        return json.load(f)['cases']


def tensors(case):
    b, t = case['shape']
    x = case['inputs']
    as2 = lambda k: torch.tensor(x[k], dtype=torch.float32).view(b, t)  # noqa: E731 — float32 as in TF.js
    return as2('logp'), as2('old'), as2('ref'), torch.tensor(x['advantages'], dtype=torch.float32), as2('mask')


class _Accel:
    reduce = staticmethod(lambda t, reduction='sum': t)
    gather = staticmethod(lambda t: t)
    gather_for_metrics = staticmethod(lambda t: t)
    num_processes = 1


def trl_loss(case):
    """Runs GRPOTrainer._compute_loss on a stand-in `self` whose model returns the given log-probs."""
    from trl import GRPOTrainer
    logp, old, ref, adv, mask = tensors(case)
    b, t = case['shape']
    fake = types.SimpleNamespace(
        top_entropy_quantile=1.0, off_policy_mask_threshold=None, importance_sampling_level='token',
        beta=case['beta'], epsilon_low=case['clipLow'], epsilon_high=case['clipHigh'], loss_type='grpo',
        args=types.SimpleNamespace(use_bias_correction_kl=False, delta=None), use_vllm=False,
        model=types.SimpleNamespace(training=True), current_gradient_accumulation_steps=1,
        _entropy_bonus_enabled=False, aux_loss_enabled=False, accelerator=_Accel(),
        _metrics={'train': {}, 'eval': {}},
        _get_per_token_logps_and_entropies=lambda *a, **k: (logp, torch.zeros_like(logp), None))
    from collections import defaultdict
    fake._metrics = {'train': defaultdict(list), 'eval': defaultdict(list)}
    inputs = {'prompt_ids': torch.zeros(b, 1, dtype=torch.long), 'prompt_mask': torch.ones(b, 1),
              'completion_ids': torch.zeros(b, t, dtype=torch.long), 'completion_mask': mask,
              'advantages': adv, 'old_per_token_logps': old, 'ref_per_token_logps': ref}
    loss = GRPOTrainer._compute_loss(fake, None, inputs)
    m = fake._metrics['train']
    return {'loss': loss.item(), 'clipLowFrac': m['clip_ratio/low_mean'][-1], 'clipHighFrac': m['clip_ratio/high_mean'][-1]}


class LossParity(unittest.TestCase):
    def test_vectors_cover_cliplow_and_kl(self):
        cases = load_cases()
        self.assertTrue(any(c['clipHigh'] < c['clipLow'] and c['beta'] > 0 for c in cases))
        self.assertTrue(any(c['expected']['clipLowFrac'] > 0 for c in cases))
        self.assertTrue(any(c['expected']['clipHighFrac'] > 0 for c in cases))

    def test_trl_compute_loss_matches_ts_grpo_loss(self):
        for case in load_cases():
            with self.subTest(case=case['name']):
                got = trl_loss(case)
                for k, v in got.items():
                    self.assertAlmostEqual(v, case['expected'][k], delta=1e-5, msg=k)

    def test_torch_copy_matches_ts_grpo_loss(self):
        for case in load_cases():
            with self.subTest(case=case['name']):
                out = grpo_loss(*tensors(case), case['clipLow'], case['clipHigh'], case['beta'])
                for k, v in case['expected'].items():
                    self.assertAlmostEqual(out[k].item(), v, delta=1e-5, msg=k)


if __name__ == '__main__':
    unittest.main()
