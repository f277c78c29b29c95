#!/usr/bin/python3
"""make-corpus - write the fuzz targets' seed corpora: valid inputs made
by numpy and by the protobuf modules that `make build/py/federated_pb2.py`
generates, so that each fuzzer starts from what real peers send.

    /usr/bin/python3 tests/fuzz/make-corpus.py

Writes tests/fuzz/corpus/fuzz_*/seed-*; files named regress-* (inputs
that once crashed a parser) are left alone. The seeds are committed: run
this again only when a message or a target's input layout changes.
"""

import gzip
import io
import json
import os
import struct
import sys
import tarfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "build", "py"))

import admin_pb2  # noqa: E402
import envelope_pb2  # noqa: E402
import federated_pb2  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TOKEN = "0123456789abcdef" * 4


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def npy(array, version=None):
    out = io.BytesIO()
    if version is None:
        np.save(out, array, allow_pickle=False)
    else:
        np.lib.format.write_array(out, array, version=version,
                                  allow_pickle=False)
    return out.getvalue()


def npy_seeds():
    arrays = {
        "float32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        "float64-scalar": np.array(3.25),
        "float16": np.array([1.5, -2.25, 65504], dtype=np.float16),
        "bool": np.array([True, False, True, True]),
        "int8": np.array([-128, 0, 127], dtype=np.int8),
        "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "big-endian-int32": np.arange(3, dtype=">i4"),
        "big-endian-float64": np.array([1.0, -0.5], dtype=">f8"),
        "fortran": np.asfortranarray(np.arange(12, dtype=np.int16)
                                     .reshape(3, 4)),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "three-d": np.ones((2, 1, 3), dtype=np.uint16),
    }
    for name, array in arrays.items():
        write("fuzz_npy", name, npy(array))
    write("fuzz_npy", "version-2", npy(np.arange(4, dtype=np.int32),
                                       version=(2, 0)))


def npz_seeds():
    model = {"conv/w": np.arange(6, dtype=np.float32).reshape(2, 3),
             "bias": np.array([0.5, -1.0])}
    for name, save in (("stored", np.savez),
                       ("deflated", np.savez_compressed)):
        out = io.BytesIO()
        save(out, **model)
        write("fuzz_npz", name, out.getvalue())
    out = io.BytesIO()
    np.savez(out, mask=np.array([True, False]))
    write("fuzz_npz", "one-tensor", out.getvalue())


def meta(round_number=0):
    m = federated_pb2.MetaData(current_round=round_number, num_rounds=5,
                               run_number=1)
    m.project.name = "fuzz-project"
    m.created.seconds = 1714560000
    return m


def client_state(name="site-1"):
    return federated_pb2.ClientState(meta=meta(), client_name=name,
                                     token=TOKEN)


def model_data(arrays):
    data = federated_pb2.ModelData()
    for key, array in arrays.items():
        data.params[key].ndarray = npy(array)
    return data


def update(scale):
    """An update for fuzz_proto_training's global model."""
    return {
        "conv/w": (np.arange(6, dtype=np.float32).reshape(2, 3) * scale),
        "conv/b": np.array([0.5, -0.25, 1.0]) * scale,
        "half": np.array([[1, 2], [3, 4]], dtype=np.float16),
        "steps": np.array(7, dtype=np.int64),
        "counts": np.array([1, 2, 3, 250], dtype=np.uint8),
        "mask": np.array([True, False, False, True]),
    }


def training(name, kind, message):
    write("fuzz_proto_training", name,
          bytes([kind]) + message.SerializeToString())


def training_seeds():
    login = federated_pb2.ClientLogin(client_name="site-1", token="",
                                      client_ip="10.0.0.7", meta=meta())
    training("client-login", 0, login)
    training("client-state", 1, client_state())
    delta = federated_pb2.Contribution(client=client_state(), n_iter=100,
                                       type="delta_w",
                                       data=model_data(update(0.5)))
    training("contribution-delta-w", 2, delta)
    with_excluded = dict(update(1.0))
    with_excluded["frozen/bn"] = np.zeros(2, dtype=np.float32)
    weights = federated_pb2.Contribution(client=client_state(), n_iter=3,
                                         type="w",
                                         data=model_data(with_excluded))
    training("contribution-w-excluded", 2, weights)
    training("token", 3, federated_pb2.Token(token=TOKEN,
                                             client_name="site-1"))
    local = federated_pb2.LocalModel(client=client_state(),
                                     data=model_data(update(2.0)))
    local.metrics["accuracy"] = 0.93
    training("local-model", 4, local)
    results = federated_pb2.ValidationResults(client=client_state(),
                                              owner="site-2")
    results.metrics["accuracy"] = 0.9
    results.metrics["auc"] = 0.95
    training("validation-results", 5, results)


def admin_message(mid, topic, body):
    m = admin_pb2.Message(id=mid, topic=topic, body_type="string",
                          body=body)
    m.headers["_refMsgId"] = str(mid)
    m.headers["_rtnCode"] = "_ok"
    return m


def admin_seeds():
    write("fuzz_proto_admin", "client",
          b"\0" + admin_pb2.Client(client_name=TOKEN).SerializeToString())
    reply = admin_pb2.Reply(client_name=TOKEN,
                            message=admin_message(7, "sys.info",
                                                  b"cpu: 4"))
    write("fuzz_proto_admin", "reply", b"\1" + reply.SerializeToString())
    msgs = admin_pb2.Messages(message=[
        admin_message(1, "train.check_status", b""),
        admin_message(2, "sys.shell", b"ls -l run_1")])
    write("fuzz_proto_admin", "messages", b"\2" + msgs.SerializeToString())


def envelope(name, socket, connected, kind, payload, peer_kind=None):
    env = envelope_pb2.Envelope(request_id=42, kind=kind)
    if peer_kind is not None:
        env.peer.common_name = "site-1"
        env.peer.kind = peer_kind
        env.peer.fingerprint = "ab" * 32
        env.peer.address = "ipv4:127.0.0.1:40000"
        env.metadata_token = TOKEN
    head = env.SerializeToString()
    layout = socket | (4 if connected else 0)
    write("fuzz_envelope", name, bytes([layout]) +
          struct.pack("<H", len(head)) + head + payload)


def envelope_seeds():
    e = envelope_pb2
    envelope("training-register", 0, False, e.REGISTER,
             federated_pb2.ClientLogin(client_name="site-1")
             .SerializeToString(), e.PEER_SITE)
    envelope("control-status", 1, False, e.SERVER_STATUS, b"{}")
    envelope("console-command", 2, False, e.ADMIN_COMMAND,
             b'{"time": 1, "data": [{"type": "command", '
             b'"data": "check_status server"}]}', e.PEER_ADMIN)
    envelope("notice-site", 3, False, e.NOTICE_SITE,
             b'{"event": "registered", "site": "site-1", '
             b'"time": "2024-05-01T12:00:00Z"}')
    reply = envelope_pb2.Envelope(request_id=42, kind=e.REPLY, status=9,
                                  status_message="No token: wait")
    head = reply.SerializeToString()
    write("fuzz_envelope", "training-reply",
          bytes([4]) + struct.pack("<H", len(head)) + head)


def config_seeds():
    fed_server = {"servers": [{
        "name": "fuzz-project",
        "service": {"target": "127.0.0.1:8002", "options": [
            ["grpc.max_send_message_length", 1073741824],
            ["grpc.max_receive_message_length", 1073741824]]},
        "ssl_private_key": "server.key", "ssl_cert": "server.crt",
        "ssl_root_cert": "rootCA.pem", "admin_host": "127.0.0.1",
        "admin_port": 8003, "admin_storage": "transfer"}]}
    train = {
        "servers": [{"min_num_clients": 2, "max_num_clients": 100,
                     "wait_after_min_clients": 10,
                     "heart_beat_timeout": 600, "start_round": 0,
                     "num_rounds": 5, "exclude_vars": "^frozen/|bn$",
                     "ckpt_preload_path": "../models/initial.npz"}],
        "aggregator": {"name": "ModelAggregator", "args": {
            "aggregation_weights": {"site-1": 1.5, "site-2": 0.5}}},
        "model_saver": {"name": "NPZModelSaver",
                        "args": {"keep_round_models": True}},
    }
    with open(os.path.join(REPO, "policy", "authorization.json")) as f:
        authz = json.load(f)
    authz["sites"] = {"server": "consortium", "site-1": "hospital-1",
                      "site-2": "hospital-2"}
    authz["users"] = {"admin@example.org": {"org": "consortium",
                                            "roles": ["super"]}}
    for name, doc in (("fed_server", fed_server),
                      ("config_fed_server", train),
                      ("authorization", authz)):
        write("fuzz_config", name, json.dumps(doc, indent=1).encode())


def authz_seeds():
    """authorization.json as flprovision makes it from the template."""
    with open(os.path.join(REPO, "policy", "authorization.json")) as f:
        authz = json.load(f)
    groups = authz["orgs"].pop("*")
    orgs = ["consortium", "hospital-1", "hospital-2"]
    for org in orgs:
        authz["orgs"][org] = list(groups)
    authz["orgs"]["hospital-2"] = ["general", "relaxed"]
    authz["users"] = {
        "admin@example.org": {"org": "consortium", "roles": ["super"]},
        "it@hospital-1.org": {"org": "hospital-1", "roles": ["site_it"]},
        "lead@example.org": {"org": "consortium",
                             "roles": ["lead_researcher", "lead_it"]},
        "res@hospital-2.org": {"org": "hospital-2",
                               "roles": ["site_researcher"]},
    }
    authz["sites"] = {"server": "consortium", "site-1": "hospital-1",
                      "site-2": "hospital-2"}
    write("fuzz_authz", "provisioned", json.dumps(authz, indent=1).encode())
    authz["users"] = {}
    write("fuzz_authz", "no-users", json.dumps(authz).encode())


def console_document(command, token=None):
    items = [{"type": "command", "data": command}]
    if token is not None:
        items.append({"type": "token", "data": token})
    return json.dumps({"time": 1714560000.5, "data": items}).encode()


def admin_frame_seeds():
    commands = {
        "login": ("_login admin@example.org secret", None),
        "cert-login": ("_cert_login admin@example.org", None),
        "check-status": ("check_status server", TOKEN),
        "deploy": ("deploy mmar_1 client site-1 site-2", TOKEN),
        "set-run": ("set_run_number 3", TOKEN),
        "cat": ("cat server run_1/cross_val_results.json", TOKEN),
        "grep": ('grep -n -i "best model" server log.txt', TOKEN),
        "validate": ("validation.validate site-1 site-2", TOKEN),
    }
    for name, (command, token) in commands.items():
        write("fuzz_admin_frame", "transmission-" + name,
              b"\x01" + console_document(command, token) + b"\x03")
    write("fuzz_admin_frame", "transmission-two-documents",
          b"\x01" + console_document("pwd", TOKEN) + b"\x03" +
          console_document("ls -l server run_1", TOKEN) + b"\x03")
    lines = {
        "shell": "ls -a -l server run_1",
        "quoted": "grep 'round 3' server log.txt",
        "abort": "abort client site-1",
        "sys-info": "sys_info client site-2",
        "timeout": "set_timeout 30",
    }
    for name, line in lines.items():
        write("fuzz_admin_frame", "line-" + name, b"\x00" + line.encode())


MMAR_FILES = {
    "config/config_fed_server.json":
        b'{"min_num_clients": 2, "ckpt_preload_path": '
        b'"../models/initial.npz"}\n',
    "config/config_fed_client.json":
        b'{"client": {"local_epochs": 5, "steps_aggregation": 0}}\n',
    "config/config_train.json":
        b'{"epochs": 10, "train": {"loss": {"name": "DiceLoss"}}}\n',
    "config/environment.json": b'{"DATA_ROOT": "/data"}\n',
    "models/initial.npz": b"PK\x05\x06" + b"\x00" * 18,
}


def tar_bytes(members, compress=False):
    """A tar of (name, data or None for a folder, link target or None),
    byte for byte the same at each run."""
    out = io.BytesIO()
    raw = gzip.GzipFile(fileobj=out, mode="wb", mtime=0) if compress \
        else out
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) \
            as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    if compress:
        raw.close()
    return out.getvalue()


def mmar_seeds():
    """Archives for fuzz_mmar: good MMARs as tar, tar.gz and zip, and
    the evil shapes the unit tests refuse."""
    good = [("config", None, None)] + \
        [(name, data, None) for name, data in MMAR_FILES.items()]
    write("fuzz_mmar", "good-tar", tar_bytes(good))
    write("fuzz_mmar", "good-tar-gz", tar_bytes(good, compress=True))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in MMAR_FILES.items():
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    write("fuzz_mmar", "good-zip", out.getvalue())
    write("fuzz_mmar", "dotdot", tar_bytes([("config/../../x", b"x",
                                               None)]))
    write("fuzz_mmar", "symlink", tar_bytes([("models/link", None, "/etc"),
                                             ("models/link/x", b"x",
                                              None)]))
    write("fuzz_mmar", "zeros-gz", tar_bytes(
        [("models/zeros.npz", b"\x00" * (2 << 20), None)], compress=True))


def main():
    authz_seeds()
    admin_frame_seeds()
    npy_seeds()
    npz_seeds()
    training_seeds()
    admin_seeds()
    envelope_seeds()
    config_seeds()
    mmar_seeds()


if __name__ == "__main__":
    main()
