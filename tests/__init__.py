"""Tests, mirroring the source tree.

A package, so that tests/pipelines never shadows the pipelines package.
"""
