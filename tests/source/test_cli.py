"""``gateway source generate``: refusals are one clear line, exit 1, and leave nothing behind."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import gateway.source.generate as generate_module
from gateway.cli import app
from gateway.source.generate import MAX_MEMBERS, generate
from tests.source.factories import AS_OF, differing_tables, table_rows

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["source", "generate", *args, "--as-of", str(AS_OF)])
    return result.exit_code, result.stdout, result.stderr


def files_in(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def test_generates_and_reports_row_counts(tmp_path: Path) -> None:
    code, out, _ = run("--members", "300", "--seed", "1", "--out", str(tmp_path / "s.duckdb"))
    assert code == 0
    assert "300 accounts" in out
    assert files_in(tmp_path) == {"s.duckdb"}


def test_json_output_is_the_summary(tmp_path: Path) -> None:
    target = tmp_path / "s.duckdb"
    code, out, _ = run("--members", "300", "--out", str(target), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["row_counts"]["accounts"] == 300
    assert summary["snapshot_at"] == f"{AS_OF}T00:00:00"
    with duckdb.connect(str(target), read_only=True) as db:
        row = db.execute("SELECT count(*) FROM tips").fetchone()
    assert row is not None
    assert row[0] == summary["row_counts"]["tips"]


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ("0", "invalid_members"),
        ("-5", "invalid_members"),
        (str(MAX_MEMBERS + 1), "too_many_members"),
    ],
)
def test_refuses_bad_sizes(tmp_path: Path, members: str, code: str) -> None:
    exit_code, _, err = run("--members", members, "--out", str(tmp_path / "s.duckdb"))
    assert exit_code == 1
    assert f"error [{code}]" in err
    assert "hint:" in err
    assert files_in(tmp_path) == set()


def test_refuses_bad_size_as_json(tmp_path: Path) -> None:
    exit_code, out, _ = run("--members", "0", "--out", str(tmp_path / "s.duckdb"), "--json")
    assert exit_code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "invalid_members"
    assert error["hint"]


def test_refuses_a_negative_seed(tmp_path: Path) -> None:
    exit_code, _, err = run("--members", "10", "--seed", "-1", "--out", str(tmp_path / "s.duckdb"))
    assert exit_code == 1
    assert "error [invalid_seed]" in err


def test_refuses_a_future_snapshot(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "source",
            "generate",
            "--members",
            "10",
            "--out",
            str(tmp_path / "s.duckdb"),
            "--as-of",
            "2999-01-01",
        ],
    )
    assert result.exit_code == 1
    assert "error [as_of_in_future]" in result.stderr


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "s.duckdb"
    target.write_bytes(b"precious")
    exit_code, _, err = run("--members", "10", "--out", str(target))
    assert exit_code == 1
    assert "error [output_exists]" in err
    assert "--force" in err
    assert target.read_bytes() == b"precious"
    assert files_in(tmp_path) == {"s.duckdb"}


def test_force_replaces_the_file_and_its_stale_log(tmp_path: Path) -> None:
    target = tmp_path / "s.duckdb"
    target.write_bytes(b"old")
    (tmp_path / "s.duckdb.wal").write_bytes(b"stale log of the old database")
    exit_code, _, _ = run("--members", "50", "--out", str(target), "--force")
    assert exit_code == 0
    assert files_in(tmp_path) == {"s.duckdb"}
    assert len(table_rows(target, "accounts")) == 50


@pytest.mark.parametrize(
    ("relative", "code"),
    [
        ("missing/s.duckdb", "output_dir_missing"),
        ("a_file/s.duckdb", "output_not_writable"),
        (".", "output_is_directory"),
    ],
)
def test_refuses_unusable_paths(tmp_path: Path, relative: str, code: str) -> None:
    (tmp_path / "a_file").write_text("not a directory")
    exit_code, _, err = run("--members", "10", "--out", str(tmp_path / relative))
    assert exit_code == 1
    assert f"error [{code}]" in err
    assert files_in(tmp_path) == {"a_file"}


def test_refuses_a_directory_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(**_: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    exit_code, _, err = run("--members", "10", "--out", str(tmp_path / "s.duckdb"))
    assert exit_code == 1
    assert "error [output_not_writable]" in err
    assert "Permission denied" in err
    assert files_in(tmp_path) == set()


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "s.duckdb"
    target.write_bytes(b"previous database")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(generate_module, "support_requests", disk_full)
    exit_code, _, err = run("--members", "200", "--out", str(target), "--force")
    assert exit_code == 1
    assert "error [write_failed]" in err
    assert target.read_bytes() == b"previous database"
    assert files_in(tmp_path) == {"s.duckdb"}


def test_an_interrupt_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(generate_module, "tips", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(200, 1, tmp_path / "s.duckdb", as_of=AS_OF)
    assert files_in(tmp_path) == set()


def test_progress_bar_does_not_change_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = generate(300, 2, tmp_path / "quiet.duckdb", as_of=AS_OF)
    shown = generate(300, 2, tmp_path / "shown.duckdb", as_of=AS_OF, progress=True)
    assert "100%" in capsys.readouterr().err
    assert differing_tables(quiet.path, shown.path) == set()


def test_refuses_a_stale_write_ahead_log_without_force(tmp_path: Path) -> None:
    (tmp_path / "s.duckdb.wal").write_bytes(b"log of a database that is gone")
    exit_code, _, err = run("--members", "10", "--out", str(tmp_path / "s.duckdb"))
    assert exit_code == 1
    assert "error [output_exists]" in err
    assert "s.duckdb.wal" in err
    assert files_in(tmp_path) == {"s.duckdb.wal"}


def test_never_overwrites_a_file_that_appears_while_generating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "s.duckdb"
    real_support = generate_module.support_requests

    def meanwhile(*args: Any) -> Any:
        target.write_bytes(b"written by someone else meanwhile")
        return real_support(*args)

    monkeypatch.setattr(generate_module, "support_requests", meanwhile)
    exit_code, _, err = run("--members", "100", "--out", str(target))
    assert exit_code == 1
    assert "error [output_exists]" in err
    assert target.read_bytes() == b"written by someone else meanwhile"
    assert files_in(tmp_path) == {"s.duckdb"}
