# The trainer end to end, started as lib/stage starts it (`python -m trainers.trl`, job on stdin):
# SmolVLM: sft on cot → eval of its output; format-only GRPO from a random model (no reward ever:
#   the zero-advantage warning fires). Qwen2-VL: sft on labels; ClipLow GRPO with KL killed by
#   SIGKILL after its first checkpoint and rerun ends with the same safetensors bytes as an
#   uninterrupted run; SIGTERM stops at a step boundary with exit 143 and no partial checkpoint.
# A random-init fixture never writes the format, so the ClipLow runs add the test-only reward
# `testVariety` (rewards.py) to get non-zero advantages: without it the weights would not move.
import hashlib
import json
import os
import signal
import unittest

from trainers.trl.tests import helpers as h

GRPO = {'steps': 3, 'groupSize': 4, 'promptsPerStep': 2, 'microBatch': 4, 'iterations': 2, 'beta': 0.04,
        'maxNewTokens': 8, 'checkpointEvery': 1, 'lr': 1e-2, 'temperature': 1.0}
CLIPLOW = dict(GRPO, clip={'low': 0.2, 'high': 0.1},
               rewards=['format', 'accuracy', {'name': 'testVariety', 'weight': 1}])


def sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def of(lines, kind):
    return [x for x in lines if x['type'] == kind]


class Base(unittest.TestCase):
    family = None

    @classmethod
    def setUpClass(cls):
        cls.model = h.fixture_model(cls.family, 16)
        cls.dataset = h.write_dataset(h.tmpdir('ds'))

    def job(self, command, params, model=None, **inputs):
        inputs.setdefault('dataset', self.dataset)
        return h.job(command, model or self.model, h.tmpdir('out'), h.tmpdir('work'), params, **inputs)

    def run_ok(self, job):
        rc, lines, err = h.run_trainer(job)
        self.assertEqual(rc, 0, err[-3000:])
        self.assertEqual([x['type'] for x in lines][0], 'hello')
        self.assertEqual(lines[-1]['type'], 'result')
        return lines


class SmolVLM(Base):
    family = 'smolvlm'

    def test_sft_cot_then_eval(self):
        cot = h.write_cot(h.tmpdir('cot'), self.dataset)
        sft = self.job('sft', {'target': 'cot', 'steps': 3, 'batchSize': 4, 'lr': 1e-3, 'warmupSteps': 0,
                               'checkpointEvery': 2}, cot=cot)
        lines = self.run_ok(sft)
        self.assertEqual([x['step'] for x in of(lines, 'progress')], [1, 2, 3])
        self.assertEqual([x['step'] for x in of(lines, 'checkpoint')], [2, 3])
        result = lines[-1]
        self.assertEqual(result['lineage']['trlConfig']['completion_only_loss'], True)
        self.assertTrue(result['lineage']['targetExample'].startswith('<think>'))
        self.assertEqual(lines[0]['versions']['trl'], '1.16.0')
        self.assertNotEqual(sha(os.path.join(sft['outDir'], 'model.safetensors')), sha(os.path.join(self.model, 'model.safetensors')))
        with open(os.path.join(sft['outDir'], 'training.json')) as f:
            self.assertEqual(json.load(f)['steps'], 3)

        ev = self.job('eval', {'split': 'test', 'maxNewTokens': 6, 'batchSize': 3},
                      models=[{'id': 'base', 'dir': self.model}, {'id': 'sft', 'dir': sft['outDir']}])
        self.run_ok(ev)
        with open(os.path.join(ev['outDir'], 'predictions.jsonl')) as f:
            preds = [json.loads(x) for x in f]
        self.assertEqual([(p['model'], p['index']) for p in preds], [(m, i) for m in ('base', 'sft') for i in range(4)])
        self.assertTrue(all(isinstance(p['completion'], str) and p['label'] for p in preds))

    def test_format_only_grpo_warns_on_zero_advantage(self):
        lines = self.run_ok(self.job('grpo', dict(GRPO, rewards=['format'], clip={'low': 0.2, 'high': 0.2})))
        self.assertEqual([x['code'] for x in of(lines, 'warning')], ['zero-advantage'])
        self.assertTrue(all(x['metrics']['zeroAdvantageFrac'] == 1.0 for x in of(lines, 'progress')))
        cfg = lines[-1]['lineage']['trlConfig']
        self.assertEqual((cfg['loss_type'], cfg['epsilon'], cfg['epsilon_high']), ('grpo', 0.2, 0.2))
        self.assertEqual(cfg['reward_weights'][:2], [1.0, 0.0])


class Qwen2VL(Base):
    family = 'qwen2-vl'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        h.ENV['CLGRPO_TRL_TEST_REWARDS'] = '1'

    def test_sft_label_baseline(self):
        lines = self.run_ok(self.job('sft', {'target': 'label', 'steps': 2, 'batchSize': 4, 'warmupSteps': 0,
                                             'checkpointEvery': 5}))
        self.assertEqual(lines[-1]['lineage']['targetExample'], f"<answer>{lines[-1]['lineage']['targetExample'][8:-9]}</answer>")
        self.assertEqual([x['step'] for x in of(lines, 'checkpoint')], [2])  # the last step always

    def test_cliplow_sigkill_resume_is_byte_identical(self):
        full = self.job('grpo', CLIPLOW)
        lines = self.run_ok(full)
        cfg = lines[-1]['lineage']['trlConfig']
        self.assertEqual((cfg['epsilon'], cfg['epsilon_high'], cfg['beta'], cfg['num_iterations']), (0.2, 0.1, 0.04, 2))
        progress = of(lines, 'progress')
        self.assertTrue(any(x['metrics']['clipHighFrac'] > 0 for x in progress), progress)
        self.assertTrue(all(x['metrics']['zeroAdvantageFrac'] < 1 for x in progress))

        killed = self.job('grpo', CLIPLOW)
        proc = h.run_trainer(killed, background=True)
        for line in proc.stdout:
            if json.loads(line)['type'] == 'checkpoint':
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        resumed = self.run_ok(killed)
        self.assertTrue(resumed[-1]['lineage']['resumedFrom'].endswith('ckpt-1'))
        self.assertEqual([x['step'] for x in of(resumed, 'progress')], [2, 3])
        self.assertEqual(sha(os.path.join(killed['outDir'], 'model.safetensors')),
                         sha(os.path.join(full['outDir'], 'model.safetensors')))

    def test_sigterm_stops_at_a_step_boundary(self):
        job = self.job('grpo', dict(CLIPLOW, steps=50))
        proc = h.run_trainer(job, background=True)
        lines = []
        for line in proc.stdout:
            lines.append(json.loads(line))
            if lines[-1]['type'] == 'checkpoint':
                proc.send_signal(signal.SIGTERM)
        proc.wait()
        proc.stderr.close()
        proc.stdout.close()
        self.assertEqual(proc.returncode, 143)
        self.assertEqual(lines[-1]['type'], 'error')
        self.assertEqual((lines[-1]['errorType'], lines[-1]['retryable']), ('CancelledError', False))
        names = os.listdir(job['workDir'])
        self.assertFalse([n for n in names if n.endswith('.tmp')], names)
        steps = [x['step'] for x in of(lines, 'checkpoint')]
        self.assertEqual(sorted(n for n in names if n.startswith('ckpt-')), sorted(f'ckpt-{s}' for s in steps[-3:]))
        self.assertLess(max(steps), 50)


class Errors(Base):
    family = 'qwen2-vl'

    def test_missing_model_dir_is_config_error_without_hello(self):
        job = self.job('sft', {'target': 'label'}, model='/nonexistent/model')
        rc, lines, _ = h.run_trainer(job)
        self.assertEqual(rc, 2)
        self.assertEqual([x['type'] for x in lines], ['error'])
        self.assertEqual(lines[0]['errorType'], 'ConfigError')
        self.assertIn('/nonexistent/model', lines[0]['message'])

    def test_corrupt_checkpoints_only_is_checkpoint_corrupt(self):
        job = self.job('grpo', dict(GRPO, rewards=['format']))
        os.makedirs(os.path.join(job['workDir'], 'ckpt-1'))
        with open(os.path.join(job['workDir'], 'ckpt-1', 'config.json'), 'w') as f:
            f.write('{}')  # what a killed HF save once left behind
        rc, lines, _ = h.run_trainer(job)
        self.assertEqual(rc, 2)
        self.assertEqual(lines[-1]['errorType'], 'CheckpointCorruptError')
        self.assertIn('ckpt-1: no COMPLETE marker', lines[-1]['message'])


if __name__ == '__main__':
    unittest.main()
