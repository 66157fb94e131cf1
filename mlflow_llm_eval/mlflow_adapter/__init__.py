"""The thin MLflow adapter: the evaluator plugin, MLflow-metric wrapping and logging to the run.

This is the only package that imports MLflow (judge endpoint clients aside).
"""
