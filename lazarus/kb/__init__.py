"""The knowledge base: loading and checking entry files, and the validator's records."""
