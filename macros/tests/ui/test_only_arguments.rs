#[fiber::main(timeout_ms = 100)]
async fn main() {}

#[fiber::test]
#[test]
async fn marked_twice() {}
