# `inspect`: what a model dir holds (family, parameter count, image tokens per image), without
# training; the TS `model` stage can record it and catch a wrong dir before a long stage starts.
from . import model_io


def run(job: dict) -> dict:
    model, processor = model_io.load(job['model'], 'cpu')
    n = sum(p.numel() for p in model.parameters())
    info = {'modelType': model.config.model_type, 'parameters': n,
            'architectures': list(getattr(model.config, 'architectures', None) or [type(model).__name__]),
            'vocabSize': len(processor.tokenizer), 'eosToken': processor.tokenizer.eos_token,
            'hasChatTemplate': bool(getattr(processor, 'chat_template', None))}
    return {'metrics': {'parameters': n}, 'trlConfig': None, 'summary': f"{info['modelType']}, {n} parameters",
            'inspect': info}
