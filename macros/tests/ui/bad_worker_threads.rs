#[fiber::main(worker_threads = 0)]
async fn no_workers() {}

#[fiber::main(worker_threads = "four")]
async fn words() {}

fn main() {
    no_workers();
    words();
}
