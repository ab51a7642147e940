"""A member's own research feed: their library of saved papers (``library``, ``bibimport``),
follows and mutes, recommendations and personal digests. Use-case modules under the Hub."""
