# Pure units of the trainer: job checks, model-dir checks, checkpoint atomics and strict loading,
# the protocol callback (NaN → DivergenceError, zero-advantage warning), the GRPO knob mapping.
import io
import json
import math
import os
import unittest

import torch

from trainers.trl import checkpoint, model_io, protocol
from trainers.trl.protocol import TrainerError
from trainers.trl.tests import helpers as h


class Job(unittest.TestCase):
    def test_every_problem_at_once(self):
        with self.assertRaises(TrainerError) as e:
            protocol.read_job(json.dumps({'protocol': 2, 'command': 'train', 'model': '', 'seed': 1.5}))
        msg = str(e.exception)
        for part in ('protocol must be 1', 'command must be one of', 'model must be', 'outDir must be', 'seed must be'):
            self.assertIn(part, msg)
        self.assertEqual(e.exception.error_type, 'ConfigError')

    def test_model_dir_names_path_and_missing_files(self):
        d = h.tmpdir('bad-model')
        with open(os.path.join(d, 'config.json'), 'w') as f:
            f.write('{}')
        with self.assertRaises(TrainerError) as e:
            model_io.check_model_dir(d)
        self.assertIn(d, str(e.exception))
        self.assertIn('model.safetensors', str(e.exception))
        self.assertIn('tokenizer.json', str(e.exception))
        self.assertNotIn('missing config.json', str(e.exception))


class Checkpoints(unittest.TestCase):
    def make(self, work, step, payload=b'x'):
        tmp = checkpoint.tmp_dir(work, step)
        with open(os.path.join(tmp, 'a.bin'), 'wb') as f:
            f.write(payload)
        return checkpoint.finalize(tmp)

    def test_marker_last_and_corrupt_falls_back(self):
        work = h.tmpdir('ck')
        self.make(work, 1)
        c2 = self.make(work, 2)
        os.makedirs(os.path.join(work, 'ckpt-3.tmp'))  # a killed write
        self.assertEqual(checkpoint.latest_intact(work)[0], 2)
        self.assertFalse(os.path.exists(os.path.join(work, 'ckpt-3.tmp')))
        with open(os.path.join(c2, 'a.bin'), 'wb') as f:
            f.write(b'flipped')
        warnings = []
        self.assertEqual(checkpoint.latest_intact(work, lambda c, m: warnings.append(m))[0], 1)
        self.assertIn('a.bin: sha256 differs', warnings[0])

    def test_all_corrupt_is_checkpoint_corrupt_error(self):
        work = h.tmpdir('ck')
        c1 = self.make(work, 1)
        os.remove(os.path.join(c1, checkpoint.COMPLETE))
        with self.assertRaises(TrainerError) as e:
            checkpoint.latest_intact(work)
        self.assertEqual(e.exception.error_type, 'CheckpointCorruptError')
        self.assertIn('no COMPLETE marker', str(e.exception))

    def test_prune_keeps_newest(self):
        work = h.tmpdir('ck')
        for s in (1, 2, 3, 4):
            self.make(work, s)
        checkpoint.prune(work, 2)
        self.assertEqual([s for s, _ in checkpoint.checkpoints(work)], [4, 3])

    def test_strict_load_names_missing_tensors(self):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
        path = os.path.join(h.tmpdir('w'), 'w.safetensors')
        checkpoint.save_weights(torch.nn.Sequential(torch.nn.Linear(2, 2)), path)
        with self.assertRaises(TrainerError) as e:
            checkpoint.load_weights_strict(model, path)
        self.assertIn("'1.weight'", str(e.exception))
        checkpoint.save_weights(model, path)
        self.assertEqual(checkpoint.load_weights_strict(model, path), 4)


class Callback(unittest.TestCase):
    def setUp(self):
        from trainers.trl.train_common import ProtocolCallback
        self.buf = io.StringIO()
        self.cb = ProtocolCallback(protocol.Emitter(self.buf), protocol.StopFlag(), window=2, total=10, kind='grpo')
        self.state = type('S', (), {'global_step': 0})()

    def log(self, step, **logs):
        self.state.global_step = step
        self.cb.on_log(None, self.state, None, logs=logs)

    def lines(self):
        return [json.loads(x) for x in self.buf.getvalue().splitlines()]

    def test_progress_once_per_window_and_zero_advantage_warning(self):
        for step in range(1, 7):
            self.log(step, loss=0.0, frac_reward_zero_std=1.0, **{'rewards/format/mean': 0.0})
        kinds = [(x['type'], x.get('step')) for x in self.lines()]
        self.assertEqual(kinds, [('progress', 1), ('progress', 2), ('progress', 3), ('warning', None)])
        self.assertEqual(self.lines()[-1]['code'], 'zero-advantage')
        self.assertEqual(self.lines()[0]['metrics']['zeroAdvantageFrac'], 1.0)
        self.assertEqual(self.lines()[0]['metrics']['formatRate'], 0.0)

    def test_nan_is_divergence(self):
        with self.assertRaises(TrainerError) as e:
            self.log(3, loss=math.nan)
        self.assertEqual(e.exception.error_type, 'DivergenceError')
        self.assertIn('step 3', str(e.exception))

    def test_sigterm_flag_stops_at_step_end(self):
        self.cb.stop.requested = True
        with self.assertRaises(protocol.Cancelled):
            self.cb.on_step_end(None, self.state, None)


class GrpoKnobs(unittest.TestCase):
    def test_cliplow_config(self):
        from trainers.trl import grpo
        job = h.job('grpo', 'm', 'o', h.tmpdir('work'), {'rewards': ['format', {'name': 'accuracy', 'weight': 2}],
                    'steps': 5, 'groupSize': 4, 'promptsPerStep': 4, 'microBatch': 8, 'iterations': 3,
                    'clip': {'low': 0.2, 'high': 0.1}, 'beta': 0.04, 'maxNewTokens': 12})
        cfg = grpo.grpo_config(job, 'cpu', 'float32')
        self.assertEqual((cfg.epsilon, cfg.epsilon_high, cfg.loss_type, cfg.beta), (0.2, 0.1, 'grpo', 0.04))
        self.assertEqual((cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps), (8, 2))
        self.assertEqual((cfg.num_generations, cfg.num_iterations, cfg.max_steps, cfg.save_steps), (4, 3, 15, 30))
        self.assertEqual(cfg.reward_weights[:2], [1.0, 2.0])
        self.assertEqual(cfg.max_completion_length, 12)

    def test_format_only_and_bad_shapes(self):
        from trainers.trl import grpo
        self.assertEqual(grpo.reward_weights(['format'])[:2], [1.0, 0.0])
        with self.assertRaises(TrainerError) as e:
            grpo.batch_shape({'promptsPerStep': 3, 'groupSize': 4, 'microBatch': 8})
        self.assertIn('12 is not divisible by microBatch 8', str(e.exception))
        with self.assertRaises(TrainerError):
            grpo.reward_weights(['fromat'])


if __name__ == '__main__':
    unittest.main()
