//! Any bytes as JSONL: every non-blank line is a user or a reason; the reader never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for row in iam_cli::rows::jsonl_rows(Box::new(std::io::Cursor::new(data.to_vec()))) {
        if let Err(reason) = &row.user {
            assert!(!reason.is_empty());
        }
    }
});
