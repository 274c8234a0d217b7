"""Stage functions: each reads its declared inputs, writes its outputs atomically, nothing else."""
