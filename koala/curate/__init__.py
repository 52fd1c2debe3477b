"""Curate your own videos: a folder of long videos in, a Koala-format training set out (issue 9)."""
