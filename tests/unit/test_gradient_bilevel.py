"""DARTS' bi-level step: the second-order α gradient is the derivative of the unrolled objective."""
import torch
import torch.nn.functional as F

from genocompile.searchers.gradient.bilevel import (Hyper, cosine_lr, first_order_grads, hessian_vector_product,
                                                    second_order_grads, unrolled_weights)
from genocompile.searchers.gradient.supernet import SuperNet, SupernetSpec

ETA = 0.5  # large, so the implicit (Hessian) term is a sizeable part of the gradient


def _setup(seed=0):
    torch.manual_seed(seed)
    model = SuperNet(SupernetSpec(channels=4, layers=3, steps=2)).double()
    with torch.no_grad():
        for a in model.arch_parameters():
            a.normal_(0, 0.5)
    x = torch.randn(12, 3, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 10, (12,))
    momentum = [0.1 * torch.randn_like(w) for w in model.weights()]
    return model, (x[:6], y[:6]), (x[6:], y[6:]), momentum


def _unrolled_objective(model, alphas, train, valid, momentum, h):
    """L_val(w'(α), α), everything recomputed from scratch for the given α."""
    with torch.no_grad():
        for a, v in zip(model.arch_parameters(), alphas):
            a.copy_(v)
    w_prime = unrolled_weights(model, *train, ETA, momentum, h)
    params = {**dict(zip([n for n, _ in model.named_weights()], w_prime)),
              **dict(zip(model.ARCH_NAMES, [a.detach() for a in alphas]))}
    with torch.no_grad():
        return float(F.cross_entropy(torch.func.functional_call(model, params, (valid[0],)), valid[1]))


def test_second_order_gradient_matches_finite_differences_of_the_unrolled_objective():
    model, train, valid, momentum = _setup()
    h = Hyper()
    base = [a.detach().clone() for a in model.arch_parameters()]
    grads = second_order_grads(model, *train, *valid, ETA, momentum, h, r=1e-5)
    first = first_order_grads(model, *valid)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        direction = [torch.randn(a.shape, generator=gen, dtype=torch.float64) for a in base]
        step = 1e-7  # ReLU and max-pool kinks make larger steps cross non-smooth points
        plus = _unrolled_objective(model, [a + step * d for a, d in zip(base, direction)], train, valid, momentum, h)
        minus = _unrolled_objective(model, [a - step * d for a, d in zip(base, direction)], train, valid, momentum, h)
        numeric = (plus - minus) / (2 * step)
        analytic = sum(float((g * d).sum()) for g, d in zip(grads, direction))
        naive = sum(float((g * d).sum()) for g, d in zip(first, direction))
        assert abs(analytic - numeric) <= 1e-4 * max(1.0, abs(numeric)), (analytic, numeric)
        # The check can fail: dropping the implicit term (first order) misses the derivative.
        assert abs(naive - numeric) > 100 * abs(analytic - numeric)


def test_finite_difference_hvp_matches_double_backward():
    model, train, _, _ = _setup(seed=2)
    v = [torch.randn_like(w) for w in model.weights()]
    approx = hessian_vector_product(model, v, *train, r=1e-5)
    loss = F.cross_entropy(model(train[0]), train[1])
    gw = torch.autograd.grad(loss, model.weights(), create_graph=True)
    exact = torch.autograd.grad(sum((g * t).sum() for g, t in zip(gw, v)), model.arch_parameters())
    for a, e in zip(approx, exact):
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-7)


def test_cosine_schedule_is_darts_and_stretches_with_the_budget():
    h = Hyper()
    assert cosine_lr(h, 0, 50) == h.lr
    assert abs(cosine_lr(h, 50, 50) - h.lr_min) < 1e-12
    assert cosine_lr(h, 5, 10) > cosine_lr(h, 5, 8)
