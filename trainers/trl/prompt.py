# The text side of the task, mirrored from lib/ml/prompt.ts (a test reads that file and asserts the
# strings are equal): the prompt the model sees and the completion format it writes.
# The TS prompt starts with `<image>`, TF.js's own marker for where the image ends; for a Hugging
# Face VLM the image is a chat content item instead, so the text after the marker is what we send.

TASK_PROMPT = '<image>What emotion does this image evoke?'
IMAGE_MARKER = '<image>'
TASK_TEXT = TASK_PROMPT[len(IMAGE_MARKER):]


def cot_completion(think: str, answer: str) -> str:
    return f'<think>{think}</think><answer>{answer}</answer>'


def label_completion(label: str) -> str:
    """The label baseline's target: the answer alone, in the same tags (lib/ml/prompt.ts)."""
    return f'<answer>{label}</answer>'


def user_message() -> list:
    """The chat prompt for one sample: the image, then the task text (TRL's conversational format)."""
    return [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': TASK_TEXT}]}]
