"""One seam for mapping work over videos or clips: local processes or Ray Data."""

from koala.engine.core import MapResult, code_version, item_fingerprint, map_items

__all__ = ["MapResult", "code_version", "item_fingerprint", "map_items"]
