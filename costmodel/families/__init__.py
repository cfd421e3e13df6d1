"""Model families: each a frozen config dataclass and an expander to a ``Network``."""
