# Fixture models: byte-identical on every build, normal HF dirs, images kept at the dataset's size.
import hashlib
import os
import unittest

import numpy as np

from trainers.trl import fixtures
from trainers.trl.tests import helpers as h


def digest(d: str) -> dict:
    out = {}
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), 'rb') as f:
            out[n] = hashlib.sha256(f.read()).hexdigest()
    return out


class Fixtures(unittest.TestCase):
    def test_same_bytes_on_every_build(self):
        a = fixtures.build(h.tmpdir('fx-a'), 'qwen2-vl', 16)
        b = fixtures.build(h.tmpdir('fx-b'), 'qwen2-vl', 16)
        self.assertEqual(digest(a), digest(b))
        self.assertTrue({'config.json', 'model.safetensors', 'tokenizer.json', 'processor_config.json'} <= set(digest(a)))

    def test_both_families_load_and_keep_the_image_size(self):
        from PIL import Image
        from trainers.trl import model_io, prompt
        for family in fixtures.FAMILIES:
            with self.subTest(family=family):
                model, processor = model_io.load(h.fixture_model(family, 16))
                self.assertLess(sum(p.numel() for p in model.parameters()), 300_000)
                img = Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8))
                text = processor.apply_chat_template(prompt.user_message(), add_generation_prompt=True)
                enc = processor(text=[text], images=[[img]], return_tensors='pt')
                # 16 px in 4 px patches, merged 2×2: 4 image tokens (SmolVLM's default would upscale to 1456 px)
                image_id = model.config.image_token_id
                self.assertEqual(int((enc['input_ids'] == image_id).sum()), 4)
                out = model.generate(**enc, max_new_tokens=3, do_sample=False)
                self.assertEqual(out.shape[1], enc['input_ids'].shape[1] + 3)

    def test_tokenizer_round_trips_the_format(self):
        tok = fixtures.build_tokenizer('smolvlm')
        text = '<think>warm colours, 2 of 3 cues: ünïcode ✓</think><answer>awe</answer>'
        self.assertEqual(tok.decode(tok.encode(text, add_special_tokens=False)), text)


if __name__ == '__main__':
    unittest.main()
