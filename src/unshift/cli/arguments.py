"""The ``unshift`` command's arguments: every subcommand and option, with its help."""

from __future__ import annotations

import argparse

from unshift import __version__

EPILOG = """examples:
  unshift configs                          # the packaged configs
  unshift train moons/dann --set seed=1 --set data.angle=50
  unshift train configs/moons/dann.yaml --run-dir runs/dann --set trainer.steps=500
  unshift train --resume runs/dann          # continue a killed run
  unshift eval runs/dann
  unshift predict runs/dann new_points.csv --out predicted.csv
  unshift export runs/dann --format onnx --out dann.onnx
  unshift select runs/dann runs/dann-lr2 --validator im   # runs with trainer.snapshot_every
  unshift tune moons/dann --space method.schedule.hi=0.1,1.0 --space optim.lr=0.01,0.003 \
      --out runs/tune-dann                   # label-free search; writes best.yaml
  unshift report runs/dann --baseline runs/source_only
  unshift data mnist-m --mnist DATA/mnist --photos DATA/photos --out data/mnist_m
"""


def _run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by train")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unshift",
        description="Adversarial unsupervised domain adaptation (DANN, ADDA, source-only "
        "baselines).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"unshift {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train from a YAML config (see configs/), writing a run directory with the "
        "resolved config, metrics.jsonl, checkpoints, final.json, report.md and, when there is "
        "a target test set (labelled or not), target_test_predictions.csv.",
    )
    train.add_argument(
        "config",
        nargs="?",
        help="YAML config file, or the name of a packaged config (`unshift configs` lists "
        "them), e.g. moons/dann",
    )
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value by its dotted key, e.g. --set seed=2 --set "
        "data.angle=50 (repeatable; values are read as YAML)",
    )
    train.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="import a module or a .py file of your own methods, networks or datasets before "
        "the config is read (repeatable; also UNSHIFT_PLUGINS); recorded in the run's "
        "config.yaml, so that later commands on the run import it again",
    )
    train.add_argument(
        "--run-dir",
        help="where to write the run (default: a new folder under runs/)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="if --run-dir already holds a run, move it to RUN_DIR.old-<time> (nothing is "
        "deleted) and train anew; without it such a directory is refused",
    )
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint, with its own config; it "
        "ends with the same metrics as an uninterrupted run",
    )
    train.add_argument(
        "--allow-changed",
        nargs="+",
        default=(),
        metavar="KEY",
        help="with --resume: continue although RUN_DIR's config.yaml differs from the config its "
        "checkpoint was trained with in KEY (e.g. optim.lr; a section name allows all its keys); "
        "the change is recorded in metrics.jsonl. Without it such a resume is refused",
    )

    ev = sub.add_parser(
        "eval",
        help="evaluate a run's final model on its test sets",
        description="Load RUN_DIR's checkpoint, print source/target test accuracy and write "
        "eval.json in RUN_DIR.",
    )
    _run_dir(ev)
    ev.add_argument(
        "--step",
        type=int,
        metavar="N",
        help="evaluate the snapshot of step N (trainer.snapshot_every) instead of the final model",
    )

    sel = sub.add_parser(
        "select",
        help="rank the snapshots of runs without target labels",
        description="Score every snapshot of every RUN_DIR with a label-free validator (no "
        "target label is read), print them ranked, write selection.json into each run "
        "directory and name the chosen run and step. Where the target test set has labels, the "
        "chosen model's target accuracy is printed beside the choice, marked as not used.",
    )
    sel.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="runs of one task")
    sel.add_argument(
        "--validator",
        help="im (the default: the best of them in benchmarks/results/validator_pool.md), "
        "source_val_acc, source_val_acc_im, entropy, bnm, snd, dev, devn, class_ami, mixval, "
        "mixval_inter, mixval_intra, mano or transfer_score "
        "(source_val_acc, source_val_acc_im, dev and devn need data.source_val_fraction > 0 "
        "in the runs)",
    )

    tun = sub.add_parser(
        "tune",
        help="search config values without target labels; write the chosen config",
        description="Train one run per setting of the --space keys (the whole grid, or --trials "
        "of them drawn by Optuna's TPE sampler) or per --candidate under OUT/trial-NNN, score "
        "each last iterate by a label-free validator, and write OUT/best.yaml (the chosen "
        "config), OUT/tune.json and OUT/tune.md. No target label is read; target test "
        "accuracy is printed beside each trial once the choice is on disk, marked as not used. "
        "Run the same command again to resume a killed search: finished trials are kept.",
    )
    tun.add_argument("config", help="YAML config file, or the name of a packaged config")
    tun.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a dotted config key and the values to try, read as YAML (repeatable), e.g. "
        "--space optim.lr=0.01,0.001 --space model.hidden=[64],[100,100]",
    )
    tun.add_argument(
        "--candidate",
        dest="candidates",
        action="append",
        default=[],
        metavar="'{KEY: V, ...}'",
        help="instead of --space: one setting to try, a YAML mapping of dotted keys to values "
        "(repeatable; each tried as it is, no grid), e.g. --candidate '{optim.lr: 0.01}' "
        "--candidate '{optim.name: adam, optim.lr: 0.001}'",
    )
    tun.add_argument("--out", required=True, help="folder for the trials and the choice")
    tun.add_argument(
        "--trials",
        type=int,
        metavar="N",
        help="run N settings chosen by Optuna's TPE sampler (pip install 'unshift[tune]') "
        "instead of the whole grid",
    )
    tun.add_argument(
        "--validator",
        help="as for select (default: im); the ones reading held-out source data "
        "need --set data.source_val_fraction=0.1",
    )
    tun.add_argument("--seed", type=int, help="the seed of every trial (default: the config's)")
    tun.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value in every trial (repeatable)",
    )
    tun.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="import a module or .py file of your own methods, networks or datasets first",
    )

    rep = sub.add_parser(
        "report",
        help="(re)write a run's report.md and plots",
        description="Write RUN_DIR/report.md with curves, the confusion matrix and, for 2-D "
        "data, decision boundaries.",
    )
    _run_dir(rep)
    rep.add_argument(
        "--baseline",
        metavar="RUN_DIR",
        help="another run (e.g. source-only) to draw beside this one",
    )

    pred = sub.add_parser(
        "predict",
        help="predict new data with a trained run",
        description="Predictions of RUN_DIR's model for DATA: a feature file of the run's width "
        "(any format train reads), or for image runs a directory of images, an image file or "
        "an .npz of images (matched to the run's channels and size). The table holds a row id "
        "(image file names), the predicted label in the data's own label values and each "
        "class's probability. No training data is read.",
    )
    _run_dir(pred)
    pred.add_argument("data", metavar="DATA", help="the inputs to predict")
    pred.add_argument(
        "--out",
        metavar="FILE",
        help="CSV, or Parquet for .parquet (default: predictions.csv in RUN_DIR)",
    )
    pred.add_argument("--step", type=int, metavar="N", help="use the snapshot of step N")
    pred.add_argument(
        "--non-finite",
        choices=["refuse", "missing"],
        default="refuse",
        help="input rows holding NaN or an infinity: refuse the file, naming them (default), or "
        "write them as rows with an empty label and empty probabilities",
    )

    exp = sub.add_parser(
        "export",
        help="write a trained run's inference model for serving (ONNX, TorchScript, torch.export)",
        description="Write what predict computes (the run's input preparation and the "
        "network from inputs to class logits; no gradient reversal or discriminator) as a "
        "file: input 'x' float32 (N, *input_shape), output 'logits' (N, C). ONNX needs "
        "pip install 'unshift[export]'.",
    )
    _run_dir(exp)
    exp.add_argument(
        "--format", choices=["onnx", "torchscript", "export"], default="onnx", help="(default onnx)"
    )
    exp.add_argument(
        "--out", metavar="FILE", help="default: model.onnx, model.pt or model.pt2 in RUN_DIR"
    )
    exp.add_argument("--step", type=int, metavar="N", help="use the snapshot of step N")

    cfgs = sub.add_parser(
        "configs",
        help="list the packaged configs (or show one)",
        description="The configs shipped with unshift; `unshift train NAME` takes any of them.",
    )
    shown = cfgs.add_subparsers(dest="configs_command", metavar="show")
    show = shown.add_parser("show", help="print a packaged config")
    show.add_argument("name", metavar="NAME", help="e.g. moons/dann")

    data = sub.add_parser("data", help="generate datasets", description="Generate datasets.")
    kinds = data.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    mm = kinds.add_parser(
        "mnist-m",
        help="MNIST-M: MNIST digits blended with patches of colour photographs",
        description="Write mnist_m_train.npz / mnist_m_test.npz (uint8 (N, 3, 28, 28) and "
        "labels), README.md naming the photographs used, and montage.png into OUT: every "
        "MNIST digit blended with a random patch of a photograph, |patch - digit| per channel "
        "(DANN paper). Deterministic for a seed.",
    )
    mm.add_argument("--mnist", required=True, metavar="DIR", help="MNIST idx files")
    mm.add_argument("--photos", required=True, metavar="DIR", help="colour photographs")
    mm.add_argument("--out", required=True, metavar="DIR", help="output directory")
    mm.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ex = kinds.add_parser(
        "export-folders",
        help="write MNIST, USPS or MNIST-M as image folders",
        description="Write OUT/train/<class>/<i>.png and OUT/test/<class>/<i>.png: the layout "
        "that data.name=image_folder reads (lossless PNG, the dataset's own channels and size).",
    )
    ex.add_argument("name", choices=["mnist", "usps", "mnist_m"], help="the dataset")
    ex.add_argument(
        "--dir",
        required=True,
        metavar="DIR",
        help="where it is: MNIST's idx files, usps.h5, or MNIST-M's .npz files",
    )
    ex.add_argument("--out", required=True, metavar="DIR", help="output directory")
    ex.add_argument("--max", type=int, metavar="N", help="only the first N images of each split")
    return parser
