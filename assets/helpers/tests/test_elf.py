import _ctypes  # links libffi
import glob
import os
import sys
import sysconfig

import pytest
from elfmaker import make_elf, write_elf

from pyslim_helpers.elf import expand_origin, parse, read_elf


@pytest.mark.parametrize("klass", [1, 2])
@pytest.mark.parametrize("order", [1, 2])
def test_crafted_files_of_each_class_and_byte_order(klass, order):
    info = parse(
        make_elf(
            klass=klass,
            order=order,
            interp="/lib/ld-test.so.1",
            needed=["liba.so.1", "libb.so.2"],
            rpath="$ORIGIN/../lib:/opt/r",
            runpath="${ORIGIN}/x",
            soname="libself.so.3",
        )
    )
    assert info is not None
    assert info.interp == "/lib/ld-test.so.1"
    assert info.needed == ["liba.so.1", "libb.so.2"]
    assert info.soname == "libself.so.3"
    # kept apart: the loader ignores DT_RPATH when DT_RUNPATH is there (see loader)
    assert info.rpath == ["$ORIGIN/../lib", "/opt/r"]
    assert info.runpath == ["${ORIGIN}/x"]


def test_no_dynamic_strings_when_the_string_table_is_not_mapped():
    info = parse(make_elf(needed=["liba.so"], map_strtab=False))
    assert info is not None and info.needed == [] and info.rpath == []


@pytest.mark.parametrize(
    "data",
    [b"", b"#!/bin/sh\necho hi\n", b"\x7fELF", b"\x7fELF" + bytes([3, 1]) + bytes(60), make_elf()[:40]],
)
def test_what_is_not_elf_is_none(data, tmp_path):
    assert parse(data) is None
    p = tmp_path / "f"
    p.write_bytes(data)
    assert read_elf(str(p)) is None


def test_corrupt_offsets_do_not_raise():
    data = bytearray(make_elf(needed=["liba.so"]))
    data[32:40] = (10**12).to_bytes(8, "little")  # e_phoff past the end
    assert parse(bytes(data)) is None


def test_unreadable_paths_are_none(tmp_path):
    assert read_elf(str(tmp_path / "missing")) is None
    assert read_elf(str(tmp_path)) is None


def test_read_elf_maps_a_file(tmp_path):
    path = write_elf(tmp_path / "lib" / "libx.so", needed=["liby.so"], runpath="$ORIGIN")
    info = read_elf(path)
    assert info.needed == ["liby.so"] and info.runpath == ["$ORIGIN"] and info.rpath == []


def test_origin_in_both_spellings():
    assert expand_origin(["$ORIGIN/../lib", "${ORIGIN}", "/abs"], "/v/x") == ["/v/x/../lib", "/v/x", "/abs"]


def test_this_machines_interpreter():
    info = read_elf(os.path.realpath(sys.executable))
    assert info is not None
    assert info.interp and "ld-" in info.interp
    assert any(n.startswith("libc.so") for n in info.needed), info.needed


def test_this_machines_libc_has_its_soname():
    multiarch = sysconfig.get_config_var("MULTIARCH") or "*"
    found = glob.glob("/lib/%s/libc.so.6" % multiarch) + glob.glob("/usr/lib/%s/libc.so.6" % multiarch)
    if not found:
        pytest.skip("no glibc libc.so.6 in the multiarch folders")
    info = read_elf(os.path.realpath(found[0]))
    assert info.soname == "libc.so.6"
    assert info.interp  # glibc's libc.so.6 is executable and names its loader


def test_an_extension_module_of_this_machine():
    path = getattr(_ctypes, "__file__", None)
    if not path:
        pytest.skip("_ctypes is built in")
    info = read_elf(path)
    assert info is not None and any(n.startswith("libffi") for n in info.needed), info
