"""Isolated, resource-limited execution of queries and analyses; fails closed."""
