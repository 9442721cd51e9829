//! The book's own checks. mdBook builds a page even when an include names a
//! missing file or anchor, so these tests are what keep prose and code
//! together: run them with `cargo test -p chat-tools --test book`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use chat_harness::workspace_root;
use chat_harness::{Client, TestServer};
use chat_tools::book::{self, STAGES, Step};
use chat_tools::exercise;

fn book_src() -> PathBuf {
    workspace_root().join("book").join("src")
}

/// Every file under `dir` whose name ends with `extension`, sorted.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn shown(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every page of the book with its text.
fn pages() -> Vec<(PathBuf, String)> {
    files(&book_src(), ".md")
        .into_iter()
        .map(|path| {
            let text = read(&path);
            (path, text)
        })
        .collect()
}

/// The anchor names that `text` opens with `ANCHOR: name` and closes with
/// `ANCHOR_END: name`, and the problems with them.
fn anchors(text: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut closed = BTreeSet::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for (marker, opening) in [("ANCHOR_END:", false), ("ANCHOR:", true)] {
            let Some(at) = line.find(marker) else {
                continue;
            };
            let name: String = line[at + marker.len()..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if opening {
                if open.insert(name.clone(), index + 1).is_some() || closed.contains(&name) {
                    problems.push(format!(
                        "line {}: anchor `{name}` is opened twice",
                        index + 1
                    ));
                }
            } else if open.remove(&name).is_some() {
                closed.insert(name);
            } else {
                problems.push(format!(
                    "line {}: `ANCHOR_END: {name}` has no `ANCHOR: {name}` before it",
                    index + 1
                ));
            }
            break;
        }
    }
    for (name, line) in open {
        problems.push(format!(
            "line {line}: `ANCHOR: {name}` is never closed with `ANCHOR_END: {name}`"
        ));
    }
    (closed, problems)
}

#[test]
fn every_include_names_an_existing_file_and_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for (page, text) in pages() {
        for include in book::includes(&text) {
            count += 1;
            let place = format!("{}:{}", shown(&page), include.line);
            let target = page
                .parent()
                .expect("a page is in a folder")
                .join(&include.path);
            let Ok(included) = fs::read_to_string(&target) else {
                problems.push(format!("{place}: `{}` does not exist", include.path));
                continue;
            };
            match include.selector.as_deref() {
                None => {}
                Some(selector) if selector.starts_with(|c: char| c.is_ascii_digit()) => problems
                    .push(format!(
                        "{place}: `{}:{selector}` selects lines by number, which breaks \
                         silently when the file changes; use an anchor",
                        include.path
                    )),
                Some(anchor) => {
                    let (closed, _) = anchors(&included);
                    if !closed.contains(anchor) {
                        problems.push(format!(
                            "{place}: `{}` has no anchor `{anchor}` (add `// ANCHOR: {anchor}` \
                             and `// ANCHOR_END: {anchor}` around the code)",
                            include.path
                        ));
                    }
                }
            }
        }
    }
    assert!(
        count > 0,
        "the book includes nothing: are the pages in book/src?"
    );
    assert!(
        problems.is_empty(),
        "{} broken include(s) in the book:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_snippet_is_short_or_folded_and_names_its_file() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for (page, text) in pages() {
        // The generated diff pages quote whole files on purpose, folded.
        if page.starts_with(book_src().join("diffs")) {
            continue;
        }
        let read = |file: &str| fs::read_to_string(root.join(file)).ok();
        let page = shown(&page).replace('\\', "/");
        problems.extend(book::snippet_problems(&page, &text, read));
    }
    assert!(
        problems.is_empty(),
        "{} snippet(s) a reader cannot take in or place (a region over {} lines outside a \
         folded <details>, or a block without its file's caption):\n  {}",
        problems.len(),
        book::SNIPPET_LINES,
        problems.join("\n  ")
    );
}

#[test]
fn every_anchor_is_closed_once() {
    let root = workspace_root();
    let mut sources: Vec<PathBuf> = STAGES
        .iter()
        .flat_map(|stage| files(&root.join(stage), ".rs"))
        .collect();
    // What the book may include; the generated diff pages quote anchors
    // line by line and are checked by `the_diff_pages_match_the_crates`.
    sources.extend(files(&root.join("tests/src/bin"), ".rs"));
    sources.extend(files(&root.join("tests/ui"), ".rs"));
    let mut problems = Vec::new();
    for path in &sources {
        let (_, found) = anchors(&read(path));
        problems.extend(found.into_iter().map(|p| format!("{}: {p}", shown(path))));
    }
    assert!(
        problems.is_empty(),
        "{} anchor problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Whether a code block only includes files (and so cannot drift).
fn only_includes(block: &book::CodeBlock) -> bool {
    let lines: Vec<&str> = block
        .body
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    !lines.is_empty()
        && lines.iter().all(|l| {
            (l.starts_with("{{#include ") || l.starts_with("{{#rustdoc_include "))
                && l.ends_with("}}")
        })
}

#[test]
fn every_rust_block_is_an_include_or_says_why_it_is_not() {
    // An exercise's stub is the one block that neither includes nor is a
    // sketch: the exercise tool puts it into the crate, and `verify` builds it.
    let stubs: BTreeSet<String> = exercise::find_all(&workspace_root())
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|e| format!("{}:{}", shown(&workspace_root().join(&e.page)), e.stub_line))
        .collect();
    let mut problems = Vec::new();
    for (page, text) in pages() {
        for block in book::code_blocks(&text) {
            let place = format!("{}:{}", shown(&page), block.line);
            if stubs.contains(&place) {
                continue;
            }
            if !block.closed {
                problems.push(format!(
                    "{place}: this code block is never closed, so it swallows the rest of the page"
                ));
            }
            let language = block.info.split([',', ' ']).next().unwrap_or_default();
            if language != "rust" || only_includes(&block) {
                continue;
            }
            let marked = block.info.split(',').any(|attr| attr.trim() == "ignore");
            let explained = block
                .body
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_start().starts_with("// Not from the crates"));
            if !(marked && explained) {
                problems.push(format!(
                    "{place}: a ```rust block must include the code from the crates \
                     ({{{{#include …:anchor}}}}); a sketch that is not from the crates is marked \
                     ```rust,ignore and starts with `// Not from the crates: <why>`; an \
                     exercise's stub follows `You start from this stub:` in its section"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} code block(s) that could drift from the code:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Lines long enough that two of them in a row are no coincidence.
fn telling(line: &str) -> Option<&str> {
    let line = line.trim();
    (line.len() >= 12).then_some(line)
}

#[test]
fn no_code_block_is_a_pasted_copy_of_stage_code() {
    let root = workspace_root();
    // Every pair of consecutive telling lines in the stage crates.
    let mut pairs = BTreeSet::new();
    for path in STAGES
        .iter()
        .flat_map(|stage| files(&root.join(stage), ".rs"))
    {
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            if let (Some(a), Some(b)) = (telling(pair[0]), telling(pair[1])) {
                pairs.insert((a.to_owned(), b.to_owned()));
            }
        }
    }
    let mut problems = Vec::new();
    for (page, text) in pages() {
        // The generated diff pages quote the crates on purpose.
        if page.starts_with(book_src().join("diffs")) {
            continue;
        }
        for block in book::code_blocks(&text) {
            if only_includes(&block) {
                continue;
            }
            let copied = block.body.windows(2).find(|pair| {
                matches!((telling(&pair[0]), telling(&pair[1])),
                    (Some(a), Some(b)) if pairs.contains(&(a.to_owned(), b.to_owned())))
            });
            if let Some(pair) = copied {
                problems.push(format!(
                    "{}:{}: this block repeats lines of a stage crate ({:?} …); include them \
                     with {{{{#include …:anchor}}}} instead, so that they cannot drift",
                    shown(&page),
                    block.line,
                    pair[0].trim()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} pasted cop(ies) of stage code:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_page_is_in_the_summary_and_every_link_there_exists() {
    let src = book_src();
    let summary = read(&src.join("SUMMARY.md"));
    let linked: BTreeSet<String> = summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(link, _)| link.to_owned()))
        .collect();
    let mut problems = Vec::new();
    for link in &linked {
        if !src.join(link).is_file() {
            problems.push(format!(
                "SUMMARY.md links to `{link}`, which does not exist"
            ));
        }
    }
    for (page, _) in pages() {
        let relative = page
            .strip_prefix(&src)
            .expect("pages are in book/src")
            .to_string_lossy()
            .replace('\\', "/");
        if relative != "SUMMARY.md" && !linked.contains(&relative) {
            problems.push(format!(
                "book/src/{relative} is not in SUMMARY.md, so no reader will find it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_diff_pages_match_the_crates() {
    let root = workspace_root();
    let mut stale = Vec::new();
    for stage in 2..=6 {
        let path = root.join(format!("book/src/diffs/stage{stage}.md"));
        let expected = book::diff_page(&root, stage).unwrap_or_else(|e| {
            panic!(
                "the diff page of stage {} → {stage} cannot be made:\n{e:#}",
                stage - 1
            )
        });
        let current = fs::read_to_string(&path).map(|text| text.replace("\r\n", "\n"));
        if current.ok().as_deref() != Some(expected.as_str()) {
            stale.push(shown(&path));
        }
    }
    assert!(
        stale.is_empty(),
        "these generated diff pages no longer match the crates: {}\n  \
         regenerate them with: cargo book diffs",
        stale.join(", ")
    );
}

#[test]
fn every_exercise_has_hints_and_its_solution_and_each_anchor_its_section() {
    let root = workspace_root();
    // Reading them checks each section: heading, stub, tests, numbered
    // hints, and the solution's include of an anchor that exists.
    let exercises = exercise::find_all(&root).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    for exercise in &exercises {
        let count = exercise.hints.len();
        if !(1..=3).contains(&count) {
            problems.push(format!(
                "{}: exercise {} has {count} hints; give it one to three \
                 (`<summary>Hint 1 for exercise {}</summary>` …)",
                exercise.place(),
                exercise.id,
                exercise.id
            ));
        }
    }
    let described: BTreeSet<(PathBuf, String)> = exercises
        .iter()
        .map(|e| (e.file.clone(), e.anchor.clone()))
        .collect();
    for stage in STAGES {
        for path in files(&root.join(stage).join("src"), ".rs") {
            let relative = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
            for (index, line) in read(&path).lines().enumerate() {
                let Some(anchor) = line.trim().strip_prefix("// ANCHOR: exercise_") else {
                    continue;
                };
                let anchor = format!("exercise_{anchor}");
                if !described.contains(&(relative.clone(), anchor.clone())) {
                    problems.push(format!(
                        "{}:{}: `{anchor}` marks an exercise that no `### Exercise` section \
                         of the book describes",
                        shown(&path),
                        index + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_stage_sources_only_name_their_exercises() {
    let root = workspace_root();
    let mut problems = Vec::new();
    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    for stage in STAGES {
        for path in files(&root.join(stage).join("src"), ".rs") {
            for (index, line) in read(&path).lines().enumerate() {
                let place = format!("{}:{}", shown(&path), index + 1);
                let comment = line.trim_start();
                if comment.starts_with("// tests:") || comment.starts_with("// stub:") {
                    problems.push(format!(
                        "{place}: an exercise's tests and stub belong in its section of the \
                         book, not in the code: {comment}"
                    ));
                }
                if let Some(rest) = comment.strip_prefix("// Exercise ") {
                    let id = rest.split(':').next().unwrap_or_default().to_owned();
                    *named.entry(format!("{stage} {id}")).or_default() += 1;
                }
            }
        }
    }
    for (exercise, count) in named {
        if count > 1 {
            problems.push(format!(
                "{exercise} is named by {count} comments; one short line is enough, the \
                 book describes it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_transcript_is_shown_in_the_book() {
    let mut included = BTreeSet::new();
    for (page, text) in pages() {
        for include in book::includes(&text) {
            let target = page.parent().expect("in a folder").join(&include.path);
            if let Ok(target) = target.canonicalize() {
                included.insert(target);
            }
        }
    }
    let transcripts = files(&book_src().join("transcripts"), ".txt");
    let orphans: Vec<String> = transcripts
        .iter()
        .filter(|t| !t.canonicalize().is_ok_and(|t| included.contains(&t)))
        .map(|t| shown(t))
        .collect();
    assert!(
        orphans.is_empty(),
        "these transcripts are run but no page shows them: {}",
        orphans.join(", ")
    );
}

/// Starts the reference server of `stage` (1 to 6) with its default
/// configuration, as `cargo run -p …` would.
fn start_stage(stage: usize) -> TestServer {
    let name = STAGES[stage - 1];
    match stage {
        1 => TestServer::start(name, |listener| {
            stage1_echo::run(listener, &stage1_echo::Limits::default())
        }),
        2 => TestServer::start(name, |listener| {
            stage2_rooms::Server::new(listener, stage2_rooms::Limits::default())
                .expect("a fresh listener can be made non-blocking")
                .run()
        }),
        3 => TestServer::start(name, |listener| {
            stage3_protocol::Server::new(listener, stage3_protocol::Limits::default())
                .expect("a fresh listener can be made non-blocking")
                .run()
        }),
        4 => TestServer::start(name, |listener| {
            stage4_commands::Server::new(
                listener,
                stage4_commands::ServerConfig::default(),
                stage4_commands::FilterChain::default(),
            )
            .expect("a fresh listener can be made non-blocking")
            .run()
        }),
        5 => TestServer::start_tokio(name, |listener| {
            stage5_async::run(
                listener,
                stage5_async::ServerConfig::default(),
                stage5_async::FilterChain::default(),
            )
        }),
        6 => TestServer::start_tokio(name, |listener| {
            let config = stage6_shutdown::ServerConfig::default();
            let services = stage6_shutdown::Services::new(&config);
            stage6_shutdown::run(listener, config, services, std::future::pending())
        }),
        _ => panic!("there is no stage {stage}"),
    }
}

/// Plays one transcript against a fresh server of its stage.
fn play(path: &Path) {
    let file = shown(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let stage = (1..=STAGES.len())
        .find(|stage| name.starts_with(&format!("stage{stage}-")))
        .unwrap_or_else(|| panic!("{file}: a transcript's name starts with `stageN-`"));
    let steps = book::parse_transcript(&read(path)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let server = start_stage(stage);
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    for (line, step) in steps {
        let who = match &step {
            Step::Send { who, .. }
            | Step::Expect { who, .. }
            | Step::HangUp { who }
            | Step::Closed { who } => who.clone(),
        };
        let client = clients
            .entry(who.clone())
            .or_insert_with(|| server.connect(&who));
        client.hint(&format!(
            "this is step `{}` at {file}:{line}; the book shows this transcript, so the \
             server or the transcript is wrong",
            step_text(&step)
        ));
        match step {
            Step::Send { line, .. } => client.send(&line),
            Step::Expect { line, .. } => client.expect(&line),
            Step::HangUp { .. } => {
                clients.remove(&who);
            }
            Step::Closed { .. } => client.expect_closed(),
        }
    }
}

fn step_text(step: &Step) -> String {
    match step {
        Step::Send { who, line } => format!("{who} → {line}"),
        Step::Expect { who, line } => format!("{who} ← {line}"),
        Step::HangUp { who } => format!("{who} → (hangs up)"),
        Step::Closed { who } => format!("{who} ← (connection closed)"),
    }
}

#[test]
fn every_transcript_runs_against_its_stage() {
    let transcripts = files(&book_src().join("transcripts"), ".txt");
    for stage in 1..=6 {
        let prefix = format!("stage{stage}-");
        assert!(
            transcripts.iter().any(|t| t
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))),
            "chapter {stage} has no \"Try it\" transcript (book/src/transcripts/{prefix}….txt)"
        );
    }
    // Each on its own thread, so one failure does not hide the others.
    let failures: Vec<String> = transcripts
        .iter()
        .map(|path| {
            let path = path.clone();
            (shown(&path), std::thread::spawn(move || play(&path)))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|(file, run)| run.join().err().map(|_| file))
        .collect();
    assert!(
        failures.is_empty(),
        "these transcripts do not match what their stage's server does (each report is \
         above): {}",
        failures.join(", ")
    );
}

/// The ids mdBook gives the headings of `markdown`: the heading's text,
/// lowercased, spaces as `-`, punctuation dropped (`## A builder:
/// `Settings`` is `a-builder-settings`), plus any `id="…"` written by hand.
fn heading_ids(markdown: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            let text = line.trim_start_matches('#').trim();
            let id: String = without_link_targets(text)
                .chars()
                .filter_map(|ch| match ch {
                    ch if ch.is_alphanumeric() || ch == '_' || ch == '-' => {
                        Some(ch.to_ascii_lowercase())
                    }
                    ch if ch.is_whitespace() => Some('-'),
                    _ => None,
                })
                .collect();
            ids.insert(id);
        }
        let mut rest = line;
        while let Some(start) = rest.find("id=\"") {
            rest = &rest[start + 4..];
            if let Some(end) = rest.find('"') {
                ids.insert(rest[..end].to_owned());
            }
        }
    }
    ids
}

/// `text` with every `[label](target)` reduced to `label`.
fn without_link_targets(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("](") {
        out.push_str(&rest[..open]);
        rest = &rest[open + 2..];
        rest = rest.find(')').map_or("", |close| &rest[close + 1..]);
    }
    out.push_str(rest);
    out.replace('[', "")
}

/// mdBook's link check follows links to pages but not to the heading after
/// `#`: a heading renamed or moved to another page leaves a link that opens
/// the right page at the top, or the wrong one. Every `page.md#heading`
/// link must find its heading.
#[test]
fn every_link_to_a_heading_finds_it() {
    let pages = pages();
    let ids: BTreeMap<PathBuf, BTreeSet<String>> = pages
        .iter()
        .map(|(path, text)| (path.clone(), heading_ids(text)))
        .collect();
    let mut problems = Vec::new();
    for (path, text) in &pages {
        let mut in_fence = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
            }
            if in_fence {
                continue;
            }
            for (at, _) in line.match_indices("](") {
                let target = &line[at + 2..];
                let Some(target) = target.split(')').next() else {
                    continue;
                };
                let Some((page, fragment)) = target.split_once('#') else {
                    continue;
                };
                if page.contains("://") || !(page.is_empty() || page.ends_with(".md")) {
                    continue;
                }
                let page_path = if page.is_empty() {
                    path.clone()
                } else {
                    let joined = path.parent().expect("a page is in a folder").join(page);
                    let mut normal = PathBuf::new();
                    for part in joined.components() {
                        match part {
                            std::path::Component::ParentDir => {
                                normal.pop();
                            }
                            other => normal.push(other),
                        }
                    }
                    normal
                };
                match ids.get(&page_path) {
                    None => problems.push(format!(
                        "{}:{}: the link `{target}` names a page that is not in the book",
                        shown(path),
                        number + 1
                    )),
                    Some(headings) if !headings.contains(fragment) => problems.push(format!(
                        "{}:{}: the link `{target}` names no heading of {} (it may have \
                         been renamed or moved to another page)",
                        shown(path),
                        number + 1,
                        shown(&page_path)
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "links to headings that do not exist:\n  {}",
        problems.join("\n  ")
    );
}

/// The backticked names in a cell of the pattern index: file paths, or
/// anchors (a parenthesised note such as (`Session::outbox`) is not one).
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The pattern index sends a reader to a file and an anchor in it; both
/// must exist, or the reader's `grep` finds nothing.
#[test]
fn the_pattern_index_names_real_files_and_anchors() {
    let root = workspace_root();
    let index = book_src().join("appendix").join("patterns.md");
    let mut problems = Vec::new();
    for (number, line) in read(&index).lines().enumerate() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        if cells.len() < 5 || !line.contains(".rs`") || cells[3].contains("whole file") {
            continue;
        }
        // A file may be named by its path, or by its name alone when it sits
        // in the same folder as the row's first file.
        let mut folder = PathBuf::new();
        let files: Vec<PathBuf> = backticked(cells[2])
            .into_iter()
            .map(|name| {
                if name.contains('/') {
                    folder = Path::new(name)
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    PathBuf::from(name)
                } else {
                    folder.join(name)
                }
            })
            .collect();
        // With one `;`-separated group of anchors per file, each group is
        // that file's; otherwise each anchor may be in any of the files.
        let groups: Vec<&str> = cells[3].split(';').collect();
        for (position, group) in groups.iter().enumerate() {
            let candidates = if groups.len() == files.len() {
                &files[position..=position]
            } else {
                &files[..]
            };
            for anchor in backticked(group) {
                if !anchor
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                {
                    continue;
                }
                let found = candidates.iter().any(|file| {
                    fs::read_to_string(root.join(file))
                        .is_ok_and(|text| anchors(&text).0.contains(anchor))
                });
                if !found {
                    let names: Vec<String> = candidates
                        .iter()
                        .map(|file| file.display().to_string())
                        .collect();
                    problems.push(format!(
                        "{}:{}: no anchor `{anchor}` in {}",
                        shown(&index),
                        number + 1,
                        names.join(" or ")
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the pattern index names anchors that are not there (update the row to \
         the file and anchor the code has now):\n  {}",
        problems.join("\n  ")
    );
}
