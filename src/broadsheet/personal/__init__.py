"""A member's own research feed: library, follows and mutes, For you recommendations, personal
digests and private feeds. One use-case module per part; the Hub delegates to them."""
