"""Errors that end a command with one line on stderr and exit 2; raised anywhere, shown by the CLI."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user (an option, a path, an id): printed as one line, exit 2."""


class InputError(UsageError):
    """Input lazarus cannot read: the message names the input and what is wrong."""
