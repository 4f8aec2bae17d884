//! The routes of the `http` and `http_tokio` examples: one function from a request to a
//! response, shared by both servers so that they differ only in their runtime.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};

/// The body of `GET /`.
pub const HELLO: &str = "Hello, World!";

/// The body of `GET /json`: a small JSON object, written out by hand since it never changes.
pub const HELLO_JSON: &str = r#"{"message":"Hello, World!"}"#;

/// Answers `GET /` with plain text and `GET /json` with JSON; any other path is 404 and any
/// other method on a known path 405, so that a mistyped benchmark URL shows up as errors in
/// the load generator's report instead of as suspiciously fast successes.
pub fn respond<B>(request: &Request<B>) -> Response<Full<Bytes>> {
    let (content_type, body) = match request.uri().path() {
        "/" => ("text/plain; charset=utf-8", HELLO),
        "/json" => ("application/json", HELLO_JSON),
        _ => return status(StatusCode::NOT_FOUND),
    };
    if request.method() != Method::GET {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An empty response with `code`.
fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
