//! Proves that parsing well-formed frames allocates nothing, by counting every
//! allocation this test thread makes while it parses.
//!
//! Run with `cargo test --test zero_copy`.

// Implementing `GlobalAlloc` is unsafe by definition: every allocation in the
// program goes through it, so the compiler has to trust it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write;
use std::hint::black_box;

use stage3_protocol::{Frame, FrameIter};

/// The longest line the tests accept.
const MAX_LINE_LEN: usize = 1024;

// ANCHOR: counting_allocator
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
// ANCHOR_END: counting_allocator

// ANCHOR: allocations_during
/// Runs `f` and returns its result with the number of allocations it made.
fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    let after = ALLOCATIONS.with(Cell::get);
    (result, after - before)
}
// ANCHOR_END: allocations_during

/// Parses every line of `buf` and reads each payload, as a server would.
/// Returns how many frames parsed and how many lines did not.
fn parse_all(buf: &[u8]) -> (usize, usize) {
    let mut frames = FrameIter::new(buf, MAX_LINE_LEN);
    let (mut parsed, mut failed) = (0, 0);
    for item in frames.by_ref() {
        match item {
            Ok(frame) => {
                let (Frame::Nick(payload)
                | Frame::Join(payload)
                | Frame::Msg(payload)
                | Frame::Quit(payload)) = &frame;
                // `black_box` keeps the optimiser from skipping the parsing
                // whose result nobody would otherwise look at.
                black_box(payload.as_bytes());
                parsed += 1;
            }
            Err(_) => failed += 1,
        }
    }
    assert_eq!(frames.consumed(), buf.len(), "every line ends with '\\n'");
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

// ANCHOR: clean_frames
#[test]
fn clean_frames_are_parsed_without_a_single_allocation() {
    const FRAMES: usize = 10_000;
    // Built before counting: only the parsing is measured.
    let buf = lines(FRAMES, |i| match i % 4 {
        0 => format!("MSG:hello: message number {i}, with a colon"),
        1 => format!("JOIN:room-{}", i % 10),
        2 => format!("nick: user{i} "),
        _ if i % 8 == 3 => "QUIT:".to_owned(),
        _ => "QUIT:see you tomorrow\r".to_owned(),
    });

    let ((parsed, failed), allocations) = allocations_during(|| parse_all(buf.as_bytes()));

    assert_eq!((parsed, failed), (FRAMES, 0), "every line is a valid frame");
    assert_eq!(
        allocations, 0,
        "parsing {FRAMES} clean frames made {allocations} allocations instead of 0. \
         A lowercase room or a text without control characters must stay borrowed: \
         look for `to_owned`, `to_string`, `to_lowercase`, `format!` or `Cow::Owned` \
         on the common path of `Frame::parse` in src/protocol.rs and `Lines::next` in src/lines.rs"
    );
}
// ANCHOR_END: clean_frames

#[test]
fn a_payload_that_must_change_allocates_exactly_once() {
    // The contrast that shows the counter works: without it, a count of 0 above
    // could mean that nothing was counted at all.
    const FRAMES: usize = 1_000;
    let buf = lines(FRAMES, |i| match i % 3 {
        0 => format!("JOIN:Room-{i}"),
        1 => format!("MSG:\x1b[2Jmessage {i}"),
        _ => format!("QUIT:bye\x07 from {i}"),
    });

    let ((parsed, failed), allocations) = allocations_during(|| parse_all(buf.as_bytes()));

    assert_eq!((parsed, failed), (FRAMES, 0), "every line is a valid frame");
    assert_eq!(
        allocations, FRAMES,
        "parsing {FRAMES} frames that each need one change (an uppercase room, a \
         control character) made {allocations} allocations instead of one per frame. \
         0 means the counting allocator counted nothing, so the zero-copy test proves \
         nothing either; more means the owned copy grows or is made twice: see \
         `lowercase` and `replace_controls` in src/protocol.rs"
    );
}
