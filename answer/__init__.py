"""Answering questions from retrieved articles with verified, copy-ready citations."""
