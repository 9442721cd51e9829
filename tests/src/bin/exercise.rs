//! Turns the reference stages into a workshop.
//!
//! ```text
//! cargo exercise list
//! cargo exercise start 4.1      # or: start stage4
//! cargo exercise test 4.1       # exactly the tests that check it
//! cargo exercise hint 4.1       # hint 1; `hint 4.1 2` for the next
//! cargo exercise reset 4.1      # back to the reference solution
//! cargo exercise verify         # the contract, as CI checks it
//! ```
//!
//! (`cargo exercise` is an alias, in `.cargo/config.toml`, of
//! `cargo run --quiet -p tests --bin exercise --`.)
//!
//! The exercises are the `### Exercise S.N: title` sections of the book (see
//! [`chat_tools::exercise`]): each gives the stub, the tests, the hints and the
//! solution's anchor. `start` replaces the solution of each exercise with its
//! stub and keeps the solution in `target/exercises/`; `reset` puts it back
//! (and keeps what you wrote beside it). `verify` works on a scratch copy of
//! the workspace and proves, for every exercise, that the stub compiles and is
//! formatted, that every test named for it fails on the stub, and that they
//! all pass on the reference.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use chat_harness::workspace_root;
use chat_tools::exercise::{self, Exercise, TestRef};
use clap::{Parser, Subcommand};

/// Exercises of the chat-server book: start, reset, hints, and the contract check.
#[derive(Debug, Parser)]
#[command(name = "exercise", version)]
struct Args {
    /// The workspace to work on (default: the one this tool was built in).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Lists every exercise, its tests and whether it is started.
    List,
    /// Replaces the solution of an exercise (`4.1`) or of a whole stage (`stage4`) with stubs.
    Start {
        /// `S.N` or `stageS`.
        which: String,
    },
    /// Puts the reference solution back; what you wrote is kept in target/exercises/.
    Reset {
        /// `S.N` or `stageS`.
        which: String,
    },
    /// Runs exactly the tests that check an exercise (`4.1`).
    Test {
        /// `S.N`.
        id: String,
    },
    /// Prints a hint from the book (the first one unless you ask for another).
    Hint {
        /// `S.N`.
        id: String,
        /// Which hint, from 1.
        #[arg(default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        number: u32,
    },
    /// Proves the contract of every exercise (or those named): the stub
    /// compiles, its tests fail on it, and they pass on the reference.
    Verify {
        /// `S.N` or `stageS`; all exercises when none is given.
        which: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("exercise: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let root = args.root.unwrap_or_else(workspace_root);
    match args.command {
        Action::List => list(&root),
        Action::Start { which } => {
            for exercise in select(&root, &[which])? {
                start(&root, &exercise)?;
            }
            Ok(())
        }
        Action::Reset { which } => {
            for exercise in select(&root, &[which])? {
                reset(&root, &exercise)?;
            }
            Ok(())
        }
        Action::Test { id } => test(&root, &exercise::find(&root, &id)?),
        Action::Hint { id, number } => hint(&root, &id, number),
        Action::Verify { which } => verify(&root, &select(&root, &which)?),
    }
}

/// The exercises named by `which` (`S.N` or `stageS`), or all of them.
fn select(root: &Path, which: &[String]) -> anyhow::Result<Vec<Exercise>> {
    let all = exercise::find_all(root)?;
    if which.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for name in which {
        let matching: Vec<Exercise> = match name.strip_prefix("stage") {
            Some(stage) => all.iter().filter(|e| e.stage() == stage).cloned().collect(),
            None => all.iter().filter(|e| &e.id == name).cloned().collect(),
        };
        if matching.is_empty() {
            bail!("no exercise matches {name:?}; `list` shows them all");
        }
        chosen.extend(matching);
    }
    Ok(chosen)
}

fn list(root: &Path) -> anyhow::Result<()> {
    for exercise in exercise::find_all(root)? {
        let text = fs::read_to_string(root.join(&exercise.file))?;
        let state = if exercise.is_stubbed(&text)? {
            "started"
        } else if is_reference(root, &exercise, &text)? {
            "reference"
        } else {
            "your code"
        };
        println!("{}  {}  [{state}]", exercise.id, exercise.title);
        println!(
            "     in {}, described at {}",
            exercise.file.display(),
            exercise.place()
        );
        for test in &exercise.tests {
            println!("     test: {test}");
        }
    }
    Ok(())
}

fn start(root: &Path, exercise: &Exercise) -> anyhow::Result<()> {
    let (id, path) = (&exercise.id, root.join(&exercise.file));
    let text = fs::read_to_string(&path)?;
    if exercise.is_stubbed(&text)? {
        println!("exercise {id} is already started");
        return Ok(());
    }
    let saved = saved_solution(root, exercise);
    if saved.exists() {
        // The region is neither the stub nor, as far as we know, the
        // reference: it is the learner's work. Never save it as the reference.
        bail!(
            "exercise {id} holds your code, not its stub: run `reset {id}` first \
             (it keeps your code aside), then `start {id}` again"
        );
    }
    let (stubbed, solution) =
        exercise::replace_region(&text, &exercise.anchor, &exercise.stub_in(&text)?)?;
    fs::create_dir_all(saved.parent().expect("a file in a directory"))?;
    fs::write(&saved, lines_to_text(&solution))?;
    fs::write(&path, stubbed)?;
    println!("exercise {id}: {}", exercise.title);
    println!("  your code goes in {}", exercise.file.display());
    println!("  its section in the book: {}", exercise.place());
    println!("  check it with: cargo exercise test {id}");
    println!("  hints: cargo exercise hint {id}");
    Ok(())
}

fn reset(root: &Path, exercise: &Exercise) -> anyhow::Result<()> {
    let (id, path) = (&exercise.id, root.join(&exercise.file));
    let text = fs::read_to_string(&path)?;
    let solution = reference_solution(root, exercise)?;
    let current = exercise::current_region(&text, &exercise.anchor)?;
    let saved = saved_solution(root, exercise);
    if current == solution {
        let _ = fs::remove_file(&saved);
        println!("exercise {id} already has the reference solution");
        return Ok(());
    }
    if !exercise.is_stubbed(&text)? {
        let attempt = saved.with_extension("yours.rs");
        fs::create_dir_all(saved.parent().expect("a file in a directory"))?;
        fs::write(&attempt, lines_to_text(&current))?;
        println!("your version is kept in {}", attempt.display());
    }
    let (restored, _) = exercise::replace_region(&text, &exercise.anchor, &solution)?;
    fs::write(&path, restored)?;
    // A copy kept after the reset could later bring back an outdated solution.
    let _ = fs::remove_file(&saved);
    println!("exercise {id}: the reference solution is back");
    Ok(())
}

/// The solution saved by `start`, or else the one in git's last commit.
fn reference_solution(root: &Path, exercise: &Exercise) -> anyhow::Result<Vec<String>> {
    let saved = saved_solution(root, exercise);
    if let Ok(text) = fs::read_to_string(&saved) {
        return Ok(text.lines().map(str::to_owned).collect());
    }
    let file = exercise.file.to_string_lossy().replace('\\', "/");
    let committed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["show", &format!("HEAD:{file}")])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| exercise::current_region(&text, &exercise.anchor).ok());
    committed.with_context(|| {
        format!(
            "cannot find the reference solution of exercise {}: `start` did not save it in \
             {}, and git's last commit has no such exercise in {file}. A fresh copy of {file} \
             from the repository has it.",
            exercise.id,
            saved.display()
        )
    })
}

fn is_reference(root: &Path, exercise: &Exercise, text: &str) -> anyhow::Result<bool> {
    match reference_solution(root, exercise) {
        Ok(solution) => Ok(exercise::current_region(text, &exercise.anchor)? == solution),
        // Without git or a saved copy, code that is not the stub is taken as given.
        Err(_) => Ok(true),
    }
}

/// Where `start` keeps the reference solution until `reset` puts it back.
fn saved_solution(root: &Path, exercise: &Exercise) -> PathBuf {
    root.join("target")
        .join("exercises")
        .join(format!("{}.rs", exercise.anchor))
}

fn lines_to_text(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// The tests of `exercise`, grouped by target in the order the book lists
/// them: one `cargo test` each.
fn tests_by_target(exercise: &Exercise) -> Vec<(&str, Vec<&str>)> {
    let mut targets: Vec<(&str, Vec<&str>)> = Vec::new();
    for test in &exercise.tests {
        match targets
            .iter_mut()
            .find(|(target, _)| *target == test.target)
        {
            Some((_, names)) => names.push(&test.name),
            None => targets.push((&test.target, vec![&test.name])),
        }
    }
    targets
}

/// Runs the exercise's tests, target by target, showing cargo's output as
/// it comes, then says which of them passed.
fn test(root: &Path, exercise: &Exercise) -> anyhow::Result<()> {
    let id = &exercise.id;
    let mut results: BTreeMap<String, String> = BTreeMap::new();
    for (target, names) in tests_by_target(exercise) {
        let mut command = cargo_test_command(root, &exercise.package, target);
        command.arg("--").arg("--exact").args(&names);
        if std::io::stdout().is_terminal() {
            command.args(["--color", "always"]);
        }
        println!("exercise {id}: {} test(s) in {target}", names.len());
        // cargo's own messages go to stderr as they are; the test results
        // come on stdout, which is shown line by line and read as it passes.
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run cargo")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if let Some((name, result)) = test_result(&line)
                && names.contains(&name.as_str())
            {
                results.insert(format!("{target} {name}"), result);
            }
        }
        child.wait()?;
    }
    let failing: Vec<String> = exercise
        .tests
        .iter()
        .map(TestRef::to_string)
        .filter(|test| results.get(test).map(String::as_str) != Some("ok"))
        .collect();
    if failing.is_empty() {
        println!(
            "exercise {id}: all {} of its tests pass",
            exercise.tests.len()
        );
        return Ok(());
    }
    println!(
        "exercise {id}: {} of its {} tests do not pass yet:",
        failing.len(),
        exercise.tests.len()
    );
    for test in &failing {
        let result = results.get(test).map_or("did not run", String::as_str);
        println!("  {test}: {result}");
    }
    println!("hints: cargo exercise hint {id}");
    bail!("exercise {id} is not done yet")
}

/// `ok`, `FAILED` or `ignored` from a libtest line `test NAME ... RESULT`.
fn test_result(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    // With colours on, the result is wrapped in escape codes.
    let result: String = strip_escapes(result.trim());
    Some((name.to_owned(), result))
}

fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // `ESC [ … m`: skip up to the final letter.
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

fn hint(root: &Path, id: &str, number: u32) -> anyhow::Result<()> {
    let hints = exercise::find(root, id)?.hints;
    // `number` starts at 1 (clap refuses 0).
    match hints.get(number as usize - 1) {
        Some(hint) => {
            println!("Hint {number} of {} for exercise {id}:\n", hints.len());
            println!("{}", hint.trim());
            if (number as usize) < hints.len() {
                println!("\n(next: cargo exercise hint {id} {})", number + 1);
            }
            Ok(())
        }
        None if hints.is_empty() => bail!("the book has no hints for exercise {id}"),
        None => bail!(
            "there is no hint {number}: exercise {id} has hints 1 to {}",
            hints.len()
        ),
    }
}

/// How long the tests of one run may take once built; a stub that makes a
/// test loop forever is then reported, and the test process killed.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Proves the contract on a scratch copy of the workspace, which it removes
/// at the end; the build is kept in `target/exercise-check/target` so that
/// the next run is quicker.
fn verify(root: &Path, exercises: &[Exercise]) -> anyhow::Result<()> {
    let scratch = root.join("target").join("exercise-check");
    // One copy per run, so that two runs at once do not trip over each other.
    let copy = Scratch(scratch.join(format!("workspace-{}", std::process::id())));
    println!("copying the workspace to {}", copy.0.display());
    copy_tree(root, &copy.0)?;
    put_back_references(root, &copy.0, exercises)?;
    let mut check = Check {
        workspace: &copy.0,
        target_dir: scratch.join("target"),
        problems: Vec::new(),
    };
    check.references(exercises)?;
    for exercise in exercises {
        check.stub(exercise)?;
    }
    if check.problems.is_empty() {
        println!(
            "\nthe contract holds for all {} exercises: each stub compiles, \
             each named test fails on it and passes on the reference",
            exercises.len()
        );
        Ok(())
    } else {
        for problem in &check.problems {
            eprintln!("- {problem}");
        }
        bail!(
            "{} problem(s) with the exercise contract",
            check.problems.len()
        )
    }
}

/// One run of `verify`: where it works, and what it found wrong so far.
struct Check<'a> {
    /// The scratch copy of the workspace.
    workspace: &'a Path,
    /// Where the copy is built.
    target_dir: PathBuf,
    /// Every broken promise, for the report at the end.
    problems: Vec<String>,
}

impl Check<'_> {
    /// Every named test passes on the reference: one run per test target.
    fn references(&mut self, exercises: &[Exercise]) -> anyhow::Result<()> {
        let mut by_target: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for exercise in exercises {
            for test in &exercise.tests {
                by_target
                    .entry((&exercise.package, &test.target))
                    .or_default()
                    .push(&test.name);
            }
        }
        for ((package, target), names) in &by_target {
            let outcome = self.cargo_test(package, target, names, None)?;
            if !outcome.compiled {
                self.problems.push(format!(
                    "{package} {target}: the REFERENCE does not build:\n{}",
                    outcome.tail()
                ));
                continue;
            }
            for name in names {
                match outcome.results.get(*name).map(String::as_str) {
                    Some("ok") => {}
                    Some(other) => self.problems.push(format!(
                        "{package} {target} {name}: {other} on the REFERENCE solution (it must pass)"
                    )),
                    None => self.problems.push(format!(
                        "{package} {target} {name}: no such test ({})",
                        outcome.summary()
                    )),
                }
            }
            println!(
                "reference  {package} {target}: {} named tests run",
                names.len()
            );
        }
        Ok(())
    }

    /// With the stub in, the file is formatted, the crate builds, and every
    /// named test fails. The reference is put back afterwards.
    fn stub(&mut self, exercise: &Exercise) -> anyhow::Result<()> {
        let id = &exercise.id;
        let path = self.workspace.join(&exercise.file);
        let original = fs::read_to_string(&path)?;
        let (stubbed, _) =
            exercise::replace_region(&original, &exercise.anchor, &exercise.stub_in(&original)?)?;
        fs::write(&path, stubbed)?;
        if !is_formatted(&path) {
            self.problems.push(format!(
                "exercise {id}: with its stub in, {} is not as rustfmt would format it; \
                 a learner's editor would rewrite the stub (format the stub block at {})",
                exercise.file.display(),
                exercise.place()
            ));
        }
        let mut failed = 0;
        for (target, names) in &tests_by_target(exercise) {
            // Failing tests are expected here: a short read timeout keeps them quick.
            let outcome = self.cargo_test(&exercise.package, target, names, Some("2000"))?;
            if !outcome.compiled {
                self.problems.push(format!(
                    "exercise {id}: the stub does not compile:\n{}",
                    outcome.tail()
                ));
                continue;
            }
            for name in names {
                match outcome.results.get(*name).map(String::as_str) {
                    Some("FAILED") => failed += 1,
                    Some(other) => self.problems.push(format!(
                        "exercise {id}: {target} {name} is {other} on the STUB: it cannot tell \
                         the stub from a solution"
                    )),
                    None => self.problems.push(format!(
                        "exercise {id}: {target} {name} did not run on the stub ({})",
                        outcome.summary()
                    )),
                }
            }
        }
        println!(
            "stub       {id} ({}): {failed} of {} named tests fail, as they must",
            exercise.package,
            exercise.tests.len()
        );
        fs::write(&path, original)?;
        Ok(())
    }

    /// Builds, then runs, the tests `names` of one target of `package`.
    fn cargo_test(
        &self,
        package: &str,
        target: &str,
        names: &[&str],
        read_timeout_ms: Option<&str>,
    ) -> anyhow::Result<Outcome> {
        let command = || {
            let mut command = cargo_test_command(self.workspace, package, target);
            command
                .env("CARGO_TARGET_DIR", &self.target_dir)
                .arg("--locked");
            command
        };
        // Building takes as long as it takes (a fresh target directory on two
        // cores: minutes); only the run itself is limited.
        let mut build = command();
        build.arg("--no-run");
        let (built, build_output) = run_captured(build, None)?;
        if !built {
            return Ok(Outcome {
                compiled: false,
                results: BTreeMap::new(),
                output: build_output,
            });
        }
        let mut run = command();
        run.arg("--").arg("--exact").args(names);
        if let Some(ms) = read_timeout_ms {
            run.env("CHAT_TEST_TIMEOUT_MS", ms);
        }
        let (_, output) = run_captured(run, Some(RUN_LIMIT))
            .with_context(|| format!("`cargo test -p {package}` ({target})"))?;
        let results = output.lines().filter_map(test_result).collect();
        Ok(Outcome {
            compiled: true,
            results,
            output,
        })
    }
}

/// A directory removed when dropped, even when the check fails.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// In `copy`, puts back the reference of every exercise started in `root`,
/// so that the check is about the reference, not the learner's work.
fn put_back_references(root: &Path, copy: &Path, exercises: &[Exercise]) -> anyhow::Result<()> {
    for exercise in exercises {
        // Only a started exercise has a saved solution; the others hold theirs.
        if !saved_solution(root, exercise).exists() {
            continue;
        }
        let path = copy.join(&exercise.file);
        let text = fs::read_to_string(&path)?;
        let solution = reference_solution(root, exercise)?;
        let (restored, _) = exercise::replace_region(&text, &exercise.anchor, &solution)?;
        fs::write(&path, restored)?;
    }
    Ok(())
}

/// Whether rustfmt leaves `path` as it is.
fn is_formatted(path: &Path) -> bool {
    Command::new("rustfmt")
        .args(["--edition", "2024", "--check"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// What one `cargo test` run reported.
struct Outcome {
    /// Whether the test target built.
    compiled: bool,
    /// Test name → `ok`, `FAILED` or `ignored`.
    results: BTreeMap<String, String>,
    /// Everything cargo and the tests printed.
    output: String,
}

impl Outcome {
    fn summary(&self) -> String {
        self.output
            .lines()
            .filter(|line| line.starts_with("test result:") || line.starts_with("running "))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn tail(&self) -> String {
        let lines: Vec<&str> = self.output.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// `cargo test -p package` for one target: `--lib` or `--test target`.
fn cargo_test_command(workspace: &Path, package: &str, target: &str) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args(["test", "-p", package]);
    if target == "lib" {
        command.arg("--lib");
    } else {
        command.args(["--test", target]);
    }
    command
}

/// Runs `command` (a `cargo test`), capturing its output; after `limit`,
/// cargo and the test binary are killed.
fn run_captured(command: Command, limit: Option<Duration>) -> anyhow::Result<(bool, String)> {
    let ran = chat_harness::run_within(command, limit).context("cannot run cargo")?;
    if ran.timed_out {
        bail!("the tests ran for over {limit:?} and were killed: a test never ends");
    }
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&ran.output.stdout),
        String::from_utf8_lossy(&ran.output.stderr)
    );
    Ok((ran.output.status.success(), output))
}

/// Copies the workspace's sources: not `target/` or `.git/`, nor the book,
/// which no crate builds from.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    copy_dir(from, to, &[".git", "target", "book"])
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|skipped| name == *skipped) {
            continue;
        }
        let (source, destination) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_dir(&source, &destination, &[])?;
        } else {
            fs::copy(&source, &destination)?;
        }
    }
    Ok(())
}
