"""Crafted ELF files for the tests: headers, one PT_LOAD, PT_INTERP and a dynamic section."""

import struct


def make_elf(
    klass=2,
    order=1,
    interp=None,
    needed=(),
    rpath=None,
    runpath=None,
    soname=None,
    base=0x400000,
    map_strtab=True,
):
    """ELF bytes (ELFCLASS32 klass=1 / ELFCLASS64 klass=2; little order=1 / big order=2). The file
    is mapped at `base` by one PT_LOAD, so DT_STRTAB (an address) differs from its file offset."""
    e = "<" if order == 1 else ">"
    ehsize, phentsize = (64, 56) if klass == 2 else (52, 32)
    phnum = 3
    strings = b"\0"
    offsets = {}

    def add(s):
        nonlocal strings
        offsets[s] = len(strings)
        strings += s.encode() + b"\0"

    for s in list(needed) + [x for x in (rpath, runpath, soname) if x is not None]:
        add(s)
    interp_bytes = (interp.encode() + b"\0") if interp else b""
    dyn = [(1, offsets[n]) for n in needed]
    if rpath is not None:
        dyn.append((15, offsets[rpath]))
    if runpath is not None:
        dyn.append((29, offsets[runpath]))
    if soname is not None:
        dyn.append((14, offsets[soname]))
    dyn_fmt = e + ("qQ" if klass == 2 else "iI")
    dyn_size = struct.calcsize(dyn_fmt) * (len(dyn) + 2)
    ph_off = ehsize
    interp_off = ph_off + phentsize * phnum
    strtab_off = interp_off + len(interp_bytes)
    dyn_off = strtab_off + len(strings)
    total = dyn_off + dyn_size
    strtab_addr = base + strtab_off if map_strtab else base + 0x100000
    dyn.insert(0, (5, strtab_addr))
    dyn.append((0, 0))
    ident = b"\x7fELF" + bytes([klass, order, 1]) + bytes(9)
    if klass == 2:
        header = ident + struct.pack(e + "HHIQQQIHHHHHH", 3, 62, 1, 0, ph_off, 0, 0, ehsize, phentsize, phnum, 0, 0, 0)

        def ph(t, off, size):
            return struct.pack(e + "IIQQQQQQ", t, 4, off, base + off, base + off, size, size, 8)

    else:
        header = ident + struct.pack(e + "HHIIIIIHHHHHH", 3, 3, 1, 0, ph_off, 0, 0, ehsize, phentsize, phnum, 0, 0, 0)

        def ph(t, off, size):
            return struct.pack(e + "IIIIIIII", t, off, base + off, base + off, size, size, 4, 4)

    phdrs = ph(1, 0, total) + ph(2, dyn_off, dyn_size)
    phdrs += ph(3, interp_off, len(interp_bytes)) if interp else ph(6, 0, 0)
    body = b"".join(struct.pack(dyn_fmt, t, v) for t, v in dyn)
    data = header + phdrs + interp_bytes + strings + body
    assert len(header) == ehsize and len(data) == total
    return data


def write_elf(path, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_elf(**kw))
    return str(path)
