"""The guard as an HTTP service: `create_app(guard, settings)`; run it with `suho serve`."""

from suho.serve.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
