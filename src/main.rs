fn main() {
    println!("edgeflush");
}
