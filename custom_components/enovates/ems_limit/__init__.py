"""The one write path of the EMS limit: the write and its check, limits set for a while, and who set each limit.

Entities, actions and smart charging all write through here (timed.py); record.py follows what the charger holds.
"""
