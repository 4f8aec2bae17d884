//! The smallest fiber program: `fiber_main!` runs an async block on a new runtime.

async fn demo() {
    println!("Hello world");
}

fiber::fiber_main! {
    let universe = async {
        demo().await;
        println!("done demo");
        42
    }
    .await;
    assert_eq!(universe, 42);
    println!("the answer is {universe}");
}
