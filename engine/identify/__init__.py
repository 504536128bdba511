"""What a file is, from its content: format detection, the bounded pickle probe and a protobuf
wire reader. Parses only; imports nothing from the engine but its spine.
"""
