//! Stand-in for `roomsense locate replay|import-companion` until the `roomsense` binary wires them:
//!
//! ```text
//! cargo run -p roomsense-locate --example locate -- replay --config HOUSE.toml --input CAPTURE --out ESTIMATES.jsonl [--estimator NAME]
//! cargo run -p roomsense-locate --example locate -- import-companion config.yaml > house.toml
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use roomsense_locate::{EstimatorKind, import_companion, replay_files};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(PathBuf::from)
    };
    match args.first().map(String::as_str) {
        Some("replay") => {
            let need = |name: &str| flag(name).ok_or_else(|| format!("replay needs {name} FILE"));
            let estimator = match flag("--estimator") {
                Some(name) => Some(EstimatorKind::from_name(&name.to_string_lossy()).map_err(|e| e.to_string())?),
                None => None,
            };
            let stats = replay_files(&need("--config")?, &need("--input")?, &need("--out")?, estimator)
                .map_err(|e| e.to_string())?;
            eprintln!(
                "lines {} bad {} estimates {} rejected {:?}",
                stats.lines, stats.bad_lines, stats.estimates, stats.counters.rejected
            );
            Ok(())
        }
        Some("import-companion") => {
            let file = args.get(1).ok_or("import-companion needs the companion config.yaml")?;
            let yaml = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            print!("{}", import_companion(&yaml, Path::new(file)).map_err(|e| e.to_string())?);
            Ok(())
        }
        _ => Err("usage: locate replay --config F --input F --out F [--estimator NAME] | locate import-companion F".into()),
    }
}
