"""s2s.nn: Parameters, cells, layers, losses, optimizers, seeding, and gradients through them.

The first part checks the plain NumPy behaviour against direct formulas. The second part
(after the "gradients" banner) differentiates networks with ``weights=`` and
``s2s.GradOperation`` and compares with central finite differences taken by perturbing
each Parameter entry in place, or with closed forms; it never compares s2s with itself.
"""
import copy
import math
import pickle

import numpy as np
import pytest

import s2s
from finite_diff import STEP, assert_close, flatten, numerical_grad
from s2s import nn

rng = np.random.default_rng(11)
X = rng.standard_normal((5, 3))
LABELS = np.array([0, 3, 1, 3, 2])


def dense64(in_channels, out_channels, **kwargs):
    return nn.Dense(in_channels, out_channels, dtype=np.float64, **kwargs)


def log_softmax(z):
    """The textbook formula, in float64; fine for moderate logits."""
    z = np.asarray(z, dtype=np.float64)
    return np.log(np.exp(z) / np.sum(np.exp(z), axis=-1, keepdims=True))


# -- Parameter --------------------------------------------------------------------------------
PARAM_RESULTS = {
    "matmul": lambda p: X @ p.T, "rmatmul": lambda p: p @ np.ones(3),
    "add": lambda p: p + 1.0, "radd": lambda p: 1.0 + p, "mul": lambda p: p * p,
    "neg": lambda p: -p, "pow": lambda p: p ** 2, "compare": lambda p: p > 0,
    "T": lambda p: p.T, "index": lambda p: p[0], "slice": lambda p: p[:, 1:],
    "reshape": lambda p: p.reshape(3, 2), "np.reshape": lambda p: np.reshape(p, -1),
    "np.transpose": lambda p: np.transpose(p), "np.exp": lambda p: np.exp(p),
    "np.maximum": lambda p: np.maximum(p, 0), "np.sum axis": lambda p: np.sum(p, axis=0),
    "sum": lambda p: p.sum(), "np.mean": lambda p: np.mean(p), "np.max": lambda p: np.max(p),
    "np.where": lambda p: np.where(p > 0, p, 0.0),
    "np.concatenate": lambda p: np.concatenate([p, p]),
    "dot": lambda p: p.dot(np.ones(3)), "copy": lambda p: p.copy(),
    "astype": lambda p: p.astype(np.float32), "np.zeros_like": lambda p: np.zeros_like(p),
    "np.asarray": lambda p: np.asarray(p),
}


@pytest.mark.parametrize("operation", sorted(PARAM_RESULTS))
def test_parameter_results_are_plain_arrays(operation):
    p = nn.Parameter(np.arange(6.0).reshape(2, 3) - 2.5, name="w")
    result = PARAM_RESULTS[operation](p)
    assert not isinstance(result, nn.Parameter)
    np.testing.assert_array_equal(result, PARAM_RESULTS[operation](np.asarray(p)))


def test_parameter_tags_and_dtypes():
    p = nn.Parameter(np.ones((2, 2), dtype=np.float32), name="w", requires_grad=False)
    assert (p.name, p.requires_grad, p.dtype) == ("w", False, np.float32)
    assert nn.Parameter([1, 2]).dtype == np.float64
    data = np.zeros(3)
    q = nn.Parameter(data)
    q += 1.0
    assert data[0] == 0.0, "a Parameter must copy its data"
    assert "w" in repr(p) and "(2, 2)" in repr(p)


@pytest.mark.quick
def test_parameter_keeps_identity_under_in_place_updates():
    p = nn.Parameter(np.ones((2, 3)), name="w")
    ident = id(p)
    p -= 0.5
    p[...] -= 0.25
    p *= 2.0
    np.subtract(p, 0.25, out=p)
    p[0, 0] = 9.0
    assert id(p) == ident and isinstance(p, nn.Parameter) and p.name == "w"
    np.testing.assert_array_equal(p, [[9.0, 0.25, 0.25], [0.25, 0.25, 0.25]])


def test_parameter_copies_keep_their_tags():
    p = nn.Parameter(np.arange(3.0), name="b", requires_grad=False)
    for clone in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert isinstance(clone, nn.Parameter) and clone is not p
        assert (clone.name, clone.requires_grad) == ("b", False)
        np.testing.assert_array_equal(clone, p)


# -- layers -----------------------------------------------------------------------------------
@pytest.mark.quick
def test_dense_computes_x_weight_transpose_plus_bias():
    dense = nn.Dense(3, 4)
    assert dense.weight.shape == (4, 3) and dense.bias.shape == (4,)
    assert dense.weight.dtype == np.float32
    x = X.astype(np.float32)
    expected = x @ np.asarray(dense.weight).T + np.asarray(dense.bias)
    # float32: the two products may round differently in the last bits
    np.testing.assert_allclose(dense(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dense(x[0]), expected[0], rtol=1e-5, atol=1e-6)


def test_dense_initialisation_bounds_and_given_arrays():
    s2s.set_seed(1)
    dense = nn.Dense(16, 200)
    bound = 1.0 / math.sqrt(16)
    for p in (dense.weight, dense.bias):
        assert np.all(np.abs(p) <= bound)
        assert np.abs(p).max() > 0.9 * bound      # really spread over the whole interval
    w, b = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0])
    given = dense64(3, 2, weight_init=w, bias_init=b)
    np.testing.assert_array_equal(given.weight, w)
    np.testing.assert_array_equal(given(X), X @ w.T + b)
    with pytest.raises(ValueError, match="shape"):
        nn.Dense(3, 2, weight_init=np.zeros((3, 2)))


def test_dense_without_bias():
    dense = dense64(3, 2, has_bias=False)
    assert dense.bias is None and len(dense.trainable_params()) == 1
    np.testing.assert_allclose(dense(X), X @ np.asarray(dense.weight).T)


@pytest.mark.parametrize("name, formula", [
    ("relu", lambda z: np.where(z > 0, z, 0.0)),
    ("sigmoid", lambda z: 1.0 / (1.0 + np.exp(-z))),
    ("tanh", np.tanh),
    ("softmax", lambda z: np.exp(log_softmax(z))),
])
def test_dense_activation_strings(name, formula):
    dense = dense64(3, 4, activation=name)
    z = X @ np.asarray(dense.weight).T + np.asarray(dense.bias)
    np.testing.assert_allclose(dense(X), formula(z), rtol=1e-12, atol=1e-15)
    assert [id(p) for p in dense.trainable_params()] == [id(dense.weight), id(dense.bias)]


def test_dense_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        nn.Dense(3, 4, activation="swish")


def test_sigmoid_and_softmax_are_stable_for_large_inputs():
    big = np.array([[1000.0, 0.0, -1000.0], [-800.0, -800.0, -801.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        probs = nn.Softmax()(big)
        sig = nn.Sigmoid()(big)
    np.testing.assert_allclose(np.sum(probs, axis=-1), 1.0)
    np.testing.assert_allclose(probs[0], [1.0, 0.0, 0.0])
    e = math.exp(-1.0)
    np.testing.assert_allclose(probs[1], [1 / (2 + e), 1 / (2 + e), e / (2 + e)])
    np.testing.assert_allclose(sig[0], [1.0, 0.5, 0.0])


def test_softmax_along_an_axis():
    for axis in (0, -1):
        probs = nn.Softmax(axis=axis)(X)
        np.testing.assert_allclose(np.sum(probs, axis=axis), 1.0)
        expected = np.exp(X) / np.sum(np.exp(X), axis=axis, keepdims=True)
        np.testing.assert_allclose(probs, expected, rtol=1e-12)


def test_flatten_keeps_the_batch_axis():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(nn.Flatten()(x), x.reshape(2, 12))


def test_sequential_cell_composes_in_order():
    first, second = dense64(3, 4), dense64(4, 2)
    for seq in (nn.SequentialCell(first, nn.ReLU(), second),
                nn.SequentialCell([first, nn.ReLU(), second])):
        np.testing.assert_allclose(seq(X), second(np.maximum(first(X), 0.0)))
        assert len(seq) == 3 and seq[2] is second
        assert [name for name, _ in seq.parameters_and_names()] == \
            ["0.weight", "0.bias", "2.weight", "2.bias"]


# -- dropout and seeding ------------------------------------------------------------------------
def test_dropout_is_the_identity_in_inference_mode():
    drop = nn.Dropout(p=0.5)
    assert drop.training is False
    np.testing.assert_array_equal(drop(X), X)
    np.testing.assert_array_equal(drop.set_train().set_train(False)(X), X)


def test_dropout_zeroes_and_scales_in_training_mode():
    drop = nn.Dropout(p=0.25).set_train()
    x = np.ones((400, 250), dtype=np.float32)
    y = drop(x)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1.0 / 0.75, rtol=1e-6)
    assert abs(1.0 - kept.mean() - 0.25) < 0.01       # 100k draws: std ~0.0014
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_arguments():
    assert nn.Dropout().p == 0.5
    assert nn.Dropout(keep_prob=0.8).p == pytest.approx(0.2)
    for bad in (dict(p=1.0), dict(p=-0.1), dict(p=0.1, keep_prob=0.9)):
        with pytest.raises(ValueError):
            nn.Dropout(**bad)
    with pytest.raises(TypeError):
        nn.Dropout(0.8)       # MindSpore 1.x and 2.x disagree on what this means


def test_set_seed_repeats_initialisation_and_dropout():
    def draw(seed):
        s2s.set_seed(seed)
        dense = nn.Dense(4, 3)
        mask = nn.Dropout(p=0.5).set_train()(np.ones(50))
        return np.asarray(dense.weight), mask

    (w1, m1), (w2, m2), (w3, m3) = draw(3), draw(3), draw(4)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(m1, m2)
    assert not np.array_equal(w1, w3) and not np.array_equal(m1, m3)


# -- losses -----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction, reduce", [
    ("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)])
def test_mse_loss(reduction, reduce):
    target = rng.standard_normal(X.shape)
    loss = nn.MSELoss(reduction=reduction)(X, target)
    np.testing.assert_allclose(loss, reduce((X - target) ** 2))


@pytest.mark.parametrize("reduction, reduce", [
    ("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)])
def test_cross_entropy_equals_negative_log_softmax_of_the_label(reduction, reduce):
    logits = rng.standard_normal((5, 4)) * 3
    loss = nn.CrossEntropyLoss(reduction=reduction)(logits, LABELS)
    expected = -log_softmax(logits)[np.arange(5), LABELS]
    np.testing.assert_allclose(loss, reduce(expected), rtol=1e-12)


def test_cross_entropy_is_stable_and_accepts_one_sample():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = nn.CrossEntropyLoss(reduction="none")(logits, np.array([1, 2]))
    np.testing.assert_allclose(loss, [1000.0, 1.0 + math.log1p(math.exp(-1.0))])
    single = nn.CrossEntropyLoss()(np.array([0.5, 1.5, -1.0]), 1)
    np.testing.assert_allclose(single, -log_softmax([0.5, 1.5, -1.0])[1])


def test_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="average")


# -- cells ------------------------------------------------------------------------------------
class Block(nn.Cell):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.array([1.5, -0.5]))
        self.layers = nn.SequentialCell(dense64(3, 4), nn.Tanh(), dense64(4, 2))
        self.offset = nn.Parameter(np.array([0.1, 0.2]))

    def construct(self, x):
        return self.layers(x) * self.scale + self.offset


class Outer(nn.Cell):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.heads = [dense64(2, 2, activation="sigmoid"), dense64(2, 2)]
        self.frozen = nn.Parameter(np.ones(2), requires_grad=False)
        self.drop = nn.Dropout(p=0.5)

    def construct(self, x):
        h = self.block(x)
        for head in self.heads:
            h = head(h) + h
        return self.drop(h) * self.frozen


OUTER_NAMES = ["frozen", "block.scale", "block.offset",
               "block.layers.0.weight", "block.layers.0.bias",
               "block.layers.2.weight", "block.layers.2.bias",
               "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]


@pytest.mark.quick
def test_registration_order_and_qualified_names():
    net = Outer()
    named = list(net.parameters_and_names())
    assert [name for name, _ in named] == OUTER_NAMES
    trainable = net.trainable_params()
    assert [id(p) for p in trainable] == [id(p) for name, p in named if name != "frozen"]
    assert all(isinstance(p, nn.Parameter) for p in trainable)
    assert net.block.layers[0].weight.name == "weight"
    assert [name for name, _ in net.cells_and_names()][:3] == ["", "block", "block.layers"]
    assert list(net.name_cells()) == ["block", "heads.0", "heads.1", "drop"]
    assert net.cells()[0] is net.block


def test_shared_parameters_and_cells_come_once():
    shared = dense64(2, 2)

    class Twice(nn.Cell):
        def __init__(self):
            super().__init__()
            self.a = shared
            self.b = shared
            self.w = shared.weight

        def construct(self, x):
            return self.b(self.a(x)) @ self.w

    net = Twice()
    assert [name for name, _ in net.parameters_and_names()] == ["w", "a.bias"]
    assert len(net.trainable_params()) == 2


def test_reassigning_an_attribute_updates_the_registry():
    net = Outer()
    net.heads = [dense64(2, 2)]
    net.frozen = None
    del net.drop
    names = [name for name, _ in net.parameters_and_names()]
    assert names[-2:] == ["heads.0.weight", "heads.0.bias"] and "frozen" not in names
    assert list(net.name_cells()) == ["block", "heads.0"]


def test_set_train_reaches_every_cell_and_returns_the_cell():
    net = Outer()
    assert all(cell.training is False for _, cell in net.cells_and_names())
    assert net.set_train() is net
    assert all(cell.training is True for _, cell in net.cells_and_names())
    net.set_train(False)
    assert net.heads[1].training is False and net.block.layers[1].training is False


def test_cell_needs_super_init_and_construct():
    class Forgetful(nn.Cell):
        def __init__(self):
            self.dense = nn.Dense(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Forgetful()
    with pytest.raises(NotImplementedError):
        nn.Cell()(X)


def test_cell_repr_shows_the_tree():
    text = repr(Outer())
    assert "Outer<" in text and "(block): Block<" in text
    assert "Dense<input_channels=3, output_channels=4, has_bias=True>" in text


# -- optimizers -------------------------------------------------------------------------------
def two_params():
    return [nn.Parameter(np.array([[1.0, -2.0], [0.5, 3.0]]), name="w"),
            nn.Parameter(np.array([0.25, -1.0]), name="b")]


GRADS = [(np.array([[0.1, -0.2], [0.3, 0.4]]), np.array([1.0, -0.5])),
         (np.array([[-0.3, 0.1], [0.0, 0.2]]), np.array([0.5, 0.5])),
         (np.array([[0.2, 0.2], [-0.1, -0.4]]), np.array([-1.0, 2.0]))]


@pytest.mark.quick
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.1), (0.9, 0.1)])
def test_sgd_matches_a_hand_computation(momentum, weight_decay):
    params = two_params()
    ids = [id(p) for p in params]
    expected = [np.array(p) for p in params]
    velocity = [np.zeros_like(p) for p in expected]
    optimizer = nn.SGD(params, learning_rate=0.1, momentum=momentum, weight_decay=weight_decay)
    for grads in GRADS:
        assert optimizer(grads) is True
        for i, g in enumerate(grads):
            g = g + weight_decay * expected[i]
            velocity[i] = momentum * velocity[i] + g
            expected[i] = expected[i] - 0.1 * velocity[i]
    assert [id(p) for p in params] == ids and all(isinstance(p, nn.Parameter) for p in params)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p, e, rtol=1e-13)


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adam_matches_a_hand_computation(weight_decay):
    params = two_params()
    expected = [np.array(p) for p in params]
    m = [np.zeros_like(p) for p in expected]
    v = [np.zeros_like(p) for p in expected]
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-3
    optimizer = nn.Adam(params, learning_rate=lr, beta1=b1, beta2=b2, eps=eps,
                        weight_decay=weight_decay)
    for t, grads in enumerate(GRADS, start=1):
        assert optimizer(grads) is True
        for i, g in enumerate(grads):
            g = g + weight_decay * expected[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g ** 2
            step = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            expected[i] = expected[i] - step * m[i] / (np.sqrt(v[i]) + eps)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p, e, rtol=1e-13)
    assert optimizer.global_step == 3


def test_optimizer_keeps_float32_and_checks_its_gradients():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    optimizer = nn.SGD([p], learning_rate=0.5)
    optimizer(np.array([1.0, 2.0, 3.0]))           # one bare gradient for one parameter
    assert p.dtype == np.float32 and isinstance(p, nn.Parameter)
    np.testing.assert_array_equal(p, [0.5, 0.0, -0.5])
    with pytest.raises(ValueError, match="gradients"):
        optimizer((np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match="shape"):
        optimizer((np.ones(4),))
    with pytest.raises(TypeError):
        nn.SGD([np.ones(3)], learning_rate=0.1)
    with pytest.raises(ValueError):
        nn.Adam([p], beta1=1.0)


# ===============================================================================================
# Gradients through cells. These need the engine's weights= and GradOperation.
# ===============================================================================================
def total(output):
    """The scalar the gradient is of: every output (a tuple counts all parts) summed."""
    leaves, _ = flatten(output)
    return float(sum(np.sum(np.asarray(leaf, dtype=np.float64)) for leaf in leaves))


def parameter_fd(fn, params, args):
    """Central differences of ``total(fn(*args))`` w.r.t. each Parameter, perturbed in place."""
    grads = []
    for p in params:
        grad = np.zeros(p.shape)
        for index in np.ndindex(p.shape):
            original = float(p[index])
            h = STEP * max(1.0, abs(original))
            p[index] = original + h
            up = total(fn(*args))
            p[index] = original - h
            down = total(fn(*args))
            p[index] = original
            grad[index] = (up - down) / (2.0 * h)
        grads.append(grad)
    return tuple(grads)


def test_parameter_fd_oracle_matches_a_closed_form():
    # d/dW sum((x @ W.T + b) * R) = R.T @ x and d/db = R summed over the batch
    net = dense64(3, 4)
    weight, bias = np.array(net.weight), np.array(net.bias)
    projection = rng.standard_normal((5, 4))
    grads = parameter_fd(lambda x: np.sum(net(x) * projection), net.trainable_params(), (X,))
    assert_close(grads, (projection.T @ X, projection.sum(axis=0)))
    np.testing.assert_array_equal(net.weight, weight)      # restored exactly
    np.testing.assert_array_equal(net.bias, bias)


def projected(net, projection):
    """sum(net(x) * projection): a scalar whose gradient sees every output entry
    (a plain sum would hide the softmax, whose rows always sum to 1)."""
    def objective(x):
        return np.sum(net(x) * projection)
    return objective


LAYERS = {
    "dense": lambda: dense64(3, 4),
    "dense without bias": lambda: dense64(3, 4, has_bias=False),
    "dense relu": lambda: dense64(3, 4, activation="relu"),
    "dense sigmoid": lambda: dense64(3, 4, activation="sigmoid"),
    "dense tanh": lambda: dense64(3, 4, activation="tanh"),
    "dense softmax": lambda: dense64(3, 4, activation="softmax"),
    "dense with a Cell activation": lambda: dense64(3, 4, activation=nn.Tanh()),
    "sequential dense relu dense": lambda: nn.SequentialCell(dense64(3, 5), nn.ReLU(),
                                                             dense64(5, 4)),
    "softmax over the batch axis": lambda: nn.SequentialCell(dense64(3, 4), nn.Softmax(axis=0)),
    "sigmoid cell": lambda: nn.SequentialCell(dense64(3, 4), nn.Sigmoid()),
    "dropout in inference mode": lambda: nn.SequentialCell(dense64(3, 4), nn.Dropout(p=0.5)),
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_gradients_match_finite_differences(layer):
    s2s.set_seed(21)
    net = LAYERS[layer]()
    params = net.trainable_params()
    objective = projected(net, rng.standard_normal((5, 4)))
    grads = s2s.grad(objective, grad_position=None, weights=params)(X)
    assert_close(grads, parameter_fd(objective, params, (X,)))
    dx, dweights = s2s.grad(objective, grad_position=0, weights=params)(X)
    assert_close(dx, numerical_grad(objective, (X,), 0))
    assert_close(dweights, parameter_fd(objective, params, (X,)))


def test_flatten_gradients():
    net = nn.SequentialCell(nn.Flatten(), dense64(6, 3, activation="tanh"))
    x = rng.standard_normal((4, 2, 3))
    objective = projected(net, rng.standard_normal((4, 3)))
    dx, dweights = s2s.grad(objective, 0, weights=net.trainable_params())(x)
    assert_close(dx, numerical_grad(objective, (x,), 0))
    assert_close(dweights, parameter_fd(objective, net.trainable_params(), (x,)))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["mse", "cross entropy"])
def test_loss_gradients_match_finite_differences(loss, reduction):
    net = nn.SequentialCell(dense64(3, 6), nn.ReLU(), dense64(6, 4))
    if loss == "mse":
        loss_fn, labels = nn.MSELoss(reduction=reduction), rng.standard_normal((5, 4))
    else:
        loss_fn, labels = nn.CrossEntropyLoss(reduction=reduction), LABELS

    def forward_fn(data, label):
        return loss_fn(net(data), label)

    params = net.trainable_params()
    value, grads = s2s.value_and_grad(forward_fn, None, weights=params)(X, labels)
    np.testing.assert_allclose(value, forward_fn(X, labels))
    assert_close(grads, parameter_fd(forward_fn, params, (X, labels)))


def test_gradients_through_nested_cells_lists_and_own_parameters():
    net = Outer()
    params = net.trainable_params()
    assert len(params) == 10
    objective = projected(net, rng.standard_normal((5, 2)))
    grads = s2s.grad(objective, None, weights=params)(X)
    assert_close(grads, parameter_fd(objective, params, (X,)))


def test_dropout_gradient_is_the_mask_it_drew():
    drop = nn.Dropout(p=0.3).set_train()
    projection = rng.standard_normal(X.shape)
    objective = projected(drop, projection)
    s2s.set_seed(8)
    dx = s2s.grad(objective)(X)
    s2s.set_seed(8)
    mask = drop(np.ones_like(X))              # the same draw: 0 or 1/(1-p) per entry
    assert_close(dx, projection * mask)
    drop.set_train(False)
    assert_close(s2s.grad(objective)(X), projection)


def test_gradients_follow_in_place_updates():
    net = dense64(3, 4, activation="tanh")
    params = net.trainable_params()
    objective = projected(net, rng.standard_normal((5, 4)))
    grad_fn = s2s.grad(objective, None, weights=params)
    optimizer = nn.SGD(params, learning_rate=0.5)
    for _ in range(3):
        grads = grad_fn(X)
        assert_close(grads, parameter_fd(objective, params, (X,)))
        optimizer(grads)


def test_weights_pick_one_of_two_networks_of_the_same_class():
    first, second = Block(), Block()

    def objective(x):
        return np.sum(first(x) * second(x))

    params = second.trainable_params()
    grads = s2s.grad(objective, None, weights=params)(X)
    assert_close(grads, parameter_fd(objective, params, (X,)))


def test_float32_parameters_get_float32_gradients():
    s2s.set_seed(2)
    net = nn.Dense(3, 2, activation="sigmoid")
    twin = dense64(3, 2, weight_init=net.weight, bias_init=net.bias, activation="sigmoid")
    x = X.astype(np.float32)
    grads = s2s.grad(projected(net, np.ones((5, 2))), None, weights=net.trainable_params())(x)
    assert [g.dtype for g in grads] == [np.float32, np.float32]
    expected = parameter_fd(projected(twin, np.ones((5, 2))), twin.trainable_params(), (X,))
    assert_close(grads, expected, rtol=1e-4, atol=1e-5)


# -- return structure of weights= -------------------------------------------------------------
def structure_setup():
    net = dense64(3, 2, activation="tanh")
    y = rng.standard_normal((5, 2))

    def fn(x, y):
        logits = net(x)
        return np.sum(logits * y), logits

    def scalar_fn(x, y):
        return fn(x, y)[0]

    return net, y, fn, scalar_fn


def test_weights_single_parameter_gives_one_array():
    net, y, _, scalar_fn = structure_setup()
    grad = s2s.grad(scalar_fn, grad_position=None, weights=net.weight)(X, y)
    assert type(grad) is np.ndarray
    assert_close(grad, parameter_fd(scalar_fn, [net.weight], (X, y))[0])


@pytest.mark.parametrize("container", [list, tuple])
def test_weights_list_or_tuple_gives_a_tuple(container):
    net, y, _, scalar_fn = structure_setup()
    weights = container(net.trainable_params())
    grads = s2s.grad(scalar_fn, grad_position=None, weights=weights)(X, y)
    assert type(grads) is tuple and len(grads) == 2
    assert_close(grads, parameter_fd(scalar_fn, weights, (X, y)))


@pytest.mark.parametrize("position", [0, (0, 1)])
def test_positions_and_weights_give_input_then_weight_gradients(position):
    net, y, _, scalar_fn = structure_setup()
    params = net.trainable_params()
    result = s2s.grad(scalar_fn, grad_position=position, weights=params)(X, y)
    expected = (numerical_grad(scalar_fn, (X, y), position),
                parameter_fd(scalar_fn, params, (X, y)))
    assert_close(result, expected)


def test_value_and_grad_with_weights_and_aux_returns_the_whole_output():
    net, y, fn, _ = structure_setup()
    params = net.trainable_params()
    (loss, logits), grads = s2s.value_and_grad(fn, None, weights=params, has_aux=True)(X, y)
    expected_loss, expected_logits = fn(X, y)
    np.testing.assert_allclose(loss, expected_loss)
    np.testing.assert_allclose(logits, expected_logits)
    # with has_aux only the first output is differentiated
    assert_close(grads, parameter_fd(lambda a, b: fn(a, b)[0], params, (X, y)))


def test_grad_with_weights_and_aux_returns_grads_then_aux():
    net, y, fn, _ = structure_setup()
    params = net.trainable_params()
    grads, aux = s2s.grad(fn, None, weights=params, has_aux=True)(X, y)
    assert type(aux) is tuple and len(aux) == 1
    np.testing.assert_allclose(aux[0], fn(X, y)[1])
    assert_close(grads, parameter_fd(lambda a, b: fn(a, b)[0], params, (X, y)))


def test_unused_weight_gets_a_zero_gradient():
    net, y, _, scalar_fn = structure_setup()
    unused = nn.Parameter(np.ones((2, 2)), name="unused")
    grads = s2s.grad(scalar_fn, None, weights=[net.weight, unused])(X, y)
    assert_close(grads, (parameter_fd(scalar_fn, [net.weight], (X, y))[0], np.zeros((2, 2))))


# -- GradOperation ------------------------------------------------------------------------------
@pytest.mark.parametrize("sens_param", [False, True])
@pytest.mark.parametrize("get_by_list", [False, True])
@pytest.mark.parametrize("get_all", [False, True])
def test_grad_operation_flags(get_all, get_by_list, sens_param):
    net = dense64(3, 2, activation="tanh")
    params = net.trainable_params()
    y = rng.standard_normal((5, 2))
    sens = rng.standard_normal((5, 2)) if sens_param else np.ones((5, 2))

    def fn(x, y):
        return net(x) * y                      # a (5, 2) output: the seed matters

    def objective(x, y):
        return np.sum(fn(x, y) * sens)

    operation = s2s.GradOperation(get_all=get_all, get_by_list=get_by_list,
                                  sens_param=sens_param)
    grad_fn = operation(fn, params) if get_by_list else operation(fn)
    result = grad_fn(X, y, sens) if sens_param else grad_fn(X, y)

    inputs = numerical_grad(objective, (X, y), (0, 1) if get_all else 0)
    weights = parameter_fd(objective, params, (X, y))
    if get_all and get_by_list:
        expected = (inputs, weights)
    elif get_by_list:
        expected = weights
    else:
        expected = inputs
    assert_close(result, expected)


def test_grad_operation_get_all_with_one_input_gives_a_tuple():
    net = dense64(3, 2)
    objective = projected(net, np.ones((5, 2)))
    result = s2s.GradOperation(get_all=True)(objective)(X)
    assert_close(result, (numerical_grad(objective, (X,), 0),))


def test_grad_operation_seeds_every_output_of_a_tuple_with_ones():
    # MindSpore's GradOperation returns only gradients; for fn -> (loss, logits) they are
    # the gradients of loss + sum(logits).
    net, loss_fn = dense64(3, 4), nn.MSELoss()
    labels = rng.standard_normal((5, 4))

    def forward_fn(data, label):
        logits = net(data)
        loss = loss_fn(logits, label)
        return loss, logits

    params = net.trainable_params()
    grads = s2s.GradOperation(get_by_list=True)(forward_fn, params)(X, labels)
    assert type(grads) is tuple and [g.shape for g in grads] == [(4, 3), (4,)]
    assert_close(grads, parameter_fd(forward_fn, params, (X, labels)))


def test_grad_operation_sens_for_a_tuple_output():
    net, loss_fn = dense64(3, 4), nn.MSELoss()
    labels = rng.standard_normal((5, 4))

    def forward_fn(data, label):
        logits = net(data)
        return loss_fn(logits, label), logits

    params = net.trainable_params()
    logits_sens = rng.standard_normal((5, 4))
    grads = s2s.GradOperation(get_by_list=True, sens_param=True)(forward_fn, params)(
        X, labels, (2.0, logits_sens))

    def objective(data, label):
        loss, logits = forward_fn(data, label)
        return 2.0 * loss + np.sum(logits * logits_sens)

    assert_close(grads, parameter_fd(objective, params, (X, labels)))
