//! Writes the book's generated pages.
//!
//! ```text
//! cargo book diffs    # book/src/diffs/stage2.md … stage6.md, from the crates
//!                     # and the sentences in book/src/diffs/why.toml
//! ```
//!
//! `cargo test -p chat-tools --test book` fails when a generated page is out of
//! date, and names this command.

use std::fs;
use std::process::ExitCode;

use chat_harness::workspace_root;
use chat_tools::book::diff_page;
use clap::{Parser, Subcommand};

/// Writes the book's generated pages.
#[derive(Debug, Parser)]
#[command(name = "book", version)]
struct Args {
    #[command(subcommand)]
    command: Page,
}

/// Which pages to write.
#[derive(Debug, Subcommand)]
enum Page {
    /// The diff pages between consecutive stages (book/src/diffs/).
    Diffs,
}

fn main() -> ExitCode {
    let Args {
        command: Page::Diffs,
    } = Args::parse();
    let root = workspace_root();
    // Every page is tried, so that one run names every missing sentence.
    let mut status = ExitCode::SUCCESS;
    for stage in 2..=6 {
        let path = root.join(format!("book/src/diffs/stage{stage}.md"));
        let written = diff_page(&root, stage).and_then(|page| Ok(fs::write(&path, page)?));
        match written {
            Ok(()) => println!("wrote {}", path.display()),
            Err(error) => {
                eprintln!("book: cannot write {}:\n{error:#}", path.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
