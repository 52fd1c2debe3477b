"""Temporal splitting (paper §4.1, docs/koala36m-paper.md §2.1): transitions -> single-shot clips.

``css`` is the paper's detector exactly; ``learned`` is ours (``auto``); the PySceneDetect
detectors are baselines. See :mod:`koala.split.registry` for the detector seam and
:mod:`koala.split.stage` for the stage and the CLI's batch run.
"""
