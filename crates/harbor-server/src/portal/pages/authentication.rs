//! Administration > Authentication: the sign-in mode and the LDAP and OIDC settings of
//! `/configurations`, and a test of the LDAP settings (`/ldap/ping`). Secrets are never
//! shown: an empty secret field keeps the stored one. The API refuses
//! non-administrators; the page hides its forms from them.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use harbor_api_model as m;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{csrf_checked, load};
use crate::portal::Portal;
use crate::portal::layout::{csrf, page};
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new()
        .route(
            "/admin/authentication",
            get(authentication).post(save_authentication),
        )
        .route("/admin/authentication/ldap-ping", post(ldap_ping))
}

/// The text fields of the form: setting, label, hint.
const TEXT_FIELDS: &[(&str, &str, &str)] = &[
    ("ldap_url", "LDAP URL", "ldaps://ldap.example.com"),
    (
        "ldap_search_dn",
        "LDAP search DN",
        "cn=harbor,ou=services,dc=example,dc=com",
    ),
    (
        "ldap_base_dn",
        "LDAP base DN",
        "ou=people,dc=example,dc=com",
    ),
    ("ldap_filter", "LDAP filter", "(objectClass=inetOrgPerson)"),
    ("ldap_uid", "LDAP UID attribute", "uid"),
    (
        "ldap_group_base_dn",
        "LDAP group base DN",
        "ou=groups,dc=example,dc=com",
    ),
    (
        "ldap_group_search_filter",
        "LDAP group filter",
        "(objectClass=groupOfNames)",
    ),
    (
        "ldap_group_attribute_name",
        "LDAP group name attribute",
        "cn",
    ),
    ("ldap_group_admin_dn", "LDAP administrators' group DN", ""),
    (
        "ldap_group_membership_attribute",
        "LDAP membership attribute",
        "memberof",
    ),
    ("oidc_name", "OIDC provider name", "Keycloak"),
    (
        "oidc_endpoint",
        "OIDC endpoint (issuer)",
        "https://id.example.com/realms/main",
    ),
    ("oidc_client_id", "OIDC client id", "harbor"),
    ("oidc_scope", "OIDC scopes", "openid,offline_access"),
    ("oidc_groups_claim", "OIDC groups claim", "groups"),
    (
        "oidc_group_filter",
        "OIDC group filter (regular expression)",
        "",
    ),
    ("oidc_admin_group", "OIDC administrators' group", ""),
    (
        "oidc_user_claim",
        "OIDC username claim",
        "preferred_username",
    ),
];

/// The number fields: setting, label.
const NUMBER_FIELDS: &[(&str, &str)] = &[
    (
        "ldap_scope",
        "LDAP search scope (0 base, 1 one level, 2 subtree)",
    ),
    ("ldap_group_search_scope", "LDAP group search scope"),
    ("ldap_timeout", "LDAP time-out (seconds)"),
];

/// The check boxes: setting, label.
const FLAGS: &[(&str, &str)] = &[
    ("ldap_verify_cert", "Verify the LDAP server's certificate"),
    ("ldap_starttls", "Use StartTLS on ldap://"),
    ("oidc_verify_cert", "Verify the OIDC provider's certificate"),
    (
        "oidc_auto_onboard",
        "Create OIDC users at their first sign-in",
    ),
    ("oidc_logout", "Sign out at the provider too"),
];

/// The secrets: setting, label.
const SECRETS: &[(&str, &str)] = &[
    ("ldap_search_password", "LDAP search password"),
    ("oidc_client_secret", "OIDC client secret"),
];

const MODES: [(&str, &str); 3] = [
    ("db_auth", "Database"),
    ("ldap_auth", "LDAP"),
    ("oidc_auth", "OIDC"),
];

fn value<'a>(conf: &'a m::ConfigurationsResponse, name: &str) -> Option<&'a Value> {
    conf.get(name).map(|i| &i.value)
}

fn fields(v: &Viewer, conf: &m::ConfigurationsResponse) -> Markup {
    let text = |name: &str| {
        value(conf, name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let disabled = !v.user.sysadmin;
    html! {
        label { "Sign-in mode" select name="auth_mode" #auth-mode disabled[disabled] {
            @let mode = text("auth_mode");
            @for (id, label) in MODES { option value=(id) selected[mode == id] { (label) } }
        } }
        @for (name, label, hint) in TEXT_FIELDS {
            label { (label) input name=(name) id=(name.replace('_', "-")) value=(text(name))
                placeholder=(hint) autocomplete="off" disabled[disabled]; }
        }
        @for (name, label) in NUMBER_FIELDS {
            @let n = value(conf, name).and_then(Value::as_i64).unwrap_or_default();
            label { (label) input type="number" name=(name) id=(name.replace('_', "-")) value=(n)
                min="0" max="300" disabled[disabled]; }
        }
        @for (name, label) in SECRETS {
            label { (label) input type="password" name=(name) id=(name.replace('_', "-"))
                placeholder="unchanged" autocomplete="new-password" disabled[disabled]; }
        }
        @for (name, label) in FLAGS {
            @let on = value(conf, name).and_then(Value::as_bool).unwrap_or(false);
            label.check { input type="checkbox" name=(name) id=(name.replace('_', "-")) value="true"
                checked[on] disabled[disabled]; (label) }
        }
    }
}

/// `GET /admin/authentication`.
async fn authentication(v: Viewer, State(p): State<Portal>) -> Response {
    let conf = load!(v, p.api.get(&v, "/configurations").await);
    let conf: m::ConfigurationsResponse = load!(v, conf.decode());
    let body = html! {
        h1 { "Authentication" }
        p.small { "How users sign in. The admin account always signs in with its own password. \
                   The mode changes only while admin is the only user. See docs/authentication.md." }
        section.card {
            form.stack method="post" action="/admin/authentication" #auth-form {
                (csrf(&v))
                (fields(&v, &conf))
                @if v.user.sysadmin {
                    div.actions {
                        button type="submit" #save-auth { "Save" }
                        button.secondary type="submit" formaction="/admin/authentication/ldap-ping" #ldap-ping { "Test LDAP" }
                    }
                }
            }
        }
    };
    page(Some(&v), "Authentication", body)
}

#[derive(Deserialize)]
struct AuthForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(flatten)]
    fields: std::collections::HashMap<String, String>,
}

/// The settings a form sends: every field shown, check boxes off when unticked, secrets
/// only when typed.
fn settings_of(f: &AuthForm) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(mode) = f.fields.get("auth_mode") {
        out.insert("auth_mode".into(), json!(mode));
    }
    for (name, _, _) in TEXT_FIELDS {
        if let Some(v) = f.fields.get(*name) {
            out.insert((*name).into(), json!(v.trim()));
        }
    }
    for (name, _) in NUMBER_FIELDS {
        if let Some(v) = f.fields.get(*name) {
            // A number the API checks; text it cannot read is sent as text, and refused.
            let v = v.trim();
            out.insert(
                (*name).into(),
                v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
            );
        }
    }
    for (name, _) in FLAGS {
        out.insert((*name).into(), json!(f.fields.contains_key(*name)));
    }
    for (name, _) in SECRETS {
        if let Some(v) = f.fields.get(*name).filter(|v| !v.is_empty()) {
            out.insert((*name).into(), json!(v));
        }
    }
    out
}

/// `POST /admin/authentication`: saves the settings (all or nothing).
async fn save_authentication(
    v: Viewer,
    State(p): State<Portal>,
    Form(f): Form<AuthForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    let body = Value::Object(settings_of(&f));
    let r = p
        .api
        .send(&v, Method::PUT, "/configurations", Some(body))
        .await;
    redirect_with(
        "/admin/authentication",
        r.map(|_| "Authentication settings saved.".to_owned()),
    )
}

/// `POST /admin/authentication/ldap-ping`: tries the LDAP fields of the form (not saved).
async fn ldap_ping(v: Viewer, State(p): State<Portal>, Form(f): Form<AuthForm>) -> Response {
    csrf_checked!(v, &f.csrf);
    let s = settings_of(&f);
    let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_owned);
    let conf = m::LdapConf {
        ldap_url: text("ldap_url"),
        ldap_search_dn: text("ldap_search_dn"),
        ldap_search_password: text("ldap_search_password"),
        ldap_base_dn: text("ldap_base_dn"),
        ldap_filter: text("ldap_filter"),
        ldap_uid: text("ldap_uid"),
        ldap_scope: s.get("ldap_scope").and_then(Value::as_i64),
        ldap_connection_timeout: s.get("ldap_timeout").and_then(Value::as_i64),
        ldap_verify_cert: s.get("ldap_verify_cert").and_then(Value::as_bool),
    };
    let r = p
        .api
        .send(&v, Method::POST, "/ldap/ping", Some(json!(conf)))
        .await
        .and_then(|a| a.decode::<m::LdapPingResult>());
    let r = match r {
        Ok(res) if res.success => Ok(format!("LDAP works: {}.", res.message)),
        Ok(res) => Ok(format!("LDAP failed: {}.", res.message)),
        Err(e) => Err(e),
    };
    redirect_with("/admin/authentication", r)
}
