import os

from elfmaker import write_elf

from pyslim_helpers import libs


def setup(tmp_path, needed, lib_needs=()):
    """A venv whose bin/tool needs `needed` from a builder folder; an empty runtime root."""
    venv = tmp_path / "venv"
    builder_lib = tmp_path / "builder-lib"
    write_elf(venv / "bin" / "tool", needed=needed, rpath=str(builder_lib))
    for name in needed:
        write_elf(builder_lib / name, needed=list(lib_needs))
    for name in lib_needs:
        write_elf(builder_lib / name)
    root = tmp_path / "runtime"
    (root / "usr" / "lib").mkdir(parents=True)
    return venv, builder_lib, root


def run(tmp_path, venv, root, *extra):
    out = tmp_path / "out"
    argv = ["--venv", str(venv), "--out", str(out), "--manifest", "/etc/pyslim/runtime-libs.txt"]
    argv += ["--runtime", "fake-runtime", "--runtime-python", "/usr/bin/python3"]
    argv += ["--runtime-root", str(root)] if root else []
    code = libs.main(argv + list(extra))
    manifest = out / "etc/pyslim/runtime-libs.txt"
    return code, out, manifest.read_text() if manifest.exists() else ""


def test_copies_what_the_runtime_lacks_with_its_closure(tmp_path, capsys):
    venv, builder_lib, root = setup(tmp_path, ["libpyslimA.so.1"], lib_needs=["libpyslimB.so.2"])
    code, out, manifest = run(tmp_path, venv, root)
    assert code == 0
    real = os.path.realpath(str(builder_lib))
    for name in ["libpyslimA.so.1", "libpyslimB.so.2"]:
        assert (out / real.lstrip("/") / name).is_file()
        assert "%s/%s for %s/bin/tool" % (real, name, venv) in manifest
    assert manifest.startswith("# Shared libraries pyslim copied from the builder")
    assert "copied from the builder" in capsys.readouterr().out


def test_what_the_runtime_has_is_not_copied_nor_followed(tmp_path):
    venv, _, root = setup(tmp_path, ["libpyslimA.so.1"], lib_needs=["libpyslimB.so.2"])
    (root / "usr" / "lib" / "libpyslimA.so.1").write_bytes(b"")
    code, _, manifest = run(tmp_path, venv, root)
    assert code == 0 and "libpyslimA" not in manifest and "libpyslimB" not in manifest


def test_classic_stems_and_provided_sonames(tmp_path):
    venv, _, _ = setup(tmp_path, ["libpyslimA.so.1", "libpyslimC.so.3"])
    code, _, manifest = run(tmp_path, venv, None, "--runtime-has", "libpyslimA", "--provided", "libpyslimC.so.3")
    assert code == 0
    assert [line for line in manifest.splitlines() if not line.startswith("#")] == []


def test_a_missing_library_is_a_warning(tmp_path, capsys):
    venv = tmp_path / "venv"
    write_elf(venv / "bin" / "tool", needed=["libpyslim-nowhere.so"])
    code, _, _ = run(tmp_path, venv, tmp_path)
    assert code == 0
    assert "the builder has no libpyslim-nowhere.so (for %s/bin/tool)" % venv in capsys.readouterr().err


def test_also_names_libraries_loaded_by_name(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    lib = write_elf(tmp_path / "lib" / "libpyslimD.so.1")
    # a dlopen'ed soname is searched in the loader's folders: an ld.so.conf of the builder is not
    # writable here, so the name is a path (the loader takes a name with a slash as it is)
    code, _, manifest = run(tmp_path, venv, tmp_path / "runtime", "--also", lib)
    assert code == 0 and "for loaded at run time by a dependency" in manifest


def test_a_stray_libpython_stops_the_step_with_one_line(tmp_path, capsys):
    venv, _, root = setup(tmp_path, ["libpython3.99.so.1.0"])
    code, _, _ = run(tmp_path, venv, root)
    err = capsys.readouterr().err.strip()
    assert code == 3
    assert len(err.splitlines()) == 1 and err.startswith("ERROR: ")
    assert "embeds Python (libpython3.99.so.1.0)" in err and "fake-runtime lacks" in err
    assert "multistage-slim" in err


def test_a_libpython_is_fine_with_the_builders_layout(tmp_path):
    venv, _, _ = setup(tmp_path, ["libpython3.99.so.1.0"])
    code, _, manifest = run(tmp_path, venv, None, "--same-python-layout")
    assert code == 0 and "libpython3.99.so.1.0 for" in manifest


def test_venv_candidates_are_bin_and_shared_objects(tmp_path):
    venv = tmp_path / "v"
    for p in ["bin/python", "lib/site/m.cpython-39.so", "lib/site/readme.txt", "lib/site/x.so.1"]:
        (venv / p).parent.mkdir(parents=True, exist_ok=True)
        (venv / p).write_bytes(b"")
    os.symlink("python", venv / "bin" / "python3")
    got = sorted(os.path.relpath(p, venv) for p, _ in libs.venv_elf_candidates(str(venv)))
    assert got == ["bin/python", "lib/site/m.cpython-39.so", "lib/site/x.so.1"]
