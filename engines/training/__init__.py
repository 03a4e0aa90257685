"""Fine-tuning: tasks and heads, labels, the training step loop and its device hooks.

Importing this package loads no torch; the loop and the model code import it where they run.
"""
