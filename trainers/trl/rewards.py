# The GRPO rewards, equal to lib/ml/rewards.ts on every input (test/fixtures/reward-vectors.json is
# asserted by both languages). The TS regexes are ECMAScript: `\s` there is a fixed set of Unicode
# spaces that differs from Python's str.isspace (JS counts U+FEFF, Python counts U+001C–U+001F), and
# `$` there never matches before a final newline; both are spelled out here so the two agree.
import os
import re

WS = '\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'
_S = f'[{WS}]'
_TAGS = r'(?!</?think>|</?answer>)'
FORMAT_RE = re.compile(rf'^{_S}*<think>((?:{_TAGS}[\s\S])*)</think>{_S}*<answer>((?:{_TAGS}[\s\S])*)</answer>{_S}*\Z')
ANSWER_RE = re.compile(r'<answer>((?:(?!</?answer>)[\s\S])*)</answer>')
_WS_RUN = re.compile(f'{_S}+')
_EDGE_PUNCT = re.compile(rf'^[{WS}"\'`.,;:!?()\[\]{{}}-]+|[{WS}"\'`.,;:!?()\[\]{{}}-]+\Z')
_ARTICLE = re.compile(r'^(the|a|an) ')


def _trim(text: str) -> str:
    return text.strip(WS.replace('\u2000-\u200a', ''.join(chr(c) for c in range(0x2000, 0x200B))))


def normalize_answer(text: str) -> str:
    """Case, edge whitespace/punctuation, inner whitespace runs and a leading article do not count."""
    t = _trim(_WS_RUN.sub(' ', text.lower()))
    t = _EDGE_PUNCT.sub('', t)
    return _trim(_ARTICLE.sub('', t, count=1))


def extract_tagged_answer(completion: str):
    """Normalized content of the last <answer>…</answer>, or None."""
    found = ANSWER_RE.findall(completion)
    return normalize_answer(found[-1]) if found else None


def format_reward(completion: str, label: str = '') -> float:
    """1 iff the whole completion is <think>…</think><answer>…</answer> with a non-empty answer."""
    m = FORMAT_RE.search(completion)
    return 1.0 if m is not None and normalize_answer(m.group(2)) != '' else 0.0


def accuracy_reward(completion: str, label: str) -> float:
    """1 iff the normalized last <answer> equals the normalized label."""
    a = extract_tagged_answer(completion)
    return 1.0 if a is not None and a == normalize_answer(label) else 0.0


REWARDS = {'format': format_reward, 'accuracy': accuracy_reward}


def variety_reward(completion: str, label: str = '') -> float:
    """Test only: distinct characters / 32. A random-init fixture never writes the format, so every
    real reward is 0 and GRPO would not move; this one varies within a group, so tests can check
    that weights move and that a resumed ClipLow run is exact. Registered only when
    CLGRPO_TRL_TEST_REWARDS=1 (the TS registry does not know it, so no spec can name it)."""
    return len(set(completion)) / 32.0


if os.environ.get('CLGRPO_TRL_TEST_REWARDS') == '1':
    REWARDS['testVariety'] = variety_reward


def completion_text(completion) -> str:
    """TRL hands conversational completions as [{'role': 'assistant', 'content': text}]."""
    if isinstance(completion, str):
        return completion
    content = completion[-1]['content']
    if isinstance(content, list):
        return ''.join(c.get('text', '') for c in content if c.get('type') == 'text')
    return content


def trl_reward_funcs(names):
    """TRL reward functions (named by the spec's reward ids, so TRL logs rewards/<name>/mean)."""
    def make(name):
        fn = REWARDS[name]

        def reward(prompts, completions, label, **kwargs):
            return [fn(completion_text(c), lab) for c, lab in zip(completions, label)]
        reward.__name__ = name
        return reward
    return [make(n) for n in names]
