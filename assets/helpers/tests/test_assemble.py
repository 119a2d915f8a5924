import os
import zipfile

import pytest

from pyslim_helpers.assemble import Assembly, parse_args, pure_file, read_trace, split, zip_put


def touch(path, text="x = 1\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def world(tmp_path):
    """A stdlib (json, email, encodings) under base/, a venv with two distributions."""
    base = tmp_path / "base"
    std = base / "lib" / "python3.x"
    for p in ["json/__init__.py", "json/decoder.py", "email/__init__.py", "os.py"]:
        touch(std / p)
    for p in ["encodings/__init__.py", "encodings/utf_8.py", "encodings/cp1252.py", "encodings/idna.py"]:
        touch(std / p)
    touch(std / "encodings" / "__pycache__" / "utf_8.cpython-3x.pyc", "stale")
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.x" / "site-packages"
    record = []
    for p in ["fastapi/__init__.py", "fastapi/routing.py", "fastapi-1.0.dist-info/METADATA"]:
        touch(site / p)
        record.append(p + ",,")
    touch(site / "fastapi-1.0.dist-info" / "RECORD", "\n".join(record) + "\n")
    record = []
    for p in ["native/__init__.py", "native/_speed.so", "native-2.0.dist-info/METADATA", "six.py"]:
        touch(site / p)
        record.append(p + ",,")
    touch(site / "native-2.0.dist-info" / "RECORD", "\n".join(record) + "\n")
    touch(site / "loose.pth", "extra\n")
    return tmp_path, base, std, venv, site


def assembly(world, **kw):
    tmp, base, std, venv, site = world
    kw.setdefault("sources", True)
    return Assembly(str(venv), str(tmp / "out"), search_path=[str(std), str(site)], base_prefix=str(base), **kw)


def kept_rel(asm, top):
    return sorted(os.path.relpath(p, top) for p in asm.kept if p.startswith(str(top) + "/"))


def test_a_stdlib_package_is_kept_whole_and_a_module_alone(world):
    _, _, std, _, _ = world
    asm = assembly(world)
    asm.keep_module("json.decoder")
    asm.keep_module("os")
    assert kept_rel(asm, std) == ["json/__init__.py", "json/decoder.py", "os.py"]
    assert os.path.isfile(asm.out(str(std / "json" / "decoder.py")))


def test_a_split_package_keeps_only_the_traced_submodules(world):
    _, _, std, _, _ = world
    asm = assembly(world, split_packages=["encodings"])
    asm.keep_module("encodings")
    asm.keep_module("encodings.utf_8")
    assert kept_rel(asm, std) == [
        "encodings/__init__.py",
        "encodings/__pycache__/utf_8.cpython-3x.pyc",
        "encodings/utf_8.py",
    ]
    whole = assembly(world, split_packages=["encodings"])
    whole.keep_module("encodings", whole=True)
    assert "encodings/cp1252.py" in kept_rel(whole, std)


def test_a_venv_distribution_is_kept_whole_through_its_record(world):
    _, _, _, _, site = world
    asm = assembly(world)
    asm.keep_module("fastapi.routing")
    assert kept_rel(asm, site) == ["fastapi-1.0.dist-info/METADATA", "fastapi/__init__.py", "fastapi/routing.py"]
    # a top-level module of a distribution brings the whole distribution too
    asm.keep_module("six")
    assert "native/_speed.so" in kept_rel(asm, site)


def test_traced_run_keeps_loose_pth_files_and_empty_stdlib_folders(world):
    _, _, std, _, site = world
    asm = assembly(world)
    asm.keep_traced({"fastapi"}, set())
    assert "loose.pth" in kept_rel(asm, site)
    assert os.path.isdir(asm.out(str(std)))
    assert kept_rel(asm, std) == []


def test_without_a_trace_everything_is_kept(world):
    _, _, std, venv, _ = world
    asm = assembly(world)
    asm.keep_everything()
    assert "encodings/idna.py" in kept_rel(asm, std)
    assert "lib/python3.x/site-packages/six.py" in kept_rel(asm, venv)


def test_stdlib_modules_become_sourceless_pyc(world):
    _, _, std, _, site = world
    asm = assembly(world, sources=False)
    asm.keep_module("json")
    asm.keep_module("fastapi")
    out_json = asm.out(str(std / "json"))
    assert sorted(os.listdir(out_json)) == ["__init__.pyc", "decoder.pyc"]
    assert os.path.isfile(asm.out(str(site / "fastapi" / "routing.py")))  # the venv keeps sources


def test_pure_distributions_are_zipped_others_stay(world):
    _, _, _, _, site = world
    asm = assembly(world)
    asm.keep_module("fastapi")
    asm.keep_module("native")
    assert asm.zip_venv() == ["fastapi"]
    with zipfile.ZipFile(asm.out(str(site / "pyslim-venv.zip"))) as z:
        assert "fastapi/routing.py" in z.namelist() and "fastapi/" in z.namelist()
    assert not os.path.exists(asm.out(str(site / "fastapi")))
    assert os.path.isfile(asm.out(str(site / "native" / "_speed.so")))
    with open(asm.out(str(site / "pyslim-venv.pth"))) as f:
        assert f.read() == "pyslim-venv.zip\n"


def test_pure_file():
    assert pure_file("pkg/mod.py") and pure_file("pkg/py.typed") and pure_file("pkg/LICENSE.txt")
    assert not pure_file("pkg/data.json") and not pure_file("pkg/_x.so")


def test_zip_put_adds_parent_folders(tmp_path):
    src = touch(tmp_path / "m.py")
    with zipfile.ZipFile(str(tmp_path / "z.zip"), "w") as z:
        zip_put(z, "a/b/m.py", str(src))
        assert z.namelist() == ["a/", "a/b/", "a/b/m.py"]
    assert not src.exists()


@pytest.mark.parametrize(
    "user,passwd,group",
    [
        ("65532:65532", "nonroot:x:65532:65532:", "nonroot:x:65532:"),
        ("app", "app:x:65532:65532:", "app:x:65532:"),
        ("1000:2000", "nonroot:x:1000:2000:", "nonroot:x:2000:"),
    ],
)
def test_users_and_tmp(world, user, passwd, group):
    asm = assembly(world)
    asm.write_users(user)
    with open(asm.out("/etc/passwd")) as f:
        assert f.read().splitlines()[1].startswith(passwd)
    with open(asm.out("/etc/group")) as f:
        assert f.read().splitlines()[1] == group
    assert oct(os.stat(asm.out("/tmp")).st_mode & 0o7777) == "0o1777"


def test_root_user_has_no_second_entry(world):
    asm = assembly(world)
    asm.write_users("0:0")
    with open(asm.out("/etc/passwd")) as f:
        assert f.read() == "root:x:0:0:root:/root:/sbin/nologin\n"


def test_read_trace(tmp_path):
    trace = touch(
        tmp_path / "t.txt", "module json\nmodule encodings.utf_8\nfile /etc/ssl/x\nlib /usr/lib/l.so\npath /p\n"
    )
    assert read_trace(str(trace)) == ({"json", "encodings.utf_8"}, {"/etc/ssl/x"}, {"/usr/lib/l.so"})


def test_list_flags_repeat():
    a = parse_args(["--venv", "/v", "--out", "/o", "--venv-out", "/vo", "--manifest", "/m"])
    assert split(a.always) == [] and split(a.keep) == []
    a = parse_args(
        ["--venv", "/v", "--out", "/o", "--venv-out", "/vo", "--manifest", "/m", "--always", "a,b", "--always", "c"]
    )
    assert split(a.always) == ["a", "b", "c"]
    assert split("x,,y") == ["x", "y"]
