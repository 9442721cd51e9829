//! Exercises: regions of the stage sources that a learner writes again.
//!
//! The learner works in the real crate, and the book shows the real
//! solution. The book is also the one place an exercise is described: a
//! section of any page under `book/src/` whose heading is
//! `### Exercise S.N: title`. The code keeps only the anchors around the
//! solution (and at most one comment naming the exercise).
//!
//! ````text
//! ### Exercise 6.1: refill the token bucket, then take a token
//!
//! …what to write, in prose…
//!
//! You start from this stub:
//!
//! ```rust,ignore
//! todo!("exercise 6.1")
//! ```
//!
//! The tests that check it:
//!
//! - `lib rate::tests::a_burst_then_the_rate`
//! - `production a_client_over_the_rate_limit_is_told_once`: prose may follow
//!
//! <details>
//! <summary>Hint 1 for exercise 6.1</summary>
//! …
//! </details>
//!
//! <details>
//! <summary>Solution for exercise 6.1</summary>
//!
//! ```rust
//! {{#include ../../stage6-shutdown/src/rate.rs:exercise_6_1}}
//! ```
//!
//! </details>
//! ````
//!
//! The stub block replaces the solution when the learner starts the
//! exercise. Each test is `target name`: the target is `lib` for the crate's
//! unit tests, otherwise a file of the stage's `tests/` directory, and the
//! name is the test's as `cargo test` prints it. The solution's include names
//! the file and the anchor `exercise_S_N` around the reference code. The
//! section ends at the next heading of its level or above. A section that
//! breaks these rules is an error that names the page and the line.

mod section;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use section::parse_page;

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

/// One exercise, as its section in the book describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// `S.N`: stage S, exercise N.
    pub id: String,
    /// What the learner is asked to do, in one line (markdown).
    pub title: String,
    /// The page that describes it, relative to the workspace root.
    pub page: PathBuf,
    /// The 1-based line of its `### Exercise` heading.
    pub line: usize,
    /// The 1-based line of the opening fence of its stub block.
    pub stub_line: usize,
    /// The stage's package, e.g. `stage4-commands`.
    pub package: String,
    /// The source file, relative to the workspace root.
    pub file: PathBuf,
    /// The mdBook anchor around the solution: `exercise_S_N`.
    pub anchor: String,
    /// The tests that must fail on the stub and pass on the solution.
    pub tests: Vec<TestRef>,
    /// The code that replaces the solution, without the region's indentation.
    pub stub: Vec<String>,
    /// The hints, in order: hint 1 first.
    pub hints: Vec<String>,
}

impl Exercise {
    /// The stage number, the `S` of `S.N`.
    pub fn stage(&self) -> &str {
        self.id.split('.').next().unwrap_or_default()
    }

    /// Where the section is, as `book/src/page.md:line`.
    pub fn place(&self) -> String {
        format!("{}:{}", shown(&self.page), self.line)
    }

    /// The stub as it goes into `text`: indented like the exercise's anchor.
    pub fn stub_in(&self, text: &str) -> Result<Vec<String>, ExerciseError> {
        let lines: Vec<&str> = text.lines().collect();
        let anchor_line = lines[region(&lines, &self.anchor)?.start - 1];
        let indent = &anchor_line[..anchor_line.len() - anchor_line.trim_start().len()];
        Ok(self
            .stub
            .iter()
            .map(|line| match line.is_empty() {
                true => String::new(),
                false => format!("{indent}{line}"),
            })
            .collect())
    }

    /// Whether `text` holds this exercise's stub. Only the characters count,
    /// not the whitespace: an editor that formats on save keeps it a stub.
    pub fn is_stubbed(&self, text: &str) -> Result<bool, ExerciseError> {
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

/// What is wrong with an exercise's section or its source file.
#[derive(Debug)]
pub struct ExerciseError(pub String);

impl fmt::Display for ExerciseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExerciseError {}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ExerciseError + '_ {
    move |error| ExerciseError(format!("{}: {error}", path.display()))
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Every exercise described in the book under `root`, in order of their
/// ids, each checked against its source file: the file exists and marks
/// the solution with its anchor.
pub fn find_all(root: &Path) -> Result<Vec<Exercise>, ExerciseError> {
    let mut exercises = Vec::new();
    for page in markdown_files(&root.join("book").join("src"))? {
        let text = fs::read_to_string(&page).map_err(io_error(&page))?;
        let relative = page.strip_prefix(root).unwrap_or(&page);
        exercises.extend(parse_page(relative, &text)?);
    }
    exercises.sort_by_key(|exercise| sort_key(&exercise.id));
    for pair in exercises.windows(2) {
        if pair[0].id == pair[1].id {
            return Err(ExerciseError(format!(
                "exercise {} is described twice: at {} and at {}",
                pair[0].id,
                pair[0].place(),
                pair[1].place()
            )));
        }
    }
    for exercise in &exercises {
        let path = root.join(&exercise.file);
        let text = fs::read_to_string(&path).map_err(|error| {
            ExerciseError(format!(
                "{}: exercise {}: its solution is in {}, which cannot be read: {error}",
                exercise.place(),
                exercise.id,
                shown(&exercise.file)
            ))
        })?;
        current_region(&text, &exercise.anchor).map_err(|error| {
            ExerciseError(format!(
                "{}: exercise {}: {} has {error}",
                exercise.place(),
                exercise.id,
                shown(&exercise.file)
            ))
        })?;
    }
    Ok(exercises)
}

/// Finds the exercise with this id.
pub fn find(root: &Path, id: &str) -> Result<Exercise, ExerciseError> {
    find_all(root)?
        .into_iter()
        .find(|exercise| exercise.id == id)
        .ok_or_else(|| ExerciseError(format!("there is no exercise {id} (try `list`)")))
}

fn sort_key(id: &str) -> (u32, u32) {
    let mut parts = id.split('.').map(|part| part.parse().unwrap_or(u32::MAX));
    (
        parts.next().unwrap_or(u32::MAX),
        parts.next().unwrap_or(u32::MAX),
    )
}

/// Every `.md` file under `dir`, sorted: the book may put an exercise on
/// any page.
fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>, ExerciseError> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let path = entry.map_err(io_error(&dir))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The lines strictly between `// ANCHOR: anchor` and its end, as indices.
fn region(lines: &[&str], anchor: &str) -> Result<std::ops::Range<usize>, ExerciseError> {
    let start = lines
        .iter()
        .position(|line| line.trim() == format!("// ANCHOR: {anchor}"))
        .ok_or_else(|| ExerciseError(format!("no `// ANCHOR: {anchor}`")))?;
    let end = lines[start..]
        .iter()
        .position(|line| line.trim() == format!("// ANCHOR_END: {anchor}"))
        .map(|offset| start + offset)
        .ok_or_else(|| ExerciseError(format!("no `// ANCHOR_END: {anchor}` after it")))?;
    Ok(start + 1..end)
}

/// `text` with the exercise's region swapped for `replacement` (whole lines,
/// indentation included), and the lines it replaced.
pub fn replace_region(
    text: &str,
    anchor: &str,
    replacement: &[String],
) -> Result<(String, Vec<String>), ExerciseError> {
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
pub fn current_region(text: &str, anchor: &str) -> Result<Vec<String>, ExerciseError> {
    let lines: Vec<&str> = text.lines().collect();
    let range = region(&lines, anchor)?;
    Ok(lines[range].iter().map(|line| line.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Failure reports find their exercise with the harness's own reader of
    /// the book (it keeps this tool out of the stages' tests): it must see
    /// every exercise exactly as the tool does.
    #[test]
    fn the_harness_reads_every_exercise_as_the_tool_does() {
        let root = chat_harness::workspace_root();
        let expected: Vec<chat_harness::ExerciseRef> = find_all(&root)
            .expect("the book's exercise sections are well formed")
            .into_iter()
            .map(|exercise| chat_harness::ExerciseRef {
                id: exercise.id,
                title: exercise.title,
                package: exercise.package,
                file: exercise.file,
                tests: exercise.tests.into_iter().map(|test| test.name).collect(),
            })
            .collect();
        let mut read = chat_harness::exercises_in(&root.join("book").join("src"));
        read.sort_by_key(|exercise| sort_key(&exercise.id));
        assert_eq!(
            read, expected,
            "tests/harness/src/exercise.rs reads the book's exercise sections \
             differently from this tool: make it follow the format"
        );
    }

    const SOURCE: &str = "\
fn take(&mut self) -> bool {
    // Exercise 6.1: see \"Your job\" in chapter 6.
    // ANCHOR: exercise_6_1
    let now = 1;
    now > 0
    // ANCHOR_END: exercise_6_1
}
";

    /// An exercise as its section would give it.
    fn parsed() -> Exercise {
        Exercise {
            id: "6.1".into(),
            title: "refill the bucket, then take a token".into(),
            page: PathBuf::from("book/src/stage6.md"),
            line: 10,
            stub_line: 16,
            package: "stage6-shutdown".into(),
            file: PathBuf::from("stage6-shutdown/src/rate.rs"),
            anchor: "exercise_6_1".into(),
            tests: vec![TestRef {
                target: "lib".into(),
                name: "rate::tests::a_burst".into(),
            }],
            stub: vec!["todo!(\"exercise 6.1: {self:?}\")".into()],
            hints: vec!["Start small.".into()],
        }
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
}
