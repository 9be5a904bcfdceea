//! The signed-in user's own account: their details and a password change (which needs
//! the current password, as the API requires).

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::csrf_checked;
use super::login::Notice;
use crate::api::context::SESSION_COOKIE;
use crate::portal::Portal;
use crate::portal::backend::Failure;
use crate::portal::layout::{csrf, page};
use crate::portal::viewer::{Viewer, redirect_with};

pub(crate) fn routes() -> Router<Portal> {
    Router::new().route("/account", get(account).post(change_password))
}

/// `GET /account`.
async fn account(v: Viewer, State(p): State<Portal>) -> Response {
    let me = super::load!(v, p.api.get(&v, "/users/current").await);
    let me: harbor_api_model::UserResp = super::load!(v, me.decode());
    let u = &v.user;
    let body = html! {
        h1 { "Your account" }
        div.card { dl.kv #account {
            dt { "Username" } dd { (u.username) }
            dt { "E-mail" } dd { (u.email.as_deref().unwrap_or("—")) }
            dt { "Full name" } dd { (u.realname) }
            dt { "Administrator" } dd { @if u.sysadmin { "yes" } @else { "no" } }
        } }
        @if let Some(oidc) = &me.oidc_user_meta {
            section.card #cli-secret-card {
                h2 { "CLI secret" }
                p { "You sign in through the OIDC provider. Command-line tools (docker, podman, skopeo, helm) sign in with your username and this secret; it works while your provider session can be refreshed, else sign in here again." }
                input #cli-secret type="text" readonly value=(oidc.secret);
            }
        }
        // OIDC users have no password here (their provider has it).
        @if me.oidc_user_meta.is_none() { section.card {
            h2 { "Change your password" }
            form.stack method="post" action="/account" #change-password {
                (csrf(&v))
                label { "Current password" input type="password" name="old" autocomplete="current-password" required; }
                label { "New password (8-128 characters with upper and lower case and a digit)"
                    input type="password" name="new" autocomplete="new-password" required minlength="8" maxlength="128"; }
                label { "New password again" input type="password" name="again" autocomplete="new-password" required; }
                button type="submit" { "Change password" }
            }
        } }
    };
    page(Some(&v), "Your account", body)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    old: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

/// `POST /account`: changes the password through `PUT /users/{id}/password`. That ends
/// the user's sessions, this one included, so success lands on the sign-in page with a
/// notice (and the dead session cookie cleared) instead of a flash no page could show.
async fn change_password(
    v: Viewer,
    State(p): State<Portal>,
    Form(f): Form<PasswordForm>,
) -> Response {
    csrf_checked!(v, &f.csrf);
    if f.new != f.again {
        let e = Failure::new(StatusCode::BAD_REQUEST, "The new passwords do not match.");
        return redirect_with("/account", Err(e));
    }
    let body = json!({ "old_password": f.old, "new_password": f.new });
    let path = format!("/users/{}/password", v.user.id);
    match p.api.send(&v, Method::PUT, &path, Some(body)).await {
        Ok(_) => {
            let to = format!(
                "/login?notice={}&next=%2Faccount",
                Notice::PasswordChanged.key()
            );
            let mut resp = Redirect::to(&to).into_response();
            let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
            if let Ok(c) = HeaderValue::from_str(&clear) {
                resp.headers_mut().insert(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => redirect_with("/account", Err(e)),
    }
}
