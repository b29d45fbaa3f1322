"""Extractive question answering (SQuAD-style): the task kind's examples, readers, windows and metrics."""
