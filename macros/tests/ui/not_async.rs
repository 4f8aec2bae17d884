#[fiber::main]
fn main() {}
