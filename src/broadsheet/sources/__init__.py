"""Sources: each turns what a provider serves into ``SourceItem``s (see ``broadsheet.types``).

A parser is a plain function ``parse_xxx(data, name) -> Iterator[SourceItem]``:
- ``data`` is the raw bytes of one document (one JSON file, one XML page) or, for line formats,
  an iterable of lines; ``name`` is where it came from (a path, an archive member, a URL) and
  prefixes every ``source_ref`` the parser emits (``f"{name}:{position}"``, 1-based).
- It yields ``PaperData`` for each paper it can read, ``ListingData`` right after the paper it
  lists, and ``Rejected(source_ref, reason)`` for each record it cannot; it never raises for one bad
  record. It raises ``SourceError`` only when the document as a whole is unreadable.
- It is pure: no database, no network, no clock.

``broadsheet.sources.files`` sniffs a file's format (plain, ``.gz`` or ``.tar.gz``) and
dispatches to the right parser.
"""
