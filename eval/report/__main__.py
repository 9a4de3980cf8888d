"""``python -m eval.report``: the same as ``policyrag eval report``."""

from __future__ import annotations

from eval.report.render import main

main()
