"""Embedding backends (``models.embedders``) and model asset assembly (``models.assets``).

Submodules are imported explicitly so that importing this package stays cheap.
"""
