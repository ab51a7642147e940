"""Email digests: ``compose`` (pure: which papers a subscriber gets for a period), ``render``
(the email, from templates), ``deliver`` (the SMTP edge and the outbox loop), ``tokens`` (signed
links for confirming and unsubscribing). The Hub ties them together (``Hub.send_digests``).
"""
