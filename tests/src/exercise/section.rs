//! Reading an exercise's section of the book: `### Exercise S.N: title`
//! and what follows it, up to the next heading of its level or above (the
//! format is described in [`crate::exercise`]).

use std::path::{Component, Path, PathBuf};

use super::{Exercise, ExerciseError, TestRef, shown};
use crate::book;

/// A markdown heading outside code blocks: its level and its text.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    let text = line[level..].strip_prefix(' ')?;
    (1..=6).contains(&level).then(|| (level, text.trim()))
}

/// The exercises described on one page. `page` is the page's path relative
/// to the workspace root; the solution's include is resolved from it.
pub fn parse_page(page: &Path, text: &str) -> Result<Vec<Exercise>, ExerciseError> {
    let lines: Vec<&str> = text.lines().collect();
    // Which lines are inside a fenced code block, fences included: a `#`
    // there is a shell comment, not a heading.
    let mut in_code = vec![false; lines.len()];
    for block in book::code_blocks(text) {
        let end = match block.closed {
            true => block.line + block.body.len() + 1,
            false => lines.len(),
        };
        in_code[block.line - 1..end]
            .iter_mut()
            .for_each(|c| *c = true);
    }
    let headings: Vec<(usize, usize, &str)> = (0..lines.len())
        .filter(|&index| !in_code[index])
        .filter_map(|index| heading(lines[index]).map(|(level, text)| (index, level, text)))
        .collect();
    let mut exercises = Vec::new();
    for (at, &(index, level, text)) in headings.iter().enumerate() {
        if !text.starts_with("Exercise ") {
            continue;
        }
        let place = Place { page, line: index };
        let (id, title) = parse_heading(level, text).map_err(|what| place.error("", &what))?;
        let end = headings[at + 1..]
            .iter()
            .find(|&&(_, next_level, _)| next_level <= level)
            .map_or(lines.len(), |&(next, _, _)| next);
        let section = Section {
            page,
            id: &id,
            lines: &lines,
            in_code: &in_code,
            range: index + 1..end,
            text,
        };
        exercises.push(section.parse(title)?);
    }
    Ok(exercises)
}

/// `Exercise S.N: title` at level 3 gives `S.N` and the title.
fn parse_heading(level: usize, text: &str) -> Result<(String, String), String> {
    let expected = "an exercise's heading is `### Exercise S.N: title`";
    let (id, title) = text
        .strip_prefix("Exercise ")
        .and_then(|rest| rest.split_once(": "))
        .ok_or_else(|| format!("{expected}, not `{text}`"))?;
    let numbers: Vec<&str> = id.split('.').collect();
    let numeric = numbers.len() == 2
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || title.trim().is_empty() {
        return Err(format!("{expected}, two numbers and a title; not `{text}`"));
    }
    if level != 3 {
        return Err(format!("{expected}, a level-3 heading (`###`)"));
    }
    Ok((id.to_owned(), title.trim().to_owned()))
}

/// A line of a page, for error messages.
struct Place<'a> {
    page: &'a Path,
    /// 0-based.
    line: usize,
}

impl Place<'_> {
    fn error(&self, id: &str, what: &str) -> ExerciseError {
        let about = match id {
            "" => String::new(),
            id => format!(" exercise {id}:"),
        };
        ExerciseError(format!(
            "{}:{}:{about} {what}",
            shown(self.page),
            self.line + 1
        ))
    }
}

/// The lines of one `### Exercise` section.
struct Section<'a> {
    page: &'a Path,
    id: &'a str,
    lines: &'a [&'a str],
    in_code: &'a [bool],
    /// 0-based indices of the lines after the heading, up to the next one.
    range: std::ops::Range<usize>,
    /// The heading's text, for the error about a missing part.
    text: &'a str,
}

/// The line that introduces the stub block.
const STUB_INTRO: &str = "You start from this stub:";
/// The line that introduces the list of tests.
const TESTS_INTRO: &str = "The tests that check it:";

impl Section<'_> {
    fn error(&self, index: usize, what: &str) -> ExerciseError {
        Place {
            page: self.page,
            line: index,
        }
        .error(self.id, what)
    }

    /// The one line of prose (not code) that is `wanted`, trimmed.
    fn intro(&self, wanted: &str, what: &str) -> Result<usize, ExerciseError> {
        let found: Vec<usize> = self
            .range
            .clone()
            .filter(|&index| !self.in_code[index] && self.lines[index].trim() == wanted)
            .collect();
        match found[..] {
            [index] => Ok(index),
            [] => Err(self.error(
                self.range.start - 1,
                &format!(
                    "the section `{}` has no line `{wanted}` followed by {what}",
                    self.text
                ),
            )),
            [_, second, ..] => Err(self.error(second, &format!("a second `{wanted}`"))),
        }
    }

    /// The first line after `index` that is not blank.
    fn next_filled(&self, index: usize) -> Option<usize> {
        (index + 1..self.range.end).find(|&next| !self.lines[next].trim().is_empty())
    }

    fn parse(&self, title: String) -> Result<Exercise, ExerciseError> {
        let (stub_line, stub) = self.stub()?;
        let tests = self.tests()?;
        let hints = self.hints()?;
        let (file, anchor) = self.solution()?;
        Ok(Exercise {
            id: self.id.to_owned(),
            title,
            page: self.page.to_path_buf(),
            // The section starts on the line after its heading: the
            // heading's 1-based number.
            line: self.range.start,
            stub_line: stub_line + 1,
            package: package_of(&file),
            file,
            anchor,
            tests,
            stub,
            hints,
        })
    }

    /// `You start from this stub:`, then a ```` ```rust,ignore ```` block.
    fn stub(&self) -> Result<(usize, Vec<String>), ExerciseError> {
        let what = "a ```rust,ignore block";
        let intro = self.intro(STUB_INTRO, what)?;
        let fence = self
            .next_filled(intro)
            .filter(|&next| self.in_code[next])
            .ok_or_else(|| {
                self.error(intro, &format!("`{STUB_INTRO}` must be followed by {what}"))
            })?;
        let block = book::code_blocks(&self.lines[fence..].join("\n"))
            .into_iter()
            .next()
            .filter(|block| block.info.replace(' ', "") == "rust,ignore" && block.closed)
            .ok_or_else(|| {
                self.error(fence, &format!("the stub must be {what}, closed with ```"))
            })?;
        if block.body.iter().all(|line| line.trim().is_empty()) {
            return Err(self.error(fence, "the stub block is empty"));
        }
        Ok((fence, block.body))
    }

    /// `The tests that check it:`, then a list of `` - `target name` ``.
    fn tests(&self) -> Result<Vec<TestRef>, ExerciseError> {
        let what = "a list of `target name` items";
        let intro = self.intro(TESTS_INTRO, what)?;
        let mut tests = Vec::new();
        let mut next = self.next_filled(intro);
        while let Some(index) = next {
            let line = self.lines[index];
            let Some(item) = line.strip_prefix("- ") else {
                break;
            };
            let test = parse_test(item).map_err(|why| self.error(index, &why))?;
            tests.push(test);
            // An item may go on over indented lines.
            next = (index + 1..self.range.end)
                .find(|&n| !self.lines[n].starts_with(' '))
                .filter(|&n| !self.lines[n].trim().is_empty());
        }
        if tests.is_empty() {
            return Err(self.error(
                intro,
                &format!("`{TESTS_INTRO}` must be followed by {what}"),
            ));
        }
        Ok(tests)
    }

    /// The `<details>` blocks summarised `Hint N for exercise S.N`, which
    /// must be this exercise's and numbered 1, 2, 3… in order.
    fn hints(&self) -> Result<Vec<String>, ExerciseError> {
        let mut hints = Vec::new();
        for index in self.range.clone().filter(|&index| !self.in_code[index]) {
            let Some(hint) = summary(self.lines[index]).and_then(|s| s.strip_prefix("Hint "))
            else {
                continue;
            };
            let expected = format!("Hint {} for exercise {}", hints.len() + 1, self.id);
            if format!("Hint {hint}") != expected {
                return Err(self.error(
                    index,
                    &format!("this summary should be `<summary>{expected}</summary>`"),
                ));
            }
            let body: Vec<&str> = self.lines[index + 1..self.range.end]
                .iter()
                .copied()
                .take_while(|line| line.trim() != "</details>")
                .collect();
            hints.push(body.join("\n").trim().to_owned());
        }
        Ok(hints)
    }

    /// The file and anchor of the include in `Solution for exercise S.N`.
    fn solution(&self) -> Result<(PathBuf, String), ExerciseError> {
        let expected = format!("Solution for exercise {}", self.id);
        let anchor = format!("exercise_{}", self.id.replace('.', "_"));
        let what = format!("a `<details>` block with `{{{{#include …:{anchor}}}}}`");
        let summary_line = self.intro(&format!("<summary>{expected}</summary>"), &what)?;
        let body_end = (summary_line..self.range.end)
            .find(|&index| self.lines[index].trim() == "</details>")
            .unwrap_or(self.range.end);
        let include = book::includes(&self.lines[summary_line..body_end].join("\n"))
            .into_iter()
            .find(|include| include.selector.as_deref() == Some(anchor.as_str()))
            .ok_or_else(|| {
                self.error(
                    summary_line,
                    &format!("the solution must show the code with `{{{{#include …:{anchor}}}}}`"),
                )
            })?;
        let at = summary_line + include.line - 1;
        let page_dir = self.page.parent().unwrap_or(Path::new(""));
        let file = normalize(&page_dir.join(&include.path)).ok_or_else(|| {
            self.error(at, &format!("`{}` is outside the workspace", include.path))
        })?;
        let package = package_of(&file);
        let stage = self.id.split('.').next().unwrap_or_default();
        if !package.starts_with(&format!("stage{stage}-")) {
            return Err(self.error(
                at,
                &format!(
                    "the solution of a stage {stage} exercise is in `stage{stage}-…`, \
                     not in `{}`",
                    shown(&file)
                ),
            ));
        }
        Ok((file, anchor))
    }
}

/// The first component of a path relative to the workspace root.
fn package_of(file: &Path) -> String {
    file.components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `` `target name` `` and any prose after it.
fn parse_test(item: &str) -> Result<TestRef, String> {
    let expected = "each item of the list starts with a test in backticks, `target name`: \
                    the target is `lib` or a file of the stage's `tests/`";
    let inner = item
        .trim()
        .strip_prefix('`')
        .and_then(|rest| rest.split_once('`'))
        .map(|(inner, _)| inner)
        .ok_or_else(|| expected.to_owned())?;
    let words: Vec<&str> = inner.split_whitespace().collect();
    let word = |w: &str, extra: &[char]| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c))
    };
    match words[..] {
        [target, name] if word(target, &['-']) && word(name, &[':']) => Ok(TestRef {
            target: target.to_owned(),
            name: name.to_owned(),
        }),
        _ => Err(format!("{expected}; not `{inner}`")),
    }
}

/// The text of a `<summary>…</summary>` line.
fn summary(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<summary>")
        .and_then(|s| s.strip_suffix("</summary>"))
}

/// `path` without `.` and `..`, if it stays inside the workspace.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
# Stage 6

## Your job

```sh
# a shell comment is no heading
cargo exercise start 6.1
```

### Exercise 6.1: refill the bucket, then take a token

Write `try_take`.

You start from this stub:

```rust,ignore
todo!(\"exercise 6.1: {self:?}\")
```

The tests that check it:

- `lib rate::tests::a_burst`
- `lib rate::tests::a_pause`: a unit test,
  whose explanation goes on
- `production told_and_slowed`

<details>
<summary>Hint 1 for exercise 6.1</summary>

Start small.

</details>

<details>
<summary>Hint 2 for exercise 6.1</summary>

Then grow.
</details>

<details>
<summary>Solution for exercise 6.1</summary>

```rust
{{#include ../../stage6-shutdown/src/rate.rs:exercise_6_1}}
```

</details>

## Pitfalls
";

    fn parse(page: &str) -> Result<Vec<Exercise>, ExerciseError> {
        parse_page(Path::new("book/src/stage6.md"), page)
    }

    fn parsed() -> Exercise {
        let mut all = parse(PAGE).expect("the section is well-formed");
        assert_eq!(all.len(), 1, "one exercise is described");
        all.remove(0)
    }

    /// The error for `PAGE` with `from` replaced by `to`.
    fn error_with(from: &str, to: &str) -> String {
        assert!(PAGE.contains(from), "the page has {from:?}");
        parse(&PAGE.replacen(from, to, 1))
            .expect_err("the section is malformed")
            .0
    }

    #[test]
    fn reads_every_part_of_the_section() {
        let exercise = parsed();
        assert_eq!(exercise.id, "6.1");
        assert_eq!(exercise.stage(), "6");
        assert_eq!(exercise.title, "refill the bucket, then take a token");
        assert_eq!(exercise.place(), "book/src/stage6.md:10");
        assert_eq!(exercise.stub_line, 16);
        assert_eq!(exercise.package, "stage6-shutdown");
        assert_eq!(exercise.file, Path::new("stage6-shutdown/src/rate.rs"));
        assert_eq!(exercise.anchor, "exercise_6_1");
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
        assert_eq!(exercise.hints, ["Start small.", "Then grow."]);
    }

    #[test]
    fn a_crlf_page_reads_the_same() {
        let crlf = parse(&PAGE.replace('\n', "\r\n")).expect("a CRLF page is fine");
        assert_eq!(crlf, [parsed()]);
    }

    #[test]
    fn an_exercise_on_a_deeper_page_finds_its_file() {
        let page = PAGE.replace("../../stage6", "../../../stage6");
        let all = parse_page(Path::new("book/src/exercises/rate.md"), &page).expect("well-formed");
        assert_eq!(all[0].file, Path::new("stage6-shutdown/src/rate.rs"));
    }

    #[test]
    fn a_malformed_heading_is_an_error_at_its_line() {
        let error = error_with("Exercise 6.1:", "Exercise six:");
        assert!(error.starts_with("book/src/stage6.md:10:"), "{error}");
        assert!(error.contains("two numbers"), "{error}");
        let error = error_with("### Exercise", "#### Exercise");
        assert!(error.contains("level-3"), "{error}");
    }

    #[test]
    fn each_missing_or_malformed_part_is_named_with_its_line() {
        let error = error_with("The tests that check it:", "The tests:");
        assert!(
            error.starts_with("book/src/stage6.md:10: exercise 6.1:"),
            "{error}"
        );
        assert!(error.contains("The tests that check it:"), "{error}");
        let error = error_with(
            "- `production told_and_slowed`",
            "- production told_and_slowed",
        );
        assert!(error.starts_with("book/src/stage6.md:25:"), "{error}");
        assert!(error.contains("target name"), "{error}");
        let error = error_with("```rust,ignore", "```rust");
        assert!(error.starts_with("book/src/stage6.md:16:"), "{error}");
        assert!(error.contains("rust,ignore"), "{error}");
        let error = error_with("You start from this stub:", "The stub:");
        assert!(error.contains("You start from this stub:"), "{error}");
        let error = error_with("Hint 2 for exercise 6.1", "Hint 3 for exercise 6.1");
        assert!(error.starts_with("book/src/stage6.md:35:"), "{error}");
        assert!(error.contains("Hint 2 for exercise 6.1"), "{error}");
        let error = error_with(":exercise_6_1}}", ":solution}}");
        assert!(error.contains("{{#include …:exercise_6_1}}"), "{error}");
        let error = error_with("../../stage6-shutdown", "../../stage5-async");
        assert!(error.starts_with("book/src/stage6.md:44:"), "{error}");
        assert!(error.contains("stage 6"), "{error}");
    }
}
