"""Metric conditioning (issue 7, docs/koala36m-paper.md §2.7-2.8): does a small generator obey the metrics, and better than text?

A tiny diffusion transformer over per-frame PCA latents, trained with rectified flow on short
windows of the corpus clips, conditioned either the paper's way (each metric -> sinusoidal
embedding -> MLP -> added to the timestep embedding -> AdaLN in every block) or Open-Sora's way
(the values written into the caption), then swept over the asked motion and measured with the
project's own metrics.
"""
