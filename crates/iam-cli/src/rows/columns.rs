//! The header of a CSV file: which column is which, checked whole before any row is read.
//! Every column the importer does not know is named at once, each with a "did you mean" (by
//! case and separators, a few aliases, then an edit distance of at most 2), and the `--map` that
//! reads the file as it is; a column twice is refused naming both; a header that splits better
//! at `;` or a tab gets a `--delimiter` hint. [`CsvOptions`] holds `--map`, `--ignore-column` and
//! `--delimiter`.

use iam_clients::Vendor;

use crate::cli::Import;
use crate::exit::Failure;

use super::text::describe;

/// The header's columns, as the rows are read: each column's name, or `None` for a column
/// `--ignore-column` leaves out.
pub(super) type Columns = Vec<Option<String>>;

pub(super) const COLUMNS: &[&str] = &[
    "username",
    "email",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "password",
    "enabled",
    "roles",
    "groups",
];

/// Other names files give the common columns (squashed: see [`squash`]).
pub(super) const ALIASES: &[(&str, &str)] = &[
    ("login", "username"),
    ("userid", "username"),
    ("emailaddress", "email"),
    ("givenname", "first_name"),
    ("forename", "first_name"),
    ("surname", "last_name"),
    ("familyname", "last_name"),
    ("telephone", "phone"),
    ("phonenumber", "phone"),
    ("mobilephone", "mobile"),
    ("mobilenumber", "mobile"),
    ("cellphone", "mobile"),
    ("active", "enabled"),
];

pub(super) const KNOWN_COLUMNS: &str = "username, email, first_name, last_name, phone, mobile, password, enabled, roles, groups, attr.KEY for an attribute, or a vendor's own property as entrust.NAME, mid.NAME or nexway.NAME (`iam schema` lists them)";

/// A column `entrust.NAME`, `mid.NAME` or `nexway.NAME`: the vendor and the property.
pub(super) fn vendor_column(name: &str) -> Option<(Vendor, &str)> {
    let (vendor, property) = name.split_once('.')?;
    Some((Vendor::from_name(vendor)?, property))
}

/// Why the importer cannot take a column `name`; `None` when it can.
pub(super) fn column_problem(name: &str) -> Option<String> {
    if let Some((vendor, property)) = vendor_column(name) {
        return (!vendor.has_property(property)).then(|| vendor.unknown_property(property));
    }
    if name == "attr." {
        return Some("`attr.` needs a key (attr.KEY)".to_owned());
    }
    if name.is_empty() {
        return Some("the column has no name".to_owned());
    }
    if COLUMNS.contains(&name) || name.starts_with("attr.") {
        return None;
    }
    Some("unknown column".to_owned())
}

/// The name with case, spaces, `-` and `_` set aside: `First Name`, `first-name` and
/// `FirstName` are all `firstname`.
pub(super) fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The name in lower case, with spaces and `-` as `_`: `First Name` is `first_name`.
pub(super) fn normalise(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| if matches!(c, ' ' | '-') { '_' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance, in characters.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The candidate nearest `name` (normalised), at most `most` edits away and fewer edits than
/// `name` has characters; the first of the nearest.
pub(super) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    most: usize,
) -> Option<&'a str> {
    let name = normalise(name);
    let length = name.chars().count();
    candidates
        .into_iter()
        .map(|c| (distance(&name, &normalise(c)), c))
        .filter(|(d, _)| *d <= most && *d < length)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The columns `name` was probably meant to be.
pub(super) fn suggestions(name: &str) -> Vec<String> {
    let name = name.trim();
    if let Some((prefix, property)) = name.split_once('.') {
        let (prefix, property) = (squash(prefix), property.trim());
        if matches!(prefix.as_str(), "attr" | "attribute" | "attributes") {
            return if property.is_empty() {
                Vec::new()
            } else {
                vec![format!("attr.{property}")]
            };
        }
        let vendor = Vendor::ALL
            .into_iter()
            .find(|v| v.name() == prefix)
            .or_else(|| {
                let name = closest(&prefix, Vendor::ALL.map(Vendor::name), 1)?;
                Vendor::from_name(name)
            });
        let Some(vendor) = vendor else {
            return Vec::new();
        };
        let properties = vendor.properties();
        let key = squash(property);
        return properties
            .iter()
            .find(|p| squash(p) == key)
            .copied()
            .or_else(|| closest(property, properties.iter().copied(), 2))
            .map(|p| format!("{}.{p}", vendor.name()))
            .into_iter()
            .collect();
    }
    let key = squash(name);
    if let Some(column) = COLUMNS.iter().find(|c| squash(c) == key) {
        return vec![(*column).to_owned()];
    }
    if let Some((_, column)) = ALIASES.iter().find(|(alias, _)| *alias == key) {
        return vec![(*column).to_owned()];
    }
    if let Some(column) = closest(name, COLUMNS.iter().copied(), 2) {
        return vec![column.to_owned()];
    }
    // A vendor's property without its prefix.
    Vendor::ALL
        .into_iter()
        .filter_map(|v| {
            let properties = v.properties();
            let property = properties.iter().find(|p| squash(p) == key)?;
            Some(format!("{}.{property}", v.name()))
        })
        .collect()
}

/// `did you mean `a`?`, or `did you mean `a` or `b`?`; empty without suggestions.
pub(super) fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        return String::new();
    }
    let names: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
    format!("; did you mean {}?", names.join(" or "))
}

/// `text` as one shell word: as is when it holds nothing the shell reads, else single-quoted.
pub(super) fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,/@%+:=-".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// How `iam import` reads a CSV file: its separator, and columns renamed or left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The byte between fields (`,` unless `--delimiter`).
    pub delimiter: u8,
    /// `--map FROM=TO`: the header's column FROM is read as column TO.
    pub map: Vec<(String, String)>,
    /// `--ignore-column NAME`: the header's columns NAME are not read.
    pub ignore: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            map: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

impl CsvOptions {
    /// From `iam import`'s `--delimiter`, `--map` and `--ignore-column`. A malformed flag, or a
    /// `--map` to a column the importer does not know, is refused (exit 2) naming the flag.
    pub fn from_args(args: &Import) -> Result<Self, Failure> {
        let delimiter = match args.delimiter {
            None => b',',
            Some(c) => {
                let c = parse_delimiter(&c.to_string())
                    .map_err(|why| Failure::usage(format!("--delimiter: {why}")))?;
                u8::try_from(c).expect("an ASCII character")
            }
        };
        let mut map = Vec::new();
        for arg in &args.map {
            let Some((from, to)) = arg.rsplit_once('=') else {
                return Err(Failure::usage(format!(
                    "--map {}: expected FROM=TO, the header's column and the column to read it as, e.g. --map 'First Name=first_name'",
                    shell_word(arg)
                )));
            };
            let (from, to) = (from.trim(), to.trim());
            if to.is_empty() {
                return Err(Failure::usage(format!(
                    "--map {}: nothing after `=`: expected FROM=TO, the header's column and the column to read it as, e.g. --map 'First Name=first_name'",
                    shell_word(arg)
                )));
            }
            if let Some(why) = map_target_problem(to) {
                return Err(Failure::usage(format!("--map {}: {why}", shell_word(arg))));
            }
            map.push((from.to_owned(), to.to_owned()));
        }
        let ignore = args
            .ignore_column
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
        Ok(Self {
            delimiter,
            map,
            ignore,
        })
    }
}

/// Why `--map FROM=TO` cannot read a column as `to`; `None` when it can.
pub(super) fn map_target_problem(to: &str) -> Option<String> {
    let why = column_problem(to)?;
    Some(format!(
        "`{to}` is not a column iam import knows ({why}{}); it knows {KNOWN_COLUMNS}",
        did_you_mean(&suggestions(to))
    ))
}

/// `--delimiter`'s value: one ASCII character, or `tab` (also `\t`, as two characters or as a
/// tab itself); not `"` (the quote) nor a line ending.
pub fn parse_delimiter(value: &str) -> Result<char, String> {
    let c = match value {
        "tab" | "TAB" | "\\t" | "\t" => '\t',
        _ => {
            let mut chars = value.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(format!(
                        "`{value}` is not one character: --delimiter takes one ASCII character, e.g. ';', or tab"
                    ));
                }
            }
        }
    };
    if !c.is_ascii() {
        return Err(format!(
            "`{c}` is not an ASCII character: --delimiter takes one ASCII character, e.g. ';', or tab"
        ));
    }
    if matches!(c, '"' | '\n' | '\r') {
        return Err(format!(
            "{c:?} cannot separate fields (it quotes them or ends lines): --delimiter takes another ASCII character, e.g. ';', or tab"
        ));
    }
    Ok(c)
}

/// `--map`, `--ignore-column` and `--delimiter` read CSV: with JSONL they are refused (exit 2),
/// naming them.
pub fn refuse_csv_flags(args: &Import) -> Result<(), Failure> {
    let mut given = Vec::new();
    if !args.map.is_empty() {
        given.push("--map");
    }
    if !args.ignore_column.is_empty() {
        given.push("--ignore-column");
    }
    if args.delimiter.is_some() {
        given.push("--delimiter");
    }
    if given.is_empty() {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{} read{} CSV files only, and {} is read as JSONL (one JSON object per line, named by its own keys): leave {} out",
        given.join(", "),
        if given.len() == 1 { "s" } else { "" },
        describe(Some(&args.file)),
        if given.len() == 1 { "it" } else { "them" },
    )))
}

/// Each column's name as the rows are read, after `--map` and `--ignore-column`; or the one
/// error saying everything wrong with the header and the flags.
pub(super) fn plan_columns(
    headers: &csv::StringRecord,
    line: u64,
    options: &CsvOptions,
) -> Result<Columns, Failure> {
    let names: Vec<&str> = headers.iter().collect();
    if names.iter().all(|n| n.is_empty()) {
        return Err(Failure::input(format!(
            "line {line}: the header row is empty"
        )));
    }
    let separator = separator_hint(&names, options);
    let with_separator = |message: String| match &separator {
        Some(hint) => format!("{message}\n{hint}"),
        None => message,
    };
    let header_list = || {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The flags name columns of this header.
    let mut seen: Vec<&str> = Vec::new();
    for (from, to) in &options.map {
        let flag = format!("--map {}", shell_word(&format!("{from}={to}")));
        if !names.contains(&from.as_str()) {
            return Err(Failure::input(with_separator(format!(
                "{flag}: the header (line {line}) has no column `{from}`; its columns are {}",
                header_list()
            ))));
        }
        if seen.contains(&from.as_str()) {
            return Err(Failure::input(format!(
                "{flag}: column `{from}` is given --map twice"
            )));
        }
        if options.ignore.contains(from) {
            return Err(Failure::input(format!(
                "{flag}: column `{from}` is also left out by --ignore-column {}; give one of the two",
                shell_word(from)
            )));
        }
        if let Some(why) = map_target_problem(to) {
            return Err(Failure::input(format!("{flag}: {why}")));
        }
        seen.push(from);
    }
    for name in &options.ignore {
        if !names.contains(&name.as_str()) {
            return Err(Failure::input(with_separator(format!(
                "--ignore-column {}: the header (line {line}) has no column `{name}`; its columns are {}",
                shell_word(name),
                header_list()
            ))));
        }
    }
    let mapped = |name: &str| {
        options
            .map
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.clone())
    };
    let columns: Columns = names
        .iter()
        .map(|name| {
            if options.ignore.iter().any(|i| i == name) {
                None
            } else {
                Some(mapped(name).unwrap_or_else(|| (*name).to_owned()))
            }
        })
        .collect();
    // Every column the importer does not know, at once.
    let mut bad = Vec::new();
    let mut fixes = Vec::new();
    for (i, (name, column)) in names.iter().zip(&columns).enumerate() {
        let Some(column) = column else { continue };
        let Some(why) = column_problem(column) else {
            continue;
        };
        let suggested = suggestions(name);
        let why = match (vendor_column(column), suggested.as_slice()) {
            // The vendor's whole list of properties is long: a suggestion says enough.
            (Some((vendor, property)), [_]) => format!(
                "{}'s create request ({}) has no property `{property}`",
                vendor.title(),
                vendor.request_type()
            ),
            _ => why,
        };
        bad.push(format!(
            "line {line}, column {} `{name}`: {why}{}",
            i + 1,
            did_you_mean(&suggested)
        ));
        fixes.push(match suggested.as_slice() {
            [one] => format!("--map {}", shell_word(&format!("{name}={one}"))),
            _ => format!("--ignore-column {}", shell_word(name)),
        });
    }
    if !bad.is_empty() {
        let mut message = if bad.len() == 1 {
            bad.remove(0)
        } else {
            format!(
                "the header (line {line}) has {} columns iam import does not know:\n  {}",
                bad.len(),
                bad.join("\n  ")
            )
        };
        message.push_str(&format!(
            "\nThe columns iam import knows: {KNOWN_COLUMNS}.\nTo read the file as it is, without editing it, rename a column with --map 'FROM=TO' or leave one out with --ignore-column NAME: here, {}",
            fixes.join(" ")
        ));
        return Err(Failure::input(match &separator {
            Some(hint) => format!("{hint}\n{message}"),
            None => message,
        }));
    }
    // The same column twice.
    let mut twice = Vec::new();
    let mut same_header = false;
    for (j, column) in columns.iter().enumerate() {
        let Some(column) = column else { continue };
        let Some(i) = columns[..j].iter().position(|c| c.as_ref() == Some(column)) else {
            continue;
        };
        let how = |k: usize| match mapped(names[k]) {
            Some(_) => format!(
                " (`{}`, read as `{column}` by --map {})",
                names[k],
                shell_word(&format!("{}={column}", names[k]))
            ),
            None => String::new(),
        };
        same_header |= names[i] == names[j];
        twice.push(format!(
            "line {line}: columns {}{} and {}{} are both `{column}`",
            i + 1,
            how(i),
            j + 1,
            how(j)
        ));
    }
    if !twice.is_empty() {
        let fix = if same_header {
            "--map and --ignore-column name a column by its header, which is the same for both: edit the header, or remove one of the columns"
        } else {
            "rename one with --map 'FROM=TO', or leave one out with --ignore-column NAME"
        };
        return Err(Failure::input(format!("{}\n{fix}", twice.join("\n"))));
    }
    Ok(columns)
}

/// When the header has columns the importer does not know but would have (most) known ones
/// split by `;`, a tab or `,`: the `--delimiter` to give.
pub(super) fn separator_hint(names: &[&str], options: &CsvOptions) -> Option<String> {
    let known = |name: &str| {
        column_problem(name).is_none() || options.map.iter().any(|(from, _)| from == name)
    };
    let known_now = names.iter().filter(|n| known(n)).count();
    if known_now == names.len() {
        return None;
    }
    // The header line, near enough (the fields were trimmed).
    let line = names.join(&char::from(options.delimiter).to_string());
    [
        (b';', "semicolon-separated", "';'"),
        (b'\t', "tab-separated", "tab"),
        (b',', "comma-separated", "','"),
    ]
    .into_iter()
    .filter(|(d, ..)| *d != options.delimiter)
    .find_map(|(d, what, flag)| {
        let parts: Vec<&str> = line
            .split(char::from(d))
            .map(|p| p.trim().trim_matches('"').trim())
            .collect();
        let known_then = parts.iter().filter(|p| known(p)).count();
        (parts.len() >= 2 && known_then * 2 > parts.len() && known_then > known_now).then(|| {
            let add = if d == b',' {
                "leave out --delimiter (or give --delimiter ',')".to_owned()
            } else {
                format!("add --delimiter {flag}")
            };
            format!(
                "The file looks {what} (its header splits into {} columns at {flag}, {known_then} of them known): {add}.",
                parts.len()
            )
        })
    })
}
