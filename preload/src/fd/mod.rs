//! The descriptors wing: what each file descriptor of the program refers to.
//!
//! - `table`: the path and kind of each descriptor, recorded when it is created, read
//!   without locks by any thread;
//! - `book`: which calls create, copy or release descriptors, and what the table learns;
//! - `target`: a call's target made absolute, and its kind.
//!
//! Safe code: the system calls it needs are in `sys::kfile`; C pointers were turned into
//! descriptors and byte slices by the wrappers before they reach it.

#![forbid(unsafe_code)]

pub mod book;
pub mod table;
pub mod target;
