//! What a reader sees of the crates' files on a page: each included region
//! short enough to take in, and each captioned with the file it comes from.

use std::path::{Component, Path, PathBuf};

use super::includes;

/// The most lines an included region may have where the page shows it
/// unfolded. A longer listing goes in a folded `<details>`.
pub const SNIPPET_LINES: usize = 30;

/// The caption above a block that includes `file` (a path from the
/// repository root, with `/`), as a listing in the Rust Book has it.
pub fn caption(file: &str) -> String {
    format!("<span class=\"filename\">Filename: {file}</span>")
}

/// An include of a crate's file (`.rs`, `.toml`) and how the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownCode {
    /// 1-based line of the include in the markdown file.
    pub line: usize,
    /// The path as written, relative to the markdown file.
    pub path: String,
    /// The anchor after `:`, if any.
    pub anchor: Option<String>,
    /// Whether a `<details>` folds it away until the reader opens it.
    pub folded: bool,
    /// The nearest non-blank line above its code block (above the include
    /// itself outside a block), trimmed; empty at the top of the page.
    pub above: String,
}

/// Every include of a `.rs` or `.toml` file in a markdown text.
pub fn shown_code(markdown: &str) -> Vec<ShownCode> {
    let mut shown = Vec::new();
    let mut details = 0_i32;
    // The opening fence of the block we are in, and the line above it.
    let mut fence: Option<(String, String)> = None;
    let mut above = String::new();
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        let marks: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let is_fence = marks.len() >= 3
            && (marks.chars().all(|c| c == '`') || marks.chars().all(|c| c == '~'));
        match &fence {
            Some((opening, _)) if is_fence && marks.starts_with(opening.as_str()) => {
                fence = None;
                continue;
            }
            None if is_fence => {
                fence = Some((marks, above.clone()));
                continue;
            }
            _ => {}
        }
        // Only an HTML line opens or closes a fold: prose may name the tag.
        if fence.is_none() && trimmed.starts_with('<') {
            details += count(trimmed, "<details") - count(trimmed, "</details>");
        }
        let here = fence.as_ref().map_or(&above, |(_, above)| above).clone();
        for include in includes(line) {
            if !(include.path.ends_with(".rs") || include.path.ends_with(".toml")) {
                continue;
            }
            shown.push(ShownCode {
                line: index + 1,
                path: include.path,
                anchor: include.selector,
                folded: details > 0,
                above: here.clone(),
            });
        }
        if fence.is_none() && !trimmed.is_empty() {
            above = trimmed.to_owned();
        }
    }
    shown
}

fn count(line: &str, tag: &str) -> i32 {
    i32::try_from(line.matches(tag).count()).unwrap_or(i32::MAX)
}

/// How many lines the region `anchor` of `source` shows (the whole file
/// without an anchor), not counting the `ANCHOR` lines of regions nested in
/// it, which mdBook leaves out; `None` when the anchor is not there.
pub fn region_lines(source: &str, anchor: Option<&str>) -> Option<usize> {
    let Some(anchor) = anchor else {
        return Some(source.lines().count());
    };
    let names = |line: &str, marker: &str| {
        line.find(marker).is_some_and(|at| {
            let name: String = line[at + marker.len()..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            name == anchor
        })
    };
    let mut lines = None;
    for line in source.lines() {
        match lines {
            None if names(line, "ANCHOR:") => lines = Some(0),
            None => {}
            Some(_) if names(line, "ANCHOR_END:") => return lines,
            Some(_) if line.contains("ANCHOR:") || line.contains("ANCHOR_END:") => {}
            Some(n) => lines = Some(n + 1),
        }
    }
    None
}

/// `base/relative` with its `..` and `.` resolved, without asking the file
/// system (so that it also works for pages that exist only in a test).
fn joined(base: &Path, relative: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for component in base.join(relative).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::CurDir => {}
            other => path.push(other),
        }
    }
    path
}

/// The problems of the code that `page` (its path from the repository root)
/// shows: regions over [`SNIPPET_LINES`] outside a `<details>`, and blocks
/// without their caption. `read` gives a file's text by its path from the
/// repository root. Each problem says where it is and how to fix it.
pub fn snippet_problems(
    page: &str,
    markdown: &str,
    read: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let base = Path::new(page).parent().unwrap_or(Path::new(""));
    let mut problems = Vec::new();
    for code in shown_code(markdown) {
        if code.folded {
            continue;
        }
        let place = format!("{page}:{}", code.line);
        let file = joined(base, &code.path)
            .to_string_lossy()
            .replace('\\', "/");
        let wanted = caption(&file);
        if code.above != wanted {
            let found = if code.above.is_empty() {
                "nothing".to_owned()
            } else {
                format!("`{}`", code.above)
            };
            problems.push(format!(
                "{place}: the block that includes `{file}` has no caption naming it (the \
                 nearest non-blank line above the block is {found}); put this line above \
                 the block: {wanted}"
            ));
        }
        let anchor = code.anchor.as_deref();
        if anchor.is_some_and(|a| a.starts_with(|c: char| c.is_ascii_digit())) {
            continue; // Line numbers: `every_include_names_…` reports them.
        }
        let Some(lines) = read(&file).and_then(|source| region_lines(&source, anchor)) else {
            continue; // A missing file or anchor: `every_include_names_…` reports it.
        };
        if lines > SNIPPET_LINES {
            let what = anchor.map_or(format!("all of `{file}`"), |a| format!("`{file}:{a}`"));
            problems.push(format!(
                "{place}: {what} is {lines} lines, more than the {SNIPPET_LINES} a reader \
                 takes in at once; narrow it (a `// ANCHOR: name` / `// ANCHOR_END: name` \
                 pair around the lines the prose is about), or fold the whole listing in \
                 `<details><summary>…</summary>` … `</details>`"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source file with a region `short` of 30 lines holding a nested
    /// region, and a region `long` of 31 lines.
    fn source() -> String {
        let mut text = String::from("// ANCHOR: short\n// ANCHOR: inner\n");
        text.push_str(&"a();\n".repeat(30));
        text.push_str("// ANCHOR_END: inner\n// ANCHOR_END: short\n// ANCHOR: long\n");
        text.push_str(&"b();\n".repeat(31));
        text.push_str("// ANCHOR_END: long\n");
        text
    }

    fn problems(page: &str, markdown: &str) -> Vec<String> {
        snippet_problems(page, markdown, |file| {
            (file == "stage1-echo/src/main.rs").then(source)
        })
    }

    const CAPTION: &str = "<span class=\"filename\">Filename: stage1-echo/src/main.rs</span>";

    #[test]
    fn counts_a_region_without_the_anchor_lines_nested_in_it() {
        assert_eq!(region_lines(&source(), Some("short")), Some(30));
        assert_eq!(region_lines(&source(), Some("inner")), Some(30));
        assert_eq!(region_lines(&source(), Some("long")), Some(31));
        assert_eq!(region_lines(&source(), Some("lon")), None);
        assert_eq!(region_lines("a\nb\n", None), Some(2));
    }

    #[test]
    fn a_captioned_short_region_passes() {
        let page = format!(
            "Prose.\n\n{CAPTION}\n\n```rust\n{{{{#include ../../stage1-echo/src/main.rs:short}}}}\n```\n"
        );
        assert_eq!(problems("book/src/stage1.md", &page), Vec::<String>::new());
        // A page one folder deeper reaches the same file.
        let deeper = page.replace("../../", "../../../");
        assert_eq!(
            problems("book/src/appendix/a.md", &deeper),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_long_region_fails_unless_folded() {
        let block = "```rust\n{{#include ../../stage1-echo/src/main.rs:long}}\n```\n";
        let shown = problems("book/src/stage1.md", &format!("{CAPTION}\n{block}"));
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0]
                .starts_with("book/src/stage1.md:3: `stage1-echo/src/main.rs:long` is 31 lines"),
            "{}",
            shown[0]
        );
        let folded = format!("<details>\n<summary>All of it</summary>\n\n{block}\n</details>\n");
        assert_eq!(
            problems("book/src/stage1.md", &folded),
            Vec::<String>::new()
        );
        // After the `<details>` closes, the limit holds again.
        let after = format!("{folded}\n{CAPTION}\n{block}");
        assert_eq!(problems("book/src/stage1.md", &after).len(), 1);
        // Prose that names the tag folds nothing.
        let named = format!("Long listings go in a `<details>`.\n\n{CAPTION}\n{block}");
        assert_eq!(problems("book/src/stage1.md", &named).len(), 1);
    }

    #[test]
    fn a_missing_or_wrong_caption_fails_and_says_what_to_write() {
        let block = "```rust\n{{#include ../../stage1-echo/src/main.rs:short}}\n```\n";
        let missing = problems("book/src/stage1.md", &format!("Some prose:\n\n{block}"));
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(
            missing[0].starts_with("book/src/stage1.md:4: the block that includes"),
            "{}",
            missing[0]
        );
        assert!(missing[0].contains("`Some prose:`"), "{}", missing[0]);
        assert!(missing[0].ends_with(CAPTION), "{}", missing[0]);
        let wrong = CAPTION.replace("main.rs", "lib.rs");
        assert_eq!(
            problems("book/src/stage1.md", &format!("{wrong}\n{block}")).len(),
            1
        );
        // The caption must be the line right above, not one further up.
        let apart = format!("{CAPTION}\n\nProse in between.\n\n{block}");
        assert_eq!(problems("book/src/stage1.md", &apart).len(), 1);
        assert_eq!(problems("book/src/stage1.md", block).len(), 1);
    }

    #[test]
    fn other_includes_and_fenced_examples_are_left_alone() {
        let page = "{{#include transcripts/stage1-echo.txt}}\n\n````md\n```rust\n```\n````\n";
        assert_eq!(problems("book/src/stage1.md", page), Vec::<String>::new());
        assert_eq!(shown_code(page), Vec::new());
    }
}
