//! The echo server and its clients, shared by the `echo` example and `tests/rt_echo.rs`.

use std::io;
use std::net::SocketAddr;

use fiber::net::{TcpListener, TcpStream};
use futures_lite::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What one client sent and got back.
#[derive(Debug)]
pub struct ClientReport {
    pub client: usize,
    pub lines: usize,
    pub bytes: usize,
}

/// Accepts connections for ever, echoing each on its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        // A broken connection only ends its own task.
        drop(fiber::spawn(echo_lines(stream)));
    }
}

/// Writes back every line it reads, until the peer closes its side.
async fn echo_lines(stream: TcpStream) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    while reader.read_line(&mut line).await? > 0 {
        writer.write_all(line.as_bytes()).await?;
        line.clear();
    }
    Ok(())
}

/// Connects to `server`, sends `lines` lines and checks that each comes back unchanged.
pub async fn client(server: SocketAddr, client: usize, lines: usize) -> io::Result<ClientReport> {
    let stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut echoed = String::new();
    let mut bytes = 0;
    for number in 0..lines {
        let sent = format!("client {client} line {number}: {}\n", "x".repeat(number));
        writer.write_all(sent.as_bytes()).await?;
        echoed.clear();
        reader.read_line(&mut echoed).await?;
        if echoed != sent {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("sent {sent:?}, got back {echoed:?}"),
            ));
        }
        bytes += sent.len();
    }
    Ok(ClientReport {
        client,
        lines,
        bytes,
    })
}

/// Starts a server on 127.0.0.1 and runs `clients` clients against it, each on its own
/// task, then stops the server. Must run inside a fiber runtime.
pub async fn run(clients: usize, lines: usize) -> io::Result<(SocketAddr, Vec<ClientReport>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let server = listener.local_addr()?;
    let accepting = fiber::spawn(serve(listener));
    let tasks: Vec<_> = (0..clients)
        .map(|number| fiber::spawn(client(server, number, lines)))
        .collect();
    let mut reports = Vec::with_capacity(clients);
    for task in tasks {
        reports.push(task.await.map_err(io::Error::other)??);
    }
    accepting.abort();
    Ok((server, reports))
}
