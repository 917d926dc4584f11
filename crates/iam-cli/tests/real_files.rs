//! `iam import` meets the files people have: Excel's CRLF (and old Macs' CR) line endings, headers
//! with other column names, semicolon- and tab-separated files, a column twice, files that are
//! not UTF-8, and JSON that is not JSON Lines. Each test runs the real binary against the
//! simulator, and counts the users and requests that reached it: no row lost, none sent twice.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Sim, iam, read, run, text, with_token};
use iam_sandbox::{Provider, Route};
use serde_json::Value;

const HEADER: &str = "username,email,first_name,last_name,password,enabled,roles";

/// A valid CSV row for Nexway.
fn row(name: &str) -> String {
    format!("{name},{name}@example.com,F-{name},L-{name},pw-SECRET-{name},true,member")
}

/// A valid JSONL row for Nexway.
fn json_row(name: &str) -> String {
    format!(
        "{{\"username\":\"{name}\",\"email\":\"{name}@example.com\",\"first_name\":\"F\",\"last_name\":\"L\",\"password\":\"pw-SECRET-{name}\"}}"
    )
}

fn args(sim: &Sim, file: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["import".to_owned()];
    args.extend(sim.target("nexway"));
    args.push(file.to_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `iam import FILE` into the simulator's Nexway, in the test's folder.
fn import(sim: &Sim, file: &Path, extra: &[&str]) -> Output {
    let args = args(sim, &file.display().to_string(), extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = with_token(iam(&args));
    command.current_dir(&sim.dir);
    run(command, "")
}

/// `iam import -` with `input` on standard input (any bytes), journaled in the test's folder.
fn import_stdin(sim: &Sim, format: &str, input: &[u8]) -> Output {
    let journal = sim.path("stdin.journal").display().to_string();
    let rejects = sim.path("stdin.rejects").display().to_string();
    let args = args(
        sim,
        "-",
        &[
            "--format",
            format,
            "--journal",
            &journal,
            "--rejects",
            &rejects,
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = with_token(iam(&args));
    command.current_dir(&sim.dir);
    run_with_bytes(command, input)
}

fn run_with_bytes(mut command: Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    match child.stdin.take().unwrap().write_all(input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

fn write_bytes(sim: &Sim, name: &str, bytes: &[u8]) -> PathBuf {
    let path = sim.path(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The usernames the simulator holds for Nexway, sorted (a user sent twice would show twice).
fn usernames(sim: &Sim) -> Vec<String> {
    let mut names: Vec<String> = sim
        .sandbox
        .users(Provider::Nexway, "default")
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

fn requests(sim: &Sim) -> u64 {
    sim.sandbox.requests(Route::Nexway)
}

/// The rejects file's `(line, reason)`s, by line.
fn rejects(path: &Path) -> Vec<(u64, String)> {
    let mut rejects: Vec<(u64, String)> = read(path)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["line"].as_u64().unwrap(),
                v["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rejects.sort();
    rejects
}

/// The results file's `(line, outcome)`s, in its order.
fn outcomes(path: &Path) -> Vec<(u64, String)> {
    read(path)
        .lines()
        .skip(1)
        .map(|l| {
            let fields: Vec<&str> = l.splitn(6, ',').collect();
            (fields[0].parse().unwrap(), fields[2].to_owned())
        })
        .collect()
}

fn owned(pairs: &[(u64, &str)]) -> Vec<(u64, String)> {
    pairs.iter().map(|(l, o)| (*l, (*o).to_owned())).collect()
}

/// The files in the test's folder.
fn files(sim: &Sim) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&sim.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stderr_of(out: &Output) -> String {
    text(&out.stderr)
}

#[test]
fn rows_are_numbered_with_their_physical_line_whatever_the_line_endings() {
    // Excel's CRLF with a byte-order mark, and old Macs' lone CR; a quoted field over two lines
    // and a blank line.
    for (ending, bom, tag) in [("\r\n", "\u{feff}", "crlf"), ("\r", "", "cr")] {
        let sim = Sim::start(&format!("lines-{tag}"));
        let lines = [
            format!("{bom}{HEADER}"),                   // 1
            row("u1"),                                  // 2
            "nomail,,A,B,pw-SECRET-x,true,".to_owned(), // 3: no email
            format!("u3,u3@example.com,\"First{ending}Three\",L3,pw-SECRET-u3,true,member"), // 4-5
            String::new(),                              // 6
            "short,s@example.com".to_owned(),           // 7: 2 fields
            "u4,u4@example.com,F,L,pw-SECRET-u4,maybe,".to_owned(), // 8: enabled
            row("u5"),                                  // 9
        ];
        let file = sim.write("users.csv", &(lines.join(ending) + ending));
        let out = import(&sim, &file, &[]);
        assert_eq!(out.status.code(), Some(1), "{tag}: {}", stderr_of(&out));
        let rejected = rejects(&sim.path("users.csv.rejects"));
        let lines: Vec<u64> = rejected.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 7, 8], "{tag}: {rejected:?}");
        assert!(
            rejected[1].1.contains("2 fields where the header has 7"),
            "{rejected:?}"
        );
        assert!(
            rejected[2].1.contains("`maybe` is not true or false"),
            "{rejected:?}"
        );
        assert_eq!(
            outcomes(&sim.path("users.csv.results.csv")),
            owned(&[
                (2, "created"),
                (3, "rejected"),
                (4, "created"),
                (7, "rejected"),
                (8, "rejected"),
                (9, "created")
            ]),
            "{tag}"
        );
        assert_eq!(usernames(&sim), ["u1", "u3", "u5"], "{tag}");
        assert_eq!(requests(&sim), 3, "{tag}");
    }

    // JSONL with CRLF and blank lines: each row on its line.
    let sim = Sim::start("lines-jsonl");
    let text = [
        json_row("j1"),                                       // 1
        String::new(),                                        // 2
        "{\"username\":\"j2\",\"pasword\":\"x\"}".to_owned(), // 3
        json_row("j3"),                                       // 4
    ]
    .join("\r\n");
    let file = sim.write("users.jsonl", &text);
    let out = import(&sim, &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(
        outcomes(&sim.path("users.jsonl.results.csv")),
        owned(&[(1, "created"), (3, "rejected"), (4, "created")])
    );
    assert_eq!(usernames(&sim), ["j1", "j3"]);
    assert_eq!(requests(&sim), 2);
}

#[test]
fn a_header_with_other_names_is_refused_once_naming_every_column_and_its_fix() {
    let sim = Sim::start("header");
    let file = sim.write(
        "users.csv",
        "username,First Name,Last Name,E-mail,pasword,entrust.externalid,Department\n\
         u1,Ada,Lovelace,u1@example.com,pw-SECRET-1,hr-1,R&D\n",
    );
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "the header (line 1) has 6 columns iam import does not know",
        "line 1, column 2 `First Name`: unknown column; did you mean `first_name`?",
        "line 1, column 3 `Last Name`: unknown column; did you mean `last_name`?",
        "line 1, column 4 `E-mail`: unknown column; did you mean `email`?",
        "line 1, column 5 `pasword`: unknown column; did you mean `password`?",
        "line 1, column 6 `entrust.externalid`: Entrust's create request (UserParms) has no property `externalid`; did you mean `entrust.externalId`?",
        "line 1, column 7 `Department`: unknown column",
        "--map 'First Name=first_name' --map 'Last Name=last_name' --map E-mail=email --map pasword=password --map entrust.externalid=entrust.externalId --ignore-column Department",
    ] {
        assert!(stderr.contains(expected), "{expected}\nin:\n{stderr}");
    }
    assert!(!stderr.contains("SECRET"), "{stderr}");
    assert_eq!(requests(&sim), 0);
    assert_eq!(files(&sim), ["users.csv"], "a refused start leaves no file");
}

#[test]
fn map_and_ignore_column_import_a_file_as_it_is() {
    let sim = Sim::start("map");
    let file = sim.write(
        "export.csv",
        "Login,First Name,Last Name,E-mail,Password,Department\n\
         u1,Ada,Lovelace,u1@example.com,pw-SECRET-1,R&D\n\
         u2,Grace,Hopper,u2@example.com,pw-SECRET-2,Navy\n",
    );
    let maps = [
        "--map",
        "Login=username",
        "--map",
        "First Name=first_name",
        "--map",
        "Last Name = last_name",
        "--map",
        "E-mail=email",
        "--map",
        "Password=password",
        "--ignore-column",
        "Department",
    ];
    let out = import(&sim, &file, &maps);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let users = sim.sandbox.users(Provider::Nexway, "default");
    let got: Vec<(String, String, String)> = users
        .iter()
        .map(|u| {
            (
                u["userName"].as_str().unwrap_or_default().to_owned(),
                u["firstName"].as_str().unwrap_or_default().to_owned(),
                u["email"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2, "{users:?}");
    assert!(
        got.contains(&("u1".into(), "Ada".into(), "u1@example.com".into())),
        "{users:?}"
    );
    assert!(
        !format!("{users:?}").contains("R&D"),
        "an ignored column is not sent: {users:?}"
    );
    assert_eq!(requests(&sim), 2);

    // A --map from a column the header does not have names it and lists the header; one to a
    // column the importer does not know names it with what it may mean. Nothing is sent.
    let other = sim.write("other.csv", "username,Mail\nu9,u9@example.com\n");
    let out = import(&sim, &other, &["--map", "E-mail=email"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "--map E-mail=email: the header (line 1) has no column `E-mail`; its columns are `username`, `Mail`"
        ),
        "{stderr}"
    );
    let out = import(&sim, &other, &["--map", "Mail=e-mail"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--map Mail=e-mail: `e-mail` is not a column iam import knows")
            && stderr.contains("did you mean `email`?"),
        "{stderr}"
    );
    let out = import(&sim, &other, &["--ignore-column", "Dept"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("--ignore-column Dept: the header (line 1) has no column `Dept`"),
        "{}",
        stderr_of(&out)
    );
    // They read CSV only.
    let jsonl = sim.write("users.jsonl", &format!("{}\n", json_row("j1")));
    let out = import(&sim, &jsonl, &["--map", "a=email"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("--map reads CSV files only"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(usernames(&sim), ["u1", "u2"]);
    assert_eq!(requests(&sim), 2);
}

#[test]
fn a_semicolon_separated_file_gets_a_hint_and_delimiter_reads_it() {
    let sim = Sim::start("delimiter");
    let text = format!("{}\n{}\n{}\n", HEADER, row("u1"), row("u2")).replace(',', ";");
    let file = sim.write("users.csv", &text);
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("The file looks semicolon-separated")
            && stderr.contains("add --delimiter ';'"),
        "{stderr}"
    );
    assert_eq!(requests(&sim), 0);

    let out = import(&sim, &file, &["--delimiter", ";"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(usernames(&sim), ["u1", "u2"]);

    // Tab-separated: `tab` says the tab.
    let tsv = sim.write(
        "users.tsv",
        &format!("{}\n{}\n", HEADER, row("u3")).replace(',', "\t"),
    );
    let out = import(&sim, &tsv, &["--format", "csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("add --delimiter tab"),
        "{}",
        stderr_of(&out)
    );
    let out = import(&sim, &tsv, &["--format", "csv", "--delimiter", "tab"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));

    // One ASCII character.
    let out = import(&sim, &file, &["--delimiter", "§"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("--delimiter") && stderr_of(&out).contains("ASCII"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(usernames(&sim), ["u1", "u2", "u3"]);
    assert_eq!(requests(&sim), 3);
}

#[test]
fn a_column_twice_is_refused_naming_both() {
    let sim = Sim::start("twice");
    let file = sim.write(
        "users.csv",
        &format!("{HEADER},email\n{},other@example.com\n", row("u1")),
    );
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 1: columns 2 and 8 are both `email`"),
        "{stderr}"
    );
    // Made the same by --map: the flag is named.
    let file = sim.write(
        "mapped.csv",
        &format!("{HEADER},E-mail\n{},other@example.com\n", row("u1")),
    );
    let out = import(&sim, &file, &["--map", "E-mail=email"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "line 1: columns 2 and 8 (`E-mail`, read as `email` by --map E-mail=email) are both `email`"
        ),
        "{stderr}"
    );
    assert_eq!(requests(&sim), 0);
    assert!(usernames(&sim).is_empty());
    // Left out, the file imports.
    let out = import(&sim, &file, &["--ignore-column", "E-mail"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(usernames(&sim), ["u1"]);
    assert_eq!(requests(&sim), 1);
}

#[test]
fn a_file_that_is_not_utf8_is_refused_before_anything_is_sent() {
    let sim = Sim::start("encoding");
    // Windows-1252, as Excel writes it: `Zoë` is 5A 6F EB, on line 4.
    let mut bytes = format!("{HEADER}\r\n{}\r\n{}\r\n", row("u1"), row("u2")).into_bytes();
    bytes.extend(b"u3,u3@example.com,Zo\xEB,L3,pw-SECRET-u3,true,member\r\n");
    bytes.extend(format!("{}\r\n", row("u4")).into_bytes());
    let file = write_bytes(&sim, "users.csv", &bytes);
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let path = file.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{path} is not UTF-8: line 4 (its byte 21) is the first that is not, and nothing was sent"
        )) && stderr.contains(&format!(
            "iconv -f WINDOWS-1252 -t UTF-8 {path} > {}",
            sim.path("users.utf8.csv").display()
        )),
        "{stderr}"
    );
    assert_eq!(requests(&sim), 0);
    assert!(usernames(&sim).is_empty());
    assert_eq!(files(&sim), ["users.csv"], "a refused start leaves no file");

    // UTF-16 (Excel's "Unicode text"), with its byte-order mark.
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in format!("{HEADER}\r\n{}\r\n", row("u5")).encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let file = write_bytes(&sim, "utf16.csv", &utf16);
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("it is UTF-16 (it starts with the byte-order mark FF FE)")
            && stderr.contains("iconv -f UTF-16 -t UTF-8"),
        "{stderr}"
    );
    // JSONL too.
    let mut jsonl = format!("{}\n", json_row("j1")).into_bytes();
    jsonl.extend(b"{\"username\":\"j\xE92\"}\n");
    let file = write_bytes(&sim, "users.jsonl", &jsonl);
    let out = import(&sim, &file, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("is not UTF-8: line 2"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(requests(&sim), 0);
    assert!(usernames(&sim).is_empty());
}

#[test]
fn standard_input_stops_at_its_first_row_that_is_not_utf8() {
    let sim = Sim::start("stdin-encoding");
    let mut bytes = format!("{HEADER}\n{}\n{}\n", row("u1"), row("u2")).into_bytes();
    bytes.extend(b"u3,u3@example.com,Zo\xEB,L3,pw-SECRET-u3,true,member\n");
    bytes.extend(format!("{}\n{}\n", row("u4"), row("u5")).into_bytes());
    let out = import_stdin(&sim, "csv", &bytes);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let rejected = rejects(&sim.path("stdin.rejects"));
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].0, 4);
    assert!(
        rejected[0]
            .1
            .contains("column 3 `first_name` is not UTF-8, so the rest of the input was not read")
            && rejected[0].1.contains("iconv -f WINDOWS-1252 -t UTF-8"),
        "{rejected:?}"
    );
    assert_eq!(
        outcomes(&sim.path("stdin.journal.results.csv")),
        owned(&[(2, "created"), (3, "created"), (4, "rejected")])
    );
    assert_eq!(usernames(&sim), ["u1", "u2"], "nothing after the bad row");
    assert_eq!(requests(&sim), 2);
}

#[test]
fn json_that_is_not_json_lines_is_refused_with_one_hint() {
    let sim = Sim::start("json");
    // An array, as `jq .` or a JSON export writes it.
    let array = format!("[\n  {},\n  {}\n]\n", json_row("j1"), json_row("j2"));
    let file = sim.write("users.jsonl", &array);
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let path = file.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{path} is a JSON array, not JSON Lines (one object per line); convert it: jq -c '.[]' {path} > {}",
            sim.path("users.lines.jsonl").display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    // Objects followed by commas.
    let commas = format!(
        "{},\n{},\n{}\n",
        json_row("j1"),
        json_row("j2"),
        json_row("j3")
    );
    let file = sim.write("commas.jsonl", &commas);
    let out = import(&sim, &file, &[]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 1 is an object followed by a comma") && stderr.contains("sed "),
        "{stderr}"
    );
    // The same on standard input, which cannot be rewound.
    let out = import_stdin(&sim, "jsonl", array.as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("standard input is a JSON array"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(requests(&sim), 0);
    assert_eq!(
        files(&sim),
        ["commas.jsonl", "users.jsonl"],
        "a refused start leaves no file"
    );
    // JSON Lines on standard input: the lines looked at first are imported too.
    let lines = format!("\n\n{}\n{}\n", json_row("j1"), json_row("j2"));
    let out = import_stdin(&sim, "jsonl", lines.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        outcomes(&sim.path("stdin.journal.results.csv")),
        owned(&[(3, "created"), (4, "created")])
    );
    assert_eq!(usernames(&sim), ["j1", "j2"]);
    assert_eq!(requests(&sim), 2);
}
