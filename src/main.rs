//! The `burstccn` binary: parse arguments, run, print the error chain once, set the exit code.

use clap::Parser;

mod cli;

fn main() {
    let args = cli::Cli::parse();
    if let Err(err) = cli::dispatch(args) {
        eprintln!("error: {err}");
        for cause in err.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        let code = match err.downcast_ref::<burstccn::Error>() {
            Some(burstccn::Error::Interrupted { .. }) => 130,
            Some(e) if e.is_input_error() => 2,
            _ => 1,
        };
        std::process::exit(code);
    }
}
