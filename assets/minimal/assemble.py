"""pyslim minimal: copy into a FROM-scratch root only what the traced service needs.

Runs in the builder stage with the python of the venv. Reads the trace (module, file and lib lines),
keeps whole top-level packages (a venv distribution whole, through its RECORD; a --split package
only module by module), the interpreter with its links and the ELF closure (DT_NEEDED, RUNPATH,
loader) of every kept binary, the always-kept files, /etc/passwd and /etc/group with the runtime
user and /tmp (1777). Without a trace it keeps the whole stdlib and venv. Unless --sources, every
kept stdlib module ships as a sourceless .pyc compiled here by the exact interpreter
(unchecked-hash, in place of the .py, so the import system loads it without the source;
tracebacks show no source lines) and the stdlib __pycache__ folders are left out. The venv
keeps its sources: some distributions read their own source at import (the lazy importer of anyio
parses its __init__ with inspect and ast). Writes a manifest of what was kept and dropped.
"""
import argparse
import glob
import json
import os
import py_compile
import shutil
import struct
import subprocess
import sys
import sysconfig
import zipfile

ap = argparse.ArgumentParser()
ap.add_argument("--trace", default="")
ap.add_argument("--venv", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--venv-out", required=True)
ap.add_argument("--user", default="65532:65532")
ap.add_argument("--keep", default="")
ap.add_argument("--always", default="")
ap.add_argument("--libs", default="")
ap.add_argument("--files", default="")
ap.add_argument("--manifest", required=True)
ap.add_argument("--strip", action="store_true")
ap.add_argument("--split", default="")
ap.add_argument("--sources", action="store_true")
a = ap.parse_args()
OUT = a.out.rstrip("/")
VENV = a.venv.rstrip("/")
NL = chr(10)
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH
done = set()
# Each kept file of the builder, with its size in the image (a compiled .py: its .pyc, or its
# compressed size in the stdlib zip).
kept = {}
compiled = {}


def split(s):
    return [x for x in s.split(",") if x]


def out(p):
    return OUT + p


def in_code_dir(p):
    return any(p.startswith(d + "/") for d in CODE_DIRS)


def copy_file(src):
    if not a.sources and in_code_dir(src):
        if "/__pycache__/" in src:
            return
        if src.endswith(".py") and compile_to(src, out(src) + "c"):
            return
    dst = out(src)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if not os.path.lexists(dst):
        shutil.copy2(src, dst)
    kept[src] = os.lstat(src).st_size


def compile_to(src, dst):
    """Writes the sourceless .pyc of src at dst; False (nothing written) when src does not compile."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        return True
    try:
        py_compile.compile(src, cfile=dst, dfile=src, doraise=True, invalidation_mode=UNCHECKED)
    except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
        if os.path.lexists(dst):
            os.remove(dst)
        return False
    kept[src] = os.lstat(dst).st_size
    compiled[dst] = src
    return True


def resolve(path):
    """Recreates in OUT the symlinks along path (and their chains); the real path, or None."""
    cur = "/"
    for comp in [p for p in path.split("/") if p]:
        nxt = os.path.join(cur, comp)
        if os.path.islink(nxt):
            os.makedirs(out(cur), exist_ok=True)
            if not os.path.lexists(out(nxt)):
                os.symlink(os.readlink(nxt), out(nxt))
            nxt = resolve(os.path.normpath(os.path.join(cur, os.readlink(nxt))))
            if nxt is None:
                return None
        elif not os.path.lexists(nxt):
            return None
        cur = nxt
    return cur


def add(path):
    """Copies path (a file, or a folder with everything in it) to OUT, links included."""
    path = os.path.normpath(path)
    if path in done:
        return
    done.add(path)
    real = resolve(path)
    if real is None:
        return
    if os.path.isdir(real):
        for root, dirs, files in os.walk(real):
            if not a.sources and in_code_dir(root + "/"):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
            os.makedirs(out(root), exist_ok=True)
            shutil.copystat(root, out(root))
            for name in dirs + files:
                p = os.path.join(root, name)
                if os.path.islink(p):
                    if not os.path.lexists(out(p)):
                        os.symlink(os.readlink(p), out(p))
                    target = os.path.normpath(os.path.join(root, os.readlink(p)))
                    if not target.startswith(real + "/"):
                        add(target)
                elif name in files:
                    copy_file(p)
    elif os.path.isfile(real):
        copy_file(real)


def walk_files(top, skip=()):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                yield p


stdlib = [p for p in sys.path if p and p.startswith(sys.base_prefix) and os.path.isdir(p)]
sites = [p for p in sys.path if p and p.startswith(VENV) and os.path.isdir(p)]
not_stdlib = set()
for d in stdlib:
    for sub in ("site-packages", "dist-packages"):
        not_stdlib.add(os.path.join(d, sub))
CODE_DIRS = stdlib
SPLIT = set(split(a.split))

# Venv distributions: top-level names -> dist-info folders, from each RECORD.
dists = {}
owner = {}
for site in sites:
    for info in glob.glob(os.path.join(site, "*.dist-info")):
        files = [info]
        try:
            with open(os.path.join(info, "RECORD")) as f:
                rows = [line.split(",")[0] for line in f.read().split(NL) if line.strip()]
        except OSError:
            rows = []
        for row in rows:
            p = os.path.normpath(os.path.join(site, row))
            files.append(p)
            rel = os.path.relpath(p, site)
            if rel.startswith(".."):
                continue
            top = rel.split("/")[0]
            if top.endswith(".dist-info") or top == "__pycache__":
                continue
            top = top.split(".")[0] if "/" not in rel else top
            owner.setdefault(top, set()).add(info)
        dists[info] = files


def keep_dist(info):
    if info in done:
        return
    done.add(info)
    for p in dists[info]:
        add(p)


def keep_part(d, top, sub):
    """A --split stdlib package: its __init__ and the submodule sub (a module or a package)."""
    pkg = os.path.join(d, top)
    os.makedirs(out(pkg), exist_ok=True)
    shutil.copystat(pkg, out(pkg))
    for p in glob.glob(os.path.join(pkg, "__init__.py")) + glob.glob(os.path.join(pkg, "__pycache__", "__init__.*.pyc")):
        add(p)
    if not sub:
        return
    if os.path.isdir(os.path.join(pkg, sub)):
        add(os.path.join(pkg, sub))
    for p in [os.path.join(pkg, sub + ".py")] + glob.glob(os.path.join(pkg, sub + ".*.so")):
        if os.path.isfile(p):
            add(p)
            for pyc in glob.glob(os.path.join(pkg, "__pycache__", sub + ".*.pyc")):
                add(pyc)


def keep_module(name, whole=False):
    parts = name.split(".")
    top = parts[0]
    if not top:
        return
    for d in sys.path:
        if not d or not os.path.isdir(d):
            continue
        if d in sites and top in owner:
            for info in owner[top]:
                keep_dist(info)
            return
        found = False
        if os.path.isdir(os.path.join(d, top)) and os.path.join(d, top) not in not_stdlib:
            if top in SPLIT and not whole and d in stdlib:
                keep_part(d, top, parts[1] if len(parts) > 1 else "")
                return
            add(os.path.join(d, top))
            found = True
        for p in [os.path.join(d, top + ".py")] + glob.glob(os.path.join(d, top + ".*.so")):
            if os.path.isfile(p):
                add(p)
                found = True
                for pyc in glob.glob(os.path.join(d, "__pycache__", top + ".*.pyc")):
                    add(pyc)
        if found:
            return


# ELF: PT_INTERP, DT_NEEDED, DT_RPATH/DT_RUNPATH of 64-bit little-endian objects.
def elf(path):
    try:
        with open(path, "rb") as f:
            d = f.read()
    except OSError:
        return None
    if d[:4] != bytes([127, 69, 76, 70]) or d[4] != 2 or d[5] != 1:
        return None
    phoff = struct.unpack_from("<Q", d, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", d, 54)
    loads, dyn, interp = [], None, None
    for i in range(phnum):
        t, _, off, va, _, fsz, _, _ = struct.unpack_from("<IIQQQQQQ", d, phoff + i * phentsize)
        if t == 1:
            loads.append((va, off, fsz))
        elif t == 2:
            dyn = (off, fsz)
        elif t == 3:
            interp = d[off:off + fsz].split(bytes(1))[0].decode()
    ents, strtab = [], None
    if dyn:
        for j in range(0, dyn[1], 16):
            tag, val = struct.unpack_from("<qQ", d, dyn[0] + j)
            if tag == 0:
                break
            ents.append((tag, val))
    for tag, val in ents:
        if tag == 5:
            for va, off, fsz in loads:
                if va <= val < va + fsz:
                    strtab = off + val - va

    def s(o):
        return d[strtab + o:d.index(bytes(1), strtab + o)].decode()

    needed, rpath = [], []
    if strtab is not None:
        for tag, val in ents:
            if tag == 1:
                needed.append(s(val))
            elif tag in (15, 29):
                rpath += s(val).split(":")
    return interp, needed, rpath


def conf_dirs(path, depth=0):
    dirs = []
    try:
        with open(path) as f:
            lines = f.read().split(NL)
    except OSError:
        return dirs
    for line in lines:
        line = line.split("#")[0].strip()
        if line.startswith("include") and depth < 5:
            for g in sorted(glob.glob(line.split(None, 1)[1])):
                dirs += conf_dirs(g, depth + 1)
        elif line:
            dirs.append(line)
    return dirs


arch = sysconfig.get_config_var("MULTIARCH") or ""
SYSDIRS = conf_dirs("/etc/ld.so.conf") + [d for d in ("/lib/" + arch, "/usr/lib/" + arch) if arch]
SYSDIRS += sorted(glob.glob("/usr/lib/*-linux-gnu")) + ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]


def find_lib(name, origin, rpath):
    if "/" in name:
        return name if os.path.exists(name) else None
    for d in [r.replace(chr(36) + "ORIGIN", origin) for r in rpath] + SYSDIRS:
        if d and os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def closure(paths):
    todo = list(paths)
    seen = set()
    while todo:
        p = todo.pop()
        real = os.path.realpath(p)
        if real in seen:
            continue
        seen.add(real)
        info = elf(real)
        if not info:
            continue
        interp, needed, rpath = info
        if interp:
            add(interp)
            todo.append(interp)
        for n in needed:
            lib = find_lib(n, os.path.dirname(real), rpath)
            if lib:
                add(lib)
                todo.append(lib)


# What to keep.
modules, files, libs, traced = set(split(a.always)) | set(split(a.keep)), set(), set(), False
if a.trace and os.path.isfile(a.trace):
    traced = True
    with open(a.trace) as f:
        for line in f.read().split(NL):
            kind, _, value = line.strip().partition(" ")
            if kind == "module":
                modules.add(value)
            elif kind == "file":
                files.add(value)
            elif kind == "lib":
                libs.add(value)

python = os.path.join(VENV, "bin", "python")


def imports_of(name):
    """The modules a fresh interpreter has loaded after importing name (empty when it fails)."""
    code = "import sys, importlib; importlib.import_module(sys.argv[1]); print(chr(10).join(sys.modules))"
    r = subprocess.run([python, "-c", code, name], capture_output=True, text=True)
    return set(r.stdout.split()) if r.returncode == 0 else set()


# A kept module keeps what it imports, as a trace of that import would.
for m in split(a.keep):
    modules |= imports_of(m)
add(python)
add(os.path.join(VENV, "pyvenv.cfg"))
add(os.path.join(VENV, "bin"))
if traced:
    whole = set(split(a.keep)) & SPLIT
    for m in sorted(modules):
        keep_module(m, m in whole)
    for site in sites:
        for pth in glob.glob(os.path.join(site, "*.pth")):
            if not any(pth in fs for fs in dists.values()):
                add(pth)
    for d in stdlib:
        os.makedirs(out(d), exist_ok=True)
else:
    for d in stdlib:
        for p in walk_files(d, not_stdlib):
            add(p)
    add(VENV)
for p in sorted(files) + sorted(libs) + split(a.files):
    if p.startswith("/usr/share/zoneinfo/"):
        p = "/usr/share/zoneinfo"
    add(p)
for name in split(a.libs):
    lib = find_lib(name, "/", [])
    if lib:
        add(lib)
closure([python] + [p for p in list(kept) if ".so" in os.path.basename(p)])
if os.path.isfile("/etc/ld.so.cache"):
    add("/etc/ld.so.cache")


def zip_put(z, name, src):
    """Adds src as name (deflated, fixed date) and an entry for each parent folder, which
    zipimport needs to find namespace packages; the compressed size."""
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i]) + "/"
        if d not in z.NameToInfo:
            z.writestr(zipfile.ZipInfo(d, (1980, 1, 1, 0, 0, 0)), b"")
    info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(src, "rb") as f:
        z.writestr(info, f.read())
    os.remove(src)
    return z.getinfo(name).compress_size


def zip_stdlib():
    """Moves the compiled stdlib modules into the zip the interpreter already has on sys.path
    (python3X.zip, before the stdlib folder), deflated; os stays a file (the landmark getpath looks for)."""
    zips = [p for p in sys.path if p.endswith(".zip") and p.startswith(sys.base_prefix + "/")]
    if not zips or os.path.lexists(zips[0]) or not roots:
        return None
    zpath = out(zips[0])
    os.makedirs(os.path.dirname(zpath), exist_ok=True)
    base = out(roots[0]) + "/"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for dst in sorted(compiled):
            name = dst[len(base):] if dst.startswith(base) else ""
            if not name or name.startswith("lib-dynload/") or name == "os.pyc":
                continue
            kept[compiled[dst]] = zip_put(z, name, dst)
    for root, dirs, files in os.walk(out(roots[0]), topdown=False):
        if root != out(roots[0]) and not os.listdir(root):
            os.rmdir(root)
    return zips[0]


# What a pure-Python distribution may hold outside its dist-info: code, type stubs and markers,
# and documentation (Markdown, reStructuredText, licence texts), which no module reads as data.
PURE = (".py", ".pyi", "py.typed", ".md", ".rst")
NOTICES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")


def pure_file(rel):
    name = rel.split("/")[-1]
    return name.endswith(PURE) or name.upper().startswith(NOTICES)



def zip_venv():
    """Moves the kept pure-Python distributions of the venv (nothing but code and documentation
    outside their dist-info: pure_file) into site-packages/pyslim-venv.zip with their sources, deflated,
    on sys.path through pyslim-venv.pth; a distribution sharing a top-level folder with one
    that stays in files stays too. Returns the labels of the moved distributions."""
    if len(sites) != 1:
        return []
    site = sites[0]
    rels, tops = {}, {}
    for info in dists:
        if info not in done:
            continue
        files = []
        for p in dists[info][1:]:
            rel = os.path.relpath(p, site)
            if rel.startswith("..") or rel.split("/")[0].endswith(".dist-info"):
                continue
            if "/__pycache__/" not in "/" + rel:
                files.append(rel)
        rels[info] = files
        tops[info] = {r.split("/")[0] for r in files}
    pure = {i for i, fs in rels.items() if fs and all(pure_file(r) for r in fs)}
    changed = True
    while changed:
        stay = set().union(*[tops[i] for i in rels if i not in pure])
        changed = bool([i for i in pure if tops[i] & stay])
        pure = {i for i in pure if not tops[i] & stay}
    if not pure:
        return []
    zpath = out(os.path.join(site, "pyslim-venv.zip"))
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for info in sorted(pure):
            for rel in sorted(rels[info]):
                src = out(os.path.join(site, rel))
                if not os.path.isfile(src) or os.path.islink(src):
                    continue
                kept[os.path.join(site, rel)] = zip_put(z, rel, src)
    for info in pure:
        for rel in rels[info]:
            for p in glob.glob(out(os.path.join(site, rel.split("/")[0], "**", "__pycache__", "*")), recursive=True):
                kept.pop(p[len(OUT):], None)
                os.remove(p)
    for root, dirs, files in os.walk(out(site), topdown=False):
        if root != out(site) and not os.listdir(root):
            os.rmdir(root)
    with open(out(os.path.join(site, "pyslim-venv.pth")), "w") as f:
        f.write("pyslim-venv.zip" + NL)
    return sorted(label[i] for i in pure)


stripped = 0
if a.strip and shutil.which("strip"):
    exts = [out(p) for p in kept if p.endswith(".so") and (p.startswith(VENV) or any(p.startswith(d) for d in stdlib))]
    before = sum(os.path.getsize(p) for p in exts)
    for i in range(0, len(exts), 200):
        subprocess.run(["strip", "--strip-unneeded"] + exts[i:i + 200], stderr=subprocess.DEVNULL)
    stripped = before - sum(os.path.getsize(p) for p in exts)

# The user, its group and /tmp.
uid, _, gid = a.user.partition(":")
name = uid if uid and not uid.isdigit() else "nonroot"
uid = uid if uid.isdigit() else "65532"
gid = gid if gid.isdigit() else uid
os.makedirs(out("/etc"), exist_ok=True)
with open(out("/etc/passwd"), "w") as f:
    f.write("root:x:0:0:root:/root:/sbin/nologin" + NL)
    if uid != "0":
        f.write(name + ":x:" + uid + ":" + gid + ":" + name + ":/home/" + name + ":/sbin/nologin" + NL)
with open(out("/etc/group"), "w") as f:
    f.write("root:x:0:" + NL)
    if gid != "0":
        f.write(name + ":x:" + gid + ":" + NL)
os.makedirs(out("/tmp"), exist_ok=True)
os.chmod(out("/tmp"), 0o1777)


# The manifest: what was kept and dropped, in files and bytes.
def tally(paths, sizes=None):
    paths = list(paths)
    return {"files": len(paths), "bytes": sum(sizes[p] if sizes else os.lstat(p).st_size for p in paths)}


roots = [d for d in stdlib if not any(d != e and d.startswith(e + "/") for e in stdlib)]
stdlib_zip = None if a.sources else zip_stdlib()
label = {d: os.path.basename(d).split("-")[0] for d in dists}
venv_zipped = [] if a.sources or not traced else zip_venv()
std_all = sorted({p for d in roots for p in walk_files(d, not_stdlib)})
std_kept = [p for p in std_all if p in kept]
std_drop = [p for p in std_all if p not in kept]
venv_all = list(walk_files(VENV))
venv_kept = [p for p in venv_all if p in kept]
venv_drop = [p for p in venv_all if p not in kept]
std_set = set(std_all)
system = [p for p in kept if p not in std_set and not p.startswith(VENV + "/")]


def tops(paths):
    names = set()
    for p in paths:
        for d in roots:
            if p.startswith(d + "/"):
                rel = os.path.relpath(p, d).split("/")
                if rel[0] not in ("lib-dynload", "__pycache__"):
                    names.add(rel[0].split(".")[0])
    return names


manifest = {
    "traced": traced,
    "keep": sorted(split(a.keep)),
    "stdlib": {"kept": tally(std_kept, kept), "dropped": tally(std_drop)},
    "venv": {"kept": tally(venv_kept, kept), "dropped": tally(venv_drop)},
    "system": tally(system, kept),
    "stripped_bytes": stripped,
    "stdlib_zip": stdlib_zip,
    "venv_zipped": venv_zipped,
    "distributions_kept": sorted(label[d] for d in dists if d in done),
    "distributions_dropped": sorted(label[d] for d in dists if d not in done),
    "stdlib_dropped": sorted(tops(std_drop) - tops(std_kept)),
}
os.makedirs(os.path.dirname(out(a.manifest)), exist_ok=True)
with open(out(a.manifest), "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
shutil.move(out(VENV), a.venv_out)
print("pyslim minimal:", "traced" if traced else "no trace, whole stdlib and venv",
      "| stdlib kept", manifest["stdlib"]["kept"], "dropped", manifest["stdlib"]["dropped"],
      "| venv kept", manifest["venv"]["kept"], "dropped", manifest["venv"]["dropped"],
      "| system", manifest["system"], "| stripped", stripped)
