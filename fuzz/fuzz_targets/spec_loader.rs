//! Any text as an OpenAPI spec: a spec or an error naming the file, never a panic. Specs that
//! load are generated too (progenitor's own panics are caught and reported by the xtask).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match xtask::spec::parse(text, "openapi/fuzz.yaml") {
        Ok(spec) => {
            if let Err(e) = xtask::codegen::generate_source(&spec, "openapi/fuzz.yaml") {
                assert!(e.to_string().starts_with("openapi/fuzz.yaml: "));
            }
        }
        Err(e) => assert!(e.to_string().starts_with("openapi/fuzz.yaml: ")),
    }
});
