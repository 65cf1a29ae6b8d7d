//! Rebuilds the crate when a service definition changes: the repository's `services/` folder is
//! compiled in (`include_dir!`), which cargo does not watch by itself.
fn main() {
    println!("cargo:rerun-if-changed=../../services");
}
