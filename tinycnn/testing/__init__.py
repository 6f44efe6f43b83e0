"""Tools to check ops and layers numerically: :func:`gradcheck`, and hypothesis strategies
in :mod:`tinycnn.testing.strategies` (needs the ``test`` extra)."""
from .gradcheck import GradcheckError, GradcheckReport, gradcheck

__all__ = ["gradcheck", "GradcheckReport", "GradcheckError"]
