"""Pictures made on the server: a paper's first PDF page (``render``), the card that stands in when
there is no PDF (``card``), and trend charts (``chart``). Pure functions: bytes or numbers in, image
bytes or SVG text out; nothing here fetches or stores."""
