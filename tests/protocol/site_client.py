"""A site as any standard gRPC stack sees the server: Python grpcio over
mutual TLS with the site's own startup kit, the stubs generated from
proto/federated.proto, and tensors as numpy.save(..., allow_pickle=False)
bytes.

Updates are sent as bytes built here, so that the test knows exactly what
went on the wire: the SHA-256 the provenance record must name is that of
the serialized ModelData, and a malformed update (a key given twice) can
be sent at all.
"""

import hashlib
import io
import json
import os

import grpc
import numpy as np

import federated_pb2 as fpb

RPC_TIMEOUT = 30

SERVICE = "/fedlearn.FederatedTraining/"


def tensor_bytes(array):
    """The .npy bytes of one tensor, as a Clara client sends them."""
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def tensor_from_bytes(blob):
    return np.load(io.BytesIO(blob), allow_pickle=False)


def model_data_bytes(entries):
    """A serialized ModelData from (name, npy bytes) pairs, in that order.

    Each single-entry ModelData is one map entry on the wire; their
    concatenation is one ModelData holding them all, duplicates included.
    """
    return b"".join(
        fpb.ModelData(params={name: fpb.NDArray(ndarray=blob)})
        .SerializeToString()
        for name, blob in entries)


def model_entries(model):
    """(name, npy bytes) pairs for a dict of arrays, sorted by name."""
    return [(name, tensor_bytes(model[name])) for name in sorted(model)]


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def contribution_bytes(client_state, n_iter, update_type, data):
    """A serialized Contribution whose data field is exactly data."""
    head = fpb.Contribution(client=client_state, n_iter=n_iter,
                            type=update_type).SerializeToString()
    # Field 4 (data), wire type 2 (length-delimited).
    return head + b"\x22" + _varint(len(data)) + data


def sha256(blob):
    return hashlib.sha256(blob).hexdigest()


class Kit:
    """One participant's startup folder: its key pair and the root."""

    def __init__(self, folder):
        self.folder = folder
        startup = os.path.join(folder, "startup")

        def read(name):
            with open(os.path.join(startup, name), "rb") as f:
                return f.read()
        self.root = read("rootCA.pem")
        self.cert = read("client.crt")
        self.key = read("client.key")


class Site:
    """A site's channel and its calls. Calls raise grpc.RpcError."""

    def __init__(self, name, target, project, kit=None, options=(),
                 with_client_cert=True, root=None):
        self.name = name
        self.project = project
        self.token = None
        self.round = None
        if with_client_cert:
            creds = grpc.ssl_channel_credentials(
                root_certificates=root or kit.root,
                private_key=kit.key, certificate_chain=kit.cert)
        else:
            creds = grpc.ssl_channel_credentials(
                root_certificates=root or kit.root)
        # A channel of its own per site: servers of earlier tests used the
        # same port, and a shared subchannel could still be backing off.
        opts = [("grpc.ssl_target_name_override", "localhost"),
                ("grpc.use_local_subchannel_pool", 1)]
        opts.extend(options)
        self.channel = grpc.secure_channel(target, creds, options=opts)
        self._calls = {}

    def close(self):
        self.channel.close()

    def _call(self, method, reply_class):
        if method not in self._calls:
            self._calls[method] = self.channel.unary_unary(
                SERVICE + method, request_serializer=None,
                response_deserializer=reply_class.FromString)
        return self._calls[method]

    def call_raw(self, method, reply_class, request_bytes, metadata=None):
        """Any training RPC with a request given as bytes."""
        return self._call(method, reply_class)(
            request_bytes, timeout=RPC_TIMEOUT, metadata=metadata)

    def meta(self, current_round=None):
        meta = fpb.MetaData(project=fpb.Project(name=self.project))
        if current_round is not None:
            meta.current_round = current_round
        return meta

    def state(self, token=None, current_round=None):
        return fpb.ClientState(
            meta=self.meta(current_round), client_name=self.name,
            token=self.token if token is None else token)

    def register(self, client_name=None):
        """Register; keeps and returns the new token."""
        login = fpb.ClientLogin(
            client_name=self.name if client_name is None else client_name,
            client_ip="127.0.0.1", meta=self.meta())
        reply = self.call_raw("Register", fpb.FederatedSummary,
                              login.SerializeToString())
        self.token = reply.token
        return reply.token

    def get_model(self, token=None):
        """Fetch the round's model: (meta, {name: array})."""
        reply = self.call_raw("GetModel", fpb.CurrentModel,
                              self.state(token).SerializeToString())
        self.round = reply.meta.current_round
        model = {name: tensor_from_bytes(nd.ndarray)
                 for name, nd in reply.data.params.items()}
        return reply.meta, model

    def submit_data(self, data, n_iter, update_type="delta_w",
                    current_round=None, token=None):
        """Send a serialized ModelData as this site's update."""
        if current_round is None:
            current_round = self.round
        request = contribution_bytes(
            self.state(token, current_round), n_iter, update_type, data)
        return self.call_raw("SubmitUpdate", fpb.FederatedSummary, request)

    def submit(self, model, n_iter, update_type="delta_w", **kw):
        """Send a dict of arrays; returns the sha256 of its ModelData."""
        data = model_data_bytes(model_entries(model))
        self.submit_data(data, n_iter, update_type, **kw)
        return sha256(data)

    def heartbeat(self, token=None):
        beat = fpb.Token(token=self.token if token is None else token,
                         client_name=self.name)
        return self.call_raw("Heartbeat", fpb.FederatedSummary,
                             beat.SerializeToString())

    def quit(self, token=None):
        return self.call_raw("Quit", fpb.FederatedSummary,
                             self.state(token).SerializeToString())


def expect_status(code, call, *args, prefix=None, contains=(), **kw):
    """Run call, which must fail with code; returns its details."""
    try:
        call(*args, **kw)
    except grpc.RpcError as err:
        got = err.code()
        details = err.details() or ""
        print("%s: %s" % (got.name, details))
        assert got == code, \
            "expected %s, got %s: %r" % (code.name, got.name, details)
        if prefix is not None:
            assert details.startswith(prefix), \
                "%s details %r do not start with %r" % (
                    code.name, details, prefix)
        for word in contains:
            assert word in details, \
                "%s details %r do not name %r" % (code.name, details, word)
        return details
    raise AssertionError("expected %s, the call succeeded" % code.name)


def read_json(path):
    with open(path) as f:
        return json.load(f)
