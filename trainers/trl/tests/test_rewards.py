# The Python rewards equal the TS ones on the shared vectors; the prompt strings equal lib/ml/prompt.ts.
import json
import os
import re
import unittest

from trainers.trl import prompt, rewards

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


class RewardVectors(unittest.TestCase):
    def test_shared_vectors(self):
        with open(os.path.join(ROOT, 'test', 'fixtures', 'reward-vectors.json'), encoding='utf-8') as f:
            vectors = json.load(f)['vectors']
        self.assertGreaterEqual(len(vectors), 30)
        for i, v in enumerate(vectors):
            with self.subTest(i=i, why=v['why']):
                self.assertEqual(rewards.format_reward(v['completion'], v['label']), v['format'])
                self.assertEqual(rewards.accuracy_reward(v['completion'], v['label']), v['accuracy'])

    def test_trl_reward_funcs_read_conversational_completions(self):
        fmt, acc = rewards.trl_reward_funcs(['format', 'accuracy'])
        completions = [[{'role': 'assistant', 'content': '<think>a</think><answer>awe</answer>'}],
                       [{'role': 'assistant', 'content': '<answer>fear</answer>'}]]
        self.assertEqual(fmt(None, completions, label=['awe', 'fear']), [1.0, 0.0])
        self.assertEqual(acc(None, completions, label=['awe', 'fear']), [1.0, 1.0])
        self.assertEqual((fmt.__name__, acc.__name__), ('format', 'accuracy'))


class PromptMirrorsTs(unittest.TestCase):
    def test_task_prompt_and_completions_equal_lib_ml_prompt_ts(self):
        with open(os.path.join(ROOT, 'lib', 'ml', 'prompt.ts'), encoding='utf-8') as f:
            ts = f.read()
        self.assertIn(f"export const TASK_PROMPT = '{prompt.TASK_PROMPT}';", ts)
        self.assertIn('return `<think>${think}</think><answer>${answer}</answer>`;', ts)
        self.assertIn('return `<answer>${label}</answer>`;', ts)
        self.assertTrue(re.search(r"TASK_PROMPT_VERSION = 1;", ts), 'prompt version changed: update prompt.py')
        self.assertEqual(prompt.cot_completion('t', 'awe'), '<think>t</think><answer>awe</answer>')
        self.assertEqual(prompt.label_completion('awe'), '<answer>awe</answer>')


if __name__ == '__main__':
    unittest.main()
