//! Prints `extract`'s result for each file named on the command line.
fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable file");
        println!("{path}: {:#?}", pictor_meta::extract(&bytes));
    }
}
