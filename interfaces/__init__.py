"""Ways in: the JSON API (http), the web pages (web) and the command line (cli)."""
