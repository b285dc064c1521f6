"""`import lazarus.auto`: from here on, an uncaught exception is followed by its remedy.

Put it at the top of a training script, or in sitecustomize.py. It costs a few milliseconds:
the KB loads only when an exception arrives.
"""

from lazarus.integrations.hook import install

install()
