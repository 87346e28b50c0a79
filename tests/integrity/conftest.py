"""A recorded demo programme with its integrity view caught up and one signed checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.integrity.signing import load_signer
from application.settings import Settings
from read_models.bootstrap import create_read_side
from read_models.integrity.checkpoints import create_checkpoint


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pristine")
    settings = Settings(data_dir=data)
    tracker = create_tracker(settings)
    load_demo(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    create_checkpoint(read_side.engine, load_signer(settings))
    read_side.close()
    tracker.close()
    return data
