//! `pyslim.toml` (including `[[build_secret]]` and `[[custom_image]]`), `--build-secret` flags and
//! the port rewrite of an entrypoint. Property: errors, never a panic; what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyslim::plan::{BuildSecret, Config, with_port};

mod common;

const SAMPLE: &str = "python = \"3.13\"\nentrypoint = [\"uvicorn\", \"app:app\", \"--port\", \"8000\"]\nport = 8000\n\
    user = \"65532:65532\"\nimage_mirror = \"mirror.local\"\n\n[[build_secret]]\nid = \"ca\"\nsrc = \"~/ca.pem\"\n\
    target = \"/run/pyslim-secrets/ca.pem\"\nenv = \"PIP_CERT\"\n";

fuzz_target!(|data: &[u8]| {
    common::write_corpus(|| vec![SAMPLE.as_bytes().to_vec(), b"id=ca,src=/x,target=/run/x,env=PIP_CERT\n".to_vec()]);
    let text = String::from_utf8_lossy(data);
    if let Ok(cfg) = Config::parse(&text) {
        let again = Config::parse(&cfg.to_toml()).expect("what pyslim writes, it reads");
        assert_eq!(again, cfg);
    }
    for line in text.lines() {
        let _ = line.parse::<BuildSecret>().map(|s| s.validate());
    }
    let argv: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let port = data.first().map_or(8000, |b| 1000 + u16::from(*b));
    assert_eq!(with_port(&argv, port).len(), argv.len());
});
