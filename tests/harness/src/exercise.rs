//! Which exercise a failing test checks, so that its report can send the
//! learner to the right chapter.
//!
//! It reads only the `// Exercise S.N: title` and `// tests: <target>
//! <names>` comments above an exercise's anchor; the exercise tool
//! (`chat_tools::exercise`) reads them whole and checks them. A separate
//! reader keeps the tool and its dependencies out of every stage's tests.

use std::fs;
use std::path::PathBuf;

use crate::workspace_root;

/// An exercise as a failure report names it.
pub(crate) struct Exercise {
    /// `S.N`: stage S, exercise N of its chapter.
    pub(crate) id: String,
    /// What the learner is asked to do, in one line.
    pub(crate) title: String,
    /// The source file, relative to the workspace root.
    pub(crate) file: PathBuf,
}

impl Exercise {
    /// The stage number, the `S` of `S.N`.
    pub(crate) fn stage(&self) -> &str {
        self.id.split('.').next().unwrap_or_default()
    }
}

/// The exercise of `package` whose `tests:` lines name `test` (a test's name
/// as libtest gives it to its thread), if any.
pub(crate) fn checked_by(package: &str, test: &str) -> Option<Exercise> {
    let root = workspace_root();
    let mut pending = vec![root.join(package).join("src")];
    while let Some(dir) = pending.pop() {
        for path in fs::read_dir(&dir)
            .ok()?
            .filter_map(|entry| Some(entry.ok()?.path()))
        {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = fs::read_to_string(&path).ok()?;
                if let Some(exercise) = in_file(&text, test) {
                    let file = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
                    return Some(Exercise { file, ..exercise });
                }
            }
        }
    }
    None
}

/// The exercise in `text` that names `test`, its file still unknown.
fn in_file(text: &str, test: &str) -> Option<Exercise> {
    // The exercise whose comment lines are being read.
    let mut current: Option<Pending> = None;
    for line in text.lines().map(str::trim) {
        let Some(comment) = line.strip_prefix("// ") else {
            current = None;
            continue;
        };
        if let Some((id, title)) = comment
            .strip_prefix("Exercise ")
            .and_then(|rest| rest.split_once(": "))
        {
            let (id, title) = (id.to_owned(), title.trim().to_owned());
            current = Some(Pending {
                id,
                title,
                titled: false,
                named: false,
            });
            continue;
        }
        let Some(pending) = current.as_mut() else {
            continue;
        };
        if let Some(rest) = comment.strip_prefix("tests: ") {
            let names = rest.trim().split_once(' ').map_or("", |(_, names)| names);
            pending.named |= names.split(',').any(|name| names_test(name.trim(), test));
            pending.titled = true;
        } else if comment.starts_with("stub:") {
            pending.titled = true;
        } else if comment.starts_with("ANCHOR: exercise_") {
            let Pending {
                id, title, named, ..
            } = current.take()?;
            if named {
                let file = PathBuf::new();
                return Some(Exercise { id, title, file });
            }
        } else if !pending.titled {
            // A title may go on over several comment lines.
            pending.title.push(' ');
            pending.title.push_str(comment);
        }
    }
    None
}

/// An exercise's comment lines, read up to the current one.
struct Pending {
    id: String,
    title: String,
    /// Whether its title has ended (at its first `tests:` or `stub:` line).
    titled: bool,
    /// Whether a `tests:` line named the test.
    named: bool,
}

/// Whether `name`, from a `tests:` line, is `test`. The tools' conformance
/// suite runs a stage's conformance tests in a module named after the stage:
/// `stage4::name` there is `name`.
fn names_test(name: &str, test: &str) -> bool {
    !name.is_empty() && (test == name || test.ends_with(&format!("::{name}")))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const MARKED: &str = "\
fn before() {}
    // Exercise 6.1: refill the token bucket,
    // then take a token
    // tests: lib rate::tests::a_burst_then_the_rate
    // tests: production a_client_over_the_rate_limit_is_told_once, another
    // stub: todo!()
    // ANCHOR: exercise_6_1
    fn take() {}
    // ANCHOR_END: exercise_6_1
";

    #[test]
    fn finds_the_exercise_that_names_a_test() {
        let found = in_file(MARKED, "another").expect("`another` is on a tests: line");
        assert_eq!(found.id, "6.1");
        assert_eq!(found.title, "refill the token bucket, then take a token");
        assert_eq!(found.stage(), "6");
        assert!(in_file(MARKED, "stage6::a_client_over_the_rate_limit_is_told_once").is_some());
        assert!(in_file(MARKED, "rate::tests::a_burst_then_the_rate").is_some());
    }

    #[test]
    fn a_test_that_no_exercise_names_has_none() {
        assert!(in_file(MARKED, "take").is_none());
        assert!(in_file(MARKED, "a_client_over_the_rate").is_none());
    }

    #[test]
    fn the_stages_mark_exercises_that_name_their_tests() {
        // If this fails, the exercises' metadata has moved: this reader must
        // follow the exercise tool to it.
        let found = checked_by("stage1-echo", "greets_and_echoes_a_message");
        let found =
            found.expect("stage 1 marks an exercise that its first conformance test checks");
        assert!(
            found.file.starts_with(Path::new("stage1-echo/src")),
            "{:?}",
            found.file
        );
    }
}
