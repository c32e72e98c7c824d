import subprocess
import sys

CHECK = """
import sys
import unshift, unshift.nn, unshift.losses, unshift.schedules
heavy = [m for m in sys.modules if m.split('.')[0] in
         ('lightning_fabric', 'omegaconf', 'matplotlib', 'sklearn', 'unshift.trainer')]
print(heavy)
"""


def test_building_blocks_import_with_torch_alone():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
