"""Jobs: one module per job, each a function over a small frozen job description.

A job reads through :mod:`wkgt.client`, plans with the pure :mod:`wkgt.planner`, and writes
through :mod:`wkgt.writer`; :mod:`wkgt.jobs.distribute` spreads its work over executors.
"""
