"""The MindSpore automatic-differentiation tutorial, run on s2s and NumPy.

The tutorial's code with the framework imports swapped for ``s2s`` and ``Tensor(...)`` for
NumPy arrays: the derivative of 3x^2 + 4x, the gradients of a Dense layer's weight and bias
through a loss, and then a short training loop on a small linear-regression problem.

Run it with ``python samples/autodiff_tutorial.py`` after ``pip install .``.
"""
import numpy as np

import s2s
from s2s import GradOperation, grad, nn

s2s.set_seed(0)                      # the initial weights of nn.Dense
rng = np.random.default_rng(0)       # the data


# -- 4.1 the derivative of an ordinary function ------------------------------------------------
def f(x):
    return 3 * x ** 2 + 4 * x


grad_fn = grad(f, grad_position=0)
x = np.array(2.0, dtype=np.float32)
gradient = grad_fn(x)
print("f(x) = 3x^2 + 4x")
print(f"derivative at x = 2: {gradient}")          # f'(2) = 6 * 2 + 4 = 16


# -- 4.2 gradients with respect to a network's parameters --------------------------------------
class MyLinearNet(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(in_channels=3, out_channels=4)

    def construct(self, x):
        return self.dense(x)


net = MyLinearNet()
loss_fn = nn.MSELoss()
optimizer = nn.SGD(net.trainable_params(), learning_rate=0.01)


def forward_fn(data, label):
    logits = net(data)
    loss = loss_fn(logits, label)
    return loss, logits


grad_fn = GradOperation(get_by_list=True)(forward_fn, net.trainable_params())

input_data = rng.random((2, 3)).astype(np.float32)
target_label = rng.random((2, 4)).astype(np.float32)

# GradOperation returns only the gradients, one per parameter (the tutorial's
# `loss_value, grads = grad_fn(...)` would unpack the two gradients). Like MindSpore it
# seeds every output of forward_fn with ones, so these are gradients of loss + sum(logits).
grads = grad_fn(input_data, target_label)
print("-" * 20)
print("gradient of the weight W:\n", grads[0])
print("shape of W's gradient:", grads[0].shape)
print("-" * 20)
print("gradient of the bias b:\n", grads[1])
print("shape of b's gradient:", grads[1].shape)

# To get the loss as well, and the gradients of the loss alone, use value_and_grad:
# has_aux=True differentiates the first output and passes the logits through.
value_and_grad_fn = s2s.value_and_grad(forward_fn, None, weights=net.trainable_params(),
                                       has_aux=True)
(loss, logits), grads = value_and_grad_fn(input_data, target_label)
print("-" * 20)
print("loss:", loss)
print("shapes of the loss gradients:", grads[0].shape, grads[1].shape)


# -- training: fit a random linear map -----------------------------------------------------------
true_weight = rng.standard_normal((4, 3)).astype(np.float32)
true_bias = rng.standard_normal(4).astype(np.float32)
data = rng.random((64, 3)).astype(np.float32)
labels = data @ true_weight.T + true_bias

print("-" * 20)
for step in range(1, 101):
    (loss, _), grads = value_and_grad_fn(data, labels)
    optimizer(grads)
    if step == 1 or step % 10 == 0:
        print(f"step {step:3d}  loss {float(loss):.6f}")
