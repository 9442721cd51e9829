//! What the book's checks and generators share: reading its markdown and its
//! transcripts, the size and caption of every snippet ([`snippet_problems`]),
//! and the diff pages between stages ([`diff_page`]).
//!
//! mdBook builds happily with an include that names a missing file or anchor;
//! `tests/tests/book.rs` uses this module to make such mistakes fail
//! `cargo test`.

mod diffs;
mod snippets;

pub use diffs::{WHY, diff_page, without_book_markers};
pub use snippets::{SNIPPET_LINES, ShownCode, caption, region_lines, shown_code, snippet_problems};

/// The stage crates in order; stage N is `STAGES[N - 1]`.
pub const STAGES: [&str; 6] = [
    "stage1-echo",
    "stage2-rooms",
    "stage3-protocol",
    "stage4-commands",
    "stage5-async",
    "stage6-shutdown",
];

/// One `{{#include …}}` or `{{#rustdoc_include …}}` in a markdown file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// 1-based line in the markdown file.
    pub line: usize,
    /// The path as written, relative to the markdown file.
    pub path: String,
    /// What follows the path after `:`, if anything: an anchor name or a
    /// line range.
    pub selector: Option<String>,
}

/// Every include in a markdown text.
pub fn includes(markdown: &str) -> Vec<Include> {
    let mut found = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let directive = after[..end].trim();
            rest = &after[end + 2..];
            let Some(argument) = directive
                .strip_prefix("include ")
                .or_else(|| directive.strip_prefix("rustdoc_include "))
            else {
                continue;
            };
            let (path, selector) = match argument.trim().split_once(':') {
                Some((path, selector)) => (path, Some(selector.to_owned())),
                None => (argument.trim(), None),
            };
            found.push(Include {
                line: index + 1,
                path: path.to_owned(),
                selector,
            });
        }
    }
    found
}

/// One fenced code block in a markdown text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The info string: ```` ```rust,ignore ```` gives `rust,ignore`.
    pub info: String,
    /// The lines between the fences.
    pub body: Vec<String>,
    /// Whether a closing fence ends it; one that is never closed swallows
    /// the rest of the page.
    pub closed: bool,
}

/// Every fenced code block (``` or ~~~, any length) in a markdown text.
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, CodeBlock)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let is_fence = fence.len() >= 3 && fence.chars().all(|c| c == fence.as_bytes()[0] as char);
        match open.take() {
            None if is_fence => {
                let block = CodeBlock {
                    line: index + 1,
                    info: trimmed[fence.len()..].trim().to_owned(),
                    body: Vec::new(),
                    closed: true,
                };
                open = Some((fence, block));
            }
            None => {}
            Some((opening, block))
                if is_fence
                    && fence.starts_with(&opening)
                    && trimmed[fence.len()..].trim().is_empty() =>
            {
                blocks.push(block);
            }
            Some((opening, mut block)) => {
                block.body.push(line.to_owned());
                open = Some((opening, block));
            }
        }
    }
    if let Some((_, block)) = open {
        // Markdown ends an unclosed block at the end of the page.
        blocks.push(CodeBlock {
            closed: false,
            ..block
        });
    }
    blocks
}

/// One step of a "Try it" transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `who → line`: the client sends `line`.
    Send {
        /// The client's name.
        who: String,
        /// What it sends, without the newline.
        line: String,
    },
    /// `who ← line`: the next line the client receives is exactly `line`.
    Expect {
        /// The client's name.
        who: String,
        /// The line, without the newline.
        line: String,
    },
    /// `who → (hangs up)`: the client closes its connection.
    HangUp {
        /// The client's name.
        who: String,
    },
    /// `who ← (connection closed)`: the server closes the connection.
    Closed {
        /// The client's name.
        who: String,
    },
}

/// Parses a transcript into numbered steps (1-based line numbers).
pub fn parse_transcript(text: &str) -> Result<Vec<(usize, Step)>, String> {
    let mut steps = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // The first arrow in the line counts: the text may contain arrows too.
        let parsed = [(" → ", true), (" ← ", false)]
            .iter()
            .filter_map(|&(arrow, sends)| line.find(arrow).map(|at| (at, arrow, sends)))
            .min_by_key(|&(at, _, _)| at)
            .map(|(at, arrow, sends)| (&line[..at], &line[at + arrow.len()..], sends));
        let Some((who, rest, sends)) = parsed else {
            return Err(format!(
                "line {number}: expected `NAME → TEXT`, `NAME ← TEXT` or a `#` comment, got {line:?}"
            ));
        };
        let who = who.trim();
        if who.is_empty() || who.contains(char::is_whitespace) {
            return Err(format!(
                "line {number}: a client's name is one word, got {who:?}"
            ));
        }
        let who = who.to_owned();
        let step = match (sends, rest) {
            (true, "(hangs up)") => Step::HangUp { who },
            (false, "(connection closed)") => Step::Closed { who },
            (true, line) => Step::Send {
                who,
                line: line.to_owned(),
            },
            (false, line) => Step::Expect {
                who,
                line: line.to_owned(),
            },
        };
        steps.push((number, step));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_includes_with_and_without_anchors() {
        let found = includes(
            "text\n```rust\n{{#include ../../stage2-rooms/src/room.rs:broadcast}}\n```\n\
             {{#include transcripts/stage2-lobby.txt}} and {{#rustdoc_include a.rs:b}}\n",
        );
        let shown: Vec<(usize, &str, Option<&str>)> = found
            .iter()
            .map(|i| (i.line, i.path.as_str(), i.selector.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                (3, "../../stage2-rooms/src/room.rs", Some("broadcast")),
                (5, "transcripts/stage2-lobby.txt", None),
                (5, "a.rs", Some("b")),
            ]
        );
    }

    #[test]
    fn reads_code_blocks_of_any_fence() {
        let blocks =
            code_blocks("```rust,ignore\n// why\nlet x = 1;\n```\n\n````diff\n```\n````\n");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].info, "rust,ignore");
        assert_eq!(blocks[0].body, ["// why", "let x = 1;"]);
        assert_eq!(blocks[1].info, "diff");
        assert_eq!(
            blocks[1].body,
            ["```"],
            "a shorter fence does not close a longer one"
        );
    }

    #[test]
    fn parses_every_kind_of_transcript_step() {
        let steps = parse_transcript(
            "# a comment\n\nalice ← welcome! what is your name?\nalice → alice #1\n\
             bob → (hangs up)\nalice ← (connection closed)\n",
        )
        .expect("a valid transcript");
        let steps: Vec<Step> = steps.into_iter().map(|(_, step)| step).collect();
        let who = |name: &str| name.to_owned();
        assert_eq!(
            steps,
            [
                Step::Expect {
                    who: who("alice"),
                    line: "welcome! what is your name?".into()
                },
                Step::Send {
                    who: who("alice"),
                    line: "alice #1".into()
                },
                Step::HangUp { who: who("bob") },
                Step::Closed { who: who("alice") },
            ]
        );
        let arrows = parse_transcript("alice ← * bob → #x\n").expect("the first arrow counts");
        assert_eq!(
            arrows[0].1,
            Step::Expect {
                who: who("alice"),
                line: "* bob → #x".into()
            }
        );
        let error = parse_transcript("alice says hi\n").expect_err("no arrow");
        assert!(error.starts_with("line 1:"), "{error}");
    }
}
