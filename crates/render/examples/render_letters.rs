//! Renders N vedtak letters (the kind with the most text) one after another on one thread and
//! prints letters per second, after one warm-up letter (the first render pays for parsing the
//! layout and loading fonts).
//!
//! ```sh
//! cargo run --release -p render --example render_letters -- 200
//! ```
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::Instant;

use kernel::Language;
use render::{CaseReference, Letter, LetterKind, Municipality, RecipientBlock, RenderError, Renderer};
use time::macros::date;

fn main() -> Result<(), RenderError> {
    let count: u32 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    let started = Instant::now();
    let renderer = Renderer::new()?;
    println!("renderer built in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);

    let letter = |n: u32| Letter {
        kind: LetterKind::Vedtak,
        language: Language::ALL[n as usize % 3],
        municipality: Municipality { name: "Fjordvik kommune".into(), coat_of_arms_svg: None },
        sender_unit: "Oppvekst og utdanning".into(),
        recipient: RecipientBlock {
            name: format!("Mottaker nummer {n}"),
            address_lines: Some(vec!["Storgata 1".into(), "5003 Bergen".into()]),
        },
        date: date!(2026 - 12 - 03),
        case_ref: Some(CaseReference { mappe_id: "2026/17".into(), journalpostnummer: Some(i64::from(n)) }),
        title: "Vedtak om barnehageplass".into(),
        fields: BTreeMap::from([
            ("tjeneste".to_owned(), "barnehageplass".to_owned()),
            ("vedtak".to_owned(), format!("Barn nummer {n} får plass i Solsikken barnehage fra 1. august 2027.")),
            ("begrunnelse".to_owned(), "Barnet har rett til plass etter barnehageloven § 16.".to_owned()),
            ("hjemmel".to_owned(), "barnehageloven § 16".to_owned()),
        ]),
        paragraphs: Vec::new(),
    };

    let warm_up = Instant::now();
    let first = renderer.render_letter(&letter(0))?;
    println!(
        "first letter in {:.1} ms ({} bytes, {} page(s))",
        warm_up.elapsed().as_secs_f64() * 1000.0,
        first.bytes.len(),
        first.pages
    );

    let started = Instant::now();
    let mut bytes = 0;
    for n in 1..=count {
        bytes += renderer.render_letter(&letter(n))?.bytes.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{count} letters in {seconds:.2} s: {:.1} letters/s, {:.1} ms each, {} KB average",
        f64::from(count) / seconds,
        seconds * 1000.0 / f64::from(count),
        bytes / count.max(1) as usize / 1024
    );
    Ok(())
}
