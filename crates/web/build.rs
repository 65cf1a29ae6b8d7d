//! Rebuilds the crate when a template, a translation or an asset changes: they are compiled in
//! from their folders (`include_dir!`), which cargo does not watch by itself.
fn main() {
    for dir in ["templates", "locales", "assets"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
