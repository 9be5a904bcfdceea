//! Each model against the definition it mirrors in Harbor's swagger
//! (`swagger/harbor-swagger.yaml`): every field we send or read must be one of Harbor's
//! (or a documented extension, [`harbor_api_model::EXTENSIONS`]), with the same JSON type
//! (and, for arrays, the same item type). A field renamed, retyped or added by mistake
//! fails here.

use std::collections::BTreeMap;

use harbor_api_model as m;
use schemars::JsonSchema;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// The JSON types a schema allows (`null` left out); empty means "anything".
fn json_types(schema: &Value, defs: &Value) -> Vec<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return json_types(&defs[name], defs);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            let mut out: Vec<String> = list.iter().flat_map(|s| json_types(s, defs)).collect();
            out.retain(|t| t != "null");
            out.dedup();
            return out;
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if t != "null" => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The item schema of an array schema.
fn items<'a>(schema: &'a Value, defs: &'a Value) -> Option<&'a Value> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return items(&defs[r.rsplit('/').next().unwrap_or_default()], defs);
    }
    if let Some(list) = schema.get("anyOf").and_then(Value::as_array) {
        return list.iter().find_map(|s| items(s, defs));
    }
    schema.get("items")
}

/// Our model's properties: name -> (JSON types, item JSON types for arrays).
fn ours<T: JsonSchema>() -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    for (name, prop) in schema["properties"].as_object().expect("an object model") {
        let item = items(prop, &defs)
            .map(|i| json_types(i, &defs))
            .unwrap_or_default();
        out.insert(name.clone(), (json_types(prop, &defs), item));
    }
    out
}

/// The JSON type a swagger schema (inline or `$ref` to a definition) stands for.
fn swagger_type(schema: &Yaml, definitions: &Yaml) -> Option<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let def = &definitions[r.rsplit('/').next().unwrap_or_default()];
        return swagger_type(def, definitions).or(Some("object".into()));
    }
    schema["type"].as_str().map(str::to_owned)
}

fn check<T: JsonSchema>(definition: &str, swagger: &Yaml, problems: &mut Vec<String>) {
    let definitions = &swagger["definitions"];
    let def = &definitions[definition];
    assert!(
        !def.is_badvalue(),
        "no definition {definition} in the swagger"
    );
    let props = &def["properties"];
    let extensions: &[&str] = m::EXTENSIONS
        .iter()
        .find(|(d, _)| *d == definition)
        .map_or(&[], |(_, e)| e);
    for (name, (types, item_types)) in ours::<T>() {
        // Harbor's swagger quotes dotted names (`'os.version'`); the JSON key has none.
        let quoted = format!("'{name}'");
        let theirs = if props[name.as_str()].is_badvalue() {
            &props[quoted.as_str()]
        } else {
            &props[name.as_str()]
        };
        if theirs.is_badvalue() {
            if !extensions.contains(&name.as_str()) {
                problems.push(format!(
                    "{definition}.{name}: not in Harbor's definition (rename it, or list it in EXTENSIONS)"
                ));
            }
            continue;
        }
        let Some(want) = swagger_type(theirs, definitions) else {
            continue; // Harbor leaves it untyped.
        };
        let compatible = |got: &[String], want: &str| {
            got.is_empty()
                || got
                    .iter()
                    .any(|t| t == want || (want == "number" && t == "integer"))
        };
        if !compatible(&types, &want) {
            problems.push(format!(
                "{definition}.{name}: Harbor's type is {want}, ours {types:?}"
            ));
        }
        if want == "array"
            && let Some(item_want) = swagger_type(&theirs["items"], definitions)
            && !compatible(&item_types, &item_want)
        {
            problems.push(format!(
                "{definition}.{name}[]: Harbor's item type is {item_want}, ours {item_types:?}"
            ));
        }
    }
}

fn swagger() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/swagger/harbor-swagger.yaml");
    let text = std::fs::read_to_string(path).expect("the vendored swagger");
    YamlLoader::load_from_str(&text)
        .expect("valid YAML")
        .remove(0)
}

#[test]
fn every_model_matches_harbors_definition() {
    let s = swagger();
    let mut problems = Vec::new();
    let p = &mut problems;
    check::<m::Project>("Project", &s, p);
    check::<m::SecuritySummary>("SecuritySummary", &s, p);
    check::<m::DangerousCve>("DangerousCVE", &s, p);
    check::<m::DangerousArtifact>("DangerousArtifact", &s, p);
    check::<m::security::VulnerabilityItem>("VulnerabilityItem", &s, p);
    check::<m::ScanDataExportRequest>("ScanDataExportRequest", &s, p);
    check::<m::ScanDataExportJob>("ScanDataExportJob", &s, p);
    check::<m::ScanDataExportExecution>("ScanDataExportExecution", &s, p);
    check::<m::ScanDataExportExecutionList>("ScanDataExportExecutionList", &s, p);
    check::<m::ProjectMetadata>("ProjectMetadata", &s, p);
    check::<m::ProjectReq>("ProjectReq", &s, p);
    check::<m::CveAllowlist>("CVEAllowlist", &s, p);
    check::<m::CveAllowlistItem>("CVEAllowlistItem", &s, p);
    check::<m::ProjectDeletable>("ProjectDeletable", &s, p);
    check::<m::ProjectSummary>("ProjectSummary", &s, p);
    check::<m::ProjectSummaryQuota>("ProjectSummaryQuota", &s, p);
    check::<m::UserResp>("UserResp", &s, p);
    check::<m::OIDCUserInfo>("OIDCUserInfo", &s, p);
    check::<m::OIDCCliSecretReq>("OIDCCliSecretReq", &s, p);
    check::<m::UserCreationReq>("UserCreationReq", &s, p);
    check::<m::UserProfile>("UserProfile", &s, p);
    check::<m::PasswordReq>("PasswordReq", &s, p);
    check::<m::UserSysAdminFlag>("UserSysAdminFlag", &s, p);
    check::<m::UserSearchRespItem>("UserSearchRespItem", &s, p);
    check::<m::ProjectMemberEntity>("ProjectMemberEntity", &s, p);
    check::<m::ProjectMember>("ProjectMember", &s, p);
    check::<m::UserEntity>("UserEntity", &s, p);
    check::<m::UserGroup>("UserGroup", &s, p);
    check::<m::UserGroupSearchItem>("UserGroupSearchItem", &s, p);
    check::<m::RoleRequest>("RoleRequest", &s, p);
    check::<m::Robot>("Robot", &s, p);
    check::<m::RobotCreate>("RobotCreate", &s, p);
    check::<m::RobotCreated>("RobotCreated", &s, p);
    check::<m::RobotSec>("RobotSec", &s, p);
    check::<m::RobotPermission>("RobotPermission", &s, p);
    check::<m::Access>("Access", &s, p);
    check::<m::Permissions>("Permissions", &s, p);
    check::<m::Permission>("Permission", &s, p);
    check::<m::AuditLog>("AuditLog", &s, p);
    check::<m::Repository>("Repository", &s, p);
    check::<m::Quota>("Quota", &s, p);
    check::<m::ExecHistory>("ExecHistory", &s, p);
    check::<m::ExecHistory>("GCHistory", &s, p);
    check::<m::ScheduleObj>("ScheduleObj", &s, p);
    check::<m::ScheduleBody>("Schedule", &s, p);
    check::<m::ExecStarted>("ExecHistory", &s, p);
    check::<m::Search>("Search", &s, p);
    check::<m::SearchRepository>("SearchRepository", &s, p);
    check::<m::Statistic>("Statistic", &s, p);
    check::<m::ScanType>("ScanType", &s, p);
    check::<m::NativeReportSummary>("NativeReportSummary", &s, p);
    check::<m::VulnerabilitySummary>("VulnerabilitySummary", &s, p);
    check::<m::SbomOverview>("SBOMOverview", &s, p);
    check::<m::scanner_adapter::Scanner>("Scanner", &s, p);
    check::<m::Label>("Label", &s, p);
    check::<m::ImmutableRule>("ImmutableRule", &s, p);
    check::<m::ImmutableSelector>("ImmutableSelector", &s, p);
    check::<m::Artifact>("Artifact", &s, p);
    check::<m::Tag>("Tag", &s, p);
    check::<m::Accessory>("Accessory", &s, p);
    check::<m::Reference>("Reference", &s, p);
    check::<m::Platform>("Platform", &s, p);
    check::<m::AdditionLink>("AdditionLink", &s, p);
    check::<m::RetentionPolicy>("RetentionPolicy", &s, p);
    check::<m::RetentionRule>("RetentionRule", &s, p);
    check::<m::RetentionRuleTrigger>("RetentionRuleTrigger", &s, p);
    check::<m::RetentionPolicyScope>("RetentionPolicyScope", &s, p);
    check::<m::RetentionSelector>("RetentionSelector", &s, p);
    check::<m::RetentionExecution>("RetentionExecution", &s, p);
    check::<m::RetentionExecutionTask>("RetentionExecutionTask", &s, p);
    check::<m::JobQueue>("JobQueue", &s, p);
    check::<m::WorkerPool>("WorkerPool", &s, p);
    check::<m::ScheduleTask>("ScheduleTask", &s, p);
    check::<m::SchedulerStatus>("SchedulerStatus", &s, p);
    check::<m::GeneralInfo>("GeneralInfo", &s, p);
    check::<m::OverallHealthStatus>("OverallHealthStatus", &s, p);
    check::<m::ComponentHealthStatus>("ComponentHealthStatus", &s, p);
    check::<m::Registry>("Registry", &s, p);
    check::<m::RegistryCredential>("RegistryCredential", &s, p);
    check::<m::RegistryUpdate>("RegistryUpdate", &s, p);
    check::<m::RegistryPing>("RegistryPing", &s, p);
    check::<m::RegistryInfo>("RegistryInfo", &s, p);
    check::<m::FilterStyle>("FilterStyle", &s, p);
    check::<m::RegistryProviderInfo>("RegistryProviderInfo", &s, p);
    check::<m::RegistryProviderEndpointPattern>("RegistryProviderEndpointPattern", &s, p);
    check::<m::RegistryEndpoint>("RegistryEndpoint", &s, p);
    check::<m::RegistryProviderCredentialPattern>("RegistryProviderCredentialPattern", &s, p);
    check::<m::ReplicationPolicy>("ReplicationPolicy", &s, p);
    check::<m::ReplicationFilter>("ReplicationFilter", &s, p);
    check::<m::ReplicationTrigger>("ReplicationTrigger", &s, p);
    check::<m::ReplicationTriggerSettings>("ReplicationTriggerSettings", &s, p);
    check::<m::ReplicationExecution>("ReplicationExecution", &s, p);
    check::<m::ReplicationTask>("ReplicationTask", &s, p);
    check::<m::StartReplicationExecution>("StartReplicationExecution", &s, p);
    check::<m::ScannerRegistration>("ScannerRegistration", &s, p);
    check::<m::ScannerRegistrationReq>("ScannerRegistrationReq", &s, p);
    check::<m::ScannerRegistrationSettings>("ScannerRegistrationSettings", &s, p);
    check::<m::ProjectScanner>("ProjectScanner", &s, p);
    check::<m::IsDefault>("IsDefault", &s, p);
    check::<m::scanner_adapter::ScannerAdapterMetadata>("ScannerAdapterMetadata", &s, p);
    check::<m::scanner_adapter::ScannerCapability>("ScannerCapability", &s, p);
    check::<m::scanner_adapter::Scanner>("Scanner", &s, p);
    check::<m::Errors>("Errors", &s, p);
    check::<m::WebhookPolicy>("WebhookPolicy", &s, p);
    check::<m::WebhookTargetObject>("WebhookTargetObject", &s, p);
    check::<m::WebhookLastTrigger>("WebhookLastTrigger", &s, p);
    check::<m::SupportedWebhookEventTypes>("SupportedWebhookEventTypes", &s, p);
    check::<m::LdapConf>("LdapConf", &s, p);
    check::<m::LdapPingResult>("LdapPingResult", &s, p);
    check::<m::LdapImportUsers>("LdapImportUsers", &s, p);
    check::<m::LdapFailedImportUser>("LdapFailedImportUser", &s, p);
    check::<m::LdapUser>("LdapUser", &s, p);
    check::<m::PayloadFormat>("PayloadFormat", &s, p);
    check::<m::Metrics>("Metrics", &s, p);
    check::<m::Execution>("Execution", &s, p);
    check::<m::Task>("Task", &s, p);
    check::<m::ErrorItem>("Error", &s, p);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The answers that are not whole Harbor models keep their exact JSON.
#[test]
fn partial_answers_serialize_as_harbor_reads_them() {
    assert_eq!(
        serde_json::to_value(m::ScheduleBody::none()).unwrap(),
        serde_json::json!({"schedule": {"type": "None"}})
    );
    assert_eq!(
        serde_json::to_value(m::ExecStarted { id: 7 }).unwrap(),
        serde_json::json!({"id": 7})
    );
    assert_eq!(
        serde_json::to_string(&m::NoScanner {}).unwrap(),
        "{}",
        "an empty object, not null"
    );
}

/// The checker itself catches a wrong name and a wrong type.
#[test]
fn a_drifting_model_is_caught() {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Drifted {
        project_id: String,
        projectname: String,
        current_user_role_ids: Vec<String>,
    }
    let mut problems = Vec::new();
    check::<Drifted>("Project", &swagger(), &mut problems);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains("current_user_role_ids[]"),
        "{problems:#?}"
    );
    assert!(problems[1].contains("project_id"), "{problems:#?}");
    assert!(problems[2].contains("projectname"), "{problems:#?}");
}
