"""Read gettext catalogs (.po) without GNU gettext or polib, to check they are complete.

Only what a completeness check needs: each entry's context, msgid, plural and msgstr(s) and
its flags. Used by ``vinculo check_translations`` (run by ``make messages``) and the tests."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
# Python-format placeholders that a translation must keep: %(name)s, %(n)d, %(value)r and %%.
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%%|%[sd]")


@dataclass
class Entry:
    msgid: str
    line: int
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def label(self) -> str:
        text = self.msgid if len(self.msgid) <= 70 else self.msgid[:67] + "..."
        ctx = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"line {self.line}: {ctx}{text!r}"

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def _unquote(token: str, path: Path, lineno: int) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise ValueError(f"{path}:{lineno}: expected a quoted string, got {token[:40]!r}")
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def parse_po(path: Path) -> list[Entry]:
    """Every entry of the catalog, the header (msgid "") first; raises ValueError naming the
    line of a syntax error."""
    entries: list[Entry] = []
    cur: dict | None = None
    target: tuple[str, int] | None = None

    def flush():
        nonlocal cur
        if cur and "msgid" in cur:
            entries.append(Entry(**cur))
        cur = None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if cur is not None and "msgid" in cur:
                flush()
            if cur is None:
                cur = {"line": lineno, "flags": set(), "msgstr": {}}
            if line.startswith("#,"):
                cur["flags"] |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if cur is None or ("msgid" in cur and line.startswith(("msgctxt", "msgid "))):
            flush()
            cur = {"line": lineno, "flags": set(), "msgstr": {}}
        cur["obsolete"] = obsolete
        m = _KEYWORD.match(line)
        if m:
            key, index, value = m.group(1), m.group(2), _unquote(m.group(3), path, lineno)
            if key.startswith("msgstr"):
                target = ("msgstr", int(index or 0))
                cur["msgstr"][target[1]] = value
            else:
                target = (key, 0)
                cur[key] = value
                if key == "msgid":
                    cur["line"] = lineno
        elif line.startswith('"') and target is not None:
            value = _unquote(line, path, lineno)
            if target[0] == "msgstr":
                cur["msgstr"][target[1]] += value
            else:
                cur[target[0]] += value
        else:
            raise ValueError(f"{path}:{lineno}: cannot read {line[:40]!r}")
    flush()
    return entries


@dataclass
class CatalogReport:
    path: Path
    translated: int = 0
    untranslated: list[Entry] = field(default_factory=list)
    fuzzy: list[Entry] = field(default_factory=list)
    bad_placeholders: list[Entry] = field(default_factory=list)
    stale_compiled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.untranslated or self.fuzzy or self.bad_placeholders or self.stale_compiled)


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _compiled_mismatches(po_path: Path, entries: list[Entry]) -> list[str]:
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{mo_path} is missing"]
    with mo_path.open("rb") as fh:
        # The raw msgid table: the public API cannot tell "missing" from "same as English".
        catalog = gettext.GNUTranslations(fh)._catalog
    wrong = []
    for e in entries:
        if not e.msgid or e.obsolete or "fuzzy" in e.flags or not e.translated:
            continue
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid
        if e.msgid_plural is None:
            if catalog.get(key) != e.msgstr[0]:
                wrong.append(e.label)
        elif any(catalog.get((key, i)) != s for i, s in e.msgstr.items()):
            wrong.append(e.label)
    return wrong


def check_catalog(po_path: Path) -> CatalogReport:
    """Count the catalog's translated entries and list the untranslated and fuzzy ones, the
    translations that drop or invent a placeholder, and entries the compiled .mo lacks."""
    entries = parse_po(po_path)
    report = CatalogReport(path=po_path)
    for e in entries:
        if not e.msgid or e.obsolete:
            continue
        if "fuzzy" in e.flags:
            report.fuzzy.append(e)
        elif not e.translated:
            report.untranslated.append(e)
        else:
            report.translated += 1
            sources = [e.msgid] + ([e.msgid_plural] if e.msgid_plural else [])
            wanted = set().union(*(_placeholders(s) for s in sources))
            # A plural form may leave out the count (e.g. "one row"), never add a name.
            for s in e.msgstr.values():
                have = _placeholders(s)
                if have - wanted or (e.msgid_plural is None and have != wanted):
                    report.bad_placeholders.append(e)
                    break
    report.stale_compiled = _compiled_mismatches(po_path, entries)
    return report
