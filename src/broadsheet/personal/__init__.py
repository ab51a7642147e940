"""A member's own research feed: the recommendation model, its evaluation, and "For you"."""
