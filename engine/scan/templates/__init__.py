"""Chat templates (tokenizer configs, ``*.jinja``, GGUF metadata): parsed to a Jinja AST, never
rendered, and judged by abstract interpretation of what the template would reach.
"""
