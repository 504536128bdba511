"""Files that hold files: zip (read as PyTorch's loader reads it), tar, 7z, compressed wrappers and
legacy ``torch.save`` records. Each member is sniffed (``members``) and scanned again through
``scan_stream``, one nesting level down, within the same budget.
"""
