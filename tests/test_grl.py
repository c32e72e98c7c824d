import pytest
import torch
from torch import nn

from unshift.nn import GradientReversal, GradientReverseFunction, grad_reverse
from unshift.nn.schedules import DannLambda


@pytest.mark.parametrize("coeff", [0.0, 0.3, 1.0, 2.5])
def test_jacobian_is_minus_coeff_identity(coeff):
    x = torch.randn(5, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda t: grad_reverse(t, coeff), x)
    assert torch.equal(jac, -coeff * torch.eye(5, dtype=torch.float64))


def test_three_forms_agree():
    x = torch.randn(4, 3, requires_grad=True)
    upstream = torch.randn(4, 3)
    grads = []
    for fn in (
        lambda t: GradientReverseFunction.apply(t, 0.7),
        lambda t: grad_reverse(t, 0.7),
        GradientReversal(0.7),
    ):
        (g,) = torch.autograd.grad(fn(x), x, upstream)
        grads.append(g)
    for g in grads:
        assert torch.equal(g, -0.7 * upstream)


def test_forward_is_an_alias_sharing_storage():
    x = torch.randn(8, 3, 4, 4).to(memory_format=torch.channels_last).requires_grad_()
    y = grad_reverse(x, 1.0)
    assert y.data_ptr() == x.data_ptr()
    assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert y.shape == x.shape and y.dtype == x.dtype and y.stride() == x.stride()
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(y, x)


def test_zero_coeff_gives_zero_gradient_and_keeps_graph():
    x = torch.randn(6, requires_grad=True)
    y = grad_reverse(x, 0.0)
    assert y.grad_fn is not None
    (y * 3).sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad, torch.zeros(6))


def test_tensor_coeff_gets_no_gradient_and_can_change_each_step():
    coeff = torch.tensor(0.5, requires_grad=True)
    x = torch.randn(3, requires_grad=True)
    grad_reverse(x, coeff).sum().backward()
    assert coeff.grad is None
    assert torch.equal(x.grad, torch.full((3,), -0.5))
    module = GradientReversal(torch.tensor(0.5))
    for value in (0.1, 0.9):
        module.coeff = torch.tensor(value)
        x.grad = None
        module(x).sum().backward()
        assert torch.allclose(x.grad, torch.full((3,), -value))


@pytest.mark.parametrize("bad", [-0.1, torch.tensor(-1.0)])
def test_negative_coeff_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="positive-coefficient convention"):
        grad_reverse(torch.randn(2), bad)
    with pytest.raises(ValueError, match="coeff must be >= 0"):
        GradientReversal(bad)


def test_non_scalar_tensor_coeff_is_rejected():
    with pytest.raises(ValueError, match="0-dim"):
        grad_reverse(torch.randn(2), torch.tensor([1.0, 2.0]))


def test_module_with_schedule_follows_progress():
    module = GradientReversal(DannLambda())
    x = torch.randn(4, requires_grad=True)
    module.progress = 0.0
    module(x).sum().backward()
    assert torch.equal(x.grad, torch.zeros(4))
    module.progress = 1.0
    x.grad = None
    module(x).sum().backward()
    expected = 2 / (1 + torch.exp(torch.tensor(-10.0, dtype=torch.float64))) - 1
    assert torch.allclose(x.grad, torch.full((4,), -float(expected)))
    assert "DannLambda" in repr(module)


def test_only_upstream_parameters_see_reversed_gradients():
    torch.manual_seed(0)
    up, down = nn.Linear(4, 4), nn.Linear(4, 1)
    x = torch.randn(16, 4)

    def grads(with_grl):
        up.zero_grad()
        down.zero_grad()
        h = up(x)
        if with_grl:
            h = grad_reverse(h, 1.0)
        down(h).pow(2).mean().backward()
        return up.weight.grad.clone(), down.weight.grad.clone()

    up_plain, down_plain = grads(False)
    up_rev, down_rev = grads(True)
    assert torch.equal(up_rev, -up_plain)
    assert torch.equal(down_rev, down_plain)


def test_autocast_bfloat16_cpu():
    lin = nn.Linear(8, 8)
    x = torch.randn(4, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = lin(x)
        y = grad_reverse(h, 0.5)
        assert y.dtype == torch.bfloat16
        loss = y.float().sum()
    loss.backward()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h2 = lin(x)
    (g_plain,) = torch.autograd.grad(h2.float().sum(), x)
    assert torch.allclose(x.grad, -0.5 * g_plain, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_torch_compile(backend):
    torch._dynamo.reset()
    lin = nn.Linear(6, 6)

    def f(x, coeff):
        return lin(grad_reverse(lin(x), coeff)).sum()

    compiled = torch.compile(f, backend=backend)
    x = torch.randn(3, 6, requires_grad=True)
    (g_eager,) = torch.autograd.grad(f(x, 0.4), x)
    (g_compiled,) = torch.autograd.grad(compiled(x, 0.4), x)
    assert torch.allclose(g_compiled, g_eager, atol=1e-6)
    (g_compiled_other,) = torch.autograd.grad(compiled(x, 0.8), x)
    assert torch.allclose(g_compiled_other, 2 * g_eager, atol=1e-6)


def test_changing_float_coeff_does_not_recompile_every_step():
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    lin = nn.Linear(6, 6)
    counter = CompileCounter()
    compiled = torch.compile(lambda x, c: lin(grad_reverse(lin(x), c)).sum(), backend=counter)
    x = torch.randn(3, 6, requires_grad=True)
    for step in range(8):
        compiled(x, 0.05 + 0.1 * step).backward()
    assert counter.frame_count <= 2


def test_an_in_place_op_right_after_the_layer_keeps_the_reversed_gradient():
    x = torch.randn(4, requires_grad=True)
    h = x * 2
    y = grad_reverse(h, 0.5)
    y.mul_(3)
    y.sum().backward()
    assert torch.allclose(x.grad, torch.full((4,), -0.5 * 3 * 2))


def test_torch_func_grad_and_vmap():
    from torch.func import grad, vmap

    x = torch.randn(5, 3)
    per_sample = vmap(grad(lambda row: (grad_reverse(row, 0.25) ** 2).sum()))(x)
    assert torch.allclose(per_sample, -0.25 * 2 * x)
    coeff = torch.tensor(0.5)
    assert torch.allclose(vmap(lambda row: grad_reverse(row, coeff))(x), x)


def test_compiling_a_scheduled_adversarial_loss_compiles_once():
    from torch._dynamo.testing import CompileCounter

    from unshift.nn import AdversarialLoss

    torch._dynamo.reset()
    torch.manual_seed(0)
    adv = AdversarialLoss(6, discriminator=nn.Linear(6, 1), schedule=DannLambda())
    counter = CompileCounter()
    compiled = torch.compile(adv, backend=counter)
    f_src, f_tgt = torch.randn(4, 6, requires_grad=True), torch.randn(4, 6)
    grads = []
    for step in range(6):
        adv.progress = step / 5
        f_src.grad = None
        compiled(f_src, f_tgt).backward()
        grads.append(f_src.grad.abs().sum().item())
    assert counter.frame_count == 1
    assert grads[0] == 0.0 and grads[-1] > grads[1] > 0  # λ followed the schedule


def test_torch_export_refuses_instead_of_dropping_the_reversal():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.grl = GradientReversal(0.5)
            self.lin = nn.Linear(3, 1)

        def forward(self, x):
            return self.lin(self.grl(x))

    with pytest.raises(Exception, match="would drop the gradient reversal"):
        torch.export.export(Model(), (torch.randn(2, 3),))


def test_a_tensor_coeff_s_value_is_never_read_off_the_host():
    # A meta tensor has no value: reading it (as a CUDA sync would) raises.
    coeff = torch.tensor(0.5, device="meta")
    x = torch.empty(3, device="meta", requires_grad=True)
    assert grad_reverse(x, coeff).shape == (3,)
    assert GradientReversal(coeff)(x).device.type == "meta"


def test_compiling_dann_s_training_step_compiles_once():
    from torch._dynamo.testing import CompileCounter

    from unshift.methods import DANN

    torch._dynamo.reset()
    torch.manual_seed(0)
    method = DANN(nn.Sequential(nn.Linear(2, 8), nn.ReLU()), nn.Linear(8, 2), feature_dim=8)
    counter = CompileCounter()
    compiled = torch.compile(method, backend=counter)
    sources = [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))]
    targets = [torch.randn(4, 2)]
    coeffs = []
    for step in range(5):
        method.set_progress(step / 4)
        loss, logs = compiled(sources, targets, "joint")
        loss.backward()
        coeffs.append(float(logs["coeff"]))
    assert counter.frame_count == 1
    assert coeffs[0] == 0.0 and coeffs == sorted(coeffs) and coeffs[-1] > 0.99
