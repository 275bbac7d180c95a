"""Presentation helpers without Streamlit: figures, the URL state, exports, picked cases.

Pages call these so that what they show is testable without a browser. May import everything
below (``core.advice``, ``core.measures``, ``core.engine``, ``synthetic``); never ``streamlit``,
``pages`` or the CLI.
"""
