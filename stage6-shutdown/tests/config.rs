//! The settings' defaults and rules, by the public API: `cargo test -p stage6-shutdown --test config`

use std::time::Duration;

use stage6_shutdown::{ServerConfig, Settings};

/// The fields that `settings` breaks a rule of, and the whole message.
fn problems(settings: Settings) -> (Vec<&'static str>, String) {
    let error = settings.build().expect_err("settings that break a rule");
    let fields = error.problems().iter().map(|p| p.field).collect();
    (fields, error.to_string())
}

#[test]
fn the_defaults_are_valid() {
    assert_eq!(Settings::default().build(), Ok(ServerConfig::default()));
    #[rustfmt::skip] // every setting, packed
    let expected = Settings {
        max_users: 64, max_rooms: 16, max_line_len: 1024, max_name_len: 16, room_buffer: 1024,
        write_timeout: Duration::from_secs(10), idle_timeout: Duration::from_secs(300),
        default_room: "lobby".to_owned(), motd: None, admins: Vec::new(), admin_password: None,
        name_timeout: Duration::from_secs(30), shutdown_timeout: Duration::from_secs(5),
        message_rate: 5, message_burst: 10, history_len: 20, announce_limit: 100,
        max_per_address: 16, max_unnamed_per_address: 4,
    };
    assert_eq!(*ServerConfig::default(), expected);
}

#[test]
fn every_setting_is_kept() {
    #[rustfmt::skip] // every setting, packed
    let settings = Settings {
        max_users: 2, max_rooms: 3, max_line_len: 64, max_name_len: 32, room_buffer: 1,
        write_timeout: Duration::from_millis(2), idle_timeout: Duration::from_millis(1),
        default_room: "main-hall_2".to_owned(), motd: Some("welcome!\nbe kind".to_owned()),
        admins: vec!["alice".to_owned(), "Bob-2".to_owned()],
        admin_password: Some("s3cret".to_owned()), name_timeout: Duration::from_millis(3),
        shutdown_timeout: Duration::from_millis(4), message_rate: 7, message_burst: 8,
        history_len: 0, announce_limit: 9,
        max_per_address: 5, max_unnamed_per_address: 5,
    };
    let config = settings.clone().build().expect("valid settings");
    assert_eq!(*config, settings);
}

#[test]
fn the_largest_line_is_allowed() {
    let largest = Settings {
        max_line_len: 64 * 1024,
        ..Settings::default()
    };
    assert!(largest.build().is_ok());
}

/// A change to the default settings.
type Change = fn(&mut Settings);

#[test]
fn each_bad_value_is_named_with_its_rule() {
    // Each case changes the defaults in one way, and breaks one rule.
    #[rustfmt::skip]
    let cases: Vec<(Change, &str)> = vec![
        (|s| s.max_users = 0, "max_users must be at least 1"),
        (|s| s.max_rooms = 0, "max_rooms must be at least 1, for the default room"),
        (|s| s.max_line_len = 63, "max_line_len must be from 64 to 65536 bytes (got 63)"),
        (|s| s.max_line_len = 64 * 1024 + 1,
            "max_line_len must be from 64 to 65536 bytes (got 65537)"),
        (|s| s.max_name_len = 0, "max_name_len must be from 1 to 32 bytes (got 0)"),
        (|s| s.max_name_len = 33, "max_name_len must be from 1 to 32 bytes (got 33)"),
        (|s| s.room_buffer = 0, "room_buffer must be from 1 to 65536 messages (got 0)"),
        (|s| s.write_timeout = Duration::ZERO, "write_timeout must not be zero"),
        (|s| s.idle_timeout = Duration::ZERO, "idle_timeout must not be zero"),
        (|s| s.default_room = String::new(), "default_room must not be empty"),
        (|s| s.default_room = "Lobby".into(), "default_room may contain only lowercase ASCII \
            letters, digits, '_' and '-', not 'L'"),
        (|s| s.motd = Some(format!("hi\n{}", "x".repeat(1025))),
            "motd line 2 is 1025 bytes, more than max_line_len (1024)"),
        (|s| s.motd = Some("\u{1b}[31mred".into()),
            "motd line 1 must not contain control characters"),
        (|s| (s.admins, s.admin_password) = (vec!["bad name".into()], Some("pw".into())),
            "admins entry \"bad name\" may contain only ASCII letters, digits, \
             '_' and '-', not ' '"),
        (|s| (s.admins, s.admin_password) = (vec!["a".repeat(17)], Some("pw".into())),
            "admins entry \"aaaaaaaaaaaaaaaaa\" must be at most 16 bytes long"),
        (|s| s.admins = vec!["root".into()],
            "admin_password must be set when there are admins"),
        (|s| s.admin_password = Some("two words".into()),
            "admin_password must be one word, without control characters"),
        (|s| s.name_timeout = Duration::ZERO, "name_timeout must not be zero"),
        (|s| s.max_per_address = 0, "max_per_address must be at least 1; \
            max_unnamed_per_address must be from 1 to max_per_address (0) (got 4)"),
        (|s| s.max_per_address = 3,
            "max_unnamed_per_address must be from 1 to max_per_address (3) (got 4)"),
        (|s| s.max_unnamed_per_address = 0,
            "max_unnamed_per_address must be from 1 to max_per_address (16) (got 0)"),
        (|s| s.max_unnamed_per_address = 17,
            "max_unnamed_per_address must be from 1 to max_per_address (16) (got 17)"),
        (|s| s.shutdown_timeout = Duration::ZERO, "shutdown_timeout must not be zero"),
        (|s| s.idle_timeout = Duration::from_secs(u64::MAX),
            "idle_timeout must be at most a day (got 18446744073709551615s)"),
        (|s| s.message_rate = 0, "message_rate must be at least 1"),
        (|s| s.message_burst = 0, "message_burst must be at least 1"),
        (|s| s.history_len = 1001, "history_len must be at most 1000 (got 1001)"),
        (|s| s.announce_limit = 0, "announce_limit must be at least 1"),
    ];
    for (change, expected) in cases {
        let mut settings = Settings::default();
        change(&mut settings);
        let (_, message) = problems(settings);
        assert_eq!(message, format!("invalid server configuration: {expected}"));
    }
}

#[test]
fn every_broken_limit_is_reported_at_once() {
    let (fields, _) = problems(Settings {
        max_users: 0,
        max_rooms: 0,
        max_line_len: 10,
        max_name_len: 0,
        room_buffer: 0,
        ..Settings::default()
    });
    let expected = [
        "max_users",
        "max_rooms",
        "max_line_len",
        "max_name_len",
        "room_buffer",
    ];
    assert_eq!(fields, expected);
}

#[test]
fn all_problems_are_reported_together() {
    let (fields, message) = problems(Settings {
        max_users: 0,
        idle_timeout: Duration::ZERO,
        admins: vec![String::new()],
        admin_password: Some("pw".to_owned()),
        ..Settings::default()
    });
    assert_eq!(fields, ["max_users", "idle_timeout", "admins"]);
    assert_eq!(
        message,
        "invalid server configuration: max_users must be at least 1; \
         idle_timeout must not be zero; admins entry \"\" must not be empty"
    );
}
