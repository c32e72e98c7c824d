"""Run by tests/test_distributed.py: DANN through the trainer on two CPU processes (DDP, gloo).

Usage: ``python tests/ddp_worker.py OUT_DIR [streamed]``. Fabric's launcher starts the second
process by running this script again. Each rank writes ``OUT_DIR/rank{r}.pt`` with its
parameters after training and a gradient check of the GRL under gradient all-reduce. With
``streamed``, both domains are streamed (one reader process each per rank) and every training
sample read is appended to ``OUT_DIR/reads_<domain>_<rank>.txt``.
"""

import copy
import os
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from unshift.data import Domain, StreamedDomain, TaskData, rotated_moons
from unshift.methods import DANN
from unshift.models import mlp
from unshift.nn import DomainDiscriminator
from unshift.nn.schedules import Constant
from unshift.training.trainer import Trainer


def dann(seed: int) -> DANN:
    torch.manual_seed(seed)
    disc = DomainDiscriminator(16, hidden=(16,), batch_norm=False, dropout=0.0)
    return DANN(mlp(2, [16, 16], "tanh"), nn.Linear(16, 2), 16, disc, schedule=Constant(0.8))


def feature_grads(module: nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in module.feature_extractor.parameters()]


class LoggedReads(torch.utils.data.Dataset):
    """Rows of ``x``; each read is appended to ``<prefix>_<rank>.txt`` (the rank from the
    environment Fabric's launcher gives each process and its readers)."""

    def __init__(self, x: torch.Tensor, prefix: Path) -> None:
        self.x, self.prefix = x, prefix

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> torch.Tensor:
        with open(f"{self.prefix}_{os.environ.get('LOCAL_RANK', '0')}.txt", "a") as fh:
            fh.write(f"{i}\n")
        return self.x[i]


def streamed(task: TaskData, out: Path) -> TaskData:
    """``task`` with its training domains streamed by one reader process each."""

    def stream(domain: Domain, name: str) -> StreamedDomain:
        return StreamedDomain(
            domain.x, domain.y, (2,), name, num_workers=1,
            train_dataset=LoggedReads(domain.x, out / f"reads_{name}"),
        )  # fmt: skip

    source, target = task.sources[0], task.targets[0]
    return TaskData(
        [stream(source, "source")], [stream(target.unlabelled(), "target")], task.num_classes,
        source_test=task.source_test, target_test=task.target_test,
    )  # fmt: skip


def main(out: Path, mode: str) -> None:
    trainer = Trainer(
        max_steps=20,
        batch_size=32,
        run_dir=out / "run",
        devices=2,
        strategy="ddp",
        checkpoint_every=10,
        log_every=5,
        progress_bar=False,
    )
    method = dann(0)
    task = rotated_moons(n_train=128, n_test=64)
    trainer.fit(method, streamed(task, out) if mode == "streamed" else task)
    fabric = trainer.fabric
    rank = fabric.global_rank

    # The GRL under gradient all-reduce: the synced feature gradient must equal the mean over
    # ranks of (label gradient - 0.8 * plain domain gradient), computed locally without DDP.
    fresh = dann(1)
    local = copy.deepcopy(fresh)
    wrapped = fabric.setup_module(fresh)
    gen = torch.Generator().manual_seed(100 + rank)
    xs, xt = torch.randn(24, 2, generator=gen), torch.randn(24, 2, generator=gen) + 1.0
    ys = torch.randint(0, 2, (24,), generator=gen)
    loss, _ = wrapped([(xs, ys)], [xt], "joint")
    fabric.backward(loss)
    synced = feature_grads(fresh)

    label = F.cross_entropy(local.predict(xs), ys)
    local.zero_grad()
    label.backward()
    g_label = feature_grads(local)
    local.zero_grad()
    f_s, f_t = local.features(xs), local.features(xt)
    logits = local.adversarial.discriminator(torch.cat([f_s, f_t])).squeeze(1)
    bce = F.binary_cross_entropy_with_logits
    plain = 0.5 * (bce(logits[:24], torch.zeros(24)) + bce(logits[24:], torch.ones(24)))
    plain.backward()
    g_domain = feature_grads(local)
    expected = [
        fabric.all_reduce(a - 0.8 * b, reduce_op="mean")
        for a, b in zip(g_label, g_domain, strict=True)
    ]
    unreversed = [
        fabric.all_reduce(a + 0.8 * b, reduce_op="mean")
        for a, b in zip(g_label, g_domain, strict=True)
    ]
    torch.save(
        {
            "params": [p.detach().clone() for p in method.parameters()],
            "grad_error": max(
                float((s - e).abs().max()) for s, e in zip(synced, expected, strict=True)
            ),
            "grad_scale": max(float(e.abs().max()) for e in expected),
            "unreversed_error": max(
                float((s - u).abs().max()) for s, u in zip(synced, unreversed, strict=True)
            ),
            "world_size": fabric.world_size,
        },
        out / f"rank{rank}.pt",
    )
    # An orderly end of the process group: without it, torch 2.14's gloo threads can still be
    # running when the interpreter exits, which aborts the process ("terminate called without
    # an active exception", exit -6) now and then.
    fabric.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "memory")
