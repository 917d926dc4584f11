//! The spec loader on mutated specs: every input gets a spec or a `SpecError` naming the file,
//! never a panic; and generation from a loaded spec never panics either (it reports).

use proptest::prelude::*;

fn nexway() -> String {
    std::fs::read_to_string(xtask::workspace_root().join("openapi/nexway-iam.yaml")).unwrap()
}

/// One edit of the spec's text.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceChar(usize, char),
    Truncate(usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..400).prop_map(Edit::DeleteLine),
        (0usize..400).prop_map(Edit::DuplicateLine),
        (
            0usize..12_000,
            prop_oneof![
                Just(' '),
                Just(':'),
                Just('-'),
                Just('\''),
                Just('#'),
                Just('{'),
                any::<char>()
            ]
        )
            .prop_map(|(i, c)| Edit::ReplaceChar(i, c)),
        (0usize..12_000).prop_map(Edit::Truncate),
        (0usize..400, 0usize..400).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        let n = lines.len().max(1);
        match *edit {
            Edit::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Edit::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Edit::ReplaceChar(at, c) => {
                let mut chars: Vec<char> = lines.join("\n").chars().collect();
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars[at] = c;
                }
                lines = chars
                    .into_iter()
                    .collect::<String>()
                    .lines()
                    .map(str::to_owned)
                    .collect();
            }
            Edit::Truncate(at) => {
                let text = lines.join("\n");
                let cut = text
                    .char_indices()
                    .nth(at % text.chars().count().max(1))
                    .map_or(text.len(), |(i, _)| i);
                lines = text[..cut].lines().map(str::to_owned).collect();
            }
            _ => {}
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn mutated_specs_get_a_spec_or_an_error_naming_the_file(edits in proptest::collection::vec(edit(), 1..4)) {
        let text = apply(&nexway(), &edits);
        match xtask::spec::parse(&text, "openapi/mutated.yaml") {
            Ok(spec) => {
                if let Err(e) = xtask::codegen::generate_source(&spec, "openapi/mutated.yaml") {
                    prop_assert!(e.to_string().starts_with("openapi/mutated.yaml: "), "{e}");
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("openapi/mutated.yaml: "), "{e}"),
        }
    }
}
