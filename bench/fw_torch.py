"""PyTorch eager peer: the hand-written training loop and inference a PyTorch user would write.

Training: nn.Sequential, CrossEntropyLoss on logits, per batch zero_grad/forward/loss/backward/
step, batches sliced from a tensor re-shuffled each epoch with torch.randperm. `fused=True` is the
same loop with Adam(fused=True). Inference: model.eval() under torch.inference_mode(), softmax
included so the output matches densekit's predict (probabilities). This file must stay a faithful
"typical user" baseline: no torch.compile, no tricks a user would not write.
"""

from __future__ import annotations

import torch
from torch import nn

from timing import latency_result, throughput_result, time_calls, time_epochs, train_result
from workloads import Activation, AlphaDropout, BatchNorm, Dense, Optimizer, Workload

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "selu": nn.SELU}


def _init_kernel(weight: torch.Tensor, name: str) -> None:
    # Weights are (out, in) in torch; the fan_in modes below use dim 1 = in, as Keras does.
    if name == "he_normal":
        nn.init.kaiming_normal_(weight, nonlinearity="relu")
    elif name == "lecun_normal":
        nn.init.kaiming_normal_(weight, nonlinearity="linear")
    elif name == "glorot_uniform":
        nn.init.xavier_uniform_(weight)
    else:
        raise NotImplementedError(f"initializer {name!r}")


def build(wl: Workload, inference: bool) -> nn.Sequential:
    """The workload's network. The final softmax is kept only for inference: for training,
    CrossEntropyLoss takes logits (the usual PyTorch idiom)."""
    torch.manual_seed(0)
    mods: list[nn.Module] = []
    n = wl.n_in
    for layer in wl.layers:
        if isinstance(layer, Dense):
            lin = nn.Linear(n, layer.units, bias=layer.use_bias)
            _init_kernel(lin.weight, layer.init)
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)
            mods.append(lin)
            n = layer.units
            if layer.activation == "softmax":
                if inference:
                    mods.append(nn.Softmax(dim=1))
            elif layer.activation is not None:
                mods.append(ACTIVATIONS[layer.activation]())
        elif isinstance(layer, BatchNorm):
            mods.append(nn.BatchNorm1d(n, eps=layer.epsilon, momentum=1.0 - layer.momentum))
        elif isinstance(layer, Activation):
            mods.append(ACTIVATIONS[layer.name]())
        elif isinstance(layer, AlphaDropout):
            mods.append(nn.AlphaDropout(layer.rate))
        else:
            raise NotImplementedError(f"layer {layer!r}")
    return nn.Sequential(*mods)


def _optimizer(spec: Optimizer, params, fused: bool) -> torch.optim.Optimizer:
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=spec.learning_rate, fused=fused or None)
    if fused:
        raise NotImplementedError(f"fused variant of {spec.name!r}")
    if spec.name == "nadam":
        return torch.optim.NAdam(params, lr=spec.learning_rate)
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.learning_rate, momentum=spec.momentum,
                               nesterov=spec.nesterov)
    raise NotImplementedError(f"optimizer {spec.name!r}")


def setup(threads: int) -> dict:
    torch.set_num_threads(threads)
    return {"torch_num_threads": torch.get_num_threads(), "torch_version": torch.__version__}


def train(wl: Workload, x, y, epochs: int, warmup: int, fused: bool = False) -> dict:
    model = build(wl, inference=False).train()
    opt = _optimizer(wl.optimizer, model.parameters(), fused)
    loss_fn = nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    n, B = len(X), wl.batch

    def epoch():
        perm = torch.randperm(n)
        xs, ys = X[perm], Y[perm]
        for i in range(0, n, B):
            opt.zero_grad()
            loss = loss_fn(model(xs[i:i + B]), ys[i:i + B])
            loss.backward()
            opt.step()
        return loss.item()

    times, losses = time_epochs(epoch, epochs, warmup)
    return train_result(times, n, losses)


def infer(wl: Workload, x, calls: int, warmup: int) -> dict:
    model = build(wl, inference=True).eval()
    xb = torch.from_numpy(x[: wl.batch].copy())
    with torch.inference_mode():
        times = time_calls(lambda: model(xb), calls, warmup)
    if wl.kind == "throughput":
        return throughput_result(times, wl.batch)
    return latency_result(times)
