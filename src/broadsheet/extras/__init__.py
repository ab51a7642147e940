"""What Broadsheet adds to the papers itself: thumbnails (``thumbnails``), extracted keywords
(``keywords``), one-line summaries (``summaries``), GitHub stars (``github``), trend charts
(``trends``), and the background thread that makes them (``background``). The Hub's methods for
these are one-liners into here."""
