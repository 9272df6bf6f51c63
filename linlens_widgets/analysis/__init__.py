"""Analysis of effective weights: aligned embeddings across checkpoints and the lens metrics."""
