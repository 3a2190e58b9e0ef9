//! API calls that both the demo story and the synthetic organisation make, with their
//! request and response shapes: S3 object access, SQS polling, `AssumeRole`, EBS snapshots.
//!
//! Each function returns an [`ApiCall`] the caller may still adjust before `build`. Who calls
//! and when is decided elsewhere.

use crate::cloudtrail::{ApiCall, Caller, Role, aws_display_time};
use crate::rng::Rng;
use serde_json::json;

/// An S3 object data event (`GetObject`, `PutObject`, ...) on `bucket/key`, a bucket of the
/// caller's account.
pub(crate) fn s3_object<'a>(
    caller: &'a Caller,
    time: i64,
    name: &'a str,
    region: &'a str,
    bucket: &str,
    key: &str,
    rng: &mut Rng,
) -> ApiCall<'a> {
    let bytes = rng.range(600, 4_000_000);
    s3_object_sized(caller, time, name, region, bucket, key, bytes, rng)
}

/// [`s3_object`] moving exactly `bytes` (out for reads, in for writes): for stories whose
/// volumes matter.
#[allow(clippy::too_many_arguments)]
pub(crate) fn s3_object_sized<'a>(
    caller: &'a Caller,
    time: i64,
    name: &'a str,
    region: &'a str,
    bucket: &str,
    key: &str,
    bytes: i64,
    rng: &mut Rng,
) -> ApiCall<'a> {
    let (bytes_in, bytes_out) = if name == "PutObject" { (bytes, 0) } else { (0, bytes) };
    ApiCall::new(caller, time, "s3", name)
        .region(region)
        .request(json!({
            "bucketName": bucket,
            "Host": format!("{bucket}.s3.{region}.amazonaws.com"),
            "key": key,
        }))
        .additional(json!({
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": rng.hex(24),
            "bytesTransferredOut": bytes_out,
        }))
        .resources(json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
            {"accountId": caller.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
        ]))
}

/// An SQS `ReceiveMessage` long poll on `queue` in `account`.
pub(crate) fn sqs_receive<'a>(
    caller: &'a Caller,
    time: i64,
    region: &'a str,
    account: &str,
    queue: &str,
) -> ApiCall<'a> {
    ApiCall::new(caller, time, "sqs", "ReceiveMessage")
        .region(region)
        .request(json!({
            "queueUrl": format!("https://sqs.{region}.amazonaws.com/{account}/{queue}"),
            "maxNumberOfMessages": 10,
            "waitTimeSeconds": 20,
            "attributeNames": ["All"],
        }))
        .resources(json!([{
            "accountId": account,
            "type": "AWS::SQS::Queue",
            "ARN": format!("arn:aws:sqs:{region}:{account}:{queue}"),
        }]))
}

/// An STS `AssumeRole` (or `AssumeRoleWithWebIdentity` when `web` carries the subject and
/// provider ARN) handing out `new_key` for `role` session `session`, valid `duration_secs`.
pub(crate) fn assume_role<'a>(
    caller: &'a Caller,
    time: i64,
    role: &Role,
    session: &str,
    new_key: &str,
    duration_secs: i64,
    web: Option<(&str, &str)>,
) -> ApiCall<'a> {
    let name = if web.is_some() { "AssumeRoleWithWebIdentity" } else { "AssumeRole" };
    let mut request = json!({
        "roleArn": role.arn(),
        "roleSessionName": session,
    });
    let mut response = json!({
        "credentials": {
            "accessKeyId": new_key,
            "expiration": aws_display_time(time + duration_secs),
        },
        "assumedRoleUser": {
            "assumedRoleId": format!("{}:{}", role.principal_id, session),
            "arn": role.session_arn(session),
        },
    });
    if let Some((subject, provider)) = web {
        request["durationSeconds"] = json!(duration_secs);
        response["subjectFromWebIdentityToken"] = json!(subject);
        response["provider"] = json!(provider);
        response["audience"] = json!("sts.amazonaws.com");
    }
    ApiCall::new(caller, time, "sts", name).request(request).response(response).recipient(&role.account).resources(
        json!([{
            "accountId": role.account,
            "type": "AWS::IAM::Role",
            "ARN": role.arn(),
        }]),
    )
}

/// EC2 `CreateSnapshot` of `volume` producing `snapshot`, owned by the caller's account.
pub(crate) fn create_snapshot<'a>(
    caller: &'a Caller,
    time: i64,
    region: &'a str,
    volume: &str,
    snapshot: &str,
    description: &str,
    rng: &mut Rng,
) -> ApiCall<'a> {
    let size = *rng.pick(&[20_u32, 50, 100, 200, 500]);
    ApiCall::new(caller, time, "ec2", "CreateSnapshot")
        .region(region)
        .request(json!({
            "volumeId": volume,
            "description": description,
        }))
        .response(json!({
            "requestId": rng.uuid(),
            "snapshotId": snapshot,
            "volumeId": volume,
            "status": "pending",
            "startTime": time * 1000,
            "progress": "",
            "ownerId": caller.account,
            "description": description,
            "volumeSize": size,
            "encrypted": false,
        }))
}

/// EC2 `ModifySnapshotAttribute` adding `share_with` to the create-volume permission of
/// `snapshot`: the way an EBS snapshot is shared with another account.
pub(crate) fn share_snapshot<'a>(
    caller: &'a Caller,
    time: i64,
    region: &'a str,
    snapshot: &str,
    share_with: &str,
    rng: &mut Rng,
) -> ApiCall<'a> {
    ApiCall::new(caller, time, "ec2", "ModifySnapshotAttribute")
        .region(region)
        .request(json!({
            "snapshotId": snapshot,
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"userId": share_with}]}},
        }))
        .response(json!({"requestId": rng.uuid(), "_return": true}))
}
