"""Activation checkpointing in the DiT (`DiT.checkpointing`): off by default, the same loss and gradients as
without it, and fewer activations kept for the backward pass."""
import copy

import torch

from diffusion_core.maths.objective import training_losses
from diffusion_core.maths.schedules import make_schedule
from tests.networks.tiny_dit import tiny_dit


def loss_and_grads(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0, noise = torch.rand(6, 1, 28, 28, generator=g) * 2 - 1, torch.randn(6, 1, 28, 28, generator=g)
    t, y = torch.randint(0, 1000, (6,), generator=g), torch.tensor([0, 1, 2, 3, 10, 9])
    loss = training_losses(model, make_schedule("cosine", 1000), x0, t, y, noise=noise)["loss"].mean()
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


def test_checkpointing_is_off_by_default_and_changes_neither_the_loss_nor_the_gradients():
    plain = tiny_dit(0.05).train()
    assert plain.checkpointing is False
    recomputed = copy.deepcopy(plain)
    recomputed.checkpointing = True
    loss_a, grads_a = loss_and_grads(plain)
    loss_b, grads_b = loss_and_grads(recomputed)
    torch.testing.assert_close(loss_b, loss_a, rtol=0, atol=0)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-8)


def saved_bytes(model) -> int:
    """The bytes of the tensors autograd keeps for the backward pass of one forward (outside any checkpoint)."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    x, t, y = torch.randn(8, 1, 28, 28), torch.full((8,), 500), torch.zeros(8, dtype=torch.long)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x, t, y).sum()
    return total[0]


def test_checkpointing_keeps_fewer_activations_and_only_while_training():
    model = tiny_dit(0.05).train()
    kept = saved_bytes(model)
    model.checkpointing = True
    assert saved_bytes(model) < kept / 2
    assert saved_bytes(model.eval()) == kept  # evaluation never recomputes: the flag is for training
