"""Advice built on the measures: a scenario and its results, knob sweeps and crossovers, the fit advisor.

May import: ``core.measures``, ``core.engine``, ``core.errors``, ``core.jsonsafe``, ``synthetic``.
"""
