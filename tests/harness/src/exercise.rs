//! Which exercise a failing test checks, so that its report can send the
//! learner to the right section of the book.
//!
//! The book describes each exercise in a section headed `### Exercise S.N:
//! title`, with a list of the tests that check it and its solution included
//! from the stage's code (the format is `chat_tools::exercise`'s). This reader
//! takes only what a report needs and skips whatever it does not understand:
//! the exercise tool parses the same sections strictly and fails on a
//! malformed one, and a test in the tools checks that both agree. Keeping the
//! tool out of here keeps its dependencies out of every stage's tests.

use std::fs;
use std::path::{Path, PathBuf};

use crate::workspace_root;

/// An exercise, as a failure report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseRef {
    /// `S.N`: stage S, exercise N of its chapter.
    pub id: String,
    /// What the learner is asked to write, in one line.
    pub title: String,
    /// The stage's package, e.g. `stage4-commands`.
    pub package: String,
    /// The file of the solution, relative to the workspace root.
    pub file: PathBuf,
    /// The names of the tests that check it, without their targets.
    pub tests: Vec<String>,
}

impl ExerciseRef {
    /// The stage number, the `S` of `S.N`.
    pub fn stage(&self) -> &str {
        self.id.split('.').next().unwrap_or_default()
    }

    /// Whether `test` is one of this exercise's tests. The tools' conformance
    /// suite runs a stage's conformance tests in a module named after the
    /// stage: `stage4::name` there is `name`.
    fn checks(&self, test: &str) -> bool {
        self.tests
            .iter()
            .any(|name| test == name || test.ends_with(&format!("::{name}")))
    }
}

/// The exercise of `package` that lists `test` (a test's name as libtest
/// gives it to the test's thread), if the book has one.
pub fn exercise_checking(package: &str, test: &str) -> Option<ExerciseRef> {
    exercises_in(&workspace_root().join("book").join("src"))
        .into_iter()
        .find(|exercise| exercise.package == package && exercise.checks(test))
}

/// Every exercise described by a page under `dir`, in no particular order.
pub fn exercises_in(dir: &Path) -> Vec<ExerciseRef> {
    let mut exercises = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|entry| Some(entry.ok()?.path())) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md")
                && let Ok(text) = fs::read_to_string(&path)
            {
                exercises.extend(in_page(&text));
            }
        }
    }
    exercises
}

/// The exercises of one page.
fn in_page(text: &str) -> Vec<ExerciseRef> {
    let mut exercises = Vec::new();
    let mut current: Option<ExerciseRef> = None;
    let mut in_test_list = false;
    for line in text.lines().map(str::trim_end) {
        if line.starts_with('#') {
            exercises.extend(current.take().filter(|e| !e.package.is_empty()));
            current = exercise_heading(line);
            in_test_list = false;
            continue;
        }
        let Some(exercise) = current.as_mut() else {
            continue;
        };
        if line == "The tests that check it:" {
            in_test_list = true;
        } else if in_test_list && line.starts_with("- `") {
            let item = line.trim_start_matches("- `");
            let target_and_name = item.split('`').next().unwrap_or_default();
            if let Some((_target, name)) = target_and_name.split_once(' ') {
                exercise.tests.push(name.to_owned());
            }
        } else if in_test_list && !line.is_empty() {
            in_test_list = false;
        }
        if let Some(path) = solution_path(line, &exercise.id) {
            exercise.package = path.split('/').next().unwrap_or_default().to_owned();
            exercise.file = PathBuf::from(path);
        }
    }
    exercises.extend(current.filter(|e| !e.package.is_empty()));
    exercises
}

/// The exercise a `### Exercise S.N: title` heading starts, files unknown yet.
fn exercise_heading(line: &str) -> Option<ExerciseRef> {
    let (id, title) = line
        .strip_prefix("### Exercise ")?
        .split_once(": ")
        .filter(|(id, _)| id.contains('.'))?;
    Some(ExerciseRef {
        id: id.to_owned(),
        title: title.trim().to_owned(),
        package: String::new(),
        file: PathBuf::new(),
        tests: Vec::new(),
    })
}

/// The solution's file, relative to the workspace root, if `line` is the
/// include of exercise `id`'s solution: `{{#include ../../stage6-…/src/rate.rs:exercise_6_1}}`.
fn solution_path<'a>(line: &'a str, id: &str) -> Option<&'a str> {
    let anchor = format!(":exercise_{}}}}}", id.replace('.', "_"));
    let include = line
        .trim()
        .strip_prefix("{{#include ")?
        .strip_suffix(&anchor)?;
    let path = include.trim_start_matches("../");
    path.starts_with("stage").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
# Stage 6

### Exercise 6.1: refill the token bucket, then take a token

Some prose.

The tests that check it:

- `lib rate::tests::a_burst_then_the_rate`
- `production told_once`: prose may follow

<details>
<summary>Solution for exercise 6.1</summary>

```rust
{{#include ../../stage6-shutdown/src/rate.rs:exercise_6_1}}
```

</details>

### Not an exercise

- `lib unrelated`
";

    #[test]
    fn reads_an_exercise_section() {
        let found = in_page(PAGE);
        assert_eq!(
            found,
            vec![ExerciseRef {
                id: "6.1".to_owned(),
                title: "refill the token bucket, then take a token".to_owned(),
                package: "stage6-shutdown".to_owned(),
                file: PathBuf::from("stage6-shutdown/src/rate.rs"),
                tests: vec![
                    "rate::tests::a_burst_then_the_rate".to_owned(),
                    "told_once".to_owned()
                ],
            }]
        );
        assert_eq!(found[0].stage(), "6");
    }

    #[test]
    fn matches_a_test_by_its_thread_name() {
        let exercise = &in_page(PAGE)[0];
        assert!(exercise.checks("told_once"));
        assert!(
            exercise.checks("stage6::told_once"),
            "run as a module of the tools' suite"
        );
        assert!(!exercise.checks("told"));
        assert!(!exercise.checks("unrelated"));
    }

    #[test]
    fn a_section_without_a_solution_include_is_skipped() {
        assert!(
            in_page("### Exercise 1.1: a title\n\nThe tests that check it:\n\n- `lib x`\n")
                .is_empty()
        );
    }
}
