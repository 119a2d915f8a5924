"""The dynamic loader's library search (glibc ld.so) and the DT_NEEDED closure built on it.

A `Loader` is the search of one root file system: the builder's own (root "") or a runtime image
seen through a mount (root "/pyslim-runtime"), whose absolute symlinks are followed inside that
root, as its own loader would. `closure` walks the DT_NEEDED graph with the loader's order:

- a name with a slash is a path;
- an object without DT_RUNPATH: its DT_RPATH, then the DT_RPATH of the object that loaded it,
  and so on up the chain (an object with DT_RUNPATH has no effective DT_RPATH);
- an object with DT_RUNPATH: its DT_RUNPATH only, for its own DT_NEEDED (never inherited);
- then ld.so.conf's folders and the default ones.
$ORIGIN is the folder of the object that holds the path, not of the one that needs the library.
"""

import glob
import os
import posixpath
from typing import Callable, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .elf import expand_origin, read_elf


def in_root(root: str, path: str, hops: int = 0) -> str:
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
            return in_root(root, base + "/" + target + "/" + "/".join(parts[i + 1 :]), hops + 1)
        cur = nxt
    return root + cur


def conf_dirs(root: str, path: str, depth: int = 0) -> List[str]:
    """The folders listed by an ld.so.conf file of root, includes followed."""
    dirs: List[str] = []
    try:
        with open(in_root(root, path)) as f:
            lines = f.read().splitlines()
    except OSError:
        return dirs
    for line in lines:
        line = line.split("#")[0].strip()
        if line.startswith("include") and depth < 5:
            pattern = line.split(None, 1)[1] if " " in line or "\t" in line else ""
            if not pattern:
                continue
            if not pattern.startswith("/"):
                pattern = posixpath.join(posixpath.dirname(path), pattern)
            folder, name = posixpath.dirname(pattern), posixpath.basename(pattern)
            for g in sorted(glob.glob(in_root(root, folder) + "/" + name)):
                dirs += conf_dirs(root, folder + "/" + posixpath.basename(g), depth + 1)
        elif line:
            dirs.append(line)
    return dirs


def default_dirs(multiarch: str) -> List[str]:
    """The loader's built-in folders (Debian's multiarch ones first)."""
    arch = ["/lib/" + multiarch, "/usr/lib/" + multiarch] if multiarch else []
    return arch + ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]


class Loader:
    """The library search of one root file system."""

    def __init__(self, root: str = "", multiarch: str = "", extra_dirs: Sequence[str] = ()):
        self.root = root.rstrip("/")
        self.dirs = conf_dirs(self.root, "/etc/ld.so.conf") + default_dirs(multiarch) + list(extra_dirs)

    def has(self, soname: str) -> bool:
        """Whether the loader finds soname in its system folders."""
        return any(os.path.exists(in_root(self.root, d + "/" + soname)) for d in self.dirs)

    def find(self, name: str, dirs: Sequence[str] = ()) -> Optional[str]:
        """The file the loader maps for name: searched in dirs, then the system folders."""
        if "/" in name:
            return name if os.path.exists(in_root(self.root, name)) else None
        for d in list(dirs) + self.dirs:
            if d and os.path.isfile(in_root(self.root, os.path.join(d, name))):
                return os.path.join(d, name)
        return None


class Link(NamedTuple):
    """One edge of the closure: `name` (a DT_NEEDED name, or the PT_INTERP path) found at `path`
    (None when the loader would not find it), needed by `needer` on behalf of the start `by`."""

    name: str
    path: Optional[str]
    needer: str
    by: str


def search_dirs(rpath: List[str], runpath: List[str], origin: str, inherited: Tuple[str, ...]):
    """(the folders searched for the object's own DT_NEEDED, the DT_RPATH chain its children
    inherit) for an object in origin with these paths, loaded by a chain with inherited."""
    if runpath:
        return expand_origin(runpath, origin), ()
    chain = tuple(expand_origin(rpath, origin)) + inherited
    return list(chain), chain


def closure(
    starts: Iterable[Tuple[str, str]],
    loader: Loader,
    skip: Callable[[str], bool] = lambda name: False,
    names: Iterable[Tuple[str, str]] = (),
    grafted_under: str = "",
    follow_interp: bool = True,
) -> Iterator[Link]:
    """The links of the DT_NEEDED closure of starts ((path, on behalf of) pairs), depth first.

    skip(name) True: the name is neither searched nor followed (the runtime has it). names: extra
    sonames (loaded with dlopen, so no DT_NEEDED names them) searched in the system folders.
    grafted_under: a library missing from every search path but present next to the object that
    needs it, under this folder, is taken from there (auditwheel's grafted libraries name each
    other by soname, loaded already by the extension module's own RPATH). follow_interp: whether
    the PT_INTERP of each object (the loader itself) is a link too."""
    todo: List[Tuple[str, str, Tuple[str, ...]]] = [(p, by, ()) for p, by in starts]
    for name, by in names:
        if skip(name):
            continue
        lib = loader.find(name)
        yield Link(name, lib, "", by)
        if lib:
            todo.append((lib, by, ()))
    seen = set()
    while todo:
        path, by, inherited = todo.pop()
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        info = read_elf(real)
        if info is None:
            continue
        if info.interp and follow_interp:
            yield Link(info.interp, info.interp, real, by)
            todo.append((info.interp, by, ()))
        origin = os.path.dirname(real)
        dirs, chain = search_dirs(info.rpath, info.runpath, origin, inherited)
        for name in info.needed:
            if skip(name):
                continue
            lib = loader.find(name, dirs)
            grafted = os.path.join(origin, name)
            if lib is None and grafted_under and origin.startswith(grafted_under.rstrip("/") + "/"):
                lib = grafted if os.path.isfile(grafted) else None
            yield Link(name, lib, real, by)
            if lib:
                todo.append((lib, by, chain))
