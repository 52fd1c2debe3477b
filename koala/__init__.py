"""koala: the Koala-36M data pipeline (arXiv 2410.08260), reproduced and measured."""

__version__ = "0.1.0"
