//! The integration tests of `loran-datasets`, one binary: each file below was its own
//! test binary, and each of those linked the whole dependency tree again (a cold
//! `cargo test` wrote ~15 GB). Run one file with
//! `cargo test -p loran-datasets --test integration <file>::`.

mod common;
mod bad_data;
mod mailing_list_topics;
mod news_standfirst;
mod newsgroups20;
mod real_data;
mod samsum;
mod sentencepiece;
mod small_data;
mod token_limits;
mod tokenize;
