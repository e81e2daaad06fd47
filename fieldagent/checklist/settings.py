"""The station file's `[checklist]` section: which checklists, nominal values, changes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fieldagent.checklist.definition import Item

NominalValue = Annotated[float, Field(allow_inf_nan=False)]


class ChecklistSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    templates: list[str] = Field(
        default_factory=lambda: ["pre-holiday"],
        description="Built-in checklist names (config/checklists/NAME.toml) or .toml paths.",
    )
    disable: list[str] = Field(
        default_factory=list, description="Item ids this station leaves out."
    )
    nominal: dict[str, dict[str, NominalValue]] = Field(
        default_factory=dict,
        description="Per device id: nominal values by metric key (nominal.KEY in conditions).",
    )
    item: list[Item] = Field(
        default_factory=list, description="Items of this station's own, added to the checklists."
    )
