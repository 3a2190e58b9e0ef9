//! Azure: Activity Log records (Azure Resource Manager operations), Microsoft Entra ID sign-in
//! logs (users, service principals, managed identities) and Entra ID audit logs (directory
//! changes), as diagnostic settings export them to Event Hubs or storage (`{"records":[…]}`).
//!
//! Activity: who from `identity.claims` (`appid`, `idtyp`, `xms_mirid` for managed identities,
//! the object id and UPN) or `caller`; where from `callerIpAddress`; what from `operationName`
//! (written upper-case, as exports do, so one operation is one action whatever the case it was
//! logged in); subscription from `resourceId`; outcome from `resultType`. Sign-in: the
//! principal from `properties` (`servicePrincipalId`, `appId`, `userPrincipalName`), address
//! `properties.ipAddress`, outcome `properties.status.errorCode`. Audit: the initiator from
//! `properties.initiatedBy`, the action `properties.activityDisplayName`, outcome
//! `properties.result`.

use crate::audit::{Draft, at, first_text, missing, text, text_or_empty, time_of};
use crate::cloudtrail::RecordError;
use nhiwatch_core::geo::GeoInfo;
use nhiwatch_core::identity::is_guid;
use nhiwatch_core::{Identity, IdentityKey, IdentityType, Outcome, SourceKind};
use serde_json::Value;

const OBJECT_ID_CLAIM: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const UPN_CLAIM: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
const TENANT_CLAIM: &str = "http://schemas.microsoft.com/identity/claims/tenantid";

/// Reads an Azure record; `Ok(None)` when the record is not Azure's.
pub(crate) fn decode(v: &Value) -> Result<Option<Draft>, RecordError> {
    let category = category_of(v)?;
    if category.to_ascii_lowercase().ends_with("signinlogs") {
        return sign_in(v, &category).map(Some);
    }
    if at(v, &["properties", "initiatedBy"]).is_some() || at(v, &["properties", "activityDisplayName"]).is_some() {
        return audit(v, &category).map(Some);
    }
    if at(v, &["operationName"]).is_some() && (at(v, &["resourceId"]).is_some() || !category.is_empty()) {
        return activity(v, &category).map(Some);
    }
    Ok(None)
}

/// `category` (text, or `{value, localizedValue}` in the REST shape).
fn category_of(v: &Value) -> Result<String, RecordError> {
    Ok(first_text(v, &[&["category", "value"], &["category"]])?.unwrap_or_default())
}

/// The subscription id in a resource id (`/subscriptions/<id>/resourceGroups/…`).
pub(crate) fn subscription_of(resource_id: &str) -> Option<String> {
    let mut parts = resource_id.split('/');
    parts.by_ref().find(|p| p.eq_ignore_ascii_case("subscriptions"))?;
    parts.next().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase)
}

fn activity(v: &Value, category: &str) -> Result<Draft, RecordError> {
    let time = time_of(v, &[&["time"], &["eventTimestamp"], &["p_event_time"]])?;
    let operation = first_text(v, &[&["operationName", "value"], &["operationName"]])?
        .ok_or_else(|| missing(&["operationName"]))?
        .to_ascii_uppercase();
    let service = operation.split('/').next().unwrap_or_default().to_string();
    let resource_id = text_or_empty(v, &["resourceId"])?;
    let tenant = first_text(v, &[&["tenantId"], &["identity", "claims", TENANT_CLAIM]])?.unwrap_or_default();
    let account = subscription_of(&resource_id).unwrap_or_else(|| tenant.clone());
    let result = first_text(v, &[&["resultType", "value"], &["resultType"], &["status", "value"]])?.unwrap_or_default();
    let failed = matches!(result.to_ascii_lowercase().as_str(), "failure" | "failed");
    let outcome = if failed {
        Outcome {
            error_code: Some(first_text(v, &[&["resultSignature"]])?.unwrap_or_else(|| result.clone())),
            error_message: first_text(v, &[&["resultDescription"], &["properties", "statusMessage"]])?,
        }
    } else {
        Outcome::default()
    };
    let mut identity = activity_identity(v)?;
    identity.account = tenant.into();
    Ok(Draft {
        time,
        source: SourceKind::AzureActivity,
        account: account.into(),
        region: text_or_empty(v, &["location"])?.into(),
        read_only: Some(operation.ends_with("/READ")),
        service: service.into(),
        action: operation.into(),
        event_id: first_text(v, &[&["eventDataId"], &["properties", "eventDataId"]])?,
        identity,
        origin: first_text(v, &[&["callerIpAddress"], &["httpRequest", "clientIpAddress"]])?,
        user_agent: String::new(),
        outcome,
        category: category.into(),
        geo: None,
    })
}

/// The caller of an Activity Log operation.
fn activity_identity(v: &Value) -> Result<Identity, RecordError> {
    let claims = at(v, &["identity", "claims"]);
    let claim = |name: &str| -> Result<Option<String>, RecordError> {
        match claims {
            Some(c) => Ok(text(c, &[name])?.map(|s| s.into_owned())),
            None => Ok(None),
        }
    };
    let caller = first_text(v, &[&["caller"]])?;
    let upn = match claim(UPN_CLAIM)?.or(claim("upn")?) {
        Some(u) => Some(u),
        None => claim("name")?.filter(|n| n.contains('@')).or_else(|| caller.clone().filter(|c| c.contains('@'))),
    };
    let object_id = claim(OBJECT_ID_CLAIM)?.or(claim("oid")?);
    let app_id = claim("appid")?;
    if let Some(mirid) = claim("xms_mirid")? {
        let name = mirid.rsplit('/').next().unwrap_or(&mirid).to_string();
        return Ok(Identity::new(
            IdentityKey(format!("azure-mi:{}", mirid.to_ascii_lowercase())),
            IdentityType::ManagedIdentity,
            String::new(),
            name,
        ));
    }
    let is_app = claim("idtyp")?.is_some_and(|t| t.eq_ignore_ascii_case("app"))
        || (upn.is_none() && (app_id.is_some() || caller.as_deref().is_some_and(is_guid)));
    if is_app {
        let id = app_id.or(object_id).or(caller).unwrap_or_default().to_ascii_lowercase();
        return Ok(Identity::new(
            IdentityKey(format!("azure-sp:{id}")),
            IdentityType::ServicePrincipal,
            String::new(),
            id,
        ));
    }
    match upn.or(caller) {
        Some(user) => Ok(user_identity(&user)),
        None => Ok(Identity::new(
            IdentityKey("azure:unknown".into()),
            IdentityType::Unknown,
            String::new(),
            "unknown".into(),
        )),
    }
}

fn user_identity(upn: &str) -> Identity {
    let key = upn.to_ascii_lowercase();
    Identity::new(IdentityKey(key.clone()), IdentityType::User, String::new(), key)
}

fn sign_in(v: &Value, category: &str) -> Result<Draft, RecordError> {
    let time = time_of(v, &[&["time"], &["properties", "createdDateTime"], &["p_event_time"]])?;
    let tenant = first_text(v, &[&["tenantId"], &["properties", "homeTenantId"], &["properties", "resourceTenantId"]])?
        .unwrap_or_default();
    let lower = category.to_ascii_lowercase();
    let identity = if lower.starts_with("serviceprincipal") || lower.starts_with("managedidentity") {
        let managed = lower.starts_with("managedidentity");
        let id = first_text(v, &[&["properties", "appId"], &["properties", "servicePrincipalId"]])?
            .ok_or_else(|| missing(&["properties", "servicePrincipalId"]))?
            .to_ascii_lowercase();
        let name = first_text(v, &[&["properties", "servicePrincipalName"], &["properties", "appDisplayName"]])?
            .unwrap_or_else(|| id.clone());
        let (prefix, kind) = if managed {
            ("azure-mi", IdentityType::ManagedIdentity)
        } else {
            ("azure-sp", IdentityType::ServicePrincipal)
        };
        Identity::new(IdentityKey(format!("{prefix}:{id}")), kind, tenant.clone(), name)
    } else {
        let upn = first_text(v, &[&["properties", "userPrincipalName"], &["identity"], &["properties", "userId"]])?
            .ok_or_else(|| missing(&["properties", "userPrincipalName"]))?;
        let mut id = user_identity(&upn);
        id.account = tenant.as_str().into();
        id
    };
    let code = match at(v, &["properties", "status", "errorCode"]) {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => first_text(v, &[&["resultType"]])?.unwrap_or_default(),
    };
    let outcome = if code.is_empty() || code == "0" || code.eq_ignore_ascii_case("success") {
        Outcome::default()
    } else {
        Outcome {
            error_code: Some(code),
            error_message: first_text(v, &[&["properties", "status", "failureReason"], &["resultDescription"]])?,
        }
    };
    Ok(Draft {
        time,
        source: SourceKind::AzureSignIn,
        account: tenant.into(),
        region: Default::default(),
        service: "login.microsoftonline.com".into(),
        action: first_text(v, &[&["operationName"]])?.unwrap_or_else(|| "Sign-in activity".into()).into(),
        event_id: first_text(v, &[&["properties", "id"]])?,
        identity,
        origin: first_text(v, &[&["properties", "ipAddress"], &["callerIpAddress"]])?,
        user_agent: text_or_empty(v, &["properties", "userAgent"])?,
        outcome,
        read_only: Some(true),
        category: category.into(),
        geo: sign_in_place(v)?,
    })
}

/// Where Entra says a sign-in came from: `properties.location` (country or region, city,
/// coordinates) and `properties.autonomousSystemNumber`.
fn sign_in_place(v: &Value) -> Result<Option<GeoInfo>, RecordError> {
    let loc = ["properties", "location"];
    let number = |path: &[&str]| at(v, path).and_then(|n| n.as_f64().or_else(|| n.as_str()?.parse().ok()));
    let geo = GeoInfo {
        country: text(v, &[loc[0], loc[1], "countryOrRegion"])?.map(|c| c.into_owned()),
        city: text(v, &[loc[0], loc[1], "city"])?
            .map(|c| c.into_owned())
            .filter(|c| !c.eq_ignore_ascii_case("unknown")),
        asn: number(&["properties", "autonomousSystemNumber"]).and_then(|n| (n >= 1.0).then_some(n as u32)),
        as_org: None,
        location: number(&[loc[0], loc[1], "geoCoordinates", "latitude"]).zip(number(&[
            loc[0],
            loc[1],
            "geoCoordinates",
            "longitude",
        ])),
    };
    Ok((!geo.is_empty()).then_some(geo))
}

fn audit(v: &Value, category: &str) -> Result<Draft, RecordError> {
    let time = time_of(v, &[&["time"], &["properties", "activityDateTime"], &["p_event_time"]])?;
    let action =
        first_text(v, &[&["properties", "activityDisplayName"], &["operationName"], &["properties", "operationName"]])?
            .ok_or_else(|| missing(&["properties", "activityDisplayName"]))?;
    let tenant = first_text(v, &[&["tenantId"], &["properties", "tenantId"]])?.unwrap_or_default();
    let by = ["properties", "initiatedBy"];
    let identity = if let Some(upn) =
        first_text(v, &[&[by[0], by[1], "user", "userPrincipalName"], &[by[0], by[1], "user", "id"]])?
    {
        let mut id = user_identity(&upn);
        id.account = tenant.as_str().into();
        id
    } else if let Some(app) =
        first_text(v, &[&[by[0], by[1], "app", "appId"], &[by[0], by[1], "app", "servicePrincipalId"]])?
    {
        let app = app.to_ascii_lowercase();
        let name = first_text(v, &[&[by[0], by[1], "app", "displayName"]])?.unwrap_or_else(|| app.clone());
        Identity::new(IdentityKey(format!("azure-sp:{app}")), IdentityType::ServicePrincipal, tenant.clone(), name)
    } else {
        Identity::new(IdentityKey("azure:unknown".into()), IdentityType::Unknown, tenant.clone(), "unknown".into())
    };
    let result = first_text(v, &[&["properties", "result"], &["resultType"]])?.unwrap_or_default();
    let outcome = if result.eq_ignore_ascii_case("failure") || result.eq_ignore_ascii_case("failed") {
        Outcome {
            error_code: Some(first_text(v, &[&["properties", "resultReason"]])?.unwrap_or(result)),
            error_message: None,
        }
    } else {
        Outcome::default()
    };
    Ok(Draft {
        time,
        source: SourceKind::AzureAudit,
        account: tenant.into(),
        region: Default::default(),
        service: first_text(v, &[&["properties", "loggedByService"]])?
            .unwrap_or_else(|| "Core Directory".into())
            .into(),
        action: action.into(),
        event_id: first_text(v, &[&["properties", "id"]])?,
        identity,
        origin: first_text(v, &[&[by[0], by[1], "user", "ipAddress"], &["callerIpAddress"]])?,
        user_agent: text_or_empty(v, &["properties", "userAgent"])?,
        outcome,
        read_only: Some(false),
        category: category.into(),
        geo: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_ins_carry_their_own_place() {
        let v: Value = serde_json::from_str(
            r#"{"properties":{"location":{"city":"Moscow","countryOrRegion":"RU","geoCoordinates":{"latitude":55.75,"longitude":37.61}},"autonomousSystemNumber":"12345"}}"#,
        )
        .expect("json");
        let g = sign_in_place(&v).expect("ok").expect("a place");
        assert_eq!(g.country.as_deref(), Some("RU"));
        assert_eq!(g.asn, Some(12345));
        assert_eq!(g.location, Some((55.75, 37.61)));
        let none: Value = serde_json::from_str(r#"{"properties":{"location":{"city":"Unknown"}}}"#).expect("json");
        assert_eq!(sign_in_place(&none).expect("ok"), None);
    }

    #[test]
    fn subscriptions_are_read_from_resource_ids() {
        assert_eq!(
            subscription_of("/SUBSCRIPTIONS/AB12CD34-0000-0000-0000-000000000001/resourceGroups/rg/providers/x")
                .as_deref(),
            Some("ab12cd34-0000-0000-0000-000000000001")
        );
        assert_eq!(subscription_of("/providers/Microsoft.Authorization"), None);
    }
}
