"""Sub-metrics of a clip (issue 4): a registry of measured scores, all from one decode of the clip."""
