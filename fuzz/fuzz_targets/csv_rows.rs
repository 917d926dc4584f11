//! Any bytes after a valid header: every row is a user or a reason; the reader never panics.
#![no_main]

use iam_cli::rows::{CsvOptions, csv_rows};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let options = CsvOptions::default();
    let mut input =
        b"username,email,first_name,last_name,password,enabled,roles,groups,attr.k\n".to_vec();
    input.extend_from_slice(data);
    if let Ok(rows) = csv_rows(Box::new(std::io::Cursor::new(input)), &options) {
        let mut last = 1;
        for row in rows {
            let _ = row.key();
            assert!(row.line > last, "line {} after {last}", row.line);
            last = row.line;
        }
    }
    // And any bytes as the whole file, header included, read with `;` as the separator, the
    // first column renamed and the second left out.
    let options = CsvOptions {
        delimiter: b';',
        map: vec![("a".to_owned(), "username".to_owned())],
        ignore: vec!["b".to_owned()],
    };
    if let Ok(rows) = csv_rows(Box::new(std::io::Cursor::new(data.to_vec())), &options) {
        rows.for_each(drop);
    }
});
