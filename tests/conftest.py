import os
from pathlib import Path

# trainer.accelerator defaults to auto: the tests compare numbers on the CPU wherever they run.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
# Shared data (MNIST, USPS, photographs, ...): present in CI and on the development machine.
SHARED_DATA = Path(os.environ.get("UNSHIFT_SHARED_DATA", ROOT.parent / "shared" / "data"))
