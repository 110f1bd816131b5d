"""Uploaded files kept in the media storage while a user works on them (import files between
upload and run). Each app deletes its own upload when the work ends; these helpers also find
the ones left behind, so a scheduled cleanup can remove them."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

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


def remove_empty_folders(prefix: str, *, keep: Iterable[str] = ()) -> int:
    """Remove the empty folders under ``prefix`` (deepest first, so a month folder and then its
    emptied year folder both go), never ``prefix`` itself nor a folder named in ``keep``.
    Returns how many were removed. A storage without folders (S3) has nothing to remove; a
    folder that gains a file meanwhile is not empty and stays."""
    try:
        root = Path(default_storage.path(prefix))
    except NotImplementedError:
        return 0
    if not root.is_dir():
        return 0
    kept = {str(Path(k)) for k in keep}
    removed = 0
    for folder, _dirs, _files in os.walk(root, topdown=False):
        path = Path(folder)
        if path == root or str(Path(prefix) / path.relative_to(root)) in kept:
            continue
        try:
            path.rmdir()  # refuses a folder that is not empty
        except OSError:
            continue
        removed += 1
    return removed
