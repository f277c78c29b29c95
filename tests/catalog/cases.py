"""The bad-input catalog: requests a hostile or broken site sends to the
training port, each with the answer the server owes it.

Each case is a short function that builds the request's bytes exactly as
they go on the wire (raw bytes through a channel with identity
serializers, so that nothing in grpcio can tidy them up), and a row of
CASES says which rpc carries them, the status that site must get, and
words its message must hold. tests/protocol/test_catalog.py plays every
case against the real daemons and checks, besides the status, that the
daemons keep serving a well-behaved site, that their memory returns near
its level, and that nothing on disk changed.

The cases run as site-1, registered and holding the round's model, on a
server whose message limit is LIMIT and whose global model is MODEL.
"""

import io
import pickle

import numpy as np

import admin_pb2
import federated_pb2 as fpb

LIMIT = 16 * 1024 * 1024
MODEL = {
    "conv.weight": np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 12),
    "conv.bias": np.zeros(2, dtype=np.float32),
    "fc.weight": np.ones((3, 4), dtype=np.float64),
}
TENSOR = "conv.weight"	# the tensor the .npy cases replace


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def field(number, wire_type, payload=b"", value=None):
    """One protobuf field: a varint value, or length-delimited bytes."""
    key = varint(number << 3 | wire_type)
    if wire_type == 0:
        return key + varint(value)
    return key + varint(len(payload)) + payload


def npy_header(header, data=b"", version=1):
    """A .npy file with this header text, padded as numpy pads."""
    text = header.encode("latin-1")
    pre = 10 if version == 1 else 12
    hlen = len(text) + 1
    hlen += -(pre + hlen) % 64
    size = hlen.to_bytes(2 if version == 1 else 4, "little")
    return (b"\x93NUMPY" + bytes([version, 0]) + size +
            text + b" " * (hlen - len(text) - 1) + b"\n" + data)


def npy(array):
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def model_data(entries):
    """ModelData from (key bytes, NDArray bytes) pairs, keys as given."""
    return b"".join(
        field(1, 2, field(1, 2, key) + field(2, 2, field(1, 2, nd)))
        for key, nd in entries)


def update_with(name, blob):
    """A good update of MODEL's shape with one tensor's bytes replaced."""
    entries = []
    for key in sorted(MODEL):
        nd = blob if key == name else npy(np.zeros_like(MODEL[key]))
        entries.append((key.encode(), nd))
    return model_data(entries)


# Raw protobuf: each request is bytes the protobuf parser must refuse.

def truncated_login(site):
    login = fpb.ClientLogin(client_name=site.name, client_ip="127.0.0.1",
                            meta=site.meta()).SerializeToString()
    return login[:len(login) // 2 + 1]


def wrong_wire_type(site):
    """client_name (a string, field 1) sent as a varint."""
    return field(1, 0, value=7) + field(3, 2, b"127.0.0.1")


def huge_length_prefix(site):
    """Token.token announcing 2^62 bytes."""
    return b"\x0a" + varint(1 << 62) + b"abc"


def length_past_end(site):
    return b"\x0a" + varint(100) + site.token.encode()[:3]


def varint_too_long(site):
    """A key varint that never ends: eleven continuation bytes."""
    return b"\xff" * 11 + b"\x01"


def nested_length_lies(site):
    """A Contribution whose data is in bounds but whose one map entry
    announces more bytes than the data holds."""
    state = site.state(current_round=site.round).SerializeToString()
    entry = field(1, 2, b"conv.weight")
    lying = b"\x0a" + varint(len(entry) + 50) + entry
    return field(1, 2, state) + field(2, 0, value=1) + field(4, 2, lying)


def group_wire_type(site):
    """A deprecated start-group field (wire type 3) with no end."""
    return site.state().SerializeToString() + b"\x0b\x08\x01"


def over_message_limit(site):
    return b"\x0a" + varint(LIMIT + 4096) + b"\0" * (LIMIT + 4096)


def empty_login(site):
    return b""


def million_unknown_fields(site):
    """A Token followed by eight million unknown varint fields (16 MB):
    protobuf-c would keep each one, forty times the message in all."""
    return (fpb.Token(token=site.token, client_name=site.name)
            .SerializeToString() + b"\x50\x01" * 8000000)


# The admin relay to sites, on the same port (admin.AdminCommunicating).

RETRIEVE = "/admin.AdminCommunicating/Retrieve"
SEND_REPLY = "/admin.AdminCommunicating/SendReply"


def truncated_admin_client(site):
    return admin_pb2.Client(client_name=site.token).SerializeToString()[:9]


def admin_reply_unknown_fields(site):
    return (admin_pb2.Reply(client_name=site.token).SerializeToString() +
            b"\x50\x01" * 8000000)


def admin_token_100k(site):
    return admin_pb2.Client(client_name="t" * 100000).SerializeToString()


# Updates: a real Contribution around a hostile ModelData.

def contribution(site, data, n_iter=1):
    head = fpb.Contribution(client=site.state(current_round=site.round),
                            n_iter=n_iter,
                            type="delta_w").SerializeToString()
    return head + field(4, 2, data)


def million_entries(site):
    """A ModelData of a million tiny entries, under the message limit."""
    entry = field(2, 2, b"")
    data = b"".join(field(1, 2, field(1, 2, b"k%d" % i) + entry)
                    for i in range(1000000))
    assert len(data) < LIMIT - 1024
    return contribution(site, data)


def empty_key(site):
    return contribution(site, model_data(
        [(k.encode(), npy(np.zeros_like(v))) for k, v in MODEL.items()] +
        [(b"", npy(np.zeros(1, np.float32)))]))


def long_key(site):
    return contribution(site, model_data(
        [(b"k" * 100000, npy(np.zeros(1, np.float32)))]))


def non_utf8_key(site):
    return contribution(site, model_data(
        [(b"conv.\xff\xfeweight", npy(np.zeros(1, np.float32)))]))


def npy_case(blob):
    return lambda site: contribution(site, update_with(TENSOR, blob))


def pickled_objects():
    out = io.BytesIO()
    np.save(out, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return out.getvalue()


NPY_CASES = {
    "npy_shape_product_overflows": (npy_header(
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (4294967296, 4294967296, 16), }"), ["overflows"]),
    "npy_shape_beyond_limit": (npy_header(
        "{'descr': '<f4', 'fortran_order': False, "
        "'shape': (1099511627776,), }"), ["limit"]),
    "npy_negative_dimension": (npy_header(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -12), }",
        b"\0" * 96), ["negative"]),
    "npy_fewer_bytes_than_shape": (npy(MODEL[TENSOR])[:-5], ["truncated"]),
    "npy_more_bytes_than_shape": (npy(MODEL[TENSOR]) + b"\0" * 8,
                                  ["trailing"]),
    "npy_header_length_past_end": (
        b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f4'", ["truncated"]),
    "npy_version_2_header_length_huge": (
        b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{", ["truncated"]),
    "npy_object_dtype": (npy_header(
        "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"),
        ["object"]),
    "npy_pickled_object_array": (pickled_objects(), ["object"]),
    "npy_bare_pickle": (pickle.dumps({"conv.weight": [1.0, 2.0]}),
                        ["magic"]),
    "npy_structured_dtype": (npy_header(
        "{'descr': [('a', '<f4')], 'fortran_order': False, "
        "'shape': (24,), }", b"\0" * 96), ["structured"]),
    "npy_header_not_a_dict": (npy_header("__import__('os').system('id')"),
                              ["header"]),
}

INVALID = "INVALID_ARGUMENT"

# name: (rpc or method path, build(site) -> request bytes, expected
# status, words)
CASES = {
    "admin_client_truncated": (RETRIEVE, truncated_admin_client, INVALID,
                               ["not an admin.Client"]),
    "admin_reply_unknown_fields": (SEND_REPLY, admin_reply_unknown_fields,
                                   INVALID, ["not an admin.Reply"]),
    "admin_token_100k": (RETRIEVE, admin_token_100k, "UNAUTHENTICATED",
                         ["no usable token"]),
    "truncated_login": ("Register", truncated_login, INVALID,
                        ["malformed ClientLogin"]),
    "wrong_wire_type": ("Register", wrong_wire_type, INVALID,
                        ["malformed ClientLogin"]),
    "huge_length_prefix": ("Heartbeat", huge_length_prefix, INVALID,
                           ["malformed Token"]),
    "length_past_end": ("Heartbeat", length_past_end, INVALID,
                        ["malformed Token"]),
    "varint_too_long": ("Quit", varint_too_long, INVALID,
                        ["malformed ClientState"]),
    "group_wire_type": ("GetModel", group_wire_type, INVALID,
                        ["malformed ClientState"]),
    "nested_length_lies": ("SubmitUpdate", nested_length_lies, INVALID,
                           ["malformed Contribution"]),
    "over_message_limit": ("SubmitUpdate", over_message_limit,
                           "RESOURCE_EXHAUSTED", []),
    "empty_login": ("Register", empty_login, "UNAUTHENTICATED",
                    ["no client name"]),
    "million_unknown_fields": ("Heartbeat", million_unknown_fields,
                               INVALID, ["too many fields"]),
    "million_entries": ("SubmitUpdate", million_entries, INVALID,
                        ["malformed Contribution", "too many fields"]),
    "empty_key": ("SubmitUpdate", empty_key, INVALID,
                  ["site-1", "not in the global model"]),
    "long_key": ("SubmitUpdate", long_key, INVALID,
                 ["site-1", "kkkk..."]),
    "non_utf8_key": ("SubmitUpdate", non_utf8_key, INVALID, ["site-1"]),
}
for _name, (_blob, _words) in NPY_CASES.items():
    CASES[_name] = ("SubmitUpdate", npy_case(_blob), INVALID,
                    ["site-1", TENSOR] + _words)
