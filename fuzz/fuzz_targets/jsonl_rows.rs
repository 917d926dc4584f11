//! Any bytes as JSONL: refused as a whole, or every non-blank line is a user or a reason; the
//! reader never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = iam_cli::rows::jsonl_rows(Box::new(std::io::Cursor::new(data.to_vec()))) {
        for row in rows {
            if let Err(reason) = &row.user {
                assert!(!reason.is_empty());
            }
        }
    }
});
