"""DP engine: a vetted plan over an extract in, a differentially private release out.

OpenDP and Polars are imported when a query is computed, not when this
package is: a refusal does not wait for them. The names below load on first
use, so modules that need only the release contract (``gateway.dp.release``:
the sandbox's job documents, the analysis SDK inside the sandbox) do not pay
for the engine.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
