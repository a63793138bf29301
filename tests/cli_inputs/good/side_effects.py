"""A module whose top level must never run: it prints, writes marker files and raises."""
import os

import numpy as np

print("side_effects.py WAS RUN")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "MARKER_side_effects"),
          "w") as marker:
    marker.write("run")
open("MARKER_cwd", "w").close()


def cube_sum(x):
    return np.sum(x ** 3)


raise RuntimeError("side_effects.py must never be imported by s2s convert")
