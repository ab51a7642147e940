"""A member's own research feed: library, follows and mutes, recommendations, alerts (use cases
the Hub delegates to, one line each)."""
