"""The engine: what each system sees of a world and who is in a segment or audience, when.

Rules (``rules``) are validated against a view's names (``schema``), compiled to SQL
(``sqlcompile``) and run over the view relations that ``views.Engine`` materialises for truth,
CRM, CDP and hybrid, with the CDP's profiles from ``identity``. ``plays`` holds the library of
marketing goals, ``playrun`` evaluates one through every model and ``activation`` turns
membership into the moments a sending tool can reach someone.

May import: ``core.errors``, ``core.jsonsafe``, ``synthetic``. Never a measure, the advice, the
presentation or the CLI.
"""
