"""Server processes tune the garbage collector at start-up (vinculo.core.runtime)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = (
    "import gc, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'vinculo.settings'; "
    "import vinculo.{module}; print(json.dumps([gc.get_threshold()[0], gc.get_freeze_count()]))"
)


def _start(module: str, **env) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def test_asgi_and_wsgi_processes_freeze_start_up_objects_and_collect_less_often():
    for module in ("asgi", "wsgi"):
        threshold, frozen = _start(module, VINCULO_GC_THRESHOLD="40000")
        assert threshold == 40000
        assert frozen > 10_000  # Django, the URLconf and the apps are out of the full passes


def test_zero_keeps_pythons_defaults():
    threshold, frozen = _start("asgi", VINCULO_GC_THRESHOLD="0")
    assert threshold == 700 and frozen == 0
