"""pyslim trace hook: records what this process imports, opens and maps (a PEP 578 audit hook).

pyslim puts this file on PYTHONPATH of a tracing run of the full image, requests the service,
stops it and reads PYSLIM_TRACE_FILE: `module NAME`, `file PATH`, `lib PATH` and `path DIR`
(sys.path) lines. Modules imported before this file ran are taken from sys.modules.
"""

import os
import sys

_early = list(sys.modules)
_path = os.environ.get("PYSLIM_TRACE_FILE", "/tmp/pyslim-trace.txt")
_fd = os.open(_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
_seen = set()
_skip = ("/proc/", "/sys/", "/dev/", "/pyslim-trace/")


def _put(kind, what):
    line = kind + " " + what
    if line in _seen:
        return
    _seen.add(line)
    try:
        os.write(_fd, (line + "\n").encode("utf-8", "surrogateescape"))
    except OSError:
        pass


def _maps():
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5].startswith("/") and ".so" in parts[5]:
                    _put("lib", parts[5])
    except OSError:
        pass


def _hook(event, args):
    if event == "import":
        _put("module", str(args[0]))
    elif event == "open" and args:
        p = args[0]
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if isinstance(p, str) and p:
            p = os.path.abspath(p)
            if not p.startswith(_skip):
                _put("file", p)
    elif event == "ctypes.dlopen" and args and args[0]:
        _put("dlopen", str(args[0]))


for _p in sys.path:
    if _p:
        _put("path", _p)
for _m in _early:
    _put("module", _m)
sys.addaudithook(_hook)

import atexit  # noqa: E402 (after the hook: these imports are recorded)
import threading  # noqa: E402
import time  # noqa: E402


def _poll():
    while True:
        _maps()
        time.sleep(0.5)


def _start():
    threading.Thread(target=_poll, name="pyslim-trace", daemon=True).start()


atexit.register(_maps)
os.register_at_fork(after_in_child=_start)
_start()
