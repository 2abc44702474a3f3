//! What every layer needs from the file system and for its errors, kept in one place so
//! each has one behaviour: files written so that a crash never leaves one half-done
//! ([`write_atomic`]), the named fault points the crash and disk-full tests reach those
//! states through ([`faults`]), error text on one line ([`one_line`], [`chain_line`]), and
//! user-named files read only when they are regular files of bounded size ([`read_regular`]).
//!
//! Layer 0: it depends on no crate of the workspace and on no tensor library.

mod atomic;
pub mod faults;
mod one_line;
mod regular;

pub use atomic::{temporary_sibling, write_atomic};
pub use one_line::{chain_line, one_line};
pub use regular::{kind_name, open_regular, read_regular, NotReadable};
