"""Talking Modbus TCP to an Enovates charger: the connection, its link rules, frame headers and register decoding.

Nothing in here imports Home Assistant: this part speaks for the charger the way the vendor library `enovates-modbus`
does, and could move into it as one piece.
"""
