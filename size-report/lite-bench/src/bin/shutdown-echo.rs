//! The echo with a graceful-shutdown hook: what the hook costs.
fn main() {
    if let Err(fatal) = lambda_lite::spawn_graceful_shutdown_handler(|| eprintln!("bye")) {
        eprintln!("{fatal}");
        std::process::exit(1);
    }
    lambda_lite::run(|event, _ctx| Ok(event.to_vec()))
}
