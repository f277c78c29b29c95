"""Benchmark: aggd's memory does not grow with the number of sites.

Scenario: aggd alone on a throwaway workspace with a 25 MB float32 model;
N sites register, fetch the model and send a delta update, all at once
(every request is sent before any reply is read), and the round closes.
Printed: aggd's peak resident memory (VmHWM) for N = 2 and N = 20, and
their ratio. aggd adds each update to a float64 running sum as it is
accepted and frees it, and takes a few requests at a time from ZeroMQ, so
the ratio should be close to 1.

Run: /usr/bin/python3 bench/aggd_memory.py  (after make build/aggd)
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
from aggd_harness import Aggd  # noqa: E402

MODEL_BYTES = 25 * 1000 * 1000


def one_round(nsites):
    """Peak RSS of aggd, in KiB, over a round with nsites updates."""
    with Aggd(nsites, MODEL_BYTES) as aggd:
        start = time.monotonic()
        aggd.register_all()
        aggd.fetch_all()
        delta = {name: np.full_like(a, 0.25)
                 for name, a in aggd.initial.items()}
        aggd.submit_all(aggd.update_payload(delta))
        record = aggd.provenance(0)
        elapsed = time.monotonic() - start
        if len(record["sites"]) != nsites:
            raise SystemExit("round 0 aggregated %d updates, not %d" %
                             (len(record["sites"]), nsites))
        model = aggd.global_model()
        want = (aggd.initial["w"].astype(np.float64) + 0.25).astype(
            np.float32)
        if not np.array_equal(model["w"], want):
            raise SystemExit("the global model is not initial + delta")
        hwm = aggd.hwm_kib()
    print("N=%2d sites: aggd VmHWM %7.1f MiB (round of %d updates of "
          "%.0f MB in %.1f s)" % (nsites, hwm / 1024, nsites,
                                  MODEL_BYTES / 1e6, elapsed))
    return hwm


def main():
    small = one_round(2)
    large = one_round(20)
    print("ratio VmHWM(N=20) / VmHWM(N=2): %.2f" % (large / small))


if __name__ == "__main__":
    main()
