"""pyslim's pre-start launcher: runs the pre-start steps, then becomes the server.

    python -I launch.py STEP... -- SERVER ARGV...

Each step (one command line, split like a POSIX shell, found on PATH so the venv's console
scripts resolve) runs in order, with SIGTERM and SIGINT passed on to it. A failing step ends the
container with its exit code (127 not found, 126 not runnable, 128+N killed by signal N) and one
line on stderr. Then the server replaces the launcher (exec): it is PID 1's program and gets the
signals. No shell is needed (distroless and minimal images have none); this file imports nothing
but the standard library, so it is copied alone into the final image.
"""

import os
import shlex
import signal
import subprocess
import sys


def say(line):
    print("pyslim: " + line, file=sys.stderr, flush=True)


def run_step(n, total, step):
    """Runs one step; its exit code for the container when it fails, else 0."""
    what = "pre-start step %d/%d `%s`" % (n, total, step)
    say("running " + what)
    try:
        child = subprocess.Popen(shlex.split(step))
    except OSError as e:
        say("%s cannot run: %s" % (what, e.strerror or e))
        return 127 if isinstance(e, FileNotFoundError) else 126
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    code = child.wait()
    if code:
        code = code if code > 0 else 128 - code
        say("%s failed with exit code %d; the server was not started" % (what, code))
    return code


def main(args):
    if "--" not in args:
        say("usage: launch.py STEP... -- SERVER ARGV...")
        return 2
    steps, server = args[: args.index("--")], args[args.index("--") + 1 :]
    for n, step in enumerate(steps, 1):
        code = run_step(n, len(steps), step)
        if code:
            return code
    if not server:
        say("no server command after --")
        return 2
    try:
        os.execvp(server[0], server)
    except OSError as e:
        say("cannot start the server `%s`: %s" % (" ".join(shlex.quote(a) for a in server), e.strerror or e))
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
