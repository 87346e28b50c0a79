"""The web pages, one router per area."""
