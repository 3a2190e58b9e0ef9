//! Bad input never stops a replay nor costs the good records around it (issue 3, item 4).
//!
//! Each malformed case sits between records that must still alert: a CloudTrail
//! `StopLogging` before and after it, from an IAM user with a long-lived key; for the other
//! clouds, a service account key created, a disk exported, an exec by a service account.

use flate2::write::GzEncoder;
use nhiwatch_cli::replay::{ReplayOptions, replay};
use nhiwatch_detect::EngineConfig;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

fn record(id: &str, ip: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2026-03-14T02:{m:02}:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.9.0","requestParameters":{{"name":"org-trail"}},"eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111111111111","userIdentity":{{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111111111111:user/u-{id}","accountId":"111111111111","accessKeyId":"AKIAAAAAAAAAAAAAAAAA","userName":"u-{id}"}}}}"#,
        m = id.bytes().map(u32::from).sum::<u32>() % 60
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory gzip")
}

/// Replays a directory with the built-in pack; returns the report and what went to stderr.
fn replay_dir(dir: &Path) -> (nhiwatch_cli::replay::ReplayReport, String) {
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths: vec![dir.to_path_buf()], ..ReplayOptions::default() };
    let mut diagnostics = Vec::new();
    let report = replay(&opts, pack, EngineConfig::default(), &mut diagnostics).expect("replay runs");
    (report, String::from_utf8_lossy(&diagnostics).into_owned())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write fixture");
}

#[test]
fn every_malformed_case_is_reported_and_the_good_records_still_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // 1. truncated gzip of a {"Records": [...]} file: the first records survive.
    let many: Vec<String> = (0..300).map(|i| record(&format!("gz{i:03}"), "198.51.100.7")).collect();
    let gz = gzip(format!(r#"{{"Records":[{}]}}"#, many.join(",")).as_bytes());
    write(d, "truncated.json.gz", &gz[..gz.len() / 2]);
    // 2. a non-JSON line, 3. missing eventTime, 4. missing eventName, 5. wrong type,
    // 6. non-UTF-8 bytes, 7. a 10 MB line, 8. zero-padded IP (kept and repaired).
    let mut lines: Vec<u8> = Vec::new();
    let mut push = |bytes: &[u8]| {
        lines.extend_from_slice(bytes);
        lines.push(b'\n');
    };
    push(record("before", "198.51.100.7").as_bytes());
    push(b"this is not json");
    push(br#"{"eventName":"StopLogging","eventID":"no-time"}"#);
    push(br#"{"eventTime":"2026-03-14T02:00:00Z","eventID":"no-name"}"#);
    push(br#"{"eventTime":"2026-03-14T02:00:00Z","eventName":["StopLogging"],"eventID":"wrong-type"}"#);
    push(b"{\"eventTime\":\"2026-03-14T02:00:00Z\",\"eventName\":\"StopLogging\",\"userAgent\":\"\xff\xfe\"}");
    push(
        format!(r#"{{"eventTime":"2026-03-14T02:00:00Z","eventName":"X","pad":"{}"}}"#, "x".repeat(10 << 20))
            .as_bytes(),
    );
    push(record("padded", "075.050.255.067").as_bytes());
    push(record("after", "198.51.100.7").as_bytes());
    write(d, "mixed.jsonl", &lines);

    let (report, diagnostics) = replay_dir(d);

    let alerted: Vec<String> =
        report.alerts.iter().flat_map(|a| a.evidence.iter().map(|e| e.event_id().to_string())).collect();
    for id in ["gz000", "gz001", "before", "padded", "after"] {
        assert!(alerted.contains(&id.to_string()), "record {id} must still alert; alerted: {alerted:?}");
    }
    let bad = &report.summary.bad_by_reason;
    for (reason, n) in [
        ("truncated", 1),
        ("invalid_json", 1),
        ("missing_field", 2),
        ("wrong_type", 1),
        ("invalid_utf8", 1),
        ("too_large", 1),
    ] {
        assert_eq!(bad.get(reason).copied(), Some(n), "{reason} in {bad:?}\n{diagnostics}");
    }
    assert_eq!(report.summary.notes.get("zero_padded_ip").copied(), Some(1));
    // Every report names the file and the line (or record) and the reason.
    for needle in [
        "mixed.jsonl:2: invalid_json",
        "mixed.jsonl:3: missing_field",
        "'eventTime'",
        "mixed.jsonl:5: wrong_type",
        "'eventName'",
        "mixed.jsonl:6: invalid_utf8",
        "mixed.jsonl:7: too_large",
        "truncated.json.gz record 0: truncated",
    ] {
        assert!(diagnostics.contains(needle), "missing '{needle}' in:\n{diagnostics}");
    }
    let padded =
        report.alerts.iter().flat_map(|a| &a.evidence).find(|e| e.event_id() == "padded").expect("padded alerted");
    assert_eq!(padded.source_ip(), "75.50.255.67");
}

#[test]
fn strict_mode_makes_a_bad_record_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "bad.jsonl", format!("{}\nnot json\n", record("a", "198.51.100.7")).as_bytes());
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths: vec![dir.path().to_path_buf()], strict: true, ..ReplayOptions::default() };
    let err = replay(&opts, pack, EngineConfig::default(), &mut Vec::new()).expect_err("strict fails");
    assert!(err.to_string().contains("bad.jsonl:2"), "{err}");
}

#[test]
fn a_missing_path_is_an_error() {
    let pack = Arc::new(nhiwatch_cli::pack::load_pack(&[]).expect("built-in pack"));
    let opts = ReplayOptions { paths: vec!["/nonexistent/cloudtrail".into()], ..ReplayOptions::default() };
    let err = replay(&opts, pack, EngineConfig::default(), &mut Vec::new()).expect_err("missing path");
    assert!(err.to_string().contains("/nonexistent/cloudtrail"), "{err}");
}

/// One bad record of each kind per decoder (GCP, Azure, Kubernetes), each between good records
/// that must still alert; every report names the file, the line and the field.
#[test]
fn other_clouds_malformed_records_are_located_and_cost_nothing_around_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let gcp = |id: &str, minute: u32| {
        format!(
            r#"{{"insertId":"{id}","timestamp":"2026-03-14T03:{minute:02}:00Z","resource":{{"labels":{{"project_id":"prod-app-123"}}}},"protoPayload":{{"serviceName":"iam.googleapis.com","methodName":"google.iam.admin.v1.CreateServiceAccountKey","authenticationInfo":{{"principalEmail":"svc-ci@prod-app-123.iam.gserviceaccount.com"}},"requestMetadata":{{"callerIp":"185.220.101.47"}},"request":{{"name":"projects/-/serviceAccounts/{id}@prod-app-123.iam.gserviceaccount.com"}}}}}}"#
        )
    };
    let gcp_lines = [
        gcp("gcp-before", 1),
        // methodName of the wrong type (an object); no timestamp at all; a timestamp that is not one;
        // status code of the wrong type; a truncated record.
        r#"{"insertId":"x1","timestamp":"2026-03-14T03:02:00Z","protoPayload":{"methodName":{"name":"x"}}}"#.to_string(),
        r#"{"insertId":"x2","protoPayload":{"methodName":"storage.objects.get"}}"#.to_string(),
        r#"{"insertId":"x3","timestamp":"yesterday","protoPayload":{"methodName":"storage.objects.get"}}"#.to_string(),
        r#"{"insertId":"x4","timestamp":"2026-03-14T03:02:00Z","protoPayload":{"methodName":"a","status":{"code":[7]}}}"#
            .to_string(),
        r#"{"insertId":"x5","timestamp":"2026-03-14T03:02:00Z","protoPayload":{"methodName":"#.to_string(),
        gcp("gcp-after", 9),
    ];
    write(d, "gcp.jsonl", gcp_lines.join("\n").as_bytes());

    let azure = |id: &str, minute: u32| {
        format!(
            r#"{{"time":"2026-03-14T03:{minute:02}:00Z","eventDataId":"{id}","resourceId":"/subscriptions/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e/resourceGroups/rg/providers/Microsoft.Compute/disks/{id}","operationName":"MICROSOFT.COMPUTE/DISKS/BEGINGETACCESS/ACTION","category":"Administrative","resultType":"Success","callerIpAddress":"185.220.101.47","identity":{{"claims":{{"appid":"0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b","idtyp":"app"}}}}}}"#
        )
    };
    let azure_records = [
        azure("az-before", 1),
        // operationName of the wrong type; no time; a sign-in without its principal; a bare
        // number where a record belongs.
        r#"{"time":"2026-03-14T03:02:00Z","resourceId":"/subscriptions/x","operationName":["a"],"category":"Administrative"}"#.to_string(),
        r#"{"resourceId":"/subscriptions/x","operationName":"MICROSOFT.COMPUTE/DISKS/READ","category":"Administrative"}"#.to_string(),
        r#"{"time":"2026-03-14T03:02:00Z","category":"ServicePrincipalSignInLogs","properties":{"ipAddress":"1.0.0.1"}}"#.to_string(),
        "7".to_string(),
        azure("az-after", 9),
    ];
    write(d, "azure.json", format!("{{\"records\": [\n{}\n]}}\n", azure_records.join(",\n")).as_bytes());

    let k8s = |id: &str, minute: u32| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"{id}","stage":"ResponseComplete","verb":"create","user":{{"username":"system:serviceaccount:ci:deployer"}},"sourceIPs":["185.220.101.47"],"objectRef":{{"resource":"pods","namespace":"data","name":"{id}","subresource":"exec"}},"responseStatus":{{"code":101}},"stageTimestamp":"2026-03-14T03:{minute:02}:00Z"}}"#
        )
    };
    let k8s_lines = [
        k8s("k8s-before", 1),
        // sourceIPs of the wrong type; no verb; an AKS record whose embedded event is not JSON.
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","user":{"username":"u"},"sourceIPs":{"ip":"1.0.0.1"},"stageTimestamp":"2026-03-14T03:02:00Z"}"#.to_string(),
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","user":{"username":"u"},"stageTimestamp":"2026-03-14T03:02:00Z"}"#.to_string(),
        r#"{"time":"2026-03-14T03:02:00Z","category":"kube-audit","properties":{"log":"{\"kind\":\"Event\",\"verb\""}}"#.to_string(),
        k8s("k8s-after", 9),
    ];
    write(d, "k8s.jsonl", k8s_lines.join("\n").as_bytes());

    let (report, diagnostics) = replay_dir(d);
    let alerted: Vec<String> =
        report.alerts.iter().flat_map(|a| a.evidence.iter().map(|e| e.event_id().to_string())).collect();
    for id in ["gcp-before", "gcp-after", "az-before", "az-after", "k8s-before", "k8s-after"] {
        assert!(alerted.contains(&id.to_string()), "record {id} must still alert; alerted: {alerted:?}");
    }
    assert_eq!(report.summary.bad_total(), 12, "{diagnostics}");
    for needle in [
        "gcp.jsonl:2: wrong_type",
        "'protoPayload.methodName'",
        "gcp.jsonl:3: missing_field",
        "'timestamp'",
        "gcp.jsonl:4: invalid_time",
        "gcp.jsonl:5: wrong_type",
        "'protoPayload.status.code'",
        "gcp.jsonl:6: ",
        "azure.json:3: wrong_type",
        "'operationName'",
        "azure.json:4: missing_field",
        "'time'",
        "azure.json:5: missing_field",
        "'properties.servicePrincipalId'",
        "azure.json:6: wrong_type",
        "k8s.jsonl:2: wrong_type",
        "'sourceIPs'",
        "k8s.jsonl:3: missing_field",
        "'verb'",
        "k8s.jsonl:4: invalid_json",
        "'properties.log'",
    ] {
        assert!(diagnostics.contains(needle), "missing '{needle}' in:\n{diagnostics}");
    }
}
