"""The web app: ``create_app(hub)`` returns an ASGI application."""

from .app import create_app

__all__ = ["create_app"]
