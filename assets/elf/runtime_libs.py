"""pyslim runtime-libs: the shared libraries the venv needs that the runtime image lacks.

Runs in the builder stage of a multi-stage variant, after the venv is installed. Finds the ELF
files of the venv (bin/ executables and *.so modules), follows their DT_NEEDED closure with the
builder loader search order (DT_RPATH, DT_RUNPATH with ORIGIN, ld.so.conf, the default dirs),
and copies each library the runtime does not have to OUT + its real path in the builder, named
by its soname, so that COPY --from=builder OUT/ / puts it where the loader looks. A library the
runtime has is not followed further (its own dependencies come with it).

What the runtime has: with --runtime-root (the runtime image bind-mounted by BuildKit) the
runtime own loader paths are looked up; without it (classic builder) --runtime-has names the
libraries every supported runtime ships. --also adds sonames loaded with dlopen/ctypes;
--provided names sonames the runtime stage installs with its package manager;
--same-python-layout says the runtime is of the builder image family (its Python in the same place).

A library that embeds Python (libpython3.X) only works where the standard library sits under the
prefix it was built for: when the runtime has no stdlib there, the build stops with one line
that says so, rather than an image that dies at start.
"""
import argparse
import glob
import mmap
import os
import posixpath
import shutil
import struct
import sys
import sysconfig

ap = argparse.ArgumentParser()
ap.add_argument("--venv", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--manifest", required=True)
ap.add_argument("--runtime", required=True)
ap.add_argument("--runtime-python", required=True)
ap.add_argument("--runtime-root", default="")
ap.add_argument("--runtime-has", default="")
ap.add_argument("--also", default="")
ap.add_argument("--provided", default="")
ap.add_argument("--same-python-layout", action="store_true")
a = ap.parse_args()
VENV = a.venv.rstrip("/")
OUT = a.out.rstrip("/")
ROOT = a.runtime_root.rstrip("/")
NL = chr(10)


def split(s):
    return [x for x in s.split(",") if x]


def stem(soname):
    return soname.split(".so")[0]


# ELF: DT_NEEDED, DT_RPATH and DT_RUNPATH of a 64-bit little-endian object (None otherwise).
def elf(path):
    try:
        with open(path, "rb") as f:
            if f.read(6) != bytes([127, 69, 76, 70, 2, 1]):
                return None
            d = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    with d:
        phoff = struct.unpack_from("<Q", d, 32)[0]
        phentsize, phnum = struct.unpack_from("<HH", d, 54)
        loads, dyn = [], None
        for i in range(phnum):
            t, _, off, va, _, fsz, _, _ = struct.unpack_from("<IIQQQQQQ", d, phoff + i * phentsize)
            if t == 1:
                loads.append((va, off, fsz))
            elif t == 2:
                dyn = (off, fsz)
        if not dyn:
            return [], [], []
        ents = []
        for j in range(0, dyn[1], 16):
            tag, val = struct.unpack_from("<qQ", d, dyn[0] + j)
            if tag == 0:
                break
            ents.append((tag, val))
        strtab = None
        for tag, val in ents:
            if tag == 5:
                for va, off, fsz in loads:
                    if va <= val < va + fsz:
                        strtab = off + val - va
        if strtab is None:
            return [], [], []

        def s(o):
            return d[strtab + o:d.find(bytes(1), strtab + o)].decode()

        needed = [s(v) for t, v in ents if t == 1]
        rpath = [x for t, v in ents if t == 15 for x in s(v).split(":")]
        runpath = [x for t, v in ents if t == 29 for x in s(v).split(":")]
        return needed, rpath, runpath


def in_root(root, path, hops=0):
    """path inside root, following the symlinks of root as its own loader would."""
    if not root:
        return path
    parts = [x for x in posixpath.normpath("/" + path).split("/") if x]
    cur = ""
    for i, part in enumerate(parts):
        nxt = cur + "/" + part
        if hops < 40 and os.path.islink(root + nxt):
            target = os.readlink(root + nxt)
            base = "" if target.startswith("/") else cur
            return in_root(root, base + "/" + target + "/" + "/".join(parts[i + 1:]), hops + 1)
        cur = nxt
    return root + cur


def conf_dirs(root, path, depth=0):
    dirs = []
    try:
        with open(in_root(root, path)) as f:
            lines = f.read().split(NL)
    except OSError:
        return dirs
    for line in lines:
        line = line.split("#")[0].strip()
        if line.startswith("include") and depth < 5:
            pattern = line.split(None, 1)[1]
            if not pattern.startswith("/"):
                pattern = posixpath.join(posixpath.dirname(path), pattern)
            for g in sorted(glob.glob(in_root(root, posixpath.dirname(pattern)) + "/" + posixpath.basename(pattern))):
                dirs += conf_dirs(root, posixpath.dirname(pattern) + "/" + posixpath.basename(g), depth + 1)
        elif line:
            dirs.append(line)
    return dirs


arch = sysconfig.get_config_var("MULTIARCH") or ""
DEFAULTS = (["/lib/" + arch, "/usr/lib/" + arch] if arch else []) + ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]
BUILDER_DIRS = conf_dirs("", "/etc/ld.so.conf") + DEFAULTS
RUNTIME_DIRS = conf_dirs(ROOT, "/etc/ld.so.conf") + DEFAULTS if ROOT else []
HAS = set(split(a.runtime_has))
PROVIDED = set(split(a.provided))


def runtime_has(soname):
    if soname in PROVIDED:
        return True
    if ROOT:
        return any(os.path.exists(in_root(ROOT, d + "/" + soname)) for d in RUNTIME_DIRS)
    return stem(soname) in HAS


def find_lib(name, origin, rpath, runpath):
    if "/" in name:
        return name if os.path.exists(name) else None
    dirs = ([] if runpath else rpath) + runpath
    for d in [r.replace(chr(36) + "ORIGIN", origin).replace(chr(36) + "{ORIGIN}", origin) for r in dirs] + BUILDER_DIRS:
        if d and os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


# The venv ELF files: executables in bin/ and shared objects anywhere.
todo = []
for dirpath, _, files in os.walk(VENV):
    for f in files:
        p = os.path.join(dirpath, f)
        if (dirpath == VENV + "/bin" or ".so" in f) and not os.path.islink(p):
            todo.append((p, p))
added, missing, seen = {}, [], set()


def want(n, origin, rpath, runpath, by):
    if runtime_has(n):
        return
    lib = find_lib(n, origin, rpath, runpath)
    if lib is None and origin.startswith(VENV + "/") and os.path.isfile(os.path.join(origin, n)):
        # grafted libraries of a wheel (auditwheel: pillow.libs/) name each other without a
        # search path: the RPATH of the extension module has loaded them by soname already
        lib = os.path.join(origin, n)
    if lib is None:
        missing.append(n + " (for " + by + ")")
        return
    if not os.path.realpath(lib).startswith(VENV + "/") and n not in added:
        added[n] = (lib, by)
    todo.append((lib, by))


for n in split(a.also):
    want(n, "", [], [], "loaded at run time by a dependency")
while todo:
    path, by = todo.pop()
    real = os.path.realpath(path)
    if real in seen:
        continue
    seen.add(real)
    info = elf(real)
    if info is None:
        continue
    needed, rpath, runpath = info
    for n in needed:
        want(n, os.path.dirname(real), rpath, runpath, by)

# A library that embeds Python finds its stdlib under the prefix it was built for.
prefix = sysconfig.get_config_var("prefix") or sys.base_prefix
ver = "python" + str(sys.version_info[0]) + "." + str(sys.version_info[1])
landmark = prefix + "/lib/" + ver + "/os.py"
rt_prefix = posixpath.dirname(posixpath.dirname(a.runtime_python))
for n, (lib, by) in sorted(added.items()):
    if n.startswith("libpython"):
        ok = os.path.exists(in_root(ROOT, landmark)) if ROOT else a.same_python_layout or prefix == rt_prefix
        if not ok:
            # one line that the build error quotes (it starts with ERROR, under 200 characters)
            print("ERROR: " + by + " embeds Python (" + n + ") that needs its stdlib in " + prefix + "/lib/" + ver
                  + ", which " + a.runtime + " lacks: use --variant multistage-slim", file=sys.stderr)
            sys.exit(3)

lines = []
for n, (lib, by) in sorted(added.items()):
    dst = OUT + os.path.realpath(os.path.dirname(lib)) + "/" + n
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(os.path.realpath(lib), dst)
    lines.append(os.path.realpath(os.path.dirname(lib)) + "/" + n + " for " + by)
for m in missing:
    print("pyslim: warning: the builder has no " + m + ": the runtime will not have it either", file=sys.stderr)
os.makedirs(os.path.dirname(OUT + a.manifest), exist_ok=True)
with open(OUT + a.manifest, "w") as f:
    f.write("# Shared libraries pyslim copied from the builder: the venv needs them and " + a.runtime
            + " lacks them." + NL + "".join(x + NL for x in lines))
if lines:
    print("pyslim: shared libraries " + a.runtime + " lacks, copied from the builder: " + ", ".join(lines))
else:
    print("pyslim: " + a.runtime + " has every shared library the venv needs")
