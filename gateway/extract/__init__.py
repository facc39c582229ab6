"""Pseudonymised, consent-aware, encrypted extracts: all the sandbox ever sees."""
