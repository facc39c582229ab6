"""SQL vetting: parse with sqlglot, check against policy, compile to a plan.

``vet(sql, policy) -> QueryPlan`` is the entry point; ``vet_report`` adds the
ε check and never raises for a refused query. They load lazily, so modules
that need only the plan contract (``gateway.plan``: the DP engine, the
Python SDK inside the sandbox) do not pay for importing sqlglot.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
