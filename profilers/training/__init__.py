"""Training statistics: FLOPs of a step, the Result's training section, time to train."""
