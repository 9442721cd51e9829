//! The `exercise` tool on a copy of the stage sources and the book: `start`
//! puts every stub in, `reset` gives back the reference byte for byte, a
//! learner's own attempt is never lost, and the hints come from the book.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chat_harness::workspace_root;
use chat_tools::book::STAGES;
use chat_tools::exercise;

/// A temporary directory, removed when dropped (even when the test fails).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh directory with a copy of every stage's `Cargo.toml` and `src/`,
/// and of the book's pages, which describe the exercises.
fn copy_of_the_stages(test: &str) -> TempDir {
    let root = std::env::temp_dir().join(format!("chat-exercise-{test}-{}", std::process::id()));
    copy_dir(
        &workspace_root().join("book").join("src"),
        &root.join("book").join("src"),
    );
    for stage in STAGES {
        let (from, to) = (workspace_root().join(stage), root.join(stage));
        fs::create_dir_all(&to).expect("the temporary directory is writable");
        fs::copy(from.join("Cargo.toml"), to.join("Cargo.toml")).expect("copying Cargo.toml");
        copy_dir(&from.join("src"), &to.join("src"));
    }
    TempDir(root)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("the temporary directory is writable");
    for entry in fs::read_dir(from).expect("the stage sources are readable") {
        let path = entry.expect("a directory entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copying a source file");
        }
    }
}

fn run_tool(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exercise"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .expect("the exercise tool runs")
}

/// Runs the tool and insists that it succeeds.
fn exercise(root: &Path, args: &[&str]) -> Output {
    let output = run_tool(root, args);
    assert!(
        output.status.success(),
        "`exercise {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_stage_can_be_started_and_reset_to_the_reference() {
    let temp = copy_of_the_stages("round-trip");
    let root = &temp.0;
    let exercises = exercise::find_all(root).expect("the book describes them well");
    for stage in 1..=6 {
        assert!(
            exercises.iter().any(|e| e.stage() == stage.to_string()),
            "stage {stage} has no exercise: its chapter needs at least one"
        );
    }
    let originals: Vec<(PathBuf, String)> = exercises
        .iter()
        .map(|e| (root.join(&e.file), read(&root.join(&e.file))))
        .collect();

    for stage in 1..=6 {
        exercise(root, &["start", &format!("stage{stage}")]);
    }
    for exercise in &exercises {
        let text = read(&root.join(&exercise.file));
        let region = exercise::current_region(&text, &exercise.anchor).expect("still marked");
        assert_eq!(
            region,
            exercise.stub_in(&text).expect("still marked"),
            "after `start stage{}`, exercise {} in {} should hold its stub",
            exercise.stage(),
            exercise.id,
            exercise.file.display()
        );
    }

    for stage in 1..=6 {
        exercise(root, &["reset", &format!("stage{stage}")]);
    }
    for (path, original) in &originals {
        assert!(
            read(path) == *original,
            "after `reset`, {} differs from the reference",
            path.display()
        );
    }
}

#[test]
fn reset_keeps_what_the_learner_wrote() {
    let temp = copy_of_the_stages("attempt");
    let root = &temp.0;
    let first = exercise::find_all(root).expect("well described")[0].clone();
    let path = root.join(&first.file);
    let original = read(&path);
    exercise(root, &["start", &first.id]);

    let stubbed = read(&path);
    let attempt = vec!["    // my own attempt".to_owned()];
    let (mine, _) = exercise::replace_region(&stubbed, &first.anchor, &attempt).expect("marked");
    fs::write(&path, mine).expect("writing the attempt");

    let again = run_tool(root, &["start", &first.id]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && said.contains("holds your code"),
        "starting an exercise that holds the learner's code must be refused, so that the \
         saved reference is never overwritten; it said: {said}"
    );

    let listed = String::from_utf8(exercise(root, &["list"]).stdout).expect("UTF-8");
    assert!(
        listed.contains(&format!("{}  {}  [your code]", first.id, first.title)),
        "`list` should say exercise {} holds the learner's code; it printed:\n{listed}",
        first.id
    );

    let said = String::from_utf8(exercise(root, &["reset", &first.id]).stdout).expect("UTF-8");
    assert_eq!(read(&path), original, "reset restores the reference");
    let kept = root
        .join("target/exercises")
        .join(format!("{}.yours.rs", first.anchor));
    assert_eq!(
        read(&kept),
        "    // my own attempt\n",
        "reset keeps the attempt"
    );
    assert!(
        said.contains("your version is kept in"),
        "reset should say where the attempt went; it printed:\n{said}"
    );
}

#[test]
fn hints_come_from_the_book_one_at_a_time() {
    let temp = copy_of_the_stages("hints");
    let root = &temp.0;
    let first = exercise::find_all(root).expect("well described")[0].clone();
    let id = &first.id;
    // Two hints of our own, in place of the section's.
    let page = root.join(&first.page);
    let text = read(&page);
    let hint = |n: u32| format!("<summary>Hint {n} for exercise {id}</summary>");
    let from = text.find(&hint(1)).expect("the section has hint 1");
    let to = text[from..]
        .find("<summary>Solution for exercise")
        .map(|offset| from + offset)
        .expect("the section has a solution");
    let ours = format!(
        "{}\n\nStart small.\n\n</details>\n\n<details>\n{}\n\nThen grow.\n\n</details>\n\n<details>\n",
        hint(1),
        hint(2)
    );
    fs::write(&page, format!("{}{ours}{}", &text[..from], &text[to..])).expect("writable");

    let first_hint = String::from_utf8(exercise(root, &["hint", id]).stdout).expect("UTF-8");
    assert!(
        first_hint.contains("Hint 1 of 2") && first_hint.contains("Start small."),
        "{first_hint}"
    );
    assert!(
        !first_hint.contains("Then grow."),
        "one hint at a time: {first_hint}"
    );
    let second = String::from_utf8(exercise(root, &["hint", id, "2"]).stdout).expect("UTF-8");
    assert!(second.contains("Then grow."), "{second}");
    let third = run_tool(root, &["hint", id, "3"]);
    let said = String::from_utf8_lossy(&third.stderr);
    assert!(
        !third.status.success() && said.contains("hints 1 to 2"),
        "asking for a hint that is not there should say which there are; it said: {said}"
    );
}

#[test]
fn a_malformed_section_is_refused_with_its_page_and_line() {
    let temp = copy_of_the_stages("malformed");
    let root = &temp.0;
    let first = exercise::find_all(root).expect("well described")[0].clone();
    let page = root.join(&first.page);
    let text = read(&page).replacen("The tests that check it:", "The tests:", 1);
    fs::write(&page, text).expect("writable");
    for args in [&["list"][..], &["start", &first.id], &["test", &first.id]] {
        let output = run_tool(root, args);
        let said = String::from_utf8_lossy(&output.stderr);
        let place = format!("{}:", first.place());
        assert!(
            !output.status.success()
                && said.contains(&place)
                && said.contains("The tests that check it:"),
            "`exercise {}` on a section without its list of tests should fail and name \
             {place}; it said: {said}",
            args.join(" ")
        );
    }
    let text = read(&root.join(&first.file));
    assert!(
        !first.is_stubbed(&text).expect("still marked"),
        "nothing is started from a malformed section"
    );
}
