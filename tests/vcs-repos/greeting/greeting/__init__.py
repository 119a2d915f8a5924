"""A greeting, installed from a git repository (pyslim's VCS fixture)."""

__version__ = "1.0.0"


def hello(name: str) -> str:
    return f"hello {name}, from a git dependency"
