//! A real OpenLDAP server (`slapd`, found through `HARBOR_TEST_SLAPD`) on loopback with a
//! fixture directory: people in nested organisational units, groups of names with the
//! `memberof` overlay (so users carry `memberOf`), a search account, LDAP and LDAPS (a
//! self-signed certificate) listeners.
//!
//! ```text
//! dc=example,dc=com
//! ├── cn=reader                     the search DN (password "reader-pw")
//! ├── ou=people
//! │   ├── uid=alice                 Alice Liddell, alice@example.com
//! │   ├── uid=carol                 admins
//! │   ├── uid=twin                  (also in ou=engineering: ambiguous)
//! │   └── ou=engineering
//! │       ├── uid=bob               developers
//! │       └── uid=twin
//! └── ou=groups
//!     ├── cn=developers             alice, bob
//!     └── cn=admins                 carol
//! ```
//! Every user's password is `<uid>-Pw1`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings};

/// The directory's suffix.
pub const BASE: &str = "dc=example,dc=com";
/// Where users are.
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
/// Where groups are.
pub const GROUPS: &str = "ou=groups,dc=example,dc=com";
/// The search DN and its password.
pub const READER: (&str, &str) = ("cn=reader,dc=example,dc=com", "reader-pw");
const ROOT: (&str, &str) = ("cn=root,dc=example,dc=com", "root-pw");

/// A user's password in the fixture.
pub fn password(uid: &str) -> String {
    format!("{uid}-Pw1")
}

/// A running slapd, stopped when dropped.
pub struct Slapd {
    /// `ldap://127.0.0.1:<port>`.
    pub url: String,
    /// `ldaps://127.0.0.1:<port>` (self-signed certificate).
    pub ldaps_url: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Slapd {
    /// Starts slapd with the fixture, or `None` (the test skips) when `HARBOR_TEST_SLAPD`
    /// is not set; under `CI=true` a missing slapd fails the test.
    pub async fn start() -> Option<Slapd> {
        let slapd = harbor_storage::testing::service("HARBOR_TEST_SLAPD", "OpenLDAP slapd")?;
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| -> PathBuf { dir.path().join(name) };
        std::fs::create_dir(path("db")).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(path("cert.pem"), cert.pem()).unwrap();
        std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
        let schema = "/etc/ldap/schema";
        let modules = std::env::var("HARBOR_TEST_SLAPD_MODULES")
            .unwrap_or_else(|_| "/usr/lib/ldap".to_owned());
        let conf = format!(
            "include {schema}/core.schema\n\
             include {schema}/cosine.schema\n\
             include {schema}/inetorgperson.schema\n\
             include {schema}/nis.schema\n\
             modulepath {modules}\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             pidfile {d}/slapd.pid\n\
             TLSCertificateFile {d}/cert.pem\n\
             TLSCertificateKeyFile {d}/key.pem\n\
             database mdb\n\
             maxsize 67108864\n\
             suffix \"{BASE}\"\n\
             rootdn \"{root}\"\n\
             rootpw {rootpw}\n\
             directory {d}/db\n\
             access to attrs=userPassword by anonymous auth by self write by * none\n\
             access to * by users read by * none\n\
             overlay memberof\n",
            d = dir.path().display(),
            root = ROOT.0,
            rootpw = ROOT.1,
        );
        std::fs::write(path("slapd.conf"), conf).unwrap();
        let (port, tls_port) = (free_port(), free_port());
        let url = format!("ldap://127.0.0.1:{port}");
        let ldaps_url = format!("ldaps://127.0.0.1:{tls_port}");
        let child = tokio::process::Command::new(&slapd)
            .arg("-f")
            .arg(path("slapd.conf"))
            .arg("-h")
            .arg(format!("{url}/ {ldaps_url}/"))
            .arg("-d")
            .arg("0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {slapd}: {e}"));
        let s = Slapd {
            url,
            ldaps_url,
            _child: child,
            _dir: dir,
        };
        s.load().await;
        Some(s)
    }

    /// A connection bound as the directory's root.
    async fn root(&self) -> ldap3::Ldap {
        for _ in 0..100 {
            if let Ok((conn, mut ldap)) =
                LdapConnAsync::with_settings(LdapConnSettings::new(), &self.url).await
            {
                ldap3::drive!(conn);
                if ldap
                    .simple_bind(ROOT.0, ROOT.1)
                    .await
                    .and_then(|r| r.success())
                    .is_ok()
                {
                    return ldap;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("slapd did not start on {}", self.url);
    }

    /// Adds an entry.
    pub async fn add(&self, dn: &str, attrs: &[(&str, &[&str])]) {
        let mut ldap = self.root().await;
        let attrs: Vec<(&str, HashSet<&str>)> = attrs
            .iter()
            .map(|(k, v)| (*k, v.iter().copied().collect()))
            .collect();
        ldap.add(dn, attrs)
            .await
            .unwrap()
            .success()
            .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        let _ = ldap.unbind().await;
    }

    async fn load(&self) {
        let person = |uid: &'static str, cn: &'static str| (uid, cn);
        self.add(
            BASE,
            &[
                ("objectClass", &["dcObject", "organization"]),
                ("o", &["Example"]),
                ("dc", &["example"]),
            ],
        )
        .await;
        self.add(
            READER.0,
            &[
                (
                    "objectClass",
                    &["organizationalRole", "simpleSecurityObject"],
                ),
                ("cn", &["reader"]),
                ("userPassword", &[READER.1]),
            ],
        )
        .await;
        for ou in [PEOPLE, "ou=engineering,ou=people,dc=example,dc=com", GROUPS] {
            let name = ou.split(',').next().unwrap().trim_start_matches("ou=");
            self.add(
                ou,
                &[("objectClass", &["organizationalUnit"]), ("ou", &[name])],
            )
            .await;
        }
        for ((uid, cn), ou) in [
            (person("alice", "Alice Liddell"), PEOPLE),
            (person("carol", "Carol Admin"), PEOPLE),
            (person("twin", "Twin One"), PEOPLE),
            (
                person("bob", "Bob Builder"),
                "ou=engineering,ou=people,dc=example,dc=com",
            ),
            (
                person("twin", "Twin Two"),
                "ou=engineering,ou=people,dc=example,dc=com",
            ),
        ] {
            let mail = format!("{uid}@example.com");
            let pw = password(uid);
            let sn = cn.split(' ').next_back().unwrap();
            self.add(
                &format!("uid={uid},{ou}"),
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("uid", &[uid]),
                    ("cn", &[cn]),
                    ("sn", &[sn]),
                    ("mail", &[&mail]),
                    ("userPassword", &[&pw]),
                ],
            )
            .await;
        }
        self.add(
            &format!("cn=developers,{GROUPS}"),
            &[
                ("objectClass", &["groupOfNames"]),
                ("cn", &["developers"]),
                (
                    "member",
                    &[
                        "uid=alice,ou=people,dc=example,dc=com",
                        "uid=bob,ou=engineering,ou=people,dc=example,dc=com",
                    ],
                ),
            ],
        )
        .await;
        self.add(
            &format!("cn=admins,{GROUPS}"),
            &[
                ("objectClass", &["groupOfNames"]),
                ("cn", &["admins"]),
                ("member", &["uid=carol,ou=people,dc=example,dc=com"]),
            ],
        )
        .await;
    }
}
