import os
import sys
import sysconfig

from elfmaker import write_elf

from pyslim_helpers.loader import Loader, closure, conf_dirs, in_root, search_dirs


def links(starts, loader=None, **kw):
    loader = loader or Loader("", "")
    got = closure([(s, s) for s in starts], loader, **kw)
    return {(link.name, link.path and os.path.realpath(link.path)) for link in got}


def test_rpath_is_inherited_down_the_chain(tmp_path):
    exe = write_elf(tmp_path / "bin" / "exe", needed=["libpyslimA.so"], rpath="$ORIGIN/../a")
    liba = write_elf(tmp_path / "a" / "libpyslimA.so", needed=["libpyslimB.so"])
    libb = write_elf(tmp_path / "a" / "libpyslimB.so")
    assert links([exe]) == {("libpyslimA.so", liba), ("libpyslimB.so", libb)}


def test_runpath_is_for_the_objects_own_needed_only(tmp_path):
    exe = write_elf(tmp_path / "bin" / "exe", needed=["libpyslimA.so"], runpath="$ORIGIN/../a")
    liba = write_elf(tmp_path / "a" / "libpyslimA.so", needed=["libpyslimB.so"])
    write_elf(tmp_path / "a" / "libpyslimB.so")
    assert links([exe]) == {("libpyslimA.so", liba), ("libpyslimB.so", None)}


def test_runpath_turns_rpath_off(tmp_path):
    exe = write_elf(tmp_path / "bin" / "exe", needed=["libpyslimA.so"], rpath="$ORIGIN/../a", runpath="/nowhere")
    write_elf(tmp_path / "a" / "libpyslimA.so")
    assert links([exe]) == {("libpyslimA.so", None)}


def test_an_object_with_runpath_does_not_see_its_loaders_rpath(tmp_path):
    exe = write_elf(tmp_path / "bin" / "exe", needed=["libpyslimA.so"], rpath=str(tmp_path / "a"))
    liba = write_elf(tmp_path / "a" / "libpyslimA.so", needed=["libpyslimB.so"], runpath="/nowhere")
    write_elf(tmp_path / "a" / "libpyslimB.so")
    assert links([exe]) == {("libpyslimA.so", liba), ("libpyslimB.so", None)}


def test_origin_is_the_folder_of_the_object_that_holds_the_path(tmp_path):
    exe = write_elf(tmp_path / "bin" / "exe", needed=["libpyslimA.so"], rpath="$ORIGIN/../a")
    liba = write_elf(tmp_path / "a" / "libpyslimA.so", needed=["libpyslimB.so"], runpath="${ORIGIN}/../b")
    libb = write_elf(tmp_path / "b" / "libpyslimB.so")
    assert links([exe]) == {("libpyslimA.so", liba), ("libpyslimB.so", libb)}


def test_search_dirs_orders_own_rpath_before_the_inherited_ones():
    assert search_dirs(["$ORIGIN/x"], [], "/o", ("/up",)) == (["/o/x", "/up"], ("/o/x", "/up"))
    assert search_dirs(["/r"], ["$ORIGIN"], "/o", ("/up",)) == (["/o"], ())


def test_skip_and_grafted_libraries(tmp_path):
    venv = tmp_path / "venv"
    # patchelf (auditwheel) writes DT_RUNPATH, which the grafted libraries do not inherit
    needed = ["libpyslimG.so", "libskipped.so"]
    ext = write_elf(venv / "site" / "pkg" / "mod.so", needed=needed, runpath="$ORIGIN/../pkg.libs")
    graft = write_elf(venv / "site" / "pkg.libs" / "libpyslimG.so", needed=["libpyslimH.so"])
    h = write_elf(venv / "site" / "pkg.libs" / "libpyslimH.so")
    skip = {"libskipped.so"}.__contains__
    # without the fallback the grafted library's own DT_NEEDED is not found (it has no paths)
    assert ("libpyslimH.so", None) in links([ext], skip=skip)
    found = links([ext], skip=skip, grafted_under=str(venv))
    assert found == {("libpyslimG.so", graft), ("libpyslimH.so", h)}


def test_extra_names_and_interp(tmp_path):
    exe = write_elf(tmp_path / "exe", interp=str(tmp_path / "ld.so"))
    write_elf(tmp_path / "ld.so")
    loader = Loader("", "", extra_dirs=[str(tmp_path / "lib")])
    lib = write_elf(tmp_path / "lib" / "libpyslimD.so")
    got = list(closure([(exe, exe)], loader, names=[("libpyslimD.so", "dlopen")]))
    assert [(x.name, x.path, x.by) for x in got] == [
        ("libpyslimD.so", lib, "dlopen"),
        (str(tmp_path / "ld.so"), str(tmp_path / "ld.so"), exe),
    ]
    assert [x.name for x in closure([(exe, exe)], loader, follow_interp=False)] == []


def test_this_machines_python_closure_reaches_libc():
    loader = Loader("", sysconfig.get_config_var("MULTIARCH") or "")
    found = {link.name: link.path for link in closure([(sys.executable, "python")], loader)}
    libc = [p for n, p in found.items() if n.startswith("libc.so")]
    assert libc and libc[0] and os.path.isfile(libc[0]), found


def test_a_root_follows_its_own_absolute_links(tmp_path):
    root = tmp_path / "root"
    (root / "usr" / "lib" / "x").mkdir(parents=True)
    (root / "usr" / "lib" / "x" / "libpyslimR.so.1").write_bytes(b"")
    os.symlink("/usr/lib", root / "lib")  # absolute: inside the root, not this machine's /usr/lib
    assert in_root(str(root), "/lib/x/libpyslimR.so.1") == str(root / "usr/lib/x/libpyslimR.so.1")
    assert Loader(str(root), "x").has("libpyslimR.so.1")
    assert not Loader(str(root), "x").has("libc.so.6")


def test_ld_so_conf_includes_relative_and_globbed(tmp_path):
    root = tmp_path
    (root / "etc" / "ld.so.conf.d").mkdir(parents=True)
    (root / "etc" / "ld.so.conf").write_text("# comment\ninclude ld.so.conf.d/*.conf\n/opt/first\n")
    (root / "etc" / "ld.so.conf.d" / "b.conf").write_text("/opt/b\n")
    (root / "etc" / "ld.so.conf.d" / "a.conf").write_text("/opt/a # trailing comment\n")
    assert conf_dirs(str(root), "/etc/ld.so.conf") == ["/opt/a", "/opt/b", "/opt/first"]
    assert Loader(str(root), "m").dirs[:5] == ["/opt/a", "/opt/b", "/opt/first", "/lib/m", "/usr/lib/m"]
