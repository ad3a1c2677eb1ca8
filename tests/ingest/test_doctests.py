"""The examples in the ingest docstrings are part of the contract, so they run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["auth", "errors", "fields", "jsontools", "timestamps", "types"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    module = importlib.import_module(f"mappings.ingest.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
