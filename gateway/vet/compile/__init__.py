"""Compile one parsed SELECT into a ``QueryPlan``, or list everything wrong with it.

This is an allow-list: each clause module accepts exactly the shapes the plan
can express (see docs/vetting.md) and hands anything else to
``Context.reject``, which walks it and has ``classify.py`` name each construct
with its own error code. No node, function or clause reaches the plan unless a
line in one of these modules accepts it explicitly.

One module per clause, over a shared ``Context`` (text, policy, scope,
issues), in the order ``statement.py`` runs them:

- ``tables``: FROM and the members JOIN;
- ``select``: the SELECT list, its group keys (``keys``) and aggregates
  (``aggregates``), and the output names;
- ``where``: the filter and its constants;
- ``group``: GROUP BY;
- ``order``: ORDER BY and LIMIT.
"""

from gateway.vet.compile.statement import compile_select

__all__ = ["compile_select"]
