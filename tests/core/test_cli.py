"""The `vinculo` console command wraps Django's management commands."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

VINCULO = Path(sys.executable).with_name("vinculo")


@pytest.mark.slow
def test_vinculo_migrate_and_createsuperuser_noinput(tmp_path):
    env = {
        **os.environ,
        "VINCULO_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "DJANGO_SUPERUSER_USERNAME": "boss",
        "DJANGO_SUPERUSER_EMAIL": "boss@example.com",
        "DJANGO_SUPERUSER_PASSWORD": "s3cret-pass-word",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for args in (["migrate", "--noinput", "-v", "0"], ["createsuperuser", "--noinput"]):
        done = subprocess.run([str(VINCULO), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        row = db.execute(
            "SELECT is_superuser, email FROM accounts_user WHERE username='boss'"
        ).fetchone()
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert row == (1, "boss@example.com")
    assert mode == "wal"  # the embedded default runs SQLite in WAL mode
    # A generated secret key is kept under var/ for the demo, readable by the owner only.
    key = tmp_path / "secret_key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
