//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

// Literal pieces of the help texts, as macros so that `concat!` can assemble them.
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0    done
  1    the provider refused (or, for import, some rows failed)
  2    usage or input error: nothing was sent
  3    transport failure, or a request whose outcome is unknown (it may have been applied)
  4    import only: stopped after sending rows (the journal could not be written, or the file
       changed under its journal); the rows sent are in the journal and the results file
  5    the provider refused the credentials (401, after renewing a renewable token once); the
       message names where they came from; an import stops at once (rows not sent stay unsent)
  130  interrupted by Ctrl-C (requests in flight were finished and recorded)
With --output json an error is one JSON object on stdout ({\"error\": {\"kind\", \"message\",
\"field\", \"exit_code\", ...}}; kind is a stable code) and a line on stderr."
    };
}

macro_rules! vendor_sets {
    () => {
        "Everything the vendor's create call takes: --set NAME=VALUE (a string) or --set NAME:=JSON (any other
value) sets one of its own request properties, named as its spec names them (`iam schema` lists them
under `entrust`, `mid` and `nexway`). Checked like the rest before anything is sent: an unknown name,
a wrong type, a value outside an enum, or a property a flag above already sets is refused (exit 2).
Secrets (a mID credential's value, Nexway's password) are refused here: use --password-stdin.
  entrust  --group 7d3a8f0e-5b1c-4e2a-9f6d-0c4b8a2e1f33 --set externalId=hr-42 --set locale=fr \\
           --set 'userAliases:=[{\"value\":\"johnny\",\"type\":\"CUSTOM\"}]'
  mid      --set 'requiredActions:=[\"UPDATE_PASSWORD\"]' --set 'clientRoles:={\"crm\":[\"agent\"]}'
  nexway   --set 'authorizedCustomers:=[{\"customerId\":\"c-1\",\"name\":\"Acme\"}]'"
    };
}

macro_rules! credentials {
    () => {
        "Credentials never go on the command line (other users can read it in `ps`):
  IAM_TOKEN                    a bearer token, or
  --token-file PATH            a file holding the token, or
  --token-url URL              OAuth2 client credentials from IAM_CLIENT_ID and IAM_CLIENT_SECRET, or
  the vendor's own token endpoint, when none of the above is given:
    entrust  IAM_ENTRUST_APPLICATION_ID and IAM_ENTRUST_SHARED_SECRET (an Administration API
             application; its authToken is fetched, cached and renewed before it expires)
    nexway   IAM_NEXWAY_REALM and IAM_NEXWAY_CLIENT_SECRET (POST /iam/tokens, client-credentials
             grant; the JWT is renewed with its refresh token)

Servers: --base-url, or the documented one from --domain/--region (entrust),
--tenant/--hostname (mid-ssms: tenant in the host name; mid-shift: tenant in the path); nexway
has one (https://api.nexway.store)."
    };
}

/// Create users on Entrust IDaaS, mID Provider (SSMS, SHIFT) and Nexway IAM.
#[derive(Parser, Debug)]
#[command(
    name = "iam",
    version,
    after_help = concat!(
        "Start here: `iam demo` runs everything against a simulator in this process.\n\n",
        "Examples:\n",
        "  iam demo\n",
        "  IAM_TOKEN=... iam create-user --provider nexway --email ada@example.com --first-name Ada --last-name Lovelace --password-stdin\n",
        "  IAM_TOKEN=... iam import --provider mid-shift --hostname mid.example.com --tenant acme users.csv\n",
        "  iam schema > new-user.schema.json\n\n",
        "Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=iam_clients=debug). Secrets are never logged.\n\n",
        exit_codes!(),
    ),
    after_long_help = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create one user.
    #[command(after_help = concat!(
        "Examples:\n",
        "  IAM_TOKEN=... iam create-user --provider entrust --domain acme --region us --username john --email john@acme.com\n",
        "  printf '%s\\n' \"$PASSWORD\" | IAM_TOKEN=... iam create-user --provider mid-ssms --tenant acme --hostname mid.example.com \\\n",
        "      --username ngk --email aaa@aaa.com --password-stdin --enabled --role realm_role1 --group ks-users \\\n",
        "      --attribute digitaniumUserIdOnboardingType=letter\n",
        "  IAM_ENTRUST_APPLICATION_ID=... IAM_ENTRUST_SHARED_SECRET=... iam create-user --provider entrust --domain acme --region us --username john\n",
        "  IAM_CLIENT_ID=... IAM_CLIENT_SECRET=... iam create-user --provider nexway --token-url https://login.example.com/token \\\n",
        "      --email ada@example.com --first-name Ada --last-name Lovelace --password-stdin --output json\n\n",
        vendor_sets!(),
        "\n\n",
        credentials!(),
        "\n\n",
        exit_codes!(),
    ))]
    CreateUser(CreateUser),
    /// Import users from a CSV or JSONL file, resumably.
    #[command(after_help = concat!(
        "CSV columns (header row, any order): username, email, first_name, last_name, phone, mobile, password,\n",
        "enabled (true/false), roles and groups (`;`-separated), attr.KEY for an attribute KEY, and the vendor's\n",
        "own request properties as entrust.NAME, mid.NAME, nexway.NAME (a string property's cell as is, any\n",
        "other as JSON; an empty cell sets nothing):\n",
        "  entrust  username,entrust.externalId,entrust.userAliases\n",
        "           john,hr-42,\"[{\"\"value\"\":\"\"johnny\"\",\"\"type\"\":\"\"CUSTOM\"\"}]\"\n",
        "  mid      username,mid.requiredActions\n",
        "           ngk,\"[\"\"UPDATE_PASSWORD\"\"]\"\n",
        "  nexway   email,first_name,last_name,password,nexway.authorizedCustomers\n",
        "           ada@example.com,Ada,Lovelace,...,\"[{\"\"customerId\"\":\"\"c-1\"\"}]\"\n",
        "A file from elsewhere is read as it is: --map 'First Name=first_name' reads a column under another\n",
        "name (an unknown column is refused with the --map to give), --ignore-column NAME leaves one out,\n",
        "--delimiter ';' (or tab) reads fields separated by another character.\n",
        "The file must be UTF-8: a file that is not is refused before anything is sent, with the iconv\n",
        "command that converts it. Standard input cannot be checked in advance: its reading stops at the\n",
        "first row that is not UTF-8 (that row is rejected, saying so).\n",
        "JSONL: one JSON object per line, the fields of `iam schema`; the vendor's properties in a section:\n",
        "  {\"username\": \"john\", \"entrust\": {\"externalId\": \"hr-42\", \"userAliases\": [{\"value\": \"johnny\", \"type\": \"CUSTOM\"}]}}\n",
        "A row is checked against the vendor's request type before it is sent: an unknown property, a wrong type,\n",
        "a section for another vendor, or a property a common field also sets rejects the row, naming its line.\n\n",
        "Nothing lost, nothing twice: each row's outcome is appended to the journal (FILE.journal) and synced\n",
        "before the row counts as done. Run the same command again after Ctrl-C, a crash or kill -9: rows\n",
        "done are skipped; rows whose outcome is unknown are sent again and a 409 (the user exists) counts\n",
        "as created; --skip-unknown only lists them. Every run writes FILE.results.csv: one line per row,\n",
        "in input order, `line,user,outcome,id,status,reason`, rows done by earlier runs included, with\n",
        "the provider's id of each user (mID answers none; a user that exists is looked up where the\n",
        "vendor publishes a lookup: Entrust); and FILE.rejects, the rows not done now (JSONL: line, user,\n",
        "outcome, kind, field, reason; never a password): a row fixed and created since is no longer\n",
        "listed. A dry run writes FILE.dry-run.results.csv and FILE.dry-run.rejects instead; a run refused\n",
        "at the start (a missing file, a bad header, a directory) writes nothing. One import at a time\n",
        "per journal: a second one exits 2, naming the process that holds it. A user twice in the file\n",
        "(same username, else email, whatever the case) is rejected as a duplicate of its first line.\n",
        "The journal, rejects and results files are created readable by their owner only.\n\n",
        "Each row ends decided: created; exists (409: the provider had the user; final; --existing skip\n",
        "counts it as done); refused (400: final until the row changes); rejected (invalid, never sent);\n",
        "failed (nothing created: a re-run sends it again); unknown; or not sent (the import stopped\n",
        "first: Ctrl-C, or credentials refused; a re-run sends it).\n\n",
        "Speed: the provider's rate limit is the import's. A 429 or a 503 pauses every request until\n",
        "the time it names (without one, a short backoff with jitter) and the row is sent\n",
        "again; the import measures the limit from what the provider admitted (or reads it from\n",
        "RateLimit-Policy headers) and holds just under it; --rate N sends N requests a second, evenly\n",
        "spaced. The progress line shows the pace, the limit found and any pause.\n\n",
        "Examples:\n",
        "  IAM_TOKEN=... iam import --provider nexway users.csv\n",
        "  IAM_TOKEN=... iam import --provider nexway --rate 20 --existing skip users.csv\n",
        "  iam import --provider mid-shift --hostname mid.example.com --tenant acme --dry-run users.jsonl\n",
        "  generate-users | IAM_TOKEN=... iam import --provider nexway --format jsonl --journal run.journal -\n\n",
        credentials!(),
        "\n\n",
        "Exit codes: 0 all rows done; 1 some rows failed, were refused or rejected, or existed (with\n",
        "--existing fail); 2 usage or input error (a dry run\n",
        "with bad rows; an unreadable file, header or journal): nothing was sent; 3 some rows' outcome is\n",
        "unknown; 4 stopped after sending rows (the journal could not be written, or the file changed\n",
        "under its journal: the rows sent are recorded); 5 the provider refused the credentials (401\n",
        "after any renewal): the import stopped at once, the message names their source, rows not sent\n",
        "stay unsent; 130 interrupted by Ctrl-C (rows in flight were finished and recorded). With\n",
        "--output json the summary holds any error as {\"error\": {\"kind\", \"message\", \"field\", ...}}\n",
        "and stderr has a line for people.",
    ))]
    Import(Import),
    /// Print the JSON Schema of a user (a JSONL row of `iam import`), with each vendor's section.
    #[command(
        after_help = "The common fields, then `entrust`, `mid` and `nexway`: each vendor's own create-request\nproperties, from the generated request types (the names --set and the CSV's entrust.NAME columns take).\n\nExample:\n  iam schema > new-user.schema.json\n"
    )]
    Schema,
    /// Run the simulator in this process and show each provider at work.
    #[command(
        after_help = "Starts the simulator on a loopback port, creates a user on each of the four endpoints showing\nwhat was sent and answered (secrets redacted), then imports a small bundled CSV.\n\nExample:\n  iam demo\n"
    )]
    Demo,
    /// Run the simulator in the foreground (the same as the iam-sandbox binary).
    Sandbox(iam_sandbox::cli::Args),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = concat!(
        "Examples:\n",
        "  iam completions bash > ~/.local/share/bash-completion/completions/iam\n",
        "  iam completions zsh > \"${fpath[1]}/_iam\"\n",
        "  iam completions fish > ~/.config/fish/completions/iam.fish\n",
        "  iam completions powershell >> $PROFILE\n",
    ))]
    Completions(Completions),
}

#[derive(Args, Debug)]
pub struct Completions {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Entrust Identity as a Service
    Entrust,
    /// mID Provider, SSMS URL (tenant in the host name)
    MidSsms,
    /// mID Provider, SHIFT URL (tenant in the path)
    MidShift,
    /// Nexway IAM
    Nexway,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    #[default]
    Text,
    /// JSON on stdout, and nothing else there.
    Json,
}

/// Where to create users, and with which credentials.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The provider.
    #[arg(long, value_enum)]
    pub provider: ProviderArg,
    /// The base URL, instead of the documented server (e.g. a proxy, or the simulator), taken as
    /// given: for mid-ssms its host need not name the tenant.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Entrust: your account's domain name (https://{domain}.{region}.trustedauth.com).
    #[arg(long, value_name = "D")]
    pub domain: Option<String>,
    /// Entrust: your account's region (us, eu, ...).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// mID: the tenant (SSMS puts it in the host name, SHIFT in the path).
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
    /// mID: the mID Provider host name.
    #[arg(long, value_name = "H")]
    pub hostname: Option<String>,
    /// Read the bearer token from this file (instead of IAM_TOKEN).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Get tokens by OAuth2 client credentials from this URL (IAM_CLIENT_ID, IAM_CLIENT_SECRET).
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Also trust the certificate(s) in this PEM file (e.g. the simulator's, `iam sandbox --tls`).
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,
    /// Send requests for HOST to ADDR instead of resolving it, as curl's --resolve (e.g. for a
    /// tenant in the host name on the simulator: acme.sandbox.localhost:8080:127.0.0.1).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Seconds a request may take before its outcome is unknown.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// The user's fields.
#[derive(Args, Debug, Clone, Default)]
pub struct UserFields {
    /// The name the user signs in with.
    #[arg(long)]
    pub username: Option<String>,
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,
    /// First name.
    #[arg(long)]
    pub first_name: Option<String>,
    /// Last name.
    #[arg(long)]
    pub last_name: Option<String>,
    /// Phone number (Entrust).
    #[arg(long)]
    pub phone: Option<String>,
    /// Mobile number (Entrust).
    #[arg(long)]
    pub mobile: Option<String>,
    /// Enable the user (`--enabled`, `--enabled=false`); without it, the provider's default.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enabled: Option<bool>,
    /// A role (repeat for several).
    #[arg(long = "role", value_name = "R")]
    pub roles: Vec<String>,
    /// A group (repeat for several): Entrust a group's UUID, mID a group name.
    #[arg(long = "group", value_name = "G")]
    pub groups: Vec<String>,
    /// An attribute, KEY=VALUE (true/false become booleans) or KEY:=JSON (repeat for several).
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// One of the vendor's own create-request properties, for the vendor of --provider, by the
    /// name its spec gives it: NAME=VALUE for a string, NAME:=JSON for anything else (repeat for
    /// several). `iam schema` lists them; secrets are refused here (see --password-stdin).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub sets: Vec<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args, Debug)]
pub struct CreateUser {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub user: UserFields,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}

/// What `iam import` makes of a user the provider already has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Existing {
    /// Count them as not imported: exit 1.
    #[default]
    Fail,
    /// Count them as done: a migration into a tenant that holds some of the users.
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Args, Debug)]
pub struct Import {
    #[command(flatten)]
    pub target: Target,
    /// The file to import (.csv or .jsonl), or - for standard input (with --format).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The file's format [default: from its extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV: read the header's column FROM as column TO, one the importer knows (e.g.
    /// --map 'First Name=first_name' --map 'E-mail=email'), so that a file exported from
    /// elsewhere is imported without editing it. Repeat for several columns.
    #[arg(long = "map", value_name = "FROM=TO")]
    pub map: Vec<String>,
    /// CSV: leave out the header's column NAME (its cells are not read). Repeat for several.
    #[arg(long = "ignore-column", value_name = "NAME")]
    pub ignore_column: Vec<String>,
    /// CSV: the character between fields, one ASCII character [default: ,]: e.g. ';' for the CSV
    /// Excel writes where a comma is the decimal separator, or `tab` (also '\t').
    #[arg(long, value_name = "CHAR", value_parser = crate::rows::parse_delimiter)]
    pub delimiter: Option<char>,
    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Check every row and report every bad one (FILE.dry-run.rejects, FILE.dry-run.results.csv);
    /// send nothing, and leave the real run's journal, rejects and results files alone.
    #[arg(long)]
    pub dry_run: bool,
    /// The journal, locked while the import runs [default: FILE.journal; standard input needs
    /// --journal or --no-journal].
    #[arg(long, value_name = "PATH", conflicts_with = "no_journal")]
    pub journal: Option<PathBuf>,
    /// Send rows without a journal: a run stopped midway cannot then be resumed without sending
    /// its rows again (standard input has no default journal: it needs this or --journal).
    #[arg(long)]
    pub no_journal: bool,
    /// Where the rows not done are listed, rewritten by every run [default: FILE.rejects, or
    /// rejects.jsonl for standard input; a dry run: FILE.dry-run.rejects, rejects.dry-run.jsonl].
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Where every row's outcome and the provider's id are written, one CSV line per row
    /// [default: FILE.results.csv; for standard input JOURNAL.results.csv, or
    /// iam-stdin.results.csv without a journal; a dry run: .dry-run.results.csv in their place].
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
    /// On a re-run, list rows whose outcome is unknown instead of sending them again.
    #[arg(long)]
    pub skip_unknown: bool,
    /// Users the provider already has (409 on a first send): `fail` counts them against the
    /// import (exit 1), `skip` counts them as done (exit 0). Never sent again either way.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t)]
    pub existing: Existing,
    /// Requests per second, evenly spaced (the provider's published limit; never two closer than
    /// 1/N s, so a second holds N at most). Without it the import adapts: a 429 pauses every
    /// request for its Retry-After, the limit is measured from what was admitted, and the
    /// import holds just under it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: Option<u32>,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
}
