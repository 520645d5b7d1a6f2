"""Tensor files as TENSOR arguments: .npy, .pt/.pth, .safetensors, FILE:KEY, and refusing pickles."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import assert_one_line, assert_schema, assert_tensor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file


class Payload:
    """A pickle that would create `marker` when unpickled: the attack weights_only stops."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def model_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    return model.state_dict()


def read_x(tshape, spec: str, *extra: str) -> dict:
    r = tshape("unsqueeze", spec, "--dim", "0", "--json", *extra)
    assert r.code == 0, r.stderr
    assert_schema(r.doc)
    return r.doc["inputs"]["x"]


def refused(tshape, spec: str, *extra: str) -> str:
    r = tshape("unsqueeze", spec, "--dim", "0", *extra)
    assert r.code == 2, (r.code, r.stdout)
    assert r.stdout == ""
    assert_one_line(r.stderr)
    return r.stderr.strip()


# --- .pt / .pth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_state_dict_key(tshape, tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    torch.save(model_state(), path)
    loaded = torch.load(path, weights_only=True)
    for key in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert_tensor(read_x(tshape, f"{path}:{key}"), loaded[key])


def test_a_file_holding_one_tensor_needs_no_key(tshape, tmp_path):
    path = tmp_path / "x.pt"
    torch.save(torch.arange(6).view(2, 3), path)
    assert_tensor(read_x(tshape, str(path)), torch.load(path, weights_only=True))
    assert_tensor(read_x(tshape, f"@{path}"), torch.load(path, weights_only=True))


def test_a_state_dict_with_one_tensor_needs_no_key(tshape, tmp_path):
    path = tmp_path / "one.pt"
    torch.save({"w": torch.ones(2, 2)}, path)
    assert_tensor(read_x(tshape, str(path)), torch.load(path, weights_only=True)["w"])


def test_nested_checkpoint_keys_are_dotted(tshape, tmp_path):
    path = tmp_path / "ckpt.pt"
    state = model_state()
    torch.save({"epoch": 3, "model": state, "history": [torch.zeros(2), torch.ones(3)]}, path)
    assert_tensor(read_x(tshape, f"{path}:model.0.weight"), state["0.weight"])
    assert_tensor(read_x(tshape, f"{path}:history.1"), torch.ones(3))
    line = refused(tshape, f"{path}:epoch")
    assert "'epoch'" in line and "not a tensor" in line


def test_strides_of_a_saved_view_are_kept(tshape, tmp_path):
    path = tmp_path / "t.pt"
    torch.save({"t": torch.arange(6).view(2, 3).T}, path)
    loaded = torch.load(path, weights_only=True)["t"]
    info = read_x(tshape, f"{path}:t")
    assert_tensor(info, loaded)
    assert info["contiguous"] is False
    # and view explains the refusal that torch gives for it
    r = tshape("view", f"{path}:t", "--shape", "-1", "--json")
    assert r.code == 1
    assert r.doc["error"]["kind"] == "view_not_contiguous"


def test_legacy_torch_format(tshape, tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"a": torch.arange(4.0)}, path, _use_new_zipfile_serialization=False)
    assert_tensor(read_x(tshape, f"{path}:a"), torch.arange(4.0))


def test_parameters_are_read_as_their_data(tshape, tmp_path):
    path = tmp_path / "p.pt"
    torch.save({"p": torch.nn.Parameter(torch.ones(2))}, path)
    info = read_x(tshape, f"{path}:p")
    assert_tensor(info, torch.ones(2))


def test_several_tensors_without_a_key(tshape, tmp_path):
    path = tmp_path / "model.pt"
    state = model_state()
    torch.save(state, path)
    line = refused(tshape, str(path))
    assert str(len(state)) in line
    for key in state:
        assert key in line
    assert f"{path}:" in line  # an example of the syntax


def test_unknown_key_lists_the_keys_closest_first(tshape, tmp_path):
    path = tmp_path / "model.pt"
    state = {"fc.bias": torch.zeros(2), "encoder.layer": torch.zeros(1), "fc.weight": torch.ones(2, 3)}
    torch.save(state, path)
    line = refused(tshape, f"{path}:fc.wieght")
    assert "fc.wieght" in line
    listed = line.split(":")[-1]
    assert listed.index("fc.weight") < listed.index("fc.bias") < listed.index("encoder.layer")


def test_many_keys_are_cut_short(tshape, tmp_path):
    path = tmp_path / "many.pt"
    torch.save({f"layer{i}": torch.zeros(1) for i in range(30)}, path)
    line = refused(tshape, f"{path}:nope")
    assert "more" in line and "tshape inspect" in line
    assert line.count("layer") < 30


def test_a_key_on_a_single_tensor_file(tshape, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(3))
    line = refused(tshape, f"{path}:weight")
    assert "weight" in line


def test_missing_empty_and_foreign_files(tshape, tmp_path):
    assert str(tmp_path / "nope.pt") in refused(tshape, str(tmp_path / "nope.pt"))
    for name, data in [("empty.pt", b""), ("text.pt", b"hello, not torch"), ("zip.pt", b"PK\x03\x04junk")]:
        path = tmp_path / name
        path.write_bytes(data)
        assert str(path) in refused(tshape, str(path))
    (tmp_path / "dir.pt").mkdir()
    assert "directory" in refused(tshape, str(tmp_path / "dir.pt"))


# --- no code from a file ever runs -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["zip", "legacy", "raw pickle"])
def test_a_malicious_pickle_is_refused_and_does_not_run(tshape, tmp_path, how):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"weight": torch.ones(2), "evil": Payload(str(marker))}
    if how == "zip":
        torch.save(payload, path)
    elif how == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload))
    for argv in (
        ["unsqueeze", f"{path}:weight"],
        ["unsqueeze", str(path)],
        ["inspect", str(path)],
        ["linear", "[[1.0, 2.0]]", "--weight", f"{path}:weight"],
    ):
        r = tshape(*argv)
        assert r.code == 2, (argv, r.stdout)
        assert_one_line(r.stderr)
        assert "weights_only" in r.stderr
        assert not marker.exists(), "the pickle's code ran"
    if sys.platform != "win32":  # the payload is real: an unsafe load would have run it
        if how == "raw pickle":
            pickle.loads(path.read_bytes())
        else:
            torch.load(path, weights_only=False)
        assert marker.exists()


def test_a_pickled_numpy_array_is_refused_and_does_not_run(tshape, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npy"
    np.save(path, np.array([Payload(str(marker))], dtype=object), allow_pickle=True)
    line = refused(tshape, str(path))
    assert "allow_pickle=False" in line
    assert not marker.exists()
    np.load(path, allow_pickle=True)  # the payload is real
    assert marker.exists()


def test_a_pickle_named_npy_is_refused(tshape, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npy"
    path.write_bytes(pickle.dumps(Payload(str(marker))))
    refused(tshape, str(path))
    assert not marker.exists()


# --- .npy --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.linspace(0, 1, 5, dtype=np.float32),
        np.array([True, False]),
        np.array(2.5),
        np.zeros((0, 3)),
        np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
        np.arange(4, dtype=">i4"),  # big-endian
        np.arange(3, dtype=np.uint8),
    ],
    ids=["int64", "float32", "bool", "scalar", "empty", "fortran", "big-endian", "uint8"],
)
def test_npy_as_torch_from_numpy(tshape, tmp_path, array):
    path = tmp_path / "x.npy"
    np.save(path, array)
    loaded = np.load(path, allow_pickle=False)
    expected = torch.from_numpy(loaded.astype(loaded.dtype.newbyteorder("="), order="K"))
    info = read_x(tshape, str(path))
    if expected.numel() == 0:  # numpy gives empty arrays zero strides
        assert info["shape"] == list(expected.shape) and info["values"] == expected.tolist()
    else:
        assert_tensor(info, expected)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    dtype=st.sampled_from(["int8", "int32", "int64", "float16", "float32", "float64", "bool", "uint8"]),
    fortran=st.booleans(),
)
def test_npy_round_trip(tshape, tmp_path, shape, dtype, fortran):
    rng = np.random.default_rng(len(shape))
    array = (rng.standard_normal(shape) * 10).astype(dtype)
    if fortran:
        array = np.asfortranarray(array)
    path = tmp_path / "r.npy"
    np.save(path, array)
    assert_tensor(read_x(tshape, str(path)), torch.from_numpy(np.load(path)))


def test_npy_of_strings_is_refused(tshape, tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.array(["a", "b"]))
    assert "<U1" in refused(tshape, str(path))


def test_npz_under_an_npy_name_is_refused(tshape, tmp_path):
    path = tmp_path / "z.npy"
    with open(path, "wb") as f:
        np.savez(f, a=np.arange(3))
    refused(tshape, str(path))


# --- .safetensors ------------------------------------------------------------------------------------


def test_safetensors_keys(tshape, tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in model_state().items()}, str(path))
    loaded = load_file(str(path))
    for key, tensor in loaded.items():
        assert_tensor(read_x(tshape, f"{path}:{key}"), tensor)
    line = refused(tshape, f"{path}:0.wieght")
    assert line.split(":")[-1].strip().startswith("0.weight")


def test_safetensors_bfloat16(tshape, tmp_path):
    path = tmp_path / "b.safetensors"
    save_file({"w": torch.arange(4, dtype=torch.bfloat16)}, str(path))
    assert_tensor(read_x(tshape, str(path)), load_file(str(path))["w"])


def test_corrupt_safetensors(tshape, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    assert str(path) in refused(tshape, str(path))


def test_safetensors_read_without_the_safetensors_package(tshape, tmp_path, monkeypatch):
    # the format is read directly (no memory map): the package is needed to write, not to read
    path = tmp_path / "m.safetensors"
    save_file({"w": torch.arange(6.0).reshape(2, 3)}, str(path))
    expected = load_file(str(path))["w"]
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors now fails
    assert_tensor(read_x(tshape, str(path)), expected)


# --- options that apply to file tensors ----------------------------------------------------------


def test_dtype_applies_to_file_tensors(tshape, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(4))
    assert_tensor(read_x(tshape, str(path), "--dtype", "float64"), torch.arange(4).double())


def test_max_elements_applies_to_file_tensors(tshape, tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"w": torch.zeros(4, 5)}, path)
    line = refused(tshape, f"{path}:w", "--max-elements", "19")
    assert "20" in line and "19" in line and "--meta" in line
    assert read_x(tshape, f"{path}:w", "--max-elements", "20")["shape"] == [4, 5]


def test_meta_reads_the_shape_alone(tshape, tmp_path):
    path = tmp_path / "m.pt"
    tensor = torch.arange(6.0).view(2, 3).T
    torch.save({"w": tensor}, path)
    info = read_x(tshape, f"{path}:w", "--meta", "--max-elements", "1")
    assert_tensor(info, tensor, values=False)
    assert info["values"] is None and "summary" not in info


def test_file_tensors_in_every_command(tshape, tmp_path):
    x = torch.arange(12.0).view(3, 2, 2)
    w = torch.arange(6.0).view(3, 2)
    torch.save({"x": x, "w": w}, tmp_path / "layer.pt")
    np.save(tmp_path / "w.npy", w.numpy())
    r = tshape("weighted", f"{tmp_path}/layer.pt:x", "--weights", f"{tmp_path}/w.npy", "--json")
    assert r.code == 0, r.stderr
    assert_tensor(r.doc["result"], torch.sum(x * w.view(3, 1, -1), dim=0))
    r = tshape("view", f"{tmp_path}/layer.pt:x", "--shape", "-1", "-q")
    assert r.stdout == " ".join(map(str, x.view(-1).shape)) + "\n"


def test_example_files_are_what_make_files_writes():
    import importlib.util
    from pathlib import Path

    examples = Path(__file__).resolve().parent.parent / "examples"
    spec = importlib.util.spec_from_file_location("make_files", examples / "make_files.py")
    assert spec is not None and spec.loader is not None
    make_files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_files)
    state = make_files.state_dict()
    for loaded in (
        torch.load(examples / "model.pt", weights_only=True),
        load_file(examples / "model.safetensors"),
    ):
        assert set(loaded) == set(state)
        for key, tensor in state.items():
            assert torch.equal(loaded[key], tensor), key
    x = torch.from_numpy(np.load(examples / "x.npy", allow_pickle=False))
    assert torch.equal(x, torch.arange(1, 13, dtype=torch.float32).view(3, 2, 2))


# --- hostile files: shared references, archives, truncation, special files, dtypes, names -------


def test_shared_references_are_walked_once(tshape, tmp_path):
    # 40 levels of {'a': d, 'b': d}: 2 KB on disk, 2^40 paths if every reference were followed
    d: object = {"w": torch.arange(3.0)}
    for _ in range(40):
        d = {"a": d, "b": d}
    path = tmp_path / "shared.pt"
    torch.save(d, path)
    assert path.stat().st_size < 10_000
    r = tshape("inspect", str(path), "--json")
    assert r.code == 0, r.stderr
    assert list(r.doc["inputs"]) == ["a." * 40 + "w"]  # the first path that reaches it
    assert r.doc["checks"][0]["torch"] == 3


def test_a_dict_that_holds_itself_is_listed_once(tshape, tmp_path):
    d: dict = {"w": torch.ones(2)}
    d["self"] = d
    path = tmp_path / "cycle.pt"
    torch.save(d, path)
    r = tshape("inspect", str(path), "--json")
    assert r.code == 0, r.stderr
    assert list(r.doc["inputs"]) == ["w"]


def _recompressed(src, dst, compress_data: bool) -> None:
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            packed = info.filename.endswith(".pkl") or (compress_data and "/data/" in info.filename)
            zout.writestr(info.filename, data, zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED)


def test_compressed_archives_are_bounded_by_their_declared_size(tshape, tmp_path, monkeypatch):
    from tensorshape_cli import tensorfiles

    src, packed = tmp_path / "m.pt", tmp_path / "packed.pt"
    torch.save({"w": torch.arange(6.0)}, src)
    _recompressed(src, packed, compress_data=False)
    assert_tensor(read_x(tshape, f"{packed}:w"), torch.arange(6.0))  # a small compressed pickle is read
    monkeypatch.setattr(tensorfiles, "MAX_INFLATED_BYTES", 10)
    line = refused(tshape, f"{packed}:w")
    assert "too large" in line and "nested" not in line


def test_compressed_tensor_data_is_refused(tshape, tmp_path):
    src, packed = tmp_path / "m.pt", tmp_path / "packed.pt"
    torch.save({"w": torch.arange(6.0)}, src)
    _recompressed(src, packed, compress_data=True)
    assert "compressed tensor data" in refused(tshape, f"{packed}:w")


@pytest.mark.parametrize("kind", ["pt", "npy", "safetensors"])
def test_a_file_truncated_while_it_is_read_is_a_sentence(tmp_path, kind):
    # the table of contents is read, then the file shrinks (a trainer overwriting it): the
    # tensor's data is read with plain reads, so this is an InputError, never SIGBUS
    from tensorshape_cli import settings, tensorfiles
    from tensorshape_cli.errors import InputError

    path = tmp_path / f"m.{kind}"
    w = torch.arange(4096.0)
    if kind == "pt":
        torch.save({"w": w}, path)
    elif kind == "npy":
        np.save(path, w.numpy())
    else:
        save_file({"w": w}, str(path))
    with settings.use(settings.Settings()):
        found = tensorfiles.open_file(path, "x")
        key = next(iter(found.shapes))
        assert torch.equal(found.read(key), w)
        os.truncate(path, path.stat().st_size - 8192)
        with pytest.raises(InputError, match="truncated"):
            found.read(key)


def test_views_in_a_checkpoint_read_their_own_elements(tshape, tmp_path):
    base = torch.arange(24.0).reshape(4, 6)
    path = tmp_path / "views.pt"
    torch.save({"t": base.t(), "cols": base[1:, ::2]}, path)
    assert_tensor(read_x(tshape, f"{path}:t"), base.t())
    assert_tensor(read_x(tshape, f"{path}:cols"), base[1:, ::2])


@pytest.mark.parametrize("spec", ["@{}", "{}.json", "{}.npy", "{}.pt", "{}.safetensors"])
def test_a_fifo_is_refused_at_once(tmp_path, spec):
    # no writer will ever come: opening it for reading would block forever
    fifo = tmp_path / "pipe"
    name = spec.format(fifo)
    os.mkfifo(name.removeprefix("@"))
    proc = subprocess.run(
        [sys.executable, "-m", "tensorshape_cli", "unsqueeze", name, "-d", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert_one_line(proc.stderr)
    assert "FIFO" in proc.stderr and "empty" not in proc.stderr


@pytest.mark.parametrize("command", ["sum", "mean"])
def test_complex_arrays_are_refused_by_name(tshape, tmp_path, command):
    path = tmp_path / "c.npy"
    np.save(path, np.ones(3, dtype=np.complex64))
    r = tshape(command, str(path))
    assert r.code == 2
    assert_one_line(r.stderr)
    assert "complex64" in r.stderr
    r = tshape("matmul", str(path), str(path))
    assert r.code == 2 and "complex64" in r.stderr
    # --dtype does not silently drop the imaginary part either
    assert tshape(command, str(path), "--dtype", "float32").code == 2


def test_float8_is_refused_by_name_and_converted_with_dtype(tshape, tmp_path):
    path = tmp_path / "f8.safetensors"
    w = torch.tensor([0.5, 1.0, 2.0]).to(torch.float8_e4m3fn)
    save_file({"w": w}, str(path))
    assert "float8_e4m3fn" in refused(tshape, str(path))
    assert_tensor(read_x(tshape, str(path), "--dtype", "float32"), w.to(torch.float32))


def test_bad_npy_magic_is_not_called_pickled(tshape, tmp_path):
    path = tmp_path / "bad.npy"
    path.write_bytes(b"NOTNUMPY" + b"\0" * 100)
    line = refused(tshape, str(path))
    assert "not a .npy" in line and "pickle" not in line


def test_object_arrays_are_still_refused(tshape, tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([1, "a"], dtype=object), allow_pickle=True)
    assert "pickled" in refused(tshape, str(path))


def test_an_unreadable_safetensors_file_says_permission_denied(tshape, tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save_file({"w": torch.ones(2)}, str(path))
    real_open = os.open

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    line = refused(tshape, str(path))
    assert "permission denied" in line and "No such file" not in line


@pytest.mark.parametrize("spec", ["~nosuchuser/x.npy", "~nosuchuser/x.pt:w", "@~nosuchuser/x.json"])
def test_an_unknown_user_in_a_path_is_a_missing_file(tshape, spec):
    assert "no such file" in refused(tshape, spec)


def test_a_name_too_long_is_a_sentence(tshape, tmp_path):
    for spec in (f"{tmp_path}/{'a' * 300}.npy", f"@{tmp_path}/{'a' * 300}.json"):
        assert "too long" in refused(tshape, spec)


def test_control_characters_in_keys_never_reach_the_terminal(tshape, tmp_path):
    path = tmp_path / "ctl.safetensors"
    save_file({"a\x1b]0;title\x07b": torch.ones(2), "two\nlines": torch.ones(3)}, str(path))
    for fmt in ("plain", "rich"):
        r = tshape("inspect", str(path), "-f", fmt)
        assert r.code == 0 and "\x1b]0" not in r.stdout and "two\nlines" not in r.stdout
        assert "a\\x1b]0;title\\x07b" in r.stdout
    r = tshape("inspect", str(path), "-q")
    assert r.stdout.splitlines() == ["a\\x1b]0;title\\x07b 2", "two\\nlines 3"]
    r = tshape("unsqueeze", f"{path}:nokey")
    assert r.code == 2 and "\x1b" not in r.stderr
    assert_one_line(r.stderr)
