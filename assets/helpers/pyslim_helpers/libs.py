"""The shared libraries the venv needs that the runtime image lacks (the builder's step).

Runs in the builder stage of a multi-stage variant, after the venv is installed:

    python -m pyslim_helpers.libs --venv /opt/venv --out /pyslim/libs --manifest FILE ...

Finds the ELF files of the venv (bin/ executables and *.so modules), follows their DT_NEEDED
closure with the builder's loader search (see `loader`), and copies each library the runtime
does not have to OUT + its real folder in the builder, named by its soname, so that
`COPY --from=builder OUT/ /` puts it where the loader looks. A library the runtime has is not
followed further (its own dependencies come with it).

What the runtime has: with --runtime-root (the runtime image bind-mounted by BuildKit) the
runtime's own loader folders are looked up; without it (classic builder) --runtime-has names the
library stems every supported runtime ships. --also adds sonames loaded with dlopen/ctypes;
--provided names sonames the runtime stage installs with its package manager;
--same-python-layout says the runtime is of the builder's image family (its Python in the same
place).

A library that embeds Python (libpython3.X) only works where the standard library sits under the
prefix it was built for: when the runtime has no stdlib there, the step stops with one line that
says so (exit code 3), rather than an image that dies at start.
"""

import argparse
import os
import posixpath
import shutil
import sys
import sysconfig
from typing import Dict, List, Optional, Sequence, Tuple

from .loader import Loader, closure, in_root


def split(s: str) -> List[str]:
    return [x for x in s.split(",") if x]


def stem(soname: str) -> str:
    return soname.split(".so", 1)[0]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m pyslim_helpers.libs", description=__doc__.splitlines()[0])
    ap.add_argument("--venv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--runtime", required=True, help="the runtime image, for messages")
    ap.add_argument("--runtime-python", required=True)
    ap.add_argument("--runtime-root", default="")
    ap.add_argument("--runtime-has", default="")
    ap.add_argument("--also", default="")
    ap.add_argument("--provided", default="")
    ap.add_argument("--same-python-layout", action="store_true")
    return ap.parse_args(argv)


class Runtime:
    """What the runtime image has: its root seen through a mount, or the known stems."""

    def __init__(self, root: str, has: Sequence[str], provided: Sequence[str], multiarch: str):
        self.root = root.rstrip("/")
        self.loader = Loader(self.root, multiarch) if self.root else None
        self.stems = set(has)
        self.provided = set(provided)

    def has(self, soname: str) -> bool:
        if soname in self.provided:
            return True
        if self.loader:
            return self.loader.has(soname)
        return stem(soname) in self.stems


def venv_elf_candidates(venv: str) -> List[Tuple[str, str]]:
    """The venv's executables in bin/ and shared objects anywhere, each on its own behalf."""
    out = []
    for dirpath, _, files in os.walk(venv):
        for f in files:
            p = os.path.join(dirpath, f)
            if (dirpath == venv + "/bin" or ".so" in f) and not os.path.islink(p):
                out.append((p, p))
    return out


def collect(venv: str, runtime: Runtime, builder: Loader, also: Sequence[str]):
    """(added: soname -> (builder path, on behalf of), missing: 'soname (for file)' lines)."""
    added: Dict[str, Tuple[str, str]] = {}
    missing: List[str] = []
    names = [(n, "loaded at run time by a dependency") for n in also]
    links = closure(
        venv_elf_candidates(venv),
        builder,
        skip=runtime.has,
        names=names,
        grafted_under=venv,
        follow_interp=False,
    )
    for link in links:
        if link.path is None:
            missing.append(link.name + " (for " + link.by + ")")
        elif not os.path.realpath(link.path).startswith(venv + "/") and link.name not in added:
            added[link.name] = (link.path, link.by)
    return added, missing


def embedded_python_error(added, args, runtime_root: str) -> Optional[str]:
    """The one-line error when a copied libpython would not find its stdlib in the runtime."""
    prefix = sysconfig.get_config_var("prefix") or sys.base_prefix
    ver = "python%d.%d" % sys.version_info[:2]
    landmark = prefix + "/lib/" + ver + "/os.py"
    rt_prefix = posixpath.dirname(posixpath.dirname(args.runtime_python))
    for n, (_lib, by) in sorted(added.items()):
        if not n.startswith("libpython"):
            continue
        if runtime_root:
            ok = os.path.exists(in_root(runtime_root, landmark))
        else:
            ok = args.same_python_layout or prefix == rt_prefix
        if not ok:
            # one line that the build error quotes (it starts with ERROR, under 200 characters)
            return "ERROR: %s embeds Python (%s) that needs its stdlib in %s/lib/%s, which %s lacks: %s" % (
                by,
                n,
                prefix,
                ver,
                args.runtime,
                "use --variant multistage-slim",
            )
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    venv = args.venv.rstrip("/")
    out = args.out.rstrip("/")
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    runtime = Runtime(args.runtime_root, split(args.runtime_has), split(args.provided), multiarch)
    added, missing = collect(venv, runtime, Loader("", multiarch), split(args.also))
    error = embedded_python_error(added, args, runtime.root)
    if error:
        print(error, file=sys.stderr)
        return 3
    lines = []
    for n, (lib, by) in sorted(added.items()):
        folder = os.path.realpath(os.path.dirname(lib))
        dst = out + folder + "/" + n
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(lib), dst)
        lines.append(folder + "/" + n + " for " + by)
    for m in missing:
        print("pyslim: warning: the builder has no " + m + ": the runtime will not have it either", file=sys.stderr)
    os.makedirs(os.path.dirname(out + args.manifest), exist_ok=True)
    with open(out + args.manifest, "w") as f:
        f.write("# Shared libraries pyslim copied from the builder: the venv needs them and ")
        f.write(args.runtime + " lacks them.\n")
        f.writelines(x + "\n" for x in lines)
    if lines:
        print("pyslim: shared libraries " + args.runtime + " lacks, copied from the builder: " + ", ".join(lines))
    else:
        print("pyslim: " + args.runtime + " has every shared library the venv needs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
