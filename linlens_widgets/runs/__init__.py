"""Training runs: datasets, model presets, the training loop and recorder, and the on-disk run store."""
