"""The validator: runs entries' snippets under torch in a sandbox and judges them."""
