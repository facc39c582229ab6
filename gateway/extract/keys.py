"""Key material of extracts: per-project pseudonym keys and per-extract encryption keys.

Both live in ``Settings.key_dir`` (mode 0700, files 0600), never inside an
extract nor beside it: whoever holds an extract file must not hold the means
to read it or to link its pseudonyms to accounts. A pseudonym key is made once
per project and kept, so pseudonyms are stable across rebuilds within a project
and unlinkable across projects; an encryption key is made per extract and
deleted when the extract is replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from gateway.config import Settings, check_private, ensure_private_dir
from gateway.errors import ConfigError, ExtractError
from gateway.extract._sql import HEX_KEY

PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KEY_ID = re.compile(r"^[0-9a-f]{32}$")
_PSEUDONYM_DIR = "pseudonym"
_EXTRACT_DIR = "extract"


def check_project_id(project: str) -> str:
    """A project id names a key file, so it must be a plain, short name."""
    if not PROJECT_ID.fullmatch(project):
        raise ExtractError(
            "invalid_project",
            f"project id {project!r} is not a plain name",
            hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return project


def check_out_path(out: Path, settings: Settings) -> None:
    """Refuse an extract inside the key directory, or a key directory beside it."""
    key_dir = settings.key_dir.resolve()
    target = out.resolve()
    if target.is_relative_to(key_dir):
        raise ExtractError(
            "extract_in_key_dir",
            f"{out} lies inside the key directory {settings.key_dir}",
            hint="write the extract elsewhere; keys and extracts are kept apart",
        )
    if key_dir.parent == target.parent:
        raise ExtractError(
            "key_dir_beside_extract",
            f"the key directory {settings.key_dir} sits beside {out}",
            hint="set GATEWAY_KEY_DIR to a directory away from the extracts, "
            "or write the extract to another directory",
        )


def pseudonym_key(project: str, settings: Settings) -> bytes:
    """The project's HMAC-SHA256 key, created (32 random bytes) on first use."""
    path = _key_file(settings, _PSEUDONYM_DIR, check_project_id(project))
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another build made it first
            _write_new(path, secrets.token_hex(32))
    return bytes.fromhex(_read(path))


def new_extract_key(settings: Settings) -> tuple[str, str]:
    """A fresh encryption key for one extract: ``(key_id, key)``."""
    key_id = secrets.token_hex(16)
    key = secrets.token_hex(32)
    _write_new(_key_file(settings, _EXTRACT_DIR, key_id), key)
    return key_id, key


def read_extract_key(key_id: str, settings: Settings) -> str:
    if not KEY_ID.fullmatch(key_id):
        raise ExtractError("invalid_key_id", f"key id {key_id!r} is malformed")
    path = _key_file(settings, _EXTRACT_DIR, key_id)
    if not path.exists():
        raise ExtractError(
            "extract_key_missing",
            f"the key of this extract ({key_id}) is not in {settings.key_dir}",
            hint="check GATEWAY_KEY_DIR, or rebuild the extract with `gateway extract build`",
        )
    return _read(path)


def delete_extract_key(key_id: str, settings: Settings) -> None:
    if KEY_ID.fullmatch(key_id):
        _key_file(settings, _EXTRACT_DIR, key_id).unlink(missing_ok=True)


def _key_file(settings: Settings, kind: str, name: str) -> Path:
    ensure_private_dir(settings.key_dir)
    return ensure_private_dir(settings.key_dir / kind) / f"{name}.key"


def _write_new(path: Path, text: str) -> None:
    """Write a 0600 key file whole, or raise ``FileExistsError``; never a partial one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> str:
    check_private(path)
    text = path.read_text(encoding="ascii").strip()
    if not HEX_KEY.fullmatch(text):
        raise ConfigError("corrupt_key_file", f"key file {path} does not hold a 256-bit hex key")
    return text
