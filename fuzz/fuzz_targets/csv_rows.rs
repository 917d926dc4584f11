//! Any bytes after a valid header: every row is a user or a reason; the reader never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"username,email,first_name,last_name,password,enabled,roles,groups,attr.k\n".to_vec();
    input.extend_from_slice(data);
    if let Ok(rows) = iam_cli::rows::csv_rows(Box::new(std::io::Cursor::new(input))) {
        for row in rows {
            let _ = row.key();
        }
    }
    // And any bytes as the whole file, header included.
    if let Ok(rows) = iam_cli::rows::csv_rows(Box::new(std::io::Cursor::new(data.to_vec()))) {
        rows.for_each(drop);
    }
});
