"""Benchmark: serving the round's model to N sites costs one copy, not N.

Scenario: aggd alone on a throwaway workspace with a 25 MB float32 model;
N sites register, then all ask for the round's model at once (every
GetModel is sent before any reply is read). Printed: the model's size and
aggd's peak resident memory (VmHWM) before and after the fetches, for
N = 1 and N = 20. aggd packs the CurrentModel once per round and hands
that one buffer to ZeroMQ for every site, so the growth should be about
one model whatever N is.

Run: /usr/bin/python3 bench/model_serving.py  (after make build/aggd)
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
from aggd_harness import Aggd, npy_bytes  # noqa: E402

MODEL_BYTES = 25 * 1000 * 1000


def check_model(aggd, current):
    """The served model is the initial one, in the round's metadata."""
    if current.meta.project.name != "bench" or current.meta.current_round:
        raise SystemExit("unexpected metadata: %s" % current.meta)
    for name, array in aggd.initial.items():
        if current.data.params[name].ndarray != npy_bytes(array):
            raise SystemExit("tensor %s differs from the initial model" %
                             name)


def serve(nsites):
    """VmHWM in KiB before and after nsites fetch the model at once."""
    with Aggd(nsites, MODEL_BYTES) as aggd:
        aggd.register_all()
        aggd.wait_log("round 0 started")
        before = aggd.hwm_kib()
        start = time.monotonic()
        replies = aggd.fetch_all()
        elapsed = time.monotonic() - start
        after = aggd.hwm_kib()
        size = next(iter(replies.values()))[2]
        # One more site's copy, decoded, to show what was served.
        aggd.sites = aggd.sites[:1]
        aggd.register_all()
        check_model(aggd, aggd.fetch_all(keep_one=True))
    print("N=%2d sites: VmHWM before %6.1f MiB, after %6.1f MiB, growth "
          "%5.1f MiB (%d replies of %.1f MB in %.2f s)" %
          (nsites, before / 1024, after / 1024, (after - before) / 1024,
           nsites, size / 1e6, elapsed))
    return after - before, size


def main():
    one, size = serve(1)
    many, _ = serve(20)
    print("model (CurrentModel) %.1f MiB; growth N=20 / growth N=1: %.2f" %
          (size / 1048576, many / max(one, 1)))


if __name__ == "__main__":
    main()
