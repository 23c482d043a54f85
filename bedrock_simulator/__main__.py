"""`python -m bedrock_simulator`: the simulator alone, until Ctrl-C (--help for its settings)."""

from .simulator import main

main()
