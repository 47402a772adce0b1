"""`fraudscore simulate`: the file, the summary, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudscore.cli import main
from schemas.history import read_history

ARGS = ["simulate", "--customers", "200", "--terminals", "400", "--days", "20", "--seed", "3"]


def test_simulate_writes_a_labelled_history_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "h.avro"
    assert main([*ARGS, "--out", str(out)]) == 0
    cols = read_history(out)
    printed = capsys.readouterr().out
    assert f"{len(cols):,} transactions" in printed
    assert "compromised terminal" in printed
    assert "fraud: " in printed
    assert set(cols.is_fraud.tolist()) <= {0, 1}
    again = tmp_path / "again.avro"
    assert main([*ARGS, "--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_bad_start_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*ARGS, "--start", "yesterday", "--out", str(tmp_path / "x.avro")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1
    assert "ISO date" in err
