# The TRL trainer: a Python subprocess of the TS stage activities (docs/trainers.md). It speaks JSON
# lines on stdout (protocol.py) and trains real Hugging Face VLMs with PyTorch + TRL.
