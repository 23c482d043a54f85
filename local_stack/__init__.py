"""Everything that runs the product on one machine: the Bedrock simulator, moto, the Lambda driver, the demo."""
