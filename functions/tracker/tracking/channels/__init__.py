"""The channels an ending goes out on, a module each, all of one shape (channel.Channel): topic.py (the SNS topic,
always), bus.py (the EventBridge bus, when one is named) and callback.py (each workflow waiting on the job).

A channel sends an ending, says how a refusal of it classifies, and counts what it did; the record keeps its state
under its name (records.SENT_FIELDS; a callback under its own key, records.callback_key), and the lifecycle sends
each channel still pending under one lease. Adding a channel is a module here, its fields in records.SENT_FIELDS,
and the line in runtime.py that builds it."""
