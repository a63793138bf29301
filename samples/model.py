"""A small regression model, for the command line: ``s2s convert samples/model.py``.

``loss`` is the mean squared error of a one-layer tanh network; ``mlp_loss`` the same for a
two-layer network whose weights come in a dict. Converting this module writes
``model_grad.py``, which computes their gradients with NumPy alone:

    s2s convert samples/model.py --check

Run it with ``python samples/model.py`` to see the losses and gradients with s2s.
"""
import numpy as np

SCALE = np.sqrt(2.0)        # evaluated at conversion time: a pure NumPy call on a literal


def predict(w, x):
    return np.tanh(x @ w) * SCALE


def loss(w, x, y):
    err = predict(w, x) - y
    return np.mean(err ** 2)


def mlp_loss(params, x, y):
    hidden = np.tanh(x @ params["w1"] + params["b1"])
    pred = hidden @ params["w2"]
    return np.mean((pred - y) ** 2)


def main():
    import s2s

    rng = np.random.default_rng(0)
    w = rng.normal(size=3)
    x = rng.normal(size=(5, 3))
    y = rng.normal(size=5)
    params = {"w1": rng.normal(size=(3, 4)), "b1": np.zeros(4), "w2": rng.normal(size=4)}
    print("prediction:", predict(w, x))
    print("loss:", loss(w, x, y))
    print("dloss/dw:", s2s.grad(loss)(w, x, y))
    print("mlp_loss:", mlp_loss(params, x, y))
    print("dmlp_loss/dw2:", s2s.grad(mlp_loss)(params, x, y)["w2"])


if __name__ == "__main__":
    main()
