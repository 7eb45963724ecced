"""What the polling tiers rely on besides the coordinators: map freshness, the outage repair, failure time stamps."""
