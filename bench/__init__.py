"""tongban's benchmark suite: ``tongban bench`` (or ``python -m bench.run``); see bench/README.md."""
