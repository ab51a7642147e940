"""A member's own research feed: their library of saved papers (``library``, ``bibimport``),
follows and mutes (``interests``, ``mutes``), the recommendation model, its evaluation and "For you",
personal digests and private feeds. One use-case module per part; the Hub delegates to them."""
