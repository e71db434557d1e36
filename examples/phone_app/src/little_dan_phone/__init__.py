"""Little Dan on a phone: a BeeWare Toga app over edge_dan's public API (README.md one up)."""
