//! (in progress: the print vendor over a directory or a bucket)

use super::Envelope;

/// The envelope for a letter of `pages` pages.
pub fn envelope_for(pages: u32, duplex: bool) -> Envelope {
    let sheets = if duplex { pages.div_ceil(2) } else { pages };
    if sheets > 10 { Envelope::C4 } else { Envelope::C5 }
}
