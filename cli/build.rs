//! Rebuilds the binary when the built-in rule pack changes: `include_dir!` embeds `rules/`
//! but does not tell cargo to watch it.

fn main() {
    println!("cargo:rerun-if-changed=../rules");
    println!("cargo:rerun-if-changed=../fixtures/geoip/demo.mmdb");
}
