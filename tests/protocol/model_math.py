"""What the server's model must be, computed independently with numpy:
the weighted average in float64, rounded to each tensor's own dtype
(integers to the nearest, bools true from one half), and the small models
the tests train with.
"""

import numpy as np


def small_model(seed=0):
    """A few tensors of a few hundred values, in float32 and float16."""
    rng = np.random.default_rng(seed)
    return {
        "conv1.weight": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
        "conv1.bias": rng.standard_normal(8).astype(np.float32),
        "fc.weight": rng.standard_normal((10, 30)).astype(np.float32),
        "fc.bias": rng.standard_normal(10).astype(np.float16),
    }


def random_update(model, seed, scale=0.01):
    """A site's update: same names, shapes and dtypes as model."""
    rng = np.random.default_rng(seed)
    return {name: (rng.standard_normal(a.shape) * scale).astype(a.dtype)
            for name, a in model.items()}


def _to_dtype(values, dtype):
    if dtype == np.bool_:
        return values >= 0.5
    if np.issubdtype(dtype, np.integer):
        return np.rint(values).astype(dtype)
    return values.astype(dtype)


def weighted_average(updates):
    """updates: [(model dict, weight)]; float64 averages by name."""
    total = sum(float(w) for _, w in updates)
    out = {}
    for name in updates[0][0]:
        acc = np.zeros(updates[0][0][name].shape, dtype=np.float64)
        for model, weight in updates:
            acc += float(weight) * model[name].astype(np.float64)
        out[name] = acc / total
    return out


def expected_model(old, updates, update_type="delta_w"):
    """The global model after a round of updates [(model, weight)]."""
    average = weighted_average(updates)
    out = {}
    for name, old_value in old.items():
        if update_type == "delta_w":
            value = old_value.astype(np.float64) + average[name]
        else:
            value = average[name]
        out[name] = _to_dtype(value, old_value.dtype)
    return out


def assert_models_equal(got, expected):
    """Byte-equal: same names, dtypes, shapes and every bit."""
    assert sorted(got) == sorted(expected)
    for name in expected:
        g, e = got[name], expected[name]
        assert g.dtype == e.dtype, "%s: dtype %s, expected %s" % (
            name, g.dtype, e.dtype)
        assert g.shape == e.shape, "%s: shape %s, expected %s" % (
            name, g.shape, e.shape)
        if g.tobytes() != e.tobytes():
            bad = np.flatnonzero(g.reshape(-1) != e.reshape(-1))
            raise AssertionError(
                "%s: %d of %d values differ, first at %d: %r != %r" % (
                    name, bad.size, e.size, bad[0],
                    g.reshape(-1)[bad[0]], e.reshape(-1)[bad[0]]))
