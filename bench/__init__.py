"""Benchmarks: each module's ``main()`` prints a table. ``python -m bench`` runs them all."""
