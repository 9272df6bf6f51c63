"""Helpers shared by several test folders, imported as ``tests.helpers.<module>``.

Test modules never import each other or a ``conftest``; what more than one of them needs lives
here. ``tests`` is importable because pytest puts the repository root on ``sys.path``
(``pythonpath = ["."]`` in ``pyproject.toml``).
"""
