//! Exercises: regions of the stage sources that a learner writes again.
//!
//! An exercise is marked in the real code, so the learner works in the real
//! crate and the book shows the real solution. The comment lines directly
//! above `// ANCHOR: exercise_<stage>_<n>` describe it:
//!
//! ```text
//! // Exercise 6.1: refill the token bucket, then take a token
//! // tests: lib rate::tests::a_burst_then_the_rate
//! // tests: production a_client_over_the_rate_limit_is_told_once_and_its_extra_lines_dropped
//! // stub: todo!("exercise 6.1: {} tokens, {}/s up to {}", self.tokens, self.rate, self.burst)
//! // ANCHOR: exercise_6_1
//! …the reference solution…
//! // ANCHOR_END: exercise_6_1
//! ```
//!
//! `tests:` names a test target (`lib` for unit tests, otherwise a file of the
//! stage's `tests/` directory) and the tests in it that check the exercise;
//! `stub:` lines replace the solution when the learner starts the exercise.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One test that checks an exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRef {
    /// `lib` for the crate's unit tests, otherwise the name of a file in the
    /// stage's `tests/` directory, without `.rs`.
    pub target: String,
    /// The test's name inside that target, with its module path, as
    /// `cargo test` prints it.
    pub name: String,
}

impl fmt::Display for TestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.target, self.name)
    }
}

/// One exercise, as marked in a stage's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// `S.N`: stage S, exercise N of its chapter.
    pub id: String,
    /// What the learner is asked to do, in one line.
    pub title: String,
    /// The stage's package, e.g. `stage4-commands`.
    pub package: String,
    /// The source file, relative to the workspace root.
    pub file: PathBuf,
    /// The mdBook anchor around the solution: `exercise_S_N`.
    pub anchor: String,
    /// The tests that must fail on the stub and pass on the solution.
    pub tests: Vec<TestRef>,
    /// The code that replaces the solution, without indentation.
    pub stub: Vec<String>,
}

impl Exercise {
    /// The stage number, the `S` of `S.N`.
    pub fn stage(&self) -> &str {
        self.id.split('.').next().unwrap_or_default()
    }

    /// The stub as it goes into `text`: indented like the exercise's anchor.
    pub fn stub_in(&self, text: &str) -> Result<Vec<String>, MarkerError> {
        let lines: Vec<&str> = text.lines().collect();
        let anchor_line = lines[region(&lines, &self.anchor)?.start - 1];
        let indent = &anchor_line[..anchor_line.len() - anchor_line.trim_start().len()];
        Ok(self
            .stub
            .iter()
            .map(|line| format!("{indent}{line}"))
            .collect())
    }

    /// Whether `text` holds this exercise's stub. Only the characters count,
    /// not the whitespace: an editor that formats on save keeps it a stub.
    pub fn is_stubbed(&self, text: &str) -> Result<bool, MarkerError> {
        let squeeze = |lines: &[String]| -> String {
            lines
                .concat()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect()
        };
        Ok(squeeze(&current_region(text, &self.anchor)?) == squeeze(&self.stub))
    }
}

/// What went wrong while reading the markers.
#[derive(Debug)]
pub struct MarkerError(pub String);

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MarkerError {}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> MarkerError + '_ {
    move |error| MarkerError(format!("{}: {error}", path.display()))
}

/// Every exercise marked in the sources of the stages under `root`, in
/// order of their ids.
pub fn find_all(root: &Path) -> Result<Vec<Exercise>, MarkerError> {
    let mut exercises = Vec::new();
    for package in stage_packages(root)? {
        for file in rust_files(&root.join(&package).join("src"))? {
            let text = fs::read_to_string(&file).map_err(io_error(&file))?;
            let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
            exercises.extend(parse_markers(&package, &relative, &text)?);
        }
    }
    exercises.sort_by_key(|exercise| sort_key(&exercise.id));
    for pair in exercises.windows(2) {
        if pair[0].id == pair[1].id {
            return Err(MarkerError(format!(
                "exercise {} is marked twice: in {} and {}",
                pair[0].id,
                pair[0].file.display(),
                pair[1].file.display()
            )));
        }
    }
    Ok(exercises)
}

/// Finds the exercise with this id.
pub fn find(root: &Path, id: &str) -> Result<Exercise, MarkerError> {
    find_all(root)?
        .into_iter()
        .find(|exercise| exercise.id == id)
        .ok_or_else(|| MarkerError(format!("there is no exercise {id} (try `list`)")))
}

/// The exercise that `test` (a test's name as libtest gives it to its
/// thread) checks in `package`, if any. Failure reports use it to send the
/// learner to the right exercise.
pub fn checked_by(package: &str, test: &str) -> Option<Exercise> {
    let exercises = find_all(&chat_harness::workspace_root()).ok()?;
    exercises.into_iter().find(|exercise| {
        exercise.package == package
            && exercise.tests.iter().any(|t| {
                // The tests crate runs a stage's conformance tests in a module
                // named after the stage: `stage4::name` is `name` there.
                test == t.name || test.ends_with(&format!("::{}", t.name))
            })
    })
}

fn sort_key(id: &str) -> (u32, u32) {
    let mut parts = id.split('.').map(|part| part.parse().unwrap_or(u32::MAX));
    (
        parts.next().unwrap_or(u32::MAX),
        parts.next().unwrap_or(u32::MAX),
    )
}

/// The workspace members named `stageN-…`.
fn stage_packages(root: &Path) -> Result<Vec<String>, MarkerError> {
    let mut packages: Vec<String> = fs::read_dir(root)
        .map_err(io_error(root))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("stage"))
        .collect();
    packages.sort();
    Ok(packages)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, MarkerError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let path = entry.map_err(io_error(&dir))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The exercises marked in one file.
pub fn parse_markers(package: &str, file: &Path, text: &str) -> Result<Vec<Exercise>, MarkerError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut exercises = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(anchor) = line.trim().strip_prefix("// ANCHOR: ") else {
            continue;
        };
        let Some(suffix) = anchor.strip_prefix("exercise_") else {
            continue;
        };
        let at = |what: &str| {
            MarkerError(format!(
                "{}:{}: exercise anchor `{anchor}`: {what}",
                file.display(),
                index + 1
            ))
        };
        let id = suffix.replacen('_', ".", 1);
        let numbers: Vec<&str> = suffix.split('_').collect();
        let numeric = numbers.len() == 2
            && numbers
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !numeric {
            return Err(at("an exercise anchor is `exercise_S_N`, two numbers"));
        }
        if !package.starts_with(&format!("stage{}-", numbers[0])) {
            return Err(at(&format!(
                "exercise {id} belongs to stage {}, not to {package}",
                numbers[0]
            )));
        }
        let mut header = index;
        while header > 0 && lines[header - 1].trim_start().starts_with("// ") {
            header -= 1;
        }
        let (mut title, mut tests, mut stub) = (None, Vec::new(), Vec::new());
        for comment in &lines[header..index] {
            let comment = comment.trim_start().trim_start_matches("// ");
            if let Some(rest) = comment.strip_prefix(&format!("Exercise {id}: ")) {
                title = Some(rest.trim().to_owned());
            } else if let Some(rest) = comment.strip_prefix("tests: ") {
                let (target, paths) = rest
                    .trim()
                    .split_once(' ')
                    .ok_or_else(|| at("a `tests:` line needs a target and test names"))?;
                for name in paths.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    tests.push(TestRef {
                        target: target.to_owned(),
                        name: name.to_owned(),
                    });
                }
            } else if let Some(rest) = comment.strip_prefix("stub:") {
                // `// stub:` alone is a blank line of the stub.
                stub.push(rest.strip_prefix(' ').unwrap_or(rest).to_owned());
            } else if let Some(title) = title
                .as_mut()
                .filter(|_| tests.is_empty() && stub.is_empty())
            {
                // A title may go on over several comment lines.
                title.push(' ');
                title.push_str(comment.trim());
            }
        }
        let title = title.ok_or_else(|| at(&format!("no `// Exercise {id}: …` line above it")))?;
        if tests.is_empty() {
            return Err(at("no `// tests: <target> <name>` line above it"));
        }
        if stub.is_empty() {
            return Err(at("no `// stub: …` line above it"));
        }
        region(&lines, anchor).map_err(|e| at(&e.0))?;
        exercises.push(Exercise {
            id,
            title,
            package: package.to_owned(),
            file: file.to_path_buf(),
            anchor: anchor.to_owned(),
            tests,
            stub,
        });
    }
    Ok(exercises)
}

/// The lines strictly between `// ANCHOR: anchor` and its end, as indices.
fn region(lines: &[&str], anchor: &str) -> Result<std::ops::Range<usize>, MarkerError> {
    let start = lines
        .iter()
        .position(|line| line.trim() == format!("// ANCHOR: {anchor}"))
        .ok_or_else(|| MarkerError(format!("no `// ANCHOR: {anchor}`")))?;
    let end = lines[start..]
        .iter()
        .position(|line| line.trim() == format!("// ANCHOR_END: {anchor}"))
        .map(|offset| start + offset)
        .ok_or_else(|| MarkerError(format!("no `// ANCHOR_END: {anchor}` after it")))?;
    Ok(start + 1..end)
}

/// `text` with the exercise's region swapped for `replacement` (whole lines,
/// indentation included), and the lines it replaced.
pub fn replace_region(
    text: &str,
    anchor: &str,
    replacement: &[String],
) -> Result<(String, Vec<String>), MarkerError> {
    let lines: Vec<&str> = text.lines().collect();
    let range = region(&lines, anchor)?;
    let replaced = current_region(text, anchor)?;
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    out.extend(&lines[..range.start]);
    out.extend(replacement.iter().map(String::as_str));
    out.extend(&lines[range.end..]);
    // Keep the file's own line endings (CRLF in a Windows checkout).
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut joined = out.join(newline);
    if text.ends_with('\n') {
        joined.push_str(newline);
    }
    Ok((joined, replaced))
}

/// The lines of the exercise's region in `text` as they are now.
pub fn current_region(text: &str, anchor: &str) -> Result<Vec<String>, MarkerError> {
    let lines: Vec<&str> = text.lines().collect();
    let range = region(&lines, anchor)?;
    Ok(lines[range].iter().map(|line| line.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
fn take(&mut self) -> bool {
    // Exercise 6.1: refill the bucket,
    // then take a token.
    // tests: lib rate::tests::a_burst, rate::tests::a_pause
    // tests: production told_and_slowed
    // stub: todo!(\"exercise 6.1: {self:?}\")
    // ANCHOR: exercise_6_1
    let now = 1;
    now > 0
    // ANCHOR_END: exercise_6_1
}
";

    fn parsed() -> Exercise {
        let mut all = parse_markers("stage6-shutdown", Path::new("src/rate.rs"), SOURCE)
            .expect("the markers are well-formed");
        assert_eq!(all.len(), 1, "one exercise is marked");
        all.remove(0)
    }

    #[test]
    fn reads_every_part_of_the_markers() {
        let exercise = parsed();
        assert_eq!(exercise.id, "6.1");
        assert_eq!(exercise.stage(), "6");
        assert_eq!(exercise.title, "refill the bucket, then take a token.");
        let tests: Vec<String> = exercise.tests.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            tests,
            [
                "lib rate::tests::a_burst",
                "lib rate::tests::a_pause",
                "production told_and_slowed"
            ]
        );
        assert_eq!(exercise.stub, ["todo!(\"exercise 6.1: {self:?}\")"]);
    }

    #[test]
    fn stubbing_and_restoring_gives_back_the_same_text() {
        let exercise = parsed();
        let stub = exercise.stub_in(SOURCE).expect("the region exists");
        let (stubbed, reference) =
            replace_region(SOURCE, &exercise.anchor, &stub).expect("the region exists");
        assert!(stubbed.contains("\n    todo!(\"exercise 6.1: {self:?}\")\n"));
        assert!(!stubbed.contains("now > 0"));
        assert_eq!(
            current_region(&stubbed, &exercise.anchor).expect("marked"),
            stub
        );
        let (restored, _) =
            replace_region(&stubbed, &exercise.anchor, &reference).expect("still marked");
        assert_eq!(restored, SOURCE);
    }

    #[test]
    fn a_crlf_file_keeps_its_line_endings() {
        let crlf = SOURCE.replace('\n', "\r\n");
        let exercise = parsed();
        let stub = exercise.stub_in(&crlf).expect("the region exists");
        let (stubbed, reference) =
            replace_region(&crlf, &exercise.anchor, &stub).expect("the region exists");
        assert!(
            !stubbed.replace("\r\n", "").contains('\n'),
            "only CRLF endings"
        );
        let (restored, _) =
            replace_region(&stubbed, &exercise.anchor, &reference).expect("still marked");
        assert_eq!(restored, crlf);
    }

    #[test]
    fn a_reformatted_stub_is_still_the_stub() {
        let exercise = parsed();
        let spread = vec![
            "    todo!(".to_owned(),
            "        \"exercise 6.1: {self:?}\"".to_owned(),
            "    )".to_owned(),
        ];
        let (text, _) = replace_region(SOURCE, &exercise.anchor, &spread).expect("marked");
        assert!(exercise.is_stubbed(&text).expect("marked"));
        assert!(!exercise.is_stubbed(SOURCE).expect("marked"));
    }

    #[test]
    fn an_anchor_that_is_not_two_numbers_is_an_error() {
        let source = SOURCE.replace("exercise_6_1", "exercise_six");
        let error = parse_markers("stage6-shutdown", Path::new("src/rate.rs"), &source)
            .expect_err("the id must be S_N");
        assert!(error.0.contains("two numbers"), "{error}");
        let error = parse_markers("stage5-async", Path::new("src/rate.rs"), SOURCE)
            .expect_err("exercise 6.1 is not stage 5's");
        assert!(error.0.contains("belongs to stage 6"), "{error}");
    }

    #[test]
    fn a_marker_without_tests_is_an_error() {
        let source = SOURCE
            .replace(
                "    // tests: lib rate::tests::a_burst, rate::tests::a_pause\n",
                "",
            )
            .replace("    // tests: production told_and_slowed\n", "");
        let error = parse_markers("stage6-shutdown", Path::new("src/rate.rs"), &source)
            .expect_err("tests are required");
        assert!(error.0.contains("src/rate.rs:5"), "{error}");
        assert!(error.0.contains("no `// tests:"), "{error}");
    }
}
