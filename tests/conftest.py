import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
# Shared data (MNIST, USPS, photographs, ...): present in CI and on the development machine.
SHARED_DATA = Path(os.environ.get("UNSHIFT_SHARED_DATA", ROOT.parent / "shared" / "data"))
