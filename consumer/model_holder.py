"""The model the scorer uses now, swapped between batches when the CURRENT pointer moves (hot reload).

A swap happens only between batches, so each batch is scored by exactly one version and every
prediction names it. A version that fails to load is logged and the old model stays in service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from models.artifact import current_version, load_artifact
from models.exceptions import ModelError
from models.scoring import ScoringCore

log = logging.getLogger(__name__)


class ModelHolder:
    def __init__(
        self,
        model_dir: Path,
        pinned_version: str | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dir = model_dir
        self._pinned = pinned_version
        self._interval = interval_s
        self._clock = clock
        self.core = ScoringCore(load_artifact(model_dir, pinned_version))
        self._checked = clock()
        self._failed_version: str | None = None

    @property
    def version(self) -> str:
        return self.core.artifact.version

    def maybe_reload(self) -> bool:
        """Follow the CURRENT pointer; True when a new version was put in service."""
        if self._pinned is not None or self._clock() - self._checked < self._interval:
            return False
        self._checked = self._clock()
        wanted = current_version(self._dir)
        if wanted is None or wanted in (self.version, self._failed_version):
            return False
        try:
            core = ScoringCore(load_artifact(self._dir, wanted))
        except ModelError as exc:
            self._failed_version = wanted
            log.error("model %s not loaded, keeping %s: %s", wanted, self.version, exc)
            return False
        log.info("model %s in service (was %s)", wanted, self.version)
        self.core = core
        return True
