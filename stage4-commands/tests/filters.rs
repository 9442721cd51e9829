//! Each filter and the chain, by the public API: `cargo test -p stage4-commands --test filters`

use std::borrow::Cow;

use stage4_commands::filter::{flood_guard, mask_words, max_length};
use stage4_commands::{FilterChain, Verdict};

#[test]
fn max_length_counts_characters_not_bytes() {
    let filter = max_length(3);
    // Three characters, six bytes.
    assert_eq!(filter("ann", "äöü"), Verdict::Allow);
    assert_eq!(
        filter("ann", "abcd"),
        Verdict::Block("a message is at most 3 characters long".into())
    );
}

#[test]
fn mask_words_masks_whole_words_ignoring_case() {
    let filter = mask_words(vec!["darn".into(), "Heck".into()]);
    assert_eq!(
        filter("ann", "Darn it, darned HECK! darn"),
        Verdict::Modify("**** it, darned ****! ****".into())
    );
    assert_eq!(filter("ann", "darned heckler"), Verdict::Allow);
}

#[test]
fn mask_words_keeps_the_length_of_non_ascii_words() {
    let filter = mask_words(vec!["mist".into(), "ÄRGER".into()]);
    assert_eq!(
        filter("ann", "so ein Ärger, Mist."),
        Verdict::Modify("so ein *****, ****.".into())
    );
}

#[test]
fn mask_words_ignores_entries_that_are_not_words() {
    let filter = mask_words(vec!["".into(), "two words".into(), "a-b".into()]);
    assert_eq!(filter("ann", "two words, a-b"), Verdict::Allow);
}

#[test]
fn flood_guard_blocks_the_repeat_after_the_limit() {
    let mut filter = flood_guard(2);
    assert_eq!(filter("ann", "buy now"), Verdict::Allow);
    assert_eq!(filter("ann", "buy now"), Verdict::Allow);
    assert_eq!(
        filter("ann", "buy now"),
        Verdict::Block("you sent the same message 3 times in a row".into())
    );
    // It stays blocked until the text changes.
    assert!(matches!(filter("ann", "buy now"), Verdict::Block(_)));
    assert_eq!(filter("ann", "sorry"), Verdict::Allow);
    assert_eq!(filter("ann", "buy now"), Verdict::Allow);
}

#[test]
fn flood_guard_restarts_when_someone_else_speaks() {
    let mut filter = flood_guard(1);
    assert_eq!(filter("ann", "hi"), Verdict::Allow);
    assert_eq!(filter("bob", "hi"), Verdict::Allow);
    assert_eq!(filter("ann", "hi"), Verdict::Allow);
    assert!(matches!(filter("ann", "hi"), Verdict::Block(_)));
}

#[test]
fn an_empty_chain_or_all_allowing_borrows() {
    let mut chain = FilterChain::default();
    assert!(matches!(chain.apply("ann", "hi"), Ok(Cow::Borrowed("hi"))));
    chain.push(max_length(10));
    chain.push(mask_words(vec!["darn".into()]));
    assert!(matches!(chain.apply("ann", "hi"), Ok(Cow::Borrowed("hi"))));
}

#[test]
fn each_filter_sees_the_text_the_previous_one_left() {
    let mut chain = FilterChain::default();
    chain.push(|_sender: &str, text: &str| Verdict::Modify(text.replace("cat", "dog")));
    chain.push(|_sender: &str, text: &str| {
        if text.contains("cat") {
            Verdict::Block("no cats".into())
        } else {
            Verdict::Allow
        }
    });
    let result = chain.apply("ann", "my cat");
    assert!(matches!(result, Ok(Cow::Owned(ref text)) if text == "my dog"));
}

#[test]
fn the_first_block_stops_the_chain() {
    let mut chain = FilterChain::default();
    chain.push(max_length(5));
    chain.push(|_sender: &str, _text: &str| -> Verdict {
        panic!("a filter after a Block must not run")
    });
    assert_eq!(
        chain.apply("ann", "far too long"),
        Err("a message is at most 5 characters long".into())
    );
}

#[test]
fn debug_shows_how_many_filters() {
    let mut chain = FilterChain::default();
    chain.push(flood_guard(3));
    assert_eq!(format!("{chain:?}"), "FilterChain { filters: 1 }");
}
