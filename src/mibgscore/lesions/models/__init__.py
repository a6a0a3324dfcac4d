"""Weights of the learned lesion map (ONNX) and their training card (JSON)."""
