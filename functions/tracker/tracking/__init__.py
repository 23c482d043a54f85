"""Tracking of Amazon Bedrock async invocations: intake, sweeps, records and notifications."""
