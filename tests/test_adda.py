import pytest
import torch
from torch import nn

from unshift.core.errors import ConfigError
from unshift.data import rotated_moons
from unshift.methods import ADDA
from unshift.models import mlp
from unshift.nn import DomainDiscriminator
from unshift.nn.losses import adda_mapping_loss
from unshift.training.build import build_data, build_method, build_trainer
from unshift.training.config import load_config
from unshift.training.trainer import OptimizerSpec, Trainer

from .conftest import CONFIGS


def adda(pretrain_steps, **kwargs):
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.Tanh())
    disc = DomainDiscriminator(16, hidden=(16,), batch_norm=False, dropout=0.0)
    return ADDA(encoder, nn.Linear(16, 2), 16, pretrain_steps, disc, **kwargs)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_phases_honour_k_d_and_k_g():
    method = adda(5, k_d=2, k_g=3)
    assert [p.name for p in method.phases(4)] == ["pretrain"]
    assert [p.name for p in method.phases(5)] == ["discriminator"] * 2 + ["target"] * 3
    assert {o for p in method.phases(5) for o in p.optimizers} == {"discriminator", "target"}


class Counting(ADDA):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = {}

    def forward(self, sources, targets, phase="pretrain"):
        self.calls[phase] = self.calls.get(phase, 0) + 1
        return super().forward(sources, targets, phase)


def test_trainer_runs_each_phase_as_often_as_asked():
    torch.manual_seed(0)
    encoder = mlp(2, [8], "tanh")
    method = Counting(encoder, nn.Linear(8, 2), 8, pretrain_steps=4, k_d=2, k_g=3)
    Trainer(max_steps=10, batch_size=16).fit(method, rotated_moons(n_train=64, n_test=32))
    assert method.calls == {"pretrain": 4, "discriminator": 12, "target": 18}


class Recording(ADDA):
    """Records, per phase, the target batch it was given and how often ``M_t`` ran."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = []
        self.target_encoder.register_forward_hook(lambda *_: self.log.append("M_t"))

    def forward(self, sources, targets, phase="pretrain"):
        self.log.append((phase, targets[0]))
        return super().forward(sources, targets, phase)


def test_first_target_step_reuses_the_last_discriminator_batch_and_forward_pass():
    torch.manual_seed(0)
    method = Recording(mlp(2, [8], "tanh"), nn.Linear(8, 2), 8, pretrain_steps=0, k_d=2, k_g=3)
    Trainer(max_steps=1, batch_size=16).fit(method, rotated_moons(n_train=64, n_test=32))
    step = method.log[:9]  # the rest is the final evaluation
    # 2 discriminator, then 3 target steps: M_t runs in each but the first target step.
    assert [e if e == "M_t" else e[0] for e in step] == [
        *["discriminator", "M_t"] * 2,
        "target",
        *["target", "M_t"] * 2,
    ]
    batches = [e[1] for e in step if e != "M_t"]
    assert batches[0] is not batches[1]  # each discriminator step draws a fresh batch
    assert batches[2] is batches[1]  # the first target step sees the last discriminator batch
    assert batches[3] is not batches[2] and batches[4] is not batches[3]


def test_reused_target_features_are_scored_by_the_updated_discriminator():
    data = rotated_moons(n_train=64, n_test=32)
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(2, 16), nn.Tanh())
    disc = DomainDiscriminator(16, hidden=(16,), batch_norm=False, dropout=0.0)
    method = ADDA(encoder, nn.Linear(16, 2), 16, 0, disc)
    sources = [(data.sources[0].x[:16], data.sources[0].y[:16])]
    targets = [data.targets[0].x[:16]]
    d_opt = torch.optim.SGD(method.discriminator.parameters(), lr=1.0)
    method(sources, targets, "discriminator")[0].backward()
    d_opt.step()

    def target_grads():
        method.zero_grad()
        loss, _ = method(sources, targets, "target")
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in method.target_encoder.parameters()]

    reused_loss, reused = target_grads()  # the features of the discriminator step
    fresh_loss, fresh = target_grads()  # nothing pending now: a new forward pass of M_t
    assert torch.equal(reused_loss, fresh_loss)
    for a, b in zip(reused, fresh, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-7)
    assert any(g.abs().sum() > 0 for g in reused)


def test_phase_2_starts_from_the_source_encoder_and_keeps_it_frozen():
    data = rotated_moons(n_train=64, n_test=32)
    method = adda(pretrain_steps=30)
    opt = OptimizerSpec(name="adam", lr=2e-3, betas=(0.5, 0.999), lr_schedule="constant")
    Trainer(max_steps=30, batch_size=16, optimizer=opt).fit(method, data)
    assert not bool(method.adapting)
    source_after_phase_1 = snapshot(method.feature_extractor)
    head_after_phase_1 = snapshot(method.label_head)

    method.pretrain_steps = 0  # everything from here is phase 2
    sources = [(data.sources[0].x[:16], data.sources[0].y[:16])]
    method.eval()  # so that this forward pass moves no BatchNorm statistics of M_t
    method(sources, [data.targets[0].x[:16]], "discriminator")
    target_start = snapshot(method.target_encoder)
    for key, value in source_after_phase_1.items():
        assert torch.equal(target_start[key], value), key

    Trainer(max_steps=20, batch_size=16, optimizer=opt).fit(method, data)
    for key, value in snapshot(method.feature_extractor).items():
        assert torch.equal(value, source_after_phase_1[key]), f"M_s.{key} moved"
    for key, value in snapshot(method.label_head).items():
        assert torch.equal(value, head_after_phase_1[key]), f"C.{key} moved"
    moved = snapshot(method.target_encoder)
    assert any(not torch.equal(moved[k], target_start[k]) for k in moved)


@pytest.mark.parametrize("objective", ["gan", "minimax", "confusion"])
def test_each_mapping_objective_trains(objective):
    method = adda(pretrain_steps=100, objective=objective)
    opt = OptimizerSpec(name="adam", lr=2e-3, betas=(0.5, 0.999), lr_schedule="constant")
    data = rotated_moons(n_train=64, n_test=64)
    final = Trainer(max_steps=150, batch_size=16, optimizer=opt).fit(method, data)
    # M_t's predictions stay far above chance (0.5) on both domains: measured 0.84-0.86
    # source, 0.77 target, for all three objectives.
    assert bool(method.adapting)
    assert final["source_acc"] > 0.75 and final["target_acc"] > 0.65


def test_the_objectives_gradients_are_their_formulas():
    z = torch.tensor([-2.0, 0.0, 1.5], dtype=torch.float64, requires_grad=True)
    d = torch.sigmoid(z.detach())  # D(x_t): the probability of "target"
    expected = {"gan": d, "minimax": 1 - d, "confusion": d - 0.5}
    for objective, want in expected.items():
        (grad,) = torch.autograd.grad(adda_mapping_loss(z, objective), z)
        assert torch.allclose(grad, want / 3), objective


def test_bad_arguments():
    with pytest.raises(ValueError, match="objective must be one of"):
        adda(5, objective="wgan")
    with pytest.raises(ValueError, match="k_d must be >= 1"):
        adda(5, k_d=0)


class Crash(RuntimeError):
    pass


class CrashingADDA(ADDA):
    """Dies on its ``crash_at``-th forward call, like a killed process."""

    crash_at = 0

    def forward(self, sources, targets, phase="pretrain"):
        CrashingADDA.crash_at -= 1
        if CrashingADDA.crash_at == 0:
            raise Crash
        return super().forward(sources, targets, phase)


def test_killed_in_phase_2_resumes_to_the_same_result(tmp_path):
    data = rotated_moons(n_train=64, n_test=128)

    def build(cls):
        torch.manual_seed(0)
        encoder = nn.Sequential(nn.Linear(2, 16), nn.Tanh())
        disc = DomainDiscriminator(16, hidden=(16,), batch_norm=False, dropout=0.0)
        return cls(encoder, nn.Linear(16, 2), 16, 12, disc)

    def trainer(run_dir):
        return Trainer(max_steps=30, batch_size=16, run_dir=run_dir, checkpoint_every=5, seed=3)

    straight = trainer(tmp_path / "a").fit(build(ADDA), data)
    CrashingADDA.crash_at = 12 + 2 * 8 + 1  # phase 1: 1 call per step, phase 2: 2 per step
    with pytest.raises(Crash):
        trainer(tmp_path / "b").fit(build(CrashingADDA), data)
    state = torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["step"] == 20 and bool(state["model"]["adapting"])
    resumed = trainer(tmp_path / "b").fit(build(ADDA), data, resume=True)
    assert {k: v for k, v in resumed.items() if k != "wall_s"} == {
        k: v for k, v in straight.items() if k != "wall_s"
    }


def test_shared_layers_are_the_source_modules_and_stay_frozen():
    data = rotated_moons(n_train=64, n_test=32)
    method = adda(pretrain_steps=5, shared_layers=1)
    assert method.target_encoder[0] is method.feature_extractor[0]
    assert method.target_encoder[1] is not method.feature_extractor[1]
    target_params = {id(p) for p in method.param_groups()["target"]}
    assert not target_params & {id(p) for p in method.feature_extractor.parameters()}
    assert {id(p) for p in method.target_encoder[1].parameters()} <= target_params
    opt = OptimizerSpec(name="adam", lr=2e-3, betas=(0.5, 0.999), lr_schedule="constant")
    Trainer(max_steps=5, batch_size=16, optimizer=opt).fit(method, data)
    shared_before = snapshot(method.target_encoder[0])
    own_before = snapshot(method.target_encoder[1])
    method.pretrain_steps = 0
    Trainer(max_steps=20, batch_size=16, optimizer=opt).fit(method, data)
    for key, value in snapshot(method.target_encoder[0]).items():
        assert torch.equal(value, shared_before[key]), f"shared {key} moved"
    own = snapshot(method.target_encoder[1])
    assert any(not torch.equal(own[k], own_before[k]) for k in own if k.endswith("weight"))


def test_shared_layers_need_a_sequential_encoder_long_enough():
    with pytest.raises(ValueError, match=r"nn\.Sequential"):
        adda(0, shared_layers=4)
    with pytest.raises(ValueError, match="Linear"):
        ADDA(nn.Linear(2, 4), nn.Linear(4, 2), 4, 0, shared_layers=1)


def test_adapt_at_logits_makes_the_whole_network_the_encoder():
    overrides = ["method.name=adda", "method.k_d=1", "method.pretrain_steps=20"]
    overrides += ["method.adapt_at=logits", "method.shared_layers=2", "trainer.steps=40"]
    cfg = load_config(
        CONFIGS / "moons/source_only.yaml", [*overrides, "trainer.progress_bar=false"]
    )
    data = build_data(cfg)
    method = build_method(cfg, data)
    assert isinstance(method.label_head, nn.Identity)
    assert method.target_encoder[-1].out_features == 2  # the class logits
    assert method.discriminator.net[0].in_features == 2
    assert method.target_encoder[0] is method.feature_extractor[0]
    final = build_trainer(cfg, None).fit(method, data)
    assert final["source_acc"] > 0.7
    probe = data.target_test.x[:5]
    assert torch.equal(method.predict(probe), method.target_encoder(probe))


def test_adapt_at_logits_is_checked():
    with pytest.raises(
        ConfigError, match=r"unknown config key 'method\.adapt_at'; method 'dann' has"
    ):
        load_config(CONFIGS / "moons/dann.yaml", ["method.adapt_at=logits"])
    with pytest.raises(ConfigError, match=r"'method\.adapt_at': must be one of"):
        load_config(
            CONFIGS / "moons/source_only.yaml",
            ["method.name=adda", "method.k_d=1", "method.adapt_at=head"],
        )
