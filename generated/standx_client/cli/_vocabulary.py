# Copied from overlays/cli/_vocabulary.py by `make generate`. Do not edit here: edit overlays/cli/_vocabulary.py.
"""The names the spec's `x-standx-cli` may use: the everyday nouns, and the views and time windows the CLI has
code for (in _api.py, which checks it has code for each name).

generator/cli_table.py loads this file on its own (it imports nothing) and refuses a spec that names anything
else, so a command never points at behaviour the CLI does not have.
"""

# The everyday nouns, with their help; the spec files its commands under them.
NOUNS = {"market": "public market data", "account": "the signed-in account (needs credentials)"}

# view -> the fields of the answer it reads. A view that is not a plain table makes its own columns, except those
# in COLUMNS_OF, which show the spec's `columns` of the items of one field.
VIEWS: dict[str, tuple[str, ...]] = {
    "depth": ("bids", "asks"),
    "klines": ("t", "o", "h", "l", "c", "v"),
    "page": ("result",),
}
COLUMNS_OF = {"page": "result"}

# A window's `back` (how far back its start is when not given) -> the operation's arguments it reads (Python names).
BACKS: dict[str, tuple[str, ...]] = {"hours": (), "bars": ("resolution", "count_back")}
# A window's unit -> ticks per second.
UNITS = {"s": 1, "ms": 1000}
