"""Message size limits from the startup kit's fed_server.json
(service.options, as Clara's): with 64 MiB, a 20 MB update goes through
and is averaged like any other, a 70 MB one is refused RESOURCE_EXHAUSTED,
and the server keeps serving the other sites.
"""

import grpc
import numpy as np

from model_math import assert_models_equal, expected_model
from site_client import expect_status

LIMIT = 64 * 1024 * 1024
OPTIONS = [["grpc.max_send_message_length", LIMIT],
           ["grpc.max_receive_message_length", LIMIT]]
# The site may send more than the server takes, so that the server is
# the one that refuses.
SITE_OPTIONS = [("grpc.max_send_message_length", 2 * LIMIT),
                ("grpc.max_receive_message_length", LIMIT)]

BIG = 5_000_000		# float32 values: 20 MB
TOO_BIG = 17_500_000	# float32 values: 70 MB


def test_update_over_message_limit_is_refused_others_go_on(server):
    """site-1 sends a 20 MB update: accepted. site-2 sends 70 MB:
    RESOURCE_EXHAUSTED. site-1's heartbeat still works, site-2's 20 MB
    update is accepted, and the round's model averages the two."""
    initial = {"big": np.linspace(-1, 1, BIG, dtype=np.float32)}
    srv = server(min_num_clients=2, model=initial, service_options=OPTIONS,
                 keep_round_models=False)
    s1 = srv.site("site-1", options=SITE_OPTIONS)
    s2 = srv.site("site-2", options=SITE_OPTIONS)
    s1.register()
    s2.register()

    _, model = s1.get_model()
    assert_models_equal(model, initial)
    d1 = {"big": np.full(BIG, 0.25, dtype=np.float32)}
    s1.submit(d1, n_iter=1)

    s2.get_model()
    huge = {"big": np.ones(TOO_BIG, dtype=np.float32)}
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, s2.submit, huge,
                  n_iter=1)

    s1.heartbeat()
    d2 = {"big": np.full(BIG, -0.5, dtype=np.float32)}
    s2.submit(d2, n_iter=3)
    srv.wait_round(0, timeout=30)
    assert_models_equal(srv.global_model(),
                        expected_model(initial, [(d1, 1), (d2, 3)]))
