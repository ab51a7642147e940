"""Live sources: fetch from the arXiv export API, arXiv OAI-PMH and the Hugging Face daily papers API.

Each sync is a loop of *fetch a page → parse it whole → store it → decide what comes next*:

- ``http.HttpEdge`` is the only code that touches the network (httpx): pacing (one request per
  ``delay`` seconds), User-Agent, retries of resets, timeouts, 5xx and truncated bodies, and
  ``Retry-After``. The parsers in ``broadsheet.sources`` read what it fetched.
- ``arxiv``, ``oai`` and ``hf`` hold each source's loop; what the next request is, whether to
  retry and when to stop are small pure functions beside them.
- Storing goes through a callable the Hub passes in (``Hub.add_papers`` underneath), one page at
  a time: a page that cannot be read whole is retried, never stored in part.

The Hub's ``sync_arxiv`` / ``sync_oai`` / ``sync_hf_daily`` / ``fetch_arxiv_paper`` are the entry
points (the CLI's ``broadsheet sync ...`` and a scheduler call those).
"""
