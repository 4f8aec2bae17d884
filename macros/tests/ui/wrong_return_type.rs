#[fiber::main]
async fn main() -> Result<(), String> {
    let answer: u32 = 42;
    answer
}
