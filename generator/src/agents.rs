//! User agents that the generated identities send, as they appear in real CloudTrail records.
//!
//! Shared by the demo, the story organisation and the synthetic organisation so all speak the
//! same versions. The attacker's agent is public (`demo::ATTACKER_USER_AGENT`) and lives with
//! the demo.

/// AWS CLI v2 on a GitHub-hosted Ubuntu runner; the CLI appends ` command/<service>.<op>`.
pub(crate) const AWS_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off";
/// [`AWS_CLI`] running `command` (`<service>.<operation>`, as in `s3.cp`).
pub(crate) fn aws_cli_command(command: &str) -> String {
    format!("{AWS_CLI} command/{command}")
}

/// [`AWS_CLI`] copying to S3.
pub(crate) const AWS_CLI_S3_CP: &str =
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/s3.cp";
/// The Docker client pushing to ECR.
pub(crate) const DOCKER: &str = "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.5.0-1016-azure os/linux arch/amd64 UpstreamClient(Docker-Client/24.0.7 \\(linux\\))";
/// The `configure-aws-credentials` GitHub action exchanging its OIDC token.
pub(crate) const GITHUB_CREDENTIALS: &str = "aws-sdk-js/3.540.0 ua/2.0 os/linux#6.5.0-1017-azure lang/js md/nodejs#20.11.1 api/sts#3.540.0 configure-aws-credentials-for-github-actions";
/// AWS SDK for Java v2 on Amazon Linux 2.
pub(crate) const JAVA_SDK: &str = "aws-sdk-java/2.25.10 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy";
/// Boto3 outside Lambda.
pub(crate) const BOTO: &str = "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209-219.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34";
/// Boto3 inside a Python 3.12 Lambda function.
pub(crate) const LAMBDA_BOTO: &str = "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209-219.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.34";
/// AWS SDK for Go v2 (EKS workloads).
pub(crate) const GO_SDK: &str =
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.1";
/// Terraform's AWS provider.
pub(crate) const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1";
/// Chrome on macOS (console).
pub(crate) const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
/// Edge on Windows (console).
pub(crate) const EDGE_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0";
/// Firefox on Ubuntu (console).
pub(crate) const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0";
/// The browsers people use on the console.
pub(crate) const BROWSERS: [&str; 3] = [CHROME_MAC, EDGE_WINDOWS, FIREFOX_LINUX];
