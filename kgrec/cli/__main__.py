"""``python -m kgrec.cli``: the ``kgrec`` command without the installed entry point."""

from kgrec.cli import main

main()
