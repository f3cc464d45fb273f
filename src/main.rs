//! The `burstccn` binary: parse arguments, run, print the error chain once, set the exit code.

use clap::Parser;

mod cli;

fn main() {
    // Die quietly when the reader of stdout goes away (`burstccn ... | head`), as C tools do,
    // instead of panicking on a failed print.
    #[cfg(unix)]
    // SAFETY: resetting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
