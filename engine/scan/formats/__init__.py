"""One module per model format that is neither a pickle nor a container: safetensors, GGUF, ONNX,
Keras, numpy, HDF5, skops and TorchScript source. Each parses with bounds on every count.
"""
