"""TensorFlow SavedModel graphs and their Keras metadata: ops that reach outside the graph (files,
network, processes), judged by name, attributes and where their path inputs come from.
"""
