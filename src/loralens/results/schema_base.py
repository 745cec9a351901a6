"""Base records of the results.json contract."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

Num = float | None  # a float, null where it is NaN or not computed


class Fixed(BaseModel):
    """A record with exactly the keys named."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A record with the keys named and possibly more (a tool's own detail)."""

    model_config = ConfigDict(extra="allow")
