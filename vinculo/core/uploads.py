"""Uploaded files kept in the media storage while a user works on them (import files between
upload and run). Each app deletes its own upload when the work ends; these helpers also find
the ones left behind, so a scheduled cleanup can remove them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.core.files.storage import default_storage

# Every import upload lives under this folder of the media storage: customer import jobs'
# files (``imports/<year>/<month>/``) and the lead import's file waiting between preview and
# confirm (``imports/leads/<user id>/``). A file here that no import refers to is abandoned.
IMPORT_UPLOADS_DIR = "imports"


def delete_stored_file(name: str) -> bool:
    """Delete one stored file; a missing file (already cleaned) is not an error."""
    if not name or not default_storage.exists(name):
        return False
    default_storage.delete(name)
    return True


def stored_files_older_than(prefix: str, cutoff: dt.datetime) -> Iterator[str]:
    """Names of the files under ``prefix`` (recursively) last modified before ``cutoff``."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        path = f"{prefix}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            yield path
    for sub in dirs:
        yield from stored_files_older_than(f"{prefix}/{sub}", cutoff)
