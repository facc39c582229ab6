"""Alembic environment: the metadata database's schema, from every stage's models."""

from __future__ import annotations

import importlib

from alembic import context

from gateway.db import METADATA, MODEL_MODULES

for module in MODEL_MODULES:
    importlib.import_module(module)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=METADATA,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
