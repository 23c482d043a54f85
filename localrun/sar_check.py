"""What the Serverless Application Repository would refuse, found offline before `make publish` sends anything.

    python -m localrun.sar_check [TEMPLATE] [--region R] [--source-code-url URL]   # exits 1, naming each refusal
    python -m localrun.sar_check --record [--region R]    # after `sam publish`: its version is used in that Region

It refuses a resource type SAR does not publish (in the template or in SAM's translation of it), a transform other
than SAM's, application metadata SAR refuses (a required field missing or malformed, an intrinsic function, a
LicenseUrl or ReadmeUrl that names no file beside the template), and a SemanticVersion already published in the
Region: SAR keeps every version of an application and takes each only once. The versions published are recorded in
PUBLISHED (`make publish` appends to it after `sam publish` succeeds; commit it), one line per version and Region.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localrun import template

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "sar-published.txt"
METADATA = "AWS::ServerlessRepo::Application"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# "List of Supported AWS Resources", SAR Developer Guide (docs.aws.amazon.com/serverlessrepo/latest/devguide/
# list-supported-resources.html; awsdocs/aws-serverlessrepo-developer-guide, doc_source/list-supported-resources.md,
# commit 83c2822): "the complete list of AWS resources that are supported". SAR refuses a template with any other
# ("The template contains unsupported resource types"); among those not here: AWS::Scheduler::Schedule,
# AWS::Pipes::Pipe, AWS::Events::EventBus, AWS::CloudWatch::CompositeAlarm, AWS::Serverless::Connector.
SUPPORTED_TYPES = frozenset(
    """
    AWS::AccessAnalyzer::Analyzer AWS::ApiGateway::ApiKey AWS::ApiGateway::Authorizer
    AWS::ApiGateway::BasePathMapping AWS::ApiGateway::ClientCertificate AWS::ApiGateway::Deployment
    AWS::ApiGateway::DocumentationPart AWS::ApiGateway::DocumentationVersion AWS::ApiGateway::DomainName
    AWS::ApiGateway::GatewayResponse AWS::EC2::SecurityGroup AWS::ApiGateway::Method AWS::ApiGateway::Model
    AWS::ApiGateway::RequestValidator AWS::ApiGateway::Resource AWS::ApiGateway::RestApi AWS::ApiGateway::Stage
    AWS::ApiGateway::UsagePlan AWS::ApiGateway::UsagePlanKey AWS::ApiGateway::VpcLink AWS::ApiGatewayV2::Api
    AWS::ApiGatewayV2::ApiMapping AWS::ApiGatewayV2::Authorizer AWS::ApiGatewayV2::DomainName
    AWS::ApiGatewayV2::Deployment AWS::ApiGatewayV2::Integration AWS::ApiGatewayV2::IntegrationResponse
    AWS::ApiGatewayV2::Model AWS::ApiGatewayV2::Route AWS::ApiGatewayV2::RouteResponse AWS::ApiGatewayV2::Stage
    AWS::AppSync::ApiKey AWS::AppSync::DataSource AWS::AppSync::GraphQLApi AWS::AppSync::GraphQLSchema
    AWS::AppSync::Resolver AWS::ApplicationAutoScaling::ScalableTarget AWS::ApplicationAutoScaling::ScalingPolicy
    AWS::Athena::NamedQuery AWS::CertificateManager::Certificate AWS::CloudFormation::CustomResource
    AWS::CloudFormation::Interface AWS::CloudFormation::Macro AWS::CloudFormation::WaitConditionHandle
    AWS::CloudFront::CloudFrontOriginAccessIdentity AWS::CloudFront::Distribution
    AWS::CloudFront::StreamingDistribution AWS::CloudTrail::Trail AWS::CloudWatch::Alarm
    AWS::CloudWatch::AnomalyDetector AWS::CloudWatch::Dashboard AWS::CloudWatch::InsightRule
    AWS::CodeBuild::Project AWS::CodeCommit::Repository AWS::CodePipeline::CustomActionType
    AWS::CodePipeline::Pipeline AWS::CodePipeline::Webhook AWS::Cognito::IdentityPool
    AWS::Cognito::IdentityPoolRoleAttachment AWS::Cognito::UserPool AWS::Cognito::UserPoolClient
    AWS::Cognito::UserPoolDomain AWS::Cognito::UserPoolGroup AWS::Cognito::UserPoolResourceServer
    AWS::Cognito::UserPoolUser AWS::Cognito::UserPoolUserToGroupAttachment AWS::Config::AggregationAuthorization
    AWS::Config::ConfigRule AWS::Config::ConfigurationAggregator AWS::Config::ConfigurationRecorder
    AWS::Config::DeliveryChannel AWS::Config::RemediationConfiguration AWS::DataPipeline::Pipeline
    AWS::DynamoDB::Table AWS::ECR::Repository AWS::Elasticsearch::Domain AWS::Events::EventBusPolicy
    AWS::Events::Rule AWS::EventSchemas::Discoverer AWS::EventSchemas::Registry AWS::EventSchemas::Schema
    AWS::Glue::Classifier AWS::Glue::Connection AWS::Glue::Crawler AWS::Glue::Database AWS::Glue::DevEndpoint
    AWS::Glue::Job AWS::Glue::Partition AWS::Glue::Table AWS::Glue::Trigger AWS::IAM::Group
    AWS::IAM::InstanceProfile AWS::IAM::ManagedPolicy AWS::IAM::Policy AWS::IAM::Role AWS::IoT::Certificate
    AWS::IoT::Policy AWS::IoT::PolicyPrincipalAttachment AWS::IoT::Thing AWS::IoT::ThingPrincipalAttachment
    AWS::IoT::TopicRule AWS::KMS::Alias AWS::KMS::Key AWS::Kinesis::Stream AWS::Kinesis::StreamConsumer
    AWS::Kinesis::Streams AWS::KinesisAnalytics::Application AWS::KinesisAnalytics::ApplicationOutput
    AWS::KinesisFirehose::DeliveryStream AWS::Lambda::Alias AWS::Lambda::EventInvokeConfig
    AWS::Lambda::EventSourceMapping AWS::Lambda::Function AWS::Lambda::LayerVersion
    AWS::Lambda::LayerVersionPermission AWS::Lambda::Permission AWS::Lambda::Version AWS::Logs::Destination
    AWS::Logs::LogGroup AWS::Logs::LogStream AWS::Logs::MetricFilter AWS::Logs::SubscriptionFilter
    AWS::Route53::HealthCheck AWS::Route53::HostedZone AWS::Route53::RecordSet AWS::Route53::RecordSetGroup
    AWS::S3::Bucket AWS::S3::BucketPolicy AWS::SNS::Subscription AWS::SNS::Topic AWS::SNS::TopicPolicy
    AWS::SQS::Queue AWS::SQS::QueuePolicy AWS::SSM::Association AWS::SSM::Document AWS::SSM::MaintenanceWindowTask
    AWS::SSM::Parameter AWS::SSM::PatchBaseline AWS::SSM::ResourceDataSync AWS::Serverless::Api
    AWS::Serverless::Application AWS::Serverless::Function AWS::Serverless::HttpApi AWS::Serverless::LayerVersion
    AWS::Serverless::SimpleTable AWS::Serverless::StateMachine AWS::StepFunctions::Activity
    AWS::StepFunctions::StateMachine
    """.split()  # noqa: SIM905 - the guide's list, kept readable as a block
)

# The metadata's fields as SAR takes them (AWS SAM Developer Guide, "AWS SAM template Metadata section
# properties"; SAR's CreateApplication): (required, pattern of the whole value).
FIELDS: dict[str, tuple[bool, str]] = {
    "Name": (True, r"[a-zA-Z0-9\-]{1,140}"),
    "Description": (True, r"(?s).{1,256}"),
    "Author": (True, r"(?=.{1,127}$)[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?"),
    "SpdxLicenseId": (False, r"[A-Za-z0-9.+-]+"),
    "LicenseUrl": (True, r".+"),  # optional for SAR, but an application without one cannot be shared publicly
    "ReadmeUrl": (True, r".+"),
    # SemVer 2.0.0 (semver.org's own grammar): no empty identifier, no leading zero in a numeric pre-release one.
    "SemanticVersion": (
        True,
        r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
        r"(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
        r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?",
    ),
    "HomePageUrl": (False, r"https?://\S+"),
    "SourceCodeUrl": (False, r"https?://\S+"),
}
LABEL = r"[a-zA-Z0-9+\-_:/@]{1,127}"
FILE_LIMIT = 5 * 1024 * 1024  # LicenseUrl and ReadmeUrl: 5 MB at most


def refusals(path: Path, *, region: str, published: Path = PUBLISHED, source_code_url: str | None = None) -> list[str]:
    """Every reason SAR would refuse to publish the template at `path` in `region`; empty if none."""
    document = template.load(path)
    found = _transform(document) + _metadata(document, path.parent, source_code_url)
    found += _resource_types(document)
    version = _application(document).get("SemanticVersion")
    if isinstance(version, str) and (version, region) in published_versions(published):
        found.append(f"SemanticVersion {version} is already published in {region} ({published.name}): raise it")
    return found


def published_versions(published: Path = PUBLISHED) -> set[tuple[str, str]]:
    """(version, Region) of every publish recorded; a line is `VERSION REGION WHEN`, `#` starts a comment."""
    if not published.exists():
        return set()
    lines = (line.split("#", 1)[0].split() for line in published.read_text().splitlines())
    return {(fields[0], fields[1]) for fields in lines if len(fields) >= 2}


def record(path: Path, *, region: str, published: Path = PUBLISHED, now: datetime | None = None) -> str:
    """Appends the template's version as published in `region`; returns the line written."""
    version = str(_application(template.load(path))["SemanticVersion"])
    line = f"{version} {region} {(now or datetime.now(UTC)).strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
    with published.open("a") as out:
        out.write(line)
    return line


def _application(document: dict[str, Any]) -> dict[str, Any]:
    application = (document.get("Metadata") or {}).get(METADATA)
    return application if isinstance(application, dict) else {}


def _transform(document: dict[str, Any]) -> list[str]:
    transform = document.get("Transform")
    if transform in (SAM_TRANSFORM, [SAM_TRANSFORM]):
        return []
    return [f"Transform must be {SAM_TRANSFORM} alone (SAR takes no other), not {transform!r}"]


def _metadata(document: dict[str, Any], folder: Path, source_code_url: str | None) -> list[str]:
    if METADATA not in (document.get("Metadata") or {}):
        return [f"the template's Metadata has no {METADATA}: SAR has nothing to publish"]
    application = dict(_application(document))
    if source_code_url is not None:  # what `make publish` will add to the built template
        application = {"HomePageUrl": source_code_url, "SourceCodeUrl": source_code_url, **application}
    found = []
    for name, value in application.items():
        if isinstance(value, dict):
            found.append(f"{METADATA}.{name} is an intrinsic function ({', '.join(value)}); SAR takes none")
    for name, (required, pattern) in FIELDS.items():
        value = application.get(name)
        if value is None:
            if required:
                found.append(f"{METADATA}.{name} is missing")
        elif not isinstance(value, (str, dict)):  # YAML read it as a number (quote it); a dict is refused above
            found.append(f"{METADATA}.{name} {value!r} is a {type(value).__name__}, not the string SAR takes")
        elif isinstance(value, str) and not re.fullmatch(pattern, value):
            found.append(f"{METADATA}.{name} {value!r} is not what SAR takes ({pattern})")
    labels = application.get("Labels", [])
    if not isinstance(labels, list) or len(labels) > 10:
        found.append(f"{METADATA}.Labels must be a list of at most 10 labels")
    else:
        found += [f"{METADATA}.Labels: {label!r} is not a label SAR takes" for label in labels if not _label(label)]
    for name in ("LicenseUrl", "ReadmeUrl"):
        found += _packaged_file(name, application.get(name), folder)
    return found


def _label(label: Any) -> bool:
    return isinstance(label, str) and re.fullmatch(LABEL, label) is not None


def _packaged_file(name: str, value: Any, folder: Path) -> list[str]:
    """`sam package` uploads a local file the metadata names; after it, the value is an S3 URI."""
    if not isinstance(value, str) or value.startswith("s3://"):
        return []
    file = folder / value
    if not file.is_file():
        return [f"{METADATA}.{name} names {value}, and there is no such file beside the template"]
    if file.stat().st_size == 0 or file.stat().st_size > FILE_LIMIT:
        return [f"{METADATA}.{name}: {value} must hold between 1 byte and 5 MB"]
    return []


def _resource_types(document: dict[str, Any]) -> list[str]:
    found = [
        f"{name}: SAR does not publish {resource.get('Type')}"
        for name, resource in document.get("Resources", {}).items()
        if resource.get("Type") not in SUPPORTED_TYPES
    ]
    if found or _transform(document):
        return found  # SAM's translation of such a template says nothing more
    nested = {  # SAR deploys an AWS::Serverless::Application as the stack SAM makes of it
        name for name, resource in document["Resources"].items() if resource["Type"] == "AWS::Serverless::Application"
    }
    translated = template.translate(document)["Resources"]
    return [
        f"{name} (SAM's translation): SAR does not publish {resource['Type']}"
        for name, resource in translated.items()
        if resource["Type"] not in SUPPORTED_TYPES
        and not (name in nested and resource["Type"] == "AWS::CloudFormation::Stack")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", type=Path, default=template.TEMPLATE)
    parser.add_argument("--region", default="us-east-1", help="the Region it is published in")
    parser.add_argument("--published", type=Path, default=PUBLISHED, help="the record of published versions")
    parser.add_argument("--source-code-url", help="the SourceCodeUrl (and HomePageUrl) the publish adds")
    parser.add_argument("--record", action="store_true", help="record the template's version as published")
    args = parser.parse_args(argv)
    if args.record:
        print(
            f"recorded in {args.published.name}: {record(args.template, region=args.region, published=args.published)}",
            end="",
        )
        return 0
    found = refusals(args.template, region=args.region, published=args.published, source_code_url=args.source_code_url)
    for reason in found:
        print(f"SAR would refuse: {reason}", file=sys.stderr)
    if found:
        print(f"{args.template}: not published ({len(found)} reasons above); nothing was sent", file=sys.stderr)
        return 1
    print(f"{args.template}: SAR would take it in {args.region}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
