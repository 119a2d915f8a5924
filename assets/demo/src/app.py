"""pyslim demo service: a tiny FastAPI app."""

import platform

from fastapi import FastAPI

app = FastAPI(title="pyslim demo")


@app.get("/")
def root() -> dict:
    return {"service": "demo", "python": platform.python_version()}


@app.get("/health")
def health() -> dict:
    return {"ok": True}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=8000)
