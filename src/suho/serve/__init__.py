"""The guard as an HTTP service: `create_app(guard, settings)`; run it with `suho serve`.

`create_app` needs the `serve` extra (fastapi); it is imported on first use, so `ServeSettings` and the rest of suho
work without it.
"""

from suho.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from suho.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'suho.serve' has no attribute {name!r}")
