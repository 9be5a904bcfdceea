//! The login throttle over HTTP: failed sign-ins on every endpoint that checks a password
//! (`/c/login`, the portal's `/login`, `/service/token`, Basic on `/v2/` and `/api/v2.0`)
//! are counted per account at a client address, per address and per account, and
//! refused with `429` and `Retry-After` over the limits, without locking the owner out
//! from an address of their own and without telling accounts that exist from those that
//! do not. Clients come from distinct loopback addresses (127.0.0.0/8 is all local).

use std::net::IpAddr;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

use crate::common::*;

/// A client whose connections come from `addr`.
fn from(addr: &str) -> Client {
    Client::builder()
        .local_address(addr.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The endpoints that check a password.
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    SessionLogin,
    PortalLogin,
    Token,
    Registry,
    Api,
}

const ENDPOINTS: [Endpoint; 5] = [
    Endpoint::SessionLogin,
    Endpoint::PortalLogin,
    Endpoint::Token,
    Endpoint::Registry,
    Endpoint::Api,
];

/// Signs in as `user` with `password` from `c` through `e`.
async fn sign_in(s: &TestServer, c: &Client, e: Endpoint, user: &str, password: &str) -> Response {
    let form = |names: (&str, &str)| {
        format!(
            "{}={}&{}={}",
            names.0,
            form_urlencoded::byte_serialize(user.as_bytes()).collect::<String>(),
            names.1,
            form_urlencoded::byte_serialize(password.as_bytes()).collect::<String>()
        )
    };
    let req = match e {
        Endpoint::SessionLogin => c
            .post(s.url("/c/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(("principal", "password"))),
        Endpoint::PortalLogin => c
            .post(s.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(("username", "password"))),
        Endpoint::Token => c
            .get(s.url("/service/token?service=harbor-registry&scope=repository:library/app:pull"))
            .basic_auth(user, Some(password)),
        Endpoint::Registry => c.get(s.url("/v2/")).basic_auth(user, Some(password)),
        Endpoint::Api => c
            .get(s.url("/api/v2.0/users/current"))
            .basic_auth(user, Some(password)),
    };
    req.send().await.unwrap()
}

/// Whether `e` accepted the credentials.
fn accepted(e: Endpoint, r: &Response) -> bool {
    match e {
        // The portal redirects after a successful sign-in.
        Endpoint::PortalLogin => r.status() == StatusCode::SEE_OTHER,
        _ => r.status() == StatusCode::OK,
    }
}

/// Asserts a throttled answer.
async fn assert_throttled(e: Endpoint, r: Response) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{e:?}");
    let body = r.text().await.unwrap();
    assert!(
        body.contains("too many failed sign-in attempts"),
        "{e:?}: {body}"
    );
}

/// Asserts a throttled answer and returns its `Retry-After` in seconds (the portal's
/// page says it in words only).
async fn retry_after(e: Endpoint, r: Response) -> Option<u64> {
    let secs = header(r.headers(), "retry-after").and_then(|v| v.parse().ok());
    assert_throttled(e, r).await;
    secs
}

#[tokio::test]
async fn every_sign_in_endpoint_is_throttled_per_account_and_address() {
    let s = TestServer::start_strict().await;
    for (i, e) in ENDPOINTS.into_iter().enumerate() {
        let user = format!("user{i}");
        create_user(&s, &user).await;
        // Each endpoint from its own address, so that only this account's counters grow.
        let attacker = from(&format!("127.0.0.{}", 11 + i));
        for n in 0..5 {
            let r = sign_in(&s, &attacker, e, &user, "Wrong-passw0rd").await;
            assert!(!accepted(e, &r), "{e:?} accepted a wrong password");
            assert_ne!(
                r.status(),
                StatusCode::TOO_MANY_REQUESTS,
                "{e:?} attempt {n}"
            );
        }
        // Locked now, even with the right password, on this and on every other endpoint.
        let r = sign_in(&s, &attacker, e, &user, PASSWORD).await;
        match retry_after(e, r).await {
            Some(secs) => assert!((1..=30).contains(&secs), "{e:?}: Retry-After {secs}"),
            None => assert!(matches!(e, Endpoint::PortalLogin), "{e:?}: no Retry-After"),
        }
        for other in ENDPOINTS {
            let r = sign_in(&s, &attacker, other, &user, PASSWORD).await;
            assert_throttled(other, r).await;
        }
        // The owner, from another address, signs in.
        let owner = from(&format!("127.0.0.{}", 111 + i));
        let r = sign_in(&s, &owner, e, &user, PASSWORD).await;
        assert!(accepted(e, &r), "{e:?}: owner locked out: {}", r.status());
    }
}

#[tokio::test]
async fn an_address_is_throttled_across_accounts() {
    let s = TestServer::start_configured(|c| {
        c.auth.login_throttle.max_failures_per_address = 4;
    })
    .await;
    for name in ["a1", "a2", "a3", "a4", "a5"] {
        create_user(&s, name).await;
    }
    let attacker = from("127.0.0.21");
    for name in ["a1", "a2", "a3", "a4"] {
        let r = sign_in(&s, &attacker, Endpoint::Api, name, "Wrong-passw0rd").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in(&s, &attacker, Endpoint::Api, "a5", PASSWORD).await;
    assert_throttled(Endpoint::Api, r).await;
    let r = sign_in(&s, &from("127.0.0.22"), Endpoint::Api, "a5", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_distributed_attack_gets_one_try_per_address_and_the_owner_gets_in() {
    let s = TestServer::start_configured(|c| {
        c.auth.login_throttle.max_failures_per_account = 3;
    })
    .await;
    create_user(&s, "target").await;
    let e = Endpoint::Token;
    for i in 1..=3 {
        let r = sign_in(
            &s,
            &from(&format!("127.0.1.{i}")),
            e,
            "target",
            "Wrong-passw0rd",
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The account is under attack: addresses that failed on it are out...
    let r = sign_in(&s, &from("127.0.1.1"), e, "target", PASSWORD).await;
    assert_throttled(e, r).await;
    // ... a new address gets one try ...
    let newcomer = from("127.0.1.4");
    let r = sign_in(&s, &newcomer, e, "target", "Wrong-passw0rd").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = sign_in(&s, &newcomer, e, "target", "Wrong-passw0rd").await;
    assert_throttled(e, r).await;
    // ... and the owner, from an address of their own, signs in.
    let r = sign_in(&s, &from("127.0.1.50"), e, "target", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn refusals_do_not_tell_accounts_apart_and_forwarding_headers_are_not_believed() {
    let s = TestServer::start_strict().await;
    create_user(&s, "alice").await;
    let mut bodies = Vec::new();
    for (user, addr) in [("alice", "127.0.0.31"), ("ghost", "127.0.0.32")] {
        let c = from(addr);
        let mut seen = Vec::new();
        for n in 0..6 {
            // A client behind no trusted proxy cannot pick the address it is counted
            // under: a new X-Forwarded-For every time changes nothing.
            let r = c
                .get(s.url("/api/v2.0/users/current"))
                .basic_auth(user, Some("Wrong-passw0rd"))
                .header("x-forwarded-for", format!("198.51.100.{n}"))
                .send()
                .await
                .unwrap();
            seen.push((r.status(), r.text().await.unwrap()));
        }
        bodies.push(seen);
    }
    assert_eq!(
        bodies[0], bodies[1],
        "an existing and a missing account answer alike"
    );
    let statuses: Vec<StatusCode> = bodies[0].iter().map(|(st, _)| *st).collect();
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    let body: Value = serde_json::from_str(&bodies[0][5].1).unwrap();
    assert_eq!(body["errors"][0]["code"], "TOO_MANY_REQUESTS");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_locks_survive_a_restart() {
    let s = TestServer::start_configured(|c| {
        c.auth.trusted_proxies = vec!["127.0.0.40/32".into()];
    })
    .await;
    create_user(&s, "bob").await;
    let proxy = from("127.0.0.40");
    let via = |client_addr: &'static str, password: &'static str| {
        let r = proxy
            .get(s.url("/v2/"))
            .basic_auth("bob", Some(password))
            .header("x-forwarded-for", client_addr)
            .send();
        async move { r.await.unwrap().status() }
    };
    for _ in 0..5 {
        assert_eq!(
            via("198.51.100.7", "Wrong-passw0rd").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        via("198.51.100.7", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not locked out.
    assert_eq!(via("198.51.100.8", PASSWORD).await, StatusCode::OK);
    // The counters live in the database: a restarted server (or another replica)
    // refuses the locked client too.
    let s = s.restart().await;
    let r = proxy
        .get(s.url("/v2/"))
        .basic_auth("bob", Some(PASSWORD))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Two replicas on one PostgreSQL + S3 share the counters (skipped without them, except
/// under `CI=true`).
#[tokio::test]
async fn replicas_share_the_throttle() {
    let Some(scaled) = Scaled::create().await else {
        return;
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestServer::start_with(d1.path(), |c| scaled.apply(c)).await;
    let b = TestServer::start_with(d2.path(), |c| scaled.apply(c)).await;
    create_user(&a, "carol").await;
    let attacker = from("127.0.0.51");
    for n in 0..5 {
        // Failures alternate between the replicas.
        let s = if n % 2 == 0 { &a } else { &b };
        let r = sign_in(s, &attacker, Endpoint::Registry, "carol", "Wrong-passw0rd").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    for s in [&a, &b] {
        let r = sign_in(s, &attacker, Endpoint::Registry, "carol", PASSWORD).await;
        assert_throttled(Endpoint::Registry, r).await;
    }
}

/// The case, as documented in security.md: 50 wrong passwords in a row from one
/// address. The first 5 are checked (`401`), the 45 after them refused unchecked (`429`
/// with `Retry-After`, after the refusal delay), the right password too from that
/// address; from another address the owner signs in at once.
#[tokio::test]
async fn fifty_wrong_passwords_in_a_row_are_refused_and_the_owner_still_gets_in() {
    let s = TestServer::start_configured(|c| {
        c.auth.login_throttle.refusal_delay_ms = 20;
    })
    .await;
    create_user(&s, "victim").await;
    let attacker = from("127.0.2.1");
    let e = Endpoint::Token;
    let (mut checked, mut refused) = (0, 0);
    for _ in 0..50 {
        let r = sign_in(&s, &attacker, e, "victim", "Wrong-passw0rd").await;
        match r.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.headers().contains_key("retry-after"));
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((checked, refused), (5, 45));
    let r = sign_in(&s, &attacker, e, "victim", PASSWORD).await;
    assert_throttled(e, r).await;
    let r = sign_in(&s, &from("127.0.2.2"), e, "victim", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
}
