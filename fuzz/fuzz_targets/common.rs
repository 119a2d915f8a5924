//! Shared by the fuzz targets: the seeds and the pipeline run of tests/fuzz_shared.in, and
//! writing a starting corpus.

include!("../../tests/fuzz_shared.in");

/// With `PYSLIM_FUZZ_SEEDS=<dir>` set, writes `inputs` there once (scripts/fuzz.sh does this in
/// a first `-runs=0` pass, so libFuzzer starts from realistic files instead of nothing).
pub fn write_corpus(inputs: impl FnOnce() -> Vec<Vec<u8>>) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Some(dir) = std::env::var_os("PYSLIM_FUZZ_SEEDS") else { return };
        std::fs::create_dir_all(&dir).unwrap();
        for (i, input) in inputs().into_iter().enumerate() {
            std::fs::write(std::path::Path::new(&dir).join(format!("seed-{i:02}")), input).unwrap();
        }
    });
}
