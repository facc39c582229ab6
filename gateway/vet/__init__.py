"""SQL vetting: parse with sqlglot, check against policy, compile to a plan."""
