//! Proxies named in the environment are ignored. A file of its own: it changes the process
//! environment, which no other test may see.

mod common;

use std::net::TcpListener;

use common::{hook_request, loopback_client, status, Receiver};
use delivery_core::OutcomeClass;

#[test]
fn proxy_variables_in_the_environment_are_ignored() {
    // A loopback port nobody listens on: a request sent through the "proxy" would fail.
    let unused = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy = format!("http://127.0.0.1:{unused}");
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(name, &proxy);
    }
    for name in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(name);
    }
    // Built after the variables are set: ureq reads them when a config is built.
    let client = loopback_client();
    let receiver = Receiver::always(status(200));

    let outcome = client.post(&hook_request(&receiver.url("/direct"), 5_000));

    assert_eq!(outcome.class, OutcomeClass::Delivered, "{:?}", outcome.error);
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(receiver.requests()[0].path, "/direct");
}
