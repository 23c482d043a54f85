"""The channels an ending goes out on, a module each, all of one shape (channel.Channel): topic.py (the SNS topic,
always) and bus.py (the EventBridge bus, when one is named).

A channel sends an ending, says how a refusal of it classifies, and counts what it did; the record keeps its state
under its name (records.SENT_FIELDS), and the lifecycle sends each channel still pending under one lease. Adding a
channel is a module here, its fields in records.SENT_FIELDS, and the line in runtime.py that builds it."""
