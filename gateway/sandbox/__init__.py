"""Isolated, resource-limited execution of queries and analyses; fails closed.

``make_sandbox(settings)`` picks a backend; ``run_query`` and ``run_analysis``
drive a job through ``prepare -> execute -> finalize -> cleanup``. See
``docs/sandbox.md`` for the threat model and every layer of defence.

Names are loaded on first use: the sandbox's own entry point lives in this
package and must not pay for the trusted side's imports at every start.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
