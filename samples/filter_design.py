"""Design a low-pass FIR filter by gradient descent on its frequency response.

An FIR filter's impulse response is its coefficients (taps), so its frequency response is
``np.fft.rfft`` of the taps, zero-padded to a fine grid of frequencies. The loss is the mean
squared distance of the response's magnitude from an ideal low-pass one (1 in the passband,
0 in the stopband; the transition band between them is left free). s2s differentiates the
loss through the complex spectrum; Adam moves the taps.

Run it with ``python samples/filter_design.py`` after ``pip install .``: it prints the loss
falling, then the fitted response next to the target. The fitted magnitude stays within
TOLERANCE of the target in the passband and the stopband (tests/test_samples.py checks it).
"""
import numpy as np

import s2s

TAPS = 31                   # the filter's length
GRID = 256                  # frequencies from 0 to the Nyquist frequency: GRID // 2 + 1
PASS_EDGE = 0.10            # in cycles per sample (the Nyquist frequency is 0.5)
STOP_EDGE = 0.16
TOLERANCE = 0.03            # what the fitted magnitude may miss the target by
STEPS = 2000

frequencies = np.fft.rfftfreq(GRID)
target = np.where(frequencies <= PASS_EDGE, 1.0, 0.0)
weight = np.where((frequencies <= PASS_EDGE) | (frequencies >= STOP_EDGE), 1.0, 0.0)


def magnitude_response(taps):
    return np.abs(np.fft.rfft(taps, n=GRID))


def response_error(taps):
    error = np.abs(np.fft.rfft(taps, n=GRID)) - target
    return np.sum(weight * error ** 2) / np.sum(weight)


def fit(taps, steps, learning_rate=0.01, beta1=0.9, beta2=0.999):
    """Adam on the taps; prints the loss every 200 steps."""
    loss_and_gradient = s2s.value_and_grad(response_error)
    mean = np.zeros_like(taps)
    square = np.zeros_like(taps)
    for step in range(1, steps + 1):
        value, gradient = loss_and_gradient(taps)
        mean = beta1 * mean + (1 - beta1) * gradient
        square = beta2 * square + (1 - beta2) * gradient ** 2
        taps = taps - learning_rate * (mean / (1 - beta1 ** step)) / (
            np.sqrt(square / (1 - beta2 ** step)) + 1e-8)
        if step == 1 or step % 200 == 0:
            print(f"step {step:4d}  loss {value:.3e}")
    return taps


def main():
    taps = np.zeros(TAPS)
    taps[TAPS // 2] = 1.0           # a delay: |H| = 1 at every frequency
    taps = fit(taps, STEPS)
    response = magnitude_response(taps)
    print("\nfrequency  target  fitted |H|")
    for i in range(0, GRID // 2 + 1, 8):
        band = "" if weight[i] else "  (transition band)"
        print(f"  {frequencies[i]:.3f}    {target[i]:.1f}     {response[i]:.4f}{band}")
    passband = np.max(np.abs(response - target)[frequencies <= PASS_EDGE])
    stopband = np.max(response[frequencies >= STOP_EDGE])
    print(f"\nlargest passband error {passband:.4f}, largest stopband gain {stopband:.4f} "
          f"(tolerance {TOLERANCE})")


if __name__ == "__main__":
    main()
