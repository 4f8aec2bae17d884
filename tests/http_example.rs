//! The `http` example's server (hyper 1.x on fiber) answers real HTTP/1.1 requests, sent by
//! hand over a plain `std::net::TcpStream`, and keeps connections alive.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

mod common;

#[path = "../examples/http/rt.rs"]
mod rt;
#[path = "../examples/http/server.rs"]
mod server;
#[path = "../examples/http/service.rs"]
mod service;

/// One response as it came off the wire.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Starts the server on an ephemeral port of 127.0.0.1 in a fiber runtime of two workers and
/// runs `client` against its address; the runtime (and with it the server) is dropped after.
fn with_server(client: impl FnOnce(SocketAddr) + Send + 'static) {
    common::watchdog_for(Duration::from_secs(30), move || {
        let rt = fiber::Builder::new()
            .worker_threads(2)
            .build()
            .expect("a runtime");
        let listener = rt
            .block_on(server::bind("127.0.0.1:0"))
            .expect("the server binds an ephemeral port");
        let address = listener.local_addr().expect("the listener's address");
        let serving = rt.spawn(server::serve(listener));
        client(address);
        assert!(!serving.is_finished(), "the accept loop ended by itself");
        drop(rt);
    });
}

fn connect(address: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(address).expect("connects to the server");
    // The watchdog catches a hang too, but a read timeout names the read that hung.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    BufReader::new(stream)
}

fn send(connection: &mut BufReader<TcpStream>, request: &str) {
    connection
        .get_mut()
        .write_all(request.as_bytes())
        .expect("the request is sent");
}

/// Reads one response: status line, headers, and a body of `Content-Length` bytes.
fn receive(connection: &mut BufReader<TcpStream>) -> Response {
    let mut line = String::new();
    connection.read_line(&mut line).expect("a status line");
    let mut parts = line.trim_end().splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        connection.read_line(&mut line).expect("a header line");
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header
            .split_once(':')
            .unwrap_or_else(|| panic!("malformed header {header:?}"));
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: String::new(),
    };
    let length: usize = response
        .header("content-length")
        .expect("a content-length header")
        .parse()
        .expect("a numeric content-length");
    let mut body = vec![0; length];
    connection.read_exact(&mut body).expect("the whole body");
    response.body = String::from_utf8(body).expect("a UTF-8 body");
    response
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

#[test]
fn get_root_says_hello_in_plain_text() {
    with_server(|address| {
        let mut connection = connect(address);
        send(&mut connection, &get("/"));
        let response = receive(&mut connection);
        assert_eq!(response.status, 200);
        assert_eq!(response.body, service::HELLO);
        assert!(response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/plain")));
    });
}

#[test]
fn get_json_returns_a_json_object() {
    with_server(|address| {
        let mut connection = connect(address);
        send(&mut connection, &get("/json"));
        let response = receive(&mut connection);
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.body, r#"{"message":"Hello, World!"}"#);
    });
}

#[test]
fn one_connection_serves_many_requests_in_turn() {
    with_server(|address| {
        let mut connection = connect(address);
        for round in 0..50 {
            let path = if round % 2 == 0 { "/" } else { "/json" };
            send(&mut connection, &get(path));
            let response = receive(&mut connection);
            assert_eq!(
                response.status, 200,
                "request {round} on the kept connection"
            );
            assert_ne!(response.header("connection"), Some("close"));
        }
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    with_server(|address| {
        let mut connection = connect(address);
        send(&mut connection, &(get("/json") + &get("/") + &get("/json")));
        let bodies: Vec<String> = (0..3).map(|_| receive(&mut connection).body).collect();
        assert_eq!(
            bodies,
            [service::HELLO_JSON, service::HELLO, service::HELLO_JSON]
        );
    });
}

#[test]
fn unknown_paths_and_methods_are_refused() {
    with_server(|address| {
        let mut connection = connect(address);
        send(&mut connection, &get("/nowhere"));
        assert_eq!(receive(&mut connection).status, 404);
        send(
            &mut connection,
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi",
        );
        let refused = receive(&mut connection);
        assert_eq!(refused.status, 405);
        assert_eq!(refused.header("allow"), Some("GET"));
        // Refusals do not cost the connection.
        send(&mut connection, &get("/"));
        assert_eq!(receive(&mut connection).body, service::HELLO);
    });
}

#[test]
fn connection_close_is_honoured() {
    with_server(|address| {
        let mut connection = connect(address);
        send(
            &mut connection,
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        let response = receive(&mut connection);
        assert_eq!(response.status, 200);
        let mut rest = Vec::new();
        let read = connection
            .read_to_end(&mut rest)
            .expect("the server closes the connection");
        assert_eq!(read, 0, "nothing follows the last response");
    });
}

#[test]
fn many_connections_are_served_at_once() {
    with_server(|address| {
        let clients: Vec<_> = (0..16)
            .map(|client| {
                std::thread::spawn(move || {
                    let mut connection = connect(address);
                    for _ in 0..20 {
                        send(&mut connection, &get("/json"));
                        let response = receive(&mut connection);
                        assert_eq!(response.status, 200, "client {client}");
                        assert_eq!(response.body, service::HELLO_JSON);
                    }
                })
            })
            .collect();
        for client in clients {
            client.join().expect("every client is answered");
        }
    });
}

#[test]
fn a_request_larger_than_one_read_is_assembled() {
    with_server(|address| {
        let mut connection = connect(address);
        // Headers of 40 KiB take several of the adapter's 8 KiB reads.
        let padding = "x".repeat(40 * 1024);
        send(
            &mut connection,
            &format!("GET /json HTTP/1.1\r\nHost: localhost\r\nX-Padding: {padding}\r\n\r\n"),
        );
        let response = receive(&mut connection);
        assert_eq!(response.status, 200);
        assert_eq!(response.body, service::HELLO_JSON);
    });
}

#[test]
fn the_timer_moves_a_sleep_it_made_to_a_new_deadline() {
    use hyper::rt::Timer;
    use std::time::Instant;

    common::watchdog(|| {
        fiber::block_on(async {
            let timer = rt::FiberTimer;
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let deadline = Instant::now() + Duration::from_millis(20);
            timer.reset(&mut sleep, deadline);
            sleep.as_mut().await;
            assert!(
                Instant::now() >= deadline,
                "the sleep ended before its new deadline"
            );
        });
    });
}
