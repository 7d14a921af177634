# Model dirs in and out: checks an HF model dir before anything heavy is imported (a missing file
# is a ConfigError naming the dir and the file), picks the device and dtype, loads model + processor
# and refuses a load that left any weight uninitialised, and reports versions for the hello line.
import os
import platform

from .protocol import CONFIG, TrainerError

WEIGHT_FILES = ('model.safetensors', 'model.safetensors.index.json')
TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json')
PROCESSOR_FILES = ('processor_config.json', 'preprocessor_config.json')


def check_model_dir(path: str) -> None:
    if not os.path.isdir(path):
        raise TrainerError(CONFIG, f'model dir {path} does not exist; point the stage at a model artifact (a `model` stage)')
    missing = []
    if not os.path.isfile(os.path.join(path, 'config.json')):
        missing.append('config.json')
    for what, names in (('weights', WEIGHT_FILES), ('tokenizer', TOKENIZER_FILES), ('processor', PROCESSOR_FILES)):
        if not any(os.path.isfile(os.path.join(path, n)) for n in names):
            missing.append(f'{" or ".join(names)} ({what})')
    if missing:
        raise TrainerError(CONFIG, f'model dir {path} is missing {", ".join(missing)}; '
                           'a trl stage needs a full Hugging Face model dir (save_pretrained of model and processor)')


def resolve_device(requested: str) -> str:
    import torch
    if requested == 'cuda' and not torch.cuda.is_available():
        raise TrainerError(CONFIG, 'device cuda requested but torch sees no CUDA device; use device auto or cpu')
    if requested == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    return requested


def resolve_dtype(requested: str, device: str) -> str:
    """bfloat16 is autocast over float32 master weights; on CPU auto stays float32 (exact resume)."""
    import torch
    if requested == 'bfloat16' and device == 'cuda' and not torch.cuda.is_bf16_supported():
        raise TrainerError(CONFIG, 'dtype bfloat16 requested but this GPU has no bf16 support; use float32')
    if requested == 'auto':
        return 'bfloat16' if device == 'cuda' and torch.cuda.is_bf16_supported() else 'float32'
    return requested


def device_name(device: str) -> str:
    import torch
    if device == 'cuda':
        return torch.cuda.get_device_name(0)
    return f'cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)'


def versions() -> dict:
    import accelerate
    import torch
    import transformers
    out = {'python': platform.python_version(), 'torch': torch.__version__,
           'transformers': transformers.__version__, 'accelerate': accelerate.__version__}
    try:
        import trl
        out['trl'] = trl.__version__
    except ImportError:  # the GPU check runs without TRL
        out['trl'] = None
    return out


def load(path: str, device: str = 'cpu'):
    """(model, processor) in float32 on `device`; every weight in the dir must be used."""
    check_model_dir(path)
    from transformers import AutoModelForImageTextToText, AutoProcessor
    model, info = AutoModelForImageTextToText.from_pretrained(path, output_loading_info=True, dtype='float32')
    missing = sorted(info.get('missing_keys') or [])
    unexpected = sorted(info.get('unexpected_keys') or [])
    mismatched = sorted(str(m) for m in (info.get('mismatched_keys') or []))
    if missing or unexpected or mismatched:
        raise TrainerError(CONFIG, f'model dir {path}: weights do not fit its config (missing {missing}, '
                           f'unexpected {unexpected}, mismatched {mismatched}); re-export the model')
    processor = AutoProcessor.from_pretrained(path)
    return model.to(device), processor


def save(model, processor, out_dir: str) -> None:
    """A normal HF model dir: what the next stage (or any HF user) loads with from_pretrained."""
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
