//! API calls that the demo, the story organisation and the synthetic organisation share, with
//! their request and response shapes: S3 object access, SQS polling, the routine calls of
//! workloads ([`Routine`]), `AssumeRole`, EBS snapshots, IAM user and role creation.
//!
//! Each function returns an [`ApiCall`] the caller may still adjust before `build`. Who calls
//! and when is decided elsewhere.

use crate::cloudtrail::{ApiCall, Caller, Role, aws_display_time};
use crate::rng::Rng;
use serde_json::json;

/// An S3 object data event (`GetObject`, `PutObject`, ...) on `bucket/key`, a bucket of the
/// caller's account, moving `bytes` (out for reads, in for writes) when the story's volumes
/// matter, or else (`None`) a typical object of 600 B to 4 MB.
#[allow(clippy::too_many_arguments)]
pub(crate) fn s3_object<'a>(
    caller: &'a Caller,
    time: i64,
    name: &'a str,
    region: &'a str,
    bucket: &str,
    key: &str,
    bytes: Option<i64>,
    rng: &mut Rng,
) -> ApiCall<'a> {
    let bytes = bytes.unwrap_or_else(|| rng.range(600, 4_000_000));
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

/// One of the routine calls a workload makes over and over, in the story organisation and in
/// the synthetic organisation alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routine {
    S3Get,
    S3Put,
    SqsReceive,
    SqsSend,
    SsmGetParameter,
    KmsDecrypt,
    GetSecretValue,
    DynamoDescribeTable,
    PutMetricData,
}

/// What a workload's routine calls touch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Workload<'a> {
    /// Region of its calls.
    pub(crate) region: &'a str,
    /// The account of its queue (its own).
    pub(crate) account: &'a str,
    /// Its bucket, in the caller's account.
    pub(crate) bucket: &'a str,
    /// Its queue, whose name also names its parameter, secret, table and metrics namespace.
    pub(crate) queue: &'a str,
}

/// One routine call of `action` by `workload`. S3 objects are keyed
/// `<queue>/<partition>/<random>.json`; `partition` is asked for only by S3 calls, so that it
/// may draw from `rng` without shifting the numbers of the other calls.
pub(crate) fn routine_call<'a>(
    action: Routine,
    caller: &'a Caller,
    time: i64,
    workload: Workload<'a>,
    partition: impl FnOnce(&mut Rng) -> String,
    rng: &mut Rng,
) -> ApiCall<'a> {
    let Workload { region, account, bucket, queue } = workload;
    let call = |service: &'a str, name: &'a str| ApiCall::new(caller, time, service, name).region(region);
    match action {
        Routine::S3Get | Routine::S3Put => {
            let name = if action == Routine::S3Get { "GetObject" } else { "PutObject" };
            let key = format!("{queue}/{}/{}.json", partition(rng), rng.hex(12));
            s3_object(caller, time, name, region, bucket, &key, None, rng)
        }
        Routine::SqsReceive => sqs_receive(caller, time, region, account, queue),
        Routine::SqsSend => call("sqs", "SendMessage").request(json!({
            "queueUrl": format!("https://sqs.{region}.amazonaws.com/{account}/{queue}"),
        })),
        Routine::SsmGetParameter => {
            call("ssm", "GetParameter").request(json!({"name": format!("/{queue}/config"), "withDecryption": true}))
        }
        Routine::KmsDecrypt => call("kms", "Decrypt").request(json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"})),
        Routine::GetSecretValue => {
            call("secretsmanager", "GetSecretValue").request(json!({"secretId": format!("{queue}/credentials")}))
        }
        Routine::DynamoDescribeTable => call("dynamodb", "DescribeTable").request(json!({"tableName": queue})),
        Routine::PutMetricData => {
            call("monitoring", "PutMetricData").request(json!({"namespace": format!("Custom/{queue}")}))
        }
    }
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

/// IAM `CreateUser` of `user`, given unique id `user_id`, in the caller's account.
pub(crate) fn create_user<'a>(caller: &'a Caller, time: i64, user: &str, user_id: &str) -> ApiCall<'a> {
    ApiCall::new(caller, time, "iam", "CreateUser").request(json!({"userName": user})).response(json!({"user": {
        "path": "/",
        "userName": user,
        "userId": user_id,
        "arn": format!("arn:aws:iam::{}:user/{user}", caller.account),
        "createDate": aws_display_time(time),
    }}))
}

/// IAM `CreateAccessKey` handing out active key `key_id` to `user`.
pub(crate) fn create_access_key<'a>(caller: &'a Caller, time: i64, user: &str, key_id: &str) -> ApiCall<'a> {
    ApiCall::new(caller, time, "iam", "CreateAccessKey").request(json!({"userName": user})).response(json!({
        "accessKey": {
            "userName": user,
            "accessKeyId": key_id,
            "status": "Active",
            "createDate": aws_display_time(time),
        }
    }))
}

/// IAM `CreateLoginProfile`: a console password for `user`, to be changed at first sign-in when
/// `reset_required`.
pub(crate) fn create_login_profile<'a>(caller: &'a Caller, time: i64, user: &str, reset_required: bool) -> ApiCall<'a> {
    ApiCall::new(caller, time, "iam", "CreateLoginProfile")
        .request(json!({"userName": user, "passwordResetRequired": reset_required}))
        .response(json!({"loginProfile": {
            "userName": user,
            "createDate": aws_display_time(time),
            "passwordResetRequired": reset_required,
        }}))
}
