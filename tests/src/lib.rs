//! End-to-end tests of failinject: real programs (coreutils, python3, sqlite3, git) run under
//! the real `libfailinject.so`, with their messages, exit statuses and files checked.
//!
//! This crate holds the shared helpers; the tests themselves live in `tests/tests/`. The
//! end-to-end suites arrive with the preload milestone.
#![forbid(unsafe_code)]
