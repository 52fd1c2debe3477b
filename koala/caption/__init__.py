"""Structured captions (paper §4.2): six fields from six prompts, merged into one paragraph."""
