//! The generated diff pages: what changed from one stage to the next, file
//! by file, with the hand-written sentence that says why (kept in [`WHY`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context as _, bail};
use similar::{ChangeTag, TextDiff};

use super::STAGES;

/// The file, from the repository root, that says in one sentence why each
/// file changed, grouped by the pattern that changed it: a `[[stageN]]`
/// table per group, with a `pattern` and one `"path" = "sentence"` per file.
pub const WHY: &str = "book/src/diffs/why.toml";

/// How the groups of [`WHY`] that belong to the optional "Going further"
/// pages begin: their lines are counted apart from the chapter's.
const FURTHER: &str = "Going further";

/// The markdown of the generated page that shows what changed from stage
/// `stage - 1` to `stage` (2 to 6) in the crates' `Cargo.toml`, `src/` and
/// `benches/`. Fails when [`WHY`] has no sentence for a changed file, or one
/// for a file that did not change.
pub fn diff_page(root: &Path, stage: usize) -> anyhow::Result<String> {
    let (old, new) = (STAGES[stage - 2], STAGES[stage - 1]);
    let old_files = crate_files(&root.join(old))?;
    let new_files = crate_files(&root.join(new))?;
    let why = fs::read_to_string(root.join(WHY)).with_context(|| format!("cannot read {WHY}"))?;
    render(stage, &old_files, &new_files, &why)
}

/// One changed file: its diff, counted.
struct Change {
    what: &'static str,
    added: usize,
    removed: usize,
    unified: String,
}

/// The files that differ between two stages, by path.
fn changes(
    stage: usize,
    old_files: &BTreeMap<String, String>,
    new_files: &BTreeMap<String, String>,
) -> BTreeMap<String, Change> {
    let (old, new) = (STAGES[stage - 2], STAGES[stage - 1]);
    let mut changed = BTreeMap::new();
    for name in old_files.keys().chain(new_files.keys()) {
        let before = old_files.get(name).map_or("", String::as_str);
        let after = new_files.get(name).map_or("", String::as_str);
        if before == after || changed.contains_key(name) {
            continue;
        }
        let diff = TextDiff::from_lines(before, after);
        let count = |tag| diff.iter_all_changes().filter(|c| c.tag() == tag).count();
        let what = match (old_files.contains_key(name), new_files.contains_key(name)) {
            (false, _) => "new",
            (_, false) => "removed",
            _ => "changed",
        };
        let mut unified = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("{old}/{name}"), &format!("{new}/{name}"))
            .to_string();
        if !unified.ends_with('\n') {
            unified.push('\n');
        }
        let change = Change {
            what,
            added: count(ChangeTag::Insert),
            removed: count(ChangeTag::Delete),
            unified,
        };
        changed.insert(name.clone(), change);
    }
    changed
}

/// One group of a transition's sentences: a pattern and its files.
struct Group {
    pattern: String,
    files: Vec<(String, String)>,
}

/// The groups that [`WHY`] gives for `stage`, in the order written.
fn groups(why: &str, stage: usize) -> anyhow::Result<Vec<Group>> {
    let table: toml::Table = why
        .parse()
        .with_context(|| format!("{WHY} is not valid TOML"))?;
    let key = format!("stage{stage}");
    let Some(toml::Value::Array(tables)) = table.get(&key) else {
        bail!(
            "{WHY} has no `[[{key}]]` groups for stage {} → {stage}; add one per pattern, \
             with `pattern = \"…\"` and a `\"path\" = \"why it changed\"` line per file",
            stage - 1
        );
    };
    let mut found = Vec::new();
    for (index, group) in tables.iter().enumerate() {
        let place = format!("{WHY}: group {} of `[[{key}]]`", index + 1);
        let toml::Value::Table(group) = group else {
            bail!("{place} is not a table");
        };
        let Some(pattern) = group.get("pattern").and_then(toml::Value::as_str) else {
            bail!("{place} has no `pattern = \"…\"` naming what changed these files");
        };
        let mut files = Vec::new();
        for (file, sentence) in group.iter().filter(|(key, _)| *key != "pattern") {
            match sentence.as_str().map(str::trim) {
                Some(sentence) if !sentence.is_empty() => {
                    files.push((file.clone(), sentence.to_owned()));
                }
                _ => bail!("{place} (\"{pattern}\"): `{file}` needs a sentence in quotes"),
            }
        }
        found.push(Group {
            pattern: pattern.to_owned(),
            files,
        });
    }
    Ok(found)
}

/// The page, from the two stages' files and the text of [`WHY`].
fn render(
    stage: usize,
    old_files: &BTreeMap<String, String>,
    new_files: &BTreeMap<String, String>,
    why: &str,
) -> anyhow::Result<String> {
    let (old, new) = (STAGES[stage - 2], STAGES[stage - 1]);
    let transition = format!("stage {} → {stage}", stage - 1);
    let mut changed = changes(stage, old_files, new_files);
    let groups = groups(why, stage)?;
    let mut problems = Vec::new();
    let mut table = String::new();
    let mut bodies = String::new();
    let (mut total_added, mut total_removed) = (0, 0);
    let (mut further_added, mut further_removed) = (0, 0);
    for group in &groups {
        let _ = writeln!(table, "| **{}** | | |", group.pattern);
        for (file, sentence) in &group.files {
            let Some(change) = changed.remove(file) else {
                problems.push(format!(
                    "{WHY}: `[[stage{stage}]]` \"{}\" explains `{file}`, which {transition} \
                     does not change (or which it explains twice); remove that line",
                    group.pattern
                ));
                continue;
            };
            let Change {
                what,
                added,
                removed,
                unified,
            } = change;
            total_added += added;
            total_removed += removed;
            if group.pattern.starts_with(FURTHER) {
                further_added += added;
                further_removed += removed;
            }
            let shown = match what {
                "changed" => format!("`{file}`"),
                _ => format!("`{file}` ({what})"),
            };
            let _ = writeln!(table, "| {shown} | +{added}&nbsp;−{removed} | {sentence} |");
            let _ = writeln!(
                bodies,
                "\n<details>\n<summary><code>{file}</code>: {what}, +{added} −{removed}\
                 </summary>\n\n````diff\n{unified}````\n\n</details>"
            );
        }
    }
    for file in changed.keys() {
        problems.push(format!(
            "{WHY}: {transition} changes `{file}`, but no sentence says why; add \
             `\"{file}\" = \"<why it changed>\"` to the `[[stage{stage}]]` group of the \
             pattern that changed it"
        ));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }

    let mut page = String::new();
    let _ = writeln!(page, "# Stage {} → {stage}: the diff\n", stage - 1);
    let _ = writeln!(
        page,
        "<!-- Generated by `cargo book diffs` from the crates and {WHY}; do not edit. \
         `cargo test -p chat-tools --test book` fails when it is out of date. -->\n"
    );
    let _ = writeln!(
        page,
        "Every file that changed from `{old}` to `{new}` in `Cargo.toml`, `src/` and \
         `benches/`, grouped by the pattern that changed it, with a sentence on why. The \
         tests are left out, and so are the comment lines that only mark code for this \
         book (anchors, and the line naming an exercise).\n"
    );
    // No links in the table: a chapter may include it, where `#…` would
    // point at its own page.
    let _ = writeln!(page, "<!-- ANCHOR: stat -->");
    let _ = writeln!(page, "| file | lines | why |\n|---|---|---|");
    page.push_str(&table);
    if further_added + further_removed > 0 {
        // The optional pages' code, counted apart, so that the chapter's own
        // change is plain to see.
        let (core_added, core_removed) =
            (total_added - further_added, total_removed - further_removed);
        let _ = writeln!(
            page,
            "| **the chapter's change** | **+{core_added}&nbsp;−{core_removed}** | |\n\
             | **going further (optional)** | **+{further_added}&nbsp;−{further_removed}** | |"
        );
    }
    let _ = writeln!(
        page,
        "| **in all** | **+{total_added}&nbsp;−{total_removed}** | |"
    );
    let _ = writeln!(page, "<!-- ANCHOR_END: stat -->\n");
    let _ = writeln!(page, "## Every changed line\n");
    let _ = writeln!(
        page,
        "One folded diff per file, in the order of the table. Lines starting with `-` \
         are the old stage's, lines starting with `+` the new one's."
    );
    page.push_str(&bodies);
    Ok(page)
}

/// `text` without the lines that serve the book rather than the program:
/// anchors, and the comment naming an exercise right above its anchor. A
/// diff should show what the stage changed, and not go stale when a marker
/// moves.
pub fn without_book_markers(text: &str) -> String {
    let is_anchor = |line: &str| {
        let line = line.trim_start();
        line.starts_with("// ANCHOR:") || line.starts_with("// ANCHOR_END:")
    };
    let lines: Vec<&str> = text.lines().collect();
    let kept = lines.iter().enumerate().filter(|&(index, line)| {
        let names_an_exercise = line.trim_start().starts_with("// Exercise ")
            && lines
                .get(index + 1)
                .is_some_and(|next| next.trim_start().starts_with("// ANCHOR: exercise_"));
        !is_anchor(line) && !names_an_exercise
    });
    let mut out: String = kept.map(|(_, line)| format!("{line}\n")).collect();
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

/// `Cargo.toml`, `src/**` and `benches/**` of a crate, by relative path
/// (with `/`).
fn crate_files(dir: &Path) -> io::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    // Line endings are normalised: a Windows checkout has CRLF files, and
    // the page must not depend on that.
    let read = |path: &Path| fs::read_to_string(path).map(|text| text.replace("\r\n", "\n"));
    files.insert("Cargo.toml".to_owned(), read(&dir.join("Cargo.toml"))?);
    let mut pending: Vec<_> = ["src", "benches"]
        .iter()
        .map(|d| dir.join(d))
        .filter(|d| d.is_dir())
        .collect();
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap_or(&path);
                let mut text = read(&path)?;
                if path.extension().is_some_and(|ext| ext == "rs") {
                    text = without_book_markers(&text);
                }
                files.insert(relative.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_leave_out_anchors_and_the_line_naming_an_exercise() {
        let source = "fn f() -> u32 {\n    // Why: a comment that stays.\n    \
                      // Exercise 1.1: see \"Your job\" in chapter 1.\n    \
                      // ANCHOR: exercise_1_1\n    1\n    // ANCHOR_END: exercise_1_1\n}\n";
        assert_eq!(
            without_book_markers(source),
            "fn f() -> u32 {\n    // Why: a comment that stays.\n    1\n}\n"
        );
    }

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect()
    }

    fn stages() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let old = files(&[
            ("Cargo.toml", "a\n"),
            ("src/a.rs", "x\n"),
            ("src/same.rs", "s\n"),
        ]);
        let new = files(&[
            ("Cargo.toml", "b\n"),
            ("src/b.rs", "y\nz\n"),
            ("src/same.rs", "s\n"),
        ]);
        (old, new)
    }

    #[test]
    fn going_further_lines_are_counted_apart_from_the_chapter_s() {
        let (old, new) = stages();
        let why = "[[stage3]]\npattern = \"Moving\"\n\"src/b.rs\" = \"B replaces A.\"\n\
                   \"src/a.rs\" = \"A goes.\"\n\n[[stage3]]\npattern = \"Going further: more\"\n\
                   \"Cargo.toml\" = \"The name.\"\n";
        let page = render(3, &old, &new, why).expect("every changed file is explained");
        let totals = "| **the chapter's change** | **+2&nbsp;−1** | |\n\
                      | **going further (optional)** | **+1&nbsp;−1** | |\n\
                      | **in all** | **+3&nbsp;−2** | |\n";
        assert!(page.contains(totals), "{page}");
    }

    #[test]
    fn the_page_groups_the_files_by_pattern_and_folds_their_diffs() {
        let (old, new) = stages();
        let why = "[[stage3]]\npattern = \"Moving\"\n\"src/b.rs\" = \"B replaces A.\"\n\
                   \"src/a.rs\" = \"A goes.\"\n\n[[stage3]]\npattern = \"Manifest\"\n\
                   \"Cargo.toml\" = \"The name.\"\n";
        let page = render(3, &old, &new, why).expect("every changed file is explained");
        let table = "| **Moving** | | |\n\
                     | `src/b.rs` (new) | +2&nbsp;−0 | B replaces A. |\n\
                     | `src/a.rs` (removed) | +0&nbsp;−1 | A goes. |\n\
                     | **Manifest** | | |\n\
                     | `Cargo.toml` | +1&nbsp;−1 | The name. |\n\
                     | **in all** | **+3&nbsp;−2** | |\n";
        assert!(page.contains(table), "{page}");
        assert!(!page.contains("same.rs"), "{page}");
        assert!(
            page.contains(
                "<details>\n<summary><code>src/b.rs</code>: new, +2 −0</summary>\n\n````diff\n"
            ),
            "{page}"
        );
    }

    #[test]
    fn a_changed_file_without_a_sentence_fails_naming_it_and_the_transition() {
        let (old, new) = stages();
        let why = "[[stage3]]\npattern = \"Moving\"\n\"src/b.rs\" = \"B replaces A.\"\n\
                   \"src/same.rs\" = \"Unchanged.\"\n";
        let error = render(3, &old, &new, why)
            .expect_err("two changed files lack a sentence")
            .to_string();
        for expected in [
            "stage 2 → 3 changes `src/a.rs`, but no sentence says why",
            "stage 2 → 3 changes `Cargo.toml`, but no sentence says why",
            "\"Moving\" explains `src/same.rs`, which stage 2 → 3 does not change",
        ] {
            assert!(error.contains(expected), "{expected:?} is not in:\n{error}");
        }
        let none = render(3, &old, &new, "")
            .expect_err("no groups")
            .to_string();
        assert!(none.contains("no `[[stage3]]` groups"), "{none}");
    }
}
