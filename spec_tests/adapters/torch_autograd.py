"""The protocol implemented with PyTorch's own machinery: ``--impl torch``.

Forward passes use torch.nn.functional and torch's activations; gradients come
from torch.autograd (``Tensor.backward`` with retained hidden-state gradients),
layer Jacobians from torch.autograd.functional.jacobian.  Nothing here computes
a derivative by hand, so the spec checks PyTorch, not this file's algebra.
All arrays cross the boundary as float64 numpy arrays.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

_ACTIVATIONS = {
    "linear": lambda a: a,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
}


def _activation(name: str):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}") from None


def _tensor(array, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=requires_grad)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy().copy()


def _layers(x, weights, biases, activation):
    sigma = _activation(activation)
    h = x
    pre, hidden = [], [h]
    for W, b in zip(weights, biases):
        a = torch.nn.functional.linear(h, W, b)
        h = sigma(a)
        pre.append(a)
        hidden.append(h)
    return pre, hidden


def mlp_forward(x, weights, biases, activation):
    with torch.no_grad():
        pre, hidden = _layers(_tensor(x), [_tensor(W) for W in weights], [_tensor(b) for b in biases], activation)
    return [_numpy(a) for a in pre], [_numpy(h) for h in hidden]


def mlp_backward(x, weights, biases, activation, grad_output):
    x_t = _tensor(x, requires_grad=True)
    W_t = [_tensor(W, requires_grad=True) for W in weights]
    b_t = [_tensor(b, requires_grad=True) for b in biases]
    _, hidden = _layers(x_t, W_t, b_t, activation)
    for h in hidden[1:]:
        h.retain_grad()
    hidden[-1].backward(_tensor(grad_output))
    grad_hidden = [x_t.grad] + [h.grad for h in hidden[1:]]
    return (
        [_numpy(g) for g in grad_hidden],
        [_numpy(W.grad) for W in W_t],
        [_numpy(b.grad) for b in b_t],
    )


def mlp_layer_jacobians(x, weights, biases, activation):
    sigma = _activation(activation)
    h = _tensor(x)
    jacobians = []
    for W, b in zip(weights, biases):
        W, b = _tensor(W), _tensor(b)
        layer = lambda v, W=W, b=b: sigma(torch.nn.functional.linear(v, W, b))
        jacobians.append(_numpy(torch.autograd.functional.jacobian(layer, h)))
        with torch.no_grad():
            h = layer(h)
    return jacobians


# -- recurrent layers: torch.nn.RNN / LSTM / GRU with the given weights -------------------


def _recurrent_module(kind: str, W_ih, W_hh, b_ih, b_hh, activation: str = "tanh"):
    """A one-layer, time-first torch.nn.RNN/LSTM/GRU holding copies of the given weights."""
    hidden_size, input_size = np.shape(W_hh)[1], np.shape(W_ih)[1]
    if kind == "rnn":
        module = torch.nn.RNN(input_size, hidden_size, nonlinearity=activation, dtype=torch.float64)
    else:
        module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](input_size, hidden_size, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W_ih), ("weight_hh_l0", W_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(module, name).copy_(_tensor(value))
    return module


def _parameter_grads(module):
    return [_numpy(getattr(module, name).grad) for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]


class _ExplicitRNN:
    """nn.RNN offers only tanh and relu; other activations unroll the same equation with torch ops."""

    def __init__(self, W_ih, W_hh, b_ih, b_hh, activation):
        self.sigma = _activation(activation)
        self.params = [_tensor(p, requires_grad=True) for p in (W_ih, W_hh, b_ih, b_hh)]
        self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0 = self.params

    def __call__(self, x, h0):
        W_ih, W_hh, b_ih, b_hh = self.params
        h, outputs = h0[0], []
        for x_t in x:
            h = self.sigma(torch.nn.functional.linear(x_t, W_ih, b_ih) + torch.nn.functional.linear(h, W_hh, b_hh))
            outputs.append(h)
        return torch.stack(outputs), h[None]


def _rnn(W_ih, W_hh, b_ih, b_hh, activation):
    if activation in ("tanh", "relu"):
        return _recurrent_module("rnn", W_ih, W_hh, b_ih, b_hh, activation)
    return _ExplicitRNN(W_ih, W_hh, b_ih, b_hh, activation)


def _stepped_hidden_states(module, x, h0, c0=None):
    """Run the module one time step at a time.  Each state h_t (and c_t) is the very tensor the
    next step consumes, so a retained .grad on it is the total gradient ∂L/∂h_t."""
    hidden, cells = [h0], ([c0] if c0 is not None else None)
    for t in range(x.shape[0]):
        if cells is None:
            _, h_n = module(x[t:t + 1], hidden[-1][None])
            hidden.append(h_n[0])
        else:
            _, (h_n, c_n) = module(x[t:t + 1], (hidden[-1][None], cells[-1][None]))
            hidden.append(h_n[0])
            cells.append(c_n[0])
    return hidden, cells


def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    module = _rnn(W_ih, W_hh, b_ih, b_hh, activation)
    with torch.no_grad():
        output, _ = module(_tensor(x), _tensor(h0)[None])
    return np.concatenate([np.asarray(h0, dtype=np.float64)[None], _numpy(output)])


def rnn_backward(x, h0, W_ih, W_hh, b_ih, b_hh, activation, grad_output):
    module = _rnn(W_ih, W_hh, b_ih, b_hh, activation)
    x_t, h0_t = _tensor(x, requires_grad=True), _tensor(h0, requires_grad=True)
    output, _ = module(x_t, h0_t[None])
    output.backward(_tensor(grad_output))
    # the total ∂L/∂h_t at every step: the same module stepped one time step at a time
    stepped = _rnn(W_ih, W_hh, b_ih, b_hh, activation)
    h0_s = _tensor(h0, requires_grad=True)
    states, _ = _stepped_hidden_states(stepped, _tensor(x), h0_s)
    for h in states[1:]:
        h.retain_grad()
    torch.stack(states[1:]).backward(_tensor(grad_output))
    grad_hidden = np.stack([_numpy(h0_s.grad)] + [_numpy(h.grad) for h in states[1:]])
    return (grad_hidden, _numpy(x_t.grad), *_parameter_grads(module))


def _step_jacobians(step, x, states):
    """torch.autograd.functional.jacobian of state ↦ step(x_t, state) at each visited state."""
    return [torch.autograd.functional.jacobian(lambda s, x_t=x_t: step(x_t, s), s) for x_t, s in zip(x, states)]


def rnn_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh, activation):
    module = _rnn(W_ih, W_hh, b_ih, b_hh, activation)
    x_t = _tensor(x)[:, None]
    with torch.no_grad():
        states, _ = _stepped_hidden_states(module, x_t, _tensor(h0)[None])

    def step(x_step, h):
        return module(x_step[None], h[None, None])[1][0, 0]

    return np.stack([_numpy(J) for J in _step_jacobians(step, x_t, [s[0] for s in states[:-1]])])


def lstm_forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    module = _recurrent_module("lstm", W_ih, W_hh, b_ih, b_hh)
    with torch.no_grad():
        output, _ = module(_tensor(x), (_tensor(h0)[None], _tensor(c0)[None]))
        _, cells = _stepped_hidden_states(module, _tensor(x), _tensor(h0), _tensor(c0))
    hidden = np.concatenate([np.asarray(h0, dtype=np.float64)[None], _numpy(output)])
    return hidden, np.stack([_numpy(c) for c in cells])


def lstm_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, grad_output, grad_cell):
    module = _recurrent_module("lstm", W_ih, W_hh, b_ih, b_hh)
    x_t, h0_t, c0_t = (_tensor(a, requires_grad=True) for a in (x, h0, c0))
    output, (_, c_n) = module(x_t, (h0_t[None], c0_t[None]))
    torch.autograd.backward([output, c_n[0]], [_tensor(grad_output), _tensor(grad_cell)])
    return (_numpy(x_t.grad), _numpy(h0_t.grad), _numpy(c0_t.grad), *_parameter_grads(module))


def lstm_step_jacobians(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    module = _recurrent_module("lstm", W_ih, W_hh, b_ih, b_hh)
    H = np.shape(h0)[0]
    x_t = _tensor(x)[:, None]
    with torch.no_grad():
        hs, cs = _stepped_hidden_states(module, x_t, _tensor(h0)[None], _tensor(c0)[None])

    def step(x_step, state):  # state = (h, c) concatenated
        _, (h, c) = module(x_step[None], (state[None, None, :H], state[None, None, H:]))
        return torch.cat([h[0, 0], c[0, 0]])

    full = [_numpy(J) for J in _step_jacobians(step, x_t, [torch.cat([h[0], c[0]]) for h, c in zip(hs[:-1], cs[:-1])])]
    return np.stack([J[H:, H:] for J in full]), np.stack(full)


def gru_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    module = _recurrent_module("gru", W_ih, W_hh, b_ih, b_hh)
    with torch.no_grad():
        output, _ = module(_tensor(x), _tensor(h0)[None])
    return np.concatenate([np.asarray(h0, dtype=np.float64)[None], _numpy(output)])


def gru_backward(x, h0, W_ih, W_hh, b_ih, b_hh, grad_output):
    module = _recurrent_module("gru", W_ih, W_hh, b_ih, b_hh)
    x_t, h0_t = _tensor(x, requires_grad=True), _tensor(h0, requires_grad=True)
    output, _ = module(x_t, h0_t[None])
    output.backward(_tensor(grad_output))
    return (_numpy(x_t.grad), _numpy(h0_t.grad), *_parameter_grads(module))


def gru_step_jacobians(x, h0, W_ih, W_hh, b_ih, b_hh):
    module = _recurrent_module("gru", W_ih, W_hh, b_ih, b_hh)
    H = np.shape(h0)[0]
    x_t = _tensor(x)[:, None]
    with torch.no_grad():
        states, _ = _stepped_hidden_states(module, x_t, _tensor(h0)[None])

    def step(x_step, h):
        return module(x_step[None], h[None, None])[1][0, 0]

    full = _step_jacobians(step, x_t, [s[0] for s in states[:-1]])
    # the direct path diag(z_t) needs the update gate itself, which nn.GRU does not expose:
    # z_t = σ(x_t W_izᵀ + b_iz + h_{t-1} W_hzᵀ + b_hz), from torch's own parameters
    W_iz, W_hz = module.weight_ih_l0[H:2 * H], module.weight_hh_l0[H:2 * H]
    b_z = module.bias_ih_l0[H:2 * H] + module.bias_hh_l0[H:2 * H]
    with torch.no_grad():
        direct = [torch.diag(torch.sigmoid(x_t[t, 0] @ W_iz.T + states[t][0] @ W_hz.T + b_z)) for t in range(len(x))]
    return np.stack([_numpy(d) for d in direct]), np.stack([_numpy(J) for J in full])


# -- remedies: torch.nn.utils clipping, torch.nn.init, torch.optim --------------------------


def _as_torch_grad(array):
    """A numpy gradient (float16/32/64 or ml_dtypes.bfloat16) as a torch tensor of the same dtype."""
    array = np.asarray(array)
    if array.dtype.name == "bfloat16":
        return torch.from_numpy(array.view(np.uint16).copy()).view(torch.bfloat16)
    return torch.from_numpy(array.copy())


def _as_numpy_grad(tensor, like):
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.uint16).numpy().view(np.asarray(like).dtype).copy()
    return tensor.numpy().copy()


def _parameters_with_grads(grads):
    parameters = []
    for g in grads:
        grad = _as_torch_grad(g)
        parameter = torch.nn.Parameter(torch.zeros_like(grad))
        parameter.grad = grad
        parameters.append(parameter)
    return parameters


def clip_grad_norm(grads, max_norm, norm_type):
    """torch.nn.utils.clip_grad_norm_ with its defaults (error_if_nonfinite=False)."""
    parameters = _parameters_with_grads(grads)
    total = torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=norm_type)
    return [_as_numpy_grad(p.grad, g) for p, g in zip(parameters, grads)], float(total)


def clip_grad_value(grads, clip_value):
    parameters = _parameters_with_grads(grads)
    torch.nn.utils.clip_grad_value_(parameters, clip_value)
    return [_as_numpy_grad(p.grad, g) for p, g in zip(parameters, grads)]


def _generator(seed):
    return torch.Generator().manual_seed(int(seed))


def _initialised(shape, init, *args, **kwargs):
    tensor = torch.empty(tuple(shape), dtype=torch.float64)
    init(tensor, *args, **kwargs)
    return tensor.numpy().copy()


def calculate_gain(nonlinearity, param=None):
    return float(torch.nn.init.calculate_gain(nonlinearity, param))


def xavier_uniform(shape, gain, seed):
    return _initialised(shape, torch.nn.init.xavier_uniform_, gain=gain, generator=_generator(seed))


def xavier_normal(shape, gain, seed):
    return _initialised(shape, torch.nn.init.xavier_normal_, gain=gain, generator=_generator(seed))


def kaiming_uniform(shape, a, mode, nonlinearity, seed):
    return _initialised(shape, torch.nn.init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity,
                        generator=_generator(seed))


def kaiming_normal(shape, a, mode, nonlinearity, seed):
    return _initialised(shape, torch.nn.init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity,
                        generator=_generator(seed))


def orthogonal(shape, gain, seed):
    return _initialised(shape, torch.nn.init.orthogonal_, gain=gain, generator=_generator(seed))


def normal(shape, std, seed):
    return _initialised(shape, torch.nn.init.normal_, mean=0.0, std=std, generator=_generator(seed))


def _learning_rates(num_steps, peak_lr, make_scheduler):
    parameter = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([parameter], lr=peak_lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(num_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates, dtype=np.float64)


def _linear_warmup(optimizer, warmup_steps):
    """torch.optim.lr_scheduler.LinearLR from peak/W, reaching the peak after W − 1 steps."""
    if warmup_steps == 1:
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / warmup_steps, end_factor=1.0,
                                             total_iters=warmup_steps - 1)


def warmup_schedule(num_steps, peak_lr, warmup_steps):
    return _learning_rates(num_steps, peak_lr, lambda opt: _linear_warmup(opt, warmup_steps))


def warmup_cosine_schedule(num_steps, peak_lr, warmup_steps, final_lr):
    def make(optimizer):
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_steps - warmup_steps, eta_min=final_lr)
        return torch.optim.lr_scheduler.SequentialLR(optimizer, [_linear_warmup(optimizer, warmup_steps), cosine],
                                                     milestones=[warmup_steps - 1])
    return _learning_rates(num_steps, peak_lr, make)


def sgd_step(params, grads, velocities, lr, momentum):
    """One torch.optim.SGD step (dampening 0, nesterov False: its defaults, spelt out), its momentum buffers
    set to the given velocities; with momentum 0 torch keeps no buffer and the velocity is the gradient."""
    parameters = [torch.nn.Parameter(_tensor(p)) for p in params]
    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=momentum, dampening=0, nesterov=False)
    for parameter, g, v in zip(parameters, grads, velocities):
        parameter.grad = _tensor(g)
        if momentum:
            optimizer.state[parameter]["momentum_buffer"] = _tensor(v)
    optimizer.step()
    new_velocities = [
        _numpy(optimizer.state[p]["momentum_buffer"]) if momentum else np.asarray(g, dtype=np.float64).copy()
        for p, g in zip(parameters, grads)
    ]
    return [_numpy(p) for p in parameters], new_velocities


# -- LayerNorm (S15): torch.nn.LayerNorm's functional form, differentiated by autograd ----------


@contextlib.contextmanager
def _one_thread():
    """torch's CPU LayerNorm kernel splits even a few rows across its thread pool: on a busy 2-core machine
    that costs ~10 ms a call instead of ~20 µs.  Each row is computed the same way either way."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def layer_norm_forward(x, gain, bias, eps=1e-5):
    """torch.nn.functional.layer_norm over the last axis (what nn.LayerNorm(d, eps) computes)."""
    x = _tensor(x)
    with _one_thread():
        return _numpy(torch.nn.functional.layer_norm(x, (x.shape[-1],), _tensor(gain), _tensor(bias), eps))


def layer_norm_backward(x, gain, bias, eps, grad_output):
    """Tensor.backward through nn.LayerNorm, its weight and bias set to gain and bias."""
    x = _tensor(x, requires_grad=True)
    layer = torch.nn.LayerNorm(x.shape[-1], eps=eps, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(_tensor(gain))
        layer.bias.copy_(_tensor(bias))
    with _one_thread():
        layer(x).backward(_tensor(grad_output))
    return _numpy(x.grad), _numpy(layer.weight.grad), _numpy(layer.bias.grad)


def layer_norm_jacobian(x, gain, bias, eps):
    """torch.autograd.functional.jacobian of F.layer_norm at one example."""
    gain, bias = _tensor(gain), _tensor(bias)
    d = np.shape(x)[-1]
    function = lambda v: torch.nn.functional.layer_norm(v, (d,), gain, bias, eps)
    with _one_thread():
        return _numpy(torch.autograd.functional.jacobian(function, _tensor(x)))


# -- residual MLPs (S14): h_l = h_{l-1} + α_l F_l(h_{l-1}), F_l = Linear–σ–Linear, differentiated by autograd --


def _residual_blocks(h, branches, alphas, activation):
    sigma = _activation(activation)
    hidden = [h]
    for (W1, b1, W2, b2), alpha in zip(branches, alphas):
        branch = torch.nn.functional.linear(sigma(torch.nn.functional.linear(hidden[-1], W1, b1)), W2, b2)
        hidden.append(hidden[-1] + float(alpha) * branch)
    return hidden


def residual_forward(x, branches, alphas, activation):
    with torch.no_grad():
        hidden = _residual_blocks(_tensor(x), [[_tensor(p) for p in branch] for branch in branches], alphas, activation)
    return [_numpy(h) for h in hidden]


def residual_backward(x, branches, alphas, activation, grad_output):
    x_t = _tensor(x, requires_grad=True)
    params = [[_tensor(p, requires_grad=True) for p in branch] for branch in branches]
    hidden = _residual_blocks(x_t, params, alphas, activation)
    for h in hidden[1:]:
        h.retain_grad()
    hidden[-1].backward(_tensor(grad_output))
    grad_hidden = [x_t.grad] + [h.grad for h in hidden[1:]]
    return [_numpy(g) for g in grad_hidden], [tuple(_numpy(p.grad) for p in branch) for branch in params]


def residual_block_jacobians(x, branches, alphas, activation):
    h = _tensor(x)
    jacobians = []
    for branch, alpha in zip(branches, alphas):
        params = [_tensor(p) for p in branch]
        block = lambda v, params=params, alpha=alpha: _residual_blocks(v, [params], [alpha], activation)[-1]
        jacobians.append(_numpy(torch.autograd.functional.jacobian(block, h)))
        with torch.no_grad():
            h = block(h)
    return jacobians


# -- policy gradients (S11): torch.distributions and autograd ------------------------------------


def _policy_parameters(W, b):
    return _tensor(W, requires_grad=True), _tensor(b, requires_grad=True)


def softmax_policy_gradient(states, actions, advantages, W, b):
    """∇ of (1/N) Σ A_i log π(a_i|s_i) for torch.distributions.Categorical(logits = s Wᵀ + b), by autograd."""
    weight, bias = _policy_parameters(W, b)
    policy = torch.distributions.Categorical(logits=torch.nn.functional.linear(_tensor(states), weight, bias))
    (_tensor(advantages) * policy.log_prob(torch.as_tensor(np.asarray(actions)))).mean().backward()
    return _numpy(weight.grad), _numpy(bias.grad)


def gaussian_policy_gradient(states, actions, advantages, W, b, log_std):
    """The same for torch.distributions.Normal(s Wᵀ + b, exp(log_std)), summed over action dimensions."""
    weight, bias = _policy_parameters(W, b)
    log_sigma = _tensor(log_std, requires_grad=True)
    policy = torch.distributions.Normal(torch.nn.functional.linear(_tensor(states), weight, bias), log_sigma.exp())
    (_tensor(advantages) * policy.log_prob(_tensor(actions)).sum(dim=1)).mean().backward()
    return _numpy(weight.grad), _numpy(bias.grad), _numpy(log_sigma.grad)


def normalise_advantages(advantages):
    """(A − A.mean()) / A.std(correction=0): the biased standard deviation, ε = 0."""
    A = _tensor(advantages)
    return _numpy((A - A.mean()) / A.std(correction=0))


def ppo_clip_gradient(states, actions, advantages, old_log_probs, W, b, clip_eps):
    """∇ of (1/N) Σ min(r A, clamp(r, 1 − ε, 1 + ε) A), r = exp(log π − old), by autograd."""
    weight, bias = _policy_parameters(W, b)
    policy = torch.distributions.Categorical(logits=torch.nn.functional.linear(_tensor(states), weight, bias))
    ratio = torch.exp(policy.log_prob(torch.as_tensor(np.asarray(actions))) - _tensor(old_log_probs))
    A = _tensor(advantages)
    torch.min(ratio * A, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * A).mean().backward()
    return _numpy(weight.grad), _numpy(bias.grad)


# -- Transformer encoder layers (S10): torch.nn.TransformerEncoderLayer with the given state_dict ---------


def _encoder_layer(params, nhead, norm_first, requires_grad=True):
    """torch.nn.TransformerEncoderLayer(d, nhead, f, dropout=0, batch_first=True, norm_first=...) in float64,
    its state_dict loaded from params (kept in training mode: dropout is 0, and eval mode may take torch's
    fused fast path instead of the module's own code)."""
    d, f = np.shape(params["linear1.weight"])[1], np.shape(params["linear1.weight"])[0]
    layer = torch.nn.TransformerEncoderLayer(d, int(nhead), f, dropout=0.0, batch_first=True,
                                             norm_first=bool(norm_first), dtype=torch.float64)
    layer.load_state_dict({name: _tensor(value) for name, value in params.items()})
    layer.requires_grad_(requires_grad)
    return layer


def _final_layer_norm(final_norm, d):
    if final_norm is None:
        return None
    norm = torch.nn.LayerNorm(d, eps=1e-5, dtype=torch.float64)
    norm.load_state_dict({name: _tensor(value) for name, value in final_norm.items()})
    return norm


def transformer_layer_forward(x, params, nhead, norm_first):
    with torch.no_grad(), _one_thread():
        return _numpy(_encoder_layer(params, nhead, norm_first, requires_grad=False)(_tensor(x)))


def transformer_layer_backward(x, params, nhead, norm_first, grad_output):
    layer = _encoder_layer(params, nhead, norm_first)
    x_t = _tensor(x, requires_grad=True)
    with _one_thread():
        layer(x_t).backward(_tensor(grad_output))
    return _numpy(x_t.grad), {name: _numpy(p.grad) for name, p in layer.named_parameters()}


def _stack_modules(layers, final_norm, nhead, norm_first, requires_grad=True):
    modules = [_encoder_layer(p, nhead, norm_first, requires_grad) for p in layers]
    return modules, _final_layer_norm(final_norm, np.shape(layers[0]["norm1.weight"])[0])


def _run_stack(x_t, modules, norm):
    hidden = [x_t]
    for module in modules:
        hidden.append(module(hidden[-1]))
    return hidden, (hidden[-1] if norm is None else norm(hidden[-1]))


def transformer_stack_forward(x, layers, final_norm, nhead, norm_first):
    modules, norm = _stack_modules(layers, final_norm, nhead, norm_first, requires_grad=False)
    with torch.no_grad(), _one_thread():
        hidden, output = _run_stack(_tensor(x), modules, norm)
    return np.stack([_numpy(h) for h in hidden]), _numpy(output)


def transformer_stack_backward(x, layers, final_norm, nhead, norm_first, grad_output):
    modules, norm = _stack_modules(layers, final_norm, nhead, norm_first)
    x_t = _tensor(x, requires_grad=True)
    with _one_thread():
        hidden, output = _run_stack(x_t, modules, norm)
        for h in hidden[1:]:
            h.retain_grad()
        output.backward(_tensor(grad_output))
    grad_hidden = [x_t.grad] + [h.grad for h in hidden[1:]]
    layer_grads = [{name: _numpy(p.grad) for name, p in module.named_parameters()} for module in modules]
    final_grads = None if norm is None else {name: _numpy(p.grad) for name, p in norm.named_parameters()}
    return np.stack([_numpy(g) for g in grad_hidden]), layer_grads, final_grads


def _self_attention(layer, z):
    return layer.self_attn(z, z, z, need_weights=False)[0]


def _feedforward(layer, z):
    return layer.linear2(layer.activation(layer.linear1(z)))


def transformer_block_jacobians(x, params, nhead, norm_first):
    """torch.autograd.functional.jacobian of the layer's two residual blocks, composed from its own submodules
    (self_attn, norm1, linear1, activation, linear2, norm2) as TransformerEncoderLayer.forward composes them."""
    layer = _encoder_layer(params, nhead, norm_first, requires_grad=False)
    if norm_first:
        attention = lambda z: z + _self_attention(layer, layer.norm1(z))
        feedforward = lambda z: z + _feedforward(layer, layer.norm2(z))
    else:
        attention = lambda z: layer.norm1(z + _self_attention(layer, z))
        feedforward = lambda z: layer.norm2(z + _feedforward(layer, z))
    x_t = _tensor(x)[None]
    n = x_t.numel()
    with _one_thread():
        J_attention = torch.autograd.functional.jacobian(attention, x_t)
        with torch.no_grad():
            u = attention(x_t)
        J_feedforward = torch.autograd.functional.jacobian(feedforward, u)
    return _numpy(J_attention.reshape(n, n)), _numpy(J_feedforward.reshape(n, n))
