//! What the last answer's HTTP status was, for the code that made the request.
//!
//! progenitor's `Error::InvalidResponsePayload` and `Error::ResponseBodyError` do not say which
//! status the answer had, yet it matters: a `201` with a malformed or cut-off body means the user
//! was created, a `400` with one means it was not. The generated clients call
//! [`record_status`] (the post-response hook set in the generator settings) with every answer;
//! a caller that wraps its call in [`with_status`] reads the status back.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let (value, status) = iam_core::observe::with_status(async { 42 }).await;
//! assert_eq!((value, status), (42, None)); // no request was made
//! # }
//! ```

use std::cell::Cell;
use std::future::Future;

use crate::Auth;

tokio::task_local! {
    static LAST_STATUS: Cell<Option<u16>>;
}

/// Runs `future`, returning its output and the HTTP status of the last answer a generated
/// client received inside it (`None` if no answer arrived: the connection failed or dropped).
pub async fn with_status<F: Future>(future: F) -> (F::Output, Option<u16>) {
    LAST_STATUS
        .scope(Cell::new(None), async {
            let output = future.await;
            (output, LAST_STATUS.with(Cell::get))
        })
        .await
}

/// The post-response hook of every generated client: notes the answer's status for
/// [`with_status`]. Outside [`with_status`] it does nothing.
pub fn record_status(_auth: &Auth, result: &Result<reqwest::Response, reqwest::Error>) {
    if let Ok(response) = result {
        let _ = LAST_STATUS.try_with(|status| status.set(Some(response.status().as_u16())));
    }
}
