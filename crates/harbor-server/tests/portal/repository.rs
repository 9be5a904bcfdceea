//! The repository and artifact pages (plain HTTP, and the selection in Chromium): the
//! type of SBOMs, signatures and other OCI artifacts, their pull command and subject; the
//! list's filters by tag, type and label (Harbor's `q`); several artifacts deleted after
//! a confirmation page.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{self, ADMIN_PASSWORD, PASSWORD, TestServer};
use crate::http::{flash_of, get, post, sign_in, token};

async fn api(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let r = common::send(&common::client(), s, method, path, body).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// Pushes an OCI manifest built from `artifact_type` (left out when `None`), a config of
/// `config_type`, one layer of `layer_type` and an optional `subject`, under `reference`
/// (its digest when `None`); returns its digest.
async fn push_artifact(
    s: &TestServer,
    repo: &str,
    reference: Option<&str>,
    types: (Option<&str>, &str, &str),
    subject: Option<&str>,
) -> String {
    let (artifact_type, config_type, layer_type) = types;
    let config = common::push_blob(s, repo, b"{}").await;
    let payload = format!("{layer_type} for {subject:?} as {reference:?}");
    let layer = common::push_blob(s, repo, payload.as_bytes()).await;
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": common::OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": config, "size": 2},
        "layers": [{"mediaType": layer_type, "digest": layer, "size": payload.len()}],
    });
    if let Some(t) = artifact_type {
        m["artifactType"] = json!(t);
    }
    if let Some(d) = subject {
        m["subject"] = json!({"mediaType": common::OCI_MANIFEST, "digest": d, "size": 1});
    }
    let body = serde_json::to_vec(&m).unwrap();
    let digest = common::sha256(&body);
    let r = common::put_manifest(
        s,
        repo,
        reference.unwrap_or(&digest),
        common::OCI_MANIFEST,
        &body,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "push {reference:?}");
    digest
}

const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const CYCLONEDX: &str = "application/vnd.cyclonedx+json";

/// The text of the element with `id` (its first `>...<` run).
fn text_of<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[at..];
    let start = rest.find('>').map_or(0, |i| i + 1);
    let end = rest[start..].find('<').map_or(rest.len(), |i| start + i);
    &rest[start..end]
}

#[tokio::test]
async fn sboms_and_other_artifacts_show_type_pull_command_and_subject() {
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    let (image, _) = common::push_image(&s, "team/app", "v1", 3).await;
    // An SBOM attached to the image (`oras attach --artifact-type ...`).
    let sbom = push_artifact(
        &s,
        "team/app",
        None,
        (Some(CYCLONEDX), EMPTY, CYCLONEDX),
        Some(&image),
    )
    .await;
    // An SBOM pushed on its own by `oras push` (its artifact type says nothing).
    let pushed = push_artifact(
        &s,
        "team/app",
        Some("sbom"),
        (
            Some("application/vnd.unknown.artifact.v1"),
            EMPTY,
            "application/spdx+json",
        ),
        None,
    )
    .await;
    // A Sigstore bundle, and something nobody names.
    let bundle = push_artifact(
        &s,
        "team/app",
        None,
        (
            Some("application/vnd.dev.sigstore.bundle.v0.3+json"),
            EMPTY,
            "application/octet-stream",
        ),
        Some(&image),
    )
    .await;
    let other = push_artifact(
        &s,
        "team/app",
        Some("notes"),
        (Some("text/x-release-notes"), EMPTY, "text/plain"),
        None,
    )
    .await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let host = s.base.trim_start_matches("http://");

    let (status, page) = get(&s, &admin, &format!("/artifact?repo=team/app&ref={sbom}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text_of(&page, "artifact-kind"), "SBOM");
    assert_eq!(
        text_of(&page, "pull-digest"),
        format!("oras pull {host}/team/app@{sbom}")
    );
    assert!(!page.contains("docker pull"), "{page}");
    assert!(
        page.contains(&format!(
            "id=\"subject-link\" href=\"/artifact?repo=team%2Fapp&amp;ref={}\"",
            image.replace(':', "%3A")
        )),
        "{page}"
    );

    for (digest, kind) in [
        (&pushed, "SBOM"),
        (&bundle, "SIGNATURE"),
        (&other, "OCI artifact"),
    ] {
        let (_, page) = get(&s, &admin, &format!("/artifact?repo=team/app&ref={digest}")).await;
        assert_eq!(text_of(&page, "artifact-kind"), kind, "{digest}");
        assert!(
            text_of(&page, "pull-digest").starts_with("oras pull "),
            "{page}"
        );
    }
    let (_, page) = get(&s, &admin, &format!("/artifact?repo=team/app&ref={pushed}")).await;
    assert!(!page.contains("subject-link"), "no subject: {page}");
    assert!(
        page.contains(&format!("oras pull {host}/team/app:sbom")),
        "the tag's pull command: {page}"
    );

    // The image itself: docker pull, and no subject.
    let (_, page) = get(&s, &admin, &format!("/artifact?repo=team/app&ref={image}")).await;
    assert_eq!(text_of(&page, "artifact-kind"), "IMAGE");
    assert_eq!(
        text_of(&page, "pull-digest"),
        format!("docker pull {host}/team/app@{image}")
    );
    assert!(!page.contains("subject-link"));

    // The list: each row's type and pull command.
    let (_, list) = get(&s, &admin, "/repo?name=team/app").await;
    for d in [&image, &pushed, &other] {
        assert!(api_id(&list, d), "{d} listed: {list}");
    }
    assert!(
        list.contains(&format!("oras pull {host}/team/app@{pushed}")),
        "{list}"
    );
    assert!(
        list.contains(&format!("docker pull {host}/team/app@{image}")),
        "{list}"
    );
    assert!(list.contains("<td class=\"kind\">SBOM</td>"), "{list}");
    assert!(
        list.contains("<td class=\"kind\">OCI artifact</td>"),
        "{list}"
    );
}

/// How many artifacts `team/app` lists.
async fn count(s: &TestServer) -> usize {
    let path = "/api/v2.0/projects/team/repositories/app/artifacts";
    api(s, Method::GET, path, None)
        .await
        .as_array()
        .map_or(0, Vec::len)
}

/// Whether `page` links to the artifact `digest`.
fn api_id(page: &str, digest: &str) -> bool {
    page.contains(&format!("ref={}", digest.replace(':', "%3A")))
}

/// The digests of the artifacts a repository page lists, in order.
fn listed(page: &str) -> Vec<String> {
    let Some(at) = page.find("id=\"artifacts\"") else {
        return Vec::new();
    };
    let table = &page[at..page[at..].find("</table>").map_or(page.len(), |e| at + e)];
    table
        .split("type=\"checkbox\" name=\"ref\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn artifacts_filter_by_tag_type_and_label() {
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    let (v1, _) = common::push_image(&s, "team/app", "v1", 1).await;
    let (v2, _) = common::push_image(&s, "team/app", "v2", 2).await;
    let (dev, _) = common::push_image(&s, "team/app", "dev", 3).await;
    let chart = push_artifact(
        &s,
        "team/app",
        Some("chart-1"),
        (
            None,
            "application/vnd.cncf.helm.config.v1+json",
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        ),
        None,
    )
    .await;
    let label = common::send(
        &common::client(),
        &s,
        Method::POST,
        "/api/v2.0/labels",
        Some(json!({"name": "release", "scope": "g", "color": "#0b63c5"})),
    )
    .await;
    assert_eq!(label.status(), StatusCode::CREATED);
    let label_id = common::location_id(&label);
    api(
        &s,
        Method::POST,
        &format!("/api/v2.0/projects/team/repositories/app/artifacts/{v2}/labels"),
        Some(json!({"id": label_id})),
    )
    .await;
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let all = sorted(vec![v1.clone(), v2.clone(), dev.clone(), chart.clone()]);
    let cases: Vec<(String, Vec<String>)> = vec![
        ("".into(), all.clone()),
        (
            "&q=v".into(),
            sorted(vec![v1.clone(), v2.clone(), dev.clone()]),
        ),
        ("&q=de".into(), vec![dev.clone()]),
        ("&type=CHART".into(), vec![chart.clone()]),
        (
            "&type=IMAGE".into(),
            sorted(vec![v1.clone(), v2.clone(), dev.clone()]),
        ),
        (format!("&label={label_id}"), vec![v2.clone()]),
        (
            format!("&q=v&type=IMAGE&label={label_id}"),
            vec![v2.clone()],
        ),
        ("&q=dev&type=CHART".into(), vec![]),
        // What the filter does not offer is ignored; `q` syntax in the tag is dropped.
        ("&type=BOGUS&label=x".into(), all.clone()),
        ("&q=v%2Ctype%3DCHART".into(), vec![]),
    ];
    for (query, want) in cases {
        let (status, page) = get(&s, &admin, &format!("/repo?name=team/app{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(sorted(listed(&page)), want, "{query}");
        if want.is_empty() {
            assert!(
                page.contains("No artifacts match these filters."),
                "{query}"
            );
        }
    }
    // The form shows what is chosen, offers the labels, and a way back to everything.
    let (_, page) = get(
        &s,
        &admin,
        &format!("/repo?name=team/app&q=v&type=IMAGE&label={label_id}"),
    )
    .await;
    assert!(
        page.contains("<option value=\"IMAGE\" selected>IMAGE</option>"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "<option value=\"{label_id}\" selected>release (global)</option>"
        )),
        "{page}"
    );
    assert!(page.contains("id=\"clear-filters\""), "{page}");
    let (_, page) = get(&s, &admin, "/repo?name=team/app").await;
    assert!(!page.contains("id=\"clear-filters\""), "{page}");
}

#[tokio::test]
async fn selected_artifacts_are_deleted_after_a_confirmation_page() {
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    let mut digests = Vec::new();
    for (i, tag) in ["a", "b", "c", "d"].into_iter().enumerate() {
        digests.push(
            common::push_image(&s, "team/app", tag, 10 + i as u8)
                .await
                .0,
        );
    }
    let admin = sign_in(&s, "admin", ADMIN_PASSWORD).await;
    let (_, page) = get(&s, &admin, "/repo?name=team/app").await;
    assert!(page.contains("id=\"delete-selected\""), "{page}");
    assert!(page.contains("form=\"delete-selected\""), "{page}");
    let csrf = token(&page);

    // Choosing and pressing "Delete selected" only asks.
    let (status, confirm) = get(
        &s,
        &admin,
        &format!(
            "/repo/artifacts/delete?name=team%2Fapp&ref={}&ref={}",
            digests[0], digests[1]
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Delete 2 artifacts?"), "{confirm}");
    assert!(confirm.contains("id=\"confirm-delete\""), "{confirm}");
    assert_eq!(
        count(&s).await,
        4,
        "nothing deleted by the confirmation page"
    );
    // Nothing chosen: back to the list with a message.
    let (status, _) = get(&s, &admin, "/repo/artifacts/delete?name=team%2Fapp").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Without the session's token the confirmation is refused.
    let form = |t: &str, refs: &[&str]| {
        let mut f = vec![
            ("_csrf".to_owned(), t.to_owned()),
            ("name".to_owned(), "team/app".to_owned()),
        ];
        f.extend(refs.iter().map(|r| ("ref".to_owned(), (*r).to_owned())));
        f
    };
    let send = |f: Vec<(String, String)>| {
        let s = &s;
        let admin = admin.clone();
        async move {
            let pairs: Vec<(&str, &str)> =
                f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post(s, &admin, "/repo/artifacts/delete", &pairs).await
        }
    };
    let r = send(form("forged", &[&digests[0]])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(count(&s).await, 4);

    // Confirmed: both go, and the list says so.
    let r = send(form(&csrf, &[&digests[0], &digests[1]])).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(flash_of(&r), "ok:Deleted 2 artifacts.");
    assert_eq!(count(&s).await, 2);

    // One that exists and one that does not (deleted meanwhile): the page says which.
    let gone = &digests[0];
    let r = send(form(&csrf, &[&digests[2], gone])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Deleted 1 of 2 artifacts"), "{page}");
    assert!(page.contains("Deleted."), "{page}");
    assert!(page.contains("not found"), "{page}");
    assert_eq!(count(&s).await, 1);

    // A guest sees no checkboxes, and a forged selection deletes nothing: each artifact
    // says the API refused it.
    common::create_user(&s, "gus").await;
    common::add_member(&s, "team", "gus", 3).await;
    let gus = sign_in(&s, "gus", PASSWORD).await;
    let (_, page) = get(&s, &gus, "/repo?name=team/app").await;
    assert!(!page.contains("delete-selected"), "{page}");
    let gus_csrf = token(&get(&s, &gus, "/account").await.1);
    let pairs = [
        ("_csrf", gus_csrf.as_str()),
        ("name", "team/app"),
        ("ref", digests[3].as_str()),
    ];
    let r = post(&s, &gus, "/repo/artifacts/delete", &pairs).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Deleted 0 of 1 artifact"), "{page}");
    assert_eq!(count(&s).await, 1);
}

/// In the browser: the row checkboxes belong to the "Delete selected" form (its `form`
/// attribute, no script involved), which opens the confirmation page; only its button
/// deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_artifacts_are_deleted_from_the_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let s = TestServer::start().await;
    common::create_project(&s, "team", false).await;
    let mut digests = Vec::new();
    for (i, tag) in ["a", "b", "c"].into_iter().enumerate() {
        digests.push(
            common::push_image(&s, "team/app", tag, 30 + i as u8)
                .await
                .0,
        );
    }
    let base = s.base.clone();
    b.goto(&format!("{base}/login?next=%2Frepo%3Fname%3Dteam%252Fapp"))
        .await;
    b.fill("#username", "admin").await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#login").await;
    b.wait_for_text("#repo-title", "team/app").await;

    // Filter by tag from the form, then clear.
    b.fill("#q", "b").await;
    b.submit_form("#artifact-filters").await;
    b.wait_for("#clear-filters").await;
    assert_eq!(b.texts("#artifacts tbody tr").await.len(), 1);
    b.click("#clear-filters").await;
    b.wait_for_text("#artifacts", "c").await;
    assert_eq!(b.texts("#artifacts tbody tr").await.len(), 3);

    for d in &digests[..2] {
        b.click(&format!("#artifacts input[type=checkbox][value='{d}']"))
            .await;
    }
    b.submit_form("#delete-selected").await;
    b.wait_for("#confirm-delete").await;
    assert!(b.current_url().await.contains("/repo/artifacts/delete?"));
    let listed = b.text("#delete-selection").await;
    assert!(listed.contains('a') && listed.contains('b'), "{listed}");
    assert_eq!(count(&s).await, 3, "the confirmation page deletes nothing");
    b.click("#confirm-delete-button").await;
    b.wait_for_text("#flash", "Deleted 2 artifacts.").await;
    assert_eq!(count(&s).await, 1);
    assert_eq!(b.texts("#artifacts tbody tr").await.len(), 1);
    b.close().await;
}
