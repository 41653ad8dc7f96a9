"""The scenarios: closed-loop baseline/hold/status measurements, and the ticket drop."""
