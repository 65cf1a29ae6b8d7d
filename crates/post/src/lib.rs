//! Digital post: a letter leaves the municipality through the channel KRR decides — the
//! resident's digital mailbox, the Min side inbox with an e-mail or SMS notice, or paper — and
//! is delivered exactly once.

pub mod adapters;
pub mod simulators;
#[doc(hidden)]
pub mod testing;
