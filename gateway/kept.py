"""Work the trusted side keeps in its data directory, so that a later process need not redo it.

Each entry is one JSON file named by its key, holding a pydantic model that
names the key again. What is kept only spares work and is checked when read:
a file that cannot be read, does not validate or names another key counts as
absent, and a file is written whole or not at all, so a reader never sees
half of one. Nothing here can fail the work it spares.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class KeptEntry(BaseModel):
    """One kept file's content: ``key`` names what it answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str


Entry = TypeVar("Entry", bound=KeptEntry)


class Kept(Generic[Entry]):
    """Entries of one kind in ``folder``, one ``KEY.json`` file each."""

    def __init__(self, folder: Path, model: type[Entry]) -> None:
        self.folder = folder
        self.model = model

    def read(self, key: str) -> Entry | None:
        """The entry kept for ``key``, if a valid file holds it."""
        try:
            kept = self.model.model_validate_json((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValidationError):
            return None
        return kept if kept.key == key else None

    def write(self, entry: Entry) -> None:
        """Keep ``entry`` under its key; a folder that cannot be written keeps nothing."""
        partial = self.folder / f"{entry.key}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_text(entry.model_dump_json(), encoding="utf-8")
            partial.replace(self.folder / f"{entry.key}.json")
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
