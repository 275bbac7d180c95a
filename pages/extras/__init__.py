"""Streamlit pieces a page calls in one line (the PDF hand-out button, the glossary in the sidebar).

A sub-package, not files in ``pages/``: Streamlit's legacy loader would list every ``pages/*.py``
as a page of its own. The logic lives in ``core/present``; these only draw it.
"""
