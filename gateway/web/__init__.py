"""Server-rendered pages: Jinja2 templates, a little CSS and JavaScript, SVG charts.

The service's page routes build a pydantic model and call ``render``; the
same model is the page's JSON twin (its path with ``.json``). Pages speak
Dutch by default and English on request (``?lang=en``, remembered in a
cookie). Nothing here reads data: it only shows what the service hands it.
"""

from gateway.web.render import STATIC_DIR, language, render, render_problem

__all__ = ["STATIC_DIR", "language", "render", "render_problem"]
