"""Parsed package YAML kept as JSON, named by the digest of the text parsed.

Every LCM request and every worker reads its VNF package again: the VNFD,
the ETSI type files it imports and the Heat templates, about 0.02-0.05 s of
YAML parsing each time. An onboarded package never changes, and the same
text always parses to the same document, so a document parsed once is kept
in a private directory as JSON (which loads some fifty times faster) under
the SHA-256 of its text. Only documents that JSON keeps exactly are kept
(not one with a non-string key, say); an entry that cannot be read or is not
a mapping is parsed again. Nothing here is trusted more than the text: the
text is what names the entry.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

#: Part of every key: a change to how nfvkit parses YAML (csar.load_yaml)
#: must change it, so that older entries are no longer found.
FORMAT = "csar-yaml-1"


class ParsedYamlCache:
    """Documents parsed by :func:`nfvlib.packages.csar.load_yaml`, by text."""

    def __init__(self, directory: str | Path, *, deferred: bool = False) -> None:
        """``deferred``: keep new documents only when :meth:`save` is called
        (an upload keeps them once the package is onboarded, not before)."""
        self.directory = Path(directory)
        self._deferred = deferred
        self._pending: dict[Path, str] = {}

    def load(self, text: str, file: str) -> dict[str, Any]:
        """``text`` (the content of ``file``) parsed, from the cache when there."""
        from nfvlib.packages.csar import load_yaml

        digest = hashlib.sha256(f"{FORMAT}\0{text}".encode()).hexdigest()
        entry = self.directory / f"{digest}.json"
        try:
            doc = json.loads(entry.read_text())
        except (OSError, ValueError):
            doc = None
        if isinstance(doc, dict):
            return doc
        doc = load_yaml(text, file)
        self._keep(entry, doc)
        return doc

    def save(self) -> None:
        """Write the documents a deferred cache was given."""
        from nfvlib.files import private_dir, write_private

        pending, self._pending = self._pending, {}
        try:
            if pending:
                private_dir(self.directory)
            for entry, data in pending.items():
                write_private(entry, data)
        except OSError:
            return  # a read-only store: parsed again next time

    def _keep(self, entry: Path, doc: dict[str, Any]) -> None:
        try:
            data = json.dumps(doc)
            if json.loads(data) != doc:
                return
        except (TypeError, ValueError):
            return  # a value JSON cannot hold: parsed every time
        self._pending[entry] = data
        if not self._deferred:
            self.save()
