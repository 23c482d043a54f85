"""The product run on this machine: AWS's services on moto's server behind a proxy that models what AWS does and moto
does not (localrun.stack, localrun.aws_proxy), the Lambda service's part (localrun.lambda_driver, localrun.invoke), the
template's settings (localrun.template), and `make demo` / `make stack` (localrun.demo, localrun.serve). Bedrock is the
simulator's (the bedrock_simulator package)."""
