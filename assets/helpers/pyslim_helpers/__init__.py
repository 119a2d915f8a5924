"""pyslim's helpers: the programs a generated Dockerfile runs, as files beside it.

- `elf`: the one ELF reader (PT_INTERP, DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH);
- `loader`: the dynamic loader's library search and the DT_NEEDED closure built on it;
- `libs`: the multi-stage builder's shared-library step (what the runtime image lacks);
- `assemble`: the `minimal` variant's assembly of a FROM-scratch root from a trace;
- `launch`: the pre-start launcher of the final image (steps in order, then the server);
- `trace_hook`: the audit hook of a tracing run (uploaded by pyslim as `sitecustomize.py`).

Standard library only, Python 3.9 and newer: they run with the image's own interpreter.
"""

__version__ = "1.0"
