//! Prints the calib2021 evaluation: `cargo run --release -p roomsense-locate --example calib2021 [DATASET_DIR]`.

#[path = "../tests/it/calib2021.rs"]
mod calib2021;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(calib2021::default_dataset_dir, PathBuf::from);
    match calib2021::evaluate(&dir) {
        Ok((model, report)) => {
            print!("{}", calib2021::to_markdown(model, &report));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
