//! Proves that cutting and parsing well-formed lines allocates nothing, by
//! counting every allocation this test thread makes while it parses. Stage 3's
//! proof, kept true for the human protocol.
//!
//! Run with `cargo test --test zero_copy`.

// Implementing `GlobalAlloc` is unsafe by definition: every allocation in the
// program goes through it, so the compiler has to trust it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write;
use std::hint::black_box;

use stage6_shutdown::{Command, Input, Lines, parse_input};

/// The longest line the tests accept.
const MAX_LINE_LEN: usize = 1024;

/// The system allocator, plus a count of the allocations of each thread.
struct CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

thread_local! {
    // Per thread, so that the other tests, running in parallel, do not add to
    // the count. A `const` initialiser and a type without `Drop` mean that the
    // counter itself never allocates, which would recurse into the allocator.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with` fails only while the thread is being torn down; an allocation
    // then is not one of ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System` upholds the allocator's contract.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc`'s contract, which `System` needs.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Growing a `String` is allocation work too, so it counts.
        count_one();
        // SAFETY: `ptr` and `layout` come from this allocator, that is from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the number of allocations it made.
fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    let after = ALLOCATIONS.with(Cell::get);
    (result, after - before)
}

/// Cuts and parses every line of `buf` and reads each part, as a server
/// would. Returns how many lines parsed and how many did not.
fn parse_all(buf: &[u8]) -> (usize, usize) {
    let mut lines = Lines::new(buf, MAX_LINE_LEN);
    let (mut parsed, mut failed) = (0, 0);
    for line in lines.by_ref() {
        let Ok(line) = line else {
            failed += 1;
            continue;
        };
        match parse_input(line) {
            Ok(input) => {
                // `black_box` keeps the optimiser from skipping the parsing
                // whose result nobody would otherwise look at.
                match &input {
                    Input::Chat(text) => black_box(text.as_bytes()),
                    Input::Command(Command::Join(room)) => black_box(room.as_bytes()),
                    Input::Command(Command::Nick(name)) => black_box(name.as_bytes()),
                    Input::Command(Command::Quit(goodbye)) => black_box(goodbye.as_bytes()),
                    Input::Command(Command::Kick { user, reason }) => {
                        black_box(user.as_bytes());
                        black_box(reason.as_bytes())
                    }
                    Input::Command(command) => black_box(command.name().as_bytes()),
                };
                parsed += 1;
            }
            Err(_) => failed += 1,
        }
    }
    assert_eq!(lines.consumed(), buf.len(), "every line ends with '\\n'");
    (parsed, failed)
}

/// Builds `count` lines: `line(i)` for each `i`, each followed by `\n`.
fn lines(count: usize, line: impl Fn(usize) -> String) -> String {
    let mut buf = String::new();
    for i in 0..count {
        writeln!(buf, "{}", line(i)).expect("writing to a String cannot fail");
    }
    buf
}

#[test]
fn clean_lines_are_parsed_without_a_single_allocation() {
    const FRAMES: usize = 10_000;
    // Built before counting: only the parsing is measured.
    let buf = lines(FRAMES, |i| match i % 6 {
        0 => format!("hello: message number {i}, with a colon"),
        1 => format!("/join room-{}", i % 10),
        2 => format!("/NICK  user{i} "),
        3 => "/list".to_owned(),
        4 => format!("/kick user{} for shouting", i % 7),
        _ => "/quit see you tomorrow\r".to_owned(),
    });

    let ((parsed, failed), allocations) = allocations_during(|| parse_all(buf.as_bytes()));

    assert_eq!((parsed, failed), (FRAMES, 0), "every line is valid");
    assert_eq!(
        allocations, 0,
        "parsing {FRAMES} clean lines made {allocations} allocations instead of 0. \
         A lowercase room or a text without control characters must stay borrowed: \
         look for `to_owned`, `to_string`, `to_lowercase`, `format!` or `Cow::Owned` \
         on the common path of `parse_input` in src/command.rs and `Lines::next` \
         in src/lines.rs"
    );
}

#[test]
fn a_payload_that_must_change_allocates_exactly_once() {
    // The contrast that shows the counter works: without it, a count of 0 above
    // could mean that nothing was counted at all.
    const FRAMES: usize = 1_000;
    let buf = lines(FRAMES, |i| match i % 3 {
        0 => format!("/join Room-{i}"),
        1 => format!("\x1b[2Jmessage {i}"),
        _ => format!("/quit bye\x07 from {i}"),
    });

    let ((parsed, failed), allocations) = allocations_during(|| parse_all(buf.as_bytes()));

    assert_eq!((parsed, failed), (FRAMES, 0), "every line is valid");
    assert_eq!(
        allocations, FRAMES,
        "parsing {FRAMES} frames that each need one change (an uppercase room, a \
         control character) made {allocations} allocations instead of one per frame. \
         0 means the counting allocator counted nothing, so the zero-copy test proves \
         nothing either; more means the owned copy grows or is made twice: see \
         `to_ascii_lowercase` and `replace_control_chars` in src/command.rs"
    );
}
