//! The command line, as clap definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

const EXIT_CODES: &str = "\
Exit codes: 0 success, 1 request refused (bad input, conflict), 2 usage error,
3 authentication or permission failure, 4 not found, 5 server error or unreachable.

The server and credentials come from --url/--username, HARBOR_URL/HARBOR_USERNAME/
HARBOR_PASSWORD, or the file `harbor login` writes (HARBOR_CLI_CONFIG, default
~/.config/harbor/config.json, mode 0600; HARBOR_CONFIG is the server's file and is
ignored here).";

/// Administer a Harbor-rs (or Harbor) registry through its REST API.
#[derive(Debug, Parser)]
#[command(name = "harbor", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Server URL, e.g. https://registry.example.com.
    #[arg(long, global = true, env = "HARBOR_URL")]
    pub url: Option<String>,
    /// Username or robot login (robot$...).
    #[arg(long, short = 'u', global = true, env = "HARBOR_USERNAME")]
    pub username: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Print ids (or names) only.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// A PEM CA certificate to trust (servers with a private CA).
    #[arg(long, global = true, env = "HARBOR_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the server's certificate (testing only).
    #[arg(long, global = true)]
    pub insecure: bool,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check credentials and store them with the server URL.
    Login(Login),
    /// Forget the stored login.
    Logout,
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Repositories.
    #[command(subcommand, name = "repo")]
    Repo(RepoCmd),
    /// User accounts (administrators).
    #[command(subcommand)]
    User(UserCmd),
    /// Settings by topic (administrators).
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Project members and their roles.
    #[command(subcommand)]
    Member(MemberCmd),
    /// User groups (administrators; `search` for anyone signed in).
    #[command(subcommand)]
    Group(GroupCmd),
    /// Robot accounts.
    #[command(subcommand)]
    Robot(RobotCmd),
    /// Artifacts and their tags and labels.
    #[command(subcommand)]
    Artifact(ArtifactCmd),
    /// Project storage quotas.
    #[command(subcommand)]
    Quota(QuotaCmd),
    /// Labels.
    #[command(subcommand)]
    Label(LabelCmd),
    /// Tag immutability rules.
    #[command(subcommand)]
    Immutable(ImmutableCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// System information, health, read-only mode, the storage check and the job queues.
    #[command(subcommand)]
    System(SystemCmd),
    /// Garbage collection: runs, their history and logs, and the schedule
    /// (administrators).
    #[command(subcommand)]
    Gc(GcCmd),
    /// Tag retention policies of projects and their runs.
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Webhook policies of projects, their executions and logs.
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Remote registries replication and proxy-cache projects talk to
    /// (administrators).
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// Replication policies and their executions (administrators).
    #[command(subcommand)]
    Replication(ReplicationCmd),
    /// The built-in vulnerability scanner.
    #[command(subcommand)]
    Scanner(ScannerCmd),
    /// Scan an artifact for vulnerabilities (or make its SBOM) with the project's scanner.
    Scan {
        /// `project/repository:tag` or `project/repository@digest`.
        artifact: String,
        /// Generate an SBOM instead.
        #[arg(long)]
        sbom: bool,
        /// Wait for the scan to end and print its summary; exit 1 unless it succeeded.
        #[arg(long)]
        wait: bool,
    },
    /// Vulnerabilities of scanned artifacts.
    #[command(subcommand)]
    Vuln(VulnCmd),
    /// Software bills of materials (SBOMs) of artifacts.
    #[command(subcommand)]
    Sbom(SbomCmd),
    /// Scan every image in the registry, by hand or on a schedule (administrators).
    #[command(subcommand, name = "scan-all")]
    ScanAll(ScanAllCmd),
    /// The security hub: vulnerabilities across every artifact the default scanner
    /// scanned (administrators).
    #[command(subcommand)]
    Security(SecurityCmd),
    /// CVE exports: a project's vulnerabilities as CSV, made by a job.
    #[command(subcommand, name = "cve-export")]
    CveExport(CveExportCmd),
    /// CVE allowlists: the system list and projects' own (what "prevent vulnerable
    /// images from running" lets through).
    #[command(subcommand)]
    Allowlist(AllowlistCmd),
    /// Signatures: the keys a project trusts and an artifact's signature status
    /// (`enable_content_trust_cosign` and `enable_content_trust` refuse unsigned pulls).
    #[command(subcommand)]
    Signature(SignatureCmd),
    /// Maintenance on the database and storage directly, without a server connection
    /// (the URLs are the server's). Safe beside running servers except where a command
    /// says otherwise (copy-metadata; fsck --repair with a grace of 0).
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Print a shell completion script.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `harbor signature ...`.
#[derive(Debug, Subcommand)]
pub enum SignatureCmd {
    /// The keys a project trusts: with keys of a kind, signatures of that kind must
    /// verify with one of them.
    #[command(subcommand)]
    Keys(SignatureKeysCmd),
    /// Whether an artifact is signed, and verified by which trusted key.
    Status {
        /// `project/repository:tag` or `project/repository@digest`.
        artifact: String,
    },
}

/// `harbor signature keys ...`.
#[derive(Debug, Subcommand)]
pub enum SignatureKeysCmd {
    /// List a project's trusted keys.
    List {
        /// The project.
        project: String,
    },
    /// Trust a key (project administrators): a cosign public key (`cosign.pub`, ECDSA
    /// P-256) or a Notation root certificate, as PEM.
    Add {
        /// The project.
        project: String,
        /// Its name in the project.
        #[arg(long)]
        name: String,
        /// `cosign` or `notation`.
        #[arg(long, default_value = "cosign")]
        kind: String,
        /// The PEM file.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Stop trusting a key.
    Delete {
        /// The project.
        project: String,
        /// The key's id (`harbor signature keys list`).
        id: i64,
    },
}

/// `harbor vuln ...`.
#[derive(Debug, Subcommand)]
pub enum VulnCmd {
    /// The vulnerabilities the last scan found, most severe first.
    List {
        /// `project/repository:tag` or `project/repository@digest`.
        artifact: String,
        /// Only these and more severe: low, medium, high, critical.
        #[arg(long)]
        severity: Option<String>,
        /// Only those with a fixed version.
        #[arg(long)]
        fixable: bool,
    },
}

/// `harbor sbom ...`.
#[derive(Debug, Subcommand)]
pub enum SbomCmd {
    /// Print an artifact's SBOM (SPDX JSON), as the last SBOM scan stored it.
    Get {
        /// `project/repository:tag` or `project/repository@digest`.
        artifact: String,
        /// Write it to this file instead of standard output.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
}

/// `harbor scan-all ...`.
#[derive(Debug, Subcommand)]
pub enum ScanAllCmd {
    /// Scan every image now; with --wait, follow the scans and print the outcome (exit 1
    /// if a scan failed or the run was stopped).
    Run {
        /// Wait until every scan has ended.
        #[arg(long)]
        wait: bool,
    },
    /// What the latest run queued, by status.
    Status,
    /// Stop the latest run and the scans it queued that have not ended.
    Stop,
    /// Past runs, newest first.
    History {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show the schedule, or change it.
    Schedule {
        /// Set or remove it (without: show it).
        #[command(subcommand)]
        action: Option<ScanAllScheduleCmd>,
    },
}

/// `harbor scan-all schedule ...`.
#[derive(Debug, Subcommand)]
pub enum ScanAllScheduleCmd {
    /// Scan everything on a schedule.
    Set {
        /// How often.
        #[arg(value_enum)]
        every: ScheduleKind,
        /// Six-field cron (seconds first), for `custom`, e.g. "0 30 2 * * *".
        #[arg(long)]
        cron: Option<String>,
    },
    /// Remove the schedule.
    #[command(name = "none")]
    Remove,
}

/// `harbor security ...`.
#[derive(Debug, Subcommand)]
pub enum SecurityCmd {
    /// Vulnerability counts, and the five most dangerous CVEs and artifacts.
    Summary,
    /// Vulnerabilities found in artifacts, highest CVSS v3 score first.
    Vulns {
        /// Only this CVE.
        #[arg(long)]
        cve: Option<String>,
        /// Only this severity: critical, high, medium, low, negligible, unknown.
        #[arg(long)]
        severity: Option<String>,
        /// Only artifacts of this project (name or id).
        #[arg(long)]
        project: Option<String>,
        /// Only this repository (`project/name`).
        #[arg(long)]
        repository: Option<String>,
        /// Only this package.
        #[arg(long)]
        package: Option<String>,
        /// Only artifacts with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Only the artifact with this digest.
        #[arg(long)]
        digest: Option<String>,
        /// Only CVSS v3 scores in `MIN~MAX` (either may be left out: `7~`).
        #[arg(long, value_name = "MIN~MAX")]
        score: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

/// `harbor cve-export ...`. Only the user who made an export sees it.
#[derive(Debug, Subcommand)]
pub enum CveExportCmd {
    /// Export a project's vulnerabilities to CSV (project administrators, maintainers and
    /// developers); prints the export's id. Patterns are doublestar (`{a,b}`, `*`, `**`).
    Create {
        /// The project (name or id).
        project: String,
        /// A name for the job.
        #[arg(long, default_value = "")]
        name: String,
        /// Only repositories (without the project) matching this pattern.
        #[arg(long, value_name = "PATTERN", default_value = "")]
        repositories: String,
        /// Only artifacts with a tag matching this pattern.
        #[arg(long, value_name = "PATTERN", default_value = "")]
        tags: String,
        /// Only CVE ids matching this pattern (`{CVE-2024-1,CVE-2024-2}`).
        #[arg(long, value_name = "PATTERN", default_value = "")]
        cve_ids: String,
        /// Only artifacts with one of these labels (ids; repeat or separate by commas).
        #[arg(long = "label", value_name = "ID", value_delimiter = ',')]
        labels: Vec<i64>,
        /// Wait for the export to end and print it; exit 1 unless it succeeded.
        #[arg(long)]
        wait: bool,
    },
    /// Your exports, newest first.
    List,
    /// One of your exports.
    Get {
        /// The export's id.
        id: i64,
    },
    /// Save an export's CSV (kept for a day after it was made).
    Download {
        /// The export's id.
        id: i64,
        /// Where to write it (`-` for standard output; default
        /// `scandata_export_<id>.csv`).
        #[arg(long, short = 'f', value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// `harbor allowlist ...`.
#[derive(Debug, Subcommand)]
pub enum AllowlistCmd {
    /// Show the system allowlist, or a project's own and which list applies to it.
    Get {
        /// The project (default: the system list).
        #[arg(long, short = 'p')]
        project: Option<String>,
    },
    /// Replace the system allowlist (administrators) or a project's own (its
    /// administrators) with the given ids; none empties it. A project uses its own list
    /// once `reuse_sys_cve_allowlist` is false (`harbor project meta-set`).
    Set {
        /// The project (default: the system list).
        #[arg(long, short = 'p')]
        project: Option<String>,
        /// A CVE id (CVE-2021-44228) or another advisory id (GHSA-...); repeat the flag or
        /// separate ids with commas.
        #[arg(long = "cve", value_delimiter = ',')]
        cves: Vec<String>,
        /// When the list stops applying: an RFC 3339 time, Unix seconds, or `never`.
        #[arg(long, default_value = "never")]
        expires: String,
    },
}

/// `harbor scanner ...`.
#[derive(Debug, Subcommand)]
pub enum ScannerCmd {
    /// The vulnerability database the built-in scanner matches against.
    #[command(subcommand)]
    Db(ScannerDbCmd),
}

/// `harbor scanner db ...`.
#[derive(Debug, Subcommand)]
pub enum ScannerDbCmd {
    /// Import OSV data (administrators): an `all.zip` as the OSV project publishes it, or
    /// a directory of OSV JSON records (zipped and uploaded). It replaces the current
    /// database once every record is stored; a malformed record fails the import and
    /// keeps the current one. The server never downloads vulnerability data itself.
    Import {
        /// A zip archive or a directory.
        path: std::path::PathBuf,
        /// What to call the data (default: the file or directory name).
        #[arg(long)]
        source: Option<String>,
    },
    /// The database's version (its newest record), size and age.
    Status,
}

/// `harbor registry ...`. A registry is named by its id or its name.
#[derive(Debug, Subcommand)]
pub enum RegistryCmd {
    /// List registries.
    List {
        /// Only names containing this.
        #[arg(long)]
        name: Option<String>,
    },
    /// Add a registry. The secret of --access-key is read from standard input
    /// (--secret-stdin) or HARBOR_REGISTRY_SECRET; it is stored sealed and never shown
    /// again.
    Add {
        /// Unique name.
        name: String,
        /// `docker-registry` (any OCI registry), `harbor` or `docker-hub`.
        #[arg(long = "type", default_value = "docker-registry")]
        kind: String,
        /// The registry's base URL, such as https://registry.example.com (Docker Hub's
        /// is fixed).
        #[arg(long, default_value = "")]
        endpoint: String,
        /// The registry user name or access key (none: anonymous access).
        #[arg(long)]
        access_key: Option<String>,
        /// Read the secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// The secret (visible in the process list: prefer --secret-stdin).
        #[arg(long, env = "HARBOR_REGISTRY_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Do not verify its TLS certificate.
        #[arg(long)]
        insecure: bool,
        /// A PEM file of CA certificates to verify it with.
        #[arg(long)]
        ca_cert: Option<std::path::PathBuf>,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a registry.
    Show {
        /// Id or name.
        registry: String,
    },
    /// Change a registry's settings.
    Update {
        /// Id or name.
        registry: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New base URL.
        #[arg(long)]
        endpoint: Option<String>,
        /// New user name or access key ("" for anonymous access).
        #[arg(long)]
        access_key: Option<String>,
        /// Read a new secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Verify (false) or skip (true) TLS verification.
        #[arg(long)]
        insecure: Option<bool>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Check that a registry answers and accepts its credential (updates its status).
    Ping {
        /// Id or name.
        registry: String,
    },
    /// What replication can do with a registry.
    Info {
        /// Id or name.
        registry: String,
    },
    /// Delete a registry (refused while a replication policy uses it).
    Delete {
        /// Id or name.
        registry: String,
    },
    /// The registry types this server supports.
    Types,
}

/// `harbor replication ...`. A policy is named by its id or its name.
#[derive(Debug, Subcommand)]
pub enum ReplicationCmd {
    /// Replication policies.
    #[command(subcommand)]
    Policy(ReplicationPolicyCmd),
    /// Start an execution of a policy.
    Run {
        /// Policy id or name.
        policy: String,
        /// Wait for it to end, with a progress bar; exit 1 unless it succeeded.
        #[arg(long)]
        wait: bool,
    },
    /// A policy's executions (all policies' without --policy), newest first.
    Executions {
        /// Policy id or name.
        #[arg(long)]
        policy: Option<String>,
    },
    /// An execution's tasks (one per source repository).
    Tasks {
        /// Execution id.
        execution: i64,
    },
    /// A task's log; all tasks' logs of the execution without a task id.
    Logs {
        /// Execution id.
        execution: i64,
        /// Task id.
        task: Option<i64>,
    },
    /// Stop an execution.
    Stop {
        /// Execution id.
        execution: i64,
    },
}

/// `harbor replication policy ...`.
#[derive(Debug, Subcommand)]
pub enum ReplicationPolicyCmd {
    /// List policies.
    List,
    /// Show a policy (as Harbor's JSON with -o json).
    Show {
        /// Policy id or name.
        policy: String,
    },
    /// Create a policy: push to --to a registry, or pull from --from one.
    Create {
        /// Unique name.
        name: String,
        /// Pull from this registry (id or name) into this one.
        #[arg(long, conflicts_with = "to", required_unless_present = "to")]
        from: Option<String>,
        /// Push from this registry to this one (id or name).
        #[arg(long)]
        to: Option<String>,
        /// Repositories to copy: a doublestar pattern on the full name (library/**).
        #[arg(long)]
        name_filter: Option<String>,
        /// Tags to copy: a doublestar pattern.
        #[arg(long)]
        tag_filter: Option<String>,
        /// The tag pattern excludes instead.
        #[arg(long)]
        exclude_tags: bool,
        /// Destination namespace (empty: the source's names).
        #[arg(long, default_value = "")]
        dest_namespace: String,
        /// How many leading path components the namespace replaces (-1: all but the
        /// last).
        #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
        replace_count: i8,
        /// `manual`, `event_based` (push only) or a six-field cron (`0 0 2 * * *`).
        #[arg(long, default_value = "manual")]
        trigger: String,
        /// Replicate deletes (event-based).
        #[arg(long)]
        deletion: bool,
        /// Keep destination tags that point elsewhere (default: overwrite them).
        #[arg(long)]
        no_override: bool,
        /// Bandwidth per task in kilobits per second (0: unlimited).
        #[arg(long, default_value_t = 0)]
        speed: i32,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Enable or disable a policy.
    Enable {
        /// Policy id or name.
        policy: String,
        /// `false` disables it.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        on: bool,
    },
    /// Delete a policy and its executions (refused while one is in progress).
    Delete {
        /// Policy id or name.
        policy: String,
    },
}

/// `harbor login`.
#[derive(Debug, Args)]
pub struct Login {
    /// Server URL.
    pub server: String,
    /// Read the password (or robot secret) from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The password (visible to other local users in the process list: prefer
    /// --password-stdin or HARBOR_PASSWORD).
    #[arg(long, short = 'p', env = "HARBOR_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// `harbor project ...`.
#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    /// List projects you can see.
    List {
        /// Only names containing this.
        #[arg(long)]
        name: Option<String>,
    },
    /// Create a project (private unless --public).
    Create {
        /// Name.
        name: String,
        /// Anyone may pull.
        #[arg(long)]
        public: bool,
        /// Storage limit in bytes (-1 unlimited), where the server has quotas.
        #[arg(long, allow_negative_numbers = true)]
        storage_limit: Option<i64>,
        /// Make it a proxy cache of this registry endpoint (id or name; system
        /// administrators): pulls of `<project>/<name>` fetch `<name>` from it.
        #[arg(long, value_name = "REGISTRY")]
        proxy_cache: Option<String>,
    },
    /// Show a project and its summary.
    Show {
        /// Name.
        name: String,
    },
    /// Change a project.
    Update {
        /// Name.
        name: String,
        /// Make it public (true) or private (false).
        #[arg(long, action = clap::ArgAction::Set)]
        public: bool,
    },
    /// Delete an empty project.
    Delete {
        /// Name.
        name: String,
    },
    /// Show a project's metadata (public, severity, auto_scan, ...).
    Meta {
        /// Name.
        name: String,
    },
    /// Set metadata keys: `harbor project meta-set team severity=high reuse_sys_cve_allowlist=true`.
    /// Keys for features this server does not have yet are refused by name.
    MetaSet {
        /// Name.
        name: String,
        /// `key=value` pairs.
        #[arg(required = true, value_parser = parse_key_value)]
        values: Vec<(String, String)>,
    },
    /// Remove a metadata key.
    MetaUnset {
        /// Name.
        name: String,
        /// The key.
        key: String,
    },
}

/// `key=value`.
fn parse_key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected key=value"))?;
    if k.is_empty() {
        return Err(format!("{s:?}: the key is empty"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// `harbor repo ...`.
#[derive(Debug, Subcommand)]
pub enum RepoCmd {
    /// List a project's repositories.
    List {
        /// Project.
        project: String,
    },
    /// Show a repository (`project/name`).
    Show {
        /// Repository.
        repository: String,
    },
    /// Set a repository's description.
    Describe {
        /// Repository.
        repository: String,
        /// The new description (empty to clear it).
        description: String,
    },
    /// Delete a repository with all its artifacts.
    Delete {
        /// Repository.
        repository: String,
    },
}

/// `harbor user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// List users.
    List {
        /// Only usernames containing this.
        #[arg(long)]
        name: Option<String>,
    },
    /// Create a user; the password comes from standard input.
    Create {
        /// Username.
        #[arg(value_name = "USERNAME")]
        user: String,
        /// E-mail.
        #[arg(long)]
        email: String,
        /// Display name (default: the username).
        #[arg(long)]
        realname: Option<String>,
        /// Free text.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Show a user.
    Show {
        /// Username.
        #[arg(value_name = "USERNAME")]
        user: String,
    },
    /// Delete a user.
    Delete {
        /// Username.
        #[arg(value_name = "USERNAME")]
        user: String,
    },
    /// Grant (true) or revoke (false) system administration.
    SetAdmin {
        /// Username.
        #[arg(value_name = "USERNAME")]
        user: String,
        /// true or false.
        #[arg(action = clap::ArgAction::Set)]
        admin: bool,
    },
    /// Set a password, read from standard input (your own: the old one first, on its own
    /// line).
    Passwd {
        /// Username.
        #[arg(value_name = "USERNAME")]
        user: String,
    },
    /// Show the CLI secret of a user who signs in through OIDC (yours by default;
    /// administrators may name another user), or with --set change it to the secret read
    /// from standard input (8 to 128 characters with an upper-case letter, a lower-case
    /// letter and a digit).
    CliSecret {
        /// Username (default: yourself).
        #[arg(value_name = "USERNAME")]
        user: Option<String>,
        /// Set the secret read from standard input.
        #[arg(long)]
        set: bool,
    },
}

/// A project role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything in the project (1).
    #[value(alias = "admin", alias = "projectAdmin")]
    ProjectAdmin,
    /// Push and pull (2).
    Developer,
    /// Pull (3).
    Guest,
    /// Push, pull, delete, and more (4).
    Maintainer,
    /// Pull only, no listing of members or logs (5).
    #[value(alias = "limitedGuest")]
    LimitedGuest,
}

impl Role {
    /// Harbor's role id.
    pub fn id(self) -> i64 {
        match self {
            Role::ProjectAdmin => 1,
            Role::Developer => 2,
            Role::Guest => 3,
            Role::Maintainer => 4,
            Role::LimitedGuest => 5,
        }
    }
}

/// `harbor member ...`.
#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    /// List a project's members.
    List {
        /// Project.
        project: String,
    },
    /// Add a user, or with --group a user group, to a project.
    Add {
        /// Project.
        project: String,
        /// Username.
        #[arg(
            value_name = "USERNAME",
            required_unless_present = "group",
            conflicts_with = "group"
        )]
        user: Option<String>,
        /// A user group instead of a user: its id, or its name (unique across types).
        #[arg(long, value_name = "NAME_OR_ID")]
        group: Option<String>,
        /// Role.
        #[arg(long, value_enum, default_value_t = Role::Developer)]
        role: Role,
    },
    /// Change a member's role.
    SetRole {
        /// Project.
        project: String,
        /// Username, or a member group's name.
        #[arg(value_name = "USERNAME")]
        user: String,
        /// Role.
        #[arg(value_enum)]
        role: Role,
    },
    /// Remove a member.
    Remove {
        /// Project.
        project: String,
        /// Username, or a member group's name.
        #[arg(value_name = "USERNAME")]
        user: String,
    },
}

/// A user group's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GroupType {
    /// An LDAP group (1), identified by its DN.
    Ldap,
    /// A group named by an HTTP authentication proxy (2).
    Http,
    /// A group of an OIDC claim (3).
    Oidc,
}

impl GroupType {
    /// Harbor's `group_type`.
    pub fn id(self) -> i64 {
        match self {
            GroupType::Ldap => 1,
            GroupType::Http => 2,
            GroupType::Oidc => 3,
        }
    }
}

/// `harbor group ...`.
#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// List user groups (administrators).
    List {
        /// Only names containing this.
        #[arg(long)]
        name: Option<String>,
        /// Only the LDAP group with exactly this DN.
        #[arg(long, value_name = "DN")]
        ldap_dn: Option<String>,
    },
    /// Show a group.
    Get {
        /// Group id.
        id: i64,
    },
    /// Create a group.
    Create {
        /// Name.
        name: String,
        /// Type.
        #[arg(long = "type", value_enum)]
        group_type: GroupType,
        /// The DN of an LDAP group (required with --type ldap).
        #[arg(long, value_name = "DN", default_value = "")]
        ldap_dn: String,
    },
    /// Rename a group (its type and DN cannot change).
    Rename {
        /// Group id.
        id: i64,
        /// The new name.
        name: String,
    },
    /// Delete a group, with its project memberships.
    Delete {
        /// Group id.
        id: i64,
    },
    /// Find groups by name (anyone signed in).
    Search {
        /// Part of the name.
        name: String,
    },
}

/// `harbor robot ...`.
#[derive(Debug, Subcommand)]
pub enum RobotCmd {
    /// List robots (of one project, or all for administrators).
    List {
        /// Project.
        #[arg(long)]
        project: Option<String>,
    },
    /// Create a project robot (or, with --system, a system robot); its secret is printed
    /// once.
    Create {
        /// Project.
        #[arg(long, required_unless_present = "system", conflicts_with = "system")]
        project: Option<String>,
        /// A system robot (administrators): its permissions are system-level
        /// `<resource>:<action>` pairs, e.g. `audit-log:list`, `project:create`.
        #[arg(long)]
        system: bool,
        /// Name (the login becomes robot$<project>+<name>, or robot$<name> with --system).
        #[arg(long)]
        name: String,
        /// Permissions: `pull`, `push`, `delete` (repository actions) or
        /// `<resource>:<action>`, e.g. `artifact:read`; repeat the flag.
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        /// Lifetime in days (-1: never expires).
        #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
        duration: i64,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a robot.
    Show {
        /// Robot id.
        id: i64,
    },
    /// Change a robot's description, lifetime or (project robots) permissions.
    Update {
        /// Robot id.
        id: i64,
        /// Free text.
        #[arg(long)]
        description: Option<String>,
        /// Lifetime in days from now (-1: never expires).
        #[arg(long, allow_negative_numbers = true)]
        duration: Option<i64>,
        /// New permissions (replacing the old ones), as for `robot create`.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Replace a robot's secret with a new one, printed once.
    RefreshSecret {
        /// Robot id.
        id: i64,
    },
    /// Disable a robot.
    Disable {
        /// Robot id.
        id: i64,
    },
    /// Enable a disabled robot.
    Enable {
        /// Robot id.
        id: i64,
    },
    /// Delete a robot.
    Delete {
        /// Robot id.
        id: i64,
    },
}

/// `harbor audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List audit entries, newest first.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        /// Only this operation (create, delete, pull, update, ...).
        #[arg(long)]
        operation: Option<String>,
        /// Only resources containing this.
        #[arg(long)]
        resource: Option<String>,
        /// Only this resource type (artifact, project, repository, ...).
        #[arg(long)]
        resource_type: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Delete old audit entries now (administrators).
    Purge {
        /// Keep entries newer than this many hours (0: purge all matching).
        #[arg(long, default_value_t = 24 * 30)]
        keep_hours: i64,
        /// Operations to purge, comma-separated.
        #[arg(long, default_value = "create,delete,pull")]
        operations: String,
        /// Only count what would be purged.
        #[arg(long)]
        dry_run: bool,
        /// Wait for the run to end and print it.
        #[arg(long)]
        wait: bool,
    },
    /// Past and current audit purge runs, newest first.
    PurgeHistory {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show the audit purge schedule, or change it.
    PurgeSchedule {
        /// Set or remove it (without: show it).
        #[command(subcommand)]
        action: Option<PurgeScheduleCmd>,
    },
}

/// `harbor audit purge-schedule ...`.
#[derive(Debug, Subcommand)]
pub enum PurgeScheduleCmd {
    /// Purge the audit log on a schedule.
    Set {
        /// How often.
        #[arg(value_enum)]
        every: ScheduleKind,
        /// Six-field cron (seconds first), for `custom`, e.g. "0 30 2 * * *".
        #[arg(long)]
        cron: Option<String>,
        /// Keep entries newer than this many hours.
        #[arg(long, default_value_t = 24 * 30)]
        keep_hours: i64,
        /// Operations to purge, comma-separated.
        #[arg(long, default_value = "create,delete,pull")]
        operations: String,
    },
    /// Remove the schedule.
    #[command(name = "none")]
    Remove,
}

/// `harbor config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// The sign-in settings: auth_mode and the ldap_*, oidc_* and http_authproxy_*
    /// settings that apply to it (secrets are never shown). Change them with
    /// `harbor system config-set`.
    Auth,
}

/// `harbor system ...`.
#[derive(Debug, Subcommand)]
pub enum SystemCmd {
    /// Server version and settings.
    Info,
    /// Component health.
    Health,
    /// Show the system settings (`/configurations`) with whether each can change.
    Config,
    /// Change system settings: `harbor system config-set token_expiration=60
    /// project_creation_restriction=adminonly`. Values are read as JSON where they parse
    /// (numbers, true, false), else as text.
    ConfigSet {
        /// `key=value` pairs.
        #[arg(required = true, value_parser = parse_key_value)]
        values: Vec<(String, String)>,
    },
    /// Turn read-only mode on or off, or show it.
    ReadOnly {
        /// on, off or status.
        #[arg(value_enum, default_value_t = Switch::Status)]
        state: Switch,
    },
    /// Check storage against the blob records: missing objects, orphans, size
    /// mismatches (administrators).
    Fsck {
        /// Delete orphaned objects older than --grace-minutes.
        #[arg(long)]
        repair: bool,
        /// Orphans younger than this many minutes are left alone (uploads in flight).
        #[arg(long, default_value_t = 60)]
        grace_minutes: u64,
        /// Wait for the run to end and print the report.
        #[arg(long)]
        wait: bool,
    },
    /// Past and current storage checks, newest first.
    FsckHistory {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// The job queues: jobs waiting and running per kind (administrators).
    Queues,
    /// Every job schedule (administrators).
    Schedules,
}

/// Garbage collection parameters.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only report what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep untagged artifacts (by default they are deleted first, so that their blobs
    /// become garbage too).
    #[arg(long)]
    pub keep_untagged: bool,
    /// Concurrent blob deletions, 1 to 10.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub workers: u32,
    /// Hours a blob must have gone untouched before it may go (protects pushes that
    /// upload blobs before their manifest); 0 allowed. Garbage younger than this is kept
    /// and reported ("N blobs kept: younger than the time window"): after deleting an
    /// image, run with --time-window 0 to free its space at once.
    #[arg(long, value_name = "HOURS", default_value_t = 2)]
    pub time_window: u64,
}

/// `harbor gc ...`.
#[derive(Debug, Subcommand)]
pub enum GcCmd {
    /// Start a garbage collection run; prints its id, or with --wait follows it and
    /// prints the result (exit 1 if it failed or was stopped).
    Run {
        /// Parameters.
        #[command(flatten)]
        params: GcArgs,
        /// Wait for the run to end, showing its progress on standard error.
        #[arg(long)]
        wait: bool,
    },
    /// Past and current runs, newest first.
    History {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show a run with its progress.
    Show {
        /// Run id.
        id: i64,
    },
    /// Print a run's log.
    Log {
        /// Run id.
        id: i64,
    },
    /// Stop a queued or running run.
    Stop {
        /// Run id.
        id: i64,
    },
    /// Show the schedule, or change it.
    Schedule {
        /// Set or remove it (without: show it).
        #[command(subcommand)]
        action: Option<GcScheduleCmd>,
    },
}

/// `harbor gc schedule ...`.
#[derive(Debug, Subcommand)]
pub enum GcScheduleCmd {
    /// Run garbage collection on a schedule.
    Set {
        /// How often.
        #[arg(value_enum)]
        every: ScheduleKind,
        /// Six-field cron (seconds first), for `custom`, e.g. "0 30 2 * * *".
        #[arg(long)]
        cron: Option<String>,
        /// Parameters of the scheduled runs.
        #[command(flatten)]
        params: GcArgs,
    },
    /// Remove the schedule.
    #[command(name = "none")]
    Remove,
}

/// How often a scheduled job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleKind {
    /// At the start of every hour.
    Hourly,
    /// Every day at midnight (UTC).
    Daily,
    /// Every Sunday at midnight (UTC).
    Weekly,
    /// On the --cron expression.
    Custom,
}

impl ScheduleKind {
    /// Harbor's schedule type.
    pub fn as_harbor(self) -> &'static str {
        match self {
            ScheduleKind::Hourly => "Hourly",
            ScheduleKind::Daily => "Daily",
            ScheduleKind::Weekly => "Weekly",
            ScheduleKind::Custom => "Custom",
        }
    }
}

/// `harbor retention ...`.
#[derive(Debug, Subcommand)]
pub enum RetentionCmd {
    /// Show a project's retention policy (JSON), or that it has none.
    Show {
        /// Project.
        project: String,
    },
    /// Create or replace a project's policy: from a Harbor RetentionPolicy JSON file,
    /// or one rule keeping the N most recently pushed artifacts (--keep-latest).
    Set {
        /// Project.
        project: String,
        /// The policy JSON (`-` for standard input); its scope is set to the project.
        #[arg(
            long,
            required_unless_present = "keep_latest",
            conflicts_with = "keep_latest"
        )]
        file: Option<PathBuf>,
        /// Keep the N most recently pushed artifacts of each repository (untagged ones
        /// count too) and delete the others when the policy runs.
        #[arg(long, value_name = "N")]
        keep_latest: Option<u32>,
        /// Only artifacts with a tag matching this doublestar pattern are subject to
        /// the rule (default `**`).
        #[arg(
            long,
            value_name = "PATTERN",
            requires = "keep_latest",
            conflicts_with = "file"
        )]
        tags: Option<String>,
        /// Only repositories matching this doublestar pattern, without the project
        /// (default `**`).
        #[arg(
            long,
            value_name = "PATTERN",
            requires = "keep_latest",
            conflicts_with = "file"
        )]
        repos: Option<String>,
        /// Run on this six-field cron (seconds first); without it, runs are manual.
        #[arg(
            long,
            value_name = "EXPR",
            requires = "keep_latest",
            conflicts_with = "file"
        )]
        cron: Option<String>,
    },
    /// Run a project's policy now; with --wait, follow it and print what each
    /// repository kept and deleted.
    Run {
        /// Project.
        project: String,
        /// Only report what would be deleted.
        #[arg(long)]
        dry_run: bool,
        /// Wait for the run to end (exit 1 if it failed or was stopped).
        #[arg(long)]
        wait: bool,
    },
    /// A project's policy runs, newest first.
    History {
        /// Project.
        project: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Delete a project's policy (and its schedule).
    Delete {
        /// Project.
        project: String,
    },
}

/// `harbor webhook ...`: a project's webhook policies. The commands manage policies with
/// one target (as Harbor's UI does); an update of a policy with several changes its
/// first target and keeps the others.
#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// A project's policies with their targets and event types.
    List {
        /// Project.
        project: String,
    },
    /// One policy (its auth header shows as `*****`).
    Get {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
    },
    /// Create a policy sending the given event types to one address (project admins).
    Create {
        /// Project.
        project: String,
        /// Name, unique in the project.
        #[arg(long)]
        name: String,
        /// Where events are posted (`http(s)://host[:port]/path`).
        #[arg(long)]
        address: String,
        /// The receiver's kind.
        #[arg(long = "type", default_value = "http", value_parser = ["http", "slack"])]
        kind: String,
        /// The payload format (`http` targets only).
        #[arg(long, value_parser = ["Default", "CloudEvents"])]
        format: Option<String>,
        /// Sent as the `Authorization` header (stored; never shown again).
        #[arg(long, conflicts_with = "auth_header_stdin")]
        auth_header: Option<String>,
        /// Read the `Authorization` header from the first line of standard input.
        #[arg(long)]
        auth_header_stdin: bool,
        /// Do not verify the receiver's TLS certificate.
        #[arg(long)]
        skip_cert_verify: bool,
        /// An event type (`PUSH_ARTIFACT`, ...: `harbor webhook events`); repeat the flag
        /// or separate types with commas.
        #[arg(long = "event", value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change a policy: only the options given change (project admins).
    Update {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New address (the stored auth header is kept only for the same address: give
        /// --auth-header again with a new one).
        #[arg(long)]
        address: Option<String>,
        /// New receiver kind.
        #[arg(long = "type", value_parser = ["http", "slack"])]
        kind: Option<String>,
        /// New payload format (`http` targets only).
        #[arg(long, value_parser = ["Default", "CloudEvents"])]
        format: Option<String>,
        /// New `Authorization` header; an empty one removes it. Without the option the
        /// stored header stays.
        #[arg(long, conflicts_with = "auth_header_stdin")]
        auth_header: Option<String>,
        /// Read the new `Authorization` header from standard input.
        #[arg(long)]
        auth_header_stdin: bool,
        /// Whether to skip verifying the receiver's certificate (`--skip-cert-verify`
        /// alone is true; `--skip-cert-verify=false` verifies again).
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        skip_cert_verify: Option<bool>,
        /// The event types (they replace the policy's); repeat or separate with commas.
        #[arg(long = "event", value_delimiter = ',')]
        events: Vec<String>,
        /// Whether the policy is disabled (`--disabled` alone is true).
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
        disabled: Option<bool>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Enable a policy.
    Enable {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
    },
    /// Disable a policy: it sends nothing until enabled again.
    Disable {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
    },
    /// Delete a policy and its executions.
    Delete {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
    },
    /// Send a test event to each of the policy's targets and print what each answered;
    /// exit 1 if any target failed.
    Test {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
    },
    /// A policy's executions (one per event and target), newest first.
    Executions {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
        /// Only those with this status.
        #[arg(long, value_parser = ["Pending", "Running", "Success", "Error", "Stopped"])]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// An execution's log: one line per attempt to deliver it.
    Log {
        /// Project.
        project: String,
        /// The policy's id.
        id: i64,
        /// The execution's id (`harbor webhook executions`).
        execution_id: i64,
    },
    /// When each policy last sent each of its event types.
    Triggers {
        /// Project.
        project: String,
    },
    /// The event types, receiver kinds and payload formats policies may use.
    Events {
        /// Project.
        project: String,
    },
}

/// `harbor admin ...`: direct access to the database and storage, no server.
#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Apply pending schema migrations and print the schema version.
    Migrate {
        /// Database URL: sqlite://<path> or postgres://user@host/db.
        #[arg(long, env = "HARBOR_DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
    /// Compare storage with the blob records (exit 1 if objects are missing or of the
    /// wrong size); --repair deletes orphaned objects.
    Fsck {
        /// Database URL: sqlite://<path> or postgres://user@host/db.
        #[arg(long, env = "HARBOR_DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Blob storage URL: file://<dir>, s3://bucket/prefix (credentials from AWS_*
        /// variables), ...
        #[arg(long, env = "HARBOR_STORAGE_URL")]
        storage_url: String,
        /// Delete orphaned objects older than --grace-minutes.
        #[arg(long)]
        repair: bool,
        /// Orphans younger than this many minutes are left alone.
        #[arg(long, default_value_t = 60)]
        grace_minutes: u64,
    },
    /// Recount projects' storage usage from scratch (all, or one); --repair stores the
    /// recount where it drifted.
    RecountQuota {
        /// Database URL: sqlite://<path> or postgres://user@host/db.
        #[arg(long, env = "HARBOR_DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
        /// Store the recount where it differs.
        #[arg(long)]
        repair: bool,
    },
    /// Set a user's password without the old one (a lost admin password): the new one
    /// from standard input with --password-stdin, else generated and printed once. Ends
    /// their web sessions and lifts a sign-in lockout.
    ResetPassword {
        /// Database URL: sqlite://<path> or postgres://user@host/db.
        #[arg(long, env = "HARBOR_DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// The account.
        #[arg(long, default_value = "admin")]
        username: String,
        /// Read the new password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Copy all metadata into another, empty database (e.g. SQLite to PostgreSQL); stop
    /// the servers writing to the source first.
    CopyMetadata {
        /// Source database URL.
        #[arg(long)]
        from: String,
        /// Target database URL (must be empty).
        #[arg(long)]
        to: String,
    },
}

/// A switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Turn it on.
    On,
    /// Turn it off.
    Off,
    /// Show it.
    Status,
}

/// `harbor artifact ...`. Artifacts are named `project/repo:tag` or
/// `project/repo@sha256:...`.
#[derive(Debug, Subcommand)]
pub enum ArtifactCmd {
    /// List a repository's artifacts (`project/repo`), newest first.
    List {
        /// Repository.
        repository: String,
        /// Only artifacts with a tag containing this.
        #[arg(long)]
        tag: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show an artifact.
    Show {
        /// Artifact.
        artifact: String,
    },
    /// Delete an artifact with its tags and accessories.
    Delete {
        /// Artifact.
        artifact: String,
    },
    /// Copy an artifact into another repository (`project/repo`) without moving bytes.
    Copy {
        /// Source artifact.
        artifact: String,
        /// Target repository.
        to: String,
    },
    /// Add a tag to an artifact.
    Tag {
        /// Artifact.
        artifact: String,
        /// New tag.
        tag: String,
    },
    /// Remove a tag from an artifact.
    Untag {
        /// Artifact.
        artifact: String,
        /// Tag.
        tag: String,
    },
    /// Attach a label (by name: the project's, else a global one).
    Label {
        /// Artifact.
        artifact: String,
        /// Label name.
        label: String,
    },
    /// Detach a label.
    Unlabel {
        /// Artifact.
        artifact: String,
        /// Label name.
        label: String,
    },
}

/// `harbor quota ...`.
#[derive(Debug, Subcommand)]
pub enum QuotaCmd {
    /// Every project's quota (administrators).
    List,
    /// Set a project's storage limit: bytes or a size like 10GiB, -1 for unlimited.
    Set {
        /// Project.
        project: String,
        /// Limit.
        #[arg(allow_negative_numbers = true)]
        limit: String,
    },
    /// Recount a project's usage from scratch and repair drift (unless --dry-run).
    Recount {
        /// Project.
        project: String,
        /// Only report.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `harbor label ...`.
#[derive(Debug, Subcommand)]
pub enum LabelCmd {
    /// Global labels, or a project's.
    List {
        /// Project.
        #[arg(long)]
        project: Option<String>,
    },
    /// Create a global label (administrators) or a project label.
    Create {
        /// Name.
        name: String,
        /// Project (a project label).
        #[arg(long)]
        project: Option<String>,
        /// Colour.
        #[arg(long, default_value = "#61717D")]
        color: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Change a label.
    Update {
        /// Label id.
        id: i64,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New colour.
        #[arg(long)]
        color: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a label (detaching it everywhere).
    Delete {
        /// Label id.
        id: i64,
    },
}

/// `harbor immutable ...`.
#[derive(Debug, Subcommand)]
pub enum ImmutableCmd {
    /// A project's rules.
    List {
        /// Project.
        project: String,
    },
    /// Protect tags matching --tags in repositories matching --repos (doublestar
    /// patterns, repository names without the project).
    Add {
        /// Project.
        project: String,
        /// Repository pattern.
        #[arg(long, default_value = "**")]
        repos: String,
        /// Tag pattern.
        #[arg(long)]
        tags: String,
        /// The repository pattern excludes instead.
        #[arg(long)]
        exclude_repos: bool,
        /// The tag pattern excludes instead.
        #[arg(long)]
        exclude_tags: bool,
    },
    /// Turn a rule off without deleting it.
    Disable {
        /// Project.
        project: String,
        /// Rule id.
        id: i64,
    },
    /// Turn a disabled rule back on.
    Enable {
        /// Project.
        project: String,
        /// Rule id.
        id: i64,
    },
    /// Delete a rule.
    Delete {
        /// Project.
        project: String,
        /// Rule id.
        id: i64,
    },
}
