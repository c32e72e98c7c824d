import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "grl_sign_demo.py"


def load_example():
    spec = importlib.util.spec_from_file_location("grl_sign_demo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sign_demo_net1_negated_net2_net3_identical():
    result = load_example().compare(seed=3)
    assert result["net1"]["max_abs_sum"] == 0.0
    assert result["net1"]["max_abs_diff"] > 1e-4
    for name in ("net2", "net3"):
        assert result[name]["max_abs_diff"] == 0.0
        assert result[name]["max_abs_sum"] > 1e-4


def test_sign_demo_prints_three_comparisons(capsys):
    load_example().main()
    out = capsys.readouterr().out
    assert out.count("max|g_grl") == 3
