"""The environment a user runs torch in: its facts (read from a pasted report or probed from an
interpreter) and the entries' `environment` checks evaluated against them (`lazarus env`)."""
