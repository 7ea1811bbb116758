"""The planning core: what will be sent, how, and every decision a person took on the way (no Qt).

The GUI and the CLI are two faces over this package; neither re-implements a rule that lives here.
"""
