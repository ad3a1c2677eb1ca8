"""Console forms. Each form owns the parsing and validation of what a user typed.

One module per screen family: ``sources``, ``destinations``, ``mapping_list``. The mapping editor
(issue 5, part 2) adds its own module here.
"""

from __future__ import annotations

from .destinations import DestinationForm
from .mapping_list import MappingRenameForm, NewMappingForm, ToggleForm
from .sources import SourceForm

__all__ = ["DestinationForm", "MappingRenameForm", "NewMappingForm", "SourceForm", "ToggleForm"]
