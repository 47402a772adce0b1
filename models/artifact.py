"""Versioned model artifacts: one directory per version, never overwritten, and a current-version pointer.

Layout under the model directory:

    <version>/model.ubj       the booster, XGBoost's own binary JSON format (not pickle)
    <version>/metadata.json   version, feature names in order, threshold, metrics, fingerprint, ...
    CURRENT                   the current version's name, replaced atomically

A version directory is written under a temporary name and renamed into place, so a reader polling the
model directory sees either no version or a complete one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xgboost as xgb

from models.exceptions import ModelError

MODEL_FILE = "model.ubj"
METADATA_FILE = "metadata.json"
POINTER_FILE = "CURRENT"
REQUIRED_METRICS = ("auc_roc", "average_precision", "card_precision_at_100")


@dataclass(frozen=True)
class ModelArtifact:
    version: str
    booster: xgb.Booster
    feature_names: tuple[str, ...]
    threshold: float
    metadata: dict[str, Any]
    path: Path | None  # None for a candidate still being evaluated in training


def _check_metadata(metadata: dict[str, Any]) -> None:
    names = metadata.get("feature_names")
    if not isinstance(names, list | tuple) or not names or not all(isinstance(n, str) for n in names):
        raise ModelError("metadata needs feature_names: a non-empty list of names")
    threshold = metadata.get("threshold")
    if not isinstance(threshold, int | float) or not 0.0 <= float(threshold) <= 1.0:
        raise ModelError("metadata needs threshold: a number between 0 and 1")
    metrics = metadata.get("metrics")
    if not isinstance(metrics, dict) or any(m not in metrics for m in REQUIRED_METRICS):
        raise ModelError(f"metadata needs metrics with {', '.join(REQUIRED_METRICS)}")


def _check_booster(booster: xgb.Booster, names: tuple[str, ...], where: str) -> None:
    """The booster takes exactly the metadata's features, in its order: the scorer passes columns by
    position in that order (and explains alerts without naming them), so a booster trained on the
    same features in another order would score garbage."""
    if booster.num_features() != len(names):
        raise ModelError(
            f"{where}the booster takes {booster.num_features()} features, metadata names {len(names)}"
        )
    if booster.feature_names is not None and tuple(booster.feature_names) != names:
        raise ModelError(
            f"{where}the booster's features are {', '.join(booster.feature_names)}; "
            f"the metadata's are {', '.join(names)}"
        )


def _new_version(model_bytes: bytes, now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{hashlib.sha256(model_bytes).hexdigest()[:8]}"


def save_artifact(
    model_dir: Path, booster: xgb.Booster, metadata: dict[str, Any], now: datetime | None = None
) -> ModelArtifact:
    """Writes a new version (the name is made here) and returns it; CURRENT is not touched."""
    _check_metadata(metadata)
    _check_booster(booster, tuple(metadata["feature_names"]), "")
    model_dir.mkdir(parents=True, exist_ok=True)
    model_bytes = bytes(booster.save_raw("ubj"))
    created = now or datetime.now(UTC)
    base = _new_version(model_bytes, created)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
    try:
        for attempt in range(1, 100):
            version = base if attempt == 1 else f"{base}.{attempt}"
            meta = {**metadata, "version": version, "created_at": created.isoformat()}
            (staging / MODEL_FILE).write_bytes(model_bytes)
            (staging / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
            target = model_dir / version
            if target.exists():
                continue
            try:
                # rename() onto an existing non-empty directory fails, so a version is never replaced.
                staging.rename(target)
            except OSError:
                continue
            return ModelArtifact(
                version=version,
                booster=booster,
                feature_names=tuple(meta["feature_names"]),
                threshold=float(meta["threshold"]),
                metadata=meta,
                path=target,
            )
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    raise ModelError(f"could not find a free version name under {model_dir} for {base}")


def set_current(model_dir: Path, version: str) -> None:
    """Points CURRENT at `version` (which must be a complete version): write a temp file, then rename."""
    if (
        not (model_dir / version / METADATA_FILE).is_file()
        or not (model_dir / version / MODEL_FILE).is_file()
    ):
        raise ModelError(f"no model version {version!r} in {model_dir}")
    fd, tmp = tempfile.mkstemp(prefix=".CURRENT-", dir=model_dir)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(version + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, model_dir / POINTER_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def current_version(model_dir: Path) -> str | None:
    """The version CURRENT points to, or None; one small file read, cheap enough to poll per batch."""
    try:
        text = (model_dir / POINTER_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ModelError(f"cannot read {model_dir / POINTER_FILE}: {exc.strerror}") from None
    return text or None


def list_versions(model_dir: Path) -> list[str]:
    if not model_dir.is_dir():
        return []
    # Names starting with a dot are versions still being written.
    return sorted(
        p.name for p in model_dir.iterdir() if not p.name.startswith(".") and (p / METADATA_FILE).is_file()
    )


def load_artifact(model_dir: Path, version: str | None = None) -> ModelArtifact:
    """Loads `version`, or the current one when None."""
    if version is None:
        version = current_version(model_dir)
        if version is None:
            raise ModelError(f"no current model in {model_dir} (run `fraudscore train` first)")
    if Path(version).name != version or version.startswith("."):
        raise ModelError(f"invalid model version {version!r}")
    path = model_dir / version
    try:
        metadata = json.loads((path / METADATA_FILE).read_text())
    except FileNotFoundError:
        raise ModelError(f"no model version {version!r} in {model_dir}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"unreadable {path / METADATA_FILE}: {exc}") from None
    if not isinstance(metadata, dict):
        raise ModelError(f"unreadable {path / METADATA_FILE}: not a JSON object")
    _check_metadata(metadata)
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray((path / MODEL_FILE).read_bytes()))
    except FileNotFoundError:
        raise ModelError(f"model version {version!r} has no {MODEL_FILE}") from None
    except (OSError, xgb.core.XGBoostError):
        raise ModelError(f"corrupt booster file {path / MODEL_FILE}") from None
    names = tuple(metadata["feature_names"])
    _check_booster(booster, names, f"model version {version!r}: ")
    return ModelArtifact(
        version=version,
        booster=booster,
        feature_names=names,
        threshold=float(metadata["threshold"]),
        metadata=metadata,
        path=path,
    )
