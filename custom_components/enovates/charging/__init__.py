"""What the readings mean for a charge: the charger's status, and the charging sessions."""
