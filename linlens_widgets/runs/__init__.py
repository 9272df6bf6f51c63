"""Training runs: datasets, model presets, the training loop, the recorder and the run store."""
