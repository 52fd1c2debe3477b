"""The corpus stage: the real Koala sample clips and the synthetic-transition benchmark."""
