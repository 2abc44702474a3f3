//! RFC-822 / MIME messages: header parsing, the readable text of the body,
//! and the cleaning that removes quotes, signatures and list footers.

pub mod clean;
pub mod mime;
pub mod rfc822;
