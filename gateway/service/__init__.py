"""The service: people, projects, jobs, the budget ledger, releases and the audit log.

Domain modules (``accounts``, ``projects``, ``jobs``, ``budget``, ``queue``,
``releases``, ``audit``) hold the rules and work on the metadata database;
``app`` and ``routes`` put them on HTTP, and ``worker`` runs queued jobs
through the pipeline. Importing this package loads nothing heavy: the CLI's
``gateway worker`` and ``gateway audit verify`` do not import FastAPI.
"""
