"""The CSRF secret kept in the data directory: every process of a deployment gets the same one."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from application.settings import Settings
from interfaces.http.security import csrf_secret


def test_racing_processes_all_get_one_complete_secret(tmp_path: Path) -> None:
    for attempt in range(20):
        settings = Settings(data_dir=tmp_path / str(attempt))
        start = threading.Barrier(8)

        def read(_: int, settings: Settings = settings, start: threading.Barrier = start) -> str:
            start.wait()
            return csrf_secret(settings)

        with ThreadPoolExecutor(8) as pool:
            secrets = set(pool.map(read, range(8)))
        assert len(secrets) == 1
        assert len(secrets.pop()) >= 64
        kept = settings.data_dir / "secret-key"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert [p.name for p in settings.data_dir.iterdir()] == ["secret-key"]  # no drafts left


def test_the_setting_wins_over_the_kept_secret(tmp_path: Path) -> None:
    kept = csrf_secret(Settings(data_dir=tmp_path))
    chosen = Settings(data_dir=tmp_path, secret_key="s" * 40)
    assert csrf_secret(chosen) == "s" * 40 != kept
