"""The bedrock-tracker command-line tool."""
