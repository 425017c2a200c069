"""Cross-framework conformance suite for ONNX backends."""

__version__ = "0.1.0"
