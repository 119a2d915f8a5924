"""pyslim minimal: copies into a FROM-scratch root only what the traced service needs.

Runs in the builder stage with the python of the venv:

    python -m pyslim_helpers.assemble --venv /opt/venv --out ROOT --venv-out VENV --manifest FILE ...

Reads the trace (module, file and lib lines) and keeps whole top-level packages (a venv
distribution whole, through its RECORD; a --split package only module by module), the
interpreter with its links and the ELF closure (see `loader`) of every kept binary, the
always-kept files, /etc/passwd and /etc/group with the runtime user and /tmp (1777). Without a
trace it keeps the whole stdlib and venv. Unless --sources, every kept stdlib module ships as a
sourceless .pyc compiled here by the exact interpreter (unchecked-hash, in place of the .py, so
the import system loads it without the source; tracebacks show no source lines) and the stdlib
__pycache__ folders are left out. The venv keeps its sources: some distributions read their own
source at import (the lazy importer of anyio parses its __init__ with inspect and ast). Writes a
manifest of what was kept and dropped.
"""

import argparse
import glob
import json
import os
import py_compile
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from .loader import Loader, closure

UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH
# What a pure-Python distribution may hold outside its dist-info: code, type stubs and markers,
# and documentation (Markdown, reStructuredText, licence texts), which no module reads as data.
PURE = (".py", ".pyi", "py.typed", ".md", ".rst")
NOTICES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def split(s) -> List[str]:
    """The items of a comma-separated value, or of several (a flag given more than once)."""
    if not isinstance(s, str):
        s = ",".join(s)
    return [x for x in s.split(",") if x]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m pyslim_helpers.assemble", description=__doc__.splitlines()[0])
    ap.add_argument("--trace", default="")
    ap.add_argument("--venv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--venv-out", required=True)
    ap.add_argument("--user", default="65532:65532")
    ap.add_argument("--keep", action="append", default=[], help="comma-separated; repeatable")
    ap.add_argument("--always", action="append", default=[], help="comma-separated; repeatable")
    ap.add_argument("--libs", action="append", default=[], help="comma-separated; repeatable")
    ap.add_argument("--files", action="append", default=[], help="comma-separated; repeatable")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--strip", action="store_true")
    ap.add_argument("--split", default="")
    ap.add_argument("--sources", action="store_true")
    return ap.parse_args(argv)


def read_trace(path: str) -> Tuple[Set[str], Set[str], Set[str]]:
    """(modules, files, libs) of a trace file; other lines (path, dlopen) are not kept."""
    modules: Set[str] = set()
    files: Set[str] = set()
    libs: Set[str] = set()
    with open(path) as f:
        for line in f.read().splitlines():
            kind, _, value = line.strip().partition(" ")
            if kind == "module":
                modules.add(value)
            elif kind == "file":
                files.add(value)
            elif kind == "lib":
                libs.add(value)
    return modules, files, libs


def interpreter_path() -> List[str]:
    """This interpreter's module search path, less the folder it was started from (the helpers'
    own folder, or the working directory under -m) and the helpers' package root."""
    helpers_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [p for p in sys.path[1:] if p and os.path.abspath(p) != helpers_root]


def read_records(sites: Sequence[str]) -> Tuple[Dict[str, List[str]], Dict[str, Set[str]]]:
    """(dist-info folder -> the files of its distribution, top-level name -> dist-info folders),
    from each distribution's RECORD."""
    dists: Dict[str, List[str]] = {}
    owner: Dict[str, Set[str]] = {}
    for site in sites:
        for info in glob.glob(os.path.join(site, "*.dist-info")):
            files = [info]
            try:
                with open(os.path.join(info, "RECORD")) as f:
                    rows = [line.split(",")[0] for line in f.read().splitlines() if line.strip()]
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
    return dists, owner


def walk_files(top: str, skip=()) -> Iterator[str]:
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                yield p


def pure_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.endswith(PURE) or name.upper().startswith(NOTICES)


def zip_put(z: zipfile.ZipFile, name: str, src: str) -> int:
    """Adds src as name (deflated, fixed date) and an entry for each parent folder, which
    zipimport needs to find namespace packages; removes src; the compressed size."""
    parts = name.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i]) + "/"
        if d not in z.NameToInfo:
            z.writestr(zipfile.ZipInfo(d, FIXED_DATE), b"")
    info = zipfile.ZipInfo(name, FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(src, "rb") as f:
        z.writestr(info, f.read())
    os.remove(src)
    return z.getinfo(name).compress_size


def remove_empty_dirs(top: str) -> None:
    for root, _dirs, _files in os.walk(top, topdown=False):
        if root != top and not os.listdir(root):
            os.rmdir(root)


class Assembly:
    """The root being assembled in `out`: what is kept (builder path -> size in the image)."""

    def __init__(
        self,
        venv: str,
        out: str,
        sources: bool = False,
        split_packages: Sequence[str] = (),
        search_path: Optional[Sequence[str]] = None,
        base_prefix: str = sys.base_prefix,
    ):
        self.venv = venv.rstrip("/")
        self.root_out = out.rstrip("/")
        self.sources = sources
        self.split = set(split_packages)
        self.raw_path = list(interpreter_path() if search_path is None else search_path)
        self.base_prefix = base_prefix
        self.path = [p for p in self.raw_path if p and os.path.isdir(p)]
        self.stdlib = [p for p in self.path if p.startswith(base_prefix)]
        self.sites = [p for p in self.path if p.startswith(self.venv)]
        self.not_stdlib = {os.path.join(d, sub) for d in self.stdlib for sub in ("site-packages", "dist-packages")}
        self.roots = [d for d in self.stdlib if not any(d != e and d.startswith(e + "/") for e in self.stdlib)]
        self.dists, self.owner = read_records(self.sites)
        self.label = {d: os.path.basename(d).split("-")[0] for d in self.dists}
        self.done: Set[str] = set()
        # each kept file of the builder, with its size in the image (a compiled .py: its .pyc,
        # or its compressed size in a zip)
        self.kept: Dict[str, int] = {}
        # compiled .pyc in out -> its source in the builder
        self.compiled: Dict[str, str] = {}

    def out(self, p: str) -> str:
        return self.root_out + p

    def in_code_dir(self, p: str) -> bool:
        return any(p.startswith(d + "/") for d in self.stdlib)

    def copy_file(self, src: str) -> None:
        if not self.sources and self.in_code_dir(src):
            if "/__pycache__/" in src:
                return
            if src.endswith(".py") and self.compile_to(src, self.out(src) + "c"):
                return
        dst = self.out(src)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.lexists(dst):
            shutil.copy2(src, dst)
        self.kept[src] = os.lstat(src).st_size

    def compile_to(self, src: str, dst: str) -> bool:
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
        self.kept[src] = os.lstat(dst).st_size
        self.compiled[dst] = src
        return True

    def resolve(self, path: str) -> Optional[str]:
        """Recreates in out the symlinks along path (and their chains); the real path, or None."""
        cur = "/"
        for comp in [p for p in path.split("/") if p]:
            nxt = os.path.join(cur, comp)
            if os.path.islink(nxt):
                os.makedirs(self.out(cur), exist_ok=True)
                if not os.path.lexists(self.out(nxt)):
                    os.symlink(os.readlink(nxt), self.out(nxt))
                nxt = self.resolve(os.path.normpath(os.path.join(cur, os.readlink(nxt))))
                if nxt is None:
                    return None
            elif not os.path.lexists(nxt):
                return None
            cur = nxt
        return cur

    def add(self, path: str) -> None:
        """Copies path (a file, or a folder with everything in it) to out, links included."""
        path = os.path.normpath(path)
        if path in self.done:
            return
        self.done.add(path)
        real = self.resolve(path)
        if real is None:
            return
        if os.path.isdir(real):
            for root, dirs, files in os.walk(real):
                if not self.sources and self.in_code_dir(root + "/"):
                    dirs[:] = [d for d in dirs if d != "__pycache__"]
                os.makedirs(self.out(root), exist_ok=True)
                shutil.copystat(root, self.out(root))
                for name in dirs + files:
                    p = os.path.join(root, name)
                    if os.path.islink(p):
                        if not os.path.lexists(self.out(p)):
                            os.symlink(os.readlink(p), self.out(p))
                        target = os.path.normpath(os.path.join(root, os.readlink(p)))
                        if not target.startswith(real + "/"):
                            self.add(target)
                    elif name in files:
                        self.copy_file(p)
        elif os.path.isfile(real):
            self.copy_file(real)

    def keep_dist(self, info: str) -> None:
        if info in self.done:
            return
        self.done.add(info)
        for p in self.dists[info]:
            self.add(p)

    def keep_part(self, d: str, top: str, sub: str) -> None:
        """A --split stdlib package: its __init__ and the submodule sub (a module or a package)."""
        pkg = os.path.join(d, top)
        os.makedirs(self.out(pkg), exist_ok=True)
        shutil.copystat(pkg, self.out(pkg))
        inits = glob.glob(os.path.join(pkg, "__init__.py"))
        for p in inits + glob.glob(os.path.join(pkg, "__pycache__", "__init__.*.pyc")):
            self.add(p)
        if not sub:
            return
        if os.path.isdir(os.path.join(pkg, sub)):
            self.add(os.path.join(pkg, sub))
        for p in [os.path.join(pkg, sub + ".py")] + glob.glob(os.path.join(pkg, sub + ".*.so")):
            if os.path.isfile(p):
                self.add(p)
                for pyc in glob.glob(os.path.join(pkg, "__pycache__", sub + ".*.pyc")):
                    self.add(pyc)

    def keep_module(self, name: str, whole: bool = False) -> None:
        """Keeps what provides the module name: the first folder of the search path that has its
        top-level package or module (a venv distribution whole; a split stdlib package in part
        unless whole)."""
        parts = name.split(".")
        top = parts[0]
        if not top:
            return
        for d in self.path:
            if d in self.sites and top in self.owner:
                for info in sorted(self.owner[top]):
                    self.keep_dist(info)
                return
            found = False
            if os.path.isdir(os.path.join(d, top)) and os.path.join(d, top) not in self.not_stdlib:
                if top in self.split and not whole and d in self.stdlib:
                    self.keep_part(d, top, parts[1] if len(parts) > 1 else "")
                    return
                self.add(os.path.join(d, top))
                found = True
            for p in [os.path.join(d, top + ".py")] + glob.glob(os.path.join(d, top + ".*.so")):
                if os.path.isfile(p):
                    self.add(p)
                    found = True
                    for pyc in glob.glob(os.path.join(d, "__pycache__", top + ".*.pyc")):
                        self.add(pyc)
            if found:
                return

    def keep_traced(self, modules: Set[str], whole: Set[str]) -> None:
        """A traced run: each module's provider, the venv's loose .pth files, the stdlib folders."""
        for m in sorted(modules):
            self.keep_module(m, m in whole)
        for site in self.sites:
            for pth in glob.glob(os.path.join(site, "*.pth")):
                if not any(pth in fs for fs in self.dists.values()):
                    self.add(pth)
        for d in self.stdlib:
            os.makedirs(self.out(d), exist_ok=True)

    def keep_everything(self) -> None:
        """No trace: the whole stdlib and venv."""
        for d in self.stdlib:
            for p in walk_files(d, self.not_stdlib):
                self.add(p)
        self.add(self.venv)

    def keep_closure(self, loader: Loader, starts: Sequence[str]) -> None:
        """The interpreter and library closure of starts and of every kept shared object."""
        paths = list(starts) + [p for p in list(self.kept) if ".so" in os.path.basename(p)]
        for link in closure([(p, p) for p in paths], loader, grafted_under=self.venv):
            if link.path:
                self.add(link.path)

    def zip_stdlib(self) -> Optional[str]:
        """Moves the compiled stdlib modules into the zip the interpreter already has on sys.path
        (python3X.zip, before the stdlib folder), deflated; os stays a file (the landmark getpath
        looks for)."""
        zips = [p for p in self.raw_path if p.endswith(".zip") and p.startswith(self.base_prefix + "/")]
        if not zips or os.path.lexists(zips[0]) or not self.roots:
            return None
        zpath = self.out(zips[0])
        os.makedirs(os.path.dirname(zpath), exist_ok=True)
        base = self.out(self.roots[0]) + "/"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for dst in sorted(self.compiled):
                name = dst[len(base) :] if dst.startswith(base) else ""
                if not name or name.startswith("lib-dynload/") or name == "os.pyc":
                    continue
                self.kept[self.compiled[dst]] = zip_put(z, name, dst)
        remove_empty_dirs(self.out(self.roots[0]))
        return zips[0]

    def zip_venv(self) -> List[str]:
        """Moves the kept pure-Python distributions of the venv (nothing but code and
        documentation outside their dist-info: pure_file) into site-packages/pyslim-venv.zip with
        their sources, deflated, on sys.path through pyslim-venv.pth; a distribution sharing a
        top-level folder with one that stays in files stays too. The labels of those moved."""
        if len(self.sites) != 1:
            return []
        site = self.sites[0]
        rels: Dict[str, List[str]] = {}
        tops: Dict[str, Set[str]] = {}
        for info in self.dists:
            if info not in self.done:
                continue
            files = []
            for p in self.dists[info][1:]:
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
        zpath = self.out(os.path.join(site, "pyslim-venv.zip"))
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for info in sorted(pure):
                for rel in sorted(rels[info]):
                    src = self.out(os.path.join(site, rel))
                    if not os.path.isfile(src) or os.path.islink(src):
                        continue
                    self.kept[os.path.join(site, rel)] = zip_put(z, rel, src)
        for info in pure:
            for rel in rels[info]:
                pattern = self.out(os.path.join(site, rel.split("/")[0], "**", "__pycache__", "*"))
                for p in glob.glob(pattern, recursive=True):
                    self.kept.pop(p[len(self.root_out) :], None)
                    os.remove(p)
        remove_empty_dirs(self.out(site))
        with open(self.out(os.path.join(site, "pyslim-venv.pth")), "w") as f:
            f.write("pyslim-venv.zip\n")
        return sorted(self.label[i] for i in pure)

    def strip(self) -> int:
        """Strips the kept extension modules; the bytes saved."""
        if not shutil.which("strip"):
            return 0
        exts = [
            self.out(p) for p in self.kept if p.endswith(".so") and (p.startswith(self.venv) or self.in_any_stdlib(p))
        ]
        before = sum(os.path.getsize(p) for p in exts)
        for i in range(0, len(exts), 200):
            subprocess.run(["strip", "--strip-unneeded"] + exts[i : i + 200], check=False, stderr=subprocess.DEVNULL)
        return before - sum(os.path.getsize(p) for p in exts)

    def in_any_stdlib(self, p: str) -> bool:
        return any(p.startswith(d) for d in self.stdlib)

    def write_users(self, user: str) -> None:
        """/etc/passwd and /etc/group with root and the runtime user, and /tmp (1777)."""
        uid, _, gid = user.partition(":")
        name = uid if uid and not uid.isdigit() else "nonroot"
        uid = uid if uid.isdigit() else "65532"
        gid = gid if gid.isdigit() else uid
        os.makedirs(self.out("/etc"), exist_ok=True)
        with open(self.out("/etc/passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/sbin/nologin\n")
            if uid != "0":
                f.write("%s:x:%s:%s:%s:/home/%s:/sbin/nologin\n" % (name, uid, gid, name, name))
        with open(self.out("/etc/group"), "w") as f:
            f.write("root:x:0:\n")
            if gid != "0":
                f.write("%s:x:%s:\n" % (name, gid))
        os.makedirs(self.out("/tmp"), exist_ok=True)
        os.chmod(self.out("/tmp"), 0o1777)

    def stdlib_tops(self, paths: Sequence[str]) -> Set[str]:
        names = set()
        for p in paths:
            for d in self.roots:
                if p.startswith(d + "/"):
                    rel = os.path.relpath(p, d).split("/")
                    if rel[0] not in ("lib-dynload", "__pycache__"):
                        names.add(rel[0].split(".")[0])
        return names


def tally(paths, sizes=None) -> Dict[str, int]:
    paths = list(paths)
    return {"files": len(paths), "bytes": sum(sizes[p] if sizes else os.lstat(p).st_size for p in paths)}


def imports_of(python: str, name: str) -> Set[str]:
    """The modules a fresh interpreter has loaded after importing name (empty when it fails)."""
    code = "import sys, importlib; importlib.import_module(sys.argv[1]); print('\\n'.join(sys.modules))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([python, "-c", code, name], check=False, capture_output=True, text=True, env=env)
    return set(r.stdout.split()) if r.returncode == 0 else set()


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = parse_args(argv)
    asm = Assembly(a.venv, a.out, sources=a.sources, split_packages=split(a.split))
    venv = asm.venv
    modules = set(split(a.always)) | set(split(a.keep))
    files: Set[str] = set()
    libs: Set[str] = set()
    traced = bool(a.trace) and os.path.isfile(a.trace)
    if traced:
        m, files, libs = read_trace(a.trace)
        modules |= m
    python = os.path.join(venv, "bin", "python")
    # a kept module keeps what it imports, as a trace of that import would
    for m in split(a.keep):
        modules |= imports_of(python, m)
    asm.add(python)
    asm.add(os.path.join(venv, "pyvenv.cfg"))
    asm.add(os.path.join(venv, "bin"))
    if traced:
        asm.keep_traced(modules, set(split(a.keep)) & asm.split)
    else:
        asm.keep_everything()
    for p in sorted(files) + sorted(libs) + split(a.files):
        if p.startswith("/usr/share/zoneinfo/"):
            p = "/usr/share/zoneinfo"
        asm.add(p)
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    loader = Loader("", multiarch, extra_dirs=sorted(glob.glob("/usr/lib/*-linux-gnu")))
    for name in split(a.libs):
        lib = loader.find(name)
        if lib:
            asm.add(lib)
    asm.keep_closure(loader, [python])
    if os.path.isfile("/etc/ld.so.cache"):
        asm.add("/etc/ld.so.cache")
    stripped = asm.strip() if a.strip else 0
    asm.write_users(a.user)

    stdlib_zip = None if a.sources else asm.zip_stdlib()
    venv_zipped = [] if a.sources or not traced else asm.zip_venv()
    kept = asm.kept
    std_all = sorted({p for d in asm.roots for p in walk_files(d, asm.not_stdlib)})
    std_kept = [p for p in std_all if p in kept]
    std_drop = [p for p in std_all if p not in kept]
    venv_all = list(walk_files(venv))
    venv_kept = [p for p in venv_all if p in kept]
    venv_drop = [p for p in venv_all if p not in kept]
    std_set = set(std_all)
    system = [p for p in kept if p not in std_set and not p.startswith(venv + "/")]
    manifest = {
        "traced": traced,
        "keep": sorted(split(a.keep)),
        "stdlib": {"kept": tally(std_kept, kept), "dropped": tally(std_drop)},
        "venv": {"kept": tally(venv_kept, kept), "dropped": tally(venv_drop)},
        "system": tally(system, kept),
        "stripped_bytes": stripped,
        "stdlib_zip": stdlib_zip,
        "venv_zipped": venv_zipped,
        "distributions_kept": sorted(asm.label[d] for d in asm.dists if d in asm.done),
        "distributions_dropped": sorted(asm.label[d] for d in asm.dists if d not in asm.done),
        "stdlib_dropped": sorted(asm.stdlib_tops(std_drop) - asm.stdlib_tops(std_kept)),
    }
    os.makedirs(os.path.dirname(asm.out(a.manifest)), exist_ok=True)
    with open(asm.out(a.manifest), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    shutil.move(asm.out(venv), a.venv_out)
    print(
        "pyslim minimal:",
        "traced" if traced else "no trace, whole stdlib and venv",
        "| stdlib kept",
        manifest["stdlib"]["kept"],
        "dropped",
        manifest["stdlib"]["dropped"],
        "| venv kept",
        manifest["venv"]["kept"],
        "dropped",
        manifest["venv"]["dropped"],
        "| system",
        manifest["system"],
        "| stripped",
        stripped,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
