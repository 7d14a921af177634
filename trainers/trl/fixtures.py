# Tiny random-init VLMs of real Hugging Face families (Qwen2-VL, SmolVLM) for tests and smoke runs.
# The hub is never reachable, so everything is built here: a byte-level BPE trained offline on the
# task's own words, a processor sized to the dataset's images (SmolVLM's default would upscale a
# 32 px image to 1456 px), and a model initialised from a fixed seed. The output is a normal HF
# model dir (config.json, model.safetensors, tokenizer and processor files), byte-identical on every
# run (tests/test_fixtures.py), so a fixture's hash can stand in for a downloaded model's.
#   python -m trainers.trl.fixtures <outdir> --family qwen2-vl|smolvlm [--image-size 32]
import argparse
import json
import os
import sys

from . import prompt

FAMILIES = ('qwen2-vl', 'smolvlm')
LABELS = ('amusement', 'awe', 'contentment', 'excitement', 'anger', 'disgust', 'fear', 'sadness')
WORDS = ('warm colours', 'cool colours', 'bright light', 'dark light', 'rising forms', 'sinking forms',
         'angular edges', 'round edges', 'busy scene', 'sparse scene', 'vivid colour', 'muted colour',
         'large forms', 'small forms', 'positive valence', 'negative valence', 'high arousal', 'low arousal',
         'of 3 positive cues', 'of 3 energetic cues')

QWEN_SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>',
                '<|image_pad|>', '<|video_pad|>']
SMOL_SPECIAL = ['<|endoftext|>', '<|im_start|>', '<end_of_utterance>', '<fake_token_around_image>',
                '<image>', '<global-img>', '<video>']

# Chat templates reduced to what the task sends (one user turn: image + text; one assistant turn).
QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SMOL_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}<image>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}")


def corpus() -> list:
    """The text the BPE merges are learned from: prompt, format tags, labels, attribute phrases."""
    out = [prompt.TASK_TEXT, 'Describe the image.']
    for label in LABELS:
        out += [prompt.label_completion(label), prompt.cot_completion(f'{WORDS[0]}: {label}.', label)]
    for i, w in enumerate(WORDS):
        out.append(f'{w}, {WORDS[(i * 7 + 3) % len(WORDS)]}: {i % 4} {WORDS[(i + 5) % len(WORDS)]}.')
    return out * 4


def build_tokenizer(family: str, vocab_size: int = 512):
    """A byte-level BPE (any text round-trips) with the family's special tokens, as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    special = QWEN_SPECIAL if family == 'qwen2-vl' else SMOL_SPECIAL
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    eos = '<|im_end|>' if family == 'qwen2-vl' else '<end_of_utterance>'
    extra = {'image_token': '<|image_pad|>'} if family == 'qwen2-vl' else {
        'image_token': '<image>', 'fake_image_token': '<fake_token_around_image>',
        'global_image_token': '<global-img>', 'end_of_utterance_token': '<end_of_utterance>'}
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token='<|endoftext|>',
                                   bos_token='<|im_start|>' if family == 'smolvlm' else None,
                                   model_max_length=4096, padding_side='left', extra_special_tokens=extra)
    fast.chat_template = QWEN_TEMPLATE if family == 'qwen2-vl' else SMOL_TEMPLATE
    return fast


def qwen_parts(tok, image_size: int, hidden: int, layers: int):
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor, Qwen2VLProcessor
    from transformers import Qwen2VLVideoProcessor
    patch, merge = 4, 2  # 32 px → 8×8 patches → 16 image tokens after the 2×2 merge
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    heads = max(2, hidden // 16)
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=1,
                         max_position_embeddings=512, rope_parameters={'rope_type': 'default', 'rope_theta': 10000.0,
                         'mrope_section': mrope_section(hidden // heads)}, tie_word_embeddings=False,
                         bos_token_id=ids['<|im_start|>'], eos_token_id=ids['<|im_end|>'], pad_token_id=ids['<|endoftext|>']),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=hidden, num_heads=2, mlp_ratio=2, patch_size=patch,
                           spatial_merge_size=merge, temporal_patch_size=2),
        image_token_id=ids['<|image_pad|>'], video_token_id=ids['<|video_pad|>'],
        vision_start_token_id=ids['<|vision_start|>'], vision_end_token_id=ids['<|vision_end|>'])
    pixels = image_size * image_size
    size = {'shortest_edge': pixels, 'longest_edge': pixels}
    image_proc = Qwen2VLImageProcessor(size=size, patch_size=patch, merge_size=merge, temporal_patch_size=2)
    video_proc = Qwen2VLVideoProcessor(size=size, patch_size=patch, merge_size=merge, temporal_patch_size=2)
    processor = Qwen2VLProcessor(image_processor=image_proc, tokenizer=tok, video_processor=video_proc,
                                 chat_template=QWEN_TEMPLATE)
    return Qwen2VLForConditionalGeneration(config), processor


def mrope_section(head_dim: int) -> list:
    """Qwen2-VL splits each head's rotary half-dim over (time, height, width): sections sum to head_dim/2."""
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def smol_parts(tok, image_size: int, hidden: int, layers: int):
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration
    patch, scale = 4, 2  # 32 px → 8×8 patches → 16 image tokens after the 2× pixel shuffle
    ids = {t: tok.convert_tokens_to_ids(t) for t in SMOL_SPECIAL}
    heads = max(2, hidden // 16)
    config = SmolVLMConfig(
        text_config=dict(model_type='llama', vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=1,
                         max_position_embeddings=512, tie_word_embeddings=False, bos_token_id=ids['<|im_start|>'],
                         eos_token_id=ids['<end_of_utterance>'], pad_token_id=ids['<|endoftext|>']),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=image_size, patch_size=patch),
        scale_factor=scale, image_token_id=ids['<image>'], tie_word_embeddings=False,
        pad_token_id=ids['<|endoftext|>'])
    return SmolVLMForConditionalGeneration(config), smol_processor(tok, image_size, patch, scale)


def smol_processor(tok, image_size: int, patch: int, scale: int):
    """Sized to the model's vision input: no upscaling, no tiling, one image → (S/patch)²/scale² tokens."""
    from transformers import SmolVLMImageProcessor, SmolVLMProcessor, SmolVLMVideoProcessor
    edge = {'longest_edge': image_size}
    image_proc = SmolVLMImageProcessor(size=edge, max_image_size=edge, do_image_splitting=False)
    video_proc = SmolVLMVideoProcessor(size=edge, max_image_size=edge)
    seq_len = (image_size // patch) ** 2 // (scale * scale)
    return SmolVLMProcessor(image_processor=image_proc, tokenizer=tok, video_processor=video_proc,
                            image_seq_len=seq_len, chat_template=SMOL_TEMPLATE)


def build(out_dir: str, family: str, image_size: int = 32, hidden: int = 32, layers: int = 2, seed: int = 0) -> str:
    """Writes the model dir and returns it. Deterministic: same arguments, same bytes."""
    import torch
    if family not in FAMILIES:
        raise ValueError(f'unknown family {family!r} (known: {", ".join(FAMILIES)})')
    if image_size % 8:
        raise ValueError(f'image size must be a multiple of 8 (patch 4 × merge 2), got {image_size}')
    tok = build_tokenizer(family)
    torch.manual_seed(seed)
    model, processor = (qwen_parts if family == 'qwen2-vl' else smol_parts)(tok, image_size, hidden, layers)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    with open(os.path.join(out_dir, 'fixture.json'), 'w') as f:
        json.dump({'family': family, 'imageSize': image_size, 'hidden': hidden, 'layers': layers, 'seed': seed,
                   'parameters': sum(p.numel() for p in model.parameters())}, f, indent=2, sort_keys=True)
        f.write('\n')
    return out_dir


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python -m trainers.trl.fixtures', description=__doc__)
    ap.add_argument('outdir')
    ap.add_argument('--family', choices=FAMILIES, required=True)
    ap.add_argument('--image-size', type=int, default=32)
    ap.add_argument('--hidden', type=int, default=32)
    ap.add_argument('--layers', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args(argv)
    build(a.outdir, a.family, a.image_size, a.hidden, a.layers, a.seed)
    print(a.outdir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
