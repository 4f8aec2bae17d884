//! The network workloads, each written once for every executor and socket library: server and
//! clients share one runtime and talk over loopback TCP.

use std::sync::Arc;

use crate::executors::{Executor, Join};
use crate::sockets::Sockets;

/// How big each workload's round is.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// `tcp_rr`: connections, round trips on each, bytes per message.
    pub rr_connections: usize,
    pub rr_round_trips: usize,
    pub rr_message: usize,
    /// `tcp_connect`: connections in all, clients opening them one after another, bytes echoed.
    pub connections: usize,
    pub connect_clients: usize,
    pub connect_message: usize,
    /// `tcp_stream`: bytes sent over one connection, and the size of each write and read.
    pub stream_bytes: usize,
    pub stream_chunk: usize,
}

impl Sizes {
    /// The benchmark's sizes.
    pub const FULL: Sizes = Sizes {
        rr_connections: 64,
        rr_round_trips: 500,
        rr_message: 64,
        connections: 2_000,
        connect_clients: 16,
        connect_message: 8,
        stream_bytes: 256 << 20,
        stream_chunk: 64 << 10,
    };

    /// Small rounds for `cargo test`, which runs the benchmark once to see that it works.
    pub const SMOKE: Sizes = Sizes {
        rr_connections: 8,
        rr_round_trips: 20,
        rr_message: 64,
        connections: 64,
        connect_clients: 4,
        connect_message: 8,
        stream_bytes: 4 << 20,
        stream_chunk: 64 << 10,
    };
}

/// What one round does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// 64 connections, each doing 500 round trips of 64 bytes (write, then read the echo).
    RoundTrips,
    /// 2,000 connections, opened by 16 clients one after another, each echoing 8 bytes.
    Connects,
    /// One connection carrying 256 MiB one way.
    Stream,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::RoundTrips, Workload::Connects, Workload::Stream];

    pub fn name(self) -> &'static str {
        match self {
            Workload::RoundTrips => "tcp_rr",
            Workload::Connects => "tcp_connect",
            Workload::Stream => "tcp_stream",
        }
    }

    /// One round of this workload, as a future to run on `executor`.
    pub fn round<E: Executor, S: Sockets>(
        self,
        executor: Arc<E>,
        sizes: Sizes,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        match self {
            Workload::RoundTrips => Box::pin(tcp_rr::<E, S>(executor, sizes)),
            Workload::Connects => Box::pin(tcp_connect::<E, S>(executor, sizes)),
            Workload::Stream => Box::pin(tcp_stream::<E, S>(executor, sizes)),
        }
    }
}

/// Waits for every task of `tasks`.
async fn join_all(tasks: Vec<Join>) {
    for task in tasks {
        task.await;
    }
}

/// Accepts `connections` connections on a fresh listener and serves each on a task of its
/// own with `serve`; returns the listener's address and a join for the accept loop, which
/// finishes once every connection's task has.
async fn server<E, S, F, Fut>(
    executor: Arc<E>,
    connections: usize,
    serve: F,
) -> (std::net::SocketAddr, Join)
where
    E: Executor,
    S: Sockets,
    F: Fn(S::Stream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = S::bind().await;
    let address = S::address(&listener);
    let spawner = executor.clone();
    let accepting = executor.spawn(async move {
        let mut served = Vec::with_capacity(connections);
        for _ in 0..connections {
            let stream = S::accept(&listener).await;
            served.push(spawner.spawn(serve(stream)));
        }
        join_all(served).await;
    });
    (address, accepting)
}

async fn tcp_rr<E: Executor, S: Sockets>(executor: Arc<E>, sizes: Sizes) {
    let length = sizes.rr_message;
    let (address, server) = server::<E, S, _, _>(
        executor.clone(),
        sizes.rr_connections,
        move |mut stream| async move {
            let mut message = vec![0; length];
            while S::read_exact(&mut stream, &mut message).await {
                S::write_all(&mut stream, &message).await;
            }
        },
    )
    .await;
    let clients = (0..sizes.rr_connections)
        .map(|client| {
            executor.spawn(async move {
                let mut stream = S::connect(address).await;
                let message = vec![client as u8; length];
                let mut echo = vec![0; length];
                for _ in 0..sizes.rr_round_trips {
                    S::write_all(&mut stream, &message).await;
                    assert!(
                        S::read_exact(&mut stream, &mut echo).await,
                        "the server hung up"
                    );
                    assert_eq!(echo, message, "the echo differs");
                }
            })
        })
        .collect();
    join_all(clients).await;
    server.await;
}

async fn tcp_connect<E: Executor, S: Sockets>(executor: Arc<E>, sizes: Sizes) {
    let length = sizes.connect_message;
    let (address, server) = server::<E, S, _, _>(
        executor.clone(),
        sizes.connections,
        move |mut stream| async move {
            let mut message = vec![0; length];
            assert!(
                S::read_exact(&mut stream, &mut message).await,
                "the client hung up"
            );
            S::write_all(&mut stream, &message).await;
        },
    )
    .await;
    let clients = (0..sizes.connect_clients)
        .map(|client| {
            executor.spawn(async move {
                let message = vec![client as u8; length];
                let mut echo = vec![0; length];
                for _ in 0..sizes.connections / sizes.connect_clients {
                    let mut stream = S::connect(address).await;
                    S::write_all(&mut stream, &message).await;
                    assert!(
                        S::read_exact(&mut stream, &mut echo).await,
                        "the server hung up"
                    );
                    assert_eq!(echo, message, "the echo differs");
                }
            })
        })
        .collect();
    join_all(clients).await;
    server.await;
}

async fn tcp_stream<E: Executor, S: Sockets>(executor: Arc<E>, sizes: Sizes) {
    let (address, server) =
        server::<E, S, _, _>(executor.clone(), 1, move |mut stream| async move {
            let mut chunk = vec![0; sizes.stream_chunk];
            let mut received = 0;
            while received < sizes.stream_bytes {
                let read = S::read(&mut stream, &mut chunk).await;
                assert_ne!(read, 0, "the stream ended after {received} bytes");
                received += read;
            }
            // The sender's clock stops when everything has arrived, not when it left.
            S::write_all(&mut stream, &[1]).await;
        })
        .await;
    let sender = executor.spawn(async move {
        let mut stream = S::connect(address).await;
        let chunk = vec![7; sizes.stream_chunk];
        for _ in 0..sizes.stream_bytes / sizes.stream_chunk {
            S::write_all(&mut stream, &chunk).await;
        }
        let mut received = [0];
        assert!(
            S::read_exact(&mut stream, &mut received).await,
            "no acknowledgement"
        );
    });
    sender.await;
    server.await;
}
