"""Where errors happen: `lazarus run`, the exception hook, IPython and pytest."""
