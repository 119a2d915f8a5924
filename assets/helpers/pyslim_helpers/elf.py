"""The ELF reader: what the dynamic loader reads from an executable or a shared object.

Reads 32- and 64-bit, little- and big-endian files through the program headers (no section
headers: a stripped object has none that matter). DT_RPATH and DT_RUNPATH are kept apart, as
the loader treats them differently (see `loader`). Anything that is not a readable ELF file
gives None.
"""

import mmap
import struct
from typing import List, NamedTuple, Optional

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 14, 15, 29
MAGIC = b"\x7fELF"
# at most this many program headers and dynamic entries are read (a corrupt count is not a loop)
LIMIT = 1 << 16


class ElfInfo(NamedTuple):
    interp: Optional[str]
    needed: List[str]
    soname: Optional[str]
    rpath: List[str]
    runpath: List[str]


def read_elf(path: str) -> Optional[ElfInfo]:
    """The loader's view of the file at path, or None when it is not an ELF file."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != MAGIC:
                return None
            # mapped, not read: extension modules reach tens of MB and only a few pages matter
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    with data:
        return parse(data)


def parse(data) -> Optional[ElfInfo]:
    """The loader's view of ELF bytes (bytes or an mmap), or None when they are not ELF."""
    try:
        return _parse(data)
    except (struct.error, IndexError, ValueError):
        return None


def _parse(d) -> Optional[ElfInfo]:
    if d[:4] != MAGIC or len(d) < 52:
        return None
    klass, order = d[4], d[5]
    if klass not in (1, 2) or order not in (1, 2):
        return None
    e = "<" if order == 1 else ">"
    if klass == 2:
        phoff = struct.unpack_from(e + "Q", d, 32)[0]
        phentsize, phnum = struct.unpack_from(e + "HH", d, 54)

        def phdr(at):
            t, _flags, off, va, _pa, fsz = struct.unpack_from(e + "IIQQQQ", d, at)
            return t, off, va, fsz

        dyn_fmt = e + "qQ"
    else:
        phoff = struct.unpack_from(e + "I", d, 28)[0]
        phentsize, phnum = struct.unpack_from(e + "HH", d, 42)

        def phdr(at):
            t, off, va, _pa, fsz = struct.unpack_from(e + "IIIII", d, at)
            return t, off, va, fsz

        dyn_fmt = e + "iI"
    loads, dyn, interp = [], None, None
    for i in range(min(phnum, LIMIT)):
        t, off, va, fsz = phdr(phoff + i * phentsize)
        if t == PT_LOAD:
            loads.append((va, off, fsz))
        elif t == PT_DYNAMIC:
            dyn = (off, fsz)
        elif t == PT_INTERP:
            interp = _text(bytes(d[off : off + fsz]).split(b"\0")[0])
    entries = []
    if dyn:
        size = struct.calcsize(dyn_fmt)
        for j in range(0, min(dyn[1], LIMIT * size), size):
            tag, val = struct.unpack_from(dyn_fmt, d, dyn[0] + j)
            if tag == DT_NULL:
                break
            entries.append((tag, val))
    strtab = None
    for tag, val in entries:
        if tag == DT_STRTAB:
            # an address: the file offset is found through the segment that maps it
            for va, off, fsz in loads:
                if va <= val < va + fsz:
                    strtab = off + val - va

    def string(at):
        start = strtab + at
        end = d.find(b"\0", start)
        return _text(bytes(d[start : end if end >= 0 else len(d)]))

    def strings(kind):
        return [string(v) for t, v in entries if t == kind] if strtab is not None else []

    def paths(kind):
        return [p for s in strings(kind) for p in s.split(":") if p]

    sonames = strings(DT_SONAME)
    return ElfInfo(interp, strings(DT_NEEDED), sonames[0] if sonames else None, paths(DT_RPATH), paths(DT_RUNPATH))


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def expand_origin(dirs: List[str], origin: str) -> List[str]:
    """The search dirs of an object with $ORIGIN (or ${ORIGIN}) replaced by origin, the folder of
    the object that holds them."""
    return [d.replace("${ORIGIN}", origin).replace("$ORIGIN", origin) for d in dirs]
