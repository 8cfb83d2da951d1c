# `python -m hub` must find every command, and only the composition root knows every
# package: this entry point is the one module of hub/ that imports it (the structure
# test exempts it).
from wiring import main

main()
