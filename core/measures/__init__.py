"""The measures of DESIGN.md: freshness, overlap, simulated campaigns and their statistics.

Each reads a ``core.engine.playrun.PlayRun`` (or an experiment table) and returns plain frames
and dataclasses. May import: ``core.engine``, ``core.errors``, ``core.jsonsafe``, ``synthetic``.
"""
