"""The query-string parameters the list pages own."""

CURSOR_VAR = "p"  # the page token (Django's ChangeList strips ``p`` from filters too)
SEARCH_VAR = "q"
